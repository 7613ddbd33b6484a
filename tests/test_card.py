"""The measure report card: each statistic on a hand-made case, and a real run's pairing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.card import BASELINE, PLACEBO, CardRun, card_tables, markdown, run_card


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
    from sim.card import card_tables, markdown, run_card

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
    from sim.card import write_card

    write_card(run, t, tmp_path, "escalation card (hand)")
    assert {"survival.png", "effects.png", "survival.csv", "back_to_vigilance.csv"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert "data:image/png;base64," in (tmp_path / "card.html").read_text()  # the page opens alone
    assert "hazard_per_year_lo" in (tmp_path / "survival.csv").read_text()
