"""The workshop web app (Solara): run a scenario, compare two measure sets, read a report card, play a side.

A workshop game (two teams in their own browsers and a control cell) is joined with a code: the
page at ``?join=CODE`` shows only that role's room (``sim.app.rooms``).

Served by ``escalation app``. Every browser tab gets its own state (Solara's reactive variables
are per connection). Long work (replications, the debrief) runs in Solara tasks with a progress
bar, so the page stays live; the model itself is the same ``sim.core`` model the CLI runs.
"""

from __future__ import annotations

import html
import io
import json
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import solara
import solara.lab
from markdown import markdown
from matplotlib.figure import Figure

from sim.analysis.aar import AfterAction, after_action
from sim.analysis.stats import paired_proportion_difference, wilson
from sim.analysis.verdict import format_verdict
from sim.app import rooms
from sim.app.serve import APP_TITLE
from sim.app.work import (
    Cancelled,
    card_estimate,
    card_timing,
    check_request,
    duration_text,
    max_replications,
    replay_bounded,
    run_bounded,
)
from sim.core.ladder import Rung
from sim.core.measures import registry
from sim.core.spec import INCIDENT_TYPES
from sim.play.game import Game
from sim.play.saves import bundle_members, bundle_names, compose_settings, era_names, parse_save
from sim.report import figures
from sim.report.build import md_escape
from sim.run.errors import UserError
from sim.run.output import RunWriter, write_summary
from sim.run.provenance import expand_source
from sim.run.scenario_io import library

figures.use_style()
MEASURES = registry()
SCENARIOS = sorted(library())
LOG_LINES = 400
DEBRIEF_RUNS = 200

# ---------------------------------------------------------------------- state (per browser tab)
scenario = solara.reactive("baltic_air_policing" if "baltic_air_policing" in SCENARIOS else SCENARIOS[0])
enabled = solara.reactive(())  # measure names switched on
OWN_ERA = "the scenario's own"
ERAS = [OWN_ERA, *era_names()]
era = solara.reactive(OWN_ERA)  # an era preset (tension, trust, channels of a period), or the scenario's own
BUNDLES = bundle_names()
bundle = solara.reactive("none")  # the bundle last chosen: it sets the switches, which stay editable
replications = solara.reactive(100)
seed = solara.reactive(0)
error = solara.reactive("")

compare_a = solara.reactive([])
compare_b = solara.reactive(["hotline", "mil_to_mil_meetings", "incidents_at_sea"])

CARD_BUNDLES = [b for b in ("eln_seven", "eln_riac_basic", "eln_riac_enhanced", "hotline") if b in BUNDLES]
card_bundles = solara.reactive(CARD_BUNDLES)  # bundles on the report card (the baseline and placebo always run)
card_replications = solara.reactive(30)  # per bundle and era

game_box: solara.Reactive[Game | None] = solara.reactive(None)
game_rev = solara.reactive(0)  # bumped whenever the game changes (the Game object is mutable)
game_side = solara.reactive("nato")
paused = solara.reactive(True)
game_note = solara.reactive("")
inject_type = solara.reactive("air_intercept")
inject_force = solara.reactive("")
inject_zone = solara.reactive("")
inject_severity = solara.reactive(0.6)
inject_deliberate = solara.reactive(False)
_game_lock = threading.Lock()
MAX_REPLICATIONS = max_replications()
MAX_SEED = 2**63 - 1
_closed: dict[str, threading.Event] = {}  # per session (browser tab): set when the session ends


def _session_id() -> str:
    from solara.server import kernel_context

    try:
        return kernel_context.get_current_context().id
    except Exception:  # outside a session (tests)
        return "local"


def _session_closed() -> threading.Event:
    return _closed.setdefault(_session_id(), threading.Event())


def _track_session():
    """When a participant's session ends (the tab closed), its running work stops at its next replication."""
    sid = _session_id()
    event = _closed.setdefault(sid, threading.Event())

    def cleanup() -> None:
        event.set()
        _closed.pop(sid, None)
        rooms.WORKSHOP.leave(sid)  # the code still works: the team can rejoin

    return cleanup


solara.lab.on_kernel_start(_track_session)  # registered, not decorated: the decorator does not return the function


def _work(task, n: int, settings, start: float = 0.0, span: float = 100.0, record_events: bool = True):
    """``n`` replications for ``task``, in fair turns with the other participants; stops on Cancel or session end."""
    closed = _session_closed()
    return run_bounded(
        settings,
        n,
        who=_session_id(),
        cancelled=lambda: closed.is_set() or not task.is_current(),
        progress=progress_into(task, n, start, span),
        record_events=record_events,
    )


