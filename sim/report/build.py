"""Build a report from one or more run folders: figures (PNG/SVG), ``report.md`` and ``report.html``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from omegaconf import DictConfig, OmegaConf

from sim.analysis.aar import AfterAction, after_action, is_turning_point  # noqa: F401 (is_turning_point: re-exported)
from sim.analysis.series import hours, rung_by_hour
from sim.report import figures as fig
from sim.run.errors import UserError

REQUIRED = ("summary.json", "replications.csv", "timeseries.parquet", "events.jsonl", ".hydra/config.yaml")
FIGURES = {
    "escalation_curve": "Escalation curve: median rung with 50% and 90% bands (dotted: scripted injects)",
    "spaghetti": "Individual replications",
    "comparison": "Paired effect of each run against the first (same seeds), with 95% intervals",
    "incident_timeline": "Incident timeline, coloured by ELN category (dotted: scripted injects)",
    "theatre_map": "Theatre map",
    "comms_network": "Communication network under the chosen measures: every channel across the divide",
    "peak_distribution": "Distribution of peak rungs",
}
# With several runs: the curves overlaid on one axis, the figures below one panel per run.
PER_RUN = ("spaghetti", "incident_timeline", "theatre_map", "comms_network")


@dataclass
class Run:
    """What a report needs from one run folder, read in a single streaming pass over the big files.

    Memory does not grow with the number of replications: the time series is reduced to counts
    per hour and rung plus a sample of replications for the spaghetti plot, and the event log
    to the incidents of the first replications (timeline), the two told stories and counts of
    incidents per zone.
    """

    path: Path
    label: str
    summary: dict
    replications: pd.DataFrame
    counts: np.ndarray  # replications per hour (rows) and rung (columns)
    sample: np.ndarray  # rung matrix of the sampled replications (spaghetti)
    events: pd.DataFrame  # the events kept (see above)
    incident_zones: pd.Series  # incidents per zone name, all replications
    picks: dict[str, int]
    cfg: DictConfig
    story_changes: dict[int, np.ndarray] | None = None  # (time_h, rung) change points of the told replications


EVENT_COLUMNS = [
    "replication",
    "time_h",
    "clock",
    "kind",
    "category",
    "text",
    "channel",
    "zone",
    "response",
    "severity",
    "act",
    "answers",
    "rung",
]
TIMELINE_REPLICATIONS = 30


def load_run(path: Path, label: str | None = None, summary: dict | None = None, sample: int = 20) -> Run:
    """Read a run folder; a missing or unreadable file is a one-line ``UserError`` naming it."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path}: not a run folder")
    for name in REQUIRED:
        if name == "summary.json" and summary is not None:
            continue
        if not (path / name).is_file():
            hint = (
                " (was the run made with output.timeseries=false or output.events=false?)"
                if name in REQUIRED[2:4]
                else ""
            )
            raise UserError(f"{path / name}: missing{hint}")
    try:
        if summary is None:
            summary = json.loads((path / "summary.json").read_text())
        reps = pd.read_csv(path / "replications.csv")
        cfg = OmegaConf.load(path / ".hydra" / "config.yaml")
        ids = np.sort(reps["replication"].to_numpy())
        rows = np.random.default_rng(0).choice(len(ids), size=min(sample, len(ids)), replace=False)
        sampled = {int(i): k for k, i in enumerate(ids[np.sort(rows)])}
        picks = pick_stories(reps)
        story_changes: dict[int, np.ndarray] = {}
        counts, sample_rungs = _read_changes(path / "timeseries.parquet", sampled, set(picks.values()), story_changes)
        events, zones = _read_events(path / "events.jsonl", set(picks.values()))
    except (ValueError, OSError, KeyError) as exc:
        raise UserError(f"{path}: cannot read the run's files ({str(exc).splitlines()[0]})") from None
    measures = ", ".join(summary.get("measures", [])) or "no measures"
    return Run(path, label or measures, summary, reps, counts, sample_rungs, events, zones, picks, cfg, story_changes)  # type: ignore[arg-type]


