"""Multi-team workshop games: teams in their own browsers, a control cell, join codes (no Solara here).

A :class:`Table` is one game played by two teams (NATO and Russia, each from its own browser) and
run by a control cell: the model plays the world, every decision of a side goes to that side's
team. Each role has a short join code. What a page may show is computed here, per role, as plain
data (:meth:`Table.view`): a team sees only what its side perceives (its decisions' assessed
severity and hostility, its channels, its own log lines); control sees the truth and both
sides' perceptions; observers see the clock and the public ladder until control reveals the
truth at the debrief. The page never holds the game itself, so nothing else can reach it.

The clock is the control cell's: started, paused, resumed; it runs the model on at a set
number of game hours per real second and stops at each decision. A decision time limit (real
seconds) may be set; when it runs out, the side's stated default response is carried out and
the move is marked as a time-out. Every move is kept with its role and real times, so a table
is a save file (the game's commands, replayed exactly) plus those times; tables are written to
a state folder after each move, so a page reload, a team's reconnection or a restart of the app
finds the game where it was.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.core.ladder import Choice, response_for
from sim.core.players import CHOICE_HELP
from sim.play.game import Game
from sim.play.saves import (
    MAX_SAVE_BYTES,
    GameSettings,
    bundle_names,
    check_save,
    compose_settings,
    parse_save,
    settings_from_save,
)
from sim.run.errors import UserError, read_bounded
from sim.run.output import atomic_write

WORKSHOP_FORMAT = "escalation-workshop/1"
ROLES = ("nato", "russia", "control", "observer")
TEAMS = ("nato", "russia")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from a sheet
CODE_LENGTH = 6
DEFAULT_MAX_GAMES = 12
DEFAULT_MAX_PARTICIPANTS = 60
DEFAULT_SPEED_H_PER_S = 2.0  # game hours per real second while the clock runs
TICK_H = 1.0  # the running clock moves the model on in steps of at least this many game hours
DEFAULT_CHOICE = "hold"  # the response carried out when a team's time runs out (unless control sets another)
MAX_LIMIT_S = 3600.0
MAX_WORKSHOP_BYTES = 4_000_000
MAX_TABLES = 200  # tables of one randomised workshop


def new_code(taken: set[str]) -> str:
    """A join code not in ``taken`` (``secrets``: codes cannot be guessed from one another)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


def normalise_code(text: str) -> str:
    """A code as typed (any case, spaces or dashes) in its canonical form."""
    return "".join(ch for ch in str(text).upper() if ch not in " -\t")


def default_help(choice: str) -> str:
    """The default response in words, as both teams are told it."""
    c = Choice[choice.upper()]
    return f"{c.name.lower().replace('_', '-')} ({CHOICE_HELP[c]})"


@dataclass
class Move:
    """What the game's command list does not hold: who made move ``index`` and when (real seconds)."""

    index: int  # position in the game's command list
    role: str  # nato | russia | control | clock
    wall_s: float  # real seconds since the table was created
    waited_s: float | None = None  # for a decision: real seconds from the decision's opening to the answer
    timeout: bool = False  # the default response, carried out when the time limit ran out
    decision: int | None = None  # for a decision: its number in the game
    side: str | None = None  # for a decision: the side that took it

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "index": self.index,
            "role": self.role,
            "wall_s": round(self.wall_s, 3),
            "waited_s": None if self.waited_s is None else round(self.waited_s, 3),
            "timeout": self.timeout,
            "decision": self.decision,
            "side": self.side,
        }