def Md(text: str, style: str | None = None, classes: list[str] | None = None, tables: bool = False):
    """Markdown without Solara's math support (which would ask a CDN for KaTeX); text is escaped first."""
    return solara.HTML(
        tag="div",
        unsafe_innerHTML=markdown(html.escape(text, quote=False), extensions=["tables"] if tables else []),
        style=style,
        classes=classes or [],
    )


def overrides_for(names) -> list[str]:
    """Hydra overrides for a scenario and a set of measures (everything else at its default)."""
    chosen_era = [] if era.value == OWN_ERA else [f"era={era.value}"]
    return [
        f"scenario={scenario.value}",
        *chosen_era,
        "measures=none",
        *[f"measures.{n}.enabled=true" for n in sorted(names)],
    ]


def choose_bundle(name: str) -> None:
    """A bundle of conf/measures/ switches its measures on (and every other off)."""
    bundle.set(name)
    enabled.set(tuple(sorted(bundle_members(name))))


def _settings(names, side: str = "nato"):
    return compose_settings(overrides_for(names), side, seed=int(seed.value))


def progress_into(task, n: int, start: float = 0.0, span: float = 100.0):
    """A ``progress(k)`` callback for ``run_replications`` that moves ``task.progress`` from ``start`` by ``span``."""
    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        task.progress = start + span * done[0] / n

    return tick


# ---------------------------------------------------------------------- run
@solara.lab.task
def run_task() -> dict[str, Any]:
    """Run the replications of the chosen configuration."""
    n = check_request(int(replications.value), MAX_REPLICATIONS)
    try:
        ens = _work(run_task, n, _settings(enabled.value))
    except Cancelled:
        return None
    summary = ens.summary()
    return {"ensemble": ens, "summary": summary, "verdict": format_verdict(summary), "at": time.time()}


@solara.lab.task
def compare_task() -> dict[str, Any]:
    """Run the two measure sets on the same replication seeds (common random numbers)."""
    n = check_request(int(replications.value), MAX_REPLICATIONS)
    out = {}
    try:
        for k, (label, names) in enumerate((("A", compare_a.value), ("B", compare_b.value))):
            out[label] = _work(compare_task, n, _settings(names), 50.0 * k, 50.0, record_events=False)
    except Cancelled:
        return None
    return out


def card_request(n: int, bundles, limit: int | None = None) -> int:
    """Replications per bundle and era for a report card, if the whole card is within the facilitator's limit."""
    from sim.studies.card import card_names

    jobs = len(card_names(list(bundles))) * len(era_names())
    if isinstance(n, bool) or not isinstance(n, int) or n < 10:
        raise UserError(f"a report card needs at least 10 replications per bundle and era, got {n}")
    limit = MAX_REPLICATIONS if limit is None else limit
    if n * jobs > limit:
        raise UserError(
            f"{n} replications x {jobs} bundle-era pairs = {n * jobs:,} runs, above the facilitator's limit of "
            f"{limit:,}: choose fewer replications or bundles"
        )
    return n


@solara.lab.task
def card_task() -> dict[str, Any]:
    """The report card for the chosen scenario across the three eras, on posterior draws, in fair turns."""
    from types import SimpleNamespace

    from sim.studies.card import card_names, card_tables, run_card
    from sim.studies.card import markdown as card_markdown

    bundles = [b for b in card_bundles.value if b in BUNDLES]
    n = card_request(int(card_replications.value), bundles)
    eras = sorted(era_names(), key=lambda e: e[-4:])  # in time order
    closed = _session_closed()
    total = len(card_names(bundles)) * len(eras) * n
    tick = progress_into(card_task, total)

    def runner(spec, params, measures, reps, seed_):
        return run_bounded(
            SimpleNamespace(scenario=spec, params=params, measures=measures, seed=seed_),
            reps,
            who=_session_id(),
            cancelled=lambda: closed.is_set() or not card_task.is_current(),
            progress=tick,
            record_events=False,
            limit=max(reps, 1),
        )

    try:
        run = run_card(bundles, [scenario.value], eras, n, int(seed.value), "posterior", runner=runner)
    except Cancelled:
        return None
    tables = card_tables(run, resamples=1000)
    text = card_markdown(run, tables, f"web app: report card for {scenario.value}")
    return {"text": text, "at": time.time()}


