"""Tabletop play: a game is one replication in which people take one or both sides' decisions.

A :class:`Game` wraps an :class:`~sim.core.model.EscalationModel` whose ``players`` are the
played sides, and keeps every command it is given (advance, use a channel, decide, add an
inject) in order. A saved game is that command list with the settings; loading replays it on a
fresh model from the same seed, so a loaded game is exactly the game that was saved — no pickled
objects, nothing executed from the file. The debrief compares the player's path with the
distribution the model gives, with the model playing both sides, from the same starting point
(same scenario, measures, parameters and seed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.aar import AfterAction, after_action, end_clock
from sim.analysis.series import rung_by_hour
from sim.analysis.stats import wilson
from sim.core.budget import EventBudgetExceeded
from sim.core.ladder import Choice, Rung
from sim.core.measures import build
from sim.core.model import EscalationModel, clock, replication_seed
from sim.core.players import DecisionPoint
from sim.core.spec import InjectSpec, Side
from sim.play.saves import SIDES, GameSettings, save_content
from sim.run.errors import UserError, excerpt
from sim.run.output import atomic_write
from sim.run.runner import event_budget, event_line, run_replications, runaway_message


class Game:
    """One played game. ``replication`` 0 of ``seed``: the same world as a run's first replication."""

    def __init__(self, settings: GameSettings):
        if settings.side not in SIDES:
            raise UserError(f"side={settings.side}: must be one of nato, russia, both")
        self.settings = settings
        self.model = EscalationModel(
            settings.scenario,
            settings.params,
            build(settings.measures),
            seed=replication_seed(settings.seed, 0),
            players=SIDES[settings.side],
        )
        self.model.event_budget = event_budget(self.model.horizon_h)  # a runaway game stops (``_run``)
        self.commands: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ state
    @property
    def time_h(self) -> float:  # noqa: D102
        return float(self.model.time)

    @property
    def clock(self) -> str:  # noqa: D102
        return clock(self.model.time)

    @property
    def horizon_h(self) -> float:  # noqa: D102
        return float(self.model.horizon_h)

    @property
    def point(self) -> DecisionPoint | None:
        """The decision waiting for the player, if any."""
        return self.model.decision_points[0] if self.model.decision_points else None

    @property
    def finished(self) -> bool:  # noqa: D102
        return self.point is None and self.model.time >= self.model.horizon_h

    @property
    def events(self) -> list[dict[str, Any]]:  # noqa: D102
        return self.model.events

    def briefing(self) -> dict[str, Any] | None:
        """What the player sees at the current decision point."""
        point = self.point
        if point is None:
            return None
        noise = self.model.params.perception_noise_sd * self.model.measure_noise_factor(point.side)
        zone = self.model.theatre.zone(point.act.zone).name
        b = point.briefing(zone, noise)
        b["what"]["sentence"] = what_happened(point.act, zone)
        for o in b["options"]:
            o["to_rung"] = response_rung_text(o["response"], o["rung"])
        return b

    def status(self) -> dict[str, Any]:
        """Clock, rung and each side's tension and trust."""
        m = self.model
        return {
            "time_h": self.time_h,
            "clock": self.clock,
            "rung": m.rung,
            "rung_label": Rung(m.rung).label,
            "peak_rung": m.peak_rung,
            **{f"tension_{s.value}": round(m.sides[s].tension, 3) for s in Side},
            **{f"trust_{s.value}": round(m.sides[s].trust, 3) for s in Side},
        }

    def after_action(self) -> AfterAction:
        """The after-action report of the game so far (``sim.analysis.aar``)."""
        m = self.model
        now = min(float(m.time), self.horizon_h)
        title = "Your game" + (f" so far, to {clock(now)}" if not self.finished else f", to the {end_clock(now)}")
        return after_action(self.events, m.changes, now, title=title, ongoing=not self.finished)

    def rung_series(self) -> list[int]:
        """The rung at each completed hour so far."""
        m = self.model
        times = np.array([c[0] for c in m.changes])
        return rung_by_hour(times, np.array([c[1] for c in m.changes]), float(int(m.time))).tolist()

    # ------------------------------------------------------------------ commands
    def advance(self, hours: float | None = None) -> DecisionPoint | None:
        """Run on for ``hours`` (to the horizon if ``None``), stopping at the next decision point."""
        if self.point is not None:
            return self.point
        until = self.horizon_h if hours is None else min(self.horizon_h, self.model.time + hours)
        self.commands.append({"op": "advance", "until": until})
        return self._run(self.model.advance, until)

    def _run(self, step: Callable[..., Any], *args: Any) -> Any:
        """``step(*args)`` on the model; a ``UserError`` naming the likely parameter if it runs over its events."""
        try:
            return step(*args)
        except EventBudgetExceeded as exc:
            s = self.settings
            raise UserError(runaway_message(exc, s.params, s.measures, "the game")) from None

    def call_channel(self, label: str) -> bool:
        """Call over a channel before deciding; ``True`` if it got through (the answer comes after its latency)."""
        if self.point is None:
            raise UserError("no decision is waiting: nothing to call about")
        labels = [r.label for r in self.point.channels()]
        if label not in labels:
            raise UserError(
                f"channel '{excerpt(label)}' is not available now (available: {', '.join(labels) or 'none'})"
            )
        self.commands.append({"op": "channel", "label": label})
        return self._run(self.model.player_channel, label)

    def decide(self, choice: str | Choice) -> str:
        """Answer the current decision point; returns the response carried out."""
        if self.point is None:
            raise UserError("no decision is waiting")
        if isinstance(choice, str):
            try:
                choice = Choice[choice.upper().replace("-", "_")]
            except KeyError:
                names = ", ".join(c.name.lower() for c in Choice)
                raise UserError(f"choice {choice!r}: must be one of {names}") from None
        self.commands.append({"op": "decide", "choice": choice.name.lower()})
        return self._run(self.model.player_decide, choice).value

    def inject(
        self, *, type: str, initiator: str, zone: str, severity: float, deliberate: bool, text: str = ""
    ) -> None:
        """A facilitator's inject, happening now."""
        if not 0.0 <= severity <= 1.0:
            raise UserError(f"inject severity {severity}: must be between 0 and 1")
        spec = InjectSpec(
            id=f"facilitator_{len(self.commands)}",
            at_h=self.time_h,
            type=type,
            initiator=initiator,
            zone=zone,
            severity=float(severity),
            deliberate=bool(deliberate),
            text=text or f"Facilitator inject: {type.replace('_', ' ')}",
        )
        try:
            self.model.inject_now(spec)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.commands.append(
            {
                "op": "inject",
                "type": type,
                "initiator": initiator,
                "zone": zone,
                "severity": float(severity),
                "deliberate": bool(deliberate),
                "text": spec.text,
            }
        )

    def apply(self, command: dict[str, Any]) -> None:
        """Replay one saved command."""
        op = command.get("op")
        if op == "advance":
            self.commands.append(dict(command))
            self._run(self.model.advance, float(command["until"]))
        elif op == "channel":
            self.call_channel(str(command["label"]))
        elif op == "decide":
            self.decide(str(command["choice"]))
        elif op == "inject":
            self.inject(
                type=str(command["type"]),
                initiator=str(command["initiator"]),
                zone=str(command["zone"]),
                severity=float(command["severity"]),
                deliberate=bool(command["deliberate"]),
                text=str(command.get("text", "")),
            )
        else:
            raise UserError(f"unknown command {op!r}")

    # ------------------------------------------------------------------ save / load
    def to_dict(self) -> dict[str, Any]:
        """The save file's content: settings and the command list (plain JSON, schema in ``sim.play.saves``)."""
        return save_content(self.settings, self.commands, self.time_h)

    def save(self, path: Path) -> None:
        """Write the save file atomically."""
        text = json.dumps(self.to_dict(), indent=1) + "\n"
        atomic_write(Path(path), lambda f: f.write(text))

    @classmethod
    def replay(
        cls,
        settings: GameSettings,
        commands: Sequence[dict[str, Any]],
        check: Callable[[], None] | None = None,
        where: str = "save file",
    ) -> Game:
        """Rebuild a game by replaying its commands from the same starting point.

        ``check`` is called before each command (it raises to stop: a cancel, a time limit). An
        error names ``where`` (the save file) and the move (``commands[3]``), with a short excerpt.
        """
        game = cls(settings)
        for i, command in enumerate(commands):
            if check is not None:
                check()
            try:
                game.apply(command)
            except UserError as exc:
                raise UserError(f"{where}: commands[{i}]: {exc}") from None
            except (KeyError, TypeError, ValueError) as exc:
                raise UserError(f"{where}: commands[{i}]: {excerpt(str(exc), 120)}") from None
        return game

    def events_jsonl(self) -> str:
        """The game log in the same ``events.jsonl`` format as a run (replication 0)."""
        return "".join(event_line(0, e) for e in self.events)

    def export_events(self, path: Path) -> None:
        """Write the game log atomically."""
        text = self.events_jsonl()
        atomic_write(Path(path), lambda f: f.write(text))

    # ------------------------------------------------------------------ debrief
    def debrief(
        self, replications: int = 200, workers: int = 1, progress: Callable[[int], None] | None = None, ensemble=None
    ) -> Debrief:
        """The player's path against the model's outcomes from the same starting point.

        ``ensemble``: the model's runs, if already made.
        """
        s = self.settings
        if ensemble is None:
            ensemble = run_replications(
                s.scenario,
                s.params,
                s.measures,
                n=replications,
                seed=s.seed,
                workers=workers,
                record_events=False,
                progress=progress,
            )
        peaks = np.array([r.outcome["peak_rung"] for r in ensemble.replications])
        series = np.array([r.rung_by_hour() for r in ensemble.replications])
        player = self.model.outcome()
        return Debrief(
            player_peak=int(player["peak_rung"]),
            player_crisis_days=float(player["crisis_days"]),
            player_series=self.rung_series(),
            model_peaks=peaks,
            model_series=series,
            model_crisis_days=np.array([r.outcome["crisis_days"] for r in ensemble.replications]),
            decisions=[c for c in self.commands if c["op"] in ("decide", "channel")],
            after_action=self.after_action().text(),
        )


