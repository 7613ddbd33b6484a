"""Randomised workshop tables and the play dataset: ``escalation workshop plan | dataset | analyse``.

A workshop of N tables assigns a measure bundle (an *arm*) to each table by a seeded, balanced
randomisation the facilitator can print beforehand (``plan``). Every table plays the same world
(the same scenario and seed), so arms differ only by the measures and the people. After the
workshop, the saved tables (the app's ``--state-dir``, or games saved from control's page) become
one anonymised dataset (``dataset``): a row per team decision with its times and perceptions,
team roles only (no names, no table labels, no join codes), in Parquet with a data dictionary
beside it. Each decision is also placed in the model's own distribution at the same state: the
game is replayed to that decision, and the side's command (as the model plays it) chooses
``draws`` times from there; the share of those choices at least as escalatory as the team's is
``model_share_at_least``. ``analyse`` compares the arms with tables as the unit (decisions at one
table are not independent), and says so when there are too few tables for an interval.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from sim.play.game import Game
from sim.play.saves import check_save, settings_from_save
from sim.play.workshop import MAX_WORKSHOP_BYTES, WORKSHOP_FORMAT, Table, plan, response_rung
from sim.run.errors import UserError, check_out_folder, fail, read_bounded
from sim.run.output import atomic_write

MODEL_DRAWS = 200
ESCALATORY_RUNG = 3  # a response at or above reinforce / raise alert: a military answer

COLUMNS = {
    "table": "anonymised table id (T1, T2, ... in the order of the files given); no names, labels or codes",
    "arm": "the measure bundle the table was assigned (conf/measures/NAME.yaml), or the table's own measures",
    "scenario": "the scenario played",
    "seed": "the world's seed (the same for every table of a randomised workshop)",
    "branch_of": "for a branch: the table it was branched from (anonymised id), else empty",
    "team": "the team that took the decision: nato or russia (roles only)",
    "decision": "the decision's number in the game (both sides counted together)",
    "game_time_h": "game hours since the start when the decision opened",
    "wall_s": "real seconds since the table was created when the decision was answered (empty: a terminal save)",
    "waited_s": "real seconds from the decision's opening to its answer (empty if not recorded)",
    "timeout": "true if the team did not answer in time and the stated default response was carried out",
    "answered_by": "who answered: the team, clock (time-out) or control (control ended the game)",
    "act_type": "the incident or act the team answered (its type)",
    "reported_rung": "the rung the act was reported as (0-6)",
    "perceived_severity": "the severity the team's side assessed (0-1, with the model's perception noise)",
    "assessed_hostile_intent": "the team's side's assessed probability the act was deliberate and hostile",
    "calls": "channel calls the team made before answering",
    "calls_answered": "of those, calls that got through",
    "choice": "the team's choice: de_escalate, hold, protest, match or escalate",
    "response": "the response it gave on the ladder",
    "response_rung": "the rung of that response (0-6)",
    "model_share_at_least": (
        "share of the model's own choices, drawn at the same state, at a rung at least as high as the team's "
        "(small: the team was more escalatory than the model; the model's command proposal, before approval)"
    ),
    "model_draws": "how many model choices that share is made of",
    "game_peak_rung": "the highest rung the table's game reached (the same on every row of a table)",
}


# ---------------------------------------------------------------------------------- plan
def plan_text(rows: list[dict[str, Any]], scenario: str) -> str:
    """The plan to print before the workshop."""
    lines = [
        f"Workshop plan: {len(rows)} tables, scenario {scenario}, world seed {rows[0]['seed']} for every table",
        "(arms assigned by a seeded balanced randomisation: the same command prints the same plan)",
        "",
        "| table | arm (measure bundle) |",
        "|---|---|",
        *[f"| {r['table']} | {r['arm']} |" for r in rows],
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- dataset
def model_share_at_least(game: Game, rung: int, draws: int = MODEL_DRAWS) -> float:
    """Share of the model's choices at ``game``'s waiting decision whose response is at ``rung`` or higher.

    The model is copied at the decision (the game itself is untouched) and the side's decision
    maker chooses ``draws`` times there, each with its own draw of decision noise.
    """
    point = game.point
    if point is None:
        raise ValueError("no decision is waiting")
    model = copy.deepcopy(game.model)
    d = model.decision_points[0].deliberation
    choose = getattr(d.decider, "choose", None)
    if choose is None:  # the core's decision makers changed: no distribution to place the decision in
        return math.nan
    rungs = np.array([choose(d).rung for _ in range(draws)])
    return float(np.mean(rungs >= rung))


def table_rows(data: dict[str, Any], where: str, anon: str, draws: int, parents: dict[str, str]) -> list[dict]:
    """The decision rows of one saved game: a workshop table, or a game saved by ``escalation play`` / the Play tab.

    A plain save has no real times (those columns are empty) and no arm beyond its measures.
    """
    if isinstance(data, dict) and data.get("format") == WORKSHOP_FORMAT:
        table = Table.from_dict(data, where)
        settings, commands = table.game.settings, table.game.commands
        meta = {m.index: m for m in table.moves}
        arm_name, parent = table.arm, parents.get((table.parent or {}).get("table", ""), "")
    else:
        save = check_save(data, where)
        settings = settings_from_save(save, where)
        commands, meta, arm_name, parent = save["commands"], {}, "", ""
    game = Game(settings)
    arm = arm_name or ",".join(sorted(k for k, v in settings.measures.items() if v.get("enabled"))) or "none"
    rows: list[dict[str, Any]] = []
    calls = answered = 0
    for i, command in enumerate(commands):
        if command["op"] == "channel":
            calls += 1
            answered += bool(game.call_channel(command["label"]))
            continue
        if command["op"] != "decide":
            game.apply(command)
            continue
        b = game.briefing()
        rung = response_rung(command["choice"], game.point.act.rung)
        share = model_share_at_least(game, rung, draws)  # before the team's answer: the same state
        response = game.decide(command["choice"])
        m = meta.get(i)
        rows.append(
            {
                "table": anon,
                "arm": arm,
                "scenario": settings.scenario.name,
                "seed": int(settings.seed),
                "branch_of": parent,
                "team": b["side"],
                "decision": int(b["number"]),
                "game_time_h": float(b["time_h"]),
                "wall_s": float(m.wall_s) if m else math.nan,
                "waited_s": float(m.waited_s) if m and m.waited_s is not None else math.nan,
                "timeout": bool(m.timeout) if m else False,
                "answered_by": ("team" if m.role in ("nato", "russia") else m.role) if m else "team",
                "act_type": b["what"]["type"],
                "reported_rung": int(b["what"]["reported_rung"]),
                "perceived_severity": float(b["known"]["perceived_severity"]),
                "assessed_hostile_intent": float(b["known"]["assessed_hostile_intent"]),
                "calls": calls,
                "calls_answered": answered,
                "choice": command["choice"],
                "response": response,
                "response_rung": rung,
                "model_share_at_least": share,
                "model_draws": draws,
            }
        )
        calls = answered = 0
    peak = int(game.model.peak_rung)
    for r in rows:
        r["game_peak_rung"] = peak
    return rows


def game_files(paths: list[str]) -> list[Path]:
    """The workshop game files named (a folder: every ``*.json`` in it), in a stable order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(p.glob("*.json"))
        elif p.exists():
            out.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not out:
        raise UserError("no saved games found (give the app's --state-dir, saved workshop games or game.json files)")
    return out