def run_zip(ens) -> bytes:
    """The run's outputs (as ``escalation run`` writes them) in one zip."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        with RunWriter(out, ens.seed) as writer:
            for rep in ens.replications:
                writer.add(rep)
        write_summary(ens.summary(), out / "summary.json")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(out.iterdir()):
                z.write(f, f.name)
        return buf.getvalue()


@solara.component
def MemoFigure(make, key) -> None:
    """A matplotlib figure drawn and converted to PNG only when ``key`` changes (not on every render)."""
    fig = solara.use_memo(make, dependencies=[key])
    solara.FigureMatplotlib(fig, dependencies=[key], format="png")


def curve_figure(rungs: np.ndarray, title: str) -> Figure:  # noqa: D103
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    figures.escalation_curve(rungs, title=title, ax=fig.subplots())
    return fig


def log_lines(events: list[dict[str, Any]]) -> tuple[str, ...]:
    """The log as text lines (a fresh tuple: components re-render when it changes)."""
    return tuple(f"{e['clock']}  {e['text']}" for e in events if e["kind"] != "decision point")


@solara.component
def EventLog(lines: tuple[str, ...], title: str = "Event log") -> None:
    """The narrative log, newest last, in a scrolling box."""
    rows = lines[-LOG_LINES:]
    Md(f"**{title}** ({len(rows)} events)")
    solara.HTML(
        tag="pre",
        unsafe_innerHTML=html.escape("\n".join(rows)) or "(nothing yet)",
        classes=["event-log"],
        style="max-height: 320px; overflow-y: auto; font-size: 12px; white-space: pre-wrap",
    )


@solara.component
def AfterActionReport(report: AfterAction) -> None:
    """The after-action report of a replication or the game (``sim.analysis.aar``), in a scrolling box."""
    with solara.Details(summary="After-action report: crises, turning points, who decided what", expand=True):
        Md(
            report.markdown(md_escape, level=4),
            classes=["after-action"],
            style="max-height: 420px; overflow-y: auto; font-size: 13px",
        )


@solara.component
def MeasureToggles() -> None:
    """A switch per measure, with its one-line mechanism and its source."""

    def toggle(name: str, on: bool) -> None:
        names = set(enabled.value)
        names.add(name) if on else names.discard(name)
        enabled.set(tuple(sorted(names)))

    Md("**Risk-reduction measures**")
    for name, cls in MEASURES.items():
        solara.Checkbox(
            label=name,
            value=name in enabled.value,
            on_value=lambda on, n=name: toggle(n, on),
            style="margin-top: 0; padding-top: 0; height: 28px",
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"{html.escape(cls.title)} <i>Source: {html.escape(expand_source(cls.source))}</i>",
            attributes={"title": cls.mechanism},
            style="margin: 0 0 8px 32px; font-size: 12px; color: #555",
        )


@solara.component
def Settings() -> None:
    """Scenario, replications, seed."""
    solara.Select(label="Scenario", values=SCENARIOS, value=scenario)
    solara.Select(label="Era", values=ERAS, value=era)
    solara.Select(
        label="Measure bundle (sets the switches below)", values=BUNDLES, value=bundle.value, on_value=choose_bundle
    )
    with solara.Row():
        solara.InputInt(label="Replications", value=replications)
        solara.InputInt(label="Seed", value=seed)
    if not _request_ok():
        solara.Error(
            f"Replications must be between 1 and {MAX_REPLICATIONS:,} (the facilitator's limit); "
            f"the seed between 0 and 2^63-1."
        )


def _request_ok() -> bool:
    return 1 <= replications.value <= MAX_REPLICATIONS and 0 <= seed.value <= MAX_SEED


@solara.component
def RunTab() -> None:
    """Choose, run, see the curve and the log, download the outputs."""
    with solara.Columns([1, 2]):
        with solara.Column():
            Settings()
            MeasureToggles()
        with solara.Column():
            with solara.Row():
                solara.Button("Run", color="primary", on_click=run_task, disabled=run_task.pending or not _request_ok())
                if run_task.pending:
                    solara.Button("Cancel", on_click=run_task.cancel, classes=["cancel-run"])
            if run_task.pending:
                solara.ProgressLinear(run_task.progress or True)
                solara.Text(f"Running {replications.value} replications...")
            if run_task.error:
                solara.Error(f"Run failed: {run_task.exception}")
            result = run_task.value
            if result is not None:
                ens = result["ensemble"]
                solara.HTML(
                    tag="pre",
                    unsafe_innerHTML=html.escape(result["verdict"]),
                    classes=["verdict"],
                    style="font-size: 12px; white-space: pre-wrap",
                )
                with solara.Div(classes=["escalation-curve"]):
                    MemoFigure(
                        lambda: curve_figure(
                            ens.rung_matrix(), f"{ens.scenario}: measures {', '.join(ens.measures) or 'none'}"
                        ),
                        key=id(ens),
                    )
                first = ens.replications[0]
                AfterActionReport(
                    after_action(
                        first.events,
                        first.changes,
                        first.relaxation.horizon_h if first.relaxation else float(first.outcome["horizon_days"]) * 24,
                        title="Replication 0",
                    )
                )
                EventLog(log_lines(first.events), title="Event log of replication 0")
                solara.FileDownload(
                    lambda: run_zip(ens), filename=f"{ens.scenario}_run.zip", label="Download outputs (zip)"
                )


@solara.component
def CompareTab() -> None:
    """Two measure sets side by side on the same seeds."""
    names = list(MEASURES)
    with solara.Row():
        Settings()
    with solara.Columns([1, 1]):
        solara.SelectMultiple("Measure set A", values=compare_a, all_values=names)
        solara.SelectMultiple("Measure set B", values=compare_b, all_values=names)
    with solara.Row():
        solara.Button(
            "Compare A and B",
            color="primary",
            on_click=compare_task,
            disabled=compare_task.pending or not _request_ok(),
        )
        if compare_task.pending:
            solara.Button("Cancel", on_click=compare_task.cancel, classes=["cancel-compare"])
    if compare_task.pending:
        solara.ProgressLinear(compare_task.progress or True)
    if compare_task.error:
        solara.Error(f"Comparison failed: {compare_task.exception}")
    res = compare_task.value
    if res is None:
        return
    a, b = res["A"], res["B"]
    ra, rb = a.outcomes()["reached_rung_4"].to_numpy(bool), b.outcomes()["reached_rung_4"].to_numpy(bool)
    d, lo, hi = paired_proportion_difference(rb, ra)  # Newcombe's paired interval: never [0, 0] on no events
    pa, pb = a.outcomes()["peak_rung"].to_numpy(), b.outcomes()["peak_rung"].to_numpy()
    with solara.Columns([1, 1]):
        for label, ens in (("A", a), ("B", b)):
            with solara.Column():
                p = ens.summary()["outcomes"]["p_peak_rung_ge_4"]
                Md(
                    f"**{label}: {', '.join(ens.measures) or 'no measures'}** — "
                    f"P(peak rung ≥ 4) {p['estimate']:.1%} [{p['ci95'][0]:.1%}, {p['ci95'][1]:.1%}]"
                )
                MemoFigure(lambda ens=ens, label=label: curve_figure(ens.rung_matrix(), label), key=id(ens))
    Md(
        f"**Paired difference B − A** on the same {len(ra)} replication seeds: P(peak rung ≥ 4) {d:+.1%} "
        f"[{lo:+.1%}, {hi:+.1%}]; mean peak rung {np.mean(pb - pa):+.2f}; B made the peak worse in "
        f"{np.mean(pb > pa):.0%} of paired replications and better in {np.mean(pb < pa):.0%}."
    )
    if not ra.any() and not rb.any():
        Md(
            f"Neither set reached the use of force in any of the {len(ra)} paired replications, so the effect "
            f"cannot be estimated from them: P(peak rung ≥ 4) is below {wilson(0, len(ra))[2]:.1%} with A and "
            f"below {wilson(0, len(rb))[2]:.1%} with B (95% upper bounds). The interval above is what these runs "
            "allow, not a null effect known precisely; more replications or a longer horizon would narrow it."
        )


_CARD_TIMINGS: dict[str, tuple[float, float]] = {}  # scenario -> (s per bundle-era pair, s per replication)
_card_timing_lock = threading.Lock()


def _card_timing(name: str) -> tuple[float, float]:
    """The timing of a small card of scenario ``name`` on this server (measured once per scenario)."""
    with _card_timing_lock:
        if name not in _CARD_TIMINGS:
            _CARD_TIMINGS[name] = card_timing(name, sorted(era_names(), key=lambda e: e[-4:]))
        return _CARD_TIMINGS[name]


@solara.component
def CardEstimate(name: str, n: int, bundles: tuple[str, ...]) -> None:
    """The card's estimated time, shown before it starts (timed on a small card of this scenario, once)."""
    from sim.studies.card import card_names

    timing = solara.lab.use_task(lambda: _card_timing(name), dependencies=[name])
    pairs = len(card_names(list(bundles))) * len(era_names())
    what = f"{pairs} bundle-era pairs × {n} replications = {pairs * n:,} runs"
    if timing.value is None:
        Md(f"{what}; estimating the time…", classes=["card-estimate"])
        return
    seconds = card_estimate(pairs, n, *timing.value)
    Md(
        f"{what}: **estimated time {duration_text(seconds)}** (timed on this server; longer while others run).",
        classes=["card-estimate"],
    )


