"""Political hotline between the North Atlantic Council / capitals and the Kremlin.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 2 ("civilian hotline communications that Russia has
proposed"); European Leadership Network and Russian International Affairs Council, "Towards a More
Stable NATO-Russia Relationship" (joint report), "basic dialogue and stabilisation menu" ("the use of
the NATO-Russia hotline for cyber-incidents").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, cross_channel, register


@register
class Hotline(Measure):
    """A leader-to-leader channel: leaders hear each other's stated intent before they set policy."""

    name = "hotline"
    title = "Political hotline (incl. cyber-incident use)"
    source = "000 rec. 2; 001 basic menu"
    mechanism = (
        "Channel: leaders reach each other within the hour and hear the other side's stated intent "
        "(true, a bluff, a warning or a threat) before they review their posture on a proposed "
        "military reply; the effect is only what the statements change, so it vanishes when the "
        "call is slower than the leaders' decision time and can be negative when calls carry "
        "threats or bluffs that are found out."
    )

    limits = (
        "Zero where leaders are never asked to approve a military reply, and when the line is slower than "
        "the leaders' decision time (the call arrives after they have decided). Negative when the other "
        "side answers a call about a deliberate act with a warning or a threat (the act then reads as "
        "more hostile), or with a denial that is later exposed (trust falls)."
    )
    passage = (
        "These steps would parallel the establishment of civilian hotline communications that "
        "Russia has proposed (000 rec. 2); ... the use of the NATO-Russia hotline for "
        "cyber-incidents (001 basic menu)."
    )

    @dataclass(frozen=True)
    class Params:
        """Hotline parameters (values, units, bases: conf/measures/catalogue/hotline.yaml)."""

        latency_h: float
        availability: float
        quality: float

    @override
    def channels(self, spec):
        return [cross_channel(spec, "leadership", "hotline", self.params)]
