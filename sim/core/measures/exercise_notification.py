"""Notification, transparency and observers for exercises near borders.

Source: 000_3d696065a75e4d8a.txt rec. 3 ("where geography prevents this then additional
measures of notification, transparency and predictability must be taken").
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.measures import Measure, register


@register
class ExerciseNotification(Measure):
    """Notified and observed exercises look less threatening and less hostile."""

    name = "exercise_notification"
    title = "Exercise notification / transparency / observers"
    source = "000 rec. 3"
    mechanism = (
        "Every planned exercise (not a snap exercise) is notified in advance, and those at or above the observation threshold "
        "host observers, so the other side reads it as less threatening and less hostile: "
        "surprise falls."
    )
    passage = (
        "where geography prevents this then additional measures of notification, transparency "
        "and predictability must be taken."
    )

    @dataclass(frozen=True)
    class Params:
        """Notification parameters (conf/measures/catalogue/exercise_notification.yaml)."""

        severity_reduction: float
        observation_threshold_troops: int
        observed_extra_reduction: float
        hostility_reduction: float

    def exercise_severity_factor(self, model, exercise, troops):
        p = self.params
        if exercise.snap:
            return 1.0  # a snap exercise is, by definition, not notified
        factor = 1.0 - p.severity_reduction
        if troops >= p.observation_threshold_troops:
            factor *= 1.0 - p.observed_extra_reduction
        return factor

    def hostility_shift(self, model, side, act):
        return -self.params.hostility_reduction if act.kind == "exercise" else 0.0
