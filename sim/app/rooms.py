"""The workshop's pages in the web app: a team's room, the control cell's, an observer's (Solara).

One :class:`~sim.play.workshop.Workshop` per server process holds every table; a browser tab joins
one with a code (``?join=CODE`` in its address, so a reload or a reconnection finds its place).
A room renders only ``Table.view(role)``: plain data computed for that role, so a team's page
(its DOM and its WebSocket traffic) never carries what the other side perceives. Each room polls
its table a few times a second and re-renders when the table has changed.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import solara

from sim.core.spec import INCIDENT_TYPES
from sim.play.workshop import (
    DEFAULT_MAX_GAMES,
    DEFAULT_MAX_PARTICIPANTS,
    DEFAULT_SPEED_H_PER_S,
    ROLES,
    Table,
    Workshop,
    normalise_code,
)
from sim.run.errors import UserError

TEAM_NAMES = {"nato": "NATO team", "russia": "Russia team", "control": "Control cell", "observer": "Observer"}
POLL_S = 0.4
DEBRIEF_RUNS = 100  # model runs a workshop debrief sets the teams' path against
_debriefs: dict[tuple[str, int], Any] = {}  # (table, moves) -> Debrief: computed once, shared by every page


def _int_env(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value >= 1 else default


def make_workshop() -> Workshop:
    """The app's workshop, with the limits and state folder ``escalation app`` set in the environment."""
    state = os.environ.get("ESCALATION_STATE_DIR") or None
    w = Workshop(
        max_games=_int_env("ESCALATION_MAX_GAMES", DEFAULT_MAX_GAMES),
        max_participants=_int_env("ESCALATION_MAX_PARTICIPANTS", DEFAULT_MAX_PARTICIPANTS),
        state_dir=Path(state) if state else None,
    )
    for line in w.problems:
        print(f"escalation: warning: app: {line}", flush=True)
    w.start_ticking()
    return w


WORKSHOP = make_workshop()


def _pre(lines: list[str], classes: list[str], empty: str = "(nothing yet)") -> None:
    solara.HTML(
        tag="pre",
        unsafe_innerHTML=html.escape("\n".join(lines[-400:])) or empty,
        classes=classes,
        style="max-height: 300px; overflow-y: auto; font-size: 12px; white-space: pre-wrap",
    )


@solara.component
def Room(table: Table, role: str, session: str, on_leave) -> None:
    """The page of one role at one table."""
    view, set_view = solara.use_state(table.view(role))
    note, set_note = solara.use_state("")

    def poll(cancel) -> None:
        seen = -1
        while not cancel.wait(POLL_S):
            v = table.view(role)
            if v["rev"] != seen or v.get("seconds_left") is not None:
                seen = v["rev"]
                set_view(v)

    solara.use_thread(poll, dependencies=[table.id, role], intrusive_cancel=False)

    def act(fn) -> None:
        try:
            result = fn()
            set_note(result or "")
        except UserError as exc:
            set_note(f"Not possible: {exc}")
        set_view(table.view(role))

    with solara.Column(style="padding: 8px 24px", classes=[f"room-{role}"]):
        with solara.Row(style="align-items: center"):
            solara.Markdown(f"## {TEAM_NAMES[role]} — {view['table']}")
            solara.Button("Leave", on_click=on_leave, text=True)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=html.escape(
                f"{view['clock']} · clock {'running' if view['running'] else 'paused'}"
                + (" · the game is over" if view["finished"] else "")
            ),
            classes=["room-status"],
            style="font-size: 18px; font-weight: 600",
        )
        solara.HTML(tag="div", unsafe_innerHTML=html.escape(view["limit_text"]), classes=["room-limit"])
        if note:
            solara.Info(note, classes=["room-note"])
        if role in ("nato", "russia"):
            TeamRoom(table, role, view, act)
        elif role == "control":
            ControlRoom(table, view, act)
        if view["revealed"] and role != "control":
            Truth(table, view)
        elif role == "observer":
            p = view["public"]
            solara.Markdown(f"Ladder: rung {p['rung']} ({p['rung_label']}), peak so far {p['peak_rung']}.")


