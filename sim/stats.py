"""Interval estimates for the headline outcomes."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float, float]:
    """Proportion with its Wilson score interval (good at p near 0 or 1 and small n)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends (no rounding residue)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return p, lo, hi


def _finite(values: np.ndarray | list[float]) -> tuple[np.ndarray, tuple[float, float, float, int] | None]:
    """The finite values, and the answer itself when there are too few of them for an interval."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return x, (math.nan, math.nan, math.nan, 0)
    if len(x) == 1:
        return x, (float(x[0]), math.nan, math.nan, 1)
    return x, None


# Resampled values held at once by the bootstrap: scipy draws every resample in one array by default, 4,999 x n
# (760 MB more at the end of a 10,000-replication run, 7.6 GB at 100,000). Batches give the same interval.
BOOTSTRAP_VALUES_AT_ONCE = 1_000_000


def mean_ci_bootstrap(values: np.ndarray | list[float], resamples: int = 4999) -> tuple[float, float, float, int]:
    """Mean of the finite values with a 95% percentile-bootstrap interval, and how many values were finite.

    For quantities that cannot be negative and are skewed (crisis days: most runs have none), where
    a Student-t interval would reach below 0: the percentile interval stays within what the data can
    give. Resampled with a fixed seed, so the same data give the same interval.
    """
    x, few = _finite(values)
    if few is not None:
        return few
    m, n = float(x.mean()), len(x)
    if np.all(x == x[0]):
        return m, m, m, n
    from scipy import stats

    ci = stats.bootstrap(
        (x,),
        np.mean,
        method="percentile",
        n_resamples=resamples,
        rng=np.random.default_rng(0),
        batch=max(1, BOOTSTRAP_VALUES_AT_ONCE // n),  # the same resamples in batches: memory bounded, not O(4999 n)
    ).confidence_interval
    return m, float(ci.low), float(ci.high), n


def mean_ci(values: np.ndarray | list[float]) -> tuple[float, float, float, int]:
    """Mean of the finite values with a Student-t 95% interval, and how many values were finite."""
    x, few = _finite(values)
    if few is not None:
        return few
    m, n = float(x.mean()), len(x)
    from scipy import stats  # here, not at import: workers that only simulate never load scipy.stats

    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n
