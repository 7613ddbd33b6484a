"""Re-measure, on the current model, the figures of the reviews behind the second core and the crisis dynamics.

    python experiments/review_findings.py [--n 400]                 # the second-core review (a Baltic month)
    python experiments/review_findings.py --crisis [--n 200]        # the crisis-era review (issue 28): writes
                                                                     # docs/benchmarks/crisis_findings.json, which
                                                                     # the README's numbers:crisis block states

The crisis-era review (``--crisis``): a crisis-era (era=crisis_2022) Baltic year with no measures at the
defaults: P(use of force), uses and shows of force a year, shows of force answering the other side's within
48 h, orders to fire that found no target, deaths a year; the same year in four theatres (Baltic, Black Sea
drone, High North, Kaliningrad-Suwalki, each scenario as written, a year long); announced restraint with no
sortie cut against none (paired, P(rung >= 4)); and each crisis-dynamics mechanism knocked out alone, then all.

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
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hydra import compose, initialize_config_dir  # noqa: E402

from sim.analysis.stats import mean_ci, wilson  # noqa: E402
from sim.core.measures import build  # noqa: E402
from sim.core.model import EscalationModel, replication_seed  # noqa: E402
from sim.run.config import load_configured_scenario, measure_settings, model_params, register_configs  # noqa: E402
from sim.run.paths import CONF_DIR  # noqa: E402
from sim.run.runner import run_replications  # noqa: E402


def scaled(spec, factor: float):
    """Every force's and actor's aggressiveness times ``factor`` (clipped to [0, 1])."""

    def tr(t):
        return dataclasses.replace(t, aggressiveness=min(1.0, t.aggressiveness * factor))

    return dataclasses.replace(
        spec,
        forces=tuple(dataclasses.replace(f, traits=tr(f.traits)) for f in spec.forces),
        actors=tuple(dataclasses.replace(a, traits=tr(a.traits)) for a in spec.actors),
    )


CRISIS_RECORD = ROOT / "docs" / "benchmarks" / "crisis_findings.json"
THEATRES = ("baltic_air_policing", "drone_shootdown", "high_north", "kaliningrad_suwalki")
KNOCKOUTS = {
    "caution near the brink": {"caution_w_rung": 0.0, "caution_w_deaths": 0.0, "caution_nuclear_shadow": 0.0},
    "habituation": {"habituation_rate": 0.0},
    "reputation of firing first": {"first_use_cost": 0.0},
    "cost of backing down": {"backdown_cost": 0.0},
    "a reason to end a crisis": {"termination_pause_h": 0.0},
    "NAC consensus": {"nac_consensus_h": 0.0, "nac_consensus_margin": 0.0},
    "national decisions": {"national_reply_cap": 0},
    "rotations": {"replacement_days": 0.0},
}


def crisis_year(scenario: str, params, measures, n: int, seed: int, spec=None):
    """``n`` crisis-era years of ``scenario``: outcomes and, per replication, counts read from the event log."""
    import pandas as pd

    from sim.core.measures import build
    from sim.run.config import load_configured_scenario

    if spec is None:
        register_configs()
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"scenario={scenario}", "era=crisis_2022"])
        spec = dataclasses.replace(load_configured_scenario(cfg), horizon_h=365 * 24.0)
    rows = []
    for i in range(n):
        m = EscalationModel(spec, params, build(measures), seed=replication_seed(seed, i), record_changes=False)
        m.run()
        shows = [e for e in m.events if e["kind"] == "military act" and e.get("rung") == 3]
        answering = sum(
            any(f["side"] != e["side"] and 0 <= e["time_h"] - f["time_h"] <= 48 for f in shows) for e in shows
        )
        no_target = sum(e["text"].startswith("No unit within reach") for e in m.events)
        rows.append({**m.outcome(), "shows_of_force": len(shows), "answering_48h": answering, "no_target": no_target})
    return pd.DataFrame(rows), spec


def crisis_review(n: int, seed: int) -> dict:
    """The crisis-era review's figures (see the module docstring)."""
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["scenario=baltic_air_policing", "era=crisis_2022"])
    params, measures = model_params(cfg), measure_settings(cfg)

    def figures(df) -> dict:
        k = int(df["reached_rung_4"].sum())
        p, lo, hi = wilson(k, len(df))
        deaths = mean_ci(df["casualties"].to_numpy(dtype=float))
        return {
            "n": len(df),
            "p_force": [p, lo, hi],
            "uses_of_force": float(df["uses_of_force"].mean()),
            "shows_of_force": float(df["shows_of_force"].mean()),
            "answering_48h": float(df["answering_48h"].mean()),
            "orders_without_target": float(df["no_target"].mean()),
            "deaths": [deaths[0], max(0.0, deaths[1]), deaths[2]],
            "p_deaths": float((df["casualties"] > 0).mean()),
        }

    base, spec = crisis_year("baltic_air_policing", params, measures, n, seed)
    out = {"seed": seed, "baltic": figures(base), "theatres": {}, "knockouts": {}}
    for name in THEATRES:
        df, _ = crisis_year(name, params, measures, n // 2, seed)
        out["theatres"][name] = {
            "n": len(df),
            "deaths": float(df["casualties"].mean()),
            "p_force": float(df["reached_rung_4"].mean()),
        }
    talk = dict(measures)
    talk["unilateral_restraint"] = {
        **measures["unilateral_restraint"],
        "enabled": True,
        "sortie_reduction_per_step": 0.0,
    }
    t, _ = crisis_year("baltic_air_policing", params, talk, n, seed, spec)
    diff = mean_ci((t["reached_rung_4"] - base["reached_rung_4"]).to_numpy(dtype=float))
    dpeak = mean_ci((t["peak_rung"] - base["peak_rung"]).to_numpy(dtype=float))
    dtrust = mean_ci((t["final_trust_russia"] - base["final_trust_russia"]).to_numpy(dtype=float))
    out["restraint_announcements_only"] = {
        "p_force_diff": list(diff[:3]),
        "peak_rung_diff": list(dpeak[:3]),
        "trust_diff": list(dtrust[:3]),
        "arms_with_force": [int(base["reached_rung_4"].sum()), int(t["reached_rung_4"].sum())],
    }
    half = n // 2
    for label, ko in {**KNOCKOUTS, "all of them": {k: v for d in KNOCKOUTS.values() for k, v in d.items()}}.items():
        df, _ = crisis_year("baltic_air_policing", dataclasses.replace(params, **ko), measures, half, seed, spec)
        out["knockouts"][label] = figures(df)
    return out


def deaths_text(fig: dict, n: int) -> str:
    """Deaths a year with an interval that never claims more than the data (exact Poisson upper bound at zero)."""
    mean, lo, hi = fig["deaths"]
    if mean == 0:
        return f"0 in {n} years (95% upper bound {3.689 / n:.3f} a year, exact Poisson)"
    return f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"


def crisis_markdown(rec: dict) -> str:
    """The README's block of the crisis-era review."""
    b = rec["baltic"]

    def pct(x):
        return f"{100 * x:.1f}%"

    lines = [
        f"A crisis-era Baltic year, no measures, defaults ({b['n']} years, seed {rec['seed']}; "
        "`python experiments/review_findings.py --crisis`):",
        "",
        "| figure | before (issue 28's review) | now |",
        "|---|---|---|",
        f"| P(use of force) in a year | 57% | {pct(b['p_force'][0])} "
        f"[{pct(b['p_force'][1])}, {pct(b['p_force'][2])}] |",
        f"| uses of force a year | 8 | {b['uses_of_force']:.2f} |",
        f"| shows of force a year | 105 | {b['shows_of_force']:.1f} |",
        f"| shows of force answering the other side's within 48 h | 51 | {b['answering_48h']:.1f} |",
        f"| orders to fire that found no target | 74 | {b['orders_without_target']:.1f} |",
        f"| people killed a year | about 20 | {deaths_text(b, rec['baltic']['n'])} |",
        f"| years with deaths | about half | {pct(b['p_deaths'])} |",
    ]
    th = rec["theatres"]
    mean_deaths = sum(t["deaths"] for t in th.values()) / len(th)
    lines += [
        f"| deaths a year, four theatres (mean of {', '.join(th)}) | about 41 | {mean_deaths:.2f} |",
        "",
        "The record: no use of force between NATO and Russian forces in the Baltic in 2022-2024, and no "
        "serviceman of either side killed by the other's fire in these theatres since 1992.",
        "",
        "Each crisis-dynamics mechanism knocked out alone (the same seeds, "
        f"{next(iter(rec['knockouts'].values()))['n']} years each), then all of them:",
        "",
        "| knocked out | P(use of force) | uses a year | shows a year | deaths a year |",
        "|---|---|---|---|---|",
    ]
    for label, k in rec["knockouts"].items():
        lines.append(
            f"| {label} | {pct(k['p_force'][0])} | {k['uses_of_force']:.2f} | {k['shows_of_force']:.1f} "
            f"| {k['deaths'][0]:.2f} |"
        )
    r = rec["restraint_announcements_only"]
    d, pk = r["p_force_diff"], r["peak_rung_diff"]
    if r.get("arms_with_force", [1, 1]) == [0, 0]:
        force = (
            f"no use of force in either arm, so no difference in P(rung >= 4) can be estimated (each arm's 95% "
            f"upper bound {pct(b['p_force'][2])})"
        )
    else:
        force = f"P(rung >= 4) {100 * d[0]:+.1f} pts [{100 * d[1]:+.1f}, {100 * d[2]:+.1f}]"
    lines += [
        "",
        f"Restraint announced with no sortie cut (announcements only), paired against none: {force}; peak rung "
        f"{pk[0]:+.3f} [{pk[1]:+.3f}, {pk[2]:+.3f}]; Russia's final trust "
        f"{r['trust_diff'][0]:+.3f} [{r['trust_diff'][1]:+.3f}, {r['trust_diff'][2]:+.3f}]. Announcements alone "
        "earn no trust (only restraint the other side's radar sees does, and it is given back when withdrawn).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure and print the review's figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--crisis", action="store_true", help="the crisis-era review; writes " + str(CRISIS_RECORD))
    args = ap.parse_args(argv)
    if args.crisis:
        rec = crisis_review(args.n or 200, args.seed)
        CRISIS_RECORD.write_text(json.dumps(rec, indent=1) + "\n")
        print(crisis_markdown(rec))
        return 0
    args.n = args.n or 400
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
