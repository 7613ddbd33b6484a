"""One job, from a composed config to a folder of outputs, in named steps.

``execute`` runs the steps in order: check the configuration, load the scenario, apply a
sensitivity design point, run replication 0 and estimate the whole job from it (time and
disk, refusing to start if the disk cannot hold it), run the rest streaming each replication
to disk, summarise, draw the curve, build the report, and write ``summary.json`` last — its
presence marks a complete job (``resume=true`` skips such jobs).

``run_job`` wraps ``execute`` for Hydra. It first takes the folder's lock (``sim.run.folder``): a
second run into a folder in use is refused, and so is a folder that holds a complete run unless
``overwrite=true`` (or ``resume=true``, which skips it). A job that fails removes only what it created itself:
never a file that was in its folder before it started (``hydra.run.dir=.`` is safe). In a sweep
the failure is written to ``FAILED`` and the other jobs go on.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from sim.run.errors import UserError
from sim.run.folder import LOCK_NAME, hold
from sim.run.progress import Progress, _duration  # noqa: F401 - Progress is job.Progress too

# What the run folder held before Hydra created or entered it, noted by the CLI (same process):
# {"fresh": True} for a new time-stamped folder, {"path": Path, "names": set | None} for a named one.
_BEFORE: dict[str, Any] = {}
SWEEP: dict[str, Any] = {}  # filled at the end of a multirun by SweepFailures: jobs, failed, dir


class SweepFailures(Callback):
    """Hydra callback (``hydra.callbacks`` in ``conf/config.yaml``): after a sweep, count the jobs that failed.

    A failed job leaves ``FAILED`` in its folder and returns, so that the other jobs run; the
    count lets ``escalation run -m`` exit non-zero when any job failed.
    """

    def on_multirun_start(self, config, **kwargs) -> None:  # noqa: D102
        SWEEP.clear()

    def on_multirun_end(self, config, **kwargs) -> None:  # noqa: D102
        root = Path(str(config.hydra.sweep.dir))
        jobs = [p for p in root.iterdir() if (p / ".hydra").is_dir()] if root.is_dir() else []
        SWEEP.update(jobs=len(jobs), failed=sum((p / "FAILED").exists() for p in jobs), dir=str(root))


def note_run_dir(value: str | None) -> None:
    """Record what ``hydra.run.dir`` holds before Hydra touches it (``None``: the default, time-stamped)."""
    _BEFORE.clear()
    if value is None or "${now:" in value:
        _BEFORE["fresh"] = True
    elif "${" not in value:
        path = Path(value).expanduser().resolve()
        names = {p.name for p in path.iterdir()} if path.is_dir() else None
        _BEFORE.update(path=path, names=names)


def prepare_ray_auth(environ=None) -> None:
    """Send Ray's token when one exists, as ``ray start`` does.

    A local ``hydra/launcher=ray`` run leaves ``~/.ray/auth_token``; a later ``ray start --head``
    then turns token authentication on, but a driver joining an existing cluster sends no token
    unless ``RAY_AUTH_MODE=token`` is set, and fails with "InvalidAuthToken". So: if the user has
    not chosen a mode and a token is there, choose token mode (Ray's own rule for ``ray start``).
    """
    environ = os.environ if environ is None else environ
    if "RAY_AUTH_MODE" in environ:
        return
    path = Path(
        environ.get("RAY_AUTH_TOKEN_PATH") or Path(environ.get("HOME", str(Path.home()))) / ".ray" / "auth_token"
    )
    if environ.get("RAY_AUTH_TOKEN") or path.is_file():
        environ["RAY_AUTH_MODE"] = "token"


def check_config(cfg) -> None:
    """Checks the schema cannot express: counts and parameters in range, and the scenario loads."""
    from sim.run.config import check_ranges, load_configured_scenario

    check_ranges(cfg)
    load_configured_scenario(cfg)


# ---------------------------------------------------------------------------------- Hydra job
def run_job(cfg):
    """One Hydra job: replications, outputs, verdict. A failure removes only what the job created."""
    import traceback

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Hydra's INFO root level would log every step
    lock_was_there = (out / LOCK_NAME).exists()
    try:
        hold(out)  # removes what a killed run that held the folder left behind (its marked temporaries)
        if (out / "summary.json").exists() and not cfg.resume and not cfg.overwrite:
            raise UserError(refuse_complete(out))
    except UserError as exc:  # nothing of this run was written: no FAILED, no cleanup
        print(f"escalation: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if cfg.resume and (out / "summary.json").exists():
        print(f"{out}: complete, skipped (resume=true)")
        (out / "FAILED").unlink(missing_ok=True)
        return None
    if cfg.overwrite:
        (out / "summary.json").unlink(missing_ok=True)  # the folder no longer holds a complete run
    (out / "FAILED").unlink(missing_ok=True)
    at_start = {p.name for p in out.iterdir()} - (set() if lock_was_there else {LOCK_NAME})  # the lock is ours
    try:
        return execute(cfg, out, overrides=list(hc.overrides.task), sweep_job=multirun)
    except (Exception, KeyboardInterrupt) as exc:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            exc = UserError(f"{out}: the disk is full ({exc.strerror}); this job's files were removed")
        interrupted = isinstance(exc, KeyboardInterrupt)
        hydra_own = {".hydra", f"{hc.job.name}.log", LOCK_NAME}
        remove_created(out, at_start, sweep_job=multirun, hydra_own=hydra_own)  # frees the disk too, before FAILED
        if multirun and not interrupted:
            message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            detail = "" if isinstance(exc, UserError) else f"\n\n{traceback.format_exc()}"
            try:
                (out / "FAILED").write_text(f"{message}{detail}\n")
            except OSError as write_error:  # a full disk: say so on stderr, and let the next job run
                print(f"escalation: job {hc.job.num}: cannot write FAILED ({write_error})", file=sys.stderr)
            print(f"escalation: job {hc.job.num} failed ({message}); the other jobs go on", file=sys.stderr)
            return None
        if interrupted:
            raise
        if isinstance(exc, UserError):
            print(f"escalation: error: {exc}", file=sys.stderr)
            sys.exit(2)
        raise


def refuse_complete(out: Path) -> str:
    """Why a run does not write into ``out``, which holds a complete run."""
    return (
        f"{out} holds a complete run (summary.json): add overwrite=true to replace it, resume=true to keep it, "
        "or write to another folder"
    )


def remove_created(
    out: Path, at_start: set[str], sweep_job: bool = False, hydra_own: frozenset[str] | set[str] = frozenset({".hydra"})
) -> None:
    """After a failure: remove what this job created in ``out``, nothing that was there before.

    A single run removes its folder too when Hydra made it for this run (a new time-stamped or
    named folder that held only Hydra's own files when the job started); a sweep job keeps its
    folder with Hydra's files (``.hydra/``, the log), where ``FAILED`` then says what went wrong.
    """
    resolved = out.resolve()
    only_hydra = at_start <= set(hydra_own)
    if sweep_job:
        keep = set(at_start)
    elif (_BEFORE.get("fresh") and only_hydra) or (_BEFORE.get("path") == resolved and _BEFORE.get("names") is None):
        keep: set[str] = set()  # Hydra made this folder for this run
    elif _BEFORE.get("path") == resolved:
        keep = set(_BEFORE["names"])
    else:  # we cannot tell what Hydra added: keep everything that was there when the job started
        keep = at_start
    for entry in list(out.iterdir()) if out.is_dir() else []:
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    if not keep:
        try:
            out.rmdir()  # only if empty
        except OSError:
            pass


def _size(n_bytes: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n_bytes < 1000 or unit == "TB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return ""  # not reached


def estimate(n: int, workers: int, seconds_one: float, bytes_one: int, out: Path) -> str:
    """One line: the job's time and disk from its first replication; ``UserError`` if the disk is too small."""
    seconds = seconds_one * n / max(workers, 1)
    disk = bytes_one * n
    free = shutil.disk_usage(out).free
    if disk > free:
        raise UserError(
            f"{n} replications need about {_size(disk)} of output and {out} has {_size(free)} free: "
            "run fewer replications, or write fewer files (output.timeseries=false, output.events=false)"
        )
    return (
        f"{n} replications on {workers} worker{'s' if workers != 1 else ''}: about {_duration(seconds)} "
        f"and {_size(disk)} of output (estimated from the first replication)"
    )


# ---------------------------------------------------------------------------------- the steps
def execute(cfg, out: Path, overrides: list[str], sweep_job: bool = False):
    """Run the configured replications, streaming every output into ``out``; return the summary.

    Inside a parallel launcher's worker (joblib, Ray), which already uses the cores, the
    replications run in-process rather than in a pool of their own (``effective_workers``).
    """
    import numpy as np

    from sim.analysis.verdict import format_verdict
    from sim.calibration.targets import parameter_source
    from sim.run.config import load_configured_scenario, measure_settings, model_params
    from sim.run.output import RunWriter, read_summary_columns, write_summary
    from sim.run.runner import (
        SUMMARY_COLUMNS,
        default_workers,
        effective_workers,
        iter_replications,
        parameters_label,
        run_replication,
        summarise,
    )

    check_config(cfg)
    scenario = load_configured_scenario(cfg)
    design_point = _apply_design_point(cfg)
    params, measures = parameter_source(cfg, model_params(cfg)), measure_settings(cfg)
    n, seed = int(cfg.replications), int(cfg.seed)
    workers = effective_workers(int(cfg.workers) or default_workers(n))
    if int(cfg.workers) > 1 and workers == 1:
        print(
            f"escalation: workers={cfg.workers} ignored: the launcher already runs jobs in parallel, "
            "so each job runs its replications in one process",
            file=sys.stderr,
        )
    enabled = [k for k, v in measures.items() if v.get("enabled")]
    record_events = bool(cfg.output.events)
    counts = np.zeros((int(round(scenario.horizon_h)) + 1, 8), dtype=np.int64)  # replications per hour and rung
    plot = cfg.output.report if cfg.output.plot is None else cfg.output.plot  # unset: the curve goes with the report
    curve = report_wanted(plot, sweep_job)

    def tally(rep) -> None:  # the escalation curve's counts: only where the curve is drawn
        if curve:
            rung = rep.rung_by_hour()
            counts[np.arange(len(rung)), rung] += 1

    with RunWriter(
        out, seed, timeseries=bool(cfg.output.timeseries), events=record_events, hourly_csv=bool(cfg.output.hourly_csv)
    ) as writer:
        started = time.perf_counter()
        first = run_replication(scenario, params, measures, seed, 0, record_events, True)
        first_seconds = time.perf_counter() - started  # sizes the chunks the workers get
        bytes_one = writer.add(first)
        if n > 1:
            print(
                f"escalation: {estimate(n, workers, time.perf_counter() - started, bytes_one, out)}",
                file=sys.stderr,
                flush=True,
            )
        tally(first)
        progress = Progress(n)
        progress.update(1)
        try:
            for rep in iter_replications(
                scenario,
                params,
                measures,
                seed,
                range(1, n),
                workers,
                record_events=record_events,
                record_timeseries=True,
                seconds_per_replication=first_seconds,
                event_lines=True,  # the workers write the log's lines: the writer only writes them
            ):
                writer.add(rep)
                tally(rep)
                progress.update(1)
        finally:
            progress.close()
    table = read_summary_columns(out / "replications.csv", SUMMARY_COLUMNS)
    summary = summarise(table, scenario.name, seed, enabled, parameters_label(params))
    summary["overrides"] = overrides
    summary["command"] = " ".join(["escalation run", *overrides])
    if design_point is not None:
        summary["design_point"] = design_point
    if cfg.get("objective") is not None:
        costs = cfg.objective.costs
        summary["objective"] = {
            "cost": float(sum(costs.get(m, 0.0) for m in enabled)),
            "p_peak_rung_ge_4": summary["outcomes"]["p_peak_rung_ge_4"]["estimate"],
        }
    if curve:
        from sim.report import figures

        figures.use_style()
        title = f"{scenario.title} | measures: {', '.join(enabled) or 'none'} | n={n}"
        ax = figures.escalation_curve(counts=counts, bands=((0.1, 0.9),), title=title)
        figures.save(ax, out / "escalation_curve", ["png"])
    if report_wanted(cfg.output.report, sweep_job) and cfg.output.timeseries and cfg.output.events:
        from sim.report.build import build_report

        report = build_report([out], formats=list(cfg.output.report_formats), summaries=[summary])
        print(f"Report: {report / 'report.html'}")
    write_summary(summary, out / "summary.json")  # written last: its presence marks a complete job
    print(format_verdict(summary))
    print(f"Outputs: {out}")
    if cfg.get("objective") is not None:  # for an optimising sweeper: minimise [cost, P(rung >= 4)]
        return [summary["objective"]["cost"], summary["objective"]["p_peak_rung_ge_4"]]
    return summary


def report_wanted(setting: bool | None, sweep_job: bool) -> bool:
    """Whether a job writes its report (``output.report``) or figure (``output.plot``): as set, else outside a sweep.

    A sweep's jobs spend their time simulating; the sweep's report and figures are ``escalation
    compare``'s (``output.report=true`` and ``output.plot=true`` write them per job as well).
    """
    return (not sweep_job) if setting is None else bool(setting)


def _apply_design_point(cfg) -> dict[str, Any] | None:
    """A sensitivity design's row ``row``: set its parameter values in ``cfg`` (and check their ranges)."""
    if cfg.get("sensitivity") is None:
        return None
    from omegaconf import OmegaConf

    from sim.analysis.sensitivity import design_point as point_of
    from sim.run.config import check_ranges

    settings = OmegaConf.to_container(cfg.sensitivity, resolve=True)
    try:
        point = point_of(settings, int(settings["row"]))
    except (IndexError, KeyError, ValueError, TypeError) as exc:
        raise UserError(f"sensitivity: {exc}") from None
    for key, value in point.items():
        OmegaConf.update(cfg, key, value)
    check_ranges(cfg)
    return point