class Table:
    """One workshop game: two teams, control, observers; the model plays the world."""

    def __init__(
        self,
        settings: GameSettings,
        codes: dict[str, str],
        *,
        table_id: str,
        label: str = "",
        arm: str = "",
        parent: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if settings.side != "both":
            raise UserError("a workshop game is played by both teams: side must be both")
        self.id = table_id
        self.label = label or table_id
        self.arm = arm
        self.parent = parent  # for a branch: {"table": id, "decision": k}
        self.codes = dict(codes)
        self.game = Game(settings)
        self.moves: list[Move] = []
        self.running = False
        self.speed = DEFAULT_SPEED_H_PER_S
        self.limit_s: float | None = None
        self.default_choice = DEFAULT_CHOICE
        self.revealed = False
        self.lock = threading.RLock()
        self.rev = 0
        self._clock = clock
        self._born = clock()
        self._offset = 0.0  # real seconds already played before a restart
        self._opened_at: float | None = None  # when the waiting decision opened (real clock)
        self._opened_number: int | None = None
        self._last_tick: float | None = None
        self._pending_h = 0.0  # game hours the running clock owes the model (run on once they make TICK_H)
        self.on_change: Callable[[Table], None] | None = None

    # ------------------------------------------------------------------ time
    def wall(self) -> float:
        """Real seconds since the table was created (across restarts)."""
        return self._offset + self._clock() - self._born

    def _note_point(self) -> None:
        point = self.game.point
        if point is None:
            self._opened_at = self._opened_number = None
        elif point.number != self._opened_number:
            self._opened_at, self._opened_number = self._clock(), point.number

    def seconds_left(self) -> float | None:
        """Real seconds before the waiting decision times out (``None``: no limit or no decision)."""
        if self.limit_s is None or self._opened_at is None or self.game.point is None:
            return None
        return max(0.0, self.limit_s - (self._clock() - self._opened_at))

    def limit_statement(self) -> str:
        """The decision time limit and the default response, as both teams are told them."""
        default = default_help(self.default_choice)
        if self.limit_s is None:
            return f"No decision time limit. If control sets one, a team that does not answer in time: {default}."
        return f"Decision time limit {self.limit_s:.0f} s. A team that does not answer in time: {default}."

    def _changed(self) -> None:
        self._note_point()
        self.rev += 1
        if self.on_change is not None:
            self.on_change(self)

    def _record(self, role: str, n_before: int, **extra: Any) -> None:
        for i in range(n_before, len(self.game.commands)):
            self.moves.append(Move(i, role, self.wall(), **extra))

    # ------------------------------------------------------------------ the clock (control)
    def tick(self) -> bool:
        """Run the model on for the real time since the last tick, if the clock runs; time out a decision.

        Returns whether anything changed.
        """
        with self.lock:
            now = self._clock()
            last, self._last_tick = self._last_tick, now
            g = self.game
            if g.finished:
                if self.running:
                    self.running = False
                    self._changed()
                    return True
                return False
            if g.point is not None:
                left = self.seconds_left()
                if left is not None and left <= 0:
                    waited = now - (self._opened_at or now)
                    n, number, side = len(g.commands), g.point.number, g.point.side.value
                    g.decide(self.default_choice)
                    self._record("clock", n, waited_s=waited, timeout=True, decision=number, side=side)
                    self._changed()
                    return True
                return False
            if not self.running or last is None:
                return False
            self._pending_h += self.speed * (now - last)
            if self._pending_h < TICK_H:  # whole game hours at a time: a game keeps a few hundred moves, not 10^4
                return False
            hours, self._pending_h = self._pending_h, 0.0
            n = len(g.commands)
            g.advance(hours)
            self._record("clock", n)
            self._changed()
            return True

    def start(self) -> None:
        """Control starts (or resumes) the clock."""
        with self.lock:
            if self.game.finished:
                raise UserError("the game is over: nothing to run")
            self.running, self._last_tick, self._pending_h = True, self._clock(), 0.0
            self._changed()

    def pause(self) -> None:
        """Control pauses the clock (a decision already waiting still waits for its team)."""
        with self.lock:
            self.running = False
            self._changed()

    def run_to_next(self) -> None:
        """Control runs the model on to the next decision (or the end) at once."""
        with self.lock:
            if self.game.point is None and not self.game.finished:
                n = len(self.game.commands)
                self.game.advance()
                self._record("control", n)
            self._changed()

    def finish(self) -> None:
        """Control ends the game: the model runs to the horizon and every remaining decision takes the default."""
        with self.lock:
            g = self.game
            self.running = False
            while not g.finished:
                if g.point is None:
                    n = len(g.commands)
                    g.advance()
                    self._record("control", n)
                    continue
                n, number, side = len(g.commands), g.point.number, g.point.side.value
                g.decide(self.default_choice)
                self._record("control", n, decision=number, side=side)
            self._changed()

    def set_limit(self, seconds: float | None, default_choice: str = DEFAULT_CHOICE) -> None:
        """Control sets the decision time limit (``None``: none) and the default response on time-out."""
        if seconds is not None and not 5 <= float(seconds) <= MAX_LIMIT_S:
            raise UserError(f"decision time limit {seconds}: must be between 5 and {MAX_LIMIT_S:.0f} seconds")
        names = [c.name.lower() for c in Choice]
        if default_choice not in names:
            raise UserError(f"default response {default_choice!r}: must be one of {', '.join(names)}")
        with self.lock:
            self.limit_s = None if seconds is None else float(seconds)
            self.default_choice = default_choice
            if self.game.point is not None:
                self._opened_at = self._clock()  # the new limit counts from now for the waiting decision
            self._changed()

    def set_speed(self, hours_per_second: float) -> None:  # noqa: D102
        if not 0.01 <= float(hours_per_second) <= 240:
            raise UserError(f"clock speed {hours_per_second}: must be between 0.01 and 240 game hours a second")
        with self.lock:
            self.speed = float(hours_per_second)
            self._changed()

    def inject(self, **kw: Any) -> None:
        """Control adds an inject now (as a scenario's injects list would)."""
        with self.lock:
            n = len(self.game.commands)
            self.game.inject(**kw)
            self._record("control", n)
            self._changed()

    def reveal(self) -> None:
        """Control reveals the truth to everyone (the debrief)."""
        with self.lock:
            self.revealed = True
            self._changed()

    # ------------------------------------------------------------------ the teams
    def _own_point(self, role: str):
        point = self.game.point
        if role not in TEAMS:
            raise UserError(f"only a team decides: the {role} page cannot")
        if point is None or point.side.value != role:
            raise UserError("no decision is waiting for your team")
        return point

    def call(self, role: str, label: str) -> bool:
        """A team calls over a channel before deciding."""
        with self.lock:
            self._own_point(role)
            n = len(self.game.commands)
            up = self.game.call_channel(label)
            self._record(role, n)
            self._changed()
            return up

    def decide(self, role: str, choice: str) -> str:
        """A team answers its waiting decision."""
        with self.lock:
            self._own_point(role)
            waited = self._clock() - self._opened_at if self._opened_at is not None else None
            n, number = len(self.game.commands), self.game.point.number
            response = self.game.decide(choice)
            self._record(role, n, waited_s=waited, decision=number, side=role)
            self._changed()
            return response

    # ------------------------------------------------------------------ views
    def timeouts(self, side: str | None = None) -> list[str]:
        """A line per decision answered by the default response on time-out (of ``side``, or both)."""
        out = []
        for m in self.moves:
            if m.timeout and m.side is not None and side in (None, m.side):
                choice = self.game.commands[m.index].get("choice", "")
                out.append(
                    f"Decision {m.decision} ({m.side}): time ran out; the default response, {choice}, was carried out"
                )
        return out

    def decisions(self) -> list[dict[str, Any]]:
        """Every answered or waiting decision: side, number, perceptions, answer (the truth; control's)."""
        out: list[dict[str, Any]] = []
        for e in self.game.events:
            if e["kind"] == "decision point":
                out.append(
                    {
                        "side": e["side"],
                        "clock": e["clock"],
                        "time_h": e["time_h"],
                        "text": e["text"],
                        "perceived_severity": e["perceived_severity"],
                        "rung": e["rung"],
                    }
                )
        return out

    def view(self, role: str) -> dict[str, Any]:
        """What the ``role`` page may show, as plain data (nothing else of the game reaches it)."""
        if role not in ROLES:
            raise UserError(f"role {role!r}: must be one of {', '.join(ROLES)}")
        with self.lock:
            g = self.game
            st = g.status()
            brief = g.briefing()
            common: dict[str, Any] = {
                "table": self.label,
                "role": role,
                "clock": st["clock"],
                "running": self.running,
                "finished": g.finished,
                "revealed": self.revealed,
                "limit_s": self.limit_s,
                "default_response": default_help(self.default_choice),
                "limit_text": self.limit_statement(),
                "rev": self.rev,
            }
            if role in TEAMS:
                mine = brief if brief is not None and brief["side"] == role else None
                common.update(
                    decision=mine,
                    seconds_left=self.seconds_left() if mine else None,
                    log=[f"{e['clock']}  {e['text']}" for e in g.events if e["side"] == role],
                    perceptions=[
                        {"clock": d["clock"], "text": d["text"], "perceived_severity": d["perceived_severity"]}
                        for d in self.decisions()
                        if d["side"] == role
                    ],
                    timeouts=self.timeouts(role),
                )
            elif role == "observer":
                common.update(public={"rung": st["rung"], "rung_label": st["rung_label"], "peak_rung": st["peak_rung"]})
            if role == "control" or self.revealed:  # the truth: control's always, everyone's after the reveal
                common.update(
                    status=st,
                    truth_log=[
                        f"{e['clock']}  [{e['side']}] {e['text']}"
                        + (f" (true severity {e['severity']:.2f})" if e.get("severity") is not None else "")
                        for e in g.events
                    ],
                    decisions=self.decisions(),
                    measures=[k for k, v in g.settings.measures.items() if v.get("enabled")],
                    scenario=g.settings.scenario.name,
                    rung_series=g.rung_series(),
                    all_timeouts=self.timeouts(),
                )
            if role == "control":
                common.update(
                    codes=dict(self.codes),
                    speed=self.speed,
                    waiting={"side": brief["side"], "briefing": brief} if brief else None,
                    seconds_left=self.seconds_left(),
                )
            return common

    # ------------------------------------------------------------------ save / load
    def to_dict(self) -> dict[str, Any]:
        """The table as a file: the game's save content (replayed exactly) with the workshop's own fields."""
        with self.lock:
            return {
                "format": WORKSHOP_FORMAT,
                "id": self.id,
                "label": self.label,
                "arm": self.arm,
                "parent": self.parent,
                "codes": dict(self.codes),
                "limit_s": self.limit_s,
                "default_choice": self.default_choice,
                "speed": self.speed,
                "revealed": self.revealed,
                "wall_s": round(self.wall(), 3),
                "moves": [m.to_dict() for m in self.moves],
                "game": self.game.to_dict(),
            }

    def save(self, path: Path) -> None:  # noqa: D102
        text = json.dumps(self.to_dict(), indent=1) + "\n"
        atomic_write(Path(path), lambda f: f.write(text))

    @classmethod
    def from_dict(cls, data: Any, where: str, clock: Callable[[], float] = time.monotonic) -> Table:
        """A table from its file (checked: the game part against the save schema, then replayed)."""
        if not isinstance(data, dict) or data.get("format") != WORKSHOP_FORMAT:
            raise UserError(f"{where}: format: not an {WORKSHOP_FORMAT} workshop game")
        save = check_save(data.get("game"), f"{where}: game")
        codes = data.get("codes")
        if not isinstance(codes, dict) or set(codes) != set(ROLES) or not all(_is_code(c) for c in codes.values()):
            raise UserError(f"{where}: codes: expected one join code for each of {', '.join(ROLES)}")
        settings = settings_from_save(save, where)
        table = cls(
            settings,
            codes,
            table_id=_name(data.get("id"), f"{where}: id"),
            label=str(data.get("label", ""))[:80],
            arm=str(data.get("arm", ""))[:80],
            parent=data.get("parent") if isinstance(data.get("parent"), dict) else None,
            clock=clock,
        )
        for i, command in enumerate(save["commands"]):
            try:
                table.game.apply(command)
            except (UserError, KeyError, TypeError, ValueError) as exc:
                raise UserError(
                    f"{where}: stale save: move {i} no longer replays on this version of the model ({exc})"
                ) from None
        limit = data.get("limit_s")
        table.limit_s = float(limit) if isinstance(limit, int | float) and not isinstance(limit, bool) else None
        choice = data.get("default_choice", DEFAULT_CHOICE)
        table.default_choice = choice if choice in {c.name.lower() for c in Choice} else DEFAULT_CHOICE
        speed = data.get("speed", DEFAULT_SPEED_H_PER_S)
        table.speed = float(speed) if isinstance(speed, int | float) and 0.01 <= speed <= 240 else DEFAULT_SPEED_H_PER_S
        table.revealed = data.get("revealed") is True
        wall = data.get("wall_s", 0.0)
        table._offset = float(wall) if isinstance(wall, int | float) and wall >= 0 else 0.0
        table.moves = _moves(data.get("moves", []), len(table.game.commands), where)
        table._note_point()
        return table

    # ------------------------------------------------------------------ branches
    def commands_before_decision(self, k: int) -> list[dict[str, Any]]:
        """The game's commands up to (not including) the answer to its ``k``-th decision (1-based)."""
        seen = 0
        for i, c in enumerate(self.game.commands):
            if c["op"] == "decide":
                seen += 1
                if seen == k:
                    return [dict(x) for x in self.game.commands[:i]]
        raise UserError(f"decision {k}: this game has {seen} answered decisions (branch from 1 to {seen})")


def _is_code(value: Any) -> bool:
    return isinstance(value, str) and len(value) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in value)