UNUSUAL = 0.25  # a peak reached (or not exceeded) by fewer than this share of the model's runs is unusual


@dataclass
class Debrief:
    """The player's game set against ``n`` model-played replications from the same start."""

    player_peak: int
    player_crisis_days: float
    player_series: list[int]
    model_peaks: np.ndarray
    model_series: np.ndarray
    model_crisis_days: np.ndarray
    decisions: list[dict[str, Any]]
    after_action: str = ""  # the after-action report of the player's game (plain text)

    @property
    def n(self) -> int:  # noqa: D102
        return len(self.model_peaks)

    def share_at_least(self, rung: int) -> float:  # noqa: D102
        return float(np.mean(self.model_peaks >= rung))

    def percentile(self) -> float:
        """Share of model runs whose peak was lower than the player's (ties count half)."""
        lower = np.mean(self.model_peaks < self.player_peak)
        equal = np.mean(self.model_peaks == self.player_peak)
        return float(lower + equal / 2)

    def summary(self) -> dict[str, Any]:
        """Plain-data debrief for the app and the terminal."""
        k = int(np.sum(self.model_peaks >= Rung.LIMITED_FORCE))
        p4, lo, hi = wilson(k, self.n)
        return {
            "player_peak": self.player_peak,
            "player_peak_label": Rung(self.player_peak).label,
            "player_crisis_days": round(self.player_crisis_days, 2),
            "replications": self.n,
            "model_peak_distribution": {
                int(r): int(np.sum(self.model_peaks == r)) for r in range(int(Rung.NUCLEAR_THRESHOLD) + 1)
            },
            "model_p_rung_4": p4,
            "model_p_rung_4_interval": [lo, hi],
            "model_share_at_least_player_peak": self.share_at_least(self.player_peak),
            "model_mean_crisis_days": float(np.mean(self.model_crisis_days)),
            "player_percentile": self.percentile(),
            "decisions": len([d for d in self.decisions if d["op"] == "decide"]),
        }

    def text(self, with_after_action: bool = True) -> str:
        """The debrief in words, then (``with_after_action``) the after-action report of the player's game."""
        s = self.summary()
        lo, hi = s["model_p_rung_4_interval"]
        worse = s["model_share_at_least_player_peak"]
        at_most = float(np.mean(self.model_peaks <= self.player_peak))
        # Unusual means in a tail: fewer than a quarter of the model's runs got that high (or that low).
        if worse < UNUSUAL:
            verdict = (
                f"Your side's choices took the crisis higher than the model usually does from this start: "
                f"only {worse:.0%} of its runs got that high."
            )
        elif at_most < UNUSUAL:
            verdict = (
                f"Your side's choices kept the crisis lower than the model usually does from this start: "
                f"only {at_most:.0%} of its runs stayed that low."
            )
        else:
            verdict = "Your path was typical of what the model does from this start."
        return (
            f"Your game peaked at rung {s['player_peak']} ({s['player_peak_label']}) "
            f"with {s['player_crisis_days']:.2f} crisis days "
            f"after {s['decisions']} decisions.\n"
            f"From the same start, with the model playing both sides, {worse:.0%} of {s['replications']} runs "
            "peaked at "
            f"rung {s['player_peak']} or higher; P(peak rung >= 4) = {s['model_p_rung_4']:.1%} [{lo:.1%}, {hi:.1%}]; "
            f"mean crisis days {s['model_mean_crisis_days']:.2f}.\n{verdict}"
        ) + (f"\n\nAfter-action report\n{self.after_action}" if with_after_action and self.after_action else "")


def what_happened(act, zone: str) -> str:
    """The decision card's first sentence, with the roles the right way round.

    An air intercept's actor is the flight that was intercepted unless it is a fighter (the core's
    incident log says "X scrambles and intercepts Y"); "air intercept by the RC-135 against the Su-27
    pair" read as if the reconnaissance aircraft had intercepted the fighters.
    """
    from sim.core.agents import INTERCEPTOR_KINDS

    if act.type == "air_intercept" and act.kind not in INTERCEPTOR_KINDS and act.target:
        return f"{act.target} intercepts {act.actor} over {zone}"
    what = act.type.replace("_", " ")
    against = f" against {act.target}" if act.target else ""
    return f"{what[:1].upper()}{what[1:]} by {act.actor}{against} in {zone}"


def response_rung_text(response: str, rung: int) -> str:
    """Where a response takes the side on the ladder: a stand-down goes down to vigilance (rung 1), not rung 0."""
    return "down to rung 1" if response == "de-escalate" else f"rung {rung}"
