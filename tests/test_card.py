"""The measure report card: each statistic on a hand-made case, and a real run's pairing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.studies.card import BASELINE, PLACEBO, CardRun, card_tables, markdown, run_card


def hand_run(n=100) -> CardRun:
    """Two settings. Bundle 'a' removes every use of force of the baseline in setting s1 and changes nothing
    in s2; bundle 'b' adds force in 10 replications of s2; the placebo changes nothing.
    """
    rows = []
    for s, base4 in (("s1", 30), ("s2", 0)):
        for i in range(n):
            b4 = int(i < base4)
            for bundle, r4 in (
                (BASELINE, b4),
                (PLACEBO, b4),
                ("a", 0 if s == "s1" else b4),
                ("b", int(i < 10) if s == "s2" else b4),
            ):
                rows.append(
                    {
                        "replication": i,
                        "peak_rung": 4 if r4 else 2,
                        "reached_rung_4": r4,
                        "reached_rung_5": 0,
                        "crisis_days": 2.0 * r4,
                        "bundle": bundle,
                        "scenario": s,
                        "era": "e1" if s == "s1" else "e2",
                    }
                )
    return CardRun(pd.DataFrame(rows), [BASELINE, PLACEBO, "a", "b"], [("s1", "e1"), ("s2", "e2")], "point", n, 0)


def test_card_statistics_on_a_hand_made_case():
    t = card_tables(hand_run())
    eff = t["effects"].set_index("bundle")
    # a: -30 points in s1, 0 in s2 -> pooled with equal weight, -15 points; crisis days -0.6 -> -0.3
    assert eff.loc["a", "effect P(rung ≥ 4)"] == pytest.approx(-0.15)
    assert eff.loc["a", "effect crisis days"] == pytest.approx(-0.3)
    assert eff.loc["a", "effect P(rung ≥ 4) lo"] < -0.15 < eff.loc["a", "effect P(rung ≥ 4) hi"] < 0
    # b: +10 points in s2 -> +5 pooled; backfire in 10 of 200 pairs
    assert eff.loc["b", "effect P(rung ≥ 4)"] == pytest.approx(0.05)
    assert eff.loc["b", "backfire"] == pytest.approx(10 / 200)
    assert eff.loc[PLACEBO, "backfire"] == 0 and eff.loc[PLACEBO, "effect P(rung ≥ 4)"] == 0
    by_era = t["by_era"].set_index("bundle")
    assert by_era.loc["a", "e1"] == 1.0 and by_era.loc["a", "e2"] == 0.0 and by_era.loc["a", "e2 higher"] == 0.0
    assert by_era.loc["b", "e2 higher"] == 1.0
    ranks = t["ranks"].set_index("bundle")
    assert ranks.loc["a", "P(best)"] == pytest.approx(1.0) and ranks.loc["a", "mean rank"] == 1.0
    assert ranks.loc[BASELINE, "mean rank"] == ranks.loc[PLACEBO, "mean rank"] == 2.0  # a tie shares a place
    regret = t["regret"].set_index("bundle")
    # per setting P4: s1: none .3 placebo .3 a 0 b .3; s2: none 0, placebo 0, a 0, b .1
    assert regret.loc["a", "max regret"] == 0
    assert regret.loc[BASELINE, "max regret"] == pytest.approx(0.3)
    assert regret.loc["b", "max regret"] == pytest.approx(0.3) and regret.loc["b", "mean regret"] == pytest.approx(0.2)
    text = markdown(hand_run(), t, "escalation card (hand)")
    assert "| a | -15.0 [" in text and "placebo's, 0.0%" in text


def test_a_real_card_pairs_its_bundles(tmp_path):
    """The card's placebo (the desync placebo) moves the random streams on, so its pairs part ways (the floor of
    backfire is not zero), the baseline is paired replication by replication, and the ELN seven lower
    P(rung >= 4) in a crisis-era Baltic month where the baseline escalates (direction only: 40 replications).
    """
    run = run_card(["eln_seven"], ["baltic_air_policing"], ["crisis_2022"], 40, seed=2, parameters="point")
    o = run.outcomes
    base = o[o.bundle == BASELINE].set_index("replication")
    placebo = o[o.bundle == PLACEBO].set_index("replication")
    assert PLACEBO == "desync_placebo" and list(base.index) == list(placebo.index)
    assert (base["peak_rung"] != placebo["peak_rung"]).any()
    t = card_tables(run)
    eff = t["effects"].set_index("bundle")
    assert eff.loc["eln_seven", "effect P(rung ≥ 4)"] <= 0
    assert np.isfinite(eff.to_numpy(float)).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["card", "--eras", "cold_war"], "--eras: unknown era 'cold_war'"),
        (["card", "--bundles", "nonesuch"], "--bundles: unknown measure bundle 'nonesuch'"),
        (["variance", "--scenario", "nowhere"], "--scenario: unknown scenario 'nowhere'"),
        (["variance", "--samples", "100"], "--samples must be a power of 2"),
    ],
)
def test_card_and_variance_refuse_bad_requests(args, message):
    import subprocess
    import sys
    from pathlib import Path

    res = subprocess.run([str(Path(sys.executable).with_name("escalation")), *args], capture_output=True, text=True)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_card_command_shows_progress_lines_off_a_terminal(tmp_path):
    """Piped to a log, escalation card says how far it got (no bar, no silence) and writes the card."""
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("escalation"))
    args = ["card", "--bundles", "hotline", "--scenarios", "baltic_air_policing", "--eras", "crisis_2022"]
    res = subprocess.run(
        [exe, *args, "--replications", "10", "--workers", "1", "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "bundle x setting: 3/3 done in" in res.stderr and "\r" not in res.stderr
    assert (tmp_path / "c" / "card.md").is_file()


def test_card_days_sets_every_settings_horizon():
    """--days runs every setting for that horizon (the month-long scenarios for a year, or here 3 days)."""
    from sim.studies.card import card_tables, markdown, run_card

    run = run_card(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 10, 0, "point", days=3)
    assert run.days == 3 and (run.outcomes["crisis_days"] <= 3).all()
    month = run_card(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 10, 0, "point")
    assert month.outcomes["crisis_days"].sum() >= run.outcomes["crisis_days"].sum()
    assert "10 replications of each over 3 days" in markdown(run, card_tables(run, resamples=50), "x")


def test_card_survival_on_a_hand_made_case(tmp_path):
    """The hand-made case with times: the baseline's 30 uses of force in e1 come on days 1..30 of a
    100-day horizon, so Kaplan-Meier gives 30% by the horizon and the hazard is 30 events over 7,465
    days watched (1.468 a year); bundle 'a' has none there (0, with the exact upper bound -ln(0.025)
    per 27.4 years watched). Crises without force are back to vigilance in a day; those with force
    never come back and are censored: the median is 1 day, the naive mean of those back 1 day.
    """
    run = hand_run()
    o = run.outcomes
    force = o["reached_rung_4"] == 1
    o["horizon_days"] = 100.0
    o["days_to_rung_3"] = o["days_to_rung_4"] = np.where(force, o["replication"] + 1.0, np.nan)
    o["days_to_rung_5"] = np.nan
    o["days_back_to_vigilance"] = np.where(force, np.nan, 1.0)
    o["days_back_censored"] = np.where(force, 100.0 - (o["replication"] + 1.0), np.nan)
    t = card_tables(run, resamples=50)
    s = t["survival"].set_index(["bundle", "era", "rung"])
    base = s.loc[(BASELINE, "e1", 4)]
    assert base["events"] == 30 and base["n"] == 100
    assert base["p_reached_by_horizon"] == pytest.approx(0.30)
    assert base["hazard_per_year"] == pytest.approx(30 / (7465 / 365.25))
    a = s.loc[("a", "e1", 4)]
    assert a["events"] == 0 and a["hazard_per_year"] == 0
    assert a["hazard_per_year_ci95"][1] == pytest.approx(-np.log(0.025) / (100 * 100 / 365.25), rel=1e-6)
    assert s.loc[("b", "e2", 4), "events"] == 10
    back = t["back_to_vigilance"].set_index("bundle").loc[BASELINE]
    assert (back["crises"], back["back_within_horizon"], back["median_days_back"]) == (200, 170, 1.0)
    text = markdown(run, t, "escalation card (hand)")
    assert "| none | e1 | 30 of 100 | 30.0% | 1.47 [" in text
    from sim.studies.card import write_card

    write_card(run, t, tmp_path, "escalation card (hand)")
    assert {"survival.png", "effects.png", "survival.csv", "back_to_vigilance.csv"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert "data:image/png;base64," in (tmp_path / "card.html").read_text()  # the page opens alone
    assert "hazard_per_year_lo" in (tmp_path / "survival.csv").read_text()


def test_the_card_leads_with_each_setting_and_pools_with_stated_weights():
    """Per setting first: 'a' is -30 points in s1 (Newcombe's paired interval on 30 discordant of 100) and 0 in
    s2 (no event in either arm: not estimable, bounded by each arm's Wilson upper bound). Pooled with weights
    s1 = 1, s2 = 3 the effect is (1 * -0.30 + 3 * 0) / 4 = -0.075, and the card states the estimand and the
    weights; ranks use them too. Equal weights give -0.15 (the first test).
    """
    from sim.analysis.stats import paired_proportion_difference

    run = hand_run()
    run.weights = {("s1", "e1"): 1.0, ("s2", "e2"): 3.0}
    t = card_tables(run)
    cells = t["by_setting"]
    a1 = cells[(cells.bundle == "a") & (cells.scenario == "s1") & (cells.outcome == "P(rung ≥ 4)")].iloc[0]
    expected = paired_proportion_difference([0] * 100, [1] * 30 + [0] * 70)
    assert (a1["effect"], a1["lo"], a1["hi"]) == pytest.approx(expected) and a1["effect"] == pytest.approx(-0.30)
    a2 = cells[(cells.bundle == "a") & (cells.scenario == "s2") & (cells.outcome == "P(rung ≥ 4)")].iloc[0]
    assert (
        a2["effect"] == 0
        and a2["events"] == a2["baseline events"] == 0
        and a2["hi"] == pytest.approx(0.036994, abs=1e-6)
    )
    days = cells[(cells.bundle == "a") & (cells.scenario == "s1") & (cells.outcome == "crisis days")].iloc[0]
    assert days["effect"] == pytest.approx(-0.6) and days["lo"] < -0.6 < days["hi"] <= 0
    eff = t["effects"].set_index("bundle")
    assert eff.loc["a", "effect P(rung ≥ 4)"] == pytest.approx(-0.075)
    assert eff.loc["a", "effect crisis days"] == pytest.approx(-0.15)
    lo, hi = eff.loc["a", "effect P(rung ≥ 4) lo"], eff.loc["a", "effect P(rung ≥ 4) hi"]
    # the floor: Newcombe's on the weighted pooled table, shares 0.25 (0, 0, .3, .7) + 0.75 (0, 0, 0, 1) on
    # 1 / ((0.25^2 + 0.75^2) / 100) = 160 effective pairs: cells (0, 0, 12, 148)
    from sim.analysis.stats import newcombe_paired

    _, flo, fhi = newcombe_paired(0, 0, 12, 148)
    assert lo <= flo + 1e-12 and hi >= fhi - 1e-12 and (lo, hi) != pytest.approx((0, 0))
    assert t["ranks"].set_index("bundle").loc["a", "P(rung ≥ 4)"] == pytest.approx(0.0)
    md = markdown(run, t, "escalation card (test)")
    assert md.index("## Effects in each setting") < md.index("## Effects pooled over the settings")
    assert "| a | -30.0 [" in md and "± 3.7 pts (no event)" in md and "no crisis in either arm" in md
    assert "s1 / e1 0.25, s2 / e2 0.75" in md and "the weights given with --weights" in md
    assert "structural sensitivity was not screened" in md
    # weight 0 leaves s1 out of everything pooled: the effect is s2's (0), and era e1 (only s1) has no estimate
    run.weights = {("s1", "e1"): 0.0}
    t0 = card_tables(run)
    assert t0["effects"].set_index("bundle").loc["a", "effect P(rung ≥ 4)"] == 0
    by_era = t0["by_era"].set_index("bundle")
    assert np.isnan(by_era.loc["a", "e1"]) and by_era.loc["a", "e2"] == 0.0 and by_era.loc["b", "e2 higher"] == 1.0
    assert "| a | n/a / n/a |" in markdown(run, t0, "escalation card (test)")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--weights", "nowhere/crisis_2022=2"], "--weights: 'nowhere/crisis_2022' is not a setting of this card"),
        (["--weights", "baltic_air_policing/crisis_2022=-1"], "a weight is a number from 0 to 1e6, got -1"),
        (["--weights", "baltic_air_policing/crisis_2022=1e308"], "a weight is a number from 0 to 1e6, got 1e308"),
        (
            ["--weights", "baltic_air_policing/crisis_2022=1,baltic_air_policing/crisis_2022=3"],
            "baltic_air_policing/crisis_2022 is named twice",
        ),
        (["--weights", "baltic_air_policing=1"], "is not SCENARIO/ERA=W"),
        (["--scenarios", "black_sea_transit", "--days", "365"], "valid for at most 21 days"),
        (["--structural", "-1"], "--structural"),
    ],
)
def test_card_refuses_bad_weights_and_settings_before_any_run(args, message, tmp_path):
    """One line, exit 2, before any job: a setting outside a scenario's valid horizon too (the Black Sea
    transit is written for 21 days under the Montreux Convention).
    """
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("escalation"))
    command = [exe, "card", "--bundles", "hotline", "--eras", "crisis_2022", "--replications", "10", *args]
    proc = subprocess.run([*command, "--out", str(tmp_path / "c")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "1/" not in proc.stderr and not (tmp_path / "c").exists()


def test_the_structural_screen_moves_the_unfitted_assumptions_and_reports_a_range(tmp_path):
    """A real screen: 1 Morris trajectory over the 7 unfitted assumptions (8 points), the hotline in a crisis-era
    Baltic month, 10 paired replications a point. Each point sets the assumptions (every one takes two values
    across the trajectory), the effect on crisis days moves across the points (the screen is not a constant),
    and the card shows the range beside the pooled effect.
    """
    from sim.studies.card import STRUCTURAL, structural_screen, write_card

    screen = structural_screen(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 1, 10, 0, "point")
    assert len(screen) == len(STRUCTURAL) + 1
    for key, (lo, hi) in STRUCTURAL.items():
        assert screen[key].between(lo - 1e-9, hi + 1e-9).all() and screen[key].nunique() == 2, key
    assert screen["hotline|crisis_days"].nunique() > 1
    run = run_card(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 10, 0, "point")
    run.screen = screen
    tables = card_tables(run)
    row = tables["structural"].set_index(["bundle", "outcome"]).loc[("hotline", "crisis days")]
    assert row["low"] == screen["hotline|crisis_days"].min() and row["high"] == screen["hotline|crisis_days"].max()
    assert row["most influential"] in STRUCTURAL
    md = write_card(run, tables, tmp_path / "card", "escalation card (test)")
    assert "structural range: P(rung ≥ 4) |" in md and "Morris screen (1 trajectories" in md
    assert (tmp_path / "card" / "structural_screen.csv").exists() and (tmp_path / "card" / "by_setting.csv").exists()


def test_the_pooled_probability_floor_moves_continuously_with_the_weights(quiet_card):
    """No use of force anywhere, 100 pairs in each of two settings: with equal weights the floor is Newcombe's
    on the 200 pooled pairs (+-z^2/(200+z^2) = 1.9 points); weights 1 : 0.999 give nearly the same (it jumped
    sixfold there when unequal weights took another rule); with the second setting's weight near 0 it is the
    first setting's own (+-z^2/(100+z^2) = 3.7 points): the effective number of pairs is 1 / sum(w^2 / n).
    """
    from sim.analysis.stats import wilson

    run = quiet_card("x", 100)

    def upper(weights):
        run.weights = weights
        return card_tables(run, resamples=50)["effects"].set_index("bundle").loc["x", "effect P(rung ≥ 4) hi"]

    assert upper(None) == pytest.approx(wilson(0, 200)[2], rel=1e-9)
    assert upper({("s2", "e"): 0.999}) == pytest.approx(wilson(0, 200)[2], rel=1e-3)
    assert upper({("s2", "e"): 1e-6}) == pytest.approx(wilson(0, 100)[2], rel=1e-4)
    n_eff = 1 / ((0.25**2 + 0.75**2) / 100)  # weights 1 : 3
    assert upper({("s2", "e"): 3.0}) == pytest.approx(wilson(0, n_eff)[2], rel=1e-9)
