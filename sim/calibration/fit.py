"""``escalation calibrate``: fit the parameters of ``calibration/priors.yaml`` to the record by ABC-SMC.

Approximate Bayesian Computation with sequential Monte Carlo (pyabc, Klinger et al. 2018): each
particle is a parameter set drawn from the prior, run on the targets' settings (a year of each,
a few replications). Its distance (``--distance``): where every target carries its record as data
(the project's targets do), the targets' deviances summed (``Simulator.deviance``: binomial records
predicted from the model's simulated trials, counts as negative binomials around the model's mean);
otherwise the root sum of squares of how far each target's statistic lies outside its tolerance
band, in band widths. Each generation lowers the acceptance threshold (the median distance of the
last); the run stops at threshold 0 or at the generation or simulation budget. The posterior is the
last generation's particles and weights, as they are.

Outputs (``--out``): ``posterior.csv`` (one row per particle: the parameters and ``weight``),
``fit.json`` (the run: generations, thresholds, simulations, time, the point estimate),
``calibrated.yaml`` (the default: the particle nearest the posterior mean, ``POINT_RULE``; the point
estimate that ``--apply`` writes into ``conf/model/default.yaml``), ``posterior.png`` (marginal posteriors
against priors) and ``predictive.png`` (each target's posterior predictive against its band).
The pyabc database (``--db``, default ``OUT/abc.db``) makes a run resumable (``--resume``).

Two steps after a fit: ``--select`` re-runs every particle with many replications and makes the
one closest to the record the point estimate instead of ``POINT_RULE``'s (``selection.csv``);
``--accept EPS`` keeps the re-run particles within EPS of the record as the posterior that
``parameters=posterior`` draws from (``posterior_accepted.csv``; with ``--apply``,
``calibration/posterior.csv``). A later stage fitted with an earlier one's default held can be
joined with it: ``--join DIR`` with ``--select`` pairs DIR's accepted particles with this fit's
(``posterior_joined.csv``) and re-runs every pair, and ``--accept`` keeps the pairs that still
meet the record.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.targets import (
    POSTERIOR_FILE,
    PRIORS_FILE,
    TARGETS_FILE,
    Prior,
    Simulator,
    base_setup,
    load_priors,
    load_targets,
    read_posterior,
    weighted_quantile,
    with_values,
)
from sim.run.errors import UserError


@dataclass
class FitOptions:
    """What ``escalation calibrate`` was asked to do."""

    out: Path
    targets: Path = TARGETS_FILE
    priors: Path = PRIORS_FILE
    population: int = 100
    generations: int = 8
    max_simulations: int = 3000
    workers: int = 0  # 0: every core
    seed: int = 0
    db: Path | None = None
    resume: bool = False
    dask_scheduler: str | None = None  # a Dask cluster's address: pyabc's distributed sampler
    replications: dict[str, int] | None = None  # per setting, instead of the targets file's
    predictive_draws: int = 40
    apply: bool = False
    quiet: bool = False
    only: tuple[str, ...] = ()  # fit to these targets only (a second stage)
    epsilon: float | None = None  # a fixed acceptance threshold for every generation (1 generation: rejection ABC)
    given: Path | None = None  # a first stage's fit folder: its posterior joins this one's (see combine)
    join: Path | None = None  # an earlier stage's fit folder: --select re-runs its particles joined with these
    join_draws: int = 4  # this fit's particles drawn for each of the earlier stage's (join_stages)
    distance: str = "auto"  # deviance | bands | auto: the deviance where every target has its record as data
    prior_share: float = 0.2  # of each generation's proposals drawn from the prior (DefensiveTransition)


DISTANCES = {
    "deviance": "ABC-SMC (pyabc), distance: the targets' deviances summed (binomial for events in years and "
    "for shares at their sample sizes, negative binomial for counts)",
    "bands": "ABC-SMC (pyabc), distance: root sum of squares of deviations outside the tolerance bands",
}


def distance_of(options: FitOptions, targets: list) -> str:
    """The distance a fit uses: ``--distance``, or (auto) the deviance if every target has its record as data."""
    if options.distance == "auto":
        return "deviance" if all(t.data is not None for t in targets) else "bands"
    if options.distance == "deviance":
        missing = [t.name for t in targets if t.data is None]
        if missing:
            raise UserError(
                f"--distance deviance: target {missing[0]!r} has no record as data (data: {{events: K, of: N}} "
                "or {count: C, years: Y, dispersion: R})"
            )
    return options.distance


POINT_RULE = (
    "the particle of the last generation nearest the posterior mean, on the sampling scale (log10 for a "
    "log-uniform prior), in the Mahalanobis distance of the weighted posterior covariance"
)


def central_particle(posterior: pd.DataFrame, priors: list[Prior]) -> int:
    """The default's particle (``POINT_RULE``): a parameter set the fit drew and kept, at the posterior's centre.

    Chosen by this rule before any validation of the joint fit (docs/CALIBRATION.md, "The default"): no
    re-run, no rejection, no renormalisation. A particle rather than the mean itself, so the default is
    a combination of values the fit ran; the posterior's own covariance as the metric, so a parameter the
    record leaves loose counts for as little as it says.
    """
    x = np.column_stack([[p.to_sampling(float(v)) for v in posterior[p.key]] for p in priors])
    w = posterior["weight"].to_numpy(float)
    w = w / w.sum()
    d = x - w @ x
    cov = np.atleast_2d(np.cov(x.T, aweights=w)) if len(x) > 1 else np.eye(x.shape[1])
    distance = np.einsum("ij,jk,ik->i", d, np.linalg.pinv(cov), d)
    return int(np.argmin(distance))


def _model_function(sim: Simulator, priors: list[Prior]):
    """The pyabc model of the band distance: a particle (sampling scale) -> the targets' statistics."""

    def model(par: dict[str, float]) -> dict[str, float]:
        values = {p.key: p.to_natural(par[p.name]) for p in priors}
        seed = int(np.random.randint(0, 2**31 - 1))  # pyabc seeds each worker's global generator
        return sim.statistics(with_values(sim.base, values), seed)

    return model


