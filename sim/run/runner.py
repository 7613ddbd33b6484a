"""Replications: many seeded runs of one configuration, in-process or over worker processes.

Replication ``i`` is always seeded by ``SeedSequence(seed).spawn`` child ``i``, so its result
does not depend on how replications are split between workers or jobs.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd

from sim.analysis.series import CHANGE_COLUMNS, TIMESERIES_COLUMNS, Relaxation, hourly, rung_by_hour
from sim.analysis.stats import count_mean_ci, mean_ci, mean_ci_bootstrap, mean_ci_bootstraps, wilson
from sim.core.budget import EventBudgetExceeded
from sim.core.ladder import Rung
from sim.core.measures import build
from sim.core.model import EscalationModel, replication_seed
from sim.core.spec import ModelParams, ScenarioSpec, Side
from sim.run.errors import UserError


@dataclass
class Replication:
    """What one replication produced: its outcome, the change points of its state, its event log."""

    index: int
    outcome: dict[str, Any]
    changes: np.ndarray | None  # one row per change point: CHANGE_COLUMNS
    events: list[dict[str, Any]]
    relaxation: Relaxation | None = None
    event_text: str | None = None  # the events as ``events.jsonl`` lines, joined, when a worker wrote them so

    def encode_events(self) -> None:
        """Turn the event log into its ``events.jsonl`` lines (in a worker: one string pickles far faster)."""
        self.event_text = event_text(self.index, self.events)
        self.events = []

    @property
    def timeseries(self) -> dict[str, np.ndarray] | None:
        """The state at each whole hour, resampled from the change points (None if not recorded)."""
        if self.changes is None or self.relaxation is None:
            return None
        return hourly(self.changes, self.relaxation)

    def rung_by_hour(self) -> np.ndarray:
        """The rung at each whole hour."""
        assert self.changes is not None and self.relaxation is not None
        return rung_by_hour(self.changes[:, 0], self.changes[:, 1], self.relaxation.horizon_h)


def run_replication(
    scenario: ScenarioSpec,
    params: ModelParams,
    measures: dict[str, dict[str, Any]],
    seed: int,
    index: int,
    record_events: bool = True,
    record_timeseries: bool = True,
) -> Replication:
    """Build and run replication ``index`` (measures are built fresh: they hold per-run state)."""
    params = parameters_of(params, index)
    model = EscalationModel(
        scenario,
        params,
        build(measures),
        seed=replication_seed(seed, index),
        record_events=record_events,
        record_changes=record_timeseries,
    )
    run_budgeted(model, params, measures, f"replication {index}")
    changes = np.array(model.changes, dtype=float) if record_timeseries else None
    relax = Relaxation(
        scenario.horizon_h,
        params.tension_relax_h,
        model.baseline_tension[Side.NATO],
        model.baseline_tension[Side.RUSSIA],
    )
    return Replication(index, model.outcome(), changes, model.events, relax)


# A replication's event budget: EVENTS_FIXED plus EVENTS_PER_HOUR per hour of its scenario. The
# library's scenarios fire 0.2-0.6 events per hour with every measure on (up to 10.4 at the
# highest encounter and violation rates allowed); the floors of conf/ keep every recurring
# event at most hourly.
EVENTS_FIXED = 10_000
EVENTS_PER_HOUR = 100

# Settings whose value multiplies a run's events: (where, key, reference value, "interval" | "rate").
WORK_SETTINGS = (
    ("model", "posture_review_h", 24.0, "interval"),
    ("model", "encounter_rate_per_h", 0.06, "rate"),
    ("model", "violation_rate_per_h", 0.004, "rate"),
    ("mil_to_mil_meetings", "interval_days", 14.0, "interval"),
    ("nrc_rhythm", "interval_days", 7.0, "interval"),
    ("unilateral_restraint", "step_interval_days", 3.0, "interval"),
)


class RunawayReplication(UserError):
    """A replication fired more events than its budget: one line naming the likely parameter."""


def event_budget(horizon_h: float) -> int:
    """Events a replication of a ``horizon_h``-hour scenario may fire."""
    return int(EVENTS_FIXED + EVENTS_PER_HOUR * horizon_h)


def likely_parameter(params, measures: dict[str, dict[str, Any]]) -> str:
    """The setting furthest from its usual value in the direction that multiplies events (``key=value``)."""
    best, score = "", 0.0
    for where, key, reference, kind in WORK_SETTINGS:
        if where == "model":
            value, name = getattr(params, key, None), f"model.{key}"
        else:
            conf = measures.get(where) or {}
            value, name = (conf.get(key) if conf.get("enabled") else None), f"measures.{where}.{key}"
        if not isinstance(value, int | float) or value < 0:
            continue
        ratio = (reference / value if value > 0 else math.inf) if kind == "interval" else value / reference
        if ratio > score:
            best, score = f"{name}={value:g}", ratio
    return best


def run_budgeted(model: EscalationModel, params, measures: dict[str, dict[str, Any]], what: str) -> None:
    """Run ``model`` to its horizon within its event budget; ``RunawayReplication`` (one line) if it runs away."""
    model.event_budget = event_budget(model.horizon_h)
    try:
        model.run()
    except EventBudgetExceeded as exc:
        raise RunawayReplication(runaway_message(exc, params, measures, what)) from None


def runaway_message(exc: EventBudgetExceeded, params, measures: dict[str, dict[str, Any]], what: str) -> str:
    """One line: what was stopped, after how many events, and the likely parameter."""
    likely = likely_parameter(params, measures)
    cause = "no setting stands out"
    if likely:
        cause = f"likely {likely} (a short interval or a high rate multiplies events)"
    return (
        f"{what} stopped: {exc} ({EVENTS_FIXED:,} + {EVENTS_PER_HOUR} per hour of the scenario); "
        f"{cause}; see docs/parameters.md"
    )


def parameters_of(params, index: int) -> ModelParams:
    """Replication ``index``'s parameters: ``params``, or its draw when ``params`` draws per replication."""
    return params.for_replication(index) if hasattr(params, "for_replication") else params