@solara.component
def TeamRoom(table: Table, role: str, view: dict[str, Any], act) -> None:
    """A team's view: its decision, its perceptions, its log."""
    b = view["decision"]
    if b is None:
        solara.Text("No decision for your team now." if not view["finished"] else "The game is over.")
    else:
        w, k = b["what"], b["known"]
        with solara.Card(f"Decision {b['number']} for your side", classes=["decision-card"]):
            if view["seconds_left"] is not None:
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f"{view['seconds_left']:.0f} s left",
                    classes=["seconds-left"],
                    style="color: #b00; font-weight: 600",
                )
            solara.Markdown(
                f"**What happened.** {w['type'].replace('_', ' ').capitalize()} by {w['by']} against "
                f"{w['against']} in {w['zone']}, reported as rung {w['reported_rung']} "
                f"({w['reported_rung_label']}).\n\n**What is known.** Severity assessed at "
                f"{k['perceived_severity']:.2f} (± {k['severity_uncertainty']:.2f}); likelihood it was deliberate "
                f"and hostile {k['assessed_hostile_intent']:.0%}."
                + (f" Account heard over {', '.join(k['clarified_by'])}." if k["clarified_by"] else "")
            )
            for label, up in b["tried"].items():
                solara.Text(f"Tried {label}: {'answered' if up else 'no answer'}")
            with solara.Row(style="flex-wrap: wrap"):
                for c in b["channels"]:
                    solara.Button(
                        f"Call: {c['label'].replace('_', ' ')} ({c['latency_h']:.1f} h, up {c['availability']:.0%})",
                        on_click=lambda lab=c["label"]: act(
                            lambda: f"{lab}: " + ("call got through" if table.call(role, lab) else "no answer")
                        ),
                        outlined=True,
                    )
            with solara.Row(style="flex-wrap: wrap"):
                for o in b["options"]:
                    solara.Button(
                        f"{o['response']} (rung {o['rung']})",
                        on_click=lambda ch=o["choice"]: act(lambda: f"Your team decided: {table.decide(role, ch)}"),
                        color="error" if o["rung"] >= 3 else "primary",
                    )
    if view["timeouts"]:
        _pre(view["timeouts"], ["team-timeouts"])
    solara.Markdown("**Your side's assessments**")
    _pre(
        [f"{p['clock']}  {p['text']} (assessed severity {p['perceived_severity']:.2f})" for p in view["perceptions"]],
        ["team-perceptions"],
    )
    solara.Markdown("**Your side's log**")
    _pre(view["log"], ["team-log"])


inject_type = solara.reactive(INCIDENT_TYPES[0])
inject_force = solara.reactive("")
inject_zone = solara.reactive("")
inject_severity = solara.reactive(0.6)
inject_deliberate = solara.reactive(False)
limit_seconds = solara.reactive(120)
limit_default = solara.reactive("hold")
branch_at = solara.reactive(1)
clock_speed = solara.reactive(DEFAULT_SPEED_H_PER_S)


