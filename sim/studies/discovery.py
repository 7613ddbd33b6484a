"""Scenario discovery: which conditions make escalation likely (PRIM, with CART as a second view).

A design samples the uncertain parameters (a Latin hypercube over their prior ranges in
``calibration/priors.yaml``, log-scaled where the prior is log-uniform) together with the era and
the scenario; each design point is run for a few replications (a bundle of measures optional) and
scored by whether escalation was likely there (P(rung >= 4) at or above a threshold). PRIM (the
Patient Rule Induction Method, EMA Workbench's implementation) then peels the design space into a
box where that is most concentrated; each box is reported with its coverage (the share of all
likely points inside it), density (the share of points inside it that are likely), mass, the
resampling stability of each restricted dimension, and a sentence. A CART tree (scikit-learn)
gives the same question's answer as rules.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibration.targets import Prior

# Below this many "likely" design points PRIM's box (coverage >= 0.5 of them) rests on a handful of points and
# its limits on chance: discovery refuses rather than report a box built on 1 of 60 points.
MIN_LIKELY_POINTS = 10


def too_few_likely(results: pd.DataFrame, threshold: float, rung: int = 4) -> str | None:
    """The refusal, one line, when fewer than ``MIN_LIKELY_POINTS`` design points are "likely"; else None."""
    k = int((results[f"p_rung_{rung}"] >= threshold).sum())
    if k >= MIN_LIKELY_POINTS:
        return None
    return (
        f"only {k} of {len(results)} design points have P(rung >= {rung}) >= {threshold:g}; discovery needs at "
        f"least {MIN_LIKELY_POINTS} to draw a box that is not chance (more --samples or --replications, a longer "
        "--days, a lower --threshold or --rung); nothing was written"
    )


def latin_hypercube(priors: list[Prior], n: int, seed: int) -> pd.DataFrame:
    """``n`` points of a Latin hypercube over the priors' ranges (log-scaled for log-uniform priors)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(priors), seed=np.random.default_rng(seed)).random(n)
    cols = {}
    for j, p in enumerate(priors):
        lo, hi = p.sampling_bounds
        cols[p.key] = [p.to_natural(lo + (hi - lo) * x) for x in u[:, j]]
    return pd.DataFrame(cols)


@dataclass
class Box:
    """A PRIM box: its limits, statistics, resampling stability and a sentence."""

    limits: dict[str, tuple]  # restricted dimension -> (low, high) or (set of categories,)
    coverage: float
    density: float
    mass: float
    base_rate: float
    # restricted dimension -> (share of half-samples whose box of the same coverage restricts it too,
    # share whose box of the same density does): EMA Workbench's "reproduce coverage / density"
    stability: dict[str, tuple[float, float]]
    sentence: str

    @property
    def stability_text(self) -> str:
        """The resampling stability in a sentence: the least stable restricted input, and a warning below 50%."""
        if not self.stability:
            return "The box restricts no input."
        name, (cov, dens) = min(self.stability.items(), key=lambda kv: min(kv[1]))
        least = min(cov, dens)
        text = (
            f"Stability: the least stable restricted input ({name.removeprefix('model.')}) was found again in "
            f"{100 * least:.0f}% of 10 half-samples"
        )
        if least < 0.5:
            return text + "; below 50%, this box is not to be relied on."
        return text + "."

    @property
    def headline(self) -> str:
        """The sentence with its stability: what ``escalation discover`` prints and the study quotes."""
        return f"{self.sentence} {self.stability_text}"


def _restrictions(x: pd.DataFrame, lims: pd.DataFrame) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for col in [c for c in x.columns if c in lims.columns]:  # EMA leaves out inputs it cannot split
        lo, hi = lims[col].iloc[0], lims[col].iloc[1]
        if isinstance(lo, set):
            full = set(x[col].cat.categories) if hasattr(x[col], "cat") else set(x[col].unique())
            if set(lo) != full:
                out[col] = (tuple(sorted(lo)),)
        else:
            vmin, vmax = float(x[col].min()), float(x[col].max())
            restricted_lo, restricted_hi = float(lo) > vmin, float(hi) < vmax
            if restricted_lo or restricted_hi:
                out[col] = (float(lo) if restricted_lo else -math.inf, float(hi) if restricted_hi else math.inf)
    return out


