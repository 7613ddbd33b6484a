"""Figures and reports for instructors, from small real runs."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.report import figures
from sim.report.build import FIGURES, build_report, pick_stories

EXE = Path(sys.executable).with_name("escalation")


def escalation(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two small runs of the Black Sea scenario, without and with the hotline (same seeds)."""
    base = tmp_path_factory.mktemp("runs")
    for name, measures in (("none", "none"), ("hotline", "hotline")):
        proc = escalation(
            "run",
            "scenario=black_sea_transit",
            f"measures={measures}",
            "replications=12",
            "workers=1",
            f"hydra.run.dir={base / name}",
            cwd=base,
        )
        assert proc.returncode == 0, proc.stderr
    return base


@pytest.mark.slow
def test_a_run_writes_its_report_unless_switched_off(runs, tmp_path):
    report = runs / "none" / "report"
    for key in FIGURES:
        if key != "comparison":
            assert (report / f"{key}.png").stat().st_size > 10_000 and (report / f"{key}.svg").exists(), key
    assert (report / "report.html").exists() and (report / "report.md").exists()
    proc = escalation(
        "run", "replications=2", "workers=1", "output.report=false", f"hydra.run.dir={tmp_path / 'x'}", cwd=tmp_path
    )
    assert proc.returncode == 0 and not (tmp_path / "x" / "report").exists()
    assert not (tmp_path / "x" / "escalation_curve.png").exists()  # an unset output.plot follows the report
    proc = escalation(
        "run",
        "replications=2",
        "workers=1",
        "output.report=false",
        "output.plot=true",
        f"hydra.run.dir={tmp_path / 'y'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and not (tmp_path / "y" / "report").exists()
    assert (tmp_path / "y" / "escalation_curve.png").stat().st_size > 10_000


@pytest.mark.slow
def test_comparison_report_of_two_runs(runs, tmp_path):
    out = build_report(
        [runs / "none", runs / "hotline"], labels=["none", "hotline"], out=tmp_path / "cmp", formats=["png"]
    )
    assert (out / "comparison.png").exists() and (out / "peak_distribution.png").exists()
    md = (out / "report.md").read_text()
    assert "## Verdict: none" in md and "## Verdict: hotline" in md and "comparison.png" in md


@pytest.mark.slow
def test_html_report_is_self_contained(runs):
    text = (runs / "hotline" / "report" / "report.html").read_text()
    sources = re.findall(r"src='([^']*)'", text)
    assert len(sources) == 6
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    links = re.findall(r"(?:src|href)=['\"]([^'\"]*)", text)
    assert all(link.startswith(("data:", "#")) for link in links), "the report must open with no network"
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert "<li class='tp'>" in text  # turning points are highlighted in the story


@pytest.mark.slow
def test_stories_tell_the_median_and_the_worst_replication(runs):
    md = (runs / "none" / "report" / "report.md").read_text()
    assert "The story of a replication with the median peak" in md and "The story of the worst replication" in md
    # each story is an after-action report: crisis phases with what started and ended them, decisions tied
    # to the act they answer (with its time), near-routine traffic counted rather than listed
    stories = md.split("## The story of")[1:]
    assert len(stories) == 2
    for told in stories:
        assert re.search(r"^\*\*Crisis 1: day \d+ \d\d:\d\d to .*peak rung [2-7] \(", told, re.M), told[:500]
        assert re.search(r"^- \*\*Started by: day \d+ \d\d:\d\d: ", told, re.M)
        assert re.search(r"^- (Ended: |Still in crisis at the horizon)", told, re.M)
        assert re.search(r"\\\[act \d+ was at day \d+ \d\d:\d\d, .* earlier\\\]", told)  # escaped brackets
        assert re.search(r"^- also \d+ near-routine encounters?", told, re.M)
        assert "(near-routine)" not in told  # no near-routine encounter is told one by one


def test_story_picks():
    reps = pd.DataFrame(
        {
            "replication": range(5),
            "peak_rung": [2, 3, 2, 5, 2],
            "crisis_days": [0, 1, 0, 3, 0],
            "incidents": [10, 11, 14, 9, 12],
        }
    )
    assert pick_stories(reps) == {"median": 2, "worst": 3}


def test_curve_ticks_are_rung_names():
    figures.use_style()
    rungs = np.random.default_rng(0).integers(0, 4, size=(10, 48))
    ax = figures.escalation_curve(rungs)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        f"{r} {name}"
        for r, name in enumerate(
            [
                "routine",
                "heightened vigilance",
                "dangerous incident",
                "show of force",
                "use of force, limited",
                "armed clash",
                "regional war",
                "nuclear threshold",
            ]
        )
    ]
    assert "days" in ax.get_xlabel()
    shading = [c for c in ax.collections]
    assert len(shading) == 2  # the 90% and the 50% band


