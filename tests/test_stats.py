"""The interval estimates (sim/analysis/stats.py) against hand-computed values, at the edges as well as inside.

z = 1.959963984540054, z^2 = 3.841458820694124. The Wilson bounds at the ends reduce to closed forms:
with no success the upper bound is z^2 / (n + z^2); with every trial a success the lower bound is n / (n + z^2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.stats import Z95, mean_ci, mean_ci_bootstrap, wilson

Z2 = 3.841458820694124


def test_z95_is_the_normal_975_quantile():
    assert Z95 * Z95 == pytest.approx(Z2, rel=1e-12)


def test_wilson_with_no_trials_is_undefined():
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_wilson_with_no_success_starts_at_zero():
    """Exactly 0, also where centre - half leaves a rounding residue (5.6e-17 at n = 3)."""
    assert wilson(0, 3)[:2] == (0.0, 0.0)
    p, lo, hi = wilson(0, 10)
    assert (p, lo) == (0.0, 0.0)
    assert hi == pytest.approx(Z2 / (10 + Z2), rel=1e-12)  # 0.277533
    assert hi == pytest.approx(0.277533, abs=1e-6)


def test_wilson_with_every_trial_a_success_ends_at_one():
    """The upper bound is exactly 1 (not 1 + rounding, and not 2); the lower is n / (n + z^2) = 0.722467."""
    p, lo, hi = wilson(10, 10)
    assert (p, hi) == (1.0, 1.0)
    assert lo == pytest.approx(10 / (10 + Z2), rel=1e-12)
    assert lo == pytest.approx(0.722467, abs=1e-6)


def test_wilson_on_a_single_trial():
    """N = 1 is a proportion like any other (only n = 0 is undefined): 1 of 1 gives [1/(1 + z^2), 1]."""
    assert wilson(1, 1) == (1.0, pytest.approx(1 / (1 + Z2), rel=1e-12), 1.0)
    assert wilson(0, 1) == (0.0, 0.0, pytest.approx(Z2 / (1 + Z2), rel=1e-12))


def test_wilson_with_another_z():
    """3 of 20 with z = 1: centre (0.15 + 1/40) / 1.05 = 0.1666667, half sqrt(0.15 * 0.85 / 20 + 1/1600) / 1.05
    = sqrt(0.007) / 1.05 = 0.0796819.
    """
    p, lo, hi = wilson(3, 20, z=1.0)
    assert p == 0.15
    assert lo == pytest.approx(0.175 / 1.05 - math.sqrt(0.007) / 1.05, rel=1e-12)
    assert hi == pytest.approx(0.175 / 1.05 + math.sqrt(0.007) / 1.05, rel=1e-12)
    assert (round(lo, 6), round(hi, 6)) == (0.086985, 0.246349)


def test_wilson_is_symmetric_in_successes_and_failures():
    p, lo, hi = wilson(3, 20)
    q, qlo, qhi = wilson(17, 20)
    assert q == pytest.approx(1 - p) and qlo == pytest.approx(1 - hi) and qhi == pytest.approx(1 - lo)


@pytest.mark.parametrize("estimate", [mean_ci, mean_ci_bootstrap])
def test_no_finite_value_gives_nan_and_a_count_of_zero(estimate):
    m, lo, hi, n = estimate([math.nan, math.inf, -math.inf])
    assert n == 0 and math.isnan(m) and math.isnan(lo) and math.isnan(hi)
    m, lo, hi, n = estimate([])
    assert n == 0 and math.isnan(m) and math.isnan(lo) and math.isnan(hi)


@pytest.mark.parametrize("estimate", [mean_ci, mean_ci_bootstrap])
def test_missing_values_given_as_none_are_skipped(estimate):
    m, lo, hi, n = estimate([None, 4.0, None])
    assert (m, n) == (4.0, 1) and math.isnan(lo)


@pytest.mark.parametrize("estimate", [mean_ci, mean_ci_bootstrap])
def test_one_finite_value_is_the_mean_without_an_interval(estimate):
    m, lo, hi, n = estimate([math.nan, 4.0, math.inf])
    assert (m, n) == (4.0, 1) and math.isnan(lo) and math.isnan(hi)


def test_two_values_give_the_t_interval_with_one_degree_of_freedom():
    """[1, 3]: mean 2, s = sqrt(2), half-width t(0.975, 1) * sqrt(2) / sqrt(2) = 12.7062047."""
    m, lo, hi, n = mean_ci([1.0, 3.0, math.nan])
    assert (m, n) == (2.0, 2)
    assert lo == pytest.approx(2 - 12.7062047, rel=1e-8) and hi == pytest.approx(2 + 12.7062047, rel=1e-8)


def test_constant_data_have_a_zero_width_interval(monkeypatch):
    """All-zero crisis days occur in real runs: the bootstrap returns the value itself without resampling."""

    def no_resampling(*args, **kwargs):
        raise AssertionError("constant data were resampled")

    monkeypatch.setattr(np.random, "default_rng", no_resampling)
    assert mean_ci_bootstrap([0.0] * 7) == (0.0, 0.0, 0.0, 7)
    assert mean_ci_bootstrap([2.5, 2.5, math.nan]) == (2.5, 2.5, 2.5, 2)
    assert mean_ci([2.5, 2.5, 2.5]) == (2.5, 2.5, 2.5, 3)


def test_the_bootstrap_is_scipys_percentile_interval_with_4999_resamples_and_seed_0():
    """The documented method, resample count and seed, against scipy called directly (not by hand: the resamples
    are random), on 30 skewed values where a change of any of the three moves the bounds in the 4th decimal.
    """
    from scipy import stats

    x = np.round(np.random.default_rng(5).exponential(2, 30), 3)  # mean 1.5853667

    def scipy_ci(resamples=4999, seed=0, method="percentile"):
        ci = stats.bootstrap((x,), np.mean, method=method, n_resamples=resamples, rng=np.random.default_rng(seed))
        return float(ci.confidence_interval.low), float(ci.confidence_interval.high)

    m, lo, hi, n = mean_ci_bootstrap(list(x) + [math.nan])
    assert (m, n) == (pytest.approx(1.5853667, abs=1e-7), 30)
    assert (lo, hi) == scipy_ci()
    assert (round(lo, 5), round(hi, 5)) == (1.1243, 2.07512)
    for other in (scipy_ci(resamples=4998), scipy_ci(seed=1), scipy_ci(method="basic")):
        assert other != (lo, hi)  # so the comparison above can fail
    assert mean_ci_bootstrap(x, resamples=4998)[1:3] == scipy_ci(resamples=4998)


def test_the_bootstrap_gives_scipys_interval_to_the_last_bit_in_batches_and_at_the_edges():
    """mean_ci_bootstrap is scipy.stats.bootstrap's percentile method written out in numpy (importing scipy.stats
    costs a run 0.4 s): on 120 samples (skewed, rare counts, 2 to 4 values, and sizes whose resamples come in
    several batches) the bounds are equal as floats, not approximately; and the t and chi-squared quantiles are
    scipy.stats.t.ppf's and chi2.ppf's own.
    """
    from scipy import stats

    from sim.analysis.stats import BOOTSTRAP_VALUES_AT_ONCE, chi2_quantile, t_quantile

    rng = np.random.default_rng(7)
    samples = [rng.exponential(2.0, int(rng.integers(5, 400))) for _ in range(40)]
    samples += [np.concatenate([rng.poisson(0.05, int(rng.integers(1500, 4000))), [1.0]]) for _ in range(30)]
    samples += [rng.exponential(1.0, int(rng.integers(2, 5))) for _ in range(30)]
    samples += [rng.poisson(rng.uniform(0.1, 30), int(rng.integers(2, 2500))).astype(float) for _ in range(19)]
    batched = 0
    for x in samples:
        if np.all(x == x[0]):
            continue
        batch = max(1, BOOTSTRAP_VALUES_AT_ONCE // len(x))
        batched += batch < 4999
        ci = stats.bootstrap(
            (x,), np.mean, method="percentile", n_resamples=4999, rng=np.random.default_rng(0), batch=batch
        ).confidence_interval
        assert mean_ci_bootstrap(x)[1:3] == (float(ci.low), float(ci.high)), len(x)
    assert batched >= 30  # the batched path was compared, not only the one-batch one
    for df in (1, 2, 7, 99, 999, 10**5):
        assert t_quantile(0.975, df) == float(stats.t.ppf(0.975, df))
    for df in (2, 4, 10, 200, 2002, 20000):
        assert chi2_quantile(0.025, df) == float(stats.chi2.ppf(0.025, df))
        assert chi2_quantile(0.975, df) == float(stats.chi2.ppf(0.975, df))


def test_a_run_summary_does_not_import_scipy_stats():
    """A run's summary (Wilson, t, Poisson and bootstrap intervals, the Kaplan-Meier median of the crises that came
    back) leaves scipy.stats unimported: 0.4 s of CPU a run (issue 29).
    """
    import subprocess
    import sys

    code = """
