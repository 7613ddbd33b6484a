"""Benchmark: the engine's speed targets, measured as ratios side by side in one run.

Usage (from the project root, in the project's virtual environment):
    python experiments/bench.py [--rounds 5]
    python experiments/bench.py --factorial [--replications 200] [--n-jobs 2]
    python experiments/bench.py --calibration [--population 20] [--generations 2] [--n-jobs 2]

The default measures, in interleaved rounds (these machines are shared and noisy, so every figure
is a median and every target a ratio of things timed side by side):
- a 365-day Baltic replication (defaults, no measures, as calibration runs it: no event log)
  against the yardstick, a bare Mesa 3.5 model of 40 trivial agents stepped hourly over 8,760
  hours with ``agents.shuffle_do("step")`` and a DataCollector of 5 model reporters collecting
  every step (target <= 0.1);
- a quiet year (the same theatre with no activity, no injects, no exercises) against the busy one
  (target <= 0.05);
- the busy year with encounters, violations and scrambles made impossible, against the yardstick:
  what the sortie layer (platforms going out and coming back) costs before any incident;
- ``escalation run replications=1000 output.report=false`` end to end (outputs included, the
  report left out, as a sweep's job writes none by default): the share of its CPU (the command and
  its worker processes) that simulating the same 1,000 replications costs (target >= 0.60; median
  of seven rounds), and the parts of the rest measured on their own (a run's fixed cost, the report
  a single run adds);
- ``escalation --help`` and ``escalation scenarios``: wall time (target < 0.5 s);
- where a year replication's time goes (cProfile, by part of the model).

Figures are printed and written to ``docs/benchmarks/bench.json``; the README's "Speed" section
quotes them. ``--factorial`` times the whole `eln_seven_factorial` experiment (2^7 = 128 jobs) as a
researcher runs it and writes ``docs/benchmarks/bench_factorial.json``. ``--calibration`` runs a real
fit of a few generations and writes the share of its core time spent simulating to
``docs/benchmarks/bench_calibration.json``. No unit test asserts a speed.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import math
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import mesa
import numpy as np
from hydra import compose, initialize_config_dir

from sim.core.measures import build
from sim.core.model import EscalationModel, replication_seed
from sim.run.config import measure_settings, model_params, register_configs
from sim.run.paths import CONF_DIR, REPO_ROOT
from sim.run.runner import run_replication
from sim.run.scenario_io import library, load_scenario

YEAR_H = 365 * 24.0


class _Trivial(mesa.Agent):
    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.x = 0

    def step(self) -> None:
        self.x += 1


class Yardstick(mesa.Model):
    """40 trivial agents stepped hourly with ``agents.shuffle_do``, a DataCollector of 5 model reporters.

    The yardstick the year target names (issue 29): a bare Mesa 3.5 model, 8,760 hourly steps. An
    earlier version stepped the agents with ``agents.do`` (no shuffle), which costs about 0.6 of this.
    """

    def __init__(self) -> None:
        super().__init__(rng=1)
        _Trivial.create_agents(self, 40)
        self.dc = mesa.DataCollector(model_reporters={f"r{i}": (lambda m, i=i: m.steps + i) for i in range(5)})

    def step(self) -> None:
        """One hour: every agent steps in a shuffled order, the collector collects."""
        self.agents.shuffle_do("step")
        self.dc.collect(self)


def ratio(rounds: dict[str, list[float]], a: str, b: str) -> list[float]:
    """``a`` over ``b`` in each round."""
    return [x / y for x, y in zip(rounds[a], rounds[b], strict=True)]


def yardstick() -> float:
    """Seconds for the yardstick's 8,760 hourly steps."""
    start = time.perf_counter()
    Yardstick().run_until(YEAR_H)
    return time.perf_counter() - start


def setup():
    """The default configuration, the Baltic scenario over a year, and a quiet year of it."""
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config")
    busy = dataclasses.replace(load_scenario(library()["baltic_air_policing"]), horizon_h=YEAR_H)
    quiet = dataclasses.replace(
        busy,
        injects=(),
        exercises=(),
        background=(),
        forces=tuple(dataclasses.replace(f, sorties_per_day=0.0) for f in busy.forces),
    )
    return cfg, busy, quiet, model_params(cfg), measure_settings(cfg)


YEAR_REPLICATIONS = 6  # the same replications in every round: rounds differ by the machine, not the seeds


def year(scenario, params, measures, reps: int = YEAR_REPLICATIONS) -> float:
    """Mean seconds for one year replication over replications 0 to ``reps - 1``."""
    start = time.perf_counter()
    for i in range(reps):
        EscalationModel(scenario, params, build(measures), seed=replication_seed(0, i), record_events=False).run()
    return (time.perf_counter() - start) / reps