def describe(limits: dict[str, tuple], density: float, coverage: float, base_rate: float, outcome: str) -> str:
    """One plain sentence for a box."""
    parts = []
    for name, lim in limits.items():
        short = name.removeprefix("model.")
        if len(lim) == 1:
            parts.append(f"{short} is {' or '.join(map(str, lim[0]))}")
        elif math.isinf(lim[0]):
            parts.append(f"{short} is below {lim[1]:.3g}")
        elif math.isinf(lim[1]):
            parts.append(f"{short} is above {lim[0]:.3g}")
        else:
            parts.append(f"{short} is between {lim[0]:.3g} and {lim[1]:.3g}")
    where = " and ".join(parts) if parts else "anywhere"
    return (
        f"{outcome} is likely in {100 * density:.0f}% of the cases where {where} "
        f"(against {100 * base_rate:.0f}% overall); these cases hold {100 * coverage:.0f}% of all the likely ones."
    )


def find_box(
    x: pd.DataFrame, y: np.ndarray, outcome: str, min_coverage: float = 0.5, resamples: int = 10, seed: int = 0
) -> Box:
    """The PRIM box of highest density with at least ``min_coverage`` coverage, on binary ``y``."""
    y = np.asarray(y, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA Workbench warns at import that ipyparallel is not installed
        from ema_workbench.analysis import prim

        box = prim.Prim(x, y, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05).find_box()
        traj = box.peeling_trajectory
        ok = traj[traj["coverage"] >= min_coverage]
        i = int(ok["density"].idxmax()) if len(ok) else 0
        stab = box.resample(i, iterations=resamples, rng=np.random.default_rng(seed))
    row = traj.iloc[i]
    limits = _restrictions(x, box.box_lims[i])
    base = float(y.mean())
    stability = {
        k: (float(stab.loc[k, "reproduce coverage"]) / 100, float(stab.loc[k, "reproduce density"]) / 100)
        for k in limits
    }
    return Box(
        limits,
        float(row["coverage"]),
        float(row["density"]),
        float(row["mass"]),
        base,
        stability,
        describe(limits, float(row["density"]), float(row["coverage"]), base, outcome),
    )


def cart_rules(x: pd.DataFrame, y: np.ndarray, depth: int = 3, seed: int = 0) -> str:
    """A CART tree of ``y`` on ``x`` (categories one-hot), as indented rules (scikit-learn)."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    xx = pd.get_dummies(x, prefix_sep="=")
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=max(5, len(xx) // 50), random_state=seed)
    tree.fit(xx.to_numpy(float), np.asarray(y, bool))
    names = [c.removeprefix("model.") for c in xx.columns]
    return export_text(tree, feature_names=names, show_weights=True)


def run_design(
    design: pd.DataFrame,
    scenarios: list[str],
    eras: list[str],
    replications: int,
    seed: int,
    measures: str = "none",
    progress=None,
    days: float | None = None,
) -> pd.DataFrame:
    """Run each design point (parameters, plus a scenario and an era drawn per point) for ``replications``.

    Point ``j`` draws its scenario and era from ``SeedSequence(seed, spawn_key=(j, 1))`` and runs
    its replications on ``SeedSequence(seed, spawn_key=(j, 0, i))``. Returns the design with
    ``scenario``, ``era``, ``p_rung_4``, ``p_rung_5`` and ``crisis_days`` per point.
    """
    from sim.calibration.targets import Setting, base_setup, setting_scenario, with_values
    from sim.core.measures import build
    from sim.core.model import EscalationModel
    from sim.run.runner import run_budgeted

    base, bundle = base_setup([f"measures={measures}"])
    specs: dict[tuple[str, str], object] = {}
    rows = []
    for j, point in enumerate(design.to_dict("records")):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(j, 1)))
        scenario, era = str(rng.choice(scenarios)), str(rng.choice(eras))
        if (scenario, era) not in specs:
            from sim.run.scenario_io import library, load_scenario

            horizon = days or load_scenario(library()[scenario]).horizon_h / 24
            specs[scenario, era] = setting_scenario(Setting("d", scenario, era, horizon, True, replications))
        params = with_values(base, point)
        outcomes = []
        for i in range(replications):
            model = EscalationModel(
                specs[scenario, era],  # type: ignore[arg-type]
                params,
                build(bundle),
                seed=np.random.SeedSequence(seed, spawn_key=(j, 0, i)),
                record_events=False,
                record_changes=False,
            )
            run_budgeted(model, params, bundle, f"design point {j}, replication {i}")
            outcomes.append(model.outcome())
        o = pd.DataFrame(outcomes)
        rows.append(
            {
                **point,
                "scenario": scenario,
                "era": era,
                "p_rung_3": float((o["peak_rung"] >= 3).mean()),
                "p_rung_4": float(o["reached_rung_4"].mean()),
                "p_rung_5": float(o["reached_rung_5"].mean()),
                "p_rung_2": float((o["peak_rung"] >= 2).mean()),
                "crisis_days": float(o["crisis_days"].mean()),
            }
        )
        if progress:
            progress(1)
    return pd.DataFrame(rows)


def discover(
    results: pd.DataFrame, inputs: list[str], threshold: float, seed: int = 0, rung: int = 4
) -> tuple[Box, str]:
    """The PRIM box and CART rules for "P(rung >= ``rung``) at or above ``threshold``" over ``inputs``."""
    x = results[inputs].copy()
    for col in ("scenario", "era"):
        if col in x:
            x[col] = x[col].astype("category")
    y = results[f"p_rung_{rung}"].to_numpy() >= threshold
    if y.all() or not y.any():
        where = "every" if y.all() else "no"
        raise ValueError(f"P(rung >= {rung}) >= {threshold:g} at {where} design point: nothing to discover")
    outcome = f"P(rung >= {rung}) >= {100 * threshold:.0f}%"
    return find_box(x, y, outcome, seed=seed), cart_rules(x, y, seed=seed)


def report(results: pd.DataFrame, box: Box, rules: str, threshold: float, command: str, rung: int = 4) -> str:
    """``discovery.md``."""
    lines = [
        f"# Scenario discovery: where is rung {rung} likely?",
        "",
        f"`{command}`: {len(results)} design points (a Latin hypercube over the calibrated parameters' prior "
        f"ranges, each with a scenario and an era drawn at random), each scored by whether its P(rung ≥ {rung}) is "
        f"at or above {100 * threshold:.0f}%. {int((results[f'p_rung_{rung}'] >= threshold).sum())} points are.",
        "",
        "## PRIM box",
        "",
        box.headline,
        "",
        f"Coverage {box.coverage:.2f}, density {box.density:.2f}, mass {box.mass:.2f} (base rate {box.base_rate:.2f}). "
        "The box is the densest on the peeling trajectory with coverage ≥ 0.5.",
        "",
        "| restricted input | limits | resampling stability (coverage / density) |",
        "|---|---|---|",
    ]
    for name, lim in box.limits.items():
        shown = " or ".join(map(str, lim[0])) if len(lim) == 1 else f"[{lim[0]:.3g}, {lim[1]:.3g}]"
        cov, dens = box.stability[name]
        lines.append(f"| {name.removeprefix('model.')} | {shown} | {100 * cov:.0f}% / {100 * dens:.0f}% |")
    lines += [
        "",
        "Stability: in how many of 10 half-samples PRIM restricted the same input again, in the box of the same "
        "coverage and in the box of the same density (EMA Workbench's resampling test). A restriction found in "
        "few half-samples is not to be relied on.",
        "",
        "## CART (a second view)",
        "",
        "```",
        rules.rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def discover_parser():
    """The options of ``escalation discover`` (also read by ``escalation study``)."""
    from sim.run.errors import OneLineParser

    parser = OneLineParser(
        prog="escalation discover",
        description="Scenario discovery: where the use of force is likely (PRIM boxes, CART rules).",
    )
    parser.add_argument("--samples", type=int, default=400, help="design points (default 400)")
    parser.add_argument("--replications", type=int, default=5, help="per design point (default 5)")
    parser.add_argument("--scenarios", default="baltic_air_policing,black_sea_transit", help="comma-separated")
    parser.add_argument("--eras", default="cooperative_2004,confrontation_2014,crisis_2022", help="comma-separated")
    parser.add_argument("--measures", default="none", help="a measure bundle (where does it fail?)")
    parser.add_argument("--rung", type=int, default=4, choices=[2, 3, 4, 5], help="the rung (default 4)")
    parser.add_argument("--threshold", type=float, default=0.2, help="'likely': P(rung) at or above this")
    parser.add_argument("--days", type=float, default=None, help="horizon (default: each scenario's own)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the design and replications (default 0)")
    parser.add_argument(
        "--out", default="outputs/discovery", help="folder for discovery.md (default outputs/discovery)"
    )
    return parser


def discover_command(args: list[str]) -> int:
    """``escalation discover [--samples N] [--replications K] ...``: see ``--help``."""
    import sys
    from pathlib import Path

    from sim.calibration.targets import load_priors
    from sim.run.config import check_options, parse_with_experiment
    from sim.run.errors import MAX_SEED, UserError, check_days_and_out, check_whole, fail

    parser = discover_parser()
    try:
        ns = parse_with_experiment(parser, args, "discover")
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    except UserError as exc:
        return fail(str(exc))
    scenarios, eras = ns.scenarios.split(","), ns.eras.split(",")
    try:
        check_options("--scenarios", "scenario", scenarios)
        check_options("--eras", "era", eras)
    except UserError as exc:
        return fail(str(exc))
    if not 10 <= ns.samples <= 100_000 or not 1 <= ns.replications <= 10_000:
        return fail("--samples must be 10 to 100,000 and --replications 1 to 10,000")
    if not 0 < ns.threshold <= 1:
        return fail(f"--threshold must be in (0, 1], got {ns.threshold}")
    try:
        check_whole("--seed", ns.seed, 0, MAX_SEED)
        check_days_and_out(ns.days, ns.out)
    except UserError as exc:
        return fail(str(exc))
    command = "escalation discover " + " ".join(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EMA Workbench warns at import that ipyparallel is not installed
            import ema_workbench  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        return fail("escalation discover needs EMA Workbench: pip install 'nato-russia-escalation[analysis]'")
    try:
        priors = load_priors()
        design = latin_hypercube(priors, ns.samples, ns.seed)
        from sim.run.progress import Progress

        with Progress(ns.samples, "design points", unit="point") as bar:
            results = run_design(design, scenarios, eras, ns.replications, ns.seed, ns.measures, bar.update, ns.days)
        refusal = too_few_likely(results, ns.threshold, ns.rung)
        if refusal:
            raise UserError(refusal)
        inputs = [p.key for p in priors] + ["scenario", "era"]
        box, rules = discover(results, inputs, ns.threshold, ns.seed, ns.rung)
    except (UserError, ValueError) as exc:
        return fail(str(exc))
    # written only once the analysis has an answer: a refused or failed discovery leaves nothing behind
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "design.csv", index=False, float_format="%.6g")
    (out / "discovery.md").write_text(report(results, box, rules, ns.threshold, command, ns.rung))
    print(box.headline)
    print(f"escalation discover: {out / 'discovery.md'}", file=sys.stderr)
    return 0