def parameters_label(params) -> str:
    """What ``summary.json`` says the parameters were."""
    if hasattr(params, "for_replication"):
        return (
            "posterior: each replication draws the fitted parameters from calibration/posterior.csv "
            f"({len(params.weights)} particles)"
        )
    return "point: the calibrated point estimate (conf/model/default.yaml) for every replication"


def _run_chunk(args: tuple) -> list[Replication]:
    scenario, params, measures, seed, indices, record_events, record_timeseries, encode = args
    reps = [run_replication(scenario, params, measures, seed, i, record_events, record_timeseries) for i in indices]
    if encode:
        for rep in reps:
            rep.encode_events()
    return reps


def event_line(replication: int, event: dict[str, Any]) -> str:
    """One line of ``events.jsonl``: an event of the log (flat: text, numbers, None, a list of names).

    Encoded by orjson (UTF-8, compact; a float that is not finite is written null): about a
    seventh of the standard library's cost an event, which a 1,000-replication run of ~38 events
    each paid in its workers (issue 29).
    """
    return orjson.dumps({"replication": replication, **event}, option=_ORJSON).decode() + "\n"


def event_text(replication: int, events: list[dict[str, Any]]) -> str:
    """The lines of ``events.jsonl`` for one replication's log, joined."""
    return "".join([event_line(replication, e) for e in events])


_ORJSON = orjson.OPT_SERIALIZE_NUMPY


