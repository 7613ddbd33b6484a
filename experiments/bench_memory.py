"""Memory benchmark: peak RSS of `escalation run` at 1,000 and 10,000 replications (outputs and report included).

Usage (from the project root, in the project's virtual environment):
    python experiments/bench_memory.py [--replications 1000 10000] [--workers 0]

Each run is `escalation run replications=N` in a fresh process, into a temporary folder. The
figure is the peak resident set size of the main process, which gathers, writes and reports
(a worker holds one chunk of replications at a time and does not grow). Memory is flat when the peak does not grow with N: the
README states both figures and their ratio. Writes bench_results/bench_memory.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
        proc = subprocess.run([sys.executable, "-c", PROBE, "run", f"replications={n}", f"workers={workers}",
                               f"hydra.run.dir={out}"], capture_output=True, text=True, cwd=tmp)
        seconds = time.perf_counter() - start
        line = next((x for x in proc.stderr.splitlines() if x.startswith("PEAK ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"run of {n} failed:\n{proc.stderr[-3000:]}")
        self_kb, rc = (int(x) for x in line.split()[1:])
        sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    return {"replications": n, "main_peak_mb": self_kb / 1024, "seconds": seconds, "exit": rc,
            "output_mb": sum(sizes.values()) / 1e6}


def main() -> None:
    """Measure and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for n in args.replications:
        row = peak(n, args.workers)
        rows.append(row)
        print(f"{n:>7} replications: main process peak {row['main_peak_mb']:.0f} MB, {row['output_mb']:.0f} MB written, "
              f"{row['seconds']:.0f} s", flush=True)
    ratio = rows[-1]["main_peak_mb"] / rows[0]["main_peak_mb"]
    print(f"peak RSS ratio {rows[-1]['replications']:,} / {rows[0]['replications']:,} replications: {ratio:.3f}")
    result = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "machine": platform.machine(),
              "runs": rows, "main_peak_ratio": ratio}
    folder = REPO_ROOT / "bench_results"
    folder.mkdir(exist_ok=True)
    (folder / "bench_memory.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
