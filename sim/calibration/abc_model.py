"""The pyabc model of ``escalation calibrate`` with the deviance: it stops a parameter set early.

A parameter set is run on three settings (15 simulated years). Every target's deviance is at least 0, so
the sum over the settings run so far is a lower bound on the whole: once it is above the threshold the
particle is rejected, whatever the other settings would show, and they are not run
(``Simulator.deviance_within``). The acceptance is the same as running everything (pyabc's
``UniformAcceptor``: accepted when the distance is at most the threshold), and an accepted particle's
statistics and distance are the same numbers, each setting's replications being seeded by the setting's
own place among them. pyabc's hook for this is ``Model.accept`` (as its ``IntegratedModel``); its
calibration sample (generation -1, which sets the first threshold) runs every setting
(``summary_statistics``).
"""

from __future__ import annotations

import numpy as np
from pyabc.model import Model, ModelResult

from sim.calibration.targets import Prior, Simulator, with_values


class DevianceModel(Model):
    """A particle (sampling scale) -> its targets' statistics and tallies; rejected early past the threshold."""

    def __init__(self, sim: Simulator, priors: list[Prior]) -> None:
        super().__init__("escalation")
        self.sim, self.priors = sim, priors

    def _params(self, pars):
        return with_values(self.sim.base, {p.key: p.to_natural(pars[p.name]) for p in self.priors})

    @staticmethod
    def _seed() -> int:
        return int(np.random.randint(0, 2**31 - 1))  # pyabc seeds each worker's global generator

    def sample(self, pars) -> dict[str, float]:  # noqa: D102  (every setting: the calibration sample)
        return self.sim.statistics(self._params(pars), self._seed(), tallies=True)

    def accept(self, t, pars, sum_stat_calculator, distance_calculator, eps_calculator, acceptor, x_0):  # noqa: ARG002, D102
        eps = float(eps_calculator(t))
        stats, total = self.sim.deviance_within(self._params(pars), self._seed(), eps)
        if stats is None:
            return ModelResult(distance=total, accepted=False)
        return ModelResult(sum_stat=stats, distance=total, accepted=total <= eps)
