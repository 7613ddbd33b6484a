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
from pyabc.transition import LocalTransition

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