class _MesaEvents(mesa.Model):
    def __init__(self) -> None:
        super().__init__(rng=1)
        self.fired = 0

    def tick(self) -> None:
        self.fired += 1


class _CountingStream:
    """A model's random stream that counts the draws made through it (same draws, same order)."""

    def __init__(self, rng: np.random.Generator, counts: Counter) -> None:
        self._rng, self._counts = rng, counts

    def __getattr__(self, name: str):
        draw = getattr(self._rng, name)

        def counted(*args, **kwargs):
            self._counts[name] += 1
            return draw(*args, **kwargs)

        return counted


def year_counts(scenario, params, measures, reps: int = YEAR_REPLICATIONS) -> dict:
    """Incidents, events and random draws (by kind) of a year replication: means over the timed ones."""
    draws: Counter = Counter()
    incidents = events = sorties = scrambles = encounters = 0
    for i in range(reps):
        model = EscalationModel(scenario, params, build(measures), seed=replication_seed(0, i), record_events=False)
        model.streams = {k: _CountingStream(v, draws) for k, v in model.streams.items()}  # type: ignore[misc]
        for blocks, stream in ((model.activity_draws, "activity"), (model.incident_draws, "incidents")):
            blocks.rng = model.streams[stream]  # its blocks (one call for 256 draws), those drawn already kept
        model.perception_draws.rng = model.streams["perception"]
        model.run()
        outcome = model.outcome()
        incidents += outcome["incidents"]
        events += model.events_fired
        sorties += sum(pl.sorties_flown for pl in model.platforms)
        scrambles += outcome["scrambles_nato"] + outcome["scrambles_russia"]
        encounters += model._incidents_fired  # encounters and violations drawn from the hazards
    return {
        "busy_year_incidents": round(incidents / reps),
        "busy_year_events": round(events / reps),
        "busy_year_sorties": round(sorties / reps),
        "busy_year_scrambles": round(scrambles / reps),
        "busy_year_encounters_and_violations": round(encounters / reps),
        "busy_year_draws": {k: round(v / reps) for k, v in draws.most_common()},
    }


def draw_us(n: int = 20_000) -> float:
    """Microseconds for one scalar draw from numpy (an exponential, as most of the model's draws)."""
    rng = np.random.default_rng(0)
    draw = rng.exponential
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            draw(2.0)
        best = min(best, time.perf_counter() - start)
    return round(best / n * 1e6, 2)


def event_list_us(n: int = 20_000) -> dict[str, float]:
    """Microseconds to schedule and fire one no-op event: Mesa's event list against the model's heap."""
    mesa_model = _MesaEvents()
    start = time.perf_counter()
    for i in range(n):
        mesa_model.schedule_event(mesa_model.tick, at=0.5 + i * 1e-3)
    mesa_model.run_until(n * 1e-3 + 1)
    mesa_us = (time.perf_counter() - start) / n * 1e6
    cfg, busy, quiet, params, measures = setup()
    model = EscalationModel(
        dataclasses.replace(quiet, forces=()), params, build(measures), seed=0, record_changes=False
    )
    fired = [0]

    def tick() -> None:
        fired[0] += 1

    start = time.perf_counter()
    for i in range(n):
        model.at(0.5 + i * 1e-3, tick)
    model.run_until(n * 1e-3 + 1)
    heap_us = (time.perf_counter() - start) / n * 1e6
    assert mesa_model.fired == fired[0] == n
    return {"mesa_us": round(mesa_us, 2), "model_heap_us": round(heap_us, 2), "ratio": round(mesa_us / heap_us, 1)}


