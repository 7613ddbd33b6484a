"""``escalation play``: tabletop play in the terminal.

    escalation play scenario=NAME side=nato|russia|both [measures=...] [seed=N] [OVERRIDE ...]
                    [load=GAME.json] [save=GAME.json] [log=events.jsonl] [debrief=200]

``side``, ``load``, ``save``, ``log`` and ``debrief`` belong to play; every other word is a Hydra
override, checked as ``escalation run`` checks them. The game reads one command per line, so a
session can be scripted (``escalation play ... < moves.txt``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sim.run.errors import UserError

PLAY_KEYS = ("side", "load", "save", "log", "debrief")
HELP = """\
At a decision:  a number          choose that response
                c NUMBER          call over that channel first (the answer comes after its latency)
Any time:       [Enter] / n       run on to the next decision (or the end)
                a HOURS           run on at most HOURS hours (stops at a decision)
                i TYPE FORCE ZONE SEVERITY [deliberate]   facilitator inject, now
                                  (f lists the forces and zones by id)
                s FILE            save the game          e FILE   export the game log (events.jsonl)
                st                status                 f        forces and zones (ids for i)
                                                         h        this help
                q                 quit (no debrief)
"""


def parse_args(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split play's own keys from Hydra overrides."""
    own, overrides = {}, []
    for a in args:
        key = a.split("=", 1)[0]
        if key in PLAY_KEYS:
            if "=" not in a or not a.split("=", 1)[1]:
                raise UserError(f"{key}= needs a value")
            own[key] = a.split("=", 1)[1]
        elif a.startswith("-"):
            raise UserError(f"unknown option {a!r} (play takes key=value words)")
        else:
            overrides.append(a)
    return own, overrides


USAGE = (
    """\
usage: escalation play side=nato|russia|both [scenario=NAME] [OVERRIDE ...] [load=F] [save=F] [log=F] [debrief=N]

Tabletop play in the terminal: the model runs until a side you play must decide, then waits for your command.

words:
  side=nato|russia|both   the side(s) you play (required unless load=)
  scenario=NAME           a scenario of the library (escalation scenarios), default baltic_air_policing
  OVERRIDE                any other key=value is a Hydra override, as for escalation run (measures=, era=, seed=)
  load=GAME.json          go on with a saved game (its scenario, side and settings)
  save=GAME.json          save the game when it ends (s FILE saves at any time)
  log=events.jsonl        write the game's event log when it ends
  debrief=N               replications of the debrief's comparison (default 200)
  -h, --help              this help

In the game:
"""
    + HELP
)


def play_command(args: list[str]) -> int:
    """Entry point of ``escalation play``."""
    from sim.run.errors import fail

    if {"-h", "--help", "help"} & set(args):
        print(USAGE, end="")
        return 0
    from sim.play.game import Game
    from sim.play.saves import compose_settings
    from sim.play.workshop import read_game_file

    try:
        own, overrides = parse_args(args)
        if "load" in own:
            if overrides or "side" in own:
                raise UserError("load= restores the saved scenario, side and settings: give no others")
            settings, commands = read_game_file(Path(own["load"]))  # a save, or a workshop game (both sides)
            game = Game.replay(settings, commands, where=own["load"])
        else:
            side = own.get("side")
            if side is None:
                raise UserError("side= is required: side=nato, side=russia or side=both")
            settings = compose_settings(overrides, side)
            game = Game(settings)
        debrief = own.get("debrief", "200")
        if not debrief.isdigit() or int(debrief) < 1:
            raise UserError(f"debrief={debrief}: must be a whole number of at least 1")
        debrief_n = int(debrief)
    except UserError as exc:
        return fail(str(exc))
    return Terminal(game, own, debrief_n).loop()


