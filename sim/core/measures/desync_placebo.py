"""A control, not a recommendation: the same world on other random numbers.

It changes nothing in distribution: at setup it advances every random stream of the model (incidents,
perception, consequences, ...) by ``advance_draws`` draws, as if that many numbers had been drawn and
thrown away, so every later draw comes from another stretch of the same generator. Its paired runs
against no measure are therefore as different as two runs of one configuration on unrelated seeds can be
after the forces' traits are drawn (they are drawn before any measure's setup, and stay paired).

That is the floor of a backfire share in long runs: a measure that changes activity (who goes out, how
often, how close) shifts every later draw as this one does, so part of its "backfire" is this drift, not
its effect. A backfire share within this placebo's interval is the drift of random numbers; one above it
is the measure's own. (``placebo_channel``, which never connects and draws nothing, is byte-identical to no
measure and shows no floor.) With ``advance_draws: 0`` it changes nothing, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

from sim.core.measures import Measure, register


@register
class DesyncPlacebo(Measure):
    """Every random stream moved on by a fixed number of draws: the same world, other random numbers."""

    name = "desync_placebo"
    title = "Desync placebo (control: the same world on other random numbers)"
    source = "control"
    control = True
    mechanism = (
        "Empty: nothing changes in distribution; at setup every random stream of the model is advanced by a "
        "fixed number of draws (as if they were drawn and discarded), so paired runs part ways as two unrelated "
        "seeds would; "
        "any difference it makes is the drift of random numbers, not an effect."
    )
    limits = (
        "By construction its effect is zero in distribution; its backfire share (pairs whose peak rung is higher) "
        "is the floor against which other measures' shares are read in long runs. With 0 draws it changes "
        "nothing, byte for byte."
    )
    passage = "None: this is the control for backfire shares (changes the random numbers only)."

    @dataclass(frozen=True)
    class Params:
        """Desync placebo parameters (conf/measures/catalogue/desync_placebo.yaml)."""

        advance_draws: int

    @override
    def setup(self, model):
        if self.params.advance_draws > 0:
            for stream in model.streams.values():
                stream.bit_generator.advance(self.params.advance_draws)
