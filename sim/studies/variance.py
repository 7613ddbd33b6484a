"""Where the uncertainty comes from: a Sobol decomposition into parameters, measures and noise (SALib).

Three independent inputs vary together in one Saltelli design:

- **parameters**: a draw from the calibration's posterior (``calibration/posterior.csv``): the
  input is a number in [0, 1) read through the particles' cumulative weights, so each row takes a
  whole particle, with the correlations between fitted parameters that the fit found: what the
  record leaves uncertain;
- **measures**: which bundle is in force, one of a list, drawn uniformly: the policy choice;
- **noise**: the replication's seed: the model's own randomness.

Each design row is one replication. The Sobol indices (first order S1 and total ST, with bootstrap
confidence) say what share of an outcome's variance each input explains: a large noise share means
more runs settle the answer, a large parameter share means better data would, and a large measures
share means the choice of policy matters. A posterior whose weight sits on a few particles (a small
effective sample size) gives the parameters few distinct values; the page states that size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

OUTCOMES = ("reached_rung_4", "peak_rung", "crisis_days", "incidents_serious")
GROUPS = ("parameters", "measures", "noise")
MIN_VARIED = 20  # fewer replications off the outcome's most common value than this: too few to decompose


@dataclass
class Design:
    """A Saltelli design: the SALib problem, its rows, and how to read a row."""

    problem: dict
    rows: np.ndarray  # columns: parameters (posterior quantile), bundle, seed; each in [0, 1)
    keys: list[str]  # the fitted parameters' config keys
    particles: np.ndarray  # particles x keys, natural scale
    weights: np.ndarray  # normalised
    bundles: list[str]

    def particle(self, u: float) -> int:
        """The particle at posterior quantile ``u`` (the inverse of the weights' cumulative sum)."""
        cum = np.cumsum(self.weights)
        return int(min(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1))

    @property
    def effective_sample_size(self) -> float:  # noqa: D102
        return float(1.0 / np.sum(self.weights**2))


def make_design(posterior: pd.DataFrame, bundles: list[str], n: int, seed: int) -> Design:
    """``n`` base samples of a Saltelli design (``n`` x 5 rows) over ``posterior`` (particles and ``weight``)."""
    from SALib.sample import sobol as sobol_sample

    keys = [c for c in posterior.columns if c != "weight"]
    w = posterior["weight"].to_numpy(float)
    problem = {
        "num_vars": 3,
        "names": ["posterior", "bundle", "seed"],
        "bounds": [[0.0, 1.0]] * 3,
        "groups": list(GROUPS),
    }
    rows = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    return Design(problem, rows, keys, posterior[keys].to_numpy(float), w / w.sum(), bundles)


def run_design(
    design: Design, scenario: str, era: str | None, progress=None, days: float | None = None
) -> pd.DataFrame:
    """One replication per design row; returns the rows' bundle, seed and outcomes.

    ``days``: the horizon, if not the scenario's own (in a month the calibrated model hardly reaches
    the use of force, so its variance has nothing to decompose).
    """
    from sim.calibration.targets import base_setup, compose, with_values
    from sim.core.measures import build
    from sim.core.model import EscalationModel
    from sim.run.config import load_configured_scenario
    from sim.run.runner import run_budgeted

    spec = load_configured_scenario(compose([f"scenario={scenario}", *([f"era={era}"] if era else [])]))
    if days is not None:
        from sim.run.scenario_io import with_horizon

        spec = with_horizon(spec, days)
    base, _ = base_setup()
    measures = {b: base_setup([f"measures={b}"])[1] for b in design.bundles}
    out = []
    for row in design.rows:
        j = design.particle(row[0])
        values = dict(zip(design.keys, map(float, design.particles[j]), strict=True))
        bundle = design.bundles[min(int(row[1] * len(design.bundles)), len(design.bundles) - 1)]
        seed = int(row[2] * 2**31)
        model = EscalationModel(
            spec,
            with_values(base, values),
            build(measures[bundle]),
            seed=np.random.SeedSequence(seed),
            record_events=False,
            record_changes=False,
        )
        run_budgeted(model, with_values(base, values), measures[bundle], f"design row {row[0]}")
        o = model.outcome()
        out.append({"particle": j, "bundle": bundle, "seed": seed, **{c: float(o[c]) for c in OUTCOMES}})
        if progress:
            progress(1)
    return pd.DataFrame(out)


def decompose(design: Design, results: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """First-order and total Sobol indices of each outcome, with 95% bootstrap half-widths.

    ``varied``: the replications whose outcome is not its most common value; below ``MIN_VARIED``
    the indices are NaN (too few to decompose: the estimates would be noise).
    """
    from SALib.analyze import sobol as sobol_analyze

    rows = []
    for col in OUTCOMES:
        y = results[col].to_numpy(float)
        varied = int(len(y) - pd.Series(y).value_counts().iloc[0])
        if varied < MIN_VARIED:  # a handful of odd rows gives Sobol estimates of pure noise (ST of 2 +- 3)
            rows += [
                {"outcome": col, "group": g, "S1": math.nan, "S1_conf": math.nan, "ST": math.nan, "ST_conf": math.nan}
                | {"varied": varied}
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
                    "varied": varied,
                }
            )
    return pd.DataFrame(rows)


def markdown(
    table: pd.DataFrame, command: str, results: pd.DataFrame, design: Design, days: float | None = None
) -> str:
    """``variance.md`` (``days``: the horizon, if not the scenario's own)."""
    horizon = f"{days:g} days" if days is not None else "the scenario's own horizon"
    lines = [
        "# Where the uncertainty comes from",
        "",
        f"`{command}`: {len(results)} replications over {horizon} of a Saltelli design. The fitted parameters are "
        f"drawn from the calibration's posterior ({len(design.weights)} particles, effective sample size "
        f"{design.effective_sample_size:.1f}; these rows took {results['particle'].nunique()} distinct particles), "
        "the bundle of measures from the list given, the seed over its range. S1: the share of the outcome's "
        "variance an input explains alone; ST: with its interactions. ± is the 95% bootstrap half-width.",
        "",
        "| outcome | group | S1 | ST |",
        "|---|---|---|---|",
    ]
    for r in table.itertuples():
        if r.S1 != r.S1:  # NaN: the outcome hardly varied
            why = (
                "no variance: every replication gave the same value"
                if r.varied == 0
                else (f"only {r.varied} of {len(results)} replications differ from the rest: too few to decompose")
            )
            lines.append(f"| {r.outcome} | {r.group} | {why} | |")
            continue
        lines.append(f"| {r.outcome} | {r.group} | {r.S1:.2f} ± {r.S1_conf:.2f} | {r.ST:.2f} ± {r.ST_conf:.2f} |")
    lines += [
        "",
        "Reading it: where *noise* dominates, more replications narrow the answer; where *parameters* do, "
        "better data (a tighter calibration) would; where *measures* do, the policy choice is what matters.",
        "",
    ]
    return "\n".join(lines)


def variance_parser():
    """The options of ``escalation variance`` (also read by ``escalation study``)."""
    from sim.run.errors import OneLineParser

    parser = OneLineParser(
        prog="escalation variance",
        description="Sobol decomposition of the headline outcomes into parameters, measures and noise (SALib).",
    )
    parser.add_argument(
        "--bundles",
        default="none,eln_seven,eln_riac_basic,eln_riac_enhanced",
        help="comma-separated measure bundles, a factor of the decomposition",
    )
    parser.add_argument("--scenario", default="baltic_air_policing", help="a scenario of the library")
    parser.add_argument("--era", default=None, help="an era preset (default: the scenario's own)")
    parser.add_argument("--samples", type=int, default=512, help="base samples N (N x 5 replications; default 512)")
    parser.add_argument("--days", type=float, default=None, help="horizon (default: the scenario's own)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("--out", default="outputs/variance", help="folder for variance.md (default outputs/variance)")
    return parser


def variance_command(args: list[str]) -> int:
    """``escalation variance [--bundles A,B] [--samples N] [--scenario NAME] [--era NAME] [--out DIR]``."""
    from pathlib import Path

    from sim.calibration.targets import read_posterior
    from sim.run.config import check_options, parse_with_experiment
    from sim.run.errors import UserError, check_days_and_out, check_whole, fail

    parser = variance_parser()
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
    try:
        check_whole("--seed", ns.seed, 0, 2**31 - 1)  # the design's seeds are drawn below 2^31
        check_days_and_out(ns.days, ns.out)
    except UserError as exc:
        return fail(str(exc))
    from sim.run.progress import Progress

    try:
        design = make_design(read_posterior(), bundles, ns.samples, ns.seed)
        with Progress(len(design.rows), "replications") as bar:
            results = run_design(design, ns.scenario, ns.era, bar.update, ns.days)
    except UserError as exc:
        return fail(str(exc))
    table = decompose(design, results, ns.seed)
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "variance.csv", index=False, float_format="%.6g")
    results.to_csv(out / "replications.csv", index=False, float_format="%.6g")
    text = markdown(table, "escalation variance " + " ".join(args), results, design, ns.days)
    (out / "variance.md").write_text(text)
    print(text)
    return 0
