"""Regular top-level military-to-military meetings (CHOD / SACEUR / CMC, with military experts).

Source: 000_3d696065a75e4d8a.txt rec. 1 ("regular meetings ... to ensure military deconfliction
and day-to-day risk reduction"); 001_2a7cb53107421c4a.txt basic menu ("more
military-to-military communication channels").
"""

from __future__ import annotations

from dataclasses import dataclass

from mesa.time import Schedule

from sim.core.measures import Measure, register
from sim.core.spec import Side


@register
class MilToMilMeetings(Measure):
    """Periodic meetings that build trust and mutual understanding of doctrine."""

    name = "mil_to_mil_meetings"
    title = "Regular top-level mil-to-mil meetings"
    source = "000 rec. 1; 001 basic menu"
    mechanism = (
        "Every meeting raises both sides' trust and their understanding of each other's "
        "doctrine, which lowers the noise with which each reads the other's acts; meetings are "
        "postponed while tension is above a threshold."
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
        trust_gain: float
        understanding_gain: float
        max_understanding: float
        suspend_above_tension: float

    def setup(self, model):
        self._model = model
        self.understanding = 0.0
        p = self.params
        model.schedule_recurring(self.meet, Schedule(interval=p.interval_days * 24, start=p.first_meeting_day * 24))

    def meet(self):
        """Hold a meeting, unless tension on either side is too high for one."""
        model, p = self._model, self.params
        if max(s.tension for s in model.sides.values()) > p.suspend_above_tension:
            model.log("meeting", Side.NATO, text="Mil-to-mil meeting postponed: tension too high")
            return
        for state in model.sides.values():
            state.trust = min(1.0, state.trust + p.trust_gain)
        self.understanding = min(p.max_understanding, self.understanding + p.understanding_gain)
        model.log(
            "meeting", Side.NATO, actors=["SACEUR / CMC", "Russian CHOD"],
            text=f"Mil-to-mil meeting held: trust rises, misreading falls (understanding {self.understanding:.2f})",
        )

    def perception_noise_factor(self, model, side):
        return 1.0 - self.understanding
