"""Parallel unilateral measures: reciprocated restraint in the manner of Osgood's GRIT.

Source: 000_3d696065a75e4d8a.txt rec. 4 ("parallel unilateral measures ... as a small, clearly
communicated challenge to see whether the other side will reciprocate").
"""

from __future__ import annotations

from dataclasses import dataclass

from mesa.time import Schedule

from sim.core.measures import Measure, register
from sim.core.spec import Side


@register
class UnilateralRestraint(Measure):
    """One side restrains first in small announced steps; the other reciprocates, or not."""

    name = "unilateral_restraint"
    title = "Parallel unilateral measures (reciprocated restraint)"
    source = "000 rec. 4"
    mechanism = (
        "One side announces a small restraint step at set intervals (fewer sorties, calmer "
        "replies); the other reciprocates with a probability that rises with its trust; "
        "restraint left unreciprocated for longer than the initiator's patience is withdrawn."
    )
    passage = (
        "A device for getting round this obstacle, especially for military risk reduction, is for "
        "commanders to order parallel, unilateral measures based either on informal mutual "
        "understandings or as a small, clearly communicated challenge to see whether the other "
        "side will reciprocate."
    )

    @dataclass(frozen=True)
    class Params:
        """GRIT parameters (conf/measures/catalogue/unilateral_restraint.yaml)."""

        initiator: str
        step_interval_days: float
        max_steps: int
        sortie_reduction_per_step: float
        decision_shift_per_step: float
        reciprocation_base: float
        reciprocation_trust_gain: float
        patience_days: float
        trust_gain: float

    def setup(self, model):
        p = self.params
        if p.initiator not in ("nato", "russia"):
            raise ValueError(f"unilateral_restraint.initiator must be nato or russia, got {p.initiator!r}")
        self._model = model
        self.initiator = Side(p.initiator)
        self.steps = dict.fromkeys(Side, 0)
        self.last_reciprocated = 0.0
        interval = p.step_interval_days * 24
        model.schedule_recurring(self.announce, Schedule(interval=interval, start=interval))

    def announce(self):
        """The initiator takes (or holds) a step; the other side answers; patience runs out, or not."""
        model, p, init = self._model, self.params, self.initiator
        other = init.other
        if model.time - self.last_reciprocated > p.patience_days * 24 and self.steps[init] > self.steps[other]:
            self.steps[init] = self.steps[other]
            model.log("restraint", init, text=f"{init.label} withdraws restraint the other side did not return")
            self.last_reciprocated = model.time
            return
        if self.steps[init] < p.max_steps:
            self.steps[init] += 1
            model.log("restraint", init, text=f"{init.label} announces restraint step {self.steps[init]}: fewer sorties near the border")
        chance = min(1.0, p.reciprocation_base + p.reciprocation_trust_gain * model.sides[other].trust)
        if self.steps[other] < self.steps[init] and model.streams["measures"].random() < chance:
            self.steps[other] += 1
            self.last_reciprocated = model.time
            for state in model.sides.values():
                state.trust = min(1.0, state.trust + p.trust_gain)
            model.log("restraint", other, text=f"{other.label} reciprocates with restraint step {self.steps[other]}")

    def sortie_rate_factor(self, model, platform):
        return (1.0 - self.params.sortie_reduction_per_step) ** self.steps[platform.side]

    def decision_shift(self, model, deliberation):
        return -self.params.decision_shift_per_step * self.steps[deliberation.decider.side]
