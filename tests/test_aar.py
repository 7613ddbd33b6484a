"""The after-action report (sim/analysis/aar.py) and the log it reads: every kind of line, its wording, its phases."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from sim import api
from sim.analysis.aar import KINDS, after_action, crisis_phases, routine_kind
from sim.play.game import Game
from sim.play.saves import compose_settings

ROOT = Path(__file__).resolve().parents[1]
# Runs that between them write every kind of line: force, rules of engagement and replacements need
# violators that ignore warnings near a member that fires on them (Turkey, in the Black Sea) and
# replacements within the horizon; meetings and signals need the measures.
RUNS = (
    (
        "black_sea_transit",
        "none",
        ("model.violation_rate_per_h=1", "model.warning_compliance=0", "model.replacement_days=1"),
    ),
    ("baltic_air_policing", "eln_seven", ()),
    ("drone_shootdown", "none", ()),
)


def _log_kinds_in_the_source() -> set[str]:
    """Every kind the model's code can pass to ``log``: the strings of each call's first argument."""
    kinds = set()
    for path in (ROOT / "sim" / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "log":
                if node.args:
                    kinds |= {
                        c.value
                        for c in ast.walk(node.args[0])
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)
                    }
    return kinds


@pytest.fixture(scope="module")
def logs() -> list[tuple[list[dict], object, float]]:
    """(events, change points, horizon in hours) of each replication of RUNS, and of a game at its first decision."""
    out = []
    for scenario, measures, overrides in RUNS:
        result = api.run(scenario=scenario, measures=measures, replications=10, workers=1, seed=1, overrides=overrides)
        for rep in result.ensemble.replications:
            out.append((rep.events, rep.changes, rep.relaxation.horizon_h))
    game = Game(compose_settings(["scenario=black_sea_transit"], "nato", seed=0))
    assert game.advance() is not None
    out.append((game.events, game.model.changes, float(game.model.time)))
    return out


def test_the_report_has_a_place_for_every_kind_the_model_logs_and_the_runs_write_them_all(logs):
    """A new kind of log line without a place in the report fails here (its KINDS table names them all)."""
    in_source = _log_kinds_in_the_source()
    assert in_source == set(KINDS), in_source ^ set(KINDS)
    seen = Counter(e["kind"] for events, _, _ in logs for e in events)
    assert set(seen) == set(KINDS), set(KINDS) - set(seen)


def test_every_log_line_reads_as_a_sentence_without_model_jargon_or_slips(logs):
    """Each line of each kind: a capital (or a marked inject) first, no None, NaN or snake_case outside an
    inject's name; a ship never violates airspace; a stand-down is never "rung 0"; a decision names the act
    it answers, which is in the log before it; an encounter between a quick-reaction pair and the flight it
    was sent against says so (it used to read as a second, separate intercept minutes from the first).
    """
    checked: Counter = Counter()
    escorts = 0
    for events, _, _ in logs:
        acts = {e["act"]: e for e in events if e.get("act")}
        for i, e in enumerate(events):
            text = e["text"]
            bare = re.sub(r"\[inject [a-z0-9_]+\] ", "", text)
            assert bare[:1].isupper(), (e["kind"], text)
            assert not re.search(r"\b(None|nan|NaN)\b", bare) and "_" not in bare, (e["kind"], text)
            assert not re.search(
                r"(destroyer|frigate|corvette|ship|submarine)\b[^;]*\b(violates|enters)\b[^;]*airspace", bare
            ), text
            assert "(rung 0)" not in text and "rung 0:" not in text, text
            if e["kind"] in ("response", "referral") and e.get("answers"):
                act = acts.get(e["answers"])
                assert act is not None and act["time_h"] <= e["time_h"], (text, e["answers"])
                assert f"act {e['answers']}" in text
            if e["kind"] == "incident" and "scrambles and intercepts" in text:
                pair = set(e["actors"])
                for other in events[max(0, i - 30) : i + 30]:
                    if other is e or other["kind"] != "incident" or set(other["actors"]) != pair:
                        continue
                    if other["text"].startswith("[inject"):  # a scripted incident, not the escort's encounter
                        continue
                    if abs(other["time_h"] - e["time_h"]) < 1.0 and "scrambles and intercepts" not in other["text"]:
                        assert "scrambled against it" in other["text"] or "escort" in other["text"], other["text"]
                        escorts += 1
            checked[e["kind"]] += 1
    assert set(checked) == set(KINDS)
    assert escorts > 0  # the escort wording was exercised


def test_the_report_tells_or_counts_every_event_once(logs):
    """Every event of a replication is either a told line or counted in an aggregate ("also 4 near-routine
    encounters", "and 3 signals more", "not listed: ..."), once; what the phases say matches the rung path.
    """
    for events, changes, horizon in logs:
        report = after_action(events, changes, horizon)
        told = counted = 0
        for section in report.sections:
            for line in section.lines:
                t = line.text
                if re.match(r"(Started by: |Ended: )?day \d+ \d\d:\d\d: ", t):  # an event, told once
                    told += 1
                elif t.startswith(("also ", "and ", "(not listed: ")):
                    counted += sum(int(n) for n in re.findall(r"(?:^|, |: |also |and )(\d+) ", t))
        assert told + counted == len(events), (told, counted, len(events), report.text()[:3000])
        phases = crisis_phases(changes, horizon)  # every run here is at most 60 days: phases from rung 2
        assert sum(s.crisis for s in report.sections) == len(phases)
        for (_start, end, peak, _), s in zip(phases, [s for s in report.sections if s.crisis], strict=True):
            assert f"peak rung {peak} (" in s.heading
            assert s.lines[-1].text.startswith("Ended: " if end is not None else "Still in crisis")


def test_near_routine_traffic_and_late_calls_are_counted_not_told():
    events = [
        {
            "time_h": 1.0,
            "clock": "day 1 01:00",
            "kind": "incident",
            "category": "near_routine",
            "text": "A intercepts B",
        },
        {
            "time_h": 2.0,
            "clock": "day 1 02:00",
            "kind": "incident",
            "category": "near_routine",
            "text": "A intercepts B",
        },
        {
            "time_h": 3.0,
            "clock": "day 1 03:00",
            "kind": "clarification",
            "text": "The hotline call reaches X after it has decided",
        },
        {
            "time_h": 4.0,
            "clock": "day 1 04:00",
            "kind": "response",
            "response": "hold",
            "severity": 0.1,
            "text": "X notes it",
        },
        {
            "time_h": 5.0,
            "clock": "day 1 05:00",
            "kind": "response",
            "response": "hold",
            "severity": 0.6,
            "text": "X holds",
        },
        {
            "time_h": 30.0,
            "clock": "day 2 06:00",
            "kind": "incident",
            "category": "serious",
            "act": 7,
            "text": "C buzzes D",
        },
        {
            "time_h": 32.0,
            "clock": "day 2 08:00",
            "kind": "response",
            "response": "protest",
            "answers": 7,
            "channel": "hotline",
            "text": "X decides after hotline contact: protest (act 7)",
        },
    ]
    assert [routine_kind(e) for e in events] == ["near-routine", "near-routine", "late call", "hold", None, None, None]
    changes = [(0.0, 1), (30.0, 2), (66.0, 1)]
    text = after_action(events, changes, 96.0, title="T").text()
    assert "Peak: rung 2 (dangerous incident); 1 crisis phase, 36 h above heightened vigilance in all." in text
    assert (
        "also 2 near-routine encounters, 1 call heard after the decision or conveying nothing, 1 routine hold" in text
    )
    assert "day 1 05:00: X holds" in text and "A intercepts B" not in text and "reaches X" not in text
    assert "Crisis 1: day 2 06:00 to day 3 18:00 (36 h), peak rung 2 (dangerous incident) at day 2 06:00" in text
    assert ">> Started by: day 2 06:00: C buzzes D" in text
    assert (
        ">> day 2 08:00: X decides after hotline contact: protest (act 7) [act 7 was at day 2 06:00, 2 h earlier]"
        in text
    )
    assert (
        "Ended: down to rung 1 (heightened vigilance) at day 3 18:00, 34 h after the last told event, with no new act"
        in text
    )
    assert crisis_phases([(0.0, 1), (10.0, 2), (20.0, 3), (30.0, 1), (50.0, 2)], 100.0) == [
        (10.0, 30.0, 3, 20.0),
        (50.0, None, 2, 50.0),
    ]


def test_a_game_in_progress_and_its_debrief_carry_the_report():
    game = Game(compose_settings(["scenario=black_sea_transit"], "nato", seed=3))
    while not game.finished:
        if game.advance() is not None:
            game.decide("hold")
        if game.model.rung >= 2 and not game.finished:
            report = game.after_action()
            assert report.title.startswith("Your game so far, to day ")
            assert "Still in crisis now" in report.text() or "Ended:" in report.text()
            break
    while not game.finished:
        if game.advance() is not None:
            game.decide("hold")
    d = game.debrief(replications=10)
    text = d.text()
    assert "\n\nAfter-action report\nYour game, to the end of day 21\nPeak: rung " in text
    assert "After-action report" not in d.text(with_after_action=False)


def test_a_crisis_era_year_reads_in_a_few_dozen_lines():
    """A crisis-era Baltic year writes 590-690 log lines a replication (10 replications, seed 0, measured
    2026-12-05); its report is 25-65 lines: crisis phases from a show of force up (the outcomes' crisis days),
    the dangerous-incident spells between them counted, and each 30 days of a long quiet stretch in a line.
    Nothing is lost: every event is still told or counted once.
    """
    from sim.calibration.targets import Setting, base_setup, setting_scenario
    from sim.run.runner import run_replications

    params, measures = base_setup()
    spec = setting_scenario(Setting("year", "baltic_air_policing", "crisis_2022", 365, False, 3))
    ens = run_replications(spec, params, measures, n=3, seed=0, workers=1, record_events=True)
    for rep in ens.replications:
        report = after_action(rep.events, rep.changes, 365 * 24)
        lines = sum(len(s.lines) + 1 for s in report.sections)
        assert len(rep.events) > 400 and lines <= 80, (len(rep.events), lines)
        assert all("heightened vigilance)" not in s.heading for s in report.sections)  # phases start at rung 3
        text = report.text()
        assert re.search(r"^  days \d+-\d+: \d+ serious or worse incidents?; ", text, re.M), text[:2000]
        assert re.search(r"dangerous-incident spells? \(rung 2\), ", text)
        told = sum(
            1
            for s in report.sections
            for x in s.lines
            if re.match(r"(Started by: |Ended: )?day \d+ \d\d:\d\d: ", x.text)
        )
        counted = sum(
            int(n)
            for s in report.sections
            for x in s.lines
            if x.text.startswith(("also ", "and ", "(not listed: "))
            for n in re.findall(r"(?:^|, |: |also |and )(\d+) ", x.text)
        )
        assert told + counted == len(rep.events)


def test_edges_each_event_told_once_and_the_rung_raiser_starts_the_crisis():
    """Hand-made edges (a sceptical review found each): at the instant a crisis starts, the event at the crisis rung
    starts it, not a rung-less one logged first; an event at the instant of a drop that is also a rise is told
    as what ended one crisis, and the next starts with the following event; a decision answering a use of force
    cites it; a crisis ending at the horizon adds no day after it; without a time series the log is not called
    quiet.
    """
    ev = [
        {"time_h": 10.0, "clock": "day 1 10:00", "kind": "rules of engagement", "text": "F is cleared to fire"},
        {"time_h": 10.0, "clock": "day 1 10:00", "kind": "force", "rung": 4, "act": 3, "text": "F fires on G"},
        {
            "time_h": 12.0,
            "clock": "day 1 12:00",
            "kind": "response",
            "response": "protest",
            "answers": 3,
            "severity": 0.9,
            "text": "H decides: protest (act 3)",
        },
        {"time_h": 20.0, "clock": "day 1 20:00", "kind": "posture", "text": "K sets a calm posture"},
        {
            "time_h": 20.0,
            "clock": "day 1 20:00",
            "kind": "incident",
            "category": "serious",
            "rung": 2,
            "act": 4,
            "text": "L buzzes M",
        },
        {"time_h": 48.0, "clock": "day 3 00:00", "kind": "signal", "text": "N announces a stand-down"},
    ]
    changes = [(0.0, 0), (10.0, 4), (20.0, 1), (20.0, 2), (48.0, 1)]
    report = after_action(ev, changes, 48.0, title="T")
    text = report.text()
    assert ">> Started by: day 1 10:00: F fires on G" in text
    assert "H decides: protest (act 3) [act 3 was at day 1 10:00, 2 h earlier]" in text
    assert "Ended: day 1 20:00: K sets a calm posture" in text and "Started by: day 1 20:00: L buzzes M" in text
    assert text.count("K sets a calm posture") == 1 and text.count("L buzzes M") == 1
    assert text.count("N announces a stand-down") == 1 and "Day 3: quiet" not in text
    assert [s.crisis for s in report.sections] == [False, True, True]  # quiet before, two crises, nothing after
    plain = after_action(ev, None, 48.0).text()
    assert "Days 1-2: the log, without crisis phases (the run kept no time series)" in plain and "quiet" not in plain