def _prior(priors: list[Prior]):
    import pyabc

    return pyabc.Distribution(
        **{
            p.name: pyabc.RV("uniform", p.sampling_bounds[0], p.sampling_bounds[1] - p.sampling_bounds[0])
            for p in priors
        }
    )


def _sampler(options: FitOptions):
    from pyabc.sampler import MulticoreEvalParallelSampler, SingleCoreSampler

    if options.dask_scheduler:
        from pyabc.sampler import DaskDistributedSampler

        return DaskDistributedSampler(dask_client=_dask_client(options.dask_scheduler))
    workers = options.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    return SingleCoreSampler() if workers == 1 else MulticoreEvalParallelSampler(n_procs=workers)


def run_fit(options: FitOptions) -> dict[str, Any]:
    """Run (or resume) the fit and write its outputs; returns the contents of ``fit.json``.

    ``generations`` counts every generation of the fit, those in a resumed database included: a fit
    killed at any moment and resumed with the same command runs the generations it had left (pyabc
    stores a generation in one transaction, so a half-sampled one is not in the database and is drawn
    again), and one killed while writing its outputs writes them again from the database.
    """
    import pyabc

    from sim.calibration.abc_kernel import DefensiveTransition, NeighbourTransition
    from sim.calibration.abc_model import DevianceModel

    settings, targets = _targets(options)
    priors = load_priors(options.priors)
    if options.replications:
        for name in options.replications:
            if name not in settings:
                raise UserError(f"--replications: unknown setting {name!r} (settings: {', '.join(settings)})")
        settings = {
            k: type(s)(**{**s.__dict__, "replications": options.replications.get(k, s.replications)})
            for k, s in settings.items()
        }
    distance = distance_of(options, targets)
    base, measures = base_setup()
    sim = Simulator(settings, targets, base, measures)
    out = options.out
    db = (options.db or out / "abc.db").resolve()
    if options.resume and not db.is_file():
        raise UserError(f"--resume: {db}: no calibration database to resume")
    if not options.resume and db.exists():
        raise UserError(f"{db}: a calibration database is already there (--resume to continue it, or another --out)")
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("ABC").setLevel(logging.WARNING if options.quiet else logging.INFO)
    logging.getLogger("pyabc").setLevel(logging.WARNING if options.quiet else logging.INFO)
    np.random.seed(options.seed)
    abc = pyabc.ABCSMC(
        # With the deviance a parameter set stops at the first setting that puts it past the threshold
        # (DevianceModel: the same acceptance, less simulation).
        models=DevianceModel(sim, priors) if distance == "deviance" else _model_function(sim, priors),
        parameter_priors=_prior(priors),
        distance_function=(lambda x, x0: sim.deviance(x))
        if distance == "deviance"
        else (lambda x, x0: sim.distance(x)),
        population_size=options.population,
        # The proposal: a share (--prior-share) from the prior itself, the rest a Gaussian around a particle
        # drawn by weight, with the population's weighted covariance (pyabc's MultivariateNormalTransition,
        # Silverman's bandwidth). The prior's share keeps each importance weight below 1 / share
        # (DefensiveTransition). Measured on the joint fit (27 parameters, 60 particles, 3 generations): this
        # kept an effective sample size of 49 of 60, where the local kernels below with the same share fell to 14
        # (and, at 300 particles without it, to 3.4 by the third generation). With --prior-share 0 the
        # fit uses the local kernels: each particle moves by a Gaussian with the covariance of its nearest
        # quarter of the population, its neighbours' unweighted spread kept positive definite
        # (sim/calibration/abc_kernel.py), as the staged fits did.
        transitions=DefensiveTransition(
            pyabc.MultivariateNormalTransition(), {p.name: p.sampling_bounds for p in priors}, options.prior_share
        )
        if options.prior_share > 0
        else NeighbourTransition(k_fraction=0.25),
        sampler=_sampler(options),
        eps=(
            pyabc.epsilon.QuantileEpsilon(alpha=0.5)
            if options.epsilon is None
            else pyabc.epsilon.ConstantEpsilon(options.epsilon)  # also on --resume, whatever the generation
        ),
    )
    observed = {t.name: t.value for t in targets}
    start = time.perf_counter()
    resume = options.resume
    if resume and interrupted_start(db):
        if not options.quiet:
            print(
                f"calibrate: {db} holds no stored start of a fit (it was stopped first); starting afresh",
                file=sys.stderr,
            )
        for leftover in (db, db.with_name(db.name + "-journal"), db.with_name(db.name + "-wal")):
            leftover.unlink(missing_ok=True)
        resume = False
    if resume:
        history = abc.load(f"sqlite:///{db}", 1)
        remaining = options.generations - (history.max_t + 1)
    else:
        abc.new(f"sqlite:///{db}", observed)
        remaining = options.generations
    if remaining > 0:
        history = abc.run(
            minimum_epsilon=0.0,
            max_nr_populations=remaining,
            max_total_nr_simulations=options.max_simulations,
        )
    elif not options.quiet:
        print(
            f"calibrate: the fit in {db} has {history.max_t + 1} of {options.generations} generations; "
            "writing its outputs (--generations N for more)",
            file=sys.stderr,
        )
    if history.max_t < 0:
        raise UserError(f"{db}: the fit has no generation yet and --generations allows none")
    pops = history.get_all_populations()
    # The sampling time of every stored generation, from pyabc's own record: the runs before a resume
    # count, killed ones included, and a generation cut short by a kill (not stored) does not.
    stored = pops["wall_time"].dropna() if "wall_time" in pops else pd.Series(dtype=float)
    seconds = float(stored.sum()) if len(stored) else time.perf_counter() - start
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({p.key: [p.to_natural(x) for x in frame[p.name]] for p in priors})
    posterior["weight"] = weights / weights.sum()
    posterior.to_csv(out / "posterior.csv", index=False, float_format="%.6g")
    central = central_particle(posterior, priors)
    point = {p.key: _round(float(posterior[p.key].iloc[central])) for p in priors}
    info = {
        "method": DISTANCES[distance],
        "distance": distance,
        "prior_share": options.prior_share,
        "pyabc": pyabc.__version__,
        "population": options.population,
        "generations": int(history.max_t) + 1,
        "epsilon_schedule": [float(e) for e in pops["epsilon"] if math.isfinite(e)],
        "simulations": int(history.total_nr_simulations),
        "simulations_by_generation": [int(n) for n in pops.loc[pops["t"] >= 0, "samples"]],
        "seconds": round(seconds, 1),
        "seed": options.seed,
        "replications_per_setting": {k: s.replications for k, s in settings.items()},
        "final_epsilon": float(pops["epsilon"].iloc[-1]),
        "point_estimate": point,
        "point_estimate_rule": POINT_RULE,
        "point_particle": central,
        "posterior_median": {
            p.key: _round(weighted_quantile(posterior[p.key].to_numpy(), posterior["weight"].to_numpy(), 0.5))
            for p in priors
        },
        "distinct_parameter_sets": int(len(posterior.drop(columns="weight").drop_duplicates())),
        "posterior_interval_95": {
            p.key: [
                _round(weighted_quantile(posterior[p.key].to_numpy(), posterior["weight"].to_numpy(), q))
                for q in (0.025, 0.975)
            ]
            for p in priors
        },
        "effective_sample_size": round(float(1 / (posterior["weight"] ** 2).sum()), 1),
    }
    (out / "calibrated.yaml").write_text(
        f"# The default parameters (escalation calibrate): {POINT_RULE}. --apply writes these into\n"
        "# conf/model/default.yaml.\n" + "".join(f"{k}: {v}\n" for k, v in point.items())
    )
    predictive = posterior_predictive(sim, priors, posterior, options.predictive_draws, options.seed)
    predictive.to_csv(out / "predictive.csv", index=False, float_format="%.6g")
    info["predictive_within_band"] = {
        t.name: round(float(predictive[t.name].apply(t.within).mean()), 3) for t in targets
    }
    (out / "fit.json").write_text(json.dumps(info, indent=2) + "\n")
    from sim.report.calibration_figures import plot_posterior, plot_predictive

    plot_posterior(priors, posterior, out / "posterior.png")
    plot_predictive(targets, predictive, out / "predictive.png")
    if options.apply:
        apply_point(point, posterior)
    return info