@solara.component
def ControlRoom(table: Table, view: dict[str, Any], act) -> None:
    """Control: the codes, the clock, limits, injects, the truth, reveal, branch, save."""
    from sim.core.ladder import Choice

    codes = view["codes"]
    counts = WORKSHOP.participants(table)
    solara.HTML(
        tag="div",
        unsafe_innerHTML="<br>".join(
            f"{html.escape(TEAM_NAMES[r])}: <b class='code-{r}'>{codes[r]}</b> ({counts[r]} joined)" for r in ROLES
        ),
        classes=["join-codes"],
    )
    spec = table.game.settings.scenario
    if not inject_force.value or inject_force.value not in [f.id for f in spec.forces]:
        inject_force.set(spec.forces[0].id)
    if not inject_zone.value or inject_zone.value not in [z.id for z in spec.zones]:
        inject_zone.set(spec.zones[0].id)
    with solara.Row():
        if view["running"]:
            solara.Button("Pause clock", on_click=lambda: act(table.pause))
        else:
            solara.Button(
                "Start clock" if table.game.time_h == 0 else "Resume clock",
                on_click=lambda: act(table.start),
                disabled=view["finished"],
                color="primary",
            )
        solara.Button(
            "Run to next decision",
            on_click=lambda: act(table.run_to_next),
            disabled=view["finished"] or view["waiting"] is not None,
        )
    with solara.Row(style="align-items: center"):
        solara.InputFloat("Clock speed (game hours a real second)", value=clock_speed)
        solara.Button("Set speed", on_click=lambda: act(lambda: table.set_speed(float(clock_speed.value or 0))))
    with solara.Row(style="align-items: center"):
        solara.InputInt("Decision time limit (s)", value=limit_seconds)
        solara.Select("Default response on time-out", values=[c.name.lower() for c in Choice], value=limit_default)
        solara.Button(
            "Set limit", on_click=lambda: act(lambda: table.set_limit(int(limit_seconds.value), limit_default.value))
        )
        solara.Button("No limit", on_click=lambda: act(lambda: table.set_limit(None, limit_default.value)))
    if view["waiting"] is not None:
        left = view["seconds_left"]
        solara.HTML(
            tag="div",
            unsafe_innerHTML=html.escape(
                f"Waiting for the {view['waiting']['side']} team: decision {view['waiting']['briefing']['number']}"
                + (f", {left:.0f} s left" if left is not None else "")
            ),
            classes=["control-waiting"],
        )
    with solara.Card("Inject"):
        solara.Select("Type", values=list(INCIDENT_TYPES), value=inject_type)
        solara.Select("By force", values=[f.id for f in spec.forces], value=inject_force)
        solara.Select("Zone", values=[z.id for z in spec.zones], value=inject_zone)
        solara.SliderFloat(f"Severity {inject_severity.value:.2f}", value=inject_severity, min=0, max=1, step=0.05)
        solara.Checkbox(label="Deliberate", value=inject_deliberate)
        solara.Button(
            "Inject now",
            on_click=lambda: act(
                lambda: (
                    table.inject(
                        type=inject_type.value,
                        initiator=inject_force.value,
                        zone=inject_zone.value,
                        severity=float(inject_severity.value),
                        deliberate=bool(inject_deliberate.value),
                    )
                    or "Inject added"
                )
            ),
            disabled=view["finished"],
        )
    with solara.Row(style="align-items: center"):
        solara.Button(
            "End the game (remaining decisions: default response)",
            on_click=lambda: act(table.finish),
            disabled=view["finished"],
        )
        solara.Button("Reveal the truth to all", on_click=lambda: act(table.reveal), disabled=view["revealed"])
        solara.FileDownload(
            lambda: (json.dumps(table.to_dict(), indent=1) + "\n").encode(),
            filename=f"{table.id}.json",
            label="Save this game",
        )
    router = solara.use_router()

    def branch() -> None:
        made: list[Table] = []
        act(lambda: made.append(WORKSHOP.branch(table, int(branch_at.value))))
        if made:
            router.push(f"?join={made[0].codes['control']}")

    with solara.Row(style="align-items: center"):
        solara.InputInt("Branch at decision", value=branch_at)
        solara.Button("Branch: replay to that decision in a new game", on_click=branch)
    if view["all_timeouts"]:
        _pre(view["all_timeouts"], ["control-timeouts"])
    Truth(table, view)


def debrief_for(table: Table):
    """The table's path against the model's (cached per table and move count; fair turns with other pages)."""
    from sim.app.work import max_replications, run_bounded

    key = (table.id, len(table.game.commands))
    if key not in _debriefs:
        while len(_debriefs) >= 4 * WORKSHOP.max_games:  # bounded: the oldest go first
            _debriefs.pop(next(iter(_debriefs)))
        n = min(DEBRIEF_RUNS, max_replications())  # within the facilitator's --max-replications
        ens = run_bounded(table.game.settings, n, who=f"debrief {table.id}", record_events=False)
        _debriefs[key] = table.game.debrief(ensemble=ens)
    return _debriefs[key]


