"""Fewer and smaller exercises near borders.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 3 ("They should consider reducing the scale and frequency
of military activities with respect to numbers and geography, in particular exercises near
borders").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class ReducedExerciseScale(Measure):
    """Exercises near the border are smaller and shorter."""

    name = "reduced_exercise_scale"
    title = "Reduced exercise scale and frequency"
    source = "000 rec. 3"
    mechanism = (
        "Activity: an exercise held within a set distance of the other side's territory is cut in troops "
        "and in days, so it is less threatening and brings less activity for less time."
    )
    limits = (
        "Zero for exercises already beyond the distance and where there are none. A smaller exercise may "
        "fall below the Vienna Document notification threshold and so lose its notification."
    )
    passage = (
        "They should consider reducing the scale and frequency of military activities with "
        "respect to numbers and geography, in particular exercises near borders."
    )

    @dataclass(frozen=True)
    class Params:
        """Scale parameters (conf/measures/catalogue/reduced_exercise_scale.yaml)."""

        near_border_km: float
        scale_reduction: float
        frequency_reduction: float

    @override
    def exercise_scale(self, model, exercise, distance_km):
        p = self.params
        if distance_km >= p.near_border_km:
            return 1.0, 1.0
        return 1.0 - p.scale_reduction, 1.0 - p.frequency_reduction
