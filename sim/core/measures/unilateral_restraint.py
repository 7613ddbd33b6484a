"""Parallel unilateral measures: reciprocated restraint in the manner of Osgood's GRIT.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 4 ("parallel unilateral measures ... as a small, clearly
communicated challenge to see whether the other side will reciprocate").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import override

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
        "Activity and signals: one side announces a small restraint step at set intervals and "
        "flies fewer sorties (fewer encounters follow); the announcement is a signal the other "
        "side weighs; the other side's leadership reciprocates when it is calm (posture 0) and "
        "trusts the initiator at least reciprocate_above_trust, and its own sorties fall in turn; "
        "restraint left unreciprocated for longer than the initiator's patience is withdrawn, "
        "which the other side also perceives."
    )
    limits = (
        "Zero with max_steps 0. Unreciprocated restraint is withdrawn, and the withdrawal is a signal the "
        "other side reads as unfriendly; with low trust the other side never reciprocates."
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
        reciprocate_above_trust: float
        patience_days: float

    @override
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
            model.rates_changed(init)
            model.signal(
                init, "restraint", f"{init.label} withdraws the restraint the other side did not return", benign=0.0
            )
            self.last_reciprocated = model.time
            return
        if self.steps[init] < p.max_steps:
            self.steps[init] += 1
            model.rates_changed(init)
            model.signal(
                init,
                "restraint",
                f"{init.label} announces restraint step {self.steps[init]}: fewer sorties near the border",
                benign=1.0,
            )
        state = model.sides[other]
        if self.steps[other] < self.steps[init] and state.posture == 0 and state.trust >= p.reciprocate_above_trust:
            self.steps[other] += 1
            model.rates_changed(other)
            self.last_reciprocated = model.time
            model.signal(
                other, "restraint", f"{other.label} reciprocates with restraint step {self.steps[other]}", benign=1.0
            )

    @override
    def sortie_rate_factor(self, model, platform):
        return (1.0 - self.params.sortie_reduction_per_step) ** self.steps[platform.side]
