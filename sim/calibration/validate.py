"""``escalation validate``: the default model against every calibration target, and apart, the held-out facts.

Each target's setting (a library scenario in an era, a year, injects dropped) is run for
``--replications`` replications with the default parameters (``--parameters point``) or with each
replication's parameters drawn from the posterior (``--parameters posterior``). The table gives the
record, the tolerance band, the model's estimate with its 95% interval (Wilson for a probability,
Student t for a mean, a bootstrap over replications for a share) and whether the estimate lies in
the band. It is printed, and written to ``validation.md`` and ``validation.json`` (``--out``); the
command exits 1 when a target is missed.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sim.calibration.targets import (
    HOLDOUT_FILE,
    TARGETS_FILE,
    Target,
    base_setup,
    load_targets,
    posterior_draws,
    setting_scenario,
)
from sim.run.errors import UserError


def run_validation(
    replications: int = 200,
    seed: int = 0,
    parameters: str = "point",
    targets_file: Path = TARGETS_FILE,
    workers: int = 0,
    progress: bool = True,
    holdout_file: Path | None = None,
) -> list[dict[str, Any]]:
    """One row per target: record, band, estimate with 95% interval, within or not.

    With ``holdout_file``, its targets follow, each row's ``held_out`` true: facts the fit never read
    (``calibration/holdout.yaml``), refused if it is the in-sample file itself.
    """
    from sim.run.runner import default_workers, run_replications

    settings, targets = load_targets(targets_file)
    rows_of: list[tuple[Target, bool]] = [(t, False) for t in targets]
    if holdout_file is not None:
        if _same_file(holdout_file, targets_file):
            raise UserError(f"--holdout {holdout_file}: the fit read this file (its targets): it is not held out")
        held_settings, held = load_targets(holdout_file, held_out=True)
        clash = sorted({t.name for t in held} & {t.name for t in targets})
        if clash:
            raise UserError(f"--holdout {holdout_file}: target {clash[0]!r} is also an in-sample target")
        read = {(_where(settings[t.setting]), t.statistic) for t in targets}
        for t in held:  # the same statistic in the same configuration, under another name: the fit read it
            if (_where(held_settings[t.setting]), t.statistic) in read:
                raise UserError(
                    f"--holdout {holdout_file}: target {t.name!r}: the fit reads this statistic in the same "
                    f"setting ({t.statistic.kind} of {'+'.join(t.statistic.numerator)})"
                )
        for name, setting in held_settings.items():
            if name in settings and dataclasses.replace(settings[name], replications=setting.replications) != setting:
                raise UserError(f"--holdout {holdout_file}: setting {name!r} differs from the in-sample one")
            settings[name] = setting
        rows_of += [(t, True) for t in held]
    params, measures = base_setup()
    source = posterior_draws(params, seed) if parameters == "posterior" else params
    frames = {}
    for name in dict.fromkeys(t.setting for t, _ in rows_of):
        if progress:
            print(f"escalation validate: {name}: {replications} replications ...", file=sys.stderr, flush=True)
        ensemble = run_replications(
            setting_scenario(settings[name]),
            source,
            measures,
            n=replications,
            seed=seed,
            workers=workers or default_workers(replications),
            record_events=False,
            record_timeseries=False,
        )
        frames[name] = ensemble.outcomes()
    return [_row(t, frames[t.setting], seed) | {"held_out": held} for t, held in rows_of]


def _where(setting) -> tuple:
    """What a setting runs, whatever its name (its replications are the fit's budget, not the setting)."""
    return (setting.scenario, setting.era, setting.horizon_days, setting.injects)


def _same_file(a: Path, b: Path) -> bool:
    """The same file: one path, or the same bytes (a copy of the fit's targets is not held out)."""
    try:
        return a.resolve() == b.resolve() or a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _row(t: Target, frame, seed: int) -> dict[str, Any]:
    est, lo, hi = t.statistic.interval(frame, seed)
    return {
        "target": t.name,
        "title": t.title,
        "setting": t.setting,
        "record": t.value,
        "band": [t.low, t.high],
        "estimate": est,
        "ci95": [lo, hi],
        "within": bool(t.within(est)),
        "source": t.source,
    }


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "n/a"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| target | setting | record | tolerance band | model (95% interval) | within |",
        "|---|---|---:|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["band"]
        clo, chi = r["ci95"]
        lines.append(
            f"| {r['title']} (`{r['target']}`) | {r['setting']} | {_fmt(r['record'])} | [{_fmt(lo)}, {_fmt(hi)}] "
            f"| {_fmt(r['estimate'])} [{_fmt(clo)}, {_fmt(chi)}] | {'yes' if r['within'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def report(
    rows: list[dict[str, Any]],
    replications: int,
    seed: int,
    parameters: str,
    command: str | None = None,
    targets_file: str = "calibration/targets.yaml",
    holdout_file: str = "calibration/holdout.yaml",
) -> str:
    """``validation.md``: the in-sample targets, then the held-out facts, each in its own table."""
    inside = [r for r in rows if not r.get("held_out")]
    held = [r for r in rows if r.get("held_out")]

    def verdict(part: list[dict[str, Any]], what: str) -> str:
        missed = [r["target"] for r in part if not r["within"]]
        if not missed:
            return f"**All {len(part)} {what} are within tolerance.**"
        return f"**{len(missed)} of {len(part)} {what} missed:** {', '.join(missed)}."

    how = (
        "the calibrated point estimate (conf/model/default.yaml)"
        if parameters == "point"
        else "each replication's fitted parameters drawn from the posterior (calibration/posterior.csv)"
    )
    sources = "\n".join(f"- `{r['target']}`: {r['source']}" for r in rows)
    text = (
        "# Validation against the record\n\n"
        f"`{command or f'escalation validate --replications {replications} --seed {seed} --parameters {parameters}'}`: "
        f"{replications} replications of each setting with {how}, no measures. A target is met when the "
        "model's estimate lies in its tolerance band.\n\n"
        "## In sample: the fit's own targets\n\n"
        f"{targets_file}, the fit's own targets: on fresh seeds this is a predictive check of the fit, "
        f"not a validation.\n\n{verdict(inside, 'in-sample targets')}\n\n{table(inside)}"
    )
    if held:
        text += (
            "\n## Held out: facts the fit never read\n\n"
            f"{holdout_file}: facts (other theatres) that no fit has read; it says held_out: true, and `escalation "
            f"calibrate` refuses it.\n\n{verdict(held, 'held-out facts')}\n\n{table(held)}"
        )
    return text + f"\n## Sources\n\n{sources}\n"


def _shown(path: str) -> str:
    """A file as the page names it: relative to the project's data folder when it is the project's own."""
    from sim.run.paths import DATA_ROOT

    try:
        return Path(path).resolve().relative_to(DATA_ROOT.resolve()).as_posix()
    except ValueError:
        return path


def validate_command(args: list[str]) -> int:
    """``escalation validate [--replications N] [--seed S] [--parameters point|posterior] [--out DIR]``."""
    from sim.run.errors import MAX_SEED, OneLineParser, check_out_folder, check_whole, fail
    from sim.run.output import atomic_write

    parser = OneLineParser(
        prog="escalation validate", description="Run the default model against every calibration target."
    )
    parser.add_argument("--replications", type=int, default=200, help="per setting (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the replications (default 0)")
    parser.add_argument(
        "--parameters",
        choices=["point", "posterior"],
        default="point",
        help="the calibrated point estimate (default), or a posterior draw per replication",
    )
    parser.add_argument("--targets", default=str(TARGETS_FILE), help="targets file (default: the project's)")
    parser.add_argument(
        "--holdout",
        default=str(HOLDOUT_FILE),
        help="held-out facts, reported apart (default: calibration/holdout.yaml; none: no held-out table)",
    )
    parser.add_argument("--workers", type=int, default=0, help="processes (default 0: one per core)")
    parser.add_argument("--out", default="outputs/validation", help="folder for validation.md and validation.json")
    try:
        ns = parser.parse_args(args)
        check_whole("--replications", ns.replications, 1, 1_000_000)
        check_whole("--seed", ns.seed, 0, MAX_SEED)
        check_whole("--workers", ns.workers, 0, 1024)
        check_out_folder(ns.out)  # before any work: the old code ran everything, then failed on a file
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    except UserError as exc:
        return fail(str(exc))
    try:
        holdout = None if ns.holdout == "none" else Path(ns.holdout)
        rows = run_validation(
            ns.replications, ns.seed, ns.parameters, Path(ns.targets), ns.workers, holdout_file=holdout
        )
        out = Path(ns.out)
        out.mkdir(parents=True, exist_ok=True)
    except UserError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"--out {ns.out}: cannot be written ({exc.strerror or type(exc).__name__})")
    command = f"escalation validate --replications {ns.replications} --seed {ns.seed} --parameters {ns.parameters}"
    if Path(ns.targets) != TARGETS_FILE:
        command += f" --targets {ns.targets}"
    if holdout is None or holdout != HOLDOUT_FILE:
        command += f" --holdout {ns.holdout}"
    text = report(rows, ns.replications, ns.seed, ns.parameters, command, _shown(ns.targets), _shown(ns.holdout))
    atomic_write(out / "validation.md", lambda f: f.write(text))
    record = {
        "command": command,
        "replications": ns.replications,
        "seed": ns.seed,
        "parameters": ns.parameters,
        "date": date.today().isoformat(),
        "targets": [r for r in rows if not r["held_out"]],
        "held_out": [r for r in rows if r["held_out"]],
    }
    atomic_write(out / "validation.json", lambda f: f.write(json.dumps(record, indent=2) + "\n"))
    inside, held = [r for r in rows if not r["held_out"]], [r for r in rows if r["held_out"]]
    print("In sample (the fit's own targets):\n" + table(inside), end="")
    if held:
        print("\nHeld out (never read by the fit):\n" + table(held), end="")
    missed = [r for r in rows if not r["within"]]
    held_line = f", {sum(r['within'] for r in held)} of {len(held)} held-out facts" if held else ""
    print(
        f"{sum(r['within'] for r in inside)} of {len(inside)} in-sample targets within tolerance{held_line}; "
        f"written to {out / 'validation.md'}",
        file=sys.stderr,
    )
    return 1 if missed else 0
