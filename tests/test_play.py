"""Tabletop play: decision points, channels, injects, save/load by replay, debrief, terminal play."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.play.game import Debrief, Game
from sim.play.saves import compose_settings, read_save, settings_from_save
from sim.run.errors import UserError
from sim.run.runner import run_replications

EXE = Path(sys.executable).with_name("escalation")


def new_game(*overrides: str, side: str = "nato", seed: int = 0) -> Game:
    return Game(compose_settings(list(overrides), side, seed=seed))


def play_through(game: Game, policy, call_first: str | None = None) -> Game:
    """Play to the end: ``policy(briefing) -> choice``; optionally try a channel before each decision."""
    while not game.finished:
        point = game.advance()
        if point is None:
            continue
        labels = [r.label for r in point.channels()]
        if call_first and call_first in labels and not point.tried:
            game.call_channel(call_first)
            continue
        game.decide(policy(game.briefing()))
    return game


def test_the_model_stops_at_each_decision_of_the_played_side_only():
    game = new_game("scenario=black_sea_transit", side="nato")
    point = game.advance()
    assert point is not None and point.side.value == "nato"
    assert game.time_h == pytest.approx(point.opened_h) and game.time_h < game.horizon_h
    b = game.briefing()
    assert b["what"]["zone"] and b["known"]["severity_uncertainty"] > 0
    assert [o["choice"] for o in b["options"]][:2] == ["de_escalate", "hold"]
    assert game.advance(10) is point  # time does not move while a decision waits
    assert game.time_h == pytest.approx(point.opened_h)
    play_through(game, lambda b: "hold")
    sides = {e["side"] for e in game.events if e["kind"] == "decision point"}
    assert sides == {"nato"}
    # Russia's responses were still taken by the model
    assert any(e["kind"] == "response" and e["side"] == "russia" for e in game.events)


def test_same_seed_and_same_choices_give_the_same_game_and_a_save_replays_it(tmp_path):
    def policy(b):
        return "protest" if b["number"] % 2 else "hold"

    a = play_through(new_game("scenario=baltic_air_policing", side="both"), policy, call_first="on_scene_radio")
    b = play_through(new_game("scenario=baltic_air_policing", side="both"), policy, call_first="on_scene_radio")
    assert a.events == b.events and a.commands == b.commands

    # save half-way, load, finish: identical to playing straight through
    half = new_game("scenario=baltic_air_policing", side="both")
    while half.time_h < 240:
        if half.advance() is not None:
            half.decide(policy(half.briefing()))
    half.save(tmp_path / "game.json")
    saved = read_save(tmp_path / "game.json")
    loaded = Game.replay(settings_from_save(saved, "game.json"), saved["commands"])
    assert loaded.events == half.events and loaded.time_h == half.time_h
    play_through(loaded, policy)
    play_through(half, policy)
    assert loaded.events == half.events and loaded.model.outcome() == half.model.outcome()


def test_escalating_players_reach_higher_rungs_than_restrained_ones_on_common_random_numbers():
    """Same seeds, opposite policies: always escalating never ends lower, and ends higher by most of a rung on
    average (measured over 12 seeds: +0.92, a hawk at rung 4 in 11 games and a dove at 3 in all; over 20: +0.95).
    """
    hawk, dove = [], []
    for seed in range(12):
        hawk.append(
            play_through(
                new_game("scenario=black_sea_transit", side="nato", seed=seed), lambda b: "escalate"
            ).model.peak_rung
        )
        dove.append(
            play_through(
                new_game("scenario=black_sea_transit", side="nato", seed=seed), lambda b: "de_escalate"
            ).model.peak_rung
        )
    assert all(h >= d for h, d in zip(hawk, dove, strict=True))
    assert np.mean(hawk) - np.mean(dove) >= 0.75, (hawk, dove)


def test_a_channel_call_takes_its_latency_and_clarifies_intent():
    game = new_game("scenario=black_sea_transit", "measures.hotline.enabled=true", side="nato")
    failed = 0
    for _ in range(80):
        point = game.advance()
        assert point is not None
        if "hotline" in [r.label for r in point.channels()]:
            route = next(r for r in point.channels() if r.label == "hotline")
            before, t0 = point.deliberation.perceived_hostility, game.time_h
            if game.call_channel("hotline"):
                break
            failed += 1  # no answer: no time passes, the channel is marked tried
            assert point.tried == {"hotline": False} and game.time_h == t0 and game.point is point
        game.decide("hold")
    else:
        pytest.fail("no hotline call got through in 80 decisions")
    again = game.advance()
    assert again is point and game.time_h == pytest.approx(t0 + route.latency_h)
    assert point.deliberation.clarified_by == ["hotline"]
    # what was said moves the reading its way; only a true statement brings it nearer the truth (a denied
    # deliberate act - a bluff - takes it further: a channel can make things worse)
    said = [e for e in game.events if e["kind"] == "clarification"][-1]["text"]
    after, truth = point.deliberation.perceived_hostility, float(point.act.deliberate)
    reassured = "not meant as hostile" in said
    assert (after < before) if reassured else (after > before), (said, before, after)
    bluff = reassured and point.act.deliberate
    assert (abs(after - truth) > abs(before - truth)) if bluff else (abs(after - truth) < abs(before - truth))
    assert "hotline" not in [r.label for r in point.channels()]  # one call per channel per decision
    with pytest.raises(UserError, match="not available"):
        game.call_channel("hotline")


def test_a_facilitator_inject_happens_now_and_reaches_the_played_side():
    game = new_game("scenario=baltic_air_policing", side="nato")
    game.advance(5)
    assert game.point is None
    game.inject(type="airspace_violation", initiator="ru_il20", zone="gulf_of_finland", severity=0.7, deliberate=True)
    incident = [e for e in game.events if e["kind"] == "incident"][-1]
    assert incident["time_h"] == pytest.approx(5) and incident["type"] == "airspace_violation"
    point = game.advance()
    assert point is not None and point.act.type == "airspace_violation" and point.act.severity == pytest.approx(0.7)
    # a wrong force id is named with the valid ones (nothing else shows the ids but `f` and `scenarios show`)
    with pytest.raises(UserError, match=r"inject force 'nobody' is not a force of this scenario \(forces: .*ru_il20"):
        game.inject(type="air_intercept", initiator="nobody", zone="gulf_of_finland", severity=0.5, deliberate=False)
    with pytest.raises(UserError, match=r"zones: .*gulf_of_finland"):
        game.inject(type="air_intercept", initiator="ru_il20", zone="nowhere", severity=0.5, deliberate=False)
    with pytest.raises(UserError, match="type"):
        game.inject(type="tea_party", initiator="ru_il20", zone="gulf_of_finland", severity=0.5, deliberate=False)


def test_debrief_compares_with_the_model_from_the_same_start():
    game = play_through(new_game("scenario=black_sea_transit", side="russia", seed=3), lambda b: "hold")
    d = game.debrief(replications=40)
    s = game.settings
    ens = run_replications(s.scenario, s.params, s.measures, n=40, seed=3, record_events=False)
    assert list(d.model_peaks) == [r.outcome["peak_rung"] for r in ens.replications]
    summary = d.summary()
    assert sum(summary["model_peak_distribution"].values()) == 40
    assert summary["model_share_at_least_player_peak"] == pytest.approx(np.mean(d.model_peaks >= game.model.peak_rung))
    assert 0 <= summary["player_percentile"] <= 1
    assert f"rung {game.model.peak_rung}" in d.text()


def test_a_typical_peak_is_called_typical_and_only_a_tail_is_called_unusual():
    """A peak that 55% of the model's runs reach is typical, not "higher than the model usually does";
    a peak only 10% reach is higher; one that only 10% stay at or below is lower.
    """

    def debrief(player: int, peaks: list[int]) -> str:
        return Debrief(player, 0.0, [], np.array(peaks), np.zeros((len(peaks), 1)), np.zeros(len(peaks)), []).text()

    mode = [2] * 45 + [3] * 50 + [4] * 5  # 55% reach rung 3
    assert "typical" in debrief(3, mode)
    assert "higher than the model usually does" in debrief(4, [2] * 60 + [3] * 30 + [4] * 10)
    assert "lower than the model usually does" in debrief(2, [2] * 10 + [3] * 60 + [4] * 30)


def test_game_log_has_the_run_events_format(tmp_path):
    game = play_through(new_game("scenario=black_sea_transit", side="nato"), lambda b: "protest")
    game.export_events(tmp_path / "events.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    settings = game.settings
    run_events = (
        run_replications(settings.scenario, settings.params, settings.measures, n=1, seed=0).replications[0].events
    )
    assert set(rows[0]) == {"replication", *run_events[0]}
    assert any(r["kind"] == "response" and r["response"] == "protest" and r["side"] == "nato" for r in rows)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "invalid JSON"),
        ('{"format": "other"}', "format"),
        (
            '{"format": "escalation-game/1", "scenario": "baltic_air_policing", "side": "nato", "seed": 0, '
            '"overrides": [], "commands": [{"op": "fly"}]}',
            "commands[0]",
        ),
    ],
)
def test_bad_save_files_are_named_with_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message.replace("[", r"\[")) as err:
        read_save(path)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------------- the terminal
def play(*args: str, stdin: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, "play", *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_terminal_play_with_scripted_input_reaches_the_debrief_and_saves(tmp_path):
    # channel 1 first, then the lowest response, then run on; junk lines are answered, not fatal
    script = "h\nf\nfly away\n" + "c 1\n\n1\n\n" * 60
    proc = play(
        "scenario=black_sea_transit",
        "side=nato",
        "debrief=30",
        "save=game.json",
        "log=events.jsonl",
        stdin=script,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "=== Decision 1 for NATO" in out and "Channels (c N):" in out and "Responses:" in out
    assert "unknown command 'fly away'" in out
    assert "f        forces and zones (ids for i)" in out and "  nato_destroyer: " in out  # the ids an inject names
    assert "You decide: de-escalate." in out
    assert "Debrief" in out and "of 30 runs peaked at rung" in out
    saved = json.loads((tmp_path / "game.json").read_text())
    assert saved["side"] == "nato" and any(c["op"] == "channel" for c in saved["commands"])
    events = (tmp_path / "events.jsonl").read_text().splitlines()
    assert any(json.loads(e)["kind"] == "decision point" for e in events)

    # load the finished game: it is over at once and gives the same debrief
    again = play("load=game.json", "debrief=30", stdin="", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("Debrief")[1] == out.split("Debrief")[1].split("Saved the game")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scenario=black_sea_transit"], "side= is required"),
        (["side=martians"], "side=martians"),
        (["side=nato", "scenario=atlantis"], "atlantis"),
        (["side=nato", "measures=none,all"], "sweeps"),
        (["load=missing.json"], "missing.json: no such save file"),
        (["side=nato", "debrief=0"], "debrief=0"),
    ],
)
def test_terminal_play_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = play(*args, stdin="", cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_the_decision_card_names_who_intercepted_whom_and_where_a_stand_down_leads():
    """An air intercept whose actor is a reconnaissance flight reads "the Su-27 pair intercepts the RC-135" (the
    card said "air intercept by US RC-135 against Su-27 pair", roles reversed); a fighter's own act keeps "by";
    de-escalating goes down to vigilance, so the option says "down to rung 1" (it said "rung 0").
    """
    from sim.core.agents import Act
    from sim.core.spec import Side
    from sim.play.game import response_rung_text, what_happened

    flight = Act(0.0, Side.NATO, "US RC-135", "Su-27 pair", "z", "air_intercept", 2, 0.5, False, True, kind="recon")
    assert what_happened(flight, "the Baltic") == "Su-27 pair intercepts US RC-135 over the Baltic"
    fighter = Act(0.0, Side.RUSSIA, "Su-27 pair", "US RC-135", "z", "air_intercept", 2, 0.5, True, True, kind="fighter")
    assert what_happened(fighter, "the Baltic") == "Air intercept by Su-27 pair against US RC-135 in the Baltic"
    assert response_rung_text("de-escalate", 0) == "down to rung 1" and response_rung_text("protest", 1) == "rung 1"
    game = new_game("scenario=baltic_air_policing")
    while game.advance() is None and not game.finished:
        pass
    b = game.briefing()
    assert b["what"]["sentence"].endswith(b["what"]["zone"])
    stand_down = [o for o in b["options"] if o["response"] == "de-escalate"]
    assert all(o["to_rung"] == "down to rung 1" for o in stand_down)
