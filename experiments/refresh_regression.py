"""Refresh the fixed-seed regression summary that tests/test_regression.py compares against.

    python experiments/refresh_regression.py            # rewrite tests/data/regression_summary.json
    python experiments/refresh_regression.py --check    # exit 1 if the model no longer reproduces it

Run it only when a change to the model is meant to change its numbers, and say so in the commit:
the test fails on any unintended change, to the last decimal kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hydra import compose, initialize_config_dir  # noqa: E402

from sim.config import load_configured_scenario, measure_settings, model_params, register_configs  # noqa: E402
from sim.paths import CONF_DIR  # noqa: E402
from sim.runner import run_replications  # noqa: E402

FILE = ROOT / "tests" / "data" / "regression_summary.json"
CASES = [
    ("baltic_air_policing", "none"),
    ("black_sea_transit", "none"),
    ("baltic_air_policing", "eln_seven"),
    ("drone_shootdown", "hotline"),
]
REPLICATIONS, SEED, DIGITS = 30, 2024, 9


def summary() -> dict[str, dict[str, float]]:
    """Mean of every outcome column over the fixed replications of each case, rounded."""
    register_configs()
    out = {}
    for scenario, measures in CASES:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"scenario={scenario}", f"measures={measures}"])
        ens = run_replications(
            load_configured_scenario(cfg),
            model_params(cfg),
            measure_settings(cfg),
            n=REPLICATIONS,
            seed=SEED,
            workers=1,
            record_events=False,
            record_timeseries=False,
        )
        means = ens.outcomes().mean(numeric_only=True)
        out[f"{scenario}/{measures}"] = {k: round(float(v), DIGITS) for k, v in means.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the fixed-seed summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    now = summary()
    if args.check:
        old = json.loads(FILE.read_text(encoding="utf-8"))
        if old != now:
            print(f"{FILE.relative_to(ROOT)} differs from the model's output", file=sys.stderr)
            return 1
        return 0
    FILE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
