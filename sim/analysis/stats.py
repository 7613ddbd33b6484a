"""Interval estimates for the headline outcomes."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


# Resampled values held at once by the bootstrap: drawn at once, every resample would be one array of 4,999 x n
# (760 MB more at the end of a 10,000-replication run, 7.6 GB at 100,000). Batches give the same interval.
BOOTSTRAP_VALUES_AT_ONCE = 1_000_000


def mean_ci_bootstrap(values: np.ndarray | list[float], resamples: int = 4999) -> tuple[float, float, float, int]:
    """Mean of the finite values with a 95% percentile-bootstrap interval, and how many values were finite.

    For quantities that cannot be negative and are skewed (crisis days: most runs have none), where
    a Student-t interval would reach below 0: the percentile interval stays within what the data can
    give. Resampled with a fixed seed, so the same data give the same interval.

    The computation is scipy.stats.bootstrap's ``method="percentile"`` (scipy 1.18) step for step:
    ``rng.integers(0, n, (batch, n))`` resamples in batches, their means, and the 2.5% and 97.5%
    quantiles of those means by the linear (Hyndman-Fan 7) rule, so the interval is the same to the
    last bit (``tests/test_stats.py`` compares the two). Written out in numpy because importing
    scipy.stats costs a run about 0.4 s of CPU, a sixth of what a 1,000-replication run may spend
    outside simulating (issue 29).
    """
    return mean_ci_bootstraps([values], resamples)[0]


def mean_ci_bootstraps(
    columns: Sequence[np.ndarray | list[float]], resamples: int = 4999
) -> list[tuple[float, float, float, int]]:
    """``mean_ci_bootstrap`` of each column, the resamples of columns of the same length drawn once.

    Alone, each column would draw the very same indices (a generator seeded 0, the same batches), so
    every interval is the one ``mean_ci_bootstrap`` gives, to the last bit; drawing them once saves
    most of the cost, 4,999 x n draws a column (a run's summary bootstraps four or five columns: at
    10^5 replications about 2 s each).
    """
    out: list[tuple[float, float, float, int] | None] = [None] * len(columns)
    by_length: dict[int, list[tuple[int, np.ndarray]]] = {}
    for k, values in enumerate(columns):
        x, few = _finite(values)
        if few is not None:
            out[k] = few
        elif np.all(x == x[0]):
            m = float(x.mean())
            out[k] = (m, m, m, len(x))
        else:
            by_length.setdefault(len(x), []).append((k, x))
    alpha = (1 - 0.95) / 2  # as scipy writes it: 0.025000000000000022
    for n, members in by_length.items():
        rng = np.random.default_rng(0)
        batch = max(1, BOOTSTRAP_VALUES_AT_ONCE // n)  # the same resamples in batches: memory bounded, not O(4999 n)
        means: list[list[np.ndarray]] = [[] for _ in members]
        for start in range(0, resamples, batch):
            idx = rng.integers(0, n, (min(batch, resamples - start), n))
            for j, (_, x) in enumerate(members):
                means[j].append(x[idx].mean(axis=-1))
        for j, (k, x) in enumerate(members):
            lo, hi = _quantile_linear(np.sort(np.concatenate(means[j])), (alpha, 1 - alpha))
            out[k] = (float(x.mean()), lo, hi, n)
    return out  # type: ignore[return-value]


def _quantile_linear(y: np.ndarray, ps: tuple[float, ...]) -> list[float]:
    """Quantiles of sorted ``y`` by the linear rule, in the arithmetic of scipy.stats.quantile (method="linear")."""
    n = len(y)
    out = []
    for p in ps:
        jg = p * n + (1 - p)
        j = jg // 1 - 1
        g = 0.0 if j < 0 else jg % 1
        lo, hi = int(min(max(j, 0), n - 1)), int(min(max(j + 1, 0), n - 1))
        out.append(float((1 - g) * y[lo] + g * y[hi]))
    return out


def t_quantile(q: float, df: float) -> float:
    """The Student t distribution's ``q`` quantile: scipy.stats.t.ppf's own function, without importing scipy.stats."""
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


def chi2_quantile(q: float, df: float) -> float:
    """The chi-squared distribution's ``q`` quantile as scipy.stats.chi2.ppf computes it: ``2 gammaincinv(df/2, q)``."""
    from scipy.special import gammaincinv

    return float(2 * gammaincinv(df / 2, q))


