"""Large exercises held at a militarily meaningful distance from the other side's borders.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 3 ("conduct large-scale military exercises, as a rule, at
a militarily meaningful distance from their borders").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class ExerciseDistanceRule(Measure):
    """Moves an exercise to the nearest own zone at least ``min_distance_km`` from the border."""

    name = "exercise_distance_rule"
    title = "Exercise distance rule"
    source = "000 rec. 3"
    mechanism = (
        "Activity: a large exercise planned closer than D km to the other side's territory is moved to the "
        "nearest zone of the same side (or international waters, at sea) at least D km away "
        "where geography allows, "
        "so it is perceived as less threatening and draws fewer sorties near the border."
    )

    limits = (
        "Zero where geography leaves no zone far enough from the border (the Black Sea) and where there "
        "are no exercises. Moving an exercise can bring it nearer to other forces' patrols."
    )
    passage = (
        "Russia and NATO member states could agree that both sides will conduct large-scale "
        "military exercises, as a rule, at a militarily meaningful distance from their borders."
    )

    @dataclass(frozen=True)
    class Params:
        """Rule parameters (values, units, bases: conf/measures/catalogue/exercise_distance_rule.yaml)."""

        min_distance_km: float

    @override
    def exercise_zone(self, model, exercise, zone):
        th, d_min = model.theatre, self.params.min_distance_km
        other = exercise.side.other
        if th.distance_to_territory(zone, other) >= d_min:
            return zone
        domain = th.zone(zone).domain
        # On land an exercise stays on its own side's territory; at sea it may use international waters.
        owners = {exercise.side.value, "international"} if domain == "sea" else {exercise.side.value}
        candidates = [
            z.id
            for z in th.zones
            if z.owner in owners and z.domain == domain and th.distance_to_territory(z.id, other) >= d_min
        ]
        if not candidates:
            return zone  # geography prevents it: the rule cannot move this exercise
        return min(candidates, key=lambda z: (th.distance(zone, z), z))