@solara.component
def CardTab() -> None:
    """The measure report card: the chosen bundles against no measures and a placebo, across the eras."""
    with solara.Row():
        solara.Select(label="Scenario", values=SCENARIOS, value=scenario)
        solara.InputInt(label="Replications per bundle and era", value=card_replications)
        solara.InputInt(label="Seed", value=seed)
    solara.SelectMultiple("Bundles", values=card_bundles, all_values=[b for b in BUNDLES if b != "none"])
    problem = ""
    try:
        card_request(int(card_replications.value), card_bundles.value)
    except UserError as exc:
        problem = str(exc)
    if not 0 <= seed.value <= MAX_SEED:
        problem = "the seed must be between 0 and 2^63-1"
    with solara.Row():
        solara.Button(
            "Make the report card",
            color="primary",
            on_click=card_task,
            disabled=card_task.pending or bool(problem),
        )
        if card_task.pending:
            solara.Button("Cancel", on_click=card_task.cancel, classes=["cancel-card"])
    if problem:
        solara.Error(problem)
    elif not card_task.pending:
        CardEstimate(scenario.value, int(card_replications.value), tuple(card_bundles.value))
    if card_task.pending:
        solara.ProgressLinear(card_task.progress or True)
    if card_task.error:
        solara.Error(f"Report card failed: {card_task.exception}")
    res = card_task.value
    if res is not None:
        solara.Style(
            ".report-card table{border-collapse:collapse;margin:.5em 0}"
            ".report-card td,.report-card th{border:1px solid #ccc;padding:2px 8px}"
        )
        Md(res["text"], classes=["report-card"], tables=True)


