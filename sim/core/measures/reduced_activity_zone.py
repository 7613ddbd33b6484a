"""A zone of reduced military activity / increased transparency along the border.

Source: European Leadership Network and Russian International Affairs Council, "Towards a More
Stable NATO-Russia Relationship" (joint report), "enhanced set" ("jointly consider a zone of increased
transparency or reduced military activity").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class ReducedActivityZone(Measure):
    """Fewer sorties and encounters close to the other side's territory."""

    name = "reduced_activity_zone"
    title = "Zone of reduced military activity / increased transparency"
    source = "001 enhanced set"
    mechanism = (
        "Activity: in zones within a set depth of the other side's territory, activity is cut: encounters "
        "there are rarer and aircraft stray across the border less often."
    )
    limits = (
        "Zero where no patrol zone lies within the depth of the other side's territory. Fewer routine "
        "encounters also mean fewer occasions to explain acts that were not meant."
    )
    passage = (
        "Showing restraint on the ground: ... jointly consider a zone of increased transparency "
        "or reduced military activity."
    )

    @dataclass(frozen=True)
    class Params:
        """Zone parameters (conf/measures/catalogue/reduced_activity_zone.yaml)."""

        zone_depth_km: float
        activity_reduction: float

    def _in_zone(self, model, platform) -> bool:
        return model.theatre.distance_to_territory(platform.zone, platform.side.other) < self.params.zone_depth_km

    @override
    def encounter_rate_factor(self, model, a, b):
        if self._in_zone(model, a) or self._in_zone(model, b):
            return 1.0 - self.params.activity_reduction
        return 1.0

    @override
    def violation_rate_factor(self, model, platform):
        return 1.0 - self.params.activity_reduction if self._in_zone(model, platform) else 1.0
