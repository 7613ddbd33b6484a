"""Randomised workshop tables, the anonymised play dataset, its dictionary and its analysis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.play.playdata import COLUMNS, plan
from sim.play.workshop import Workshop
from sim.run.errors import UserError

EXE = Path(sys.executable).with_name("escalation")


def escalation(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_the_plan_is_seeded_and_balanced():
    assert [r["arm"] for r in plan(4, ["none", "eln_seven"], 7)] == ["none", "eln_seven", "none", "eln_seven"]
    assert plan(6, ["none", "eln_seven", "hotline"], 3) == plan(6, ["none", "eln_seven", "hotline"], 3)
    arms = [r["arm"] for r in plan(7, ["none", "eln_seven", "hotline"], 11)]
    counts = sorted(arms.count(a) for a in ("none", "eln_seven", "hotline"))
    assert counts == [2, 2, 3]  # as even as 7 tables allow
    assert {r["seed"] for r in plan(7, ["none", "hotline"], 11)} == {11}  # every table plays the same world
    with pytest.raises(UserError, match="'bogus' is not a measure bundle"):
        plan(2, ["none", "bogus"], 0)


def test_a_two_table_randomised_workshop_gives_the_dataset_and_its_analysis(tmp_path):
    w = Workshop(state_dir=tmp_path / "games")
    tables = w.create_randomised(["scenario=baltic_air_policing"], 2, ["none", "eln_seven"], 7)
    assert [t.arm for t in tables] == ["none", "eln_seven"] and [t.label for t in tables] == [
        "T1 (none)",
        "T2 (eln_seven)",
    ]
    assert tables[0].game.settings.seed == tables[1].game.settings.seed == 7
    assert not any(v.get("enabled") for v in tables[0].game.settings.measures.values())
    for t, policy in zip(tables, ("escalate", "hold"), strict=True):
        for _ in range(3):  # three team decisions, then control ends the game (the default for the rest)
            t.run_to_next()
            if t.game.point is None:
                break
            b = t.game.briefing()
            if b["channels"] and policy == "hold" and not b["tried"]:
                t.call(b["side"], b["channels"][-1]["label"])
                t.run_to_next()
            if t.game.point is not None:
                t.decide(t.game.point.side.value, policy)
        t.finish()
    out = tmp_path / "data" / "play.parquet"
    proc = escalation("workshop", "dataset", str(tmp_path / "games"), "--out", str(out), "--draws", "200", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(out)
    n_decisions = sum(sum(c["op"] == "decide" for c in t.game.commands) for t in tables)
    assert list(df.columns) == list(COLUMNS) and len(df) == n_decisions
    assert sorted(df["table"].unique()) == ["T1", "T2"] and set(df["arm"]) == {"none", "eln_seven"}
    raw = out.read_bytes()
    for t in tables:  # anonymised: no join code, no label in the file
        assert all(code.encode() not in raw for code in t.codes.values()) and t.label.encode() not in raw
    team = df[df["answered_by"] == "team"]
    assert len(team) == 6 and set(team["table"]) == {"T1", "T2"}
    assert set(df.loc[df["answered_by"] == "control", "choice"]) <= {"hold"}
    first = team[(team["table"] == "T1")].iloc[0]
    # T1's first decision (seed 7, the joint fit's defaults): NATO escalates its answer to an airspace
    # violation (rung 1) to rung 3; the model's command, at the same state, chose below rung 3 in all 200
    # draws: none as far
    assert (first["team"], first["decision"], first["act_type"], first["response_rung"]) == (
        "nato",
        1,
        "airspace_violation",
        3,
    )
    assert first["model_share_at_least"] == 0.0 and first["model_draws"] == 200
    holds = team[team["choice"] == "hold"]
    assert (holds["model_share_at_least"] >= first["model_share_at_least"]).all()
    assert (out.parent / "play.dictionary.md").read_text().count("\n| ") == len(COLUMNS) + 1

    analysis = escalation("workshop", "analyse", str(out), cwd=tmp_path)
    assert analysis.returncode == 0, analysis.stderr
    text = analysis.stdout
    assert "2 tables, 6 team decisions" in text and f"{n_decisions - 6} decisions taken by control's default" in text
    assert "Difference eln_seven − none in the mean share of escalatory decisions: -100%" in text
    assert text.count("(one table: no interval)") == 2
    assert "no interval: 1 and 1 tables" in text and "Tables are the unit" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["workshop", "analyse", "nothing.parquet"], "nothing.parquet: no such dataset"),
        (["workshop", "analyse", "junk.parquet"], "junk.parquet: not a Parquet play dataset"),
        (["workshop", "dataset", "junk.json", "--out", "x.parquet"], "junk.json: not a workshop game file"),
        (["workshop", "dataset", "junk.json", "--out", "x.csv"], "the dataset is a .parquet file"),
        (["workshop", "plan", "--tables", "0", "--arms", "none"], "--tables 0: must be between 1 and 200"),
        (["workshop", "fly"], "unknown verb 'fly'"),
    ],
)
def test_workshop_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "junk.parquet").write_text("not parquet")
    (tmp_path / "junk.json").write_text("{not json")
    proc = escalation(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_a_game_saved_by_escalation_play_joins_the_dataset_without_real_times(tmp_path):
    import math

    from sim.play.game import Game
    from sim.play.playdata import analyse, build_dataset
    from sim.play.saves import compose_settings

    g = Game(compose_settings(["scenario=baltic_air_policing"], "nato", seed=0))
    for choice in ("hold", "protest"):
        g.advance()
        g.decide(choice)
    g.save(tmp_path / "game.json")
    df = build_dataset([str(tmp_path / "game.json")], draws=50)
    assert list(df["team"]) == ["nato", "nato"] and list(df["choice"]) == ["hold", "protest"]
    assert list(df["decision"]) == [1, 2] and set(df["arm"]) == {"none"} and set(df["answered_by"]) == {"team"}
    assert all(math.isnan(x) for x in df["wall_s"]) and list(df["response_rung"]) == [1, 2]
    text = analyse(df)  # one table works too, and says what it cannot give
    assert "1 tables, 2 team decisions" in text and "| none | 1 | 2 | 0% (one table: no interval) |" in text
    assert "Difference" not in text and "| nato | 2 |" in text
