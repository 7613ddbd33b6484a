"""Transparency of sub-strategic (non-strategic) nuclear postures.

Source: European Leadership Network and Russian International Affairs Council, "Towards a More
Stable NATO-Russia Relationship" (joint report), "enhanced set" ("agree on transparency of
sub-strategic nuclear postures").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class NuclearPostureTransparency(Measure):
    """What nuclear-capable forces are for is known, so their acts are read with less error."""

    name = "nuclear_posture_transparency"
    title = "Transparency of sub-strategic nuclear postures"
    source = "001 enhanced set"
    mechanism = (
        "Information: with declared sub-strategic postures, the other side reads the acts of "
        "nuclear-capable forces (kinds listed in nuclear_capable_kinds) with less error, in "
        "severity and in intent; reading more accurately can lower or raise the reply, and where "
        "no such forces act (fighters, reconnaissance aircraft, ships) it has no effect."
    )
    limits = (
        "Zero where no nuclear-capable force acts (no bomber or missile kinds in the scenario, as in the "
        "Baltic month); reading a deliberate act of such a force more clearly raises the reply to it."
    )
    passage = "Showing restraint on the ground: agree on transparency of sub-strategic nuclear postures."

    @dataclass(frozen=True)
    class Params:
        """Transparency parameters (conf/measures/catalogue/nuclear_posture_transparency.yaml)."""

        nuclear_capable_kinds: list[str]
        clarity: float

    @override
    def perception_noise_factor(self, model, side, act):
        if act is not None and act.kind in self.params.nuclear_capable_kinds:
            return 1.0 - self.params.clarity
        return 1.0