def branches_figure(d, paths: dict[str, list[int]]):
    """Each branch's rung path over the model's bands (median and ranges of its runs from the same start)."""
    import numpy as np
    from matplotlib.figure import Figure

    from sim.report import figures

    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax = fig.subplots()
    figures.escalation_curve(d.model_series, title="The game's branches against the model", label="model", ax=ax)
    for i, (label, series) in enumerate(paths.items()):
        ax.step(
            np.arange(len(series)) / 24.0,
            series,
            where="post",
            linewidth=2.2,
            label=label,
            color=figures.PALETTE[(i + 1) % len(figures.PALETTE)],
        )
    ax.legend(loc="upper right")
    return fig


@solara.component
def Debrief(table: Table) -> None:
    """The finished game against the model's runs; a branch beside the game it branched from."""
    result = solara.use_thread(lambda: debrief_for(table), dependencies=[table.id, len(table.game.commands)])
    if result.value is None:
        from sim.app.work import max_replications

        runs = min(DEBRIEF_RUNS, max_replications())
        solara.Text(f"Debrief: the model plays both sides {runs} times from the same start...")
        solara.ProgressLinear(True)
        return
    DebriefResult(table, result.value)


@solara.component
def DebriefResult(table: Table, d) -> None:
    """The debrief's text, each branch's peak and the figure (hooks first: no early return before them)."""
    solara.HTML(tag="pre", unsafe_innerHTML=html.escape(d.text()), classes=["debrief"], style="white-space: pre-wrap")
    games = [table]
    parent = WORKSHOP.tables.get((table.parent or {}).get("table", ""))
    if parent is not None:
        games = [parent, table]
        solara.HTML(
            tag="div",
            unsafe_innerHTML=html.escape(" · ".join(f"{t.label}: peak rung {t.game.model.peak_rung}" for t in games)),
            classes=["branch-peaks"],
        )
    paths = {t.label: t.game.rung_series() for t in games}
    fig = solara.use_memo(lambda: branches_figure(d, paths), dependencies=[id(d), tuple(map(tuple, paths.values()))])
    with solara.Div(classes=["debrief-figure"]):
        solara.FigureMatplotlib(fig, format="png")


@solara.component
def Truth(table: Table, view: dict[str, Any]) -> None:
    """The truth: both sides' state, every event with its true severity, both sides' assessments."""
    st = view["status"]
    solara.HTML(
        tag="div",
        unsafe_innerHTML=html.escape(
            f"Truth: rung {st['rung']} ({st['rung_label']}), peak {st['peak_rung']} · tension NATO "
            f"{st['tension_nato']:.2f} / Russia {st['tension_russia']:.2f} · trust NATO {st['trust_nato']:.2f} / "
            f"Russia {st['trust_russia']:.2f} · measures: {', '.join(view['measures']) or 'none'}"
        ),
        classes=["truth-status"],
    )
    solara.Markdown("**Both sides' decisions (assessed severity)**")
    _pre(
        [f"{d['clock']}  {d['text']} (assessed {d['perceived_severity']:.2f})" for d in view["decisions"]],
        ["truth-decisions"],
    )
    solara.Markdown("**The whole log (true severities)**")
    _pre(view["truth_log"], ["truth-log"])
    if view["finished"]:
        Debrief(table)


def join(code: str, session: str) -> tuple[Table, str]:
    """Join ``code`` for this session (``UserError`` in one line if the code is bad or the app is full)."""
    return WORKSHOP.join(code, session)


def normalise(code: str) -> str:
    """A typed code in canonical form, safe in an address (letters and digits only)."""
    return "".join(ch for ch in normalise_code(code) if ch.isalnum())[:40]
