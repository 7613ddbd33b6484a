"""No US or Russian intermediate-range land-based missiles in Europe (a new "zero option").

Source: 000_3d696065a75e4d8a.txt rec. 6.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.ladder import Rung
from sim.core.measures import Measure, register


@register
class ZeroOption(Measure):
    """Longer decision time and less pressure to pre-empt."""

    name = "zero_option"
    title = 'No intermediate-range missiles in Europe ("zero option")'
    source = "000 rec. 6"
    mechanism = (
        "Without missiles minutes from their targets, commands and leaders take longer to decide "
        "(so more calls arrive in time) and feel less pressure to strike first, which adds "
        "resistance against replies at the use of force and above."
    )
    passage = (
        "Russia and NATO could immediately agree to launch negotiations on a new zero option for "
        "the deployment in Europe of US and Russian intermediate-range land-based missiles and "
        "their launchers."
    )

    @dataclass(frozen=True)
    class Params:
        """Zero-option parameters (conf/measures/catalogue/zero_option.yaml)."""

        decision_time_gain: float
        preemption_firebreak: float

    def decision_time_factor(self, model, decider):
        return 1.0 + self.params.decision_time_gain

    def firebreak_shift(self, model, rung):
        return self.params.preemption_firebreak if rung >= Rung.LIMITED_FORCE else 0.0
