"""A control, not a recommendation: a command-to-command line that never connects.

Adding it must change nothing at all, byte for byte (tests/test_mechanisms.py checks it): the model
skips a channel that cannot connect without drawing a random number, so paired runs with and without
it are the same runs. Its "backfire" share in ``escalation compare`` is therefore exactly zero, the
floor against which a real measure's backfire share is read. (Raising its availability makes it an
ordinary line that carries nothing (quality 0), which is no longer a placebo: a call placed on it is
a call not placed elsewhere.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, cross_channel, register


@register
class PlaceboChannel(Measure):
    """A command-to-command line that conveys nothing."""

    name = "placebo_channel"
    title = "Placebo channel (control: a line that conveys nothing)"
    source = "control"
    control = True
    mechanism = (
        "Channel, empty: a command-to-command line whose calls carry no information (quality 0), "
        "or never connect (availability 0); any difference it makes is the drift of random "
        "numbers between paired runs, not an effect."
    )
    limits = (
        "By construction it does nothing: tests check byte-identical runs with and without it, and its "
        "backfire share (zero) is the floor against which other measures' are read."
    )
    passage = "None: this is the control against which channel measures are compared."

    @dataclass(frozen=True)
    class Params:
        """Placebo parameters (conf/measures/catalogue/placebo_channel.yaml)."""

        latency_h: float
        availability: float
        quality: float

    @override
    def channels(self, spec):
        return [cross_channel(spec, "command", "placebo", self.params)]
