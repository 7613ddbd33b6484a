"""Memory benchmark: peak RSS of `escalation run` at 1,000 and 10,000 replications (outputs and report included).

Usage (from the project root, in the project's virtual environment):
    python experiments/bench_memory.py [--replications 1000 10000] [--workers 0]
    python experiments/bench_memory.py --sweep joblib|ray [--jobs 10] [--replications 1000 10000]

``--sweep`` runs a multirun of ``--jobs`` jobs (seeds 0..jobs-1), each of ``N`` replications of the
default scenario, on the joblib launcher (2 jobs at a time) or on Ray (``hydra/launcher=ray``: a local
Ray cluster started for the run), with the change points and replication tables written and no
event log or report (what a large sweep keeps). It samples the resident memory of the whole process
tree (the command, its launcher's workers, Ray's own processes) every half second and reports the
peak for each N, the replications per second and per core, and the ratio of the peaks: flat memory
is a peak that does not grow with the number of replications.

Each run is `escalation run replications=N` in a fresh process, into a temporary folder. The
figure is the peak resident set size of the main process, which gathers, writes and reports
(a worker holds one chunk of replications at a time and does not grow). Memory is flat when the
peak does not grow with N: the README states both figures and their ratio. Writes docs/benchmarks/bench_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import resource, sys
from sim.cli import main
rc = main(sys.argv[1:])
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"PEAK {self_kb} {rc}", file=sys.stderr)
"""


def peak(n: int, workers: int) -> dict:
    """Run ``escalation run replications=n`` and return its peak RSS (MB) and time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, "run", f"replications={n}", f"workers={workers}", f"hydra.run.dir={out}"],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        seconds = time.perf_counter() - start
        line = next((x for x in proc.stderr.splitlines() if x.startswith("PEAK ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"run of {n} failed:\n{proc.stderr[-3000:]}")
        self_kb, rc = (int(x) for x in line.split()[1:])
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    return {
        "replications": n,
        "main_peak_mb": self_kb / 1024,
        "seconds": seconds,
        "exit": rc,
        "output_mb": sum(sizes.values()) / 1e6,
    }


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (MB)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def sweep(launcher: str, jobs: int, n: int) -> dict:
    """A multirun of ``jobs`` jobs of ``n`` replications; peak RSS of the process tree, throughput."""
    exe = str(Path(sys.executable).with_name("escalation"))
    chosen = {"joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], "ray": ["hydra/launcher=ray"]}[launcher]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [
                exe,
                "run",
                "-m",
                f"seed=range(0,{jobs})",
                f"replications={n}",
                "output.events=false",
                "output.report=false",
                "output.plot=false",
                *chosen,
                f"hydra.sweep.dir={out}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
        )
        peak_mb, samples = 0.0, []
        while proc.poll() is None:
            rss = tree_rss_mb(proc.pid)
            peak_mb = max(peak_mb, rss)
            samples.append(round(rss))
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        err = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0:
            raise SystemExit(f"sweep of {jobs} x {n} on {launcher} failed:\n{err[-3000:]}")
        written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        done = sum(1 for p in out.glob("*/summary.json"))
    total = jobs * n
    return {
        "launcher": launcher,
        "jobs": jobs,
        "replications_per_job": n,
        "replications": total,
        "jobs_complete": done,
        "tree_peak_mb": round(peak_mb),
        "seconds": round(seconds, 1),
        "replications_per_second": round(total / seconds, 1),
        "replications_per_core_second": round(total / seconds / 2, 1),
        "written_mb": round(written / 1e6, 1),
        "rss_samples_mb_every_5s": samples[::10],
    }


def main() -> None:
    """Measure and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--sweep", choices=["joblib", "ray"], help="a multirun sweep on this launcher instead")
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    machine = {"cores": os.cpu_count()}
    if args.sweep:
        rows = []
        for n in args.replications:
            rows.append(sweep(args.sweep, args.jobs, n))
            r = rows[-1]
            print(
                f"{r['replications']:>7,} replications ({args.jobs} jobs) on {args.sweep}: "
                f"tree peak {r['tree_peak_mb']} MB, {r['seconds']} s, "
                f"{r['replications_per_core_second']} replications per core-second, {r['written_mb']} MB written",
                flush=True,
            )
        ratio = rows[-1]["tree_peak_mb"] / rows[0]["tree_peak_mb"]
        print(f"peak ratio {rows[-1]['replications']:,} / {rows[0]['replications']:,}: {ratio:.3f}")
        folder = REPO_ROOT / "docs" / "benchmarks"
        folder.mkdir(exist_ok=True)
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "python": platform.python_version(),
            **machine,
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # 1-minute, before and after
            "runs": rows,
            "tree_peak_ratio": round(ratio, 3),
        }
        (folder / f"bench_memory_sweep_{args.sweep}.json").write_text(json.dumps(result, indent=2) + "\n")
        return
    rows = []
    for n in args.replications:
        row = peak(n, args.workers)
        rows.append(row)
        print(
            f"{n:>7} replications: main process peak {row['main_peak_mb']:.0f} MB, {row['output_mb']:.0f} MB written, "
            f"{row['seconds']:.0f} s",
            flush=True,
        )
    ratio = rows[-1]["main_peak_mb"] / rows[0]["main_peak_mb"]
    print(f"peak RSS ratio {rows[-1]['replications']:,} / {rows[0]['replications']:,} replications: {ratio:.3f}")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        **machine,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # 1-minute, before and after
        "runs": rows,
        "main_peak_ratio": ratio,
    }
    folder = REPO_ROOT / "docs" / "benchmarks"
    folder.mkdir(exist_ok=True)
    (folder / "bench_memory.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
