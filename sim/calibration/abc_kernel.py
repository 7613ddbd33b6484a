"""The perturbation kernel of ``escalation calibrate``: pyabc's local kernel, kept proper when weights collapse.

pyabc's ``LocalTransition`` moves each particle by a Gaussian whose covariance is the *weighted*
spread of its nearest neighbours. When the importance weights collapse (in twelve dimensions with a
few dozen particles one particle often holds 96% of a generation's weight), a neighbourhood's
weights sit on one particle: numpy's weighted covariance divides by ``1 - sum(w**2)``, which is
zero or a rounding error, and the covariance comes out NaN or indefinite. The kernel density is then
NaN or infinite and the next generation stops with "The total population weight is zero" or "...
nan is not normalized" — about one fit in five at 20 particles, whether or not it was resumed.

Here a neighbourhood's covariance is the unweighted spread of its neighbours around the particle (as
in the M-nearest-neighbour kernel of Filippi et al. 2013, Stat. Appl. Genet. Mol. Biol. 12(1):87-107,
which does not weight the neighbours): the mean of their outer products about the particle, which has
full rank with as many neighbours as dimensions (the spread about their own mean, as pyabc takes it,
has one rank less). Its eigenvalues are floored at a small fraction of its largest, so every kernel is
a proper Gaussian. The centres are still drawn by weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyabc.parameters import Parameter
from pyabc.transition import LocalTransition, Transition

RELATIVE_FLOOR = 1e-8  # the smallest eigenvalue kept, as a fraction of the largest
ABSOLUTE_FLOOR = 1e-12  # when every neighbour coincides with the particle


class NeighbourTransition(LocalTransition):
    """``LocalTransition`` with the unweighted, positive-definite covariance of each particle's neighbours."""

    def _cov(self, indices: np.ndarray, n: int) -> np.ndarray:
        if self.X_arr.shape[0] > 1:
            deltas = self.X_arr[indices[n, 1:]] - self.X_arr[n]
        else:  # one particle: pyabc's choice, a spread as large as its coordinates
            deltas = np.vstack([np.absolute(self.X_arr[0]), -np.absolute(self.X_arr[0])])
        cov = deltas.T @ deltas / len(deltas)
        return proper(np.atleast_2d(cov)) * self.scaling


def proper(cov: np.ndarray) -> np.ndarray:
    """``cov`` symmetrised, with every eigenvalue at least ``RELATIVE_FLOOR`` of the largest (finite, positive)."""
    cov = np.nan_to_num((cov + cov.T) / 2, nan=0.0, posinf=0.0, neginf=0.0)
    values, vectors = np.linalg.eigh(cov)
    floor = max(float(values.max()) * RELATIVE_FLOOR, ABSOLUTE_FLOOR)
    if values.min() >= floor:
        return cov
    return (vectors * np.maximum(values, floor)) @ vectors.T


class DefensiveTransition(Transition):
    """A mixture of the prior and ``inner``: a share of each generation's proposals comes from the prior itself.

    A particle's importance weight is prior / proposal density. With ``share`` of the proposal being the
    prior, that ratio is at most 1 / ``share`` wherever the particle lands ("defensive" importance
    sampling: Hesterberg, "Weighted average importance sampling and defensive mixture distributions",
    *Technometrics* 37(2), 1995). Without it, in 27 dimensions the local kernels' densities vary by orders
    of magnitude among their own draws, and the joint fit's weights fell onto 3 of 300 particles by its
    third generation (effective sample size 16, then 3.4). The prior is uniform on the sampling scale
    (``bounds``: parameter -> (low, high)), as ``sim.calibration.fit`` defines it.
    """

    def __init__(self, inner: Transition, bounds: dict[str, tuple[float, float]], share: float = 0.2):
        self.inner, self.bounds, self.share = inner, bounds, share

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:  # noqa: D102
        self.inner.fit(X, w)

    def rvs_single(self) -> Parameter:  # noqa: D102
        if np.random.uniform() < self.share:
            return Parameter({k: float(np.random.uniform(lo, hi)) for k, (lo, hi) in self.bounds.items()})
        return self.inner.rvs_single()

    def pdf(self, x: Parameter | pd.Series | pd.DataFrame) -> float | np.ndarray:  # noqa: D102
        keys = list(self.bounds)
        values = np.column_stack([np.atleast_1d(np.asarray(x[k], dtype=float)) for k in keys])  # rows: points
        low = np.array([self.bounds[k][0] for k in keys])
        high = np.array([self.bounds[k][1] for k in keys])
        inside = np.all((values >= low) & (values <= high), axis=1)
        prior = np.where(inside, 1.0 / float(np.prod(high - low)), 0.0)
        density = self.share * prior + (1.0 - self.share) * np.asarray(self.inner.pdf(x), dtype=float)
        return density if isinstance(x, pd.DataFrame) else float(np.ravel(density)[0])
