"""Notification, transparency and observers for exercises near borders.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 3. ("where geography prevents this then additional
measures of notification, transparency and predictability must be taken").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class ExerciseNotification(Measure):
    """Exercises below the Vienna Document thresholds are notified and observed too."""

    name = "exercise_notification"
    title = "Exercise notification / transparency / observers"
    source = "000 rec. 3"
    mechanism = (
        "Information: every planned exercise (not a snap exercise) of at least "
        "notify_from_troops is notified in advance, and those of at least observe_from_troops "
        "host the other side's observers; a notification is the exercising side's stated intent "
        "(it counts as far as that side is trusted), observers see what the exercise really is "
        "(truthfully, so an exercise with hostile intent reads as more hostile). The effect is "
        "the step beyond the Vienna Document already in force (9,000 and 13,000 troops)."
    )
    limits = (
        "Zero for exercises the Vienna Document already covers (9,000 troops notified, 13,000 observed), "
        "for snap exercises and where there are no exercises. Negative for an exercise with hostile "
        "intent: observers see it for what it is."
    )
    passage = (
        "where geography prevents this then additional measures of notification, transparency "
        "and predictability must be taken."
    )

    @dataclass(frozen=True)
    class Params:
        """Notification parameters (conf/measures/catalogue/exercise_notification.yaml)."""

        notify_from_troops: int
        observe_from_troops: int

    @override
    def exercise_transparency(self, model, exercise, troops):
        if exercise.snap:
            return False, False  # a snap exercise is, by definition, not notified
        p = self.params
        return troops >= p.notify_from_troops, troops >= p.observe_from_troops
