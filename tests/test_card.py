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
    """The placebo channel changes nothing on the same seeds (every pair equal), the baseline is paired
    replication by replication, and the ELN seven lower P(rung >= 4) in a crisis-era Baltic month where
    the baseline escalates (direction only: 40 replications).
    """
    run = run_card(["eln_seven"], ["baltic_air_policing"], ["crisis_2022"], 40, seed=2, parameters="point")
    o = run.outcomes
    base = o[o.bundle == BASELINE].set_index("replication")
    placebo = o[o.bundle == PLACEBO].set_index("replication")
    assert (base["peak_rung"] == placebo["peak_rung"]).all()
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
