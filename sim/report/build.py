"""Build a report from one or more run folders: figures (PNG/SVG), ``report.md`` and ``report.html``."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from sim.errors import UserError
from sim.report import figures as fig

REQUIRED = ("summary.json", "replications.csv", "timeseries.csv", "events.jsonl", ".hydra/config.yaml")
FIGURES = {
    "escalation_curve": "Escalation curve: median rung with 50% and 90% bands",
    "spaghetti": "Individual replications",
    "comparison": "Comparison of runs",
    "incident_timeline": "Incident timeline, coloured by ELN category",
    "theatre_map": "Theatre map",
    "comms_network": "Communication network under the chosen measures",
    "peak_distribution": "Distribution of peak rungs",
}


@dataclass
class Run:
    """Everything a report needs from one run folder."""

    path: Path
    label: str
    summary: dict
    replications: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame
    cfg: DictConfig


def load_run(path: Path, label: str | None = None) -> Run:
    """Read a run folder; a missing or unreadable file is a one-line ``UserError`` naming it."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: not a run folder")
    for name in REQUIRED:
        if not (path / name).is_file():
            hint = " (was the run made with output.timeseries=false or output.events=false?)" if name in REQUIRED[2:4] else ""
            raise UserError(f"{path / name}: missing{hint}")
    try:
        summary = json.loads((path / "summary.json").read_text())
        reps = pd.read_csv(path / "replications.csv")
        ts = pd.read_csv(path / "timeseries.csv")
        lines = (path / "events.jsonl").read_text().splitlines()
        events = pd.DataFrame([json.loads(line) for line in lines if line.strip()])
        cfg = OmegaConf.load(path / ".hydra" / "config.yaml")
    except (ValueError, OSError) as exc:
        raise UserError(f"{path}: cannot read the run's files ({str(exc).splitlines()[0]})") from None
    if events.empty:
        events = pd.DataFrame(columns=["replication", "time_h", "clock", "kind", "category", "text", "channel", "zone"])
    measures = ", ".join(summary.get("measures", [])) or "no measures"
    return Run(path, label or measures, summary, reps, ts, events, cfg)  # type: ignore[arg-type]


def _model(run: Run):
    """A model built from the run's saved config (for the theatre, channels and exercise placement)."""
    from sim.cli import load_configured_scenario
    from sim.config import measure_settings, model_params
    from sim.core.measures import build
    from sim.core.model import EscalationModel

    spec = load_configured_scenario(run.cfg)
    return EscalationModel(spec, model_params(run.cfg), build(measure_settings(run.cfg)), seed=0, record_events=False)


def _exercise_table(model) -> pd.DataFrame:
    rows = []
    for e in model.spec.exercises:
        zone = e.zone
        for m in model.measures:
            zone = m.exercise_zone(model, e, zone)
        rows.append({"name": e.name, "side": e.side.value, "zone": zone,
                     "distance_km": model.theatre.distance_to_territory(zone, e.side.other)})
    return pd.DataFrame(rows, columns=["name", "side", "zone", "distance_km"])


def pick_stories(reps: pd.DataFrame) -> dict[str, int]:
    """The replication with the median peak (most incidents among them) and the worst one."""
    median_peak = int(reps["peak_rung"].quantile(0.5, interpolation="lower"))
    median = reps[reps["peak_rung"] == median_peak].sort_values(["incidents", "replication"], ascending=[False, True])
    worst = reps.sort_values(["peak_rung", "crisis_days", "replication"], ascending=[False, False, True])
    return {"median": int(median.iloc[0]["replication"]), "worst": int(worst.iloc[0]["replication"])}


def is_turning_point(event: dict) -> bool:
    """Moments where a channel or a measure changed the course: contacts, restraint, meetings, replies after contact."""
    if event["kind"] == "clarification":
        return "too late" not in event["text"]
    if event["kind"] in ("restraint", "meeting"):
        return True
    return event["kind"] == "response" and bool(event.get("channel"))


def story(events: pd.DataFrame, replication: int) -> list[dict]:
    """The events of one replication worth telling: all but near-routine incidents and their routine holds."""
    rows = events[events["replication"] == replication].to_dict("records")
    told = []
    for e in rows:
        if e["kind"] == "incident" and e.get("category") == "near_routine":
            continue
        if e["kind"] == "response" and e.get("response") == "hold" and (e.get("severity") or 0) < 0.4:
            continue
        told.append({**e, "turning_point": is_turning_point(e)})
    return told