def _name(value: Any, where: str) -> str:
    import re

    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise UserError(f"{where}: must be a plain name (letters, digits, _ and -)")
    return value


def _moves(value: Any, n_commands: int, where: str) -> list[Move]:
    if not isinstance(value, list):
        raise UserError(f"{where}: moves: expected a list")
    out = []
    for i, m in enumerate(value):
        try:
            move = Move(
                int(m["index"]),
                str(m["role"]),
                float(m["wall_s"]),
                None if m.get("waited_s") is None else float(m["waited_s"]),
                bool(m.get("timeout", False)),
                None if m.get("decision") is None else int(m["decision"]),
                None if m.get("side") is None else str(m["side"]),
            )
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{where}: moves[{i}]: expected index, role, wall_s (and waited_s, timeout)") from None
        if not 0 <= move.index < n_commands or move.role not in (*ROLES, "clock"):
            raise UserError(f"{where}: moves[{i}]: index or role out of range")
        out.append(move)
    return out


def read_table(path: Path, clock: Callable[[], float] = time.monotonic) -> Table:
    """A table from a workshop game file."""
    raw = read_bounded(path, MAX_WORKSHOP_BYTES, "workshop game file", missing="no such workshop game file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        raise UserError(f"{path}: not a workshop game file (not JSON text)") from None
    return Table.from_dict(data, str(path), clock=clock)


def plan(tables: int, arms: list[str], seed: int) -> list[dict[str, Any]]:
    """A balanced, seeded assignment of ``arms`` to ``tables`` tables (each arm as often as possible)."""
    if not 1 <= tables <= MAX_TABLES:
        raise UserError(f"--tables {tables}: must be between 1 and {MAX_TABLES}")
    if not arms:
        raise UserError("--arms: give at least one measure bundle (e.g. none,eln_seven)")
    known = bundle_names()
    for a in arms:
        if a not in known:
            raise UserError(f"--arms: {a!r} is not a measure bundle ({', '.join(known)})")
    if len(set(arms)) != len(arms):
        raise UserError("--arms: each bundle once")
    if not 0 <= seed < 2**63:
        raise UserError(f"--seed {seed}: must be between 0 and 2^63-1")
    blocks = -(-tables // len(arms))
    import numpy as np

    rng = np.random.default_rng(seed)
    order = [a for _ in range(blocks) for a in rng.permutation(arms)][:tables]  # permuted blocks: balanced
    return [{"table": f"T{k + 1}", "arm": str(arm), "seed": seed} for k, arm in enumerate(order)]


def read_game_file(path: Path) -> tuple[GameSettings, list[dict[str, Any]]]:
    """Settings and moves of a save file or of a workshop game file (for ``escalation play load=``)."""
    raw = read_bounded(path, MAX_WORKSHOP_BYTES, "save file", missing="no such save file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        data = None
    if isinstance(data, dict) and data.get("format") == WORKSHOP_FORMAT:
        table = Table.from_dict(data, str(path))
        return table.game.settings, list(table.game.commands)
    if len(raw) > MAX_SAVE_BYTES:
        raise UserError(f"{path}: too large (a save file is at most {MAX_SAVE_BYTES:,} bytes)")
    save = parse_save(raw, str(path))
    return settings_from_save(save, str(path)), save["commands"]


class Workshop:
    """The app's tables, by join code, within the facilitator's limits; kept in ``state_dir`` if given."""

    def __init__(
        self,
        max_games: int = DEFAULT_MAX_GAMES,
        max_participants: int = DEFAULT_MAX_PARTICIPANTS,
        state_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_games = max_games
        self.max_participants = max_participants
        self.state_dir = Path(state_dir) if state_dir else None
        self.clock = clock
        self.tables: dict[str, Table] = {}
        self.by_code: dict[str, tuple[str, str]] = {}  # code -> (table id, role)
        self.sessions: dict[str, tuple[str, str]] = {}  # session id -> (table id, role)
        self.problems: list[str] = []  # one line per state file that could not be restored
        self.lock = threading.RLock()
        self._ticker: threading.Thread | None = None
        if self.state_dir is not None:
            self._restore()

    # ------------------------------------------------------------------ tables
    def create(self, settings: GameSettings, *, label: str = "", arm: str = "", parent=None) -> Table:
        """A new table with a fresh join code per role; ``UserError`` beyond ``max_games``."""
        with self.lock:
            if len(self.tables) >= self.max_games:
                raise UserError(
                    f"this app already holds {len(self.tables)} games, its limit (escalation app --max-games)"
                )
            n, codes = self._fresh()
            table = Table(
                settings,
                codes,
                table_id=f"table{n}",
                label=label or f"table {n}",
                arm=arm,
                parent=parent,
                clock=self.clock,
            )
            self._add(table)
            return table

    def create_randomised(self, overrides: list[str], tables: int, arms: list[str], seed: int) -> list[Table]:
        """``tables`` tables, each with the arm (a measure bundle) the seeded plan assigns it (:func:`plan`).

        ``overrides``: the scenario (and era) every table plays; the world seed is ``seed`` for all.
        """
        rows = plan(tables, arms, seed)
        with self.lock:
            if len(self.tables) + tables > self.max_games:
                raise UserError(
                    f"{tables} tables would make {len(self.tables) + tables} games, above this app's limit of "
                    f"{self.max_games} (escalation app --max-games)"
                )
            made = []
            for r in rows:
                settings = compose_settings([*overrides, f"measures={r['arm']}"], "both", seed=seed)
                made.append(self.create(settings, label=f"{r['table']} ({r['arm']})", arm=r["arm"]))
            return made

    def _fresh(self) -> tuple[int, dict[str, str]]:
        """The next free table number and a new join code per role."""
        n = 1
        while f"table{n}" in self.tables:
            n += 1
        codes: dict[str, str] = {}
        for role in ROLES:
            codes[role] = new_code(set(self.by_code) | set(codes.values()))
        return n, codes

    def _add(self, table: Table) -> None:
        self.tables[table.id] = table
        for role, code in table.codes.items():
            self.by_code[code] = (table.id, role)
        table.on_change = self._persist
        self._persist(table)

    def branch(self, table: Table, k: int) -> Table:
        """A new table replayed exactly to ``table``'s decision ``k``, waiting for a (different) answer."""
        commands = table.commands_before_decision(k)
        new = self.create(
            table.game.settings,
            label=f"{table.label}, branch at decision {k}",
            arm=table.arm,
            parent={"table": table.id, "decision": k},
        )
        with new.lock:
            for c in commands:
                new.game.apply(c)
            new.moves = [Move(i, "control", 0.0) for i in range(len(commands))]
            new._changed()
        return new

    def load(self, raw: bytes, where: str) -> Table:
        """A saved workshop game (e.g. control's *Save this game*) as a new table, with new codes.

        Loaded to be reviewed, played on or branched; ``UserError`` (one line) for a bad or stale file.
        """
        if len(raw) > MAX_WORKSHOP_BYTES:
            raise UserError(f"{where}: too large (a workshop game file is at most {MAX_WORKSHOP_BYTES:,} bytes)")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
            raise UserError(f"{where}: not a saved game (not JSON text)") from None
        if not (isinstance(data, dict) and data.get("format") == WORKSHOP_FORMAT):
            if len(raw) > MAX_SAVE_BYTES:
                raise UserError(f"{where}: too large (a save file is at most {MAX_SAVE_BYTES:,} bytes)")
            save = parse_save(raw, where)  # a game saved from the Play tab or `escalation play`
            if save["side"] != "both":
                raise UserError(
                    f"{where}: side: a game played by {save['side']} alone cannot become a two-team table "
                    "(load it on the Play tab); a game with side=both can"
                )
            data = {"format": WORKSHOP_FORMAT, "id": "loaded", "game": save, "moves": []}
        with self.lock:
            if len(self.tables) >= self.max_games:
                raise UserError(
                    f"this app already holds {len(self.tables)} games, its limit (escalation app --max-games)"
                )
            n, codes = self._fresh()
            data = {**data, "id": f"table{n}", "codes": codes}
            table = Table.from_dict(data, where, clock=self.clock)
            if not str(data.get("label", "")):
                table.label = f"table {n} (loaded)"
            table.parent = None  # its parent, if any, is not in this app
            self._add(table)
            return table

    def _persist(self, table: Table) -> None:
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            table.save(self.state_dir / f"{table.id}.json")

    def _restore(self) -> None:
        if not self.state_dir.is_dir():  # type: ignore[union-attr]
            return
        for path in sorted(self.state_dir.glob("*.json")):  # type: ignore[union-attr]
            try:
                table = read_table(path, self.clock)
                if table.id in self.tables or any(c in self.by_code for c in table.codes.values()):
                    raise UserError(f"{path}: id or join codes already used by another saved game")
                if len(self.tables) >= self.max_games:
                    raise UserError(f"{path}: not restored: the app's limit of {self.max_games} games is reached")
            except UserError as exc:
                self.problems.append(str(exc))
                continue
            self._add(table)

    # ------------------------------------------------------------------ participants
    def join(self, code: str, session: str) -> tuple[Table, str]:
        """The table and role of a join code, for ``session`` (a browser tab); ``UserError`` with one line if bad."""
        key = normalise_code(code)
        with self.lock:
            if key not in self.by_code:
                shown = key if len(key) <= 12 and key.isalnum() else "(not shown)"
                raise UserError(
                    f"join code {shown}: not a game on this server (a code is {CODE_LENGTH} letters and digits "
                    "from control's sheet; ask control)"
                )
            if session not in self.sessions and len(self.sessions) >= self.max_participants:
                raise UserError(
                    f"this app already has {len(self.sessions)} participants, its limit "
                    "(escalation app --max-participants)"
                )
            table_id, role = self.by_code[key]
            self.sessions[session] = (table_id, role)
            return self.tables[table_id], role

    def leave(self, session: str) -> None:
        """A browser tab closed or left its game (its code still works: the team can rejoin)."""
        with self.lock:
            self.sessions.pop(session, None)

    def participants(self, table: Table) -> dict[str, int]:
        """How many pages are joined to ``table``, by role."""
        with self.lock:
            out = dict.fromkeys(ROLES, 0)
            for tid, role in self.sessions.values():
                if tid == table.id:
                    out[role] += 1
            return out

    # ------------------------------------------------------------------ the clock thread
    def tick(self) -> None:
        """Tick every table once (a table whose tick fails is paused and says why in one line)."""
        for table in list(self.tables.values()):
            try:
                table.tick()
            except Exception as exc:  # noqa: BLE001 - the clock thread must outlive one table's failure
                table.running = False
                print(f"escalation: warning: app: {table.id}: the clock stopped ({exc})", file=sys.stderr, flush=True)

    def start_ticking(self, interval_s: float = 0.25) -> None:
        """Tick every table in a daemon thread (the app's clock)."""
        with self.lock:
            if self._ticker is not None:
                return

            def loop() -> None:
                while True:
                    time.sleep(interval_s)
                    self.tick()

            self._ticker = threading.Thread(target=loop, name="workshop-clock", daemon=True)
            self._ticker.start()


def response_rung(choice: str, act_rung: int) -> int:
    """The rung of the response ``choice`` gives to an act at ``act_rung``."""
    return int(response_for(Choice[choice.upper()], act_rung).rung)


__all__ = ["ROLES", "Table", "Workshop", "read_table"]