def default_workers(n_replications: int) -> int:
    """One worker per available core, but in-process for small runs (start-up would dominate)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, n_replications // 50))


@dataclass
class Ensemble:
    """All replications of one configuration, with tidy tables and interval estimates."""

    scenario: str
    seed: int
    measures: list[str]
    replications: list[Replication] = field(default_factory=list)
    parameters: str = ""  # parameters_label()

    @property
    def n(self) -> int:  # noqa: D102
        return len(self.replications)

    def outcomes(self) -> pd.DataFrame:
        """One row per replication."""
        rows = [{"replication": r.index, "seed": self.seed, **r.outcome} for r in self.replications]
        return pd.DataFrame(rows)

    def changes(self) -> pd.DataFrame:
        """One row per replication and change point of the state (``timeseries.parquet``)."""
        reps = [r for r in self.replications if r.changes is not None]
        if not reps:
            return pd.DataFrame(columns=["replication", *CHANGE_COLUMNS])
        frames = np.concatenate([r.changes for r in reps])  # type: ignore[misc]
        data = {"replication": np.repeat([r.index for r in reps], [len(r.changes) for r in reps])}  # type: ignore[arg-type]
        for k, name in enumerate(CHANGE_COLUMNS):
            data[name] = frames[:, k].astype(np.int64) if name == "rung" else frames[:, k]
        return pd.DataFrame(data)

    def timeseries(self) -> pd.DataFrame:
        """One row per replication and whole hour (hour 0 is the initial state), resampled from the change points."""
        reps = [(r.index, r.timeseries) for r in self.replications if r.changes is not None]
        if not reps:
            return pd.DataFrame(columns=["replication", "hour", *TIMESERIES_COLUMNS])
        lengths = [len(ts["rung"]) for _, ts in reps]  # type: ignore[index]
        data = {
            "replication": np.repeat([i for i, _ in reps], lengths),
            "hour": np.concatenate([np.arange(k) for k in lengths]),
        }
        for k in TIMESERIES_COLUMNS:
            data[k] = np.concatenate([np.asarray(ts[k]) for _, ts in reps])  # type: ignore[index]
        return pd.DataFrame(data)

    def rung_matrix(self) -> np.ndarray:
        """Rung by replication (rows) and hour (columns)."""
        return np.array([r.rung_by_hour() for r in self.replications if r.changes is not None])

    def summary(self) -> dict[str, Any]:
        """Headline outcomes with 95% intervals (Wilson for probabilities, Student t or bootstrap for means)."""
        return summarise(self.outcomes(), self.scenario, self.seed, self.measures, self.parameters)


def summarise(
    table: pd.DataFrame | Mapping[str, np.ndarray], scenario: str, seed: int, measures: list[str], parameters: str = ""
) -> dict[str, Any]:
    """Headline outcomes of a ``replications.csv`` table with 95% intervals (Wilson, Student t; counts >= 0).

    ``table``: a data frame, or its columns as numpy arrays (``read_summary_columns``: a run's
    summary needs no pandas).
    """
    df = {c: np.asarray(table[c]) for c in table}
    n = len(df["peak_rung"])
    deaths = "deaths_nato" in df  # tables written before deaths were outcomes have no such columns
    # The columns with a percentile bootstrap, resampled together (the same indices each would draw alone)
    columns = ("crisis_days", "incidents_near_routine", "incidents_serious", "incidents_high_risk")
    resampled = {c: df[c] for c in columns}
    if deaths:
        resampled["casualties"] = df["casualties"]
        resampled["platforms_lost"] = df["platforms_lost_nato"] + df["platforms_lost_russia"]
    boots = dict(zip(resampled, mean_ci_bootstraps([v.astype(float) for v in resampled.values()]), strict=True))

    def prob(col: str) -> dict[str, Any]:
        p, lo, hi = wilson(int(np.nansum(df[col])), n)  # a missing value counts as no event, as pandas' sum
        return {"estimate": p, "ci95": [lo, hi], "method": "Wilson score"}

    def mean(col: str, bootstrap: bool = False) -> dict[str, Any]:
        m, lo, hi, k = boots[col] if bootstrap else mean_ci(df[col].astype(float))
        out = {"estimate": m, "ci95": [lo, hi], "method": "percentile bootstrap" if bootstrap else "Student t"}
        return _defined(out, k)

    def count(col: str) -> dict[str, Any]:
        m, lo, hi, k = count_mean_ci(resampled[col].astype(float), bootstrap=boots[col])
        method = "envelope of the exact Poisson interval of the total and the percentile bootstrap"
        return _defined({"estimate": m, "ci95": [lo, hi], "method": method}, k)

    def _defined(out: dict[str, Any], k: int) -> dict[str, Any]:
        if k != n:
            out["n"] = k
            out["note"] = (
                f"mean over the {k} replications where it is defined (peak above vigilance and back within the horizon)"
            )
        return out

    def prob_of(flags: np.ndarray) -> dict[str, Any]:
        p, lo, hi = wilson(int(flags.sum()), n)
        return {"estimate": p, "ci95": [lo, hi], "method": "Wilson score"}

    rungs, times = np.unique(df["peak_rung"], return_counts=True)
    peak_counts = dict(zip(rungs.tolist(), times.tolist(), strict=True))
    return {
        "scenario": scenario,
        "seed": seed,
        "replications": n,
        "measures": measures,
        **({"parameters": parameters} if parameters else {}),
        "outcomes": {
            "p_peak_rung_ge_4": prob("reached_rung_4"),
            "p_peak_rung_ge_5": prob("reached_rung_5"),
            "mean_peak_rung": mean("peak_rung"),
            "crisis_days": mean("crisis_days", bootstrap=True),
            "days_back_to_vigilance": back_median(df),
            "incidents_near_routine": count("incidents_near_routine"),
            "incidents_serious": count("incidents_serious"),
            "incidents_high_risk": count("incidents_high_risk"),
            **(
                {
                    "p_deaths": {**prob_of(df["casualties"] > 0), "what": "anyone killed by the other side's fire"},
                    "deaths": count("casualties"),
                    "platforms_lost": {
                        **count("platforms_lost"),
                        "what": "platforms lost (shot down or hit), both sides",
                    },
                    "first_fire": {
                        "nato": int(np.nansum(df["first_fire_nato"])),
                        "russia": int(np.nansum(df["first_fire_russia"])),
                        "what": "replications in which each side used force first",
                    },
                }
                if deaths
                else {}
            ),
        },
        "peak_rung_distribution": {Rung(r).label: int(peak_counts.get(r, 0)) for r in range(len(Rung))},
    }


def back_median(df: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Days from a crisis peak back to vigilance: the Kaplan-Meier median, censored at the horizon.

    Averaging only the crises that came back within the horizon would bias it short for the
    stickiest ones (sim.analysis.survival). NaN bounds: the curve does not fall to 1/2 within the horizon.
    """
    from sim.analysis.survival import median_time, time_back_to_vigilance

    if "days_back_censored" not in df:  # a table from before censored times were recorded
        m, lo, hi, k = mean_ci_bootstrap(np.asarray(df["days_back_to_vigilance"], dtype=float))
        return {"estimate": m, "ci95": [lo, hi], "method": "percentile bootstrap (crises back only)", "n": k}
    d = time_back_to_vigilance(df)
    m, lo, hi = median_time(d) if d.events else (math.nan, math.nan, math.nan)
    return {
        "estimate": m,
        "ci95": [lo, hi],
        "method": "Kaplan-Meier median, censored at the horizon (Brookmeyer-Crowley interval)",
        "n": len(d.times),
        "back_within_horizon": d.events,
    }


