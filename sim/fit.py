"""``escalation calibrate``: fit the parameters of ``calibration/priors.yaml`` to the record by ABC-SMC.

Approximate Bayesian Computation with sequential Monte Carlo (pyabc, Klinger et al. 2018): each
particle is a parameter set drawn from the prior, run on the targets' settings (a year of each,
a few replications); its distance is the root sum of squares of how far each target's statistic
lies outside its tolerance band, in band widths. Each generation lowers the acceptance threshold
(the median distance of the last); the run stops when every accepted particle has every target
inside its band (threshold 0), or at the generation or simulation budget. The posterior is the
last generation's particles and weights.

Outputs (``--out``): ``posterior.csv`` (one row per particle: the parameters and ``weight``),
``fit.json`` (the run: generations, thresholds, simulations, time, the point estimate),
``calibrated.yaml`` (the posterior median of each parameter: the point estimate that
``--apply`` writes into ``conf/model/default.yaml``), ``posterior.png`` (marginal posteriors
against priors) and ``predictive.png`` (each target's posterior predictive against its band).
The pyabc database (``--db``, default ``OUT/abc.db``) makes a run resumable (``--resume``).
"""

from __future__ import annotations

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

from sim.calibration import (
    POSTERIOR_FILE,
    PRIORS_FILE,
    TARGETS_FILE,
    Prior,
    Simulator,
    base_setup,
    load_priors,
    load_targets,
    weighted_quantile,
    with_values,
)
from sim.errors import UserError


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


def _model_function(sim: Simulator, priors: list[Prior]):
    """The pyabc model: a particle (sampling scale) -> the targets' statistics."""

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
        from distributed import Client
        from pyabc.sampler import DaskDistributedSampler

        return DaskDistributedSampler(dask_client=Client(options.dask_scheduler))
    workers = options.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    return SingleCoreSampler() if workers == 1 else MulticoreEvalParallelSampler(n_procs=workers)


def run_fit(options: FitOptions) -> dict[str, Any]:
    """Run (or resume) the fit and write its outputs; returns the contents of ``fit.json``."""
    import pyabc

    settings, targets = load_targets(options.targets)
    priors = load_priors(options.priors)
    if options.replications:
        for name in options.replications:
            if name not in settings:
                raise UserError(f"--replications: unknown setting {name!r} (settings: {', '.join(settings)})")
        settings = {
            k: type(s)(**{**s.__dict__, "replications": options.replications.get(k, s.replications)})
            for k, s in settings.items()
        }
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
        models=_model_function(sim, priors),
        parameter_priors=_prior(priors),
        distance_function=lambda x, x0: sim.distance(x),
        population_size=options.population,
        # Each particle moves by a Gaussian with the covariance of its nearest quarter of the
        # population: in 12 dimensions one global kernel left the weights degenerate (an
        # effective sample size of 4 of 120 by the third generation).
        transitions=pyabc.transition.LocalTransition(k_fraction=0.25),
        sampler=_sampler(options),
        eps=pyabc.epsilon.QuantileEpsilon(alpha=0.5),
    )
    observed = {t.name: t.value for t in targets}
    start = time.perf_counter()
    if options.resume:
        abc.load(f"sqlite:///{db}", 1)
    else:
        abc.new(f"sqlite:///{db}", observed)
    history = abc.run(
        minimum_epsilon=0.0,
        max_nr_populations=options.generations,
        max_total_nr_simulations=options.max_simulations,
    )
    seconds = time.perf_counter() - start
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({p.key: [p.to_natural(x) for x in frame[p.name]] for p in priors})
    posterior["weight"] = weights / weights.sum()
    posterior.to_csv(out / "posterior.csv", index=False, float_format="%.6g")
    point = {
        p.key: _round(weighted_quantile(posterior[p.key].to_numpy(), posterior["weight"].to_numpy(), 0.5))
        for p in priors
    }
    pops = history.get_all_populations()
    info = {
        "method": "ABC-SMC (pyabc), distance: root sum of squares of deviations outside the tolerance bands",
        "pyabc": pyabc.__version__,
        "population": options.population,
        "generations": int(history.max_t) + 1,
        "epsilon_schedule": [float(e) for e in pops["epsilon"] if math.isfinite(e)],
        "simulations": int(history.total_nr_simulations),
        "seconds": round(seconds, 1),
        "seed": options.seed,
        "replications_per_setting": {k: s.replications for k, s in settings.items()},
        "final_epsilon": float(pops["epsilon"].iloc[-1]),
        "point_estimate": point,
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
        "# The posterior median of each fitted parameter (escalation calibrate); --apply writes these into\n"
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
    from sim.paths import CONF_DIR

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


def calibrate_command(args: list[str]) -> int:
    """``escalation calibrate [--out DIR] [--population N] ...``: see ``--help``."""
    import argparse

    from sim.errors import fail

    parser = argparse.ArgumentParser(
        prog="escalation calibrate",
        description="Fit the parameters of calibration/priors.yaml to the record "
        "(calibration/targets.yaml) by ABC-SMC.",
    )
    parser.add_argument("--out", default="outputs/calibration", help="folder for posterior.csv, fit.json, figures")
    parser.add_argument("--targets", default=str(TARGETS_FILE), help="targets file (default: the project's)")
    parser.add_argument("--priors", default=str(PRIORS_FILE), help="priors file (default: the project's)")
    parser.add_argument("--population", type=int, default=100, help="particles per generation (default 100)")
    parser.add_argument("--generations", type=int, default=8, help="at most this many generations (default 8)")
    parser.add_argument("--max-simulations", type=int, default=3000, help="stop after this many particles run")
    parser.add_argument("--workers", type=int, default=0, help="processes (default 0: every core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--replications", default="", help="SETTING=N,...: replications per particle")
    parser.add_argument("--predictive-draws", type=int, default=40, help="posterior draws for predictive.png")
    parser.add_argument("--db", default=None, help="pyabc database (default OUT/abc.db)")
    parser.add_argument("--resume", action="store_true", help="continue the run in the database")
    parser.add_argument("--dask-scheduler", default=None, help="run particles on a Dask cluster at this address")
    parser.add_argument("--apply", action="store_true", help="make the fit the default (conf/model/default.yaml)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    try:
        import pyabc  # noqa: F401
    except ImportError:
        return fail("escalation calibrate needs pyabc: pip install 'nato-russia-escalation[calibrate]'")
    for name in ("population", "generations", "max_simulations"):
        if getattr(ns, name) < 1:
            return fail(f"--{name.replace('_', '-')} must be at least 1")
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
            quiet=ns.quiet,
        )
        info = run_fit(options)
    except UserError as exc:
        return fail(str(exc))
    print(
        f"calibrated: {info['generations']} generations, {info['simulations']} particles run, "
        f"final threshold {info['final_epsilon']:.3g}, {info['seconds']:.0f} s; outputs in {options.out}",
        file=sys.stderr,
    )
    for key, value in info["point_estimate"].items():
        lo, hi = info["posterior_interval_95"][key]
        print(f"  {key:50s} {value:<10g} 95% [{lo:g}, {hi:g}]")
    return 0
