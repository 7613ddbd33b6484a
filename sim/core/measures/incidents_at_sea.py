"""Incidents-at-sea and dangerous-military-activities rules (INCSEA 1972 / DMA 1989 style).

Source: 000_3d696065a75e4d8a.txt rec. 7 ("a package of measures on the basis of the existing
bilateral and multilateral agreements on prevention of incidents at sea and above the sea, and
on prevention of dangerous military activities").
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.comms import forces_node
from sim.core.measures import Measure, register
from sim.core.spec import ChannelSpec, Side

COVERED_TYPES = frozenset({"air_intercept", "at_sea_close_encounter", "airspace_violation"})


@register
class IncidentsAtSea(Measure):
    """Fewer unsafe manoeuvres, and standard signals between crews that clarify intent on scene."""

    name = "incidents_at_sea"
    title = "Incidents-at-sea / dangerous-military-activities rules"
    source = "000 rec. 7"
    mechanism = (
        "Crews follow agreed rules of the road, so the unsafe-behaviour index behind an at-sea "
        "or air encounter (or an inadvertent airspace entry) is reduced, and standard signals "
        "between crews give commands a fast, clear reading of intent on scene."
    )

    passage = (
        "Russia and NATO member states could immediately agree to launch negotiations on a package "
        "of measures on the basis of the existing bilateral and multilateral agreements on "
        "prevention of incidents at sea and above the sea, and on prevention of dangerous "
        "military activities."
    )

    @dataclass(frozen=True)
    class Params:
        """Rule parameters (values, units, bases: conf/measures/catalogue/incidents_at_sea.yaml)."""

        unsafe_reduction: float
        signals_latency_h: float
        signals_availability: float
        signals_quality: float

    def channels(self, spec):
        p = self.params
        return [
            ChannelSpec(
                forces_node(Side.NATO), forces_node(Side.RUSSIA), "standard_signals",
                p.signals_latency_h, p.signals_availability, p.signals_quality,
            )
        ]

    def unsafe_factor(self, model, incident_type):
        return 1.0 - self.params.unsafe_reduction if incident_type in COVERED_TYPES else 1.0
