"""Where the uncertainty comes from: a Sobol decomposition into parameters, measures and noise (SALib).

Three groups of inputs vary together in one Saltelli design:

- **parameters**: each fitted parameter, uniform over its 95% posterior interval
  (``calibration/fit/fit.json``; log-uniform where its prior is), independently: what the
  record leaves uncertain;
- **measures**: which bundle is in force, one of a list, drawn uniformly: the policy choice;
- **noise**: the replication's seed: the model's own randomness.

Each design row is one replication. The grouped Sobol indices (first order S1 and total ST, with
bootstrap confidence) say what share of an outcome's variance each group explains: a large noise
share means more runs settle the answer, a large parameter share means better data would, and a
large measures share means the choice of policy matters. The parameters are drawn independently
within their intervals; the posterior's correlations are not kept.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTCOMES = ("reached_rung_4", "peak_rung", "crisis_days", "incidents_serious")
GROUPS = ("parameters", "measures", "noise")


@dataclass
class Design:
    """A grouped Saltelli design: the SALib problem, its rows, and how to read a row."""

    problem: dict
    rows: np.ndarray
    keys: list[str]  # parameter config keys, in column order
    kinds: list[str]  # uniform | loguniform
    bundles: list[str]


def posterior_intervals(fit_json) -> dict[str, tuple[float, float]]:
    """The fitted parameters' 95% posterior intervals, from a calibration record (``fit.json``)."""
    info = json.loads(fit_json.read_text())
    return {k: (float(lo), float(hi)) for k, (lo, hi) in info["posterior_interval_95"].items()}


def make_design(
    intervals: dict[str, tuple[float, float]], kinds: dict[str, str], bundles: list[str], n: int, seed: int
) -> Design:
    """``n`` base samples of a grouped Saltelli design (``n`` x (groups + 2) rows)."""
    from SALib.sample import sobol as sobol_sample

    keys = list(intervals)
    bounds, groups, names = [], [], []
    for k in keys:
        lo, hi = intervals[k]
        if hi <= lo:
            hi = lo * (1 + 1e-9) + 1e-12
        if kinds.get(k) == "loguniform":
            bounds.append([math.log10(lo), math.log10(hi)])
        else:
            bounds.append([lo, hi])
        groups.append("parameters")
        names.append(k)
    bounds += [[0.0, 1.0], [0.0, 1.0]]
    groups += ["measures", "noise"]
    names += ["bundle", "seed"]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds, "groups": groups}
    rows = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    return Design(problem, rows, keys, [kinds.get(k, "uniform") for k in keys], bundles)


def run_design(design: Design, scenario: str, era: str | None, progress=None) -> pd.DataFrame:
    """One replication per design row; returns the rows' bundle, seed and outcomes."""
    from sim.calibration import base_setup, compose, with_values
    from sim.config import load_configured_scenario
    from sim.core.measures import build
    from sim.core.model import EscalationModel

    spec = load_configured_scenario(compose([f"scenario={scenario}", *([f"era={era}"] if era else [])]))
    base, _ = base_setup()
    measures = {b: base_setup([f"measures={b}"])[1] for b in design.bundles}
    k = len(design.keys)
    out = []
    for row in design.rows:
        values = {
            key: (10 ** row[j] if kind == "loguniform" else row[j])
            for j, (key, kind) in enumerate(zip(design.keys, design.kinds, strict=True))
        }
        bundle = design.bundles[min(int(row[k] * len(design.bundles)), len(design.bundles) - 1)]
        seed = int(row[k + 1] * 2**31)
        model = EscalationModel(
            spec,
            with_values(base, values),
            build(measures[bundle]),
            seed=np.random.SeedSequence(seed),
            record_events=False,
            record_changes=False,
        )
        model.run()
        o = model.outcome()
        out.append({"bundle": bundle, "seed": seed, **{c: float(o[c]) for c in OUTCOMES}})
        if progress:
            progress(1)
    return pd.DataFrame(out)


