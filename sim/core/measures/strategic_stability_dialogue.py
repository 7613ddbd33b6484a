"""A standing strategic-stability and cyber dialogue.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, cross_channel, register

CYBER_TYPES = frozenset({"electronic_interference"})


@register
class StrategicStabilityDialogue(Measure):
    """Shared understanding of cyber and electronic warfare doctrine, and a standing leaders' forum."""

    name = "strategic_stability_dialogue"
    title = "Strategic stability / cyber dialogue"
    source = "000 rec. 5"
    mechanism = (
        "Information and channel: a standing dialogue on cyber security leaves each side reading "
        "the other's electronic or cyber interference with less error (less perception noise for "
        "those acts), and gives the leaderships a slow but reliable channel; where no "
        "interference happens and leaders are not asked to approve a reply, it has no effect."
    )
    limits = (
        "Zero in a scenario without electronic or cyber interference whose leaders are not asked to "
        "approve a reply (the Baltic and Black Sea months); a clearer reading of deliberate interference "
        "raises the reply to it."
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

        cyber_clarity: float
        latency_h: float
        availability: float
        quality: float

    @override
    def channels(self, spec):
        return [cross_channel(spec, "leadership", "strategic_dialogue", self.params)]

    @override
    def perception_noise_factor(self, model, side, act):
        if act is not None and act.type in CYBER_TYPES:
            return 1.0 - self.params.cyber_clarity
        return 1.0
