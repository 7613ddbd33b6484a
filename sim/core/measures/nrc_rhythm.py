"""A predictable rhythm of NATO-Russia Council meetings, with experts in the NRC.

Source: 001_2a7cb53107421c4a.txt basic menu ("a more predictable rhythm of NATO-Russia Council
meetings ... both sides to use experts in the NATO-Russia Council for a risk reduction
exercise").
"""

from __future__ import annotations

from dataclasses import dataclass

from mesa.time import Schedule

from sim.core.measures import Measure, cross_channel, register
from sim.core.spec import Side


@register
class NrcRhythm(Measure):
    """Regular NRC meetings damp tension; the NRC is also a political channel."""

    name = "nrc_rhythm"
    title = "Predictable NATO-Russia Council rhythm, experts in the NRC"
    source = "001 basic menu"
    mechanism = (
        "At each regular NRC meeting both sides' tension is pulled part of the way back to its "
        "baseline, and between meetings the NRC ambassadors give the leaders a political channel "
        "faster than ordinary diplomacy."
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
        tension_damping: float
        latency_h: float
        availability: float
        quality: float

    def channels(self, spec):
        return [cross_channel(spec, "leadership", "nrc", self.params)]

    def setup(self, model):
        self._model = model
        interval = self.params.interval_days * 24
        model.schedule_recurring(self.meet, Schedule(interval=interval, start=interval))

    def meet(self):
        """An NRC meeting: tension eases toward the baseline on both sides."""
        model, damping = self._model, self.params.tension_damping
        for side, state in model.sides.items():
            baseline = model.spec.baseline_tension[side.value]
            state.tension = baseline + (state.tension - baseline) * (1.0 - damping)
        model.log("meeting", Side.NATO, actors=["NATO-Russia Council"], text="NATO-Russia Council meets: tension eases")
