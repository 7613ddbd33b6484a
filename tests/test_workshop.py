"""Workshop games: two teams and a control cell, what each page may see, the clock, limits, saved state."""

from __future__ import annotations

import json
import re

import pytest

from sim.play.saves import compose_settings
from sim.play.workshop import CODE_LENGTH, ROLES, Workshop, read_table
from sim.run.errors import UserError


class FakeClock:
    """Real seconds under the test's control."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def settings():
    return compose_settings(["scenario=baltic_air_policing"], "both", seed=0)


@pytest.fixture
def clock():
    return FakeClock()


def test_each_role_gets_a_code_and_a_team_sees_only_its_own_side(settings, clock):
    w = Workshop(clock=clock)
    t = w.create(settings)
    assert set(t.codes) == set(ROLES) and len(set(t.codes.values())) == 4
    assert all(len(c) == CODE_LENGTH for c in t.codes.values())
    t.run_to_next()
    brief = t.game.briefing()
    assert brief["side"] == "nato" and brief["number"] == 1  # seed 0: NATO decides first
    nato, russia, control, observer = (json.dumps(t.view(r)) for r in ROLES)
    decider = brief["decider"]  # "Allied Air Command (Ramstein)"
    assert decider in nato and decider in control
    assert decider not in russia and decider not in observer
    assert '"perceived_severity"' not in russia and "assessed_hostile_intent" not in russia
    assert "true severity" in control and "true severity" not in nato and "true severity" not in russia
    assert t.view("russia")["decision"] is None and t.view("nato")["decision"]["number"] == 1
    assert "log" not in t.view("observer") and t.view("observer")["public"]["rung"] == t.game.model.rung
    assert all("truth_log" not in t.view(r) for r in ("nato", "russia", "observer")) and t.view("control")["truth_log"]
    t.reveal()  # the debrief: every page gets the truth, a team keeps its own view too
    assert all(t.view(r)["truth_log"] == t.view("control")["truth_log"] for r in ("nato", "russia", "observer"))
    assert t.view("nato")["decision"]["number"] == 1 and "codes" not in t.view("nato")
    # every line of a team's log is an event the model logged for that side
    nato_lines = set(t.view("nato")["log"])
    assert nato_lines == {f"{e['clock']}  {e['text']}" for e in t.game.events if e["side"] == "nato"}


def test_only_the_deciding_team_may_answer_and_call(settings, clock):
    t = Workshop(clock=clock).create(settings)
    t.run_to_next()
    with pytest.raises(UserError, match="no decision is waiting for your team"):
        t.decide("russia", "hold")
    with pytest.raises(UserError, match="only a team decides"):
        t.decide("control", "hold")
    assert t.decide("nato", "hold") == "hold"
    assert t.game.commands[-1] == {"op": "decide", "choice": "hold"} and t.moves[-1].role == "nato"


def test_the_clock_runs_at_its_speed_pauses_and_times_out_with_the_stated_default(settings, clock):
    t = Workshop(clock=clock).create(settings)
    t.set_speed(1.0)
    t.start()
    clock.t += 3.0
    t.tick()
    assert t.game.time_h == pytest.approx(3.0)  # 3 real seconds at 1 game hour a second, no decision before 12:47
    t.pause()
    clock.t += 100.0
    t.tick()
    assert t.game.time_h == pytest.approx(3.0)  # paused: the model does not move
    t.set_limit(10, "protest")
    stated = (
        "Decision time limit 10 s. A team that does not answer in time: protest (diplomatic protest, no military act)."
    )
    assert t.view("nato")["limit_text"] == stated and t.view("russia")["limit_text"] == stated
    t.run_to_next()
    assert t.view("nato")["seconds_left"] == pytest.approx(10.0)
    clock.t += 9.0
    t.tick()
    assert t.game.point is not None and t.view("nato")["seconds_left"] == pytest.approx(1.0)
    clock.t += 1.5
    t.tick()
    assert t.game.commands[-1] == {"op": "decide", "choice": "protest"}
    assert t.moves[-1].timeout and t.moves[-1].role == "clock" and t.moves[-1].waited_s == pytest.approx(10.5)


def test_limits_bad_codes_and_rejoin_after_a_restart(settings, clock, tmp_path):
    w = Workshop(max_games=1, max_participants=2, state_dir=tmp_path, clock=clock)
    t = w.create(settings)
    with pytest.raises(UserError, match="already holds 1 games, its limit"):
        w.create(settings)
    assert w.join(t.codes["nato"].lower()[:3] + "-" + t.codes["nato"][3:], "tab1") == (t, "nato")
    assert w.join(t.codes["control"], "tab2")[1] == "control"
    with pytest.raises(UserError, match="already has 2 participants"):
        w.join(t.codes["russia"], "tab3")
    w.leave("tab1")
    assert w.join(t.codes["russia"], "tab3")[1] == "russia"
    with pytest.raises(UserError) as bad:
        w.join("QQQQQQ", "tab4")
    assert str(bad.value).startswith("join code QQQQQQ: not a game on this server") and "\n" not in str(bad.value)
    t.set_limit(60, "hold")
    t.run_to_next()
    t.call("nato", t.game.briefing()["channels"][0]["label"])
    t.run_to_next()
    if t.game.point is not None and t.game.point.side.value == "nato":
        t.decide("nato", "match")
    # the app restarts: the game is found where it was, under the same codes
    again = Workshop(state_dir=tmp_path, clock=clock)
    assert again.problems == []
    t2, role = again.join(t.codes["nato"], "tab1")
    assert role == "nato" and t2.game.commands == t.game.commands and len(t.game.commands) >= 3
    assert t2.game.time_h == t.game.time_h and t2.game.model.rung == t.game.model.rung
    assert t2.view("nato")["log"] == t.view("nato")["log"] and t2.limit_s == 60.0
    assert [m.to_dict() for m in t2.moves] == [m.to_dict() for m in t.moves]


def test_a_stale_or_broken_saved_game_is_one_line_and_kept(settings, clock, tmp_path):
    w = Workshop(state_dir=tmp_path, clock=clock)
    t = w.create(settings)
    t.run_to_next()
    t.decide("nato", "hold")
    path = tmp_path / f"{t.id}.json"
    data = json.loads(path.read_text())
    data["game"]["commands"].insert(0, {"op": "decide", "choice": "hold"})  # no decision waits at the start
    path.write_text(json.dumps(data))
    (tmp_path / "junk.json").write_text("{not json")
    again = Workshop(state_dir=tmp_path, clock=clock)
    assert again.tables == {}
    assert len(again.problems) == 2 and all("\n" not in p for p in again.problems)
    stale = next(p for p in again.problems if t.id in p)
    assert "stale save: move 0 no longer replays" in stale
    assert path.exists() and (tmp_path / "junk.json").exists()  # never delete what the user had
    with pytest.raises(UserError, match="not a workshop game file"):
        read_table(tmp_path / "junk.json")


def test_a_workshop_game_loads_in_terminal_play_for_review(settings, clock, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    t = Workshop(state_dir=tmp_path, clock=clock).create(settings)
    t.run_to_next()
    t.decide("nato", "protest")
    t.run_to_next()
    exe = Path(sys.executable).with_name("escalation")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]
    proc = subprocess.run(
        [*cmd, "play", f"load={tmp_path / 'table1.json'}"], input="q\n", capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "You play both sides" in proc.stdout
    assert f"=== Decision {t.game.point.number} for " in proc.stdout  # the game waits where the table waits
    assert re.search(
        r"day \d+ \d\d:\d\d  Allied Air Command \(Ramstein\) decides: protest through diplomatic channels", proc.stdout
    )


def test_a_branch_replays_exactly_to_decision_k_then_plays_on_with_other_choices(settings, clock):
    w = Workshop(clock=clock)
    t = w.create(settings)
    briefings = {}
    while not t.game.finished and len(briefings) < 4:
        t.run_to_next()
        if t.game.point is not None:
            b = t.game.briefing()
            briefings[b["number"]] = b
            t.decide(b["side"], "hold")
    b2 = w.branch(t, 2)
    assert b2.parent == {"table": t.id, "decision": 2} and b2.codes != t.codes
    assert b2.game.briefing() == briefings[2]  # the same decision, as its team saw it
    n = len(b2.game.events)
    assert b2.game.events == t.game.events[:n] and b2.game.events[-1]["text"].startswith("Decision 2 for ")
    side = briefings[2]["side"]
    b2.decide(side, "escalate")
    assert b2.game.commands[-1] == {"op": "decide", "choice": "escalate"}
    b2.finish()
    t.finish()
    assert b2.game.finished and t.game.finished
    assert b2.game.rung_series() != t.game.rung_series()  # the other choice changed the path
    assert b2.game.model.peak_rung >= 3  # an escalation answers one rung higher: reinforce / raise alert at least
    with pytest.raises(UserError, match="decision 99: this game has"):
        w.branch(t, 99)


def test_a_table_whose_clock_fails_is_paused_and_the_others_run_on(settings, clock, capsys):
    w = Workshop(clock=clock)
    bad, good = w.create(settings), w.create(settings)
    for t in (bad, good):
        t.set_speed(1.0)
        t.start()

    def broken() -> bool:
        raise RuntimeError("model failure")

    bad.tick = broken
    clock.t += 2.0
    w.tick()
    assert not bad.running and good.running and good.game.time_h == pytest.approx(2.0)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["escalation: warning: app: table1: the clock stopped (model failure)"]


def test_a_saved_game_loads_as_a_new_table_with_new_codes_and_can_be_branched(settings, clock, tmp_path):
    w = Workshop(clock=clock)
    t = w.create(settings)
    for _ in range(3):
        t.run_to_next()
        t.decide(t.game.point.side.value, "protest")
    t.finish()
    raw = json.dumps(t.to_dict()).encode()
    loaded = w.load(raw, "table1.json")
    assert loaded.id == "table2" and set(loaded.codes.values()).isdisjoint(t.codes.values())
    assert loaded.game.commands == t.game.commands and loaded.game.model.peak_rung == t.game.model.peak_rung
    branch = w.branch(loaded, 2)
    assert branch.game.briefing()["number"] == 2 and branch.parent == {"table": "table2", "decision": 2}
    # a terminal game of both sides loads too; one side's game cannot become a two-team table
    from sim.play.game import Game

    g = Game(settings)
    g.advance()
    g.decide("hold")
    both = w.load(json.dumps(g.to_dict()).encode(), "game.json")
    assert both.game.commands == g.commands and both.label == "table 4 (loaded)"
    one = Game(compose_settings(["scenario=baltic_air_policing"], "nato", seed=0))
    with pytest.raises(UserError, match="game.json: side: a game played by nato alone cannot become a two-team"):
        w.load(json.dumps(one.to_dict()).encode(), "game.json")
    with pytest.raises(UserError, match=r"^junk.json: not a saved game \(not JSON text\)$"):
        w.load(b"{nope", "junk.json")


def test_the_running_clock_records_whole_game_hours_not_every_tick(settings, clock):
    t = Workshop(clock=clock).create(settings)
    t.set_speed(1.0)
    t.start()
    for _ in range(40):  # 10 real seconds in ticks of a quarter second: 10 game hours (the first decision: 12:47)
        clock.t += 0.25
        t.tick()
    assert t.game.time_h == pytest.approx(10.0)
    assert [c["op"] for c in t.game.commands] == ["advance"] * 10  # one move per game hour, not one per tick
