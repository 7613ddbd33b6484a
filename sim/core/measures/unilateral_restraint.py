"""Parallel unilateral measures: reciprocated restraint in the manner of Osgood's GRIT.

Source: European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven
Recommendations" (February 2022), recommendation 4 ("parallel unilateral measures ... as a small, clearly
communicated challenge to see whether the other side will reciprocate").
"""

from __future__ import annotations

import math
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
        "Activity and information: one side announces a small restraint step at set intervals and "
        "flies fewer sorties (fewer encounters follow). The announcement earns nothing by itself: at "
        "each step the other side compares the sorties its radar saw near its territory since the "
        "last step with the rate it saw before the restraint began, and credits the restraint "
        "(trust moves toward benign by signal_weight, once for the restraint in force) only if they fell "
        "significantly (a one-sided binomial test at restraint_verification_alpha); the trust so earned "
        "is given back if the restraint is withdrawn. The other side's leadership reciprocates "
        "when it is calm (posture 0) and trusts the initiator at least reciprocate_above_trust, and "
        "its own sorties fall in turn, checked the same way; restraint left unreciprocated for "
        "longer than the initiator's patience is withdrawn, which the other side sees as an act."
    )
    limits = (
        "Zero with max_steps 0, and about zero with sortie_reduction_per_step 0 (announcements only: "
        "nothing to see, nothing earned). Unreciprocated restraint is withdrawn, and the withdrawal is "
        "an act the other side reads as unfriendly; with low trust the other side never reciprocates."
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
        self.started = dict.fromkeys(Side, math.inf)  # when each side's restraint began
        self.checked = dict.fromkeys(Side, 0.0)  # when the other side last checked it
        self.credited = dict.fromkeys(Side, 0)  # steps of each side's restraint the other side has seen kept
        interval = p.step_interval_days * 24
        model.schedule_recurring(self.announce, Schedule(interval=interval, start=interval))

    def announce(self):
        """The initiator takes (or holds) a step; the other side answers; patience runs out, or not."""
        model, p, init = self._model, self.params, self.initiator
        other = init.other
        for side in Side:
            if self.steps[side] > 0:
                self.check(side)
        if model.time - self.last_reciprocated > p.patience_days * 24 and self.steps[init] > self.steps[other]:
            self.steps[init] = self.steps[other]
            self.credited[init] = min(self.credited[init], self.steps[init])
            if self.steps[init] == 0:
                self.started[init] = math.inf  # a later restraint is checked against the rate seen before it
            # Unreciprocated restraint decays: the trust it earned (as it stands now) is given back.
            s = model.sides[other]
            s.trust, s.restraint_trust = max(0.0, s.trust - s.restraint_trust), 0.0
            model.rates_changed(init)
            model.signal(  # an announcement: what is seen afterwards is more sorties, not a signal
                init, "restraint", f"{init.label} withdraws the restraint the other side did not return", benign=None
            )
            self.last_reciprocated = model.time
            return
        if self.steps[init] < p.max_steps:
            self.begin(init)
            self.steps[init] += 1
            model.rates_changed(init)
            model.signal(
                init,
                "restraint",
                f"{init.label} announces restraint step {self.steps[init]}: fewer sorties near the border",
                benign=None,  # an announcement: it earns trust only when seen to be kept
            )
        state = model.sides[other]
        if self.steps[other] < self.steps[init] and state.posture == 0 and state.trust >= p.reciprocate_above_trust:
            self.begin(other)
            self.steps[other] += 1
            model.rates_changed(other)
            self.last_reciprocated = model.time
            model.signal(
                other, "restraint", f"{other.label} reciprocates with restraint step {self.steps[other]}", benign=None
            )

    def begin(self, side):
        """Note when ``side``'s restraint began (what the other side compares with)."""
        if self.started[side] == math.inf:
            self.started[side] = self.checked[side] = self._model.time

    def check(self, side):
        """The other side checks ``side``'s restraint against the sorties its radar saw; credits it if they fell.

        Seen before the restraint: n0 sorties in t0 hours; since the last check: n1 in t1. Without
        restraint n1 is binomial(n0 + n1, t1 / (t0 + t1)); the restraint is credited (once, until it is
        withdrawn) when P(N <= n1) < ``restraint_verification_alpha`` / ``max_steps`` under that law: a
        restraint is checked at up to ``max_steps`` steps, so one that is not kept is credited at most at
        the stated level.
        """
        model = self._model
        seen, start, last = model.seen_sorties[side.other], self.started[side], self.checked[side]
        self.checked[side] = model.time
        if self.credited[side]:
            return  # credited once for this restraint, until it is withdrawn
        n0 = sum(1 for t in seen if t < start)
        n1 = sum(1 for t in seen if last <= t < model.time)
        t0, t1 = start, model.time - last
        if n0 == 0 or t0 <= 0 or t1 <= 0:
            return  # nothing seen to compare with
        alpha = model.params.restraint_verification_alpha / max(1, self.params.max_steps)
        if _binomial_cdf(n1, n0 + n1, t1 / (t0 + t1)) < alpha:
            s = model.sides[side.other]
            before = s.trust
            model.learn(side.other, 1.0, model.params.signal_weight)
            s.restraint_trust += s.trust - before
            self.credited[side] = self.steps[side]
            model.log(
                "signal",
                side.other,
                text=f"{side.other.label} sees fewer {side.label} sorties near its territory "
                f"({n1} in {t1 / 24:.0f} days): the restraint is real",
            )

    @override
    def sortie_rate_factor(self, model, platform):
        return (1.0 - self.params.sortie_reduction_per_step) ** self.steps[platform.side]


def _binomial_cdf(k: int, n: int, q: float) -> float:
    """P(N <= k) for N binomial(n, q)."""
    return sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k + 1))
