"""Transparency of sub-strategic (non-strategic) nuclear postures.

Source: 001_2a7cb53107421c4a.txt enhanced set ("agree on transparency of sub-strategic nuclear
postures").
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.ladder import Rung
from sim.core.measures import Measure, register


@register
class NuclearPostureTransparency(Measure):
    """Nuclear-capable activity is misread less; nuclear signalling is harder to choose."""

    name = "nuclear_posture_transparency"
    title = "Transparency of sub-strategic nuclear postures"
    source = "001 enhanced set"
    mechanism = (
        "Known postures make the acts of nuclear-capable platforms, and replies at armed clash "
        "or above, read as less hostile, and add resistance against nuclear signalling."
    )
    passage = "Showing restraint on the ground: agree on transparency of sub-strategic nuclear postures."

    @dataclass(frozen=True)
    class Params:
        """Transparency parameters (conf/measures/catalogue/nuclear_posture_transparency.yaml)."""

        nuclear_capable_kinds: list[str]
        hostility_reduction: float
        nuclear_firebreak: float

    def hostility_shift(self, model, side, act):
        nuclear = act.kind in self.params.nuclear_capable_kinds or (act.kind == "response" and act.rung >= Rung.ARMED_CLASH)
        return -self.params.hostility_reduction if nuclear else 0.0

    def firebreak_shift(self, model, rung):
        return self.params.nuclear_firebreak if rung >= Rung.NUCLEAR_THRESHOLD else 0.0
