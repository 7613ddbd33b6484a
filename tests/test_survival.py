"""Time to escalation: each statistic against a hand-computed case, and on real runs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from sim.analysis.survival import (
    DAYS_PER_MONTH,
    Durations,
    back_to_vigilance_lines,
    back_to_vigilance_table,
    days_text,
    flat,
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

    from sim.calibration.targets import with_values

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


def test_a_curve_with_one_event():
    """Two replications, an event at 5 days and one watched to 8 without: S = 1/2 from day 5 on. Greenwood's
    variance 1/(2*1) = 1/2; log-log bounds (1/2)^exp(+-1.96 sqrt(1/2) / ln 2) = 0.005983 and 0.910410.
    """
    d = Durations(np.array([5.0, 8.0]), np.array([True, False]))
    c = kaplan_meier(d)
    assert (c.n, c.events) == (2, 1)
    assert c.at(4.9) == 1.0 and c.at(5) == 0.5 and c.at(100) == 0.5
    se = math.sqrt(0.5) / math.log(2)
    assert c.low[0] == pytest.approx(0.5 ** math.exp(1.959964 * se), rel=1e-4)  # 0.005983
    assert c.high[0] == pytest.approx(0.5 ** math.exp(-1.959964 * se), rel=1e-4)  # 0.910410
    m, lo, hi = median_time(d)
    assert (m, lo) == (5.0, 5.0) and math.isnan(hi)


def test_a_single_replication_with_its_event_falls_to_zero_with_the_widest_band():
    """S = 0 after the event: every replication's event was observed, so the band closes at 0 there (issue 31:
    a censored median consistent with what was observed), and the median's interval is [5, 5].
    """
    c = kaplan_meier(Durations(np.array([5.0]), np.array([True])))
    assert c.survival.tolist() == [0.0] and c.low.tolist() == [0.0] and c.high.tolist() == [0.0]
    m, lo, hi = median_time(Durations(np.array([5.0]), np.array([True])))
    assert (m, lo, hi) == (5.0, 5.0, 5.0)


def test_no_event_gives_an_empty_curve_that_stays_at_one():
    d = Durations(np.array([10.0, 20.0]), np.array([False, False]))
    c = kaplan_meier(d)
    assert (c.n, c.events, len(c.times)) == (2, 0, 0)
    assert c.at(0) == 1.0 and c.at(1e9) == 1.0
    assert all(math.isnan(v) for v in median_time(d))


def test_hazard_bounds_with_no_event_and_with_one():
    """30 days watched. No event: 0, [0, chi2(0.975, 2)/2 / 30] = [0, 3.688879 / 30] (the 'rule of three').
    One event: 1/30, [chi2(0.025, 2)/2, chi2(0.975, 4)/2] / 30 = [0.0253178, 5.5716434] / 30.
    """
    assert hazard(Durations(np.array([10.0, 20.0]), np.array([False, False])), 1.0) == (
        0.0,
        0.0,
        pytest.approx(3.6888795 / 30, rel=1e-7),
    )
    h, lo, hi = hazard(Durations(np.array([10.0, 20.0]), np.array([True, False])), 1.0)
    assert h == pytest.approx(1 / 30) and lo == pytest.approx(0.0253178 / 30, rel=1e-5)
    assert hi == pytest.approx(5.5716434 / 30, rel=1e-7)
    # per 10 days: the same counts over 3 periods of exposure
    assert hazard(Durations(np.array([10.0, 20.0]), np.array([True, False])), 10.0)[0] == pytest.approx(1 / 3)


def test_hazard_without_exposure_is_undefined():
    h = hazard(Durations(np.array([0.0, 0.0]), np.array([False, False])), 1.0)
    assert all(math.isnan(v) for v in h)


def test_a_month_is_a_twelfth_of_a_julian_year():
    assert DAYS_PER_MONTH == 30.4375


def test_survival_table_on_a_hand_case():
    """Config "a", four replications watched 30 days: rung 3 reached at days 3 and 10, rung 4 at day 10.
    Rung 3: 2 events in 3 + 10 + 30 + 30 = 73 days, 2 * 30.4375 / 73 = 0.833904 a month, 2 * 365.25 / 73
    = 10.006849 a year; S(3) = 3/4, S(10) = 1/2, so the median is 10 days and P(reached) = 1/2.
    Rung 4: 1 event in 100 days, 0.304375 a month; S(10) = 3/4: P(reached) 1/4, median beyond the horizon.
    Rung 5: no event in 120 days, P 0, upper hazard bound 3.688879 * 30.4375 / 120 = 0.935669 a month.
    Config "b" (listed first, kept first): horizons 30 and 40, rung 3 reached at day 35 in the longer run, the
    other censored at 30: S(35) = 0, and P(reached by the horizon) is read at the longest horizon: 1 (at 30: 0).
    """
    nan = np.nan
    df = pd.DataFrame(
        {
            "config": ["b", "b", "a", "a", "a", "a"],
            "horizon_days": [30.0, 40.0, 30.0, 30.0, 30.0, 30.0],
            "days_to_rung_3": [nan, 35.0, 3.0, 10.0, nan, nan],
            "days_to_rung_4": [nan, nan, 10.0, nan, nan, nan],
            "days_to_rung_5": [nan] * 6,
        }
    )
    t = survival_table(df, "config")
    assert t["config"].tolist() == ["b"] * 3 + ["a"] * 3 and t["rung"].tolist() == [3, 4, 5] * 2
    a = t[t.config == "a"].set_index("rung")
    assert a["n"].tolist() == [4, 4, 4] and a["events"].tolist() == [2, 1, 0]
    assert a["p_reached_by_horizon"].tolist() == [0.5, 0.25, 0.0]
    assert a.loc[3, "hazard_per_month"] == pytest.approx(0.833904, abs=1e-6)
    assert a.loc[3, "hazard_per_year"] == pytest.approx(10.006849, abs=1e-6)
    assert a.loc[4, "hazard_per_month"] == pytest.approx(0.304375, rel=1e-12)
    assert a.loc[5, "hazard_per_month"] == 0.0
    assert a.loc[5, "hazard_per_month_ci95"] == [0.0, pytest.approx(0.935669, abs=1e-6)]
    assert a.loc[5, "hazard_per_year_ci95"] == [0.0, pytest.approx(3.6888795 * 365.25 / 120, rel=1e-7)]
    assert a.loc[3, "median_days"] == 10.0 and a.loc[3, "median_days_ci95"][0] == 3.0
    assert math.isnan(a.loc[4, "median_days"]) and math.isnan(a.loc[5, "median_days"])
    b = t[t.config == "b"].set_index("rung")
    assert b.loc[3, "p_reached_by_horizon"] == 1.0 and b.loc[3, "events"] == 1
    assert b.loc[3, "hazard_per_month"] == pytest.approx(30.4375 / 65)  # watched 30 + 35 days
    flat_a = flat(t[t.config == "a"]).set_index("rung")  # a slice: its index is 3, 4, 5
    assert "median_days_ci95" not in flat_a.columns
    assert flat_a.loc[5, "hazard_per_month_hi"] == pytest.approx(0.935669, abs=1e-6)
    assert flat_a.loc[3, "median_days_lo"] == 3.0 and math.isnan(flat_a.loc[3, "median_days_hi"])


def test_the_rungs_asked_for():
    df = pd.DataFrame({"c": ["x"], "horizon_days": [10.0], "days_to_rung_2": [4.0]})
    t = survival_table(df, "c", rungs=(2,))
    assert t[["rung", "events", "p_reached_by_horizon", "median_days"]].values.tolist() == [[2, 1, 1.0, 4.0]]


def test_back_to_vigilance_counts_only_crises():
    """Peak rung 2 or more is a crisis; a peak of 1 with a time back (none should exist) is left out. Back after
    4 and 6 days, one open at 9: S(4) = 2/3, S(6) = 1/3: the median is 6; the naive mean (4 + 6) / 2 = 5.
    """
    df = pd.DataFrame(
        {
            "peak_rung": [2, 3, 2, 1, 0],
            "days_back_to_vigilance": [4.0, 6.0, np.nan, 1.0, np.nan],
            "days_back_censored": [np.nan, np.nan, 9.0, np.nan, 5.0],
        }
    )
    d = time_back_to_vigilance(df)
    assert d.times.tolist() == [4.0, 6.0, 9.0] and d.observed.tolist() == [True, True, False]
    row = back_to_vigilance_table(df.assign(c="x"), "c").iloc[0]
    assert (row["crises"], row["back_within_horizon"], row["median_days_back"]) == (3, 2, 6.0)
    assert row["mean_of_those_back_only"] == 5.0 and row["median_days_back_ci95"][0] == 4.0
    with warnings.catch_warnings():  # no mean of an empty slice
        warnings.simplefilter("error")
        none_back = back_to_vigilance_table(df.assign(c="x").iloc[2:3], "c").iloc[0]
    assert (none_back["crises"], none_back["back_within_horizon"]) == (1, 0)
    assert math.isnan(none_back["median_days_back"]) and math.isnan(none_back["mean_of_those_back_only"])
    assert all(math.isnan(v) for v in none_back["median_days_back_ci95"])


def test_back_to_vigilance_lines_print_the_table():
    """Rows keep the order in which the configurations first appear ("y" before "x"), not sorted."""
    df = pd.DataFrame(
        {
            "peak_rung": [2, 3, 2],
            "days_back_to_vigilance": [4.0, 6.0, np.nan],
            "days_back_censored": [np.nan, np.nan, 9.0],
            "c": ["y", "y", "x"],
        }
    )
    lines = back_to_vigilance_lines(back_to_vigilance_table(df, "c"), "c", "config")
    assert lines[0] == (
        "**Back to vigilance** after a crisis (peak rung ≥ 2): the censored median in days, crises still open at "
        "the horizon counted as censored (the mean of those that came back, shown for contrast, is biased short)."
    )
    assert lines[1] == ""
    head = "| config | crises | back within the horizon | median days back [95% CI] | mean of those back only |"
    assert lines[2] == head
    assert lines[3] == "|---|---|---|---|---|"
    assert lines[4] == "| y | 2 | 2 | 4.0 [4.0, 6.0] | 5.0 |"  # both came back: the bound closes at the last
    assert lines[5] == "| x | 1 | 0 | beyond the horizon [beyond the horizon, beyond the horizon] | n/a |"
    assert len(lines) == 6
    assert days_text(12.345) == "12.3" and days_text(math.nan) == "beyond the horizon"


def test_kaplan_meier_is_scipys_ecdf_to_the_last_bit():
    """kaplan_meier is scipy.stats.ecdf on CensoredData with its log-log band, written out in numpy (importing
    scipy.stats costs a run 0.4 s): on 200 random samples (ties from rounding, 1 to 2,000 values, a quarter of
    them with nothing censored, which scipy computes by another path) every time, estimate and bound is equal
    as a float, not approximately.
    """
    from scipy import stats

    rng = np.random.default_rng(3)
    uncensored = 0
    for trial in range(200):
        n = int(rng.integers(1, 2000))
        times = np.round(rng.exponential(rng.uniform(0.5, 20), n), int(rng.integers(0, 3)))
        observed = rng.uniform(size=n) < (rng.uniform(0, 1) if trial % 4 else 1.0)
        observed[0] = True
        uncensored += bool(observed.all())
        sf = stats.ecdf(stats.CensoredData(uncensored=times[observed], right=times[~observed])).sf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = sf.confidence_interval(0.95, method="log-log")
        low, high = np.nan_to_num(ci.low.probabilities, nan=0.0), np.nan_to_num(ci.high.probabilities, nan=1.0)
        high = np.where(sf.probabilities == 0, 0.0, high)
        c = kaplan_meier(Durations(times, observed))
        theirs = (sf.quantiles, sf.probabilities, low, high)
        for ours, scipys in zip((c.times, c.survival, c.low, c.high), theirs, strict=True):
            assert np.array_equal(ours, scipys), trial
    assert uncensored >= 40