def _read_changes(
    path: Path, sampled: dict[int, int], stories: set[int] | None = None, story_changes: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Replications per hour and rung, and the hourly rung paths of the ``sampled`` replications.

    Read from the change points, one Parquet row group at a time. The change points (time, rung) of
    the ``stories`` replications go into ``story_changes`` (their after-action reports).
    """
    meta = pq.read_schema(path).metadata or {}
    relax = json.loads(meta.get(b"relaxation", b"null"))
    if not relax:
        raise ValueError("timeseries.parquet: no horizon in its metadata (not written by escalation run)")
    grid = hours(relax["horizon_h"])
    counts = np.zeros((len(grid), fig.TOP_RUNG + 1), dtype=np.int64)
    paths: dict[int, np.ndarray] = {}
    file = pq.ParquetFile(path)
    carry: pd.DataFrame | None = None  # a replication's rows may run on into the next row group
    for k in range(file.num_row_groups):
        chunk = file.read_row_group(k, columns=["replication", "time_h", "rung"]).to_pandas()
        if carry is not None:
            chunk = pd.concat([carry, chunk], ignore_index=True)
        last = chunk["replication"].iloc[-1] if len(chunk) else None
        done = chunk[chunk["replication"] != last] if k < file.num_row_groups - 1 else chunk
        carry = chunk[chunk["replication"] == last] if k < file.num_row_groups - 1 else None
        if len(done) and (done["rung"].min() < 0 or done["rung"].max() > fig.TOP_RUNG):
            raise ValueError("timeseries.parquet: rung outside 0-7")
        for rep, part in done.groupby("replication", sort=False):
            rung = rung_by_hour(part["time_h"].to_numpy(), part["rung"].to_numpy(), relax["horizon_h"])
            counts[np.arange(len(rung)), rung] += 1
            if int(rep) in sampled:
                paths[int(rep)] = rung
            if stories and story_changes is not None and int(rep) in stories:
                story_changes[int(rep)] = part[["time_h", "rung"]].to_numpy()
    sample = [paths[k] for k in sorted(sampled) if k in paths]
    return counts, np.array(sample) if sample else np.zeros((0, len(grid)), dtype=np.int64)


def _read_events(path: Path, stories: set[int]) -> tuple[pd.DataFrame, pd.Series]:
    """Events of the story replications, incidents of the first replications, incidents per zone."""
    kept: list[dict] = []
    timeline: set[int] = set()
    zones: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            # quotes inside a JSON text are escaped: only the key can match (written compact since 2026-12-06,
            # with a space after ':' and ',' before)
            incident = '"kind":"incident"' in line or '"kind": "incident"' in line
            if not incident and line.startswith('{"replication":'):
                # what the run wrote: the replication number first; skip other kinds of events
                # of replications that are not stories without parsing the line
                head = line[15 : line.find(",", 15)].strip()
                if head.isdigit() and int(head) not in stories:
                    continue
            e = json.loads(line)
            rep = e.get("replication")
            incident = e.get("kind") == "incident"
            if incident:
                zone = e.get("zone")
                if zone is not None:
                    zones[zone] = zones.get(zone, 0) + 1
                if rep not in timeline and len(timeline) < TIMELINE_REPLICATIONS:
                    timeline.add(rep)
            if rep in stories or (incident and rep in timeline):
                kept.append({k: e.get(k) for k in EVENT_COLUMNS})
    events = pd.DataFrame(kept, columns=EVENT_COLUMNS)
    return events, pd.Series(zones, dtype="int64").sort_values(ascending=False)


def _model(run: Run):
    """A model built from the run's saved config (for the theatre, channels and exercise placement)."""
    from sim.core.measures import build
    from sim.core.model import EscalationModel
    from sim.run.config import load_configured_scenario, measure_settings, model_params

    spec = load_configured_scenario(run.cfg)
    return EscalationModel(spec, model_params(run.cfg), build(measure_settings(run.cfg)), seed=0, record_events=False)


def _exercise_table(model) -> pd.DataFrame:
    rows = []
    for e in model.spec.exercises:
        zone = e.zone
        for m in model.measures:
            zone = m.exercise_zone(model, e, zone)
        rows.append(
            {
                "name": e.name,
                "side": e.side.value,
                "zone": zone,
                "distance_km": model.theatre.distance_to_territory(zone, e.side.other),
            }
        )
    return pd.DataFrame(rows, columns=["name", "side", "zone", "distance_km"])


def pick_stories(reps: pd.DataFrame) -> dict[str, int]:
    """The replication with the median peak (most incidents among them) and the worst one."""
    median_peak = int(reps["peak_rung"].quantile(0.5, interpolation="lower"))
    median = reps[reps["peak_rung"] == median_peak].sort_values(["incidents", "replication"], ascending=[False, True])
    worst = reps.sort_values(["peak_rung", "crisis_days", "replication"], ascending=[False, False, True])
    return {"median": int(median.iloc[0]["replication"]), "worst": int(worst.iloc[0]["replication"])}


def story(run: Run, replication: int, horizon_h: float) -> AfterAction:
    """The after-action report of one told replication (``sim.analysis.aar``)."""
    events = run.events[run.events["replication"] == replication].to_dict("records")
    changes = (run.story_changes or {}).get(replication)
    return after_action(events, changes, horizon_h, title=f"Replication {replication}")


def _paired(runs) -> pd.DataFrame | None:
    """Each later run minus the first, replication by replication, if they share the seed (else None)."""
    from sim.analysis.effects import paired_differences

    if len({r.summary.get("seed") for r in runs}) != 1:
        return None
    labels = [r.label for r in runs]
    if len(set(labels)) < len(labels):  # two runs with the same measures: tell them apart by position
        labels = [f"{i + 1}: {lab}" for i, lab in enumerate(labels)]
    table = pd.concat(
        [r.replications.assign(config=lab) for r, lab in zip(runs, labels, strict=True)], ignore_index=True
    )
    return paired_differences(table, {lab: labels[0] for lab in labels[1:]})


def build_report(
    run_dirs: Sequence[Path],
    labels: Sequence[str] | None = None,
    out: Path | None = None,
    formats: Sequence[str] = ("png", "svg"),
    sample: int = 20,
    summaries: Sequence[dict | None] | None = None,
) -> Path:
    """Write every figure, ``report.md`` and ``report.html`` for the runs; return the report folder."""
    from sim.analysis.verdict import format_verdict

    if labels is not None and len(labels) != len(run_dirs):
        raise UserError(f"--labels gives {len(labels)} labels for {len(run_dirs)} runs")
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise UserError(f"unknown figure format {bad[0]!r} (formats: png, svg, pdf)")
    summaries = list(summaries) if summaries is not None else [None] * len(run_dirs)
    runs = [
        load_run(Path(p), labels[i] if labels else None, summary=summaries[i], sample=sample)
        for i, p in enumerate(run_dirs)
    ]
    main = runs[0]
    out = Path(out) if out else main.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    fig.use_style()
    models = [_model(r) for r in runs]
    model = models[0]
    drawn: dict[str, list[Path]] = {}
    several = len(runs) > 1
    injects = [_injects(m) for m in models]
    if several:
        marks = sorted({mark for ms in injects for mark in ms})
        drawn["escalation_curve"] = fig.save(
            fig.escalation_curves([(r.label, r.counts) for r in runs], marks, title=f"{model.spec.title}: the runs"),
            out / "escalation_curve",
            formats,
        )
    else:
        title = f"{model.spec.title} | {main.label} | n={len(main.replications)}"
        drawn["escalation_curve"] = fig.save(
            fig.escalation_curve(counts=main.counts, title=title, injects=injects[0]), out / "escalation_curve", formats
        )
    labels = [f"{r.label} (n={len(r.replications)})" for r in runs]

    def panels(draw, size: tuple[float, float]):
        if several:
            return fig.small_multiples(labels, draw, size)
        ax = fig._new(None, size)
        draw(0, ax)
        return ax

    drawn["spaghetti"] = fig.save(
        panels(lambda i, ax: fig.spaghetti(runs[i].sample, sample=sample, ax=ax), (8, 4.8)), out / "spaghetti", formats
    )
    if several:
        diffs = _paired(runs)
        if diffs is not None:
            drawn["comparison"] = fig.save(fig.paired_effects(diffs, baseline=main.label), out / "comparison", formats)
    drawn["incident_timeline"] = fig.save(
        panels(
            lambda i, ax: fig.incident_timeline(runs[i].events, models[i].horizon_h / 24, ax=ax, injects=injects[i]),
            (10, 5.6),
        ),
        out / "incident_timeline",
        formats,
    )

    def theatre(i, ax):
        m = models[i]
        zones = pd.DataFrame([z.__dict__ for z in m.spec.zones])
        forces = pd.DataFrame([{"name": f.name, "side": f.side.value, "base": f.base} for f in m.spec.forces])
        fig.theatre_map(zones, m.spec.links, forces, runs[i].incident_zones, _exercise_table(m), ax=ax)

    drawn["theatre_map"] = fig.save(panels(theatre, (11, 8)), out / "theatre_map", formats)
    drawn["comms_network"] = fig.save(
        panels(lambda i, ax: fig.comms_network(models[i].comms.graph, ax=ax, channels=models[i].comms.cross), (10, 6)),
        out / "comms_network",
        formats,
    )
    drawn["peak_distribution"] = fig.save(
        fig.peak_distribution([(r.label, r.replications["peak_rung"]) for r in runs]),
        out / "peak_distribution",
        formats,
    )
    captions = dict(FIGURES)
    if several:
        captions["escalation_curve"] = (
            "Escalation curves of every run on one axis: median rung and 90% band (dotted: scripted injects)"
        )
        for key in PER_RUN:
            captions[key] = f"{FIGURES[key]} (one panel per run)"
        captions["comparison"] = f"Paired effect of each run against {main.label} (same seeds), with 95% intervals"
    stories = [
        (r.label, r.picks, {k: story(r, v, models[i].horizon_h) for k, v in r.picks.items()})
        for i, r in enumerate(runs)
    ]
    verdicts = [(r.label, format_verdict(r.summary)) for r in runs]
    text = _write_markdown(out, model.spec.title, verdicts, drawn, captions, stories, several)
    _write_html(out, model.spec.title, text)
    return out


def _injects(model) -> list[tuple[float, str]]:
    """The scenario's scripted injects as (day, name), for the marks on curves and timelines."""
    return [(i.at_h / 24.0, i.id) for i in model.spec.injects if i.at_h <= model.horizon_h]


MD_SPECIAL = re.compile(r"([\\`*_\[\]>])")  # emphasis, code, links, quotes: backslash-escaped


def md_escape(text: str) -> str:
    """Text for Markdown as itself: no emphasis, link or HTML from a name or a scenario's text.

    Markdown has no backslash escape for ``<``: it becomes the entity ``&lt;``, shown as ``<``.
    """
    return MD_SPECIAL.sub(r"\\\1", str(text)).replace("<", "&lt;")


def _write_markdown(out, title, verdicts, drawn, captions, stories, several: bool = False) -> str:
    """``report.md``: the source of the report (``report.html`` is rendered from it); returns its text.

    ``stories``: (label, picks, after-action report by pick) for each run; with ``several`` runs each story names
    its run.
    """
    lines = [f"# {md_escape(title)}", ""]
    for label, verdict in verdicts:
        lines += [f"## Verdict: {md_escape(label)}", "", "```", verdict, "```", ""]
    for key, paths in drawn.items():
        png = next((p for p in paths if p.suffix == ".png"), paths[0])
        lines += [f"## {md_escape(captions[key])}", "", f"![{md_escape(captions[key])}]({png.name})", ""]
    for label, picks, told in stories:
        for key, name in (("median", "a replication with the median peak"), ("worst", "the worst replication")):
            run = f", {md_escape(label)}" if several else ""
            lines += [
                f"## The story of {name} (replication {picks[key]}{run})",
                "",
                "An after-action report: each crisis phase (above heightened vigilance) with what started and "
                "ended it, the quiet stretches between in brief, routine traffic counted. Moments where a channel "
                "or a measure changed the course are in **bold**; each decision names the act it answers.",
                "",
                told[key].markdown(md_escape, level=3),
            ]
    text = "\n".join(lines)
    (out / "report.md").write_text(text, encoding="utf-8")
    return text


def _write_html(out, title, markdown_text: str) -> None:
    """``report.html``: ``report.md`` rendered, its figures embedded, so the page opens alone and offline."""
    from sim.report.html import page

    text = page(title, markdown_text, out, css="li.tp{background:#fff3c4}li{margin:.2em 0}")
    text = text.replace("<li><strong>", "<li class='tp'><strong>")  # a turning point: the whole line is bold
    (out / "report.html").write_text(text, encoding="utf-8")
