"""Intervals that never claim more than the data: each on a hand-computed case, and as the reader sees it.

Paired differences of proportions (Newcombe's hybrid score interval for paired data) do not collapse to
[0, 0] when neither arm has an event; counts never reach below zero; a censored median is never "beyond
the horizon" when every crisis ended within it; compare, the card and the forest plot say when an effect
cannot be estimated.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.stats import Z95, count_mean_ci, paired_proportion_difference, wilson
from sim.analysis.survival import Durations, median_time

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
    from sim.run.runner import SUMMARY_COLUMNS, summarise

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
    from sim.studies.compare import compare

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

    from sim.analysis.effects import paired_differences
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


def test_the_card_keeps_each_arms_uncertainty_when_no_bundle_has_an_event(quiet_card):
    """Two settings x 50 replications, no use of force anywhere: the pooled effect's bootstrap is [0, 0], so
    the card widens it to Newcombe's on the 100 pooled pairs (+-z^2/(100+z^2) = 3.7 points) and says why.
    """
    from sim.studies.card import card_tables, markdown

    run = quiet_card("hotline", 50)
    t = card_tables(run, resamples=100)
    eff = t["effects"].set_index("bundle")
    assert eff.loc["hotline", "effect P(rung ≥ 4) hi"] == pytest.approx(wilson(0, 100)[2])
    assert eff.loc["hotline", "effect P(rung ≥ 4) lo"] == pytest.approx(-wilson(0, 100)[2])
    text = markdown(run, t, "escalation card (hand)")
    assert "| hotline | +0.0 [-3.7, +3.7] pts |" in text
    assert "| no crisis in either arm |" in text and "+0.00 [+0.00, +0.00]" not in text  # crisis days: no estimate
    assert "**hotline, P(rung ≥ 4): cannot be estimated.** Neither arm reached it in any of 100 paired" in text


def _newcombe_oracle(a: int, b: int, c: int, d: int, z: float) -> tuple[float, float, float]:
    """Newcombe (1998) method 10 written out from the paper, with scipy's Wilson score intervals."""
    from scipy import stats

    n = a + b + c + d
    level = 2 * stats.norm.cdf(z) - 1

    def wilson_scipy(k: int) -> tuple[float, float, float]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
        return k / n, ci.low, ci.high

    p1, l1, u1 = wilson_scipy(a + b)
    p2, l2, u2 = wilson_scipy(a + c)
    denominator = math.sqrt((a + b) * (c + d) * (a + c) * (b + d))
    cross = a * d - b * c
    phi = 0.0 if denominator == 0 else (max(cross - n / 2, 0.0) if cross > 0 else cross) / denominator
    delta = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    epsilon = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return p1 - p2, p1 - p2 - delta, p1 - p2 + epsilon


@pytest.mark.parametrize(
    "cells, z",
    [
        ((2, 8, 1, 9), Z95),  # ad - bc = 10 = n/2: the correction takes phi to 0
        ((3, 1, 2, 14), Z95),  # ad - bc = 40, the correction n/2 = 10 matters
        ((1, 5, 4, 0), Z95),  # negative correlation, a zero cell
        ((1, 0, 0, 1), Z95),  # ad - bc = 1 = n/2: the corrected phi is 0, not 1/sqrt(1 * 1 * 1 * 1)
        ((6, 0, 3, 11), 1.6448536269514722),  # 90%: z is passed on to both Wilson intervals
    ],
)
def test_newcombe_paired_interval_matches_the_paper_written_out(cells, z):
    """Each cell enters where the paper says (both-arms events in both margins, phi's correction only for
    positive correlation); 0/1 outcomes given as floats, as outcome columns are, read the same as booleans.
    """
    a, b, c, d = cells
    expected = _newcombe_oracle(a, b, c, d, z)
    x, y = table(a, b, c, d)
    assert paired_proportion_difference(x, y, z) == pytest.approx(expected, abs=1e-9)
    as_floats = paired_proportion_difference(np.array(x, dtype=float), np.array(y, dtype=float), z)
    assert as_floats == pytest.approx(expected, abs=1e-9)


def test_newcombe_paired_interval_edges():
    """One pair with an event in x only: D = 1; x's Wilson interval for 1/1 is [1/(1+z^2), 1], y's for 0/1 is
    [0, z^2/(1+z^2)], phi = 0 (zero margins): [1 - sqrt(2) z^2/(1+z^2), 1]. Unequal lengths or no pairs: NaN.
    """
    d, lo, hi = paired_proportion_difference([1], [0])
    assert (d, hi) == (1.0, 1.0) and lo == pytest.approx(1 - math.sqrt(2) * Z2 / (1 + Z2), abs=1e-12)
    assert all(math.isnan(v) for v in paired_proportion_difference([1, 0], [1]))
    assert all(math.isnan(v) for v in paired_proportion_difference([], []))


def test_exact_poisson_interval_against_its_tabulated_values():
    """Garwood's exact 95% limits of a count k (tabulated, e.g. Ulm 1990): k = 0: [0, 3.688879]; k = 1:
    [0.0253178, 5.571643]; k = 3: [0.6186721, 8.767273]; a rate divides them by the exposure.
    """
    from sim.analysis.stats import poisson_ci

    assert poisson_ci(0, 1) == pytest.approx((0.0, 3.688879), abs=1e-6)
    assert poisson_ci(1, 1) == pytest.approx((0.0253178, 5.571643), abs=1e-6)
    assert poisson_ci(3, 2) == pytest.approx((0.6186721 / 2, 8.767273 / 2), abs=1e-6)


def test_count_interval_for_one_two_and_no_values():
    """One count is its exact Poisson interval (3: [0.6187, 8.7673]); two counts 0 and 40 take the envelope
    with the bootstrap of their mean, whose resamples are 0, 20 and 40: [0, 40] (the Poisson of 40 in 2
    alone is [14.3, 27.2]); no finite value is NaN with n = 0.
    """
    assert count_mean_ci([3.0]) == pytest.approx((3.0, 0.6186721, 8.767273, 1), abs=1e-6)
    m, lo, hi, n = count_mean_ci([0.0, 40.0])
    assert (m, lo, hi, n) == (20.0, 0.0, 40.0, 2)
    m, lo, hi, n = count_mean_ci([math.nan])
    assert n == 0 and all(math.isnan(v) for v in (m, lo, hi))


def test_newcombe_from_effective_cells():
    """The table form takes the same cells as the paired outcomes give, and non-integer (effective) cells
    between two integer tables give an interval between theirs; an empty table is NaN.
    """
    from sim.analysis.stats import newcombe_paired

    assert newcombe_paired(59, 6, 16, 80) == pytest.approx(paired_proportion_difference(*table(59, 6, 16, 80)))
    assert newcombe_paired(0, 0, 12, 148) == pytest.approx(paired_proportion_difference(*table(0, 0, 12, 148)))
    _, lo_small, _ = newcombe_paired(0, 0, 0, 100)
    _, lo_mid, _ = newcombe_paired(0, 0, 0, 150.5)
    _, lo_big, _ = newcombe_paired(0, 0, 0, 200)
    assert lo_small < lo_mid < lo_big < 0
    assert lo_mid == pytest.approx(-Z2 / (150.5 + Z2), rel=1e-12)
    assert all(math.isnan(v) for v in newcombe_paired(0, 0, 0, 0))