# ---------------------------------------------------------------------- play
def _bump() -> None:
    game_rev.set(game_rev.value + 1)


def start_game() -> None:  # noqa: D103
    try:
        game = Game(_settings(enabled.value, game_side.value))
    except UserError as exc:
        error.set(str(exc))
        return
    error.set("")
    game_note.set("")
    game_box.set(game)
    s = game.settings.scenario
    inject_force.set(s.forces[0].id)
    inject_zone.set(s.zones[0].id)
    paused.set(True)
    _bump()


@solara.lab.task
def autoplay() -> None:
    """Run the clock on in 6-hour ticks until a decision, the end, or Pause."""
    while not paused.value:
        game = game_box.value
        if game is None:
            return
        with _game_lock:
            if game.point is None and not game.finished:
                game.advance(6)
            stop = game.point is not None or game.finished
        if stop:
            paused.set(True)
        _bump()
        if stop:
            return
        time.sleep(0.3)


def resume() -> None:  # noqa: D103
    paused.set(False)
    autoplay()


def _act(fn) -> None:
    game = game_box.value
    if game is None:
        return
    try:
        with _game_lock:
            note = fn(game)
        game_note.set(note or "")
    except UserError as exc:
        game_note.set(f"Not possible: {exc}")
    _bump()


@solara.lab.task
def debrief_task() -> dict[str, Any]:
    """The model plays both sides from the game's starting point."""
    game = game_box.value
    try:
        ens = _work(debrief_task, DEBRIEF_RUNS, game.settings, record_events=False)
    except Cancelled:
        return None
    d = game.debrief(ensemble=ens)
    return {"game": game, "text": d.text(with_after_action=False), "debrief": d}  # the report: its own box


def game_figure(series: list[int]) -> Figure:  # noqa: D103
    fig = Figure(figsize=(8, 2.6), layout="constrained")
    figures.escalation_curve(np.array([series]), bands=(), title="This game", label="rung", ax=fig.subplots())
    return fig


def debrief_figure(d) -> Figure:  # noqa: D103
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[2, 1])
    figures.escalation_curve(d.model_series, title="Your path against the model's", label="model: median", ax=ax1)
    days = np.arange(len(d.player_series)) / 24.0
    ax1.step(days, d.player_series, where="post", color=figures.PALETTE[1], linewidth=2.2, label="your game")
    ax1.legend(loc="upper right")
    counts = [int(np.sum(d.model_peaks == r)) for r in range(len(Rung))]
    colours = [figures.PALETTE[1] if r == d.player_peak else figures.PALETTE[0] for r in range(len(Rung))]
    ax2.bar(range(len(Rung)), counts, color=colours)
    ax2.set_xticks(range(len(Rung)))
    ax2.set_xlabel("peak rung (yours highlighted)")
    ax2.set_ylabel("model runs")
    ax2.set_title(f"Peak rung in {d.n} model runs")
    return fig