def build_report(
    run_dirs: Sequence[Path],
    labels: Sequence[str] | None = None,
    out: Path | None = None,
    formats: Sequence[str] = ("png", "svg"),
    sample: int = 20,
) -> Path:
    """Write every figure, ``report.md`` and ``report.html`` for the runs; return the report folder."""
    from sim.verdict import format_verdict

    if labels is not None and len(labels) != len(run_dirs):
        raise UserError(f"--labels gives {len(labels)} labels for {len(run_dirs)} runs")
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise UserError(f"unknown figure format {bad[0]!r} (formats: png, svg, pdf)")
    runs = [load_run(Path(p), labels[i] if labels else None) for i, p in enumerate(run_dirs)]
    main = runs[0]
    out = Path(out) if out else main.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    fig.use_style()
    model = _model(main)
    horizon_days = model.horizon_h / 24
    rungs = fig.rung_matrix(main.timeseries)
    drawn: dict[str, list[Path]] = {}
    title = f"{model.spec.title} | {main.label} | n={len(main.replications)}"
    drawn["escalation_curve"] = fig.save(fig.escalation_curve(rungs, title=title), out / "escalation_curve", formats)
    drawn["spaghetti"] = fig.save(fig.spaghetti(rungs, sample=sample), out / "spaghetti", formats)
    if len(runs) > 1:
        curves = [(r.label, fig.rung_matrix(r.timeseries)) for r in runs]
        drawn["comparison"] = fig.save(fig.comparison(curves, title=model.spec.title), out / "comparison", formats)
    drawn["incident_timeline"] = fig.save(fig.incident_timeline(main.events, horizon_days), out / "incident_timeline", formats)
    zones = pd.DataFrame([z.__dict__ for z in model.spec.zones])
    forces = pd.DataFrame([{"name": f.name, "side": f.side.value, "base": f.base} for f in model.spec.forces])
    incidents = main.events[main.events["kind"] == "incident"]["zone"].value_counts()
    drawn["theatre_map"] = fig.save(
        fig.theatre_map(zones, model.spec.links, forces, incidents, _exercise_table(model)), out / "theatre_map", formats
    )
    drawn["comms_network"] = fig.save(fig.comms_network(model.comms.graph), out / "comms_network", formats)
    drawn["peak_distribution"] = fig.save(
        fig.peak_distribution([(r.label, r.replications["peak_rung"]) for r in runs]), out / "peak_distribution", formats
    )
    stories = {k: story(main.events, v) for k, v in pick_stories(main.replications).items()}
    picks = pick_stories(main.replications)
    verdicts = [(r.label, format_verdict(r.summary)) for r in runs]
    _write_markdown(out, model.spec.title, verdicts, drawn, stories, picks)
    _write_html(out, model.spec.title, verdicts, drawn, stories, picks)
    return out


def _write_markdown(out, title, verdicts, drawn, stories, picks) -> None:
    lines = [f"# {title}", ""]
    for label, verdict in verdicts:
        lines += [f"## Verdict: {label}", "", "```", verdict, "```", ""]
    for key, paths in drawn.items():
        png = next((p for p in paths if p.suffix == ".png"), paths[0])
        lines += [f"## {FIGURES[key]}", "", f"![{FIGURES[key]}]({png.name})", ""]
    for key, name in (("median", "a replication with the median peak"), ("worst", "the worst replication")):
        lines += [f"## The story of {name} (replication {picks[key]})", "",
                  "Moments where a channel or a measure changed the course are in **bold**.", ""]
        for e in stories[key]:
            text = f"{e['clock']} — {e['text']}"
            lines.append(f"- **{text}**" if e["turning_point"] else f"- {text}")
        lines.append("")
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _write_html(out, title, verdicts, drawn, stories, picks) -> None:
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}",
        "img{max-width:100%;border:1px solid #ddd}pre{background:#f6f6f6;padding:1em;overflow-x:auto}",
        "li.tp{font-weight:bold;background:#fff3c4}li{margin:.2em 0}",
        "</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for label, verdict in verdicts:
        parts += [f"<h2>Verdict: {esc(label)}</h2>", f"<pre>{esc(verdict)}</pre>"]
    for key, paths in drawn.items():
        png = next((p for p in paths if p.suffix == ".png"), None)
        if png is None:
            continue
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        parts += [f"<h2>{esc(FIGURES[key])}</h2>", f"<img alt='{esc(FIGURES[key])}' src='data:image/png;base64,{data}'>"]
    for key, name in (("median", "a replication with the median peak"), ("worst", "the worst replication")):
        parts += [f"<h2>The story of {name} (replication {picks[key]})</h2>",
                  "<p>Moments where a channel or a measure changed the course are highlighted.</p><ul>"]
        for e in stories[key]:
            cls = " class='tp'" if e["turning_point"] else ""
            parts.append(f"<li{cls}>{esc(e['clock'])} — {esc(e['text'])}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    (out / "report.html").write_text("\n".join(parts), encoding="utf-8")
