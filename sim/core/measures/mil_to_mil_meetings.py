"""Regular top-level military-to-military meetings (CHOD / SACEUR / CMC, with military experts).

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 1 ("regular meetings ... to ensure military deconfliction
and day-to-day risk reduction"); European Leadership Network and Russian International Affairs Council, "Towards a More
Stable NATO-Russia Relationship" (joint report), "basic dialogue and stabilisation menu" ("more
military-to-military communication channels").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import override

from mesa.time import Schedule

from sim.core.measures import Measure, register
from sim.core.spec import Side


@register
class MilToMilMeetings(Measure):
    """Periodic meetings where each side accounts for its dangerous acts and doctrine is explained."""

    name = "mil_to_mil_meetings"
    title = "Regular top-level mil-to-mil meetings"
    source = "000 rec. 1; 001 basic menu"
    mechanism = (
        "Information: at each meeting each side asks about the other's dangerous acts since the "
        "last one and hears its account (true, a bluff, a warning or a threat), weighed by trust; "
        "trust moves by what the accounts change, which is little when the acts were meant and "
        "negative when bluffs are found out. Doctrine explained at each meeting lowers the noise "
        "with which each reads the other's acts; that understanding fades when meetings stop "
        "(understanding_memory_days) and is lost when military contacts are suspended. Meetings are "
        "postponed while tension is above a threshold."
    )
    limits = (
        "Zero with no dangerous acts to account for and while meetings are postponed (tension above the "
        "threshold) or contacts suspended. Negative when accounts are warnings or threats, or denials "
        "later exposed: trust then falls."
    )
    passage = (
        "Regular meetings should be held between the Chief of General Staff of the Armed Forces of "
        "the Russian Federation, the Chairman of the U.S. Joint Chiefs of Staff, the NATO Supreme "
        "Allied Commander Europe (SACEUR) and the Chairman of the NATO Military Committee, "
        "reinforced by military experts ... to ensure military deconfliction and day-to-day risk "
        "reduction at this time of heightened tension and military deployments."
    )

    @dataclass(frozen=True)
    class Params:
        """Meeting parameters (values, units, bases: conf/measures/catalogue/mil_to_mil_meetings.yaml)."""

        interval_days: float
        first_meeting_day: float
        quality: float
        understanding_gain: float
        max_understanding: float
        suspend_above_tension: float
        understanding_memory_days: float

    @override
    def setup(self, model):
        self._model = model
        self.understanding = 0.0  # as of the last meeting
        self.last_meeting = 0.0
        p = self.params
        model.schedule_recurring(self.meet, Schedule(interval=p.interval_days * 24, start=p.first_meeting_day * 24))

    def meet(self):
        """Hold a meeting, unless tension on either side is too high or contacts are suspended."""
        model, p = self._model, self.params
        if max(s.tension for s in model.sides.values()) > p.suspend_above_tension:
            model.log("meeting", Side.NATO, text="Mil-to-mil meeting postponed: tension too high")
            return
        if any("" in s.suspended for s in model.sides.values()):
            model.log("meeting", Side.NATO, text="Mil-to-mil meeting cancelled: military contacts are suspended")
            return
        discussed = model.hold_meeting("mil_to_mil_meeting", p.quality)
        self.understanding = min(p.max_understanding, self.current() + p.understanding_gain)
        self.last_meeting = model.time
        model.log(
            "meeting",
            Side.NATO,
            actors=["SACEUR / CMC", "Russian CHOD"],
            text=f"Mil-to-mil meeting held: {discussed} dangerous act{'' if discussed == 1 else 's'} accounted for; "
            "doctrine explained",
        )

    def current(self) -> float:
        """The understanding now: it fades since the last meeting and is lost while contacts are suspended."""
        model = self._model
        if any("" in s.suspended for s in model.sides.values()):
            self.understanding = 0.0  # the people who met no longer meet: what they built is lost
        age = model.time - self.last_meeting
        return self.understanding * math.exp(-age / (self.params.understanding_memory_days * 24))

    @override
    def perception_noise_factor(self, model, side, act):
        return 1.0 - self.current()
