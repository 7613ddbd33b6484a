"""Intervals that never claim more than the data: each on a hand-computed case, and as the reader sees it.

Paired differences of proportions (Newcombe's hybrid score interval for paired data) do not collapse to
[0, 0] when neither arm has an event; counts never reach below zero; a censored median is never "beyond
the horizon" when every crisis ended within it; compare, the card and the forest plot say when an effect
cannot be estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.stats import count_mean_ci, paired_proportion_difference, wilson
from sim.survival import Durations, median_time

Z2 = 1.959963984540054**2


def table(both: int, x_only: int, y_only: int, neither: int) -> tuple[list[int], list[int]]:
    """Paired 0/1 outcomes with the given cells of the 2x2 table."""
    x = [1] * both + [1] * x_only + [0] * y_only + [0] * neither
    y = [1] * both + [0] * x_only + [1] * y_only + [0] * neither
    return x, y


def test_no_event_in_either_arm_gives_each_arms_wilson_upper_bound_not_zero():
    """0 of 100 in both arms: the Wilson upper bound of each is z^2 / (n + z^2) = 3.8415 / 103.8415 = 0.036994;
    phi is 0 (a zero margin), so the interval is exactly +-0.036994 (a t interval on the differences: [0, 0]).
    """
    d, lo, hi = paired_proportion_difference(*table(0, 0, 0, 100))
    assert d == 0.0
    assert hi == pytest.approx(Z2 / (100 + Z2), abs=1e-9) == pytest.approx(0.036994, abs=1e-6)
    assert lo == pytest.approx(-hi, abs=1e-12)


def test_newcombe_paired_interval_on_hand_computed_tables():
    """Cells (both, x only, y only, neither) = (59, 6, 16, 80), n = 161 (Fagerland, Lydersen & Laake's paired
    example): D = -10/161 = -0.0621. Wilson: 65/161 in [0.3300, 0.4814], 75/161 in [0.3910, 0.5418];
    phi = (59*80 - 6*16 - 161/2) / sqrt(65*96*75*86) = 0.07149... -> [-0.1186, -0.0046].
    Identical arms with events (5, 0, 0, 95): Wilson 5/100 in [0.02154, 0.11175], phi = (475 - 50) / 475 =
    0.8947, so each side is sqrt(0.02846^2 - 2 * 0.8947 * 0.02846 * 0.06175 + 0.06175^2) = 0.03845: the
    interval keeps each arm's width where a t interval on all-zero differences is [0, 0].
    """
    d, lo, hi = paired_proportion_difference(*table(59, 6, 16, 80))
    assert d == pytest.approx(-10 / 161)
    assert (lo, hi) == pytest.approx((-0.11862, -0.00463), abs=5e-5)
    d, lo, hi = paired_proportion_difference(*table(5, 0, 0, 95))
    assert d == 0.0 and (lo, hi) == pytest.approx((-0.03845, 0.03845), abs=5e-5)


def test_count_intervals_never_go_below_zero():
    """All zero in 100: [0, -ln(0.025)/100 = 0.036889] (exact Poisson); 1 in 10 with counts of 0 and 1 (the
    case that read "0.10 [-0.04, 0.24]" with a t interval): from 0, never below.
    """
    m, lo, hi, n = count_mean_ci([0] * 100)
    assert (m, lo, n) == (0.0, 0.0, 100) and hi == pytest.approx(-np.log(0.025) / 100, rel=1e-6)
    m, lo, hi, _ = count_mean_ci([1] + [0] * 9)
    assert m == pytest.approx(0.1) and lo >= 0.0 and hi >= 0.5  # exact Poisson upper for 1 in 10: 0.557
    m, lo, hi, _ = count_mean_ci([0] * 90 + [40] * 10)  # over-dispersed: the bootstrap is the wider one
    assert lo >= 0 and hi > 4 + 1.96 * 0.2  # wider than the Poisson interval around 4 (sd 0.2)


def test_runner_summary_counts_are_never_below_zero():
    from sim.runner import SUMMARY_COLUMNS, summarise

    df = pd.DataFrame({c: [0.0] * 10 for c in SUMMARY_COLUMNS})
    df["incidents_high_risk"] = [1.0] + [0.0] * 9
    df["days_back_to_vigilance"] = np.nan
    df["days_back_censored"] = np.nan
    o = summarise(df, "s", 0, [])["outcomes"]
    lo, hi = o["incidents_high_risk"]["ci95"]
    assert lo >= 0.0 and hi == pytest.approx(5.5716 / 10, rel=1e-4)  # Garwood's upper for 1 event
    assert o["incidents_serious"]["ci95"] == [0.0, pytest.approx(0.36889, rel=1e-4)]


def test_a_censored_median_is_not_beyond_the_horizon_when_every_crisis_ended_within_it():
    """Three crises, all back after 1.5 days: the median is 1.5 [1.5, 1.5], not 1.5 [1.5, beyond the horizon]."""
    assert median_time(Durations(np.array([1.5, 1.5, 1.5]), np.ones(3, bool))) == (1.5, 1.5, 1.5)
    # with one still open at the horizon (censored at 30 days) the upper bound stays open
    m, lo, hi = median_time(Durations(np.array([1.5, 1.5, 30.0]), np.array([1, 1, 0], bool)))
    assert m == 1.5 and np.isnan(hi)


def _sweep(tmp_path, jobs: dict[str, dict[str, list[int]]]):
    """A finished sweep written by hand: one job folder per configuration with its replications.csv."""
    for k, (measures, cols) in enumerate(jobs.items()):
        job = tmp_path / "sweep" / str(k)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"measures={measures}"]))
        n = len(cols["peak_rung"])
        df = pd.DataFrame(
            {
                "replication": range(n),
                "peak_rung": cols["peak_rung"],
                "reached_rung_4": [int(p >= 4) for p in cols["peak_rung"]],
                "reached_rung_5": [int(p >= 5) for p in cols["peak_rung"]],
                "crisis_days": [0.0] * n,
            }
        )
        df.to_csv(job / "replications.csv", index=False)
        (job / "summary.json").write_text("{}")
    return tmp_path / "sweep"


def test_compare_says_when_an_effect_cannot_be_estimated_and_reads_backfire_against_the_desync_placebo(tmp_path):
    """100 pairs, no use of force in any: the hotline's effect is +0.0 [-3.7, +3.7] points with the sentence
    naming each arm's upper bound (3.7%); the desync placebo peaks higher in 10 pairs (10.0% [5.5%, 17.4%]),
    the hotline in 30 (30.0% [21.9%, 39.6%]): above the floor; 'zone' in 12: within it.
    """
    from sim.compare import compare

    base = [2] * 100
    sweep = _sweep(
        tmp_path,
        {
            "none": {"peak_rung": base},
            "desync_placebo": {"peak_rung": [3] * 10 + [2] * 90},
            "hotline": {"peak_rung": [3] * 30 + [2] * 70},
            "zone": {"peak_rung": [3] * 12 + [2] * 88},
        },
    )
    out = compare(sweep)
    text = (out / "comparison.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| measures=hotline | measures=none |"))
    assert "+0.0 pts [-3.7, +3.7]" in row and "30.0% [21.9%, 39.6%] | above the floor |" in row
    zone = next(line for line in text.splitlines() if line.startswith("| measures=zone | measures=none |"))
    assert "| within the floor |" in zone
    assert "here 10.0% [5.5%, 17.4%]" in text
    assert (
        "Neither arm reached rung 4 (use of force) in any of 100 paired replications, so this effect cannot be "
        "estimated from them: P is below 3.7% with measures=hotline and below 3.7% with measures=none" in text
    )
    assert "[+0.0, +0.0]" not in text
    diffs = pd.read_csv(out / "paired_differences.csv")
    assert (diffs["diff_reached_rung_4_hi"] > 0.036).all() and (diffs["diff_reached_rung_4_lo"] < -0.036).all()


def test_the_forest_plot_does_not_zoom_in_on_nothing_and_labels_what_cannot_be_estimated():
    import matplotlib.pyplot as plt

    from sim.analysis import paired_differences
    from sim.report import figures

    none = pd.DataFrame({"replication": range(100), "peak_rung": 2, "reached_rung_4": 0, "reached_rung_5": 0})
    none["crisis_days"] = 0.0
    results = pd.concat([none.assign(config="none"), none.assign(config="hotline")])
    diffs = paired_differences(results, {"hotline": "none"})
    ax = figures.forest(diffs)
    left, right = ax.get_xlim()
    assert left <= -3.7 and right >= 3.7  # the whole interval, in points (the old axis was +-0.04)
    assert [t.get_text() for t in ax.texts] == [figures.NOT_ESTIMABLE]
    ax = figures.paired_effects(diffs)
    assert figures.NOT_ESTIMABLE in [t.get_text() for a in ax.figure.axes for t in a.texts]
    plt.close("all")


def test_the_card_keeps_each_arms_uncertainty_when_no_bundle_has_an_event():
    """Two settings x 50 replications, no use of force anywhere: the pooled effect's bootstrap is [0, 0], so
    the card widens it to Newcombe's on the 100 pooled pairs (+-z^2/(100+z^2) = 3.7 points) and says why.
    """
    from sim.card import BASELINE, PLACEBO, CardRun, card_tables, markdown

    rows = [
        {"replication": i, "peak_rung": 2, "reached_rung_4": 0, "reached_rung_5": 0, "crisis_days": 0.0}
        | {"bundle": b, "scenario": s, "era": "e"}
        for s in ("s1", "s2")
        for b in (BASELINE, PLACEBO, "hotline")
        for i in range(50)
    ]
    run = CardRun(pd.DataFrame(rows), [BASELINE, PLACEBO, "hotline"], [("s1", "e"), ("s2", "e")], "point", 50, 0)
    t = card_tables(run, resamples=100)
    eff = t["effects"].set_index("bundle")
    assert eff.loc["hotline", "effect P(rung ≥ 4) hi"] == pytest.approx(wilson(0, 100)[2])
    assert eff.loc["hotline", "effect P(rung ≥ 4) lo"] == pytest.approx(-wilson(0, 100)[2])
    text = markdown(run, t, "escalation card (hand)")
    assert "| hotline | +0.0 [-3.7, +3.7] pts |" in text
    assert "**hotline, P(rung ≥ 4): cannot be estimated.** Neither arm reached it in any of 100 paired" in text