def _select_one(args) -> dict[str, Any]:
    sim, keys, row, index, replications, seed = args
    values = {k: float(row[k]) for k in keys}
    frames = sim.outcomes(with_values(sim.base, values), seed, replications)
    stats = {t.name: t.statistic.value(frames[t.setting]) for t in sim.targets}
    margin = min(t.margin(*t.statistic.interval(frames[t.setting], seed)) for t in sim.targets)
    return {
        "particle": index,
        "weight": float(row["weight"]),
        "distance": sim.distance(stats),
        "margin": margin,
        "closeness": sim.closeness(stats),
        **stats,
    }


def select_particle(
    sim: Simulator,
    keys: list[str],
    posterior: pd.DataFrame,
    replications: dict[str, int],
    seed: int,
    workers: int = 1,
) -> tuple[int, pd.DataFrame]:
    """Re-run every distinct particle of the posterior with many replications; return the closest to the record.

    The default parameters must be one coherent parameter set that meets the targets, checked with
    enough replications to tell 0% from 2%. The weighted median of each parameter is not such a set
    (it mixes particles), and an ABC population whose weights have collapsed onto a few particles
    (a small effective sample size) does not say which of its particles fit best. Every particle
    runs on the same seeds (common random numbers); the smallest distance wins. Among particles
    with every target in its band (distance 0) the one whose least margin to a band's edge, in
    half-widths of the estimate's 95% interval, is largest wins: a set that meets a target only
    just, by chance on these seeds, misses it on fresh ones (a winner's curse at the edge). Then
    the one whose estimates lie nearest the record's values (closeness), then the larger weight.
    """
    import multiprocessing as mp

    rows = posterior.drop_duplicates(subset=keys)
    jobs = [(sim, keys, row, int(i), replications, seed) for i, row in rows.iterrows()]
    if workers > 1:
        with mp.get_context("forkserver").Pool(workers) as pool:
            results = pool.map(_select_one, jobs)
    else:
        results = [_select_one(j) for j in jobs]
    table = pd.DataFrame(results).sort_values(
        ["distance", "margin", "closeness", "weight"], ascending=[True, False, True, False]
    )
    return int(table["particle"].iloc[0]), table.reset_index(drop=True)