def _effects(n: int) -> pd.DataFrame:
    est = np.linspace(-0.05, 0.03, n)
    return pd.DataFrame(
        {
            "config": [f"measures.m{i}.enabled={'true' if i % 2 else 'false'},seed=0" for i in range(n)],
            "diff_reached_rung_4": est,
            "diff_reached_rung_4_lo": est - 0.01,
            "diff_reached_rung_4_hi": est + 0.01,
        }
    )


def test_a_large_sweeps_forest_plot_stays_a_page_and_keeps_every_label(tmp_path):
    """A 2^7 factorial's 127 configurations: every one is labelled, sorted by effect, and the figure is at most
    25 inches tall (it was 58.6, 2,000 x 11,700 pixels at the style's 200 dpi). A small sweep keeps 0.45 inch a row.
    """
    figures.use_style()
    small = figures.forest(_effects(8))
    assert small.figure.get_figheight() == pytest.approx(0.45 * 8 + 1.5)
    assert small.get_yticklabels()[0].get_fontsize() == pytest.approx(11)  # the style's label size
    figures.plt.close(small.figure)
    d = _effects(127)
    ax = figures.forest(d)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == d.sort_values("diff_reached_rung_4")["config"].to_list()
    assert ax.figure.get_figheight() <= 25
    png = figures.save(ax, tmp_path / "forest", ["png"])[0]
    assert png.stat().st_size > 0


def test_a_large_sweeps_survival_figure_names_the_baseline_and_the_extremes_and_greys_the_rest():
    """128 configurations (a 2^7 factorial): the legend names the baseline and the configurations that reach the
    rung least and most, and counts the others, drawn grey; a legend of all 128 buried the axes (and constrained
    layout gave up). Eight or fewer keep one named, coloured curve each.
    """
    from sim.analysis.survival import Durations, kaplan_meier

    figures.use_style()
    rng = np.random.default_rng(3)
    curves = {}
    for i in range(128):  # configuration i reaches the rung in about i/128 of 40 replications
        reached = rng.random(40) < i / 160
        curves[f"c{i}"] = kaplan_meier(Durations(np.where(reached, rng.uniform(0, 30, 40), 30.0), reached))
    final = {k: (c.survival[-1] if c.events else 1.0) for k, c in curves.items()}
    never = sum(v == 1.0 for v in final.values())  # configurations that never reached it: a tie, and said so
    assert never > 1 and final["c40"] < 1.0
    for baseline, named_lines in (("c40", 3), ("c0", 2)):  # c0 never reaches it: the baseline is also 'least'
        ax = figures.survival_curves(curves, 30.0, 4, baseline=baseline)
        text = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(text) == 1 + named_lines and text[0].startswith(f"{128 - named_lines} other configurations")
        named = {}
        for t in text[1:]:
            name, roles = t.split(" [")[0], t.split(" [")[1].split("]")[0]
            for role in roles.split("; "):
                named[role.split(",")[0]] = name
        assert named["baseline"] == baseline and text[1].startswith(f"{baseline} [baseline")
        assert final[named["reaches it most"]] == min(final.values()) < 0.8
        assert final[named["reaches it least"]] == max(final.values()) == 1.0
        assert f"reaches it least, as {never - 1} others]" in " ".join(text)
        assert len(ax.lines) == 128 + 1  # every configuration's curve (grey or named), and the legend's proxy
        figures.plt.close(ax.figure)
    few = figures.survival_curves({k: curves[k] for k in list(curves)[60:66]}, 30.0, 4)
    assert [t.get_text().split(" (")[0] for t in few.get_legend().get_texts()] == list(curves)[60:66]
    figures.plt.close(few.figure)


