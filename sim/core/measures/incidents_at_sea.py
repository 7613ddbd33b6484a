"""Incidents-at-sea and dangerous-military-activities rules (INCSEA 1972 / DMA 1989 style).

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 7 ("a package of measures on the basis of the existing
bilateral and multilateral agreements on prevention of incidents at sea and above the sea, and
on prevention of dangerous military activities").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

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
        "Rules and channel: crews of every member follow agreed rules of the road at sea and in "
        "the air, so the unsafe conduct behind an encounter (or an inadvertent airspace entry) "
        "is cut by unsafe_reduction, and standard signals between crews carry stated intent on "
        "scene. The bilateral agreements already in force (US, UK, Germany, France and others "
        "with Russia, at sea) count first: where they cover an encounter the measure adds only "
        "the step beyond, and for forces on land it has no effect."
    )

    limits = (
        "Zero for forces on land, and for sea encounters with members whose bilateral agreements already "
        "apply the same rules (the widest rule counts). Standard signals between crews carry stated "
        "intent, which can be a warning."
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

    @override
    def channels(self, spec):
        p = self.params
        return [
            ChannelSpec(
                forces_node(Side.NATO),
                forces_node(Side.RUSSIA),
                "standard_signals",
                p.signals_latency_h,
                p.signals_availability,
                p.signals_quality,
            )
        ]

    @override
    def rules_reduction(self, model, incident_type, a, b):
        return self.params.unsafe_reduction if incident_type in COVERED_TYPES else 0.0
