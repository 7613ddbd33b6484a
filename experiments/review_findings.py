"""Re-measure, on the current model, the figures of the review that led to the second model core.

    python experiments/review_findings.py [--n 400]

Baltic air-policing month, no measures, seed 11, common random numbers throughout. Prints:
- P(rung >= 4) at the defaults, with every agent's aggressiveness -30% and +30%, and with the
  encounter rate halved (the first model: 4.7% -> 38% for +30%; 14.7% -> 0.7% for half the incidents);
- the share of incidents that lead to a proposal of a military reply to the leadership (first model:
  29% of routine incidents drew one from NATO's command), and the share handled by standing rules;
- the spread of what commands know against the spread of their disturbance (first model: the
  disturbance had about twice the spread of everything the decision-maker knew);
- final trust (first model: 0.20 -> 0.01 in 30 days), calls too late (first model: about 5 a run, lost).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hydra import compose, initialize_config_dir  # noqa: E402

from sim.config import load_configured_scenario, measure_settings, model_params, register_configs  # noqa: E402
from sim.core.measures import build  # noqa: E402
from sim.core.model import EscalationModel, replication_seed  # noqa: E402
from sim.paths import CONF_DIR  # noqa: E402
from sim.runner import run_replications  # noqa: E402
from sim.stats import mean_ci, wilson  # noqa: E402


def scaled(spec, factor: float):
    """Every force's and actor's aggressiveness times ``factor`` (clipped to [0, 1])."""

    def tr(t):
        return dataclasses.replace(t, aggressiveness=min(1.0, t.aggressiveness * factor))

    return dataclasses.replace(
        spec,
        forces=tuple(dataclasses.replace(f, traits=tr(f.traits)) for f in spec.forces),
        actors=tuple(dataclasses.replace(a, traits=tr(a.traits)) for a in spec.actors),
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print the review's figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["scenario=baltic_air_policing"])
    spec, params, measures = load_configured_scenario(cfg), model_params(cfg), measure_settings(cfg)

    def p4(s, p) -> str:
        out = run_replications(
            s, p, measures, n=args.n, seed=args.seed, workers=2, record_events=False, record_timeseries=False
        ).outcomes()
        est, lo, hi = wilson(int(out["reached_rung_4"].sum()), len(out))
        return f"{est:.1%} [{lo:.1%}, {hi:.1%}]"

    print(f"Baltic, {args.n} replications, seed {args.seed}")
    print(f"P(rung >= 4) defaults:               {p4(spec, params)}")
    print(f"P(rung >= 4) aggressiveness -30%:    {p4(scaled(spec, 0.7), params)}")
    print(f"P(rung >= 4) aggressiveness +30%:    {p4(scaled(spec, 1.3), params)}")
    print(
        "P(rung >= 4) encounter rate halved:  "
        f"{p4(spec, dataclasses.replace(params, encounter_rate_per_h=params.encounter_rate_per_h / 2))}"
    )

    incidents = referrals = triaged = late = 0
    known, noise, trust = [], [], []
    for i in range(args.n):
        m = EscalationModel(spec, params, build(measures), seed=replication_seed(args.seed, i), record_events=False)
        m.run()
        out = m.outcome()
        incidents += out["incidents"]
        referrals += out["referrals_to_leadership"]
        triaged += out["triaged"]
        late += out["calls_too_late"]
        known += [k for k, _ in m.decision_record]
        noise += [z for _, z in m.decision_record]
        trust.append(out["final_trust_nato"])
    print(
        f"incidents per run {incidents / args.n:.1f}; handled by standing rules {triaged / incidents:.0%}; "
        f"leading to a proposal to the leadership {referrals / incidents:.1%}"
    )
    print(
        f"command replies: {len(known) / args.n:.1f} per run; sd of what is known {np.std(known):.2f}, "
        f"sd of the disturbance {np.std(noise):.2f} (ratio of variances {np.var(known) / np.var(noise):.1f})"
    )
    m_, lo, hi, _ = mean_ci(trust)
    print(
        f"final NATO trust {m_:.3f} [{lo:.3f}, {hi:.3f}] (baseline {spec.baseline_trust['nato']:.2f}); "
        f"calls too late per run {late / args.n:.2f} (all logged)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