def _overlapping(boxes) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def test_peak_rung_names_and_channel_names_do_not_run_into_each_other(scenarios, params):
    """Drawn at the report's size: no two rung names under the peak distribution overlap (at 9 points on one line
    'heightened vigilance' ran into 'dangerous incident'), and no actor's name on the channel figure runs into
    another or into the level names on the axis ('North Atlantic Council and capitals' did).
    """
    from sim.core.model import EscalationModel

    figures.use_style()
    peaks = pd.Series(np.random.default_rng(0).integers(0, 5, 200))
    ax = figures.peak_distribution([("no measures", peaks), ("eln_seven", peaks)])
    ax.figure.canvas.draw()
    ticks = [t.get_window_extent() for t in ax.get_xticklabels()]
    assert len(ticks) == 8 and _overlapping(ticks) == []
    figures.plt.close(ax.figure)
    for name in ("baltic_air_policing", "black_sea_transit"):
        model = EscalationModel(scenarios[name], params, [], seed=0)
        ax = figures.comms_network(model.comms.graph)
        ax.figure.canvas.draw()
        names = [t.get_window_extent() for t in ax.texts if "h," not in t.get_text()]  # not the channels' boxes
        levels = [t.get_window_extent() for t in ax.get_yticklabels()]
        assert len(names) == len(model.comms.graph) and _overlapping(names) == []
        assert not any(n.overlaps(level) for n in names for level in levels), name
        figures.plt.close(ax.figure)