def build_dataset(paths: list[str], draws: int = MODEL_DRAWS):
    """The play dataset (a DataFrame) from saved workshop games."""
    import json

    import pandas as pd

    files = game_files(paths)
    contents = []
    for f in files:
        raw = read_bounded(f, MAX_WORKSHOP_BYTES, "workshop game file")
        try:
            contents.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
            raise UserError(f"{f}: not a workshop game file (not JSON text)") from None
    ids = {str(c.get("id")) if isinstance(c, dict) else "": f"T{k + 1}" for k, c in enumerate(contents)}
    rows = []
    for f, c, anon in zip(files, contents, [f"T{k + 1}" for k in range(len(files))], strict=True):
        rows += table_rows(c, str(f), anon, draws, ids)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def dictionary_text(df) -> str:
    """The data dictionary written beside the dataset."""
    lines = [
        "# Play dataset: data dictionary",
        "",
        f"{len(df)} team decisions from {df['table'].nunique() if len(df) else 0} tables; one row per decision. "
        "Team roles only: no names, no table labels, no join codes.",
        "",
        "| column | meaning |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in COLUMNS.items()],
    ]
    return "\n".join(lines) + "\n"


def write_dataset(df, out: Path) -> Path:
    """Write ``out`` (Parquet) and its dictionary (``<stem>.dictionary.md``) atomically; return the dictionary."""
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    data = buf.getvalue()
    atomic_write(out, lambda f: f.buffer.write(data))  # bytes, through the text handle's buffer
    dictionary = out.with_name(f"{out.stem}.dictionary.md")
    text = dictionary_text(df)
    atomic_write(dictionary, lambda f: f.write(text))
    return dictionary