def decompose(design: Design, results: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Grouped first-order and total Sobol indices of each outcome, with 95% bootstrap half-widths."""
    from SALib.analyze import sobol as sobol_analyze

    rows = []
    for col in OUTCOMES:
        y = results[col].to_numpy(float)
        if np.var(y) == 0:
            rows += [
                {"outcome": col, "group": g, "S1": math.nan, "S1_conf": math.nan, "ST": math.nan, "ST_conf": math.nan}
                for g in GROUPS
            ]
            continue
        res = sobol_analyze.analyze(design.problem, y, calc_second_order=False, seed=seed, print_to_console=False)
        for i, g in enumerate(res["names"] if "names" in res else GROUPS):
            rows.append(
                {
                    "outcome": col,
                    "group": g,
                    "S1": float(res["S1"][i]),
                    "S1_conf": float(res["S1_conf"][i]),
                    "ST": float(res["ST"][i]),
                    "ST_conf": float(res["ST_conf"][i]),
                }
            )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, command: str, rows: int) -> str:
    """``variance.md``."""
    lines = [
        "# Where the uncertainty comes from",
        "",
        f"`{command}`: {rows} replications of a grouped Saltelli design. The fitted parameters vary over "
        "their 95% posterior intervals (independently), the bundle of measures over the list given, the seed "
        "over its range. S1: the share of the outcome's variance a group explains alone; ST: with its "
        "interactions. ± is the 95% bootstrap half-width.",
        "",
        "| outcome | group | S1 | ST |",
        "|---|---|---|---|",
    ]
    for r in table.itertuples():
        if r.S1 != r.S1:  # NaN: the outcome did not vary
            lines.append(f"| {r.outcome} | {r.group} | no variance: every replication gave the same value | |")
            continue
        lines.append(f"| {r.outcome} | {r.group} | {r.S1:.2f} ± {r.S1_conf:.2f} | {r.ST:.2f} ± {r.ST_conf:.2f} |")
    lines += [
        "",
        "Reading it: where *noise* dominates, more replications narrow the answer; where *parameters* do, "
        "better data (a tighter calibration) would; where *measures* do, the policy choice is what matters.",
        "",
    ]
    return "\n".join(lines)


def variance_command(args: list[str]) -> int:
    """``escalation variance [--bundles A,B] [--samples N] [--scenario NAME] [--era NAME] [--out DIR]``."""
    import argparse
    from pathlib import Path

    from sim.calibration import CALIBRATION_DIR, load_priors
    from sim.config import check_options, parse_with_experiment
    from sim.errors import UserError, fail

    parser = argparse.ArgumentParser(
        prog="escalation variance",
        description="Sobol decomposition of the headline outcomes into parameters, measures and noise (SALib).",
    )
    parser.add_argument("--bundles", default="none,eln_seven,eln_riac_basic,eln_riac_enhanced")
    parser.add_argument("--scenario", default="baltic_air_policing")
    parser.add_argument("--era", default=None, help="an era preset (default: the scenario's own)")
    parser.add_argument("--samples", type=int, default=512, help="base samples N (N x 5 replications; default 512)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/variance")
    try:
        ns = parse_with_experiment(parser, args, "variance")
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    except UserError as exc:
        return fail(str(exc))
    bundles = ns.bundles.split(",")
    try:
        check_options("--bundles", "measures", bundles)
        check_options("--scenario", "scenario", [ns.scenario])
        check_options("--era", "era", [ns.era] if ns.era is not None else [])
    except UserError as exc:
        return fail(str(exc))
    if not 8 <= ns.samples <= 1_000_000 or ns.samples & (ns.samples - 1):
        return fail(f"--samples must be a power of 2 from 8 (Sobol sequences), got {ns.samples}")
    fit = CALIBRATION_DIR / "fit" / "fit.json"
    if not fit.is_file():
        return fail(f"{fit}: no calibration record (run escalation calibrate)")
    from sim.progress import Progress

    try:
        kinds = {p.key: p.kind for p in load_priors()}
        design = make_design(posterior_intervals(fit), kinds, bundles, ns.samples, ns.seed)
        with Progress(len(design.rows), "replications") as bar:
            results = run_design(design, ns.scenario, ns.era, bar.update)
    except UserError as exc:
        return fail(str(exc))
    table = decompose(design, results, ns.seed)
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "variance.csv", index=False, float_format="%.6g")
    results.to_csv(out / "replications.csv", index=False, float_format="%.6g")
    text = markdown(table, "escalation variance " + " ".join(args), len(results))
    (out / "variance.md").write_text(text)
    print(text)
    return 0
