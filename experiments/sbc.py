"""Simulation-based calibration of `escalation calibrate` (issue 30): 90% intervals against known truths.

Draws parameter sets from the prior, makes a synthetic record at each (the real record's shape:
"K of N years", counts over years through their negative binomial, shares at the record's sample
size), fits each with the deviance and reads each parameter's 90% posterior interval
(``sim.calibration.sbc``). Prints and writes the coverage: the share of (truth, parameter) pairs whose
interval holds the truth, overall and by parameter. Well calibrated: about 90% (the issue's bar:
80-97%).

    python experiments/sbc.py --truths 20 --population 100 --generations 6 --write docs/calibration/sbc.json

With ``--out DIR`` the fits stay in DIR and the check continues where it stopped (a truth fitted
before is read, a fit stopped part-way resumed), and ``--truths`` can grow later: the first truths
are the same draws. ``DIR/sbc.csv`` holds the truths done so far.

The suite runs a small version (``tests/test_calibration.py``: three parameters, a short setting).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sim.analysis.stats import wilson
from sim.calibration.sbc import run_sbc
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
    args = parser.parse_args()
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
    by_parameter = table.groupby("parameter", sort=False)["covered"].mean().round(3).to_dict()
    covered = int(table["covered"].sum())
    # how much the data narrowed each interval: its width over the prior's 90% interval, on the sampling scale
    # (log10 for a log-uniform prior); 1 is no narrowing, and coverage near 90% at 1 says nothing
    priors = {p.key: p for p in load_priors(Path(args.priors))}
    table["width_over_prior"] = [
        (priors[k].to_sampling(hi) - priors[k].to_sampling(lo))
        / (0.9 * (priors[k].sampling_bounds[1] - priors[k].sampling_bounds[0]))
        for k, lo, hi in zip(table["parameter"], table["low90"], table["high90"], strict=True)
    ]
    result = {
        "truths": args.truths,
        "parameters": len(by_parameter),
        "intervals": len(table),
        "coverage_90": round(float(table["covered"].mean()), 3),
        # the Wilson interval treats the intervals as independent; those of one truth are not, so it is too narrow
        "coverage_90_wilson95": [round(x, 3) for x in wilson(covered, len(table))[1:]],
        "coverage_by_truth": table.groupby("truth")["covered"].mean().round(3).tolist(),
        "coverage_by_parameter": by_parameter,
        "width_over_prior_median": round(float(table["width_over_prior"].median()), 3),
        "width_over_prior_by_parameter": table.groupby("parameter", sort=False)["width_over_prior"]
        .median()
        .round(3)
        .to_dict(),
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
    return 0


def _shown(path: str) -> str:
    """A file of this project by its path in the project; another one as given."""
    root = Path(__file__).resolve().parent.parent
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


if __name__ == "__main__":
    sys.exit(main())