def select_and_apply(options: FitOptions, replications: dict[str, int]) -> dict[str, Any]:
    """Choose the default parameters among an existing fit's particles (``--select``) and record it in fit.json."""
    settings, targets = _targets(options)
    priors = load_priors(options.priors)
    for name in replications:
        if name not in settings:
            raise UserError(f"--select: unknown setting {name!r} (settings: {', '.join(settings)})")
    base, measures = base_setup()
    sim = Simulator(settings, targets, base, measures)
    out = options.out
    info_path = out / "fit.json"
    if not info_path.is_file() or not (out / "posterior.csv").is_file():
        raise UserError(f"{out}: no fit to select from (fit.json and posterior.csv; run escalation calibrate first)")
    posterior = read_posterior(out / "posterior.csv")
    keys = [p.key for p in priors]
    info = json.loads(info_path.read_text())
    joined = options.join is not None
    if joined:
        given = _given_posterior(options.join)  # type: ignore[arg-type]
        posterior = join_stages(given, posterior, options.seed, options.join_draws)
        posterior.to_csv(out / JOINED, index=False, float_format="%.6g")
        keys = [k for k in posterior.columns if k != "weight"]
        info["joined"] = {
            "given": options.join.as_posix(),  # type: ignore[union-attr]
            "draws_per_particle": options.join_draws,
            "sets": len(posterior),
            "rule": f"each accepted particle of {options.join.as_posix()} with {options.join_draws} of this fit's "  # type: ignore[union-attr]
            "particles drawn by weight, this fit's parameters taken from the latter (posterior_joined.csv)",
        }
    else:
        info.pop("joined", None)
        (out / JOINED).unlink(missing_ok=True)
    workers = options.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    best, table = select_particle(sim, keys, posterior, replications, options.seed + 1, workers)
    table.to_csv(out / "selection.csv", index=False, float_format="%.6g")
    point = {k: _round(float(posterior.loc[best, k])) for k in keys}
    info["point_estimate"] = point
    info["point_estimate_rule"] = (
        ("the joined parameter set" if joined else "the posterior particle")
        + " furthest inside the bands, then closest to the record, when re-run with "
        + ", ".join(f"{k} {v}" for k, v in replications.items())
        + " replications (selection.csv), not the weighted median"
    )
    info["selected_particle"] = {
        "index": best,
        "weight": float(posterior.loc[best, "weight"]),
        "distance": float(table["distance"].iloc[0]),
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    (out / "calibrated.yaml").write_text(
        f"# The default parameters: {info['point_estimate_rule']}.\n"
        "# --apply writes these into conf/model/default.yaml.\n" + "".join(f"{k}: {v}\n" for k, v in point.items())
    )
    if options.apply:
        if options.given is not None:
            posterior = combine(read_posterior(options.given / "posterior.csv"), posterior, options.seed)
            posterior.to_csv(out / "posterior_combined.csv", index=False, float_format="%.6g")
        apply_point(point, posterior)
    return info


def accept_selected(options: FitOptions, epsilon: float) -> dict[str, Any]:
    """Keep the particles whose re-run (``selection.csv``) is within ``epsilon``: the posterior that runs draw from.

    A final rejection step on a fit whose sampler could go no further: every particle of the last
    population was re-run with many replications (``--select``), so its distance is known far more
    precisely than from the few replications it was accepted on. Keeping those within a tighter
    threshold than the last generation's is ABC rejection at that threshold, with the particles'
    importance weights renormalised (``posterior_accepted.csv``; ``fit.json`` records the step).
    With ``--apply`` the accepted particles become ``calibration/posterior.csv``: ``parameters=posterior``
    then draws the fitted parameters among them (the others keep their defaults).
    """
    out = options.out
    info_path, sel_path = out / "fit.json", out / "selection.csv"
    if not info_path.is_file() or not sel_path.is_file():
        raise UserError(f"{out}: --accept needs a fit whose particles were re-run (fit.json, selection.csv: --select)")
    if not 0 <= epsilon < math.inf:
        raise UserError(f"--accept must be a distance of at least 0, got {epsilon}")
    posterior = read_posterior(out / (JOINED if (out / JOINED).is_file() else "posterior.csv"))
    keys = [c for c in posterior.columns if c != "weight"]
    table = pd.read_csv(sel_path)
    if not {"particle", "distance"} <= set(table.columns):
        raise UserError(f"{sel_path}: a selection table needs 'particle' and 'distance' columns")
    within = table.loc[table["distance"] <= epsilon, "particle"].astype(int)
    if within.empty:
        raise UserError(
            f"--accept {epsilon:g}: no particle of {sel_path} is within it (the nearest: {table['distance'].min():.3g})"
        )
    chosen = {tuple(row) for row in posterior.loc[within, keys].to_numpy()}
    accepted = posterior[[tuple(row) in chosen for row in posterior[keys].to_numpy()]].copy()
    accepted["weight"] = accepted["weight"] / accepted["weight"].sum()
    accepted.to_csv(out / "posterior_accepted.csv", index=False, float_format="%.6g")
    w = accepted["weight"].to_numpy()
    info = json.loads(info_path.read_text())
    info["accepted"] = {
        "epsilon": epsilon,
        "particles": len(within),
        "effective_sample_size": round(float(1 / (w**2).sum()), 1),
        "rule": f"the particles whose re-run (selection.csv) is within {epsilon:g} of the record, weights renormalised",
        "posterior_interval_95": {
            k: [_round(weighted_quantile(accepted[k].to_numpy(), w, q)) for q in (0.025, 0.975)] for k in keys
        },
    }
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    if options.apply:
        apply_point(info["point_estimate"], accepted)
    return info


def _targets(options: FitOptions):
    settings, targets = load_targets(options.targets)
    if options.only:
        unknown = sorted(set(options.only) - {t.name for t in targets})
        if unknown:
            raise UserError(f"--only: unknown target {unknown[0]!r} (targets: {', '.join(t.name for t in targets)})")
        targets = [t for t in targets if t.name in options.only]
    return settings, targets


JOINED = "posterior_joined.csv"  # a later stage's particles joined with an earlier stage's accepted ones (--join)


def _given_posterior(folder: Path) -> pd.DataFrame:
    """An earlier stage's posterior that runs draw from: its accepted particles, or its whole posterior."""
    for name in ("posterior_accepted.csv", "posterior.csv"):
        if (folder / name).is_file():
            return read_posterior(folder / name)
    raise UserError(f"--join {folder}: no fit there (posterior_accepted.csv or posterior.csv)")


def join_stages(given: pd.DataFrame, later: pd.DataFrame, seed: int, draws: int) -> pd.DataFrame:
    """Parameter sets for both stages: each particle of ``given`` with ``draws`` of ``later``'s drawn by weight.

    ``later`` was fitted with ``given``'s point estimate held, so a joined set is only a proposal:
    ``--select`` re-runs every one and ``--accept`` keeps those that still meet the record (ABC
    rejection on the joined sets). A set takes ``later``'s parameters from its ``later`` particle and
    the rest from its ``given`` one; its weight is the ``given`` particle's over ``draws`` (the
    ``later`` weights are in how often a particle is drawn). Drawn with a fixed seed.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x701,)))
    w = later["weight"].to_numpy(float)
    own = [c for c in later.columns if c != "weight"]
    rest = [c for c in given.columns if c != "weight" and c not in own]
    rows = []
    for _, g in given.iterrows():
        for pick in rng.choice(len(later), size=draws, p=w / w.sum()):
            rows.append(
                {**{k: g[k] for k in rest}, **{k: later[k].iloc[pick] for k in own}, "weight": g["weight"] / draws}
            )
    out = pd.DataFrame(rows)
    out["weight"] = out["weight"] / out["weight"].sum()
    return out


def combine(first: pd.DataFrame, second: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A two-stage posterior: the first stage's particles, each given the second stage's parameters drawn by weight.

    The second stage fitted its parameters with the first stage's point estimate fixed, so the two
    are joined as independent (a product of the two posteriors), drawn with a fixed seed.
    """
    keys = [c for c in second.columns if c != "weight"]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xC0B,)))
    w = second["weight"].to_numpy(float)
    picks = rng.choice(len(second), size=len(first), p=w / w.sum())
    out = first.drop(columns=[k for k in keys if k in first.columns]).copy()
    for k in keys:
        out[k] = second[k].to_numpy()[picks]
    return out[[c for c in out.columns if c != "weight"] + ["weight"]]


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def posterior_predictive(
    sim: Simulator, priors: list[Prior], posterior: pd.DataFrame, draws: int, seed: int
) -> pd.DataFrame:
    """Each target's statistic for ``draws`` particles drawn from the posterior, on fresh seeds."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xF17,)))
    w = posterior["weight"].to_numpy(float)
    rows = []
    for k, i in enumerate(rng.choice(len(posterior), size=draws, p=w / w.sum())):
        values = {p.key: float(posterior[p.key].iloc[i]) for p in priors}
        stats = sim.statistics(with_values(sim.base, values), seed=10_000 + k)
        rows.append({"particle": int(i), **stats})
    return pd.DataFrame(rows)


def apply_point(point: dict[str, float], posterior: pd.DataFrame) -> None:
    """Write the point estimate into ``conf/model/default.yaml`` and the posterior to ``calibration/``."""
    from sim.run.paths import CONF_DIR

    path = CONF_DIR / "model" / "default.yaml"
    text = path.read_text()
    for key, value in point.items():
        text = set_yaml_value(text, key.removeprefix("model.").split("."), value)
    path.write_text(text)
    POSTERIOR_FILE.parent.mkdir(parents=True, exist_ok=True)
    posterior.to_csv(POSTERIOR_FILE, index=False, float_format="%.6g")


def set_yaml_value(text: str, path: list[str], value: float) -> str:
    """``text`` (a YAML file of ``key: value  # comment`` lines) with ``path``'s value replaced, comments kept."""
    lines = text.splitlines(keepends=True)
    indent, start = "", 0
    for depth, key in enumerate(path):
        pattern = re.compile(rf"^({indent}{re.escape(key)}:\s*)([^#\s][^#]*?)?(\s*#.*)?$")
        for i in range(start, len(lines)):
            line = lines[i].rstrip("\n")
            if depth > 0 and line.strip() and not line.startswith(indent):
                raise UserError(f"cannot find {'.'.join(path)} in the model config")
            m = pattern.match(line)
            if m:
                if depth == len(path) - 1:
                    prefix, old, comment = m.group(1), m.group(2) or "", m.group(3) or ""
                    column = len(prefix) + len(old) + len(comment) - len(comment.lstrip())
                    body = prefix + f"{value:g}"
                    if comment:
                        body += " " * max(2, column - len(body)) + comment.lstrip()
                    lines[i] = body + "\n"
                    return "".join(lines)
                start, indent = i + 1, indent + "  "
                break
        else:
            raise UserError(f"cannot find {'.'.join(path)} in the model config")
    raise UserError(f"cannot find {'.'.join(path)} in the model config")


def parse_replications(text: str) -> dict[str, int]:
    """``NAME=N,NAME=N`` (``--replications``)."""
    out = {}
    for part in text.split(","):
        name, eq, n = part.partition("=")
        if not eq or not n.strip().isdigit() or int(n) < 1:
            raise UserError(f"--replications: {part!r} is not SETTING=N (N a whole number from 1)")
        out[name.strip()] = int(n)
    return out


SCHEDULER_TIMEOUT_S = 10.0  # a Dask scheduler that does not answer within this is reported


def check_fit_arguments(ns) -> None:
    """Every option of ``escalation calibrate`` before any work: numbers, --out, --db, the scheduler."""
    from sim.run.errors import check_out_folder, check_whole

    check_whole("--population", ns.population, 1, 100_000)
    check_whole("--generations", ns.generations, 1, 1000)
    check_whole("--max-simulations", ns.max_simulations, 1, 100_000_000)
    check_whole("--workers", ns.workers, 0, 1024)
    check_whole("--seed", ns.seed, 0, 2**32 - 1)  # numpy's legacy seed, which pyabc draws from
    check_whole("--predictive-draws", ns.predictive_draws, 1, 10_000)
    check_whole("--join-draws", ns.join_draws, 1, 1000)
    if not (math.isfinite(ns.prior_share) and 0 <= ns.prior_share < 1):
        raise UserError(f"--prior-share must be a share in [0, 1), got {ns.prior_share:g}")
    for flag, value in (("--epsilon", ns.epsilon), ("--accept", ns.accept)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UserError(f"{flag} must be a finite number >= 0, got {value:g}")
    check_out_folder(ns.out)
    fits = not ns.select_only and not (ns.accept is not None and not ns.select)  # else: works on the fit in --out
    if fits:
        db = Path(ns.db) if ns.db else Path(ns.out) / "abc.db"
        check_database(db, ns.resume, "--db" if ns.db else "--out")
    if ns.dask_scheduler:
        check_scheduler(ns.dask_scheduler)


def check_database(db: Path, resume: bool, flag: str) -> None:
    """The calibration database: a pyabc SQLite file to resume, or a free name for a new fit."""
    import sqlite3

    from sim.run.errors import check_out_folder

    check_out_folder(db.parent, flag)
    if db.exists() and not db.is_file():
        raise UserError(f"{flag} {db}: not a file (a calibration database is a SQLite file)")
    if not resume:
        if db.exists():
            raise UserError(
                f"{db}: a calibration database is already there (--resume to continue it, or another --out)"
            )
        return
    if not db.is_file():
        raise UserError(f"--resume: {db}: no calibration database to resume")
    if db.stat().st_size == 0:  # a fit killed as it created its database: it starts afresh (run_fit)
        return
    with db.open("rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise UserError(f"--resume: {db}: not a calibration database (not a SQLite file)")
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            tables = {row[0] for row in con.execute("select name from sqlite_master where type='table'")}
    except sqlite3.Error as exc:
        raise UserError(f"--resume: {db}: not a readable calibration database ({exc})") from None
    if not {"abc_smc", "populations"} <= tables and not (tables <= PYABC_TABLES):
        raise UserError(f"--resume: {db}: a SQLite file without a pyabc calibration in it")


PYABC_TABLES = frozenset(
    {"abc_smc", "models", "parameters", "particles", "populations", "samples", "summary_statistics", "version"}
)


def interrupted_start(db: Path) -> bool:
    """Whether ``db`` is a fit killed before pyabc stored its start: nothing to continue, so it starts afresh.

    That is an empty file, a SQLite file with no table, or only pyabc's tables with no run or no population
    in them (pyabc writes the run and its first, empty population when the fit starts).
    """
    import sqlite3

    if db.stat().st_size == 0:
        return True
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            tables = {row[0] for row in con.execute("select name from sqlite_master where type='table'")}
            if not tables:
                return True
            if not tables <= PYABC_TABLES:
                return False
            if not {"abc_smc", "populations"} <= tables:
                return True
            runs = con.execute("select count(*) from abc_smc").fetchone()[0]
            populations = con.execute("select count(*) from populations").fetchone()[0]
    except sqlite3.Error:
        return False
    return runs == 0 or populations == 0


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """A Dask scheduler answers at ``address`` (``tcp://HOST:PORT``) within ``timeout``; ``UserError`` otherwise."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port or 8786
    except ValueError:
        host, port = None, None
    if parts.scheme not in ("tcp", "tls") or not host:
        raise UserError(f"--dask-scheduler {address!r}: not a scheduler address (tcp://HOST:PORT)")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        raise UserError(f"--dask-scheduler {address}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise UserError(f"--dask-scheduler {address}: no scheduler there ({exc.strerror or exc})") from None
    try:  # something listens: is it a Dask scheduler? (a handshake, within the same time)
        import distributed  # noqa: F401
    except ImportError:
        raise UserError(
            "--dask-scheduler needs dask.distributed: pip install 'nato-russia-escalation[calibrate]'"
        ) from None
    _dask_client(address, timeout).close()


def _dask_client(address: str, timeout: float = SCHEDULER_TIMEOUT_S):
    """A Dask client of the scheduler at ``address``; ``UserError`` (one line) if none answers in ``timeout``."""
    import logging as _logging

    from distributed import Client

    quiet = [_logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(_logging.CRITICAL)  # its own tracebacks of a failed handshake
    import threading

    result: dict[str, Any] = {}

    def connect() -> None:  # Client's own timeout does not cover a peer that accepts and stays silent
        try:
            result["client"] = Client(address, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - whatever the other end sent: one line
            result["error"] = (str(exc).splitlines() or [type(exc).__name__])[0][:120]

    thread = threading.Thread(target=connect, daemon=True, name="dask-handshake")
    try:
        thread.start()
        thread.join(timeout)
        if "client" in result:
            return result["client"]
        problem = result.get("error") or f"no answer within {timeout:g} s"
        raise UserError(f"--dask-scheduler {address}: no Dask scheduler answers there ({problem})")
    finally:
        for q, level in zip(quiet, levels, strict=True):
            q.setLevel(level)


def calibrate_command(args: list[str]) -> int:
    """``escalation calibrate [--out DIR] [--population N] ...``: see ``--help``."""
    from sim.run.errors import OneLineParser, fail

    parser = OneLineParser(
        prog="escalation calibrate",
        description="Fit the parameters of calibration/priors.yaml to the record "
        "(calibration/targets.yaml) by ABC-SMC.",
    )
    parser.add_argument("--out", default="outputs/calibration", help="folder for posterior.csv, fit.json, figures")
    parser.add_argument("--targets", default=str(TARGETS_FILE), help="targets file (default: the project's)")
    parser.add_argument("--priors", default=str(PRIORS_FILE), help="priors file (default: the project's)")
    parser.add_argument("--population", type=int, default=100, help="particles per generation (default 100)")
    parser.add_argument(
        "--generations",
        type=int,
        default=8,
        help="at most this many generations in all, a resumed fit's included (default 8)",
    )
    parser.add_argument("--max-simulations", type=int, default=3000, help="stop after this many particles run")
    parser.add_argument("--workers", type=int, default=0, help="processes (default 0: every core)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fit (default 0)")
    parser.add_argument("--replications", default="", help="SETTING=N,...: replications per particle")
    parser.add_argument("--predictive-draws", type=int, default=40, help="posterior draws for predictive.png")
    parser.add_argument("--db", default=None, help="pyabc database (default OUT/abc.db)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the fit in the database (after an interruption too) up to --generations",
    )
    parser.add_argument("--dask-scheduler", default=None, help="run particles on a Dask cluster at this address")
    parser.add_argument("--apply", action="store_true", help="make the fit the default (conf/model/default.yaml)")
    parser.add_argument(
        "--select",
        default="",
        metavar="SETTING=N,...",
        help="after the fit (or on the fit in --out), re-run every particle with these replications and take "
        "the one closest to the record as the default",
    )
    parser.add_argument("--select-only", action="store_true", help="only the --select step, on the fit in --out")
    parser.add_argument(
        "--epsilon",
        type=float,
        default=None,
        help="a fixed acceptance threshold (0: every target in its band); with --generations 1, rejection ABC",
    )
    parser.add_argument("--only", default="", metavar="TARGET,...", help="fit to these targets only (a second stage)")
    parser.add_argument(
        "--given",
        default=None,
        metavar="DIR",
        help="a first stage's fit folder: with --apply, its posterior joins this one's in calibration/posterior.csv",
    )
    parser.add_argument(
        "--join",
        default=None,
        metavar="DIR",
        help="with --select: re-run an earlier stage's accepted particles (DIR) joined with this fit's, "
        "and select and accept among the joined sets (posterior_joined.csv)",
    )
    parser.add_argument(
        "--join-draws", type=int, default=4, help="this fit's particles drawn for each of DIR's (default 4)"
    )
    parser.add_argument(
        "--accept",
        type=float,
        default=None,
        metavar="EPS",
        help="after --select (or on the fit in --out): keep the re-run particles within EPS as the posterior; "
        "with --apply it becomes calibration/posterior.csv",
    )
    parser.add_argument(
        "--distance",
        choices=("auto", "deviance", "bands"),
        default="auto",
        help="deviance: the targets' binomial and negative-binomial deviances (needs every target's record as data); "
        "bands: how far outside the tolerance bands; auto (default): deviance if every target has its data",
    )
    parser.add_argument(
        "--prior-share",
        type=float,
        default=0.2,
        help="share of each generation's proposals drawn from the prior, which bounds the importance weights "
        "(default 0.2; 0: none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    try:
        ns = parser.parse_args(args)
        check_fit_arguments(ns)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    except UserError as exc:
        return fail(str(exc))
    try:
        import pyabc  # noqa: F401
    except ImportError:
        return fail("escalation calibrate needs pyabc: pip install 'nato-russia-escalation[calibrate]'")
    try:
        options = FitOptions(
            out=Path(ns.out),
            targets=Path(ns.targets),
            priors=Path(ns.priors),
            population=ns.population,
            generations=ns.generations,
            max_simulations=ns.max_simulations,
            workers=ns.workers,
            seed=ns.seed,
            db=Path(ns.db) if ns.db else None,
            resume=ns.resume,
            dask_scheduler=ns.dask_scheduler,
            replications=parse_replications(ns.replications) if ns.replications else None,
            apply=ns.apply,
            predictive_draws=ns.predictive_draws,
            only=tuple(x for x in ns.only.split(",") if x),
            epsilon=ns.epsilon,
            given=Path(ns.given) if ns.given else None,
            join=Path(ns.join) if ns.join else None,
            join_draws=ns.join_draws,
            distance=ns.distance,
            prior_share=ns.prior_share,
            quiet=ns.quiet,
        )
        load_targets(options.targets)  # on every path (--accept reads none): a held-out file is refused at once
        if options.join is not None and not ns.select:
            return fail("--join needs --select SETTING=N,...: the joined sets are re-run to be kept")
        if ns.join_draws < 1:
            return fail("--join-draws must be at least 1")
        if ns.accept is not None and not ns.select:  # on the fit in --out, its particles already re-run
            info = accept_selected(options, ns.accept)
            print(
                f"accepted: {info['accepted']['particles']} particles within {ns.accept:g}, effective sample size "
                f"{info['accepted']['effective_sample_size']:g}"
                + ("; calibration/posterior.csv written" if options.apply else ""),
                file=sys.stderr,
            )
            return 0
        if ns.select_only:
            if not ns.select:
                return fail("--select-only needs --select SETTING=N,...")
            info = select_and_apply(options, parse_replications(ns.select))
        else:
            info = run_fit(dataclasses.replace(options, apply=options.apply and not ns.select))
            if ns.select:
                info = select_and_apply(options, parse_replications(ns.select))
        if ns.accept is not None:
            info = accept_selected(options, ns.accept)
    except UserError as exc:
        return fail(str(exc))
    if "selected_particle" in info:
        sel = info["selected_particle"]
        print(
            f"default: particle {sel['index']} (weight {sel['weight']:.3g}, distance {sel['distance']:.3g} "
            "when re-run)",
            file=sys.stderr,
        )
    print(
        f"calibrated: {info['generations']} generations, {info['simulations']} particles run, "
        f"final threshold {info['final_epsilon']:.3g}, {info['seconds']:.0f} s; outputs in {options.out}",
        file=sys.stderr,
    )
    intervals = info.get("accepted", info)["posterior_interval_95"]  # a joined set's keys: after --accept
    for key, value in info["point_estimate"].items():
        lo, hi = intervals.get(key, info["posterior_interval_95"].get(key, (math.nan, math.nan)))
        print(f"  {key:50s} {value:<10g} 95% [{lo:g}, {hi:g}]")
    return 0
