"""A predictable rhythm of NATO-Russia Council meetings, with experts in the NRC.

Source: European Leadership Network and Russian International Affairs Council, "Towards a More
Stable NATO-Russia Relationship" (joint report), "basic dialogue and stabilisation menu" ("a more
predictable rhythm of NATO-Russia Council meetings ... both sides to use experts in the NATO-Russia
Council for a risk reduction exercise").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from mesa.time import Schedule

from sim.core.measures import Measure, cross_channel, register
from sim.core.spec import Side


@register
class NrcRhythm(Measure):
    """Regular NRC meetings where incidents are accounted for; the NRC is also a political channel."""

    name = "nrc_rhythm"
    title = "Predictable NATO-Russia Council rhythm, experts in the NRC"
    source = "001 basic menu"
    mechanism = (
        "Channel and information: between meetings the NRC ambassadors give the leaders a "
        "political channel faster than ordinary diplomacy; at each regular meeting each side "
        "hears the other's account of its dangerous acts since the last one, weighed by trust, "
        "and trust moves by what the accounts change (it can fall). The NRC is suspended with "
        "military contacts after a lethal incident or as a sanction."
    )
    limits = (
        "Zero while the NRC is suspended and when leaders are not asked to decide; negative, as any "
        "channel, when accounts are warnings, threats or exposed denials."
    )
    passage = (
        "A more useful quality of dialogue: a more predictable rhythm of NATO-Russia Council "
        "meetings; more substantial Russian representation ... both sides to use experts in the "
        "NATO-Russia Council for a risk reduction exercise and cyber advice."
    )

    @dataclass(frozen=True)
    class Params:
        """NRC parameters (conf/measures/catalogue/nrc_rhythm.yaml)."""

        interval_days: float
        latency_h: float
        availability: float
        quality: float

    @override
    def channels(self, spec):
        return [cross_channel(spec, "leadership", "nrc", self.params)]

    @override
    def setup(self, model):
        self._model = model
        interval = self.params.interval_days * 24
        model.schedule_recurring(self.meet, Schedule(interval=interval, start=interval))

    def meet(self):
        """An NRC meeting, unless the NRC is suspended."""
        model = self._model
        if any("" in s.suspended for s in model.sides.values()):
            model.log(
                "meeting",
                Side.NATO,
                actors=["NATO-Russia Council"],
                text="NATO-Russia Council meeting cancelled: suspended",
            )
            return
        discussed = model.hold_meeting("nrc", self.params.quality)
        model.log(
            "meeting",
            Side.NATO,
            actors=["NATO-Russia Council"],
            text=f"NATO-Russia Council meets: {discussed} dangerous act{'' if discussed == 1 else 's'} accounted for",
        )