@solara.component
def DecisionCard(game: Game, rev: int) -> None:
    """What happened, what is known, channels, responses (``rev``: the game's revision, to re-render)."""
    b = game.briefing()
    if b is None:
        return
    w, k = b["what"], b["known"]
    side = "NATO" if b["side"] == "nato" else "Russia"
    with solara.Card(f"Decision {b['number']} for {side}", classes=["decision-card"]):
        Md(
            f"**What happened.** {w['sentence']}, "
            f"reported as rung {w['reported_rung']} ({w['reported_rung_label']}).\n\n"
            f"**What is known.** Severity assessed at {k['perceived_severity']:.2f} "
            f"(± {k['severity_uncertainty']:.2f}); "
            f"likelihood it was deliberate and hostile {k['assessed_hostile_intent']:.0%}. "
            + (
                f"The other side has given its account over {', '.join(k['clarified_by'])} "
                "(see the log: it may be true, a denial, a warning or a threat)."
                if k["clarified_by"]
                else "**Intent is uncertain**: no word from the other side yet."
            )
        )
        for label, up in b["tried"].items():
            solara.Text(f"Tried {label}: {'answered' if up else 'no answer'}")
        if b["channels"]:
            Md("**Use a channel first** (the answer comes after the channel's latency):")
            with solara.Row(style="flex-wrap: wrap"):
                for c in b["channels"]:
                    solara.Button(
                        f"Call: {c['label'].replace('_', ' ')} ({c['latency_h']:.1f} h, up {c['availability']:.0%})",
                        on_click=lambda lab=c["label"]: _act(
                            lambda g: f"{lab}: " + ("call got through" if g.call_channel(lab) else "no answer")
                        ),
                        outlined=True,
                    )
        Md("**Respond:**")
        with solara.Row(style="flex-wrap: wrap"):
            for o in b["options"]:
                solara.Button(
                    f"{o['response']} ({o['to_rung']})",
                    on_click=lambda ch=o["choice"]: _act(lambda g: f"You decided: {g.decide(ch)}"),
                    color="error" if o["rung"] >= 3 else "primary",
                    classes=["response-button"],
                )
        Md("; ".join(f"{o['response']}: {o['help']}" for o in b["options"]), style="font-size: 12px; color: #555")


@solara.component
def FacilitatorPanel(game: Game, rev: int) -> None:
    """Pause/resume, a hand-made inject, save/load, export the log (``rev``: the game's revision)."""
    s = game.settings.scenario
    with solara.Card("Facilitator", classes=["facilitator"]):
        with solara.Row():
            if paused.value:
                solara.Button("Resume clock", on_click=resume, disabled=game.point is not None or game.finished)
            else:
                solara.Button("Pause", on_click=lambda: paused.set(True))
            solara.Button(
                "Run to next decision",
                on_click=lambda: _act(lambda g: g.advance() and None),
                disabled=game.point is not None or game.finished or not paused.value,
            )
        Md("**Add an inject now**")
        solara.Select("Type", values=list(INCIDENT_TYPES), value=inject_type)
        solara.Select("By force", values=[f.id for f in s.forces], value=inject_force)
        solara.Select("Zone", values=[z.id for z in s.zones], value=inject_zone)
        solara.SliderFloat(f"Severity {inject_severity.value:.2f}", value=inject_severity, min=0.0, max=1.0, step=0.05)
        solara.Checkbox(label="Deliberate", value=inject_deliberate)
        solara.Button(
            "Inject now",
            on_click=lambda: _act(
                lambda g: (
                    g.inject(
                        type=inject_type.value,
                        initiator=inject_force.value,
                        zone=inject_zone.value,
                        severity=float(inject_severity.value),
                        deliberate=bool(inject_deliberate.value),
                    )
                    or "Inject added"
                )
            ),
            disabled=game.finished,
        )
        Md("**Save, load, export**")
        solara.FileDownload(
            lambda: json.dumps(game.to_dict(), indent=1).encode(), filename="game.json", label="Save game"
        )
        solara.FileDownload(lambda: game.events_jsonl().encode(), filename="events.jsonl", label="Export game log")
        solara.FileDrop(label="Drop a saved game.json here to load it", on_file=load_game, lazy=False)


