"""Political hotline between the North Atlantic Council / capitals and the Kremlin.

Source: 000_3d696065a75e4d8a.txt rec. 2 ("civilian hotline communications that Russia has
proposed"); 001_2a7cb53107421c4a.txt basic menu ("the use of the NATO-Russia hotline for
cyber-incidents").
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.measures import Measure, cross_channel, register


@register
class Hotline(Measure):
    """A leader-to-leader channel: fast clarification, and a chance to agree to stand down."""

    name = "hotline"
    title = "Political hotline (incl. cyber-incident use)"
    source = "000 rec. 2; 001 basic menu"
    mechanism = (
        "Leaders reach each other within the hour, clarify intent before a forceful reply is "
        "approved, and, once in contact, lean toward standing down."
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
        stand_down_shift: float

    def channels(self, spec):
        return [cross_channel(spec, "leadership", "hotline", self.params)]

    def decision_shift(self, model, deliberation):
        if deliberation.decider.role == "leadership" and any("hotline" in c for c in deliberation.clarified_by):
            return -self.params.stand_down_shift
        return 0.0
