"""Military representatives in the NATO Military Committee and a Russian liaison mission at SHAPE.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, cross_channel, register


@register
class LiaisonMission(Measure):
    """A standing command-to-command channel."""

    name = "liaison_mission"
    title = "Military representatives / liaison mission at SHAPE"
    source = "000 rec. 2"
    mechanism = (
        "Channel: a standing command-to-command channel lets each side's military command ask the other "
        "what an act meant, within about an hour, before it answers."
    )
    limits = (
        "Zero when the command decides before the officers answer. Negative, and measured so on the "
        "Baltic month, when calls about deliberate acts bring warnings and threats rather than "
        "reassurance: the command then reads the act as more hostile than it would have guessed."
    )
    passage = (
        "NATO member states and Russia should resume contacts at the level of military "
        "representatives in the NATO Military Committee and restore the Russian military liaison "
        "mission at SACEUR Headquarters. ... They would rebuild the communication that for safety "
        "and good deterrence must take place in foul weather and not just fair."
    )

    @dataclass(frozen=True)
    class Params:
        """Channel parameters (values, units, bases: conf/measures/catalogue/liaison_mission.yaml)."""

        latency_h: float
        availability: float
        quality: float

    @override
    def channels(self, spec):
        return [cross_channel(spec, "command", "liaison", self.params)]