class Terminal:
    """The terminal game loop: prints what happens, reads one command per line."""

    def __init__(self, game, own: dict[str, str], debrief_n: int):
        self.game, self.own, self.debrief_n = game, own, debrief_n
        self.shown = 0

    def say(self, text: str = "") -> None:  # noqa: D102
        print(text, flush=True)

    def loop(self) -> int:  # noqa: D102
        g, s = self.game, self.game.settings
        sides = {"nato": "NATO", "russia": "Russia", "both": "both sides"}[s.side]
        enabled = [k for k, v in s.measures.items() if v.get("enabled")] or ["none"]
        self.say(f"Escalation tabletop: {s.scenario.name}. You play {sides}; the model plays the rest and the world.")
        self.say(f"Measures: {', '.join(enabled)}. Seed {s.seed}. Horizon {g.horizon_h / 24:.0f} days.")
        self.say("Type h for help.")
        self.show_events()
        while not g.finished:
            if g.point is not None:
                self.show_point()
            try:
                line = input(f"[{g.clock}] > ").strip()
            except EOFError:
                self.say("\nInput ended before the game did: no debrief.")
                self.finish_files()
                return 0
            try:
                if not self.command(line):
                    self.finish_files()
                    return 0
            except UserError as exc:
                self.say(f"  ! {exc}")
            self.show_events()
        self.say(f"\nThe game is over at {g.clock}. Peak rung {g.model.peak_rung}.")
        self.debrief()
        self.finish_files()
        return 0

    def command(self, line: str) -> bool:
        """Do one command; ``False`` to quit."""
        g = self.game
        words = line.split()
        head = words[0].lower() if words else ""
        if head in ("", "n"):
            g.advance()
        elif head.isdigit():
            if g.point is None:
                raise UserError("no decision is waiting (press Enter to run on)")
            options = g.point.options()
            k = int(head)
            if not 1 <= k <= len(options):
                raise UserError(f"choose 1 to {len(options)}")
            response = g.decide(options[k - 1][0])
            self.say(f"  You decide: {response}.")
        elif head == "c":
            if g.point is None:
                raise UserError("no decision is waiting: nothing to call about")
            channels = g.point.channels()
            if len(words) != 2 or not words[1].isdigit() or not 1 <= int(words[1]) <= len(channels):
                raise UserError(
                    f"c NUMBER: a channel from 1 to {len(channels)}" if channels else "no channel left to try"
                )
            label = channels[int(words[1]) - 1].label
            up = g.call_channel(label)
            self.say(f"  {label}: " + ("the call gets through; you will hear back shortly." if up else "no answer."))
        elif head == "a":
            if len(words) != 2:
                raise UserError("a HOURS: how many hours to run on")
            try:
                hours = float(words[1])
            except ValueError:
                raise UserError(f"a HOURS: {words[1]!r} is not a number") from None
            if hours <= 0:
                raise UserError("a HOURS: must be more than 0")
            g.advance(hours)
        elif head == "i":
            if len(words) not in (5, 6):
                raise UserError("i TYPE FORCE ZONE SEVERITY [deliberate]")
            try:
                severity = float(words[4])
            except ValueError:
                raise UserError(f"severity {words[4]!r} is not a number") from None
            g.inject(
                type=words[1],
                initiator=words[2],
                zone=words[3],
                severity=severity,
                deliberate=len(words) == 6 and words[5].lower() in ("deliberate", "yes", "true", "1"),
            )
        elif head in ("s", "e"):
            if len(words) != 2:
                raise UserError(f"{head} FILE")
            path = Path(words[1])
            try:
                g.save(path) if head == "s" else g.export_events(path)
            except OSError as exc:
                raise UserError(f"{path}: {exc.strerror}") from None
            self.say(f"  {'Saved the game' if head == 's' else 'Wrote the game log'} to {path}")
        elif head == "st":
            self.show_status()
        elif head == "f":
            spec = self.game.settings.scenario
            self.say("Forces (id: name, side, where it is based):")
            self.say("\n".join(f"  {f.id}: {f.name}, {f.side.label}, {f.base}" for f in spec.forces))
            self.say("Zones (id: name):")
            self.say("\n".join(f"  {z.id}: {z.name}" for z in spec.zones))
        elif head in ("h", "help", "?"):
            self.say(HELP)
        elif head in ("q", "quit", "exit"):
            self.say("Game left before the end: no debrief.")
            return False
        else:
            raise UserError(f"unknown command {line!r} (h for help)")
        return True

    def show_events(self) -> None:  # noqa: D102
        for e in self.game.events[self.shown :]:
            if e["kind"] != "decision point":
                self.say(f"  {e['clock']}  {e['text']}")
        self.shown = len(self.game.events)

    def show_status(self) -> None:  # noqa: D102
        st = self.game.status()
        self.say(
            f"  {st['clock']}: rung {st['rung']} ({st['rung_label']}), peak {st['peak_rung']}; "
            f"tension NATO {st['tension_nato']:.2f} / Russia {st['tension_russia']:.2f}; "
            f"trust NATO {st['trust_nato']:.2f} / Russia {st['trust_russia']:.2f}"
        )

    def show_point(self) -> None:  # noqa: D102
        b: dict[str, Any] = self.game.briefing()  # type: ignore[assignment]
        w, k = b["what"], b["known"]
        side = "NATO" if b["side"] == "nato" else "Russia"
        self.say(f"\n=== Decision {b['number']} for {side} ({b['decider']}) ===")
        self.say(f"What happened: {w['sentence']}; reported as rung {w['reported_rung']} ({w['reported_rung_label']}).")
        self.say(
            f"What is known: severity assessed {k['perceived_severity']:.2f} (+/- {k['severity_uncertainty']:.2f}); "
            f"likelihood it was deliberate and hostile {k['assessed_hostile_intent']:.0%}"
            + (
                f"; the other side's account came over {', '.join(k['clarified_by'])} "
                "(true, a denial, a warning or a threat: see the log)."
                if k["clarified_by"]
                else "; no word from the other side yet."
            )
        )
        for label, up in b["tried"].items():
            self.say(f"  tried {label}: {'answered' if up else 'no answer'}")
        self.show_status()
        if b["channels"]:
            self.say("Channels (c N):")
            for i, c in enumerate(b["channels"], 1):
                self.say(
                    f"  c {i}. {c['label']}: answer in {c['latency_h']:.1f} h, up {c['availability']:.0%} of the time"
                )
        self.say("Responses:")
        for i, o in enumerate(b["options"], 1):
            self.say(f"  {i}. {o['response']} ({o['to_rung']}): {o['help']}")

    def debrief(self) -> None:  # noqa: D102
        from tqdm import tqdm

        self.say(f"Debrief: the model plays both sides {self.debrief_n} times from the same start...")
        with tqdm(total=self.debrief_n, unit="run", file=sys.stderr, leave=False) as bar:
            result = self.game.debrief(self.debrief_n, progress=bar.update)
        self.say(result.text())

    def finish_files(self) -> None:  # noqa: D102
        if "save" in self.own:
            self.game.save(Path(self.own["save"]))
            self.say(f"Saved the game to {self.own['save']}")
        if "log" in self.own:
            self.game.export_events(Path(self.own["log"]))
            self.say(f"Wrote the game log to {self.own['log']}")