SUMMARY_COLUMNS = (
    "peak_rung",
    "reached_rung_4",
    "reached_rung_5",
    "crisis_days",
    "days_back_to_vigilance",
    "days_back_censored",
    "incidents_near_routine",
    "incidents_serious",
    "incidents_high_risk",
    "casualties",
    "deaths_nato",
    "platforms_lost_nato",
    "platforms_lost_russia",
    "first_fire_nato",
    "first_fire_russia",
)


def start_forkserver() -> None:
    """Start the forkserver (if not running) with SIGINT ignored: it, and the workers it forks, keep that.

    The forkserver's own SIGINT handling starts only after it has imported ``sim.run.runner`` (a
    second), and a worker ignores SIGINT only from ``_worker_init``: a Ctrl-C in between printed
    their tracebacks beside the one line ``escalation: interrupted``. An ignored signal stays
    ignored across ``exec`` (a signal mask does not: the new process starts unblocked). The
    parent ignores Ctrl-C only while the forkserver is spawned (milliseconds).
    """
    import multiprocessing.forkserver as forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, old)


def pool_context() -> mp.context.BaseContext:
    """How the workers start: forked from this process where that is safe, else from the forkserver.

    Forking (Linux, and no other Python thread running: a thread holding a lock at the fork would
    leave it held in the child) gives the workers the model already imported; the forkserver
    imports it again (``import sim.run.runner``: Mesa, which imports pandas, scipy and networkx;
    about a second of CPU a job, issue 29). The pool forks every worker at its first task, inside
    ``ctrl_c_deferred``, and each then ignores Ctrl-C (``_worker_init``); on a Ctrl-C the workers
    are stopped and the pool shut down, its threads joined, before the command exits. Elsewhere
    (the app's and the workshop's threads, macOS) the workers come from the forkserver, which
    starts with Ctrl-C ignored.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return mp.get_context("fork")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.run.runner"])
    start_forkserver()
    return ctx


@contextmanager
def ctrl_c_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back until the block ends, then raise it (``KeyboardInterrupt``).

    Starting a worker waits for the forkserver; a Ctrl-C in the middle left a worker that the
    pool did not know yet, which then failed on the vanished parent with a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = signal.signal(signal.SIGINT, lambda *_: caught.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if caught:
        raise KeyboardInterrupt


def _worker_init() -> None:
    """In each worker: leave Ctrl-C to the parent, and exit as soon as the main process is gone.

    A pool worker would otherwise live on after a ``kill -9`` of the main process: it blocks on
    its task queue, whose write end every worker also holds, and keeps the forkserver alive.
    The main process holds the write end of a pipe whose read end is the worker's "parent
    sentinel": it becomes readable when the main process dies.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = mp.parent_process()
    if parent is None or parent.sentinel is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        mp_connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def in_parallel_worker() -> bool:
    """True inside a worker of a parallel launcher (joblib's loky processes, Ray workers).

    There a process pool of our own fails.
    """
    ray = sys.modules.get("ray")
    return (
        mp.current_process().daemon
        or mp.get_start_method(allow_none=True) == "loky"
        or (ray is not None and getattr(ray, "is_initialized", lambda: False)())
    )


def effective_workers(workers: int) -> int:
    """Processes replications will really use: one level of parallelism, so 1 inside a parallel launcher's worker."""
    return 1 if workers > 1 and in_parallel_worker() else workers