@pytest.mark.slow
def test_missing_file_gets_one_line_naming_it(runs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(runs / "none", broken)
    (broken / "events.jsonl").unlink()
    proc = escalation("report", str(broken), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(broken / "events.jsonl") in lines[0] and "missing" in lines[0]
    proc = escalation("report", str(runs / "none"), str(runs / "hotline"), "--labels", "just-one", cwd=tmp_path)
    assert proc.returncode == 2 and "1 labels for 2 runs" in proc.stderr
    proc = escalation("report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2 and "not a run folder" in proc.stderr


def test_turning_points_follow_the_second_models_event_kinds():
    from sim.report.build import is_turning_point

    heard = {
        "kind": "clarification",
        "text": "Over the hotline, Russia says the air intercept by X was a deliberate warning",
    }
    late = {"kind": "clarification", "text": "The hotline call reaches North Atlantic Council after it has decided"}
    assert is_turning_point(heard) and not is_turning_point(late)
    for kind in ("signal", "posture", "force", "rules of engagement", "meeting"):
        assert is_turning_point({"kind": kind, "text": "x"})
    assert not is_turning_point({"kind": "incident", "text": "x"})
    assert not is_turning_point({"kind": "response", "text": "x", "channel": float("nan")})  # a table's empty cell
    assert is_turning_point({"kind": "response", "text": "x", "channel": "hotline"})


@pytest.mark.slow
def test_two_runs_overlay_their_curves_and_show_every_other_figure_per_run(runs, tmp_path):
    """The instructor's report of two runs: the paired difference with its interval; both runs' escalation
    curves on one axis (each its median and 90% band, the Black Sea's scripted inject marked); the spaghetti,
    timeline, map and channel figures one panel per run (read back from the SVGs' text); the channel panel
    of the hotline run shows both leaders' channels (the hotline and the diplomatic line) and the inject is
    marked on both timelines; each run has its stories.
    """
    out = build_report(
        [runs / "none", runs / "hotline"], labels=["none", "hotline"], out=tmp_path / "cmp", formats=["png", "svg"]
    )
    md = (out / "report.md").read_text()
    assert "## Paired effect of each run against none (same seeds), with 95% intervals" in md
    assert "## Escalation curves of every run on one axis: median rung and 90% band (dotted: scripted injects)" in md
    assert "first run only" not in md
    for key in ("spaghetti", "incident_timeline", "theatre_map", "comms_network"):
        svg = (out / f"{key}.svg").read_text()
        assert svg.count("none (n=12): ") == 1 and svg.count("hotline (n=12): ") == 1, key
    curves = (out / "escalation_curve.svg").read_text()
    for text in ("none: median", "hotline: median", "none: 90% of replications", "hotline: 90% of replications"):
        assert text in curves
    assert curves.count("cape_fiolent") == 1 and (out / "incident_timeline.svg").read_text().count("cape_fiolent") == 2
    channels = (out / "comms_network.svg").read_text()
    assert "hotline: 0.5 h, 90% up" in channels and channels.count("diplomatic: 24 h") == 2
    assert "replication" in md and md.count("## The story of") == 4 and ", hotline)" in md
    html_text = (out / "report.html").read_text()
    assert "Paired effect of each run against none" in html_text and "(one panel per run)" in html_text


@pytest.mark.slow
def test_the_html_report_is_rendered_from_the_markdown_and_names_cannot_inject_html(tmp_path):
    """report.html is report.md rendered: the same headings and story lines; a scenario's text with HTML or
    Markdown in it comes out as text (no tag, no link).
    """
    import yaml

    from sim.run.paths import SCENARIO_DIR

    spec = yaml.safe_load((SCENARIO_DIR / "black_sea_transit.yaml").read_text())
    spec["injects"][0]["text"] = "<script>alert(1)</script> [click](https://example.org) *loud*"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    proc = escalation(
        "run", f"scenario_file={path}", "replications=3", "workers=1", f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    html_text = (tmp_path / "r" / "report" / "report.html").read_text()
    md = (tmp_path / "r" / "report" / "report.md").read_text()
    assert "<script" not in html_text and "https://example.org" not in re.findall(r"href=['\"]([^'\"]*)", html_text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    for heading in re.findall(r"^## (.+)$", md, re.M):
        assert heading.replace("\\", "") in html_text.replace("&amp;", "&")


def test_a_band_where_every_replication_sits_at_one_rung_is_drawn_not_left_white():
    """20 replications over 48 hours: spread over rungs 0-3 except hours 12-35, where all sit at rung 2. The
    pixel just above rung 2 at day 1.2 (hour 29) is shaded, as it is in the spread hours (the old band went from
    rung 2 to rung 2 there: no height, a white gap).
    """
    figures.use_style()
    rungs = np.tile(np.arange(20) % 4, (48, 1)).T
    rungs[:, 12:36] = 2
    ax = figures.escalation_curve(rungs)
    fig = ax.figure
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]

    def at(day: float, rung: float) -> np.ndarray:
        x, y = ax.transData.transform((day, rung))
        return pixels[int(round(fig.bbox.height - y)), int(round(x))]

    white = np.array([255, 255, 255])
    assert (at(1.2, 2.1) != white).any()  # all at one rung: a thin band around it
    assert (at(0.25, 2.5) != white).any()  # spread hours: the 90% band from 0 to 3
    assert (at(1.2, 2.6) == white).all()  # nothing there while all sit at rung 2 (off the grid lines)
    figures.plt.close(fig)


def test_scripted_injects_are_marked_on_the_curve_and_the_timeline():
    figures.use_style()
    rungs = np.random.default_rng(0).integers(0, 3, size=(10, 240))
    ax = figures.escalation_curve(rungs, injects=[(3.0, "vaindloo"), (7.5, "unsafe_pass")])
    assert [t.get_text() for t in ax.texts if t.get_gid() == "inject"] == ["vaindloo", "unsafe_pass"]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_gid() == "inject"] == [3.0, 7.5]
    figures.plt.close(ax.figure)
    events = pd.DataFrame(
        {"replication": [0, 1], "time_h": [5.0, 30.0], "kind": "incident", "category": ["serious", "near_routine"]}
    )
    ax = figures.incident_timeline(events, 10, injects=[(3.0, "vaindloo")])
    assert [t.get_text() for t in ax.texts if t.get_gid() == "inject"] == ["vaindloo"]
    figures.plt.close(ax.figure)


def test_the_channel_figure_shows_every_channel_not_one_per_pair_of_actors(scenarios, params):
    """Baltic with the hotline, the liaison mission, the strategic stability dialogue and incidents at sea: six
    channels across the divide (two of them between the crews, three between the leaders). The graph keeps the
    fastest of each pair (three edges); the figure draws and labels all six.
    """
    from conftest import settings

    from sim.core.measures import build
    from sim.core.model import EscalationModel

    figures.use_style()
    measures = build(settings("hotline", "liaison_mission", "strategic_stability_dialogue", "incidents_at_sea"))
    model = EscalationModel(scenarios["baltic_air_policing"], params, measures, seed=0)
    assert len(model.comms.cross) == 6
    ax = figures.comms_network(model.comms.graph, channels=model.comms.cross)
    boxes = sorted(t.get_text().split(":")[0] for t in ax.texts if " h, " in t.get_text())
    assert boxes == sorted(ch.kind for ch in model.comms.cross)
    kinds = {"hotline", "diplomatic", "strategic_dialogue", "on_scene_radio", "standard_signals", "liaison"}
    assert set(boxes) == kinds
    assert ax.get_title().endswith("6 across the divide")
    figures.plt.close(ax.figure)


def test_the_report_skips_other_replications_event_lines_without_parsing_them(tmp_path, monkeypatch):
    """events.jsonl as a run writes it (orjson, compact) and as older runs wrote it (a space after ':' and ','):
    lines of replications that are not stories, and not incidents, are skipped unparsed; the rest are read.
    """
    import json

    import sim.report.build as build
    from sim.run.runner import event_line

    events = [
        (0, {"time_h": 1.0, "kind": "incident", "zone": "Gulf of Finland", "text": 'a "quoted" ":" word'}),
        (1, {"time_h": 2.0, "kind": "decision", "zone": None, "text": "kind: incident"}),
        (1, {"time_h": 3.0, "kind": "incident", "zone": "Gulf of Finland", "text": "x"}),
        (2, {"time_h": 4.0, "kind": "statement", "zone": None, "text": "y"}),
    ]
    compact = [event_line(r, e) for r, e in events]
    spaced = [json.dumps({"replication": r, **e}) + "\n" for r, e in events]
    assert compact[0].startswith('{"replication":0,') and spaced[0].startswith('{"replication": 0,')
    parsed = []
    real = json.loads
    monkeypatch.setattr(build.json, "loads", lambda s, *a, **k: parsed.append(s) or real(s, *a, **k))
    for lines in (compact, spaced):
        path = tmp_path / "events.jsonl"
        path.write_text("".join(lines), encoding="utf-8")
        parsed.clear()
        kept, zones = build._read_events(path, stories={0})
        assert len(parsed) == 2, parsed  # replication 0's incident and replication 1's incident; 1's and 2's others not
        assert zones.to_dict() == {"Gulf of Finland": 2} and sorted(kept["time_h"]) == [1.0, 3.0]
