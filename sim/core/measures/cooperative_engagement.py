"""Joint exercises, personnel exchanges and liaison officers (the cooperative 2004 agenda).

Source: Working Group on NATO-Russia Relations, report on the agenda of the NATO-Russia Council
(2004-05), sections "Personnel Engagement, Exchanges, and Staffing" and
"Military-to-Military Cooperation".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, cross_channel, register


@register
class CooperativeEngagement(Measure):
    """Years of engagement leave shared doctrine and liaison officers."""

    name = "cooperative_engagement"
    title = "Joint exercises, personnel exchanges, liaison officers"
    source = "004 Personnel Engagement, Exchanges, and Staffing; Military-to-Military Cooperation"
    mechanism = (
        "Information and channel: joint training and exchanges give each side a better reading of "
        "the other's doctrine (less noise in perceiving its acts), and liaison officers in each "
        "other's headquarters give commands a channel; trust is not granted, it moves only with "
        "what the two sides then see and hear."
    )
    limits = (
        "Zero where the officers cannot be reached in time; reading acts more accurately lowers the reply "
        "to acts that were not meant and raises it to acts that were. The liaison channel can backfire as "
        "a liaison mission can."
    )
    passage = (
        "Engagement of Russian and allied military personnel should increase in their respective "
        "headquarters ... including joint staff training and development of common and compatible "
        "doctrines ... Russia should take part in more NATO military exercises and peacekeeping."
    )

    @dataclass(frozen=True)
    class Params:
        """Engagement parameters (conf/measures/catalogue/cooperative_engagement.yaml)."""

        understanding: float
        latency_h: float
        availability: float
        quality: float

    @override
    def channels(self, spec):
        return [cross_channel(spec, "command", "liaison_officers", self.params)]

    @override
    def perception_noise_factor(self, model, side, act):
        return 1.0 - self.params.understanding
