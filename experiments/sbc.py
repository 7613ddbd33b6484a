"""Simulation-based calibration of `escalation calibrate` (issue 30): 90% intervals against known truths.

Draws parameter sets from the prior, makes a synthetic record at each (the real record's shape:
"K of N years", counts over years through their negative binomial, shares at the record's sample
size), fits each with the deviance and reads each parameter's 90% posterior interval
(``sim.calibration.sbc``). Prints and writes the coverage: the share of (truth, parameter) pairs whose
interval holds the truth, overall, by truth and by parameter, with a 95% interval resampling whole
truths. Well calibrated: about 90% (the issue's bar: 80-97%).

An interval as wide as the prior's covers about 90% whatever the fit learned; the record writes the
score of a fit that learned nothing (``null_coverage_90``) beside the real one, and the verdict is
read on the parameters the data narrow (median width below 0.8 of the prior's 90% interval): their
coverage (the bar: 80-97%) and where their truths fall in their posteriors (half in the middle half if
calibrated; more: too wide, "conservative"; fewer: too narrow, "overconfident"). ``--check`` exits 1
unless the verdict is calibrated or conservative.

    python experiments/sbc.py --truths 20 --population 50 --generations 4 --out DIR \
        --write docs/calibration/sbc_31_p50g4.json

With ``--out DIR`` the fits stay in DIR and the check continues where it stopped (a truth fitted
before is read, a fit stopped part-way resumed), and ``--truths`` can grow later: the first truths
are the same draws. ``DIR/sbc.csv`` holds the truths done so far.

The suite runs a small version (``tests/test_calibration.py``: three parameters, a short setting;
``tests/data/sbc_small/``); the same from here:

    python experiments/sbc.py --targets tests/data/sbc_small/targets.yaml --priors tests/data/sbc_small/priors.yaml \
        --truths 20 --population 30 --generations 4 --max-simulations 2000 --workers 1 --seed 3 \
        --write docs/calibration/sbc_small.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sim.calibration.sbc import judge, run_sbc, summarise
from sim.calibration.targets import PRIORS_FILE, TARGETS_FILE, load_priors
from sim.run.errors import UserError, fail


def main() -> int:  # noqa: D103
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truths", type=int, default=20)
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--max-simulations", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=0, help="processes per fit (0: every core)")
    parser.add_argument("--targets", default=str(TARGETS_FILE))
    parser.add_argument("--priors", default=str(PRIORS_FILE))
    parser.add_argument("--horizon-days", type=float, default=None, help="shorten every setting (a quicker check)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the fits (default: a temporary one)")
    parser.add_argument("--write", default=None, help="JSON file for the coverage")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the intervals of the parameters the data narrow hold their truths in 80-97%% of "
        "cases and their truths' ranks do not show them too narrow (a verdict of calibrated or conservative)",
    )
    args = parser.parse_args()
    for name in ("truths", "population", "generations"):
        if getattr(args, name) < 1:
            return fail(f"--{name} must be at least 1, got {getattr(args, name)}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        try:
            rows, table = run_sbc(
                out,
                args.truths,
                Path(args.targets),
                Path(args.priors),
                {
                    "population": args.population,
                    "generations": args.generations,
                    "max_simulations": args.max_simulations,
                    "workers": args.workers,
                    "predictive_draws": 2,
                },
                seed=args.seed,
                horizon_days=args.horizon_days,
            )
        except UserError as exc:
            return fail(str(exc))
        fits = [json.loads((out / f"truth_{i:03d}" / "fit.json").read_text()) for i in range(args.truths)]
        summary = summarise(table, load_priors(Path(args.priors)), args.population)
    result = {
        **summary,
        "population": args.population,
        "generations": args.generations,
        "horizon_days": args.horizon_days,
        "targets": _shown(args.targets),
        "priors": _shown(args.priors),
        "seed": args.seed,
        "seconds": round(time.perf_counter() - start, 1),  # of this command: fits stored before are only read
        "fit_seconds_by_truth": [f["seconds"] for f in fits],  # pyabc's sampling time of each fit
        "simulations_by_truth": [f["simulations"] for f in fits],
        "final_epsilon_by_truth": [round(f["final_epsilon"], 1) for f in fits],
        "effective_sample_size_by_truth": [f["effective_sample_size"] for f in fits],
    }
    print(json.dumps(result, indent=2))
    if args.write:
        Path(args.write).write_text(json.dumps(result, indent=2) + "\n")
    verdict = judge(result)
    print(f"sbc: {verdict}", file=sys.stderr)
    return 1 if args.check and not verdict.startswith(("calibrated", "conservative")) else 0


def _shown(path: str) -> str:
    """A file of this project by its path in the project; another one as given."""
    root = Path(__file__).resolve().parent.parent
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


if __name__ == "__main__":
    sys.exit(main())
