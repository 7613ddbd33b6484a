"""Instructions, not seconds: a busy Baltic year against the yardstick, counted by valgrind (callgrind).

Usage (from the project root, in the project's virtual environment; needs ``valgrind``):
    python experiments/bench_instructions.py

On a shared, loaded machine wall times move by a factor of two from one minute to the next;
instruction counts do not move at all. This runs the workload of ``experiments/bench.py`` under
callgrind with instrumentation switched on only around the measured part (after imports,
configuration and a warm-up): the yardstick's 8,760 hourly steps, and the same six busy year
replications the benchmark times. It prints both counts and their ratio and writes
``docs/benchmarks/bench_instructions.json``. An instruction is not a nanosecond (the model's
dictionaries and objects miss the caches more than the yardstick's loop), so this complements the
timed ratio of ``bench.py`` and does not replace it: it tells whether a change removed work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
YEAR_REPLICATIONS = 6

WORKLOAD = """
import os, sys, time
sys.path.insert(0, {experiments!r})
import bench
from sim.core.measures import build
from sim.core.model import EscalationModel, replication_seed

what, flag = sys.argv[1], sys.argv[2]
cfg, busy, quiet, params, measures = bench.setup()
EscalationModel(busy, params, build(measures), seed=replication_seed(0, 99), record_events=False).run()
bench.Yardstick().run_until(100.0)
open(flag + ".ready", "w").close()
while not os.path.exists(flag + ".go"):
    time.sleep(0.05)
if what == "yardstick":
    bench.Yardstick().run_until(bench.YEAR_H)
else:
    for i in range({reps}):
        EscalationModel(busy, params, build(measures), seed=replication_seed(0, i), record_events=False).run()
open(flag + ".done", "w").close()
while not os.path.exists(flag + ".end"):
    time.sleep(0.05)
"""


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    while not path.exists():
        if proc.poll() is not None:
            raise SystemExit(f"the workload stopped (exit {proc.returncode}) before {path.suffix}")
        time.sleep(0.2)


def count(what: str, tmp: Path) -> int:
    """Instructions (callgrind's Ir) of the measured part of ``what`` (``yardstick`` or ``year``)."""
    script = tmp / "workload.py"
    script.write_text(WORKLOAD.format(experiments=str(ROOT / "experiments"), reps=YEAR_REPLICATIONS))
    flag, out = tmp / what, tmp / f"{what}.callgrind"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", sys.executable]
        + [str(script), what, str(flag)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    control = ["callgrind_control", "-i"]
    _wait_for(flag.with_suffix(".ready"), proc)
    subprocess.run([*control, "on", str(proc.pid)], check=True, capture_output=True)
    flag.with_suffix(".go").touch()
    _wait_for(flag.with_suffix(".done"), proc)
    subprocess.run([*control, "off", str(proc.pid)], check=True, capture_output=True)
    flag.with_suffix(".end").touch()
    proc.wait()
    totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
    return int(totals[0].split()[1])


def main() -> None:
    """Count both, print and record the ratio."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("bench_instructions: valgrind (with callgrind_control) is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        yardstick = count("yardstick", Path(tmp))
        year = count("year", Path(tmp)) / YEAR_REPLICATIONS
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "commit": commit.stdout.strip() or None,
        "python": sys.version.split()[0],
        "year_replications": YEAR_REPLICATIONS,
        "yardstick_instructions": yardstick,
        "busy_year_instructions": round(year),
        "year_over_yardstick": round(year / yardstick, 4),
    }
    out = ROOT / "docs" / "benchmarks"
    out.mkdir(exist_ok=True)
    path = out / "bench_instructions.json"
    if path.is_file():  # the earlier counts are kept, newest first: whether a change removed work
        before = json.loads(path.read_text())
        history = before.pop("history", [])
        figures["history"] = [before, *history]
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
