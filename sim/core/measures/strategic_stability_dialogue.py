"""US-Russia strategic stability and cyber security dialogue.

Source: 000_3d696065a75e4d8a.txt rec. 5 ("systematically develop their dialogue on the future of
strategic stability and cyber security").
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.ladder import Rung
from sim.core.measures import Measure, register


@register
class StrategicStabilityDialogue(Measure):
    """A stronger firebreak before regional war and nuclear signalling; cyber acts read less hostile."""

    name = "strategic_stability_dialogue"
    title = "Strategic stability / cyber dialogue"
    source = "000 rec. 5"
    mechanism = (
        "Shared understandings from a standing strategic-stability dialogue add resistance "
        "against replies at regional war and above, most against nuclear signalling, and make "
        "electronic or cyber interference read as less hostile."
    )
    passage = (
        "Russia and the United States could confirm that, irrespective of the course of the present "
        "crisis, they will systematically develop their dialogue on the future of strategic "
        "stability and cyber security ... the P5 commitment to the fundamental principle that a "
        "nuclear war cannot be won and must never be fought."
    )

    @dataclass(frozen=True)
    class Params:
        """Dialogue parameters (conf/measures/catalogue/strategic_stability_dialogue.yaml)."""

        war_firebreak: float
        nuclear_firebreak: float
        cyber_hostility_reduction: float

    def firebreak_shift(self, model, rung):
        p = self.params
        shift = p.war_firebreak if rung >= Rung.REGIONAL_WAR else 0.0
        return shift + (p.nuclear_firebreak if rung >= Rung.NUCLEAR_THRESHOLD else 0.0)

    def hostility_shift(self, model, side, act):
        return -self.params.cyber_hostility_reduction if act.type == "electronic_interference" else 0.0