CHUNK_SECONDS = 0.5  # a chunk of replications should cost about this much (process pool round trip: ~1 ms)
MAX_CHUNK = 200  # replications per chunk at most (what a chunk holds in memory until handed on)


def chunk_size(n: int, workers: int, seconds_per_replication: float | None) -> int:
    """Replications per task: about CHUNK_SECONDS of work, at least four tasks per worker."""
    fair = max(1, math.ceil(n / (workers * 4)))
    if seconds_per_replication is None or seconds_per_replication <= 0:
        return min(25, fair)
    return max(1, min(fair, MAX_CHUNK, math.ceil(CHUNK_SECONDS / seconds_per_replication)))


def iter_replications(
    scenario: ScenarioSpec,
    params: ModelParams,
    measures: dict[str, dict[str, Any]],
    seed: int,
    indices: Sequence[int],
    workers: int = 1,
    record_events: bool = True,
    record_timeseries: bool = True,
    seconds_per_replication: float | None = None,
    event_lines: bool = False,
) -> Iterator[Replication]:
    """Yield replications ``indices`` in index order as they finish (workers > 1: a process pool).

    Replications go to the workers in chunks: big enough that a chunk takes about
    ``CHUNK_SECONDS`` (when ``seconds_per_replication`` is known, e.g. timed on the first one), so
    that scheduling and pickling are a small share; small enough that every worker gets at least
    four. At most ``2 x workers`` chunks are in flight, and a result is dropped once handed on, so
    memory does not grow with the number of replications. If the consumer stops (an error,
    Ctrl-C), pending chunks are cancelled and the workers stopped at once. ``event_lines``: the
    workers hand the event logs on as ``events.jsonl`` lines (``Replication.event_text``), for a
    consumer that only writes them.
    """
    indices = list(indices)
    common = (scenario, params, measures, seed)
    workers = effective_workers(workers)
    if workers <= 1 or len(indices) < 2:
        for i in indices:
            yield run_replication(*common, i, record_events, record_timeseries)
        return
    chunk = chunk_size(len(indices), workers, seconds_per_replication)
    chunks = [indices[k : k + chunk] for k in range(0, len(indices), chunk)]
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(), initializer=_worker_init)
    finished = False
    try:
        window = 2 * workers
        in_flight: dict[Future, int] = {}
        submitted = 0

        def submit_more() -> None:
            nonlocal submitted
            while submitted < len(chunks) and len(in_flight) < window:
                task = (*common, chunks[submitted], record_events, record_timeseries, event_lines)
                fut = pool.submit(_run_chunk, task)
                in_flight[fut] = submitted
                submitted += 1

        with ctrl_c_deferred():  # the workers start (and are known to the pool) before a Ctrl-C stops them
            submit_more()
        done: dict[int, list[Replication]] = {}
        next_chunk = 0
        while in_flight:
            finished_now, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in finished_now:
                done[in_flight.pop(fut)] = fut.result()
            while next_chunk in done:  # hand results on in index order, holding only what arrived early
                yield from done.pop(next_chunk)
                next_chunk += 1
            submit_more()
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop_pool(pool)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers at once (Ctrl-C, an error), then shut the pool down with its thread joined.

    A worker killed halfway through sending its results leaves part of a message in the results
    pipe, and the pool's thread would wait for the rest forever: this process holds the pipe's
    write end too (it made the pipe). Closing that end once the workers are dead lets the thread
    read the end of the pipe instead, see the pool broken and clean up, so the shutdown returns and
    nothing of the pool is left running at exit.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    results = getattr(pool, "_result_queue", None)
    writer = getattr(results, "_writer", None)
    if writer is not None:
        writer.close()  # no worker is left to write: the reader sees the end of the pipe, not a wait
    pool.shutdown(wait=True, cancel_futures=True)


def run_replications(
    scenario: ScenarioSpec,
    params: ModelParams,
    measures: dict[str, dict[str, Any]],
    n: int,
    seed: int,
    workers: int = 1,
    indices: Sequence[int] | None = None,
    record_events: bool = True,
    record_timeseries: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Ensemble:
    """Run replications ``indices`` (default ``range(n)``) and gather them in index order."""
    indices = list(range(n)) if indices is None else list(indices)
    enabled = [k for k, v in measures.items() if v.get("enabled")]
    ensemble = Ensemble(scenario.name, seed, enabled, parameters=parameters_label(params))
    for rep in iter_replications(scenario, params, measures, seed, indices, workers, record_events, record_timeseries):
        ensemble.replications.append(rep)
        if progress:
            progress(1)
    return ensemble