def cli_seconds(exe: str, *args: str, repeat: int = 5) -> float:
    """Median wall time of ``escalation ARGS``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([exe, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command_cpu_seconds(exe: str, *args: str, cwd: str) -> tuple[float, float]:
    """CPU seconds (the command and its workers) and wall seconds of ``escalation ARGS``.

    Exact, not sampled: ``os.wait4`` gives the command's own CPU and that of every descendant it
    waited for. Its workers are forked from it (Linux, no other thread: ``sim.run.runner.pool_context``)
    and joined by the pool before it exits, so their CPU is in it to the tick.
    """
    wall = time.perf_counter()
    proc = subprocess.Popen([exe, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"escalation {' '.join(args)} failed")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - wall


def end_to_end(exe: str, cfg, params, measures, rounds: int = 3) -> dict:
    """CPU of ``escalation run replications=1000 output.report=false`` (with its workers) and of simulating them.

    In ``rounds`` rounds, each the command then the same 1,000 replications simulated in this
    process; the share is taken round by round and its median kept (the machine's load moves both).
    And what the rest is made of, each part measured on its own: the fixed cost of a run (a
    one-replication run without figures or report: imports, configuration, outputs; in this
    process, no worker), the forkserver's import of the model (once a job, where the workers start
    from the forkserver rather than from the command), and the report (PNG and SVG figures) built
    again on the same run folder.
    """
    from sim.report.build import build_report

    scenario = load_scenario(library()[cfg.scenario.name])
    command, simulate, walls = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(rounds):
            run = Path(tmp) / f"run{k}"
            cpu, wall = command_cpu_seconds(
                exe, "run", "replications=1000", "output.report=false", f"hydra.run.dir={run}", cwd=tmp
            )
            command.append(cpu)
            walls.append(wall)
            start = time.process_time()
            for i in range(1000):  # the same replications, as the job simulates them (event log and change points)
                run_replication(scenario, params, measures, int(cfg.seed), i, True, True)
            simulate.append(time.process_time() - start)
            print(f"end to end {k + 1}/{rounds}: {cpu:.2f} s CPU, simulating {simulate[-1]:.2f} s", file=sys.stderr)
        fixed_cpu, _ = command_cpu_seconds(
            exe,
            "run",
            "replications=1",
            "output.report=false",
            "output.plot=false",
            f"hydra.run.dir={Path(tmp) / 'one'}",
            cwd=tmp,
        )
        forkserver_cpu = statistics.median(python_import_cpu_seconds("sim.run.runner") for _ in range(3))
        run = Path(tmp) / "run0"
        summary = json.loads((run / "summary.json").read_text())
        start = time.process_time()
        build_report([run], formats=list(cfg.output.report_formats), summaries=[summary])
        report_cpu = time.process_time() - start
    shares = [s / c for s, c in zip(simulate, command, strict=True)]
    command_cpu, simulate_cpu = statistics.median(command), statistics.median(simulate)
    return {
        "rounds": rounds,
        "command_cpu_s": round(command_cpu, 2),
        "command_wall_s": round(statistics.median(walls), 2),
        "simulate_cpu_s": round(simulate_cpu, 2),
        "simulating_share": round(statistics.median(shares), 3),
        "simulating_share_by_round": [round(x, 3) for x in shares],
        "fixed_cpu_s": round(fixed_cpu, 2),
        "report_cpu_s": round(report_cpu, 2),
        "forkserver_cpu_s": round(forkserver_cpu, 2),
        "rest_allowed_at_60_s": round(simulate_cpu * 0.4 / 0.6, 2),
        # the share if the workers cost nothing but their simulating: the fixed cost alone (workers forked from
        # the command, which has imported the model), and with the forkserver's import too (where it is used)
        "share_ceiling": round(simulate_cpu / (simulate_cpu + fixed_cpu), 3),
        "share_ceiling_forkserver": round(simulate_cpu / (simulate_cpu + fixed_cpu + forkserver_cpu), 3),
    }


def python_import_cpu_seconds(module: str) -> float:
    """CPU seconds of a fresh Python importing ``module`` (what the forkserver does once a job: its preload)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


PARTS = (  # where a function's own time goes, by the file and name it lives in
    (
        "engine: event list, clock, change points",
        (
            "engine.py:run_until",
            "engine.py:_pass_time",
            "engine.py:_note_state",
            "engine.py:at",
            "engine.py:at_routine",
            "engine.py:later",
            "heappush",
            "heappop",
            "math.exp",
        ),
    ),
    (
        "activity: sorties, scrambles, hazards",
        (
            "platforms.py:",
            "engine.py:exponential",
            "engine.py:random",
            "activity.py:_compute_hazards",
            "activity.py:_spend_hazard",
            "activity.py:reach",
            "activity.py:_air_hazard",
            "activity.py:_pair_hazard",
            "activity.py:_draw_next_incident",
            "activity.py:_activity_incident",
            "activity.py:moved",
            "activity.py:quick_reaction",
            "activity.py:scramble_against",
            "activity.py:activity_multiplier",
            "theatre.py",
        ),
    ),
)  # numpy's random draws do not show in cProfile: their time is in their callers' own time