import sys
import pandas as pd
from sim.run.runner import SUMMARY_COLUMNS, summarise
rows = {c: [0, 1, 0, 2] for c in SUMMARY_COLUMNS}
rows.update(peak_rung=[1, 3, 2, 3], crisis_days=[0.0, 0.5, 0.0, 1.0])
nan = float("nan")
rows.update(days_back_to_vigilance=[nan, 1.5, nan, nan], days_back_censored=[nan, nan, 10.0, 30.0])
summary = summarise(pd.DataFrame(rows), "baltic_air_policing", 0, [])
print("scipy.stats" in sys.modules, summary["outcomes"]["days_back_to_vigilance"]["back_within_horizon"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "1"], out  # one crisis came back: the Kaplan-Meier median was computed


def test_the_bootstrap_resamples_in_batches():
    """2,000 values: all 4,999 resamples at once are 10^7 indices and 10^7 values (160 MB); in batches of
    BOOTSTRAP_VALUES_AT_ONCE // n = 500 resamples, 16 MB. The peak allocation stays under 60 MB.
    """
    import tracemalloc

    from sim.analysis.stats import BOOTSTRAP_VALUES_AT_ONCE

    assert BOOTSTRAP_VALUES_AT_ONCE == 1_000_000
    x = np.random.default_rng(1).exponential(1.0, 2000)
    mean_ci_bootstrap(x[:50])  # imports and first-call caches outside the measurement
    tracemalloc.start()
    mean_ci_bootstrap(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 60e6, f"{peak / 1e6:.0f} MB"


def test_columns_bootstrapped_together_give_each_columns_own_interval():
    """mean_ci_bootstraps draws the resamples once for the columns of the same length: each interval is the one
    mean_ci_bootstrap gives the column alone, to the last bit (lengths that differ by NaNs, constant columns, one
    value, none, and 3,000 values whose resamples come in two batches).
    """
    from sim.analysis.stats import mean_ci_bootstraps

    rng = np.random.default_rng(11)
    columns = [
        rng.poisson(2.0, 300).astype(float),
        rng.exponential(1.0, 300),
        np.where(rng.uniform(size=300) < 0.1, math.nan, rng.poisson(0.3, 300)),  # fewer finite values
        np.zeros(300),
        [4.0],
        [math.nan, math.nan],
        rng.poisson(0.05, 3000).astype(float),
        rng.poisson(7.0, 3000).astype(float),
    ]
    together = mean_ci_bootstraps(columns)
    alone = [mean_ci_bootstrap(c) for c in columns]
    assert len(together) == len(alone) == 8
    for a, b in zip(together, alone, strict=True):
        assert np.array_equal(np.array(a, float), np.array(b, float), equal_nan=True), (a, b)
    assert together[0][1] < together[0][0] < together[0][2]  # an interval, not a point