def upload_name(info) -> str:
    """The dropped file's name, safe to show: its last part, printable characters only, at most 60."""
    name = Path(str(info.get("name", "") or "save file")).name
    return "".join(ch for ch in name if ch.isprintable())[:60] or "save file"


def load_game(info) -> None:
    """Load a dropped save file: checked against the save schema (``sim.play.saves``), then replayed."""
    name = upload_name(info)
    try:
        data = info.get("data") or b""
        save = parse_save(data if isinstance(data, bytes) else bytes(data), name)
        closed = _session_closed()
        game = replay_bounded(save, name, who=_session_id(), cancelled=closed.is_set)
    except UserError as exc:
        game_note.set(f"Could not load {exc}")
        return
    except Cancelled:  # the page closed while the save was replayed
        return
    paused.set(True)
    game_box.set(game)
    game_side.set(game.settings.side)
    game_note.set(f"Loaded {info['name']} at {game.clock}")
    _bump()


@solara.component
def PlayTab() -> None:
    """Tabletop play: one or two sides played by people, the model plays the rest."""
    _ = game_rev.value  # re-render when the game changes
    game = game_box.value
    with solara.Row(style="align-items: center"):
        solara.Select("Scenario", values=SCENARIOS, value=scenario)
        solara.ToggleButtonsSingle(value=game_side, values=["nato", "russia", "both"])
        solara.Button("New game", color="primary", on_click=start_game)
    Md(
        f"Measures in force: {', '.join(enabled.value) or 'none'} (set on the Run tab); seed {seed.value}.",
        style="font-size: 13px",
    )
    if error.value:
        solara.Error(error.value)
    if game is None:
        solara.Info(
            "Choose a side and start a new game. At each decision you see what happened, what is known, "
            "and the channels you can use before you answer."
        )
        return
    st = game.status()
    Md(
        f"### {st['clock']} — rung {st['rung']} ({st['rung_label']}), peak {st['peak_rung']}\n"
        f"Tension NATO {st['tension_nato']:.2f} / Russia {st['tension_russia']:.2f} · "
        f"trust NATO {st['trust_nato']:.2f} / Russia {st['trust_russia']:.2f} · "
        + ("clock paused" if paused.value else "clock running"),
        classes=["game-status"],
    )
    if game_note.value:
        solara.Info(game_note.value)
    with solara.Columns([2, 1]):
        with solara.Column():
            if game.point is not None:
                DecisionCard(game, game_rev.value)
            elif game.finished:
                solara.Success(
                    f"The game is over after {game.horizon_h / 24:.0f} days. Peak rung {st['peak_rung']} "
                    f"({Rung(st['peak_rung']).label})."
                )
                done = (
                    debrief_task.value
                    if debrief_task.value is not None and debrief_task.value["game"] is game
                    else None
                )
                if debrief_task.pending:
                    solara.ProgressLinear(debrief_task.progress or True)
                elif done is None:  # (a debrief of an earlier game is not this game's)
                    solara.Button("Debrief: compare with the model", color="primary", on_click=debrief_task)
                else:
                    Md(done["text"].replace("\n", "\n\n"), classes=["debrief"])  # the after-action report: below
                    MemoFigure(lambda d=done["debrief"]: debrief_figure(d), key=id(done["debrief"]))
            else:
                solara.Text("No decision waiting. Resume the clock or run to the next decision.")
            series = game.rung_series()
            if len(series) > 1:
                MemoFigure(lambda: game_figure(series), key=(id(game), len(series)))
            AfterActionReport(game.after_action())
            EventLog(log_lines(game.events), title="Game log")
        with solara.Column():
            FacilitatorPanel(game, game_rev.value)


join_code = solara.reactive("")
join_error = solara.reactive("")
workshop_label = solara.reactive("")
series_tables = solara.reactive(2)
series_arms = solara.reactive(["none", "eln_seven"] if "eln_seven" in BUNDLES else ["none"])
series_plan = solara.reactive("")  # the plan of the randomised workshop this page created (with codes)


def _join_search(search: str | None) -> str:
    """The code in ``?join=CODE`` (empty if none)."""
    from urllib.parse import parse_qs

    return (parse_qs(search or "").get("join") or [""])[0][:40]


