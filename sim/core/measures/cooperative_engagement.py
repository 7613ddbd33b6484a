"""Joint exercises, personnel exchanges and liaison officers (the cooperative 2004 agenda).

Source: 004_fa1a0c5aa3c72e99.txt, sections "Personnel Engagement, Exchanges, and Staffing" and
"Military-to-Military Cooperation".
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.measures import Measure, cross_channel, register


@register
class CooperativeEngagement(Measure):
    """Years of engagement leave more trust, shared doctrine and liaison officers."""

    name = "cooperative_engagement"
    title = "Joint exercises, personnel exchanges, liaison officers"
    source = "004 Personnel Engagement, Exchanges, and Staffing; Military-to-Military Cooperation"
    mechanism = (
        "A record of joint training and exchanges starts both sides with more trust and a "
        "better reading of each other's doctrine (less perception noise), and liaison officers "
        "in each other's headquarters give commands a channel."
    )
    passage = (
        "Engagement of Russian and allied military personnel should increase in their respective "
        "headquarters ... including joint staff training and development of common and compatible "
        "doctrines ... Russia should take part in more NATO military exercises and peacekeeping."
    )

    @dataclass(frozen=True)
    class Params:
        """Engagement parameters (conf/measures/catalogue/cooperative_engagement.yaml)."""

        initial_trust_gain: float
        understanding: float
        latency_h: float
        availability: float
        quality: float

    def channels(self, spec):
        return [cross_channel(spec, "command", "liaison_officers", self.params)]

    def setup(self, model):
        for state in model.sides.values():
            state.trust = min(1.0, state.trust + self.params.initial_trust_gain)

    def perception_noise_factor(self, model, side):
        return 1.0 - self.params.understanding