def mean_ci(values: np.ndarray | list[float]) -> tuple[float, float, float, int]:
    """Mean of the finite values with a Student-t 95% interval, and how many values were finite."""
    x, few = _finite(values)
    if few is not None:
        return few
    m, n = float(x.mean()), len(x)
    half = float(t_quantile(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def paired_proportion_difference(
    x: np.ndarray | list[bool], y: np.ndarray | list[bool], z: float = Z95
) -> tuple[float, float, float]:
    """P(x) - P(y) for paired 0/1 outcomes, with Newcombe's hybrid score 95% interval for paired data.

    Newcombe (1998), *Statistics in Medicine* 17:2635, method 10: each arm's Wilson interval, combined
    with the correlation of the pairs (phi, with Newcombe's correction towards 0). Unlike a t interval
    on the paired differences, it does not collapse to [0, 0] when neither arm has an event: with no
    event in 100 pairs it is +-3.7 points, each arm's own Wilson upper bound. (statsmodels and scipy
    have the independent-samples version only.)
    """
    xa, ya = np.asarray(x, dtype=bool), np.asarray(y, dtype=bool)
    n = len(xa)
    if n == 0 or n != len(ya):
        return math.nan, math.nan, math.nan
    a = int((xa & ya).sum())  # both
    b = int((xa & ~ya).sum())  # x only
    c = int((~xa & ya).sum())  # y only
    return newcombe_paired(a, b, c, n - a - b - c, z)


def newcombe_paired(a: float, b: float, c: float, d: float, z: float = Z95) -> tuple[float, float, float]:
    """Newcombe's method 10 from the paired 2x2 table: ``a`` both, ``b`` x only, ``c`` y only, ``d`` neither.

    The cells may be effective (non-integer) counts, as a weighted pooling of several tables gives
    (``sim.studies.card``): Wilson's score interval and phi are defined for them as they are for counts.
    """
    n = a + b + c + d
    if not n > 0:
        return math.nan, math.nan, math.nan
    p1, l1, u1 = wilson(a + b, n, z)
    p2, l2, u2 = wilson(a + c, n, z)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if margins == 0:
        phi = 0.0
    else:
        phi = (max(cross - n / 2, 0.0) if cross > 0 else cross) / math.sqrt(margins)
    diff = p1 - p2
    down = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    up = math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return diff, max(-1.0, diff - down), min(1.0, diff + up)


def poisson_ci(total: int, exposure: float) -> tuple[float, float]:
    """Exact (Garwood) 95% interval of a Poisson rate: ``total`` events in ``exposure`` units; lower bound >= 0."""
    lo = chi2_quantile(0.025, 2 * total) / 2 if total > 0 else 0.0
    hi = chi2_quantile(0.975, 2 * (total + 1)) / 2
    return lo / exposure, hi / exposure


def count_mean_ci(
    values: np.ndarray | list[float], bootstrap: tuple[float, float, float, int] | None = None
) -> tuple[float, float, float, int]:
    """Mean count per replication with a 95% interval that never goes below zero, and the number of values.

    The rule: the envelope of the exact Poisson interval of the total (right when counts are rare, and
    not empty when every count is 0) and the percentile bootstrap of the mean (which allows for
    over-dispersion, counts that vary more than a Poisson's). Never a Student t: it reaches below 0.
    ``bootstrap``: the values' ``mean_ci_bootstrap``, where it was computed already (``mean_ci_bootstraps``).
    """
    x, few = _finite(values)
    if few is not None and len(x) == 0:
        return few
    n = len(x)
    m = float(x.mean())
    plo, phi = poisson_ci(int(round(x.sum())), n)
    if n == 1:
        return m, plo, phi, n
    _, blo, bhi, _ = bootstrap if bootstrap is not None else mean_ci_bootstrap(x)
    return m, max(0.0, min(plo, blo)), max(phi, bhi), n