# ---------------------------------------------------------------------------------- analysis
def analyse(df) -> str:
    """The arms compared, tables as the unit; each decision placed in the model's distribution."""
    from sim.analysis.stats import mean_ci, wilson

    ended = int((df["answered_by"] == "control").sum())
    df = df[df["answered_by"] != "control"]  # control's defaults when it ended a game are no team's decisions
    if not len(df):
        return "The dataset has no team decisions.\n"
    df = df.assign(escalatory=df["response_rung"] >= ESCALATORY_RUNG)
    per_table = df.groupby(["arm", "table"]).agg(
        share=("escalatory", "mean"), peak=("game_peak_rung", "first"), n=("escalatory", "size")
    )
    lines = [
        f"# Workshop analysis: {df['table'].nunique()} tables, {len(df)} team decisions",
        "",
        f"Time-outs count as the team's (the stated default was carried out); {ended} decisions taken by control's "
        "default when it ended a game are left out. Escalatory: a response at rung 3 or higher.",
        "",
        "Tables are the unit (a table's decisions are not independent): each arm's figure is the mean over its "
        "tables, with a Student-t 95% interval when it has at least two tables.",
        "",
        "| arm | tables | decisions | escalatory decisions (mean share per table) | game peak rung (mean) |",
        "|---|---|---|---|---|",
    ]
    means = {}
    for arm, g in per_table.groupby(level="arm"):
        m, lo, hi, n = mean_ci(g["share"].to_numpy())
        pm, plo, phi, _ = mean_ci(g["peak"].to_numpy())
        means[arm] = g
        interval = f"[{lo:.0%}, {hi:.0%}]" if n >= 2 else "(one table: no interval)"
        pinterval = f"[{plo:.1f}, {phi:.1f}]" if n >= 2 else ""
        lines.append(f"| {arm} | {n} | {int(g['n'].sum())} | {m:.0%} {interval} | {pm:.1f} {pinterval} |")
    base = "none" if "none" in means else sorted(means)[0]  # each arm against no measures, if it was an arm
    for b in sorted(a for a in means if a != base):
        a = base
        xa, xb = means[a]["share"].to_numpy(), means[b]["share"].to_numpy()
        diff = float(xb.mean() - xa.mean())
        if len(xa) >= 2 and len(xb) >= 2:
            from scipy import stats

            va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
            se = math.sqrt(va + vb)
            if se > 0:
                dof = (va + vb) ** 2 / ((va**2 / (len(xa) - 1)) + (vb**2 / (len(xb) - 1)))
                half = float(stats.t.ppf(0.975, dof)) * se
                verdict = f"[{diff - half:+.0%}, {diff + half:+.0%}] (Welch, tables as the unit)"
            else:
                verdict = "(no spread between tables: no interval)"
        else:
            verdict = (
                f"(no interval: {len(xa)} and {len(xb)} tables; an interval needs at least two tables per arm, "
                "and a handful per arm before it says much)"
            )
        lines += ["", f"Difference {b} − {a} in the mean share of escalatory decisions: {diff:+.0%} {verdict}."]
    lines += [
        "",
        "## The teams' decisions in the model's distribution",
        "",
        "For each decision, the share of the model's own choices at the same state that were at least as "
        "escalatory as the team's (small: the team went further than the model usually does).",
        "",
        "| team | decisions | median share | decisions the model went as far in under 10% of draws |",
        "|---|---|---|---|",
    ]
    for team, g in df.groupby("team"):
        shares = g["model_share_at_least"].to_numpy(dtype=float)
        k = int(np.sum(shares < 0.10))
        p, lo, hi = wilson(k, len(shares))
        lines.append(
            f"| {team} | {len(shares)} | {np.nanmedian(shares):.0%} | {k} ({p:.0%} [{lo:.0%}, {hi:.0%}], "
            "decisions pooled) |"
        )
    timeouts = int(df["timeout"].sum())
    lines += ["", f"Time-outs (the stated default carried out): {timeouts} of {len(df)} decisions."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- command
class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        print(f"escalation: error: workshop: {message}", file=sys.stderr)
        raise SystemExit(2)


USAGE = """\
usage: escalation workshop plan --tables N --arms A,B [--seed S] [--scenario NAME] [--out plan.md]
       escalation workshop dataset GAME.json|FOLDER ... --out play.parquet [--draws 200]
       escalation workshop analyse DATASET.parquet [--out analysis.md]
"""


def workshop_command(args: list[str]) -> int:
    """Entry point of ``escalation workshop``."""
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    verb, rest = args[0], args[1:]
    try:
        if verb == "plan":
            p = _Parser(prog="escalation workshop plan")
            p.add_argument("--tables", type=int, required=True)
            p.add_argument("--arms", required=True)
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--scenario", default="baltic_air_policing")
            p.add_argument("--out")
            o = p.parse_args(rest)
            from sim.run.scenario_io import library

            if o.scenario not in library():
                raise UserError(f"--scenario {o.scenario}: not a library scenario ({', '.join(sorted(library()))})")
            text = plan_text(plan(o.tables, [a.strip() for a in o.arms.split(",") if a.strip()], o.seed), o.scenario)
            _emit(text, o.out)
            return 0
        if verb == "dataset":
            p = _Parser(prog="escalation workshop dataset")
            p.add_argument("games", nargs="+")
            p.add_argument("--out", required=True)
            p.add_argument("--draws", type=int, default=MODEL_DRAWS)
            o = p.parse_args(rest)
            out = Path(o.out)
            if out.suffix != ".parquet":
                raise UserError(f"--out {o.out}: the dataset is a .parquet file")
            if not 10 <= o.draws <= 100_000:
                raise UserError(f"--draws {o.draws}: must be between 10 and 100000")
            check_out_folder(out.parent, "--out")
            df = build_dataset(o.games, o.draws)
            dictionary = write_dataset(df, out)
            print(f"Wrote {len(df)} decisions from {df['table'].nunique()} tables to {out} (dictionary: {dictionary})")
            return 0
        if verb in ("analyse", "analyze"):
            p = _Parser(prog="escalation workshop analyse")
            p.add_argument("dataset")
            p.add_argument("--out")
            o = p.parse_args(rest)
            _emit(analyse(read_dataset(Path(o.dataset))), o.out)
            return 0
    except UserError as exc:
        return fail(str(exc))
    return fail(f"workshop: unknown verb {verb!r} (plan, dataset, analyse)")


def read_dataset(path: Path):
    """A play dataset written by ``escalation workshop dataset``."""
    import pandas as pd

    if not path.is_file():
        raise UserError(f"{path}: no such dataset")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for a file that is not Parquet
        raise UserError(f"{path}: not a Parquet play dataset ({type(exc).__name__})") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"{path}: not a play dataset (missing columns: {', '.join(missing[:5])})")
    return df


def _emit(text: str, out: str | None) -> None:
    if out:
        check_out_folder(Path(out).parent, "--out")
        atomic_write(Path(out), lambda f: f.write(text))
        print(f"Wrote {out}")
    else:
        print(text, end="")