def create_workshop_game(router) -> None:
    """A new two-team game with the Run tab's scenario, era, measures and seed; this page becomes control."""
    try:
        settings = _settings(enabled.value, "both")
        table = rooms.WORKSHOP.create(settings, label=workshop_label.value.strip()[:60])
    except UserError as exc:
        join_error.set(str(exc))
        return
    join_error.set("")
    router.push(f"?join={table.codes['control']}")


@solara.component
def WorkshopTab() -> None:
    """Create a two-team game (this page becomes its control cell) or join one with a code."""
    router = solara.use_router()
    Md(
        "**A workshop game**: two teams in their own browsers and a control cell. Creating one uses the "
        "scenario, era, measures and seed of the Run tab and gives a join code per role (NATO team, Russia "
        "team, control, observers); this page becomes the control cell."
    )
    with solara.Row(style="align-items: center"):
        solara.InputText("Table name (optional)", value=workshop_label)
        solara.Button("Create a workshop game", color="primary", on_click=lambda: create_workshop_game(router))
    with solara.Row(style="align-items: center"):
        solara.InputText("Join code", value=join_code)
        solara.Button("Join", on_click=lambda: router.push(f"?join={rooms.normalise(join_code.value)}"))
    solara.FileDrop(
        label="Drop a saved game here (control's Save this game, or a game.json) to load it as a new table",
        on_file=lambda info: load_workshop_game(info, router),
        lazy=False,
    )
    Md(
        "**A randomised workshop**: N tables, each assigned a measure bundle by a seeded balanced randomisation "
        "(the same as `escalation workshop plan`); every table plays the same world (the Run tab's scenario, era "
        "and seed)."
    )
    with solara.Row(style="align-items: center"):
        solara.InputInt("Tables", value=series_tables)
        solara.SelectMultiple("Arms (bundles)", values=series_arms, all_values=BUNDLES)
        solara.Button("Create the tables", on_click=create_series)
    if series_plan.value:
        Md(series_plan.value, classes=["workshop-plan"], tables=True)
    if join_error.value:
        solara.Error(join_error.value, classes=["join-error"])


def load_workshop_game(info, router) -> None:
    """A dropped saved game becomes a new table (new codes); this page becomes its control cell."""
    name = upload_name(info)
    try:
        data = info.get("data") or b""
        table = rooms.WORKSHOP.load(data if isinstance(data, bytes) else bytes(data), name)
    except UserError as exc:
        join_error.set(f"Could not load {exc}")
        return
    join_error.set("")
    router.push(f"?join={table.codes['control']}")


def create_series() -> None:
    """The randomised tables, and their plan with every role's code (to print for the facilitator)."""
    chosen_era = [] if era.value == OWN_ERA else [f"era={era.value}"]
    try:
        made = rooms.WORKSHOP.create_randomised(
            [f"scenario={scenario.value}", *chosen_era],
            int(series_tables.value),
            list(series_arms.value),
            int(seed.value),
        )
    except UserError as exc:
        join_error.set(str(exc))
        return
    join_error.set("")
    rows = [
        f"| {t.label} | {t.codes['nato']} | {t.codes['russia']} | {t.codes['control']} | {t.codes['observer']} |"
        for t in made
    ]
    series_plan.set(
        f"Workshop plan: {len(made)} tables, scenario {scenario.value}, world seed {seed.value}\n\n"
        "| table (arm) | NATO team | Russia team | control | observers |\n|---|---|---|---|---|\n" + "\n".join(rows)
    )


@solara.component
def Page() -> None:
    """The app: a workshop room if the address carries a join code, else the tabs."""
    solara.Title(APP_TITLE)
    router = solara.use_router()
    code = _join_search(router.search)
    session = _session_id()

    def do_join():
        if not code:
            return None, ""
        try:
            return rooms.join(code, session), ""
        except UserError as exc:
            return None, str(exc)

    joined, problem = solara.use_memo(do_join, dependencies=[code])
    if joined is not None:
        table, role = joined

        def leave() -> None:
            rooms.WORKSHOP.leave(session)
            router.push("/")

        rooms.Room(table, role, session, leave)
        return
    if problem:
        join_error.set(problem)
    with solara.Column(style="padding: 8px 24px"):
        Md("## NATO–Russia incidents: escalation and risk reduction")
        with solara.lab.Tabs():
            with solara.lab.Tab("Run"):
                RunTab()
            with solara.lab.Tab("Compare"):
                CompareTab()
            with solara.lab.Tab("Report card"):
                CardTab()
            with solara.lab.Tab("Play"):
                PlayTab()
            with solara.lab.Tab("Workshop"):
                WorkshopTab()
