"""Benchmark: 1,000 replications of the default scenario, as `escalation run replications=1000` does them.

Usage (from the project root, in the project's virtual environment):
    python experiments/bench.py [--replications 1000] [--workers 0] [--repeat 3]
    python experiments/bench.py --factorial [--replications 200] [--n-jobs 2]

``--factorial`` times the whole `eln_seven_factorial` experiment (2^7 = 128 jobs) as a researcher
runs it, `escalation run -m +experiment=eln_seven_factorial hydra/launcher=joblib`, then the
`escalation compare` of its multirun folder, and writes bench_results/bench_factorial.json.

Times the replications (with the event log and time series recorded) and, separately, writing
the output files; prints the figures and writes them to bench_results/bench.json. Figures go in
the README; no unit test asserts a speed (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from sim.config import measure_settings, model_params, register_configs
from sim.output import write_events, write_replications, write_timeseries
from sim.paths import CONF_DIR, REPO_ROOT
from sim.runner import default_workers, run_replications
from sim.scenario_io import library, load_scenario


def main() -> None:
    """Run the benchmark and write its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0, help="0 = as `escalation run` chooses")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--factorial", action="store_true", help="time the eln_seven_factorial experiment instead")
    parser.add_argument("--n-jobs", type=int, default=2, help="joblib workers for --factorial")
    args = parser.parse_args()
    if args.factorial:
        factorial(args.replications if args.replications != 1000 else 200, args.n_jobs)
        return

    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config")
    scenario = load_scenario(library()[cfg.scenario.name])
    params, measures = model_params(cfg), measure_settings(cfg)
    workers = args.workers or default_workers(args.replications)

    run_times, write_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ensemble = run_replications(scenario, params, measures, n=args.replications, seed=0, workers=workers)
        run_times.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            write_replications(ensemble, Path(tmp) / "replications.csv")
            write_timeseries(ensemble, Path(tmp) / "timeseries.csv")
            write_events(ensemble, Path(tmp) / "events.jsonl")
            write_times.append(time.perf_counter() - start)

    figures = {
        "scenario": scenario.name,
        "horizon_days": scenario.horizon_h / 24,
        "replications": args.replications,
        "workers": workers,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "replications_seconds_median": round(statistics.median(run_times), 2),
        "replications_seconds_all": [round(t, 2) for t in run_times],
        "ms_per_replication_per_worker": round(1000 * statistics.median(run_times) * workers / args.replications, 1),
        "write_outputs_seconds_median": round(statistics.median(write_times), 2),
        "date": time.strftime("%Y-%m-%d"),
    }
    out = REPO_ROOT / "bench_results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def factorial(replications: int, n_jobs: int) -> None:
    """Time the 2^7 factorial with the joblib launcher, then its aggregation."""
    exe = shutil.which("escalation", path=str(Path(sys.executable).parent)) or "escalation"
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "factorial"
        start = time.perf_counter()
        subprocess.run([exe, "run", "-m", "+experiment=eln_seven_factorial", "hydra/launcher=joblib",
                        f"hydra.launcher.n_jobs={n_jobs}", f"replications={replications}", f"hydra.sweep.dir={sweep}"],
                       check=True, stdout=subprocess.DEVNULL, cwd=tmp)
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
    }
    out = REPO_ROOT / "bench_results"
    out.mkdir(exist_ok=True)
    (out / "bench_factorial.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
