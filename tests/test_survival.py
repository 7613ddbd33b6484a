"""Time to escalation: each statistic against a hand-computed case, and on real runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.survival import (
    Durations,
    back_to_vigilance_table,
    hazard,
    kaplan_meier,
    median_time,
    survival_table,
    time_back_to_vigilance,
    time_to_rung,
)

# Six replications: events at 1, 2, 2, 3 and 5 days; one censored at 4 (watched 4 days, no event).
HAND = Durations(np.array([1, 2, 2, 3, 4, 5.0]), np.array([1, 1, 1, 1, 0, 1], bool))


def test_kaplan_meier_on_a_hand_computed_case():
    """S(1) = 5/6; S(2) = 5/6 * 3/5 = 1/2; S(3) = 1/2 * 2/3 = 1/3; the censored 4 leaves one at risk; S(5) = 0."""
    c = kaplan_meier(HAND)
    assert c.at(0.5) == 1.0
    assert c.at(1) == pytest.approx(5 / 6)
    assert c.at(2.5) == pytest.approx(0.5)
    assert c.at(3) == pytest.approx(1 / 3)
    assert c.at(4.5) == pytest.approx(1 / 3)
    assert c.at(5) == 0.0
    # Greenwood's variance at t=1 is 1/(6*5); the log-log interval is S^exp(+-1.96 sqrt(V)/|log S|)
    se = math.sqrt(1 / 30) / abs(math.log(5 / 6))
    assert c.low[0] == pytest.approx((5 / 6) ** math.exp(1.959964 * se), rel=1e-4)
    assert c.high[0] == pytest.approx((5 / 6) ** math.exp(-1.959964 * se), rel=1e-4)


def test_censored_median_and_hazard_on_the_hand_case():
    m, lo, hi = median_time(HAND)
    assert m == 2.0  # the first time S falls to 1/2
    assert lo == 1.0  # where the lower band first falls to 1/2
    # the upper band stays above 1/2 until day 5, where the curve falls to 0 (the last one at risk had its event):
    # the bound closes there, not "beyond the horizon" (nothing was watched for longer)
    assert hi == 5.0
    # 5 events in 1+2+2+3+4+5 = 17 days watched; exact Poisson bounds chi2(0.025, 10)/2 and chi2(0.975, 12)/2
    h, hlo, hhi = hazard(HAND, 1.0)
    assert h == pytest.approx(5 / 17)
    assert hlo == pytest.approx(1.623486 / 17, rel=1e-5)
    assert hhi == pytest.approx(11.668332 / 17, rel=1e-5)


def test_censoring_at_the_horizon_from_outcome_columns():
    df = pd.DataFrame(
        {
            "days_to_rung_4": [3.0, np.nan, 10.0, np.nan],
            "horizon_days": [30.0] * 4,
            "peak_rung": [4, 2, 4, 1],
            "days_back_to_vigilance": [2.0, np.nan, np.nan, np.nan],
            "days_back_censored": [np.nan, 25.0, 20.0, np.nan],
        }
    )
    d = time_to_rung(df, 4)
    assert d.times.tolist() == [3.0, 30.0, 10.0, 30.0] and d.observed.tolist() == [True, False, True, False]
    back = time_back_to_vigilance(df)  # three crises: one back after 2 days, two open at the horizon
    assert back.times.tolist() == [2.0, 25.0, 20.0] and back.events == 1
    table = back_to_vigilance_table(df.assign(config="a"), "config")
    assert table.loc[0, "crises"] == 3 and table.loc[0, "back_within_horizon"] == 1
    assert math.isnan(table.loc[0, "median_days_back"])  # S never falls to 1/2: longer than the horizon
    assert table.loc[0, "mean_of_those_back_only"] == 2.0  # the biased figure it replaces


def test_the_naive_mean_is_biased_short_and_the_median_is_not():
    """Exponential times to return (mean 20 days, median 20 ln 2) watched for 30 days: the mean of the
    returns within the horizon is about 11 days; the censored median recovers 13.9 within 10%.
    """
    rng = np.random.default_rng(4)
    t = rng.exponential(20, 4000)
    observed = t <= 30
    d = Durations(np.minimum(t, 30), observed)
    assert t[observed].mean() < 12
    assert median_time(d)[0] == pytest.approx(20 * math.log(2), rel=0.1)


def test_survival_on_real_runs(scenarios, params):
    """On real runs the Kaplan-Meier end point equals the share that reached the rung (no censoring before
    the horizon), and a lower command cut to escalate gives a higher hazard of rung 3 (common random numbers).
    """
    from conftest import PRE_CALIBRATION

    from sim.calibration import with_values

    # in the hand-set model: the calibrated thresholds let (almost) nothing escalate, so this
    # decision mechanism would have nothing to act on
    params = with_values(params, PRE_CALIBRATION)
    from conftest import run, settings, with_params

    base = run(scenarios["baltic_air_policing"], params, settings(), n=150).outcomes()
    hot = run(
        scenarios["baltic_air_policing"], with_params(params, cut_escalate=params.cut_escalate - 1.5), settings(), n=150
    )
    hot = hot.outcomes()
    table = survival_table(pd.concat([base.assign(config="base"), hot.assign(config="hot")]), "config", (3, 4))
    for (config, df), rung in [((c, d), r) for c, d in (("base", base), ("hot", hot)) for r in (3, 4)]:
        row = table[(table.config == config) & (table.rung == rung)].iloc[0]
        assert row["p_reached_by_horizon"] == pytest.approx((df["peak_rung"] >= rung).mean())
        assert row["events"] == (df["peak_rung"] >= rung).sum()
    h = table.set_index(["config", "rung"])["hazard_per_month"]
    assert h["hot", 3] > h["base", 3]