def profile(scenario, params, measures) -> list[tuple[str, float]]:
    """Share of a year replication's own time (cProfile tottime) by part of the model."""
    prof = cProfile.Profile()
    prof.enable()
    EscalationModel(scenario, params, build(measures), seed=replication_seed(0, 99), record_events=False).run()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    shares = dict.fromkeys(
        [p for p, _ in PARTS] + ["incidents, perception, decisions, statements (the rest of sim.core)", "other"], 0.0
    )
    total = 0.0
    for (file, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
        total += tottime
        label = f"{Path(file).name}:{name}" if file != "~" else name
        for part, needles in PARTS:
            if any(n in label for n in needles):
                shares[part] += tottime
                break
        else:
            key = (
                "incidents, perception, decisions, statements (the rest of sim.core)"
                if "/sim/core/" in file
                else "other"
            )
            shares[key] += tottime
    return [(k, round(v / total, 3)) for k, v in shares.items()]


def main() -> None:
    """Measure every target and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--factorial", action="store_true", help="time the eln_seven_factorial experiment instead")
    parser.add_argument("--replications", type=int, default=200, help="replications per job for --factorial")
    parser.add_argument("--n-jobs", type=int, default=2, help="joblib workers for --factorial")
    parser.add_argument("--skip-end-to-end", action="store_true", help="leave out the 1,000-replication command")
    parser.add_argument("--end-to-end-rounds", type=int, default=7, help="rounds of the 1,000-replication command")
    parser.add_argument(
        "--calibration", action="store_true", help="measure a calibration's share of core time spent simulating"
    )
    parser.add_argument("--population", type=int, default=20, help="particles for --calibration")
    parser.add_argument("--generations", type=int, default=2, help="generations for --calibration")
    args = parser.parse_args()
    if args.factorial:
        factorial(args.replications, args.n_jobs)
        return
    if args.calibration:
        calibration_generation(args.population, args.generations, args.n_jobs)
        return
    cfg, busy, quiet, params, measures = setup()
    exe = shutil.which("escalation", path=str(Path(sys.executable).parent)) or "escalation"
    load_before = os.getloadavg()[0]
    year(busy, params, measures, reps=1)  # warm up
    # the same year with encounters, violations and quick-reaction scrambles made impossible: what moving
    # the platforms in and out (sorties, their draws and events) costs on its own, before any incident
    sorties_only = dataclasses.replace(
        params, encounter_rate_per_h=0.0, violation_rate_per_h=0.0, qra_scramble_probability=0.0
    )
    # and the same year with quick-reaction scrambles alone made impossible: what the ~300 scrambles cost
    no_scrambles = dataclasses.replace(params, qra_scramble_probability=0.0)
    rounds: dict[str, list[float]] = {
        "yardstick_s": [],
        "busy_year_s": [],
        "quiet_year_s": [],
        "sorties_year_s": [],
        "no_scrambles_year_s": [],
    }
    for k in range(args.rounds):
        rounds["yardstick_s"].append(yardstick())
        rounds["busy_year_s"].append(year(busy, params, measures))
        rounds["quiet_year_s"].append(year(quiet, params, measures))
        rounds["sorties_year_s"].append(year(busy, sorties_only, measures))
        rounds["no_scrambles_year_s"].append(year(busy, no_scrambles, measures))
        print(
            f"round {k + 1}/{args.rounds}: " + ", ".join(f"{n} {v[-1] * 1000:.1f} ms" for n, v in rounds.items()),
            file=sys.stderr,
        )
    med = {n: statistics.median(v) for n, v in rounds.items()}
    figures: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "rounds": args.rounds,
        "yardstick_ms": round(1000 * med["yardstick_s"], 1),
        "busy_year_ms": round(1000 * med["busy_year_s"], 1),
        **year_counts(busy, params, measures),
        "draw_us": draw_us(),
        "quiet_year_ms": round(1000 * med["quiet_year_s"], 2),
        "year_replications": YEAR_REPLICATIONS,
        # ratios taken round by round (things timed side by side), then their median
        "year_over_yardstick": round(statistics.median(ratio(rounds, "busy_year_s", "yardstick_s")), 3),
        "quiet_over_busy": round(statistics.median(ratio(rounds, "quiet_year_s", "busy_year_s")), 4),
        "sorties_year_ms": round(1000 * med["sorties_year_s"], 1),
        "sorties_year_events": year_counts(busy, sorties_only, measures)["busy_year_events"],
        "sorties_over_yardstick": round(statistics.median(ratio(rounds, "sorties_year_s", "yardstick_s")), 3),
        "no_scrambles_over_yardstick": round(statistics.median(ratio(rounds, "no_scrambles_year_s", "yardstick_s")), 3),
        "year_runs_per_hour_on_2_cores": int(2 * 3600 / med["busy_year_s"]),
        "event_list_per_event": event_list_us(),
        "help_s": round(cli_seconds(exe, "--help"), 3),
        "scenarios_s": round(cli_seconds(exe, "scenarios"), 3),
        "profile_year_share": profile(busy, params, measures),
    }
    if not args.skip_end_to_end:
        figures["end_to_end_1000"] = end_to_end(exe, cfg, params, measures, rounds=args.end_to_end_rounds)
    figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # 1-minute, before and after
    out = REPO_ROOT / "docs" / "benchmarks"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def calibration_generation(population: int, generations: int, workers: int) -> None:
    """The share of a calibration's core time spent simulating: a real fit (pyabc, ``workers`` processes).

    The fit runs in this process as ``escalation calibrate`` runs it (``sim.fit.run_fit``), with the
    targets file's replications per particle; the time each particle's replications take
    (``Simulator.outcomes``: building and running the models) is added up in every worker, and set
    against the CPU of this process and of its workers over the generations alone (pyabc's sampling,
    weighting and database included; the outputs written after the fit left out).
    """
    import multiprocessing as mp

    import pyabc

    from sim.calibration import targets as calibration
    from sim.calibration.fit import FitOptions, run_fit

    simulating = mp.Value("d", 0.0)
    outcomes = calibration.Simulator.outcomes

    def timed_outcomes(self, *args, **kwargs):
        start = time.process_time()
        try:
            return outcomes(self, *args, **kwargs)
        finally:
            with simulating.get_lock():
                simulating.value += time.process_time() - start

    calibration.Simulator.outcomes = timed_outcomes  # the sampler's workers are forked: they inherit it
    spent: dict[str, float] = {}
    run = pyabc.ABCSMC.run

    def timed_run(self, *args, **kwargs):
        before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        try:
            return run(self, *args, **kwargs)
        finally:
            after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            pairs = zip(after, before, strict=True)
            spent["cpu_s"] = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in pairs)
            spent["wall_s"] = time.perf_counter() - wall
            spent["simulating_s"] = simulating.value  # before the outputs' own predictive runs

    pyabc.ABCSMC.run = timed_run
    with tempfile.TemporaryDirectory() as tmp:
        fit = run_fit(
            FitOptions(
                out=Path(tmp) / "fit",
                population=population,
                generations=generations,
                workers=workers,
                predictive_draws=2,
                quiet=True,
            )
        )
    figures = {
        "population": population,
        "generations": generations,
        "workers": workers,
        "simulations": fit.get("simulations"),
        "cpu_s": round(spent["cpu_s"], 1),
        "wall_s": round(spent["wall_s"], 1),
        "simulating_s": round(spent["simulating_s"], 1),
        "simulating_share": round(spent["simulating_s"] / spent["cpu_s"], 3),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": round(os.getloadavg()[0], 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    out = REPO_ROOT / "docs" / "benchmarks"
    out.mkdir(exist_ok=True)
    (out / "bench_calibration.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def factorial(replications: int, n_jobs: int) -> None:
    """Time the 2^7 factorial with the joblib launcher, then its aggregation."""
    exe = shutil.which("escalation", path=str(Path(sys.executable).parent)) or "escalation"
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "factorial"
        start = time.perf_counter()
        subprocess.run(
            [
                exe,
                "run",
                "-m",
                "+experiment=eln_seven_factorial",
                "hydra/launcher=joblib",
                f"hydra.launcher.n_jobs={n_jobs}",
                f"replications={replications}",
                f"hydra.sweep.dir={sweep}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=tmp,
        )
        sweep_s = time.perf_counter() - start
        jobs = sum(1 for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
        start = time.perf_counter()
        subprocess.run([exe, "compare", str(sweep)], check=True, stdout=subprocess.DEVNULL, cwd=tmp)
        compare_s = time.perf_counter() - start
    figures = {
        "experiment": "eln_seven_factorial",
        "jobs": jobs,
        "replications_per_job": replications,
        "replications_total": jobs * replications,
        "launcher": f"joblib, n_jobs={n_jobs}",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sweep_seconds": round(sweep_s, 1),
        "sweep_minutes": round(sweep_s / 60, 2),
        "ms_per_replication_per_core": round(1000 * sweep_s * n_jobs / (jobs * replications), 1),
        "compare_seconds": round(compare_s, 1),
        "date": time.strftime("%Y-%m-%d"),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # 1-minute, before and after
    }
    out = REPO_ROOT / "docs" / "benchmarks"
    out.mkdir(exist_ok=True)
    (out / "bench_factorial.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
