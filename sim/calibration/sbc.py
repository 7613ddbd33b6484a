"""Simulation-based calibration of the fit: does a 90% posterior interval hold the truth 90% of the time?

Known parameter sets are drawn from the prior. For each, the model makes a synthetic record with
the same shape as the real one (``RecordData``): "K of N years" by running N years, a count over Y
years by running Y years and reading it through the count's negative binomial (the record's own
noise, as the deviance assumes), a share at the record's sample size by a binomial draw at the
model's share. The fit (``run_fit``, the same priors, distance and budget for every truth) is run on
each synthetic record, and each known value is checked against its 90% posterior interval (weighted
5% and 95% quantiles of the last generation). Over many truths, well-calibrated intervals cover about
90% of them; far more means the posterior is wider than the data allow (an ABC threshold not
driven low enough), far fewer that it is overconfident.

Talts, Betancourt, Simpson, Vehtari and Gelman, "Validating Bayesian inference algorithms with
simulation-based calibration", arXiv:1804.06788 (2018), for the method; this is its interval form.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
import yaml

from sim.analysis.stats import mean_ci_bootstrap
from sim.calibration.targets import (
    Prior,
    Setting,
    Simulator,
    Target,
    base_setup,
    load_priors,
    load_targets,
    weighted_quantile,
    with_values,
)
from sim.run.errors import UserError


@dataclass(frozen=True)
class Coverage:
    """One truth's parameters against their 90% posterior intervals."""

    truth: int
    key: str
    value: float
    low: float
    high: float
    rank: float  # the posterior's weighted share of particles below the truth: uniform on [0, 1] if calibrated

    @property
    def covered(self) -> bool:  # noqa: D102
        return self.low <= self.value <= self.high


def draw_truth(priors: list[Prior], rng: np.random.Generator) -> dict[str, float]:
    """A parameter set drawn from the prior (uniform on each prior's sampling scale)."""
    return {p.key: p.to_natural(float(rng.uniform(*p.sampling_bounds))) for p in priors}


def synthetic_record(
    settings: dict[str, Setting],
    targets: list[Target],
    params,
    measures: dict,
    seed: int,
    share_years: int = 20,
) -> dict[str, Any]:
    """A targets file (as data) whose record the model made at ``params``, in the real record's shape."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5BC,)))
    need: dict[str, int] = {}
    for t in targets:
        assert t.data is not None, f"{t.name}: no record as data"
        years = share_years if t.statistic.kind == "share" else math.ceil(t.data.of)
        need[t.setting] = max(need.get(t.setting, 1), years)
    sim = Simulator(settings, targets, params, measures)
    frames = sim.outcomes(params, seed, need)
    out: dict[str, Any] = {
        "settings": {
            k: {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "name"}
            for k, s in settings.items()
        },
        "targets": [],
    }
    for t in targets:
        data = t.data
        assert data is not None
        frame = frames[t.setting]
        if data.kind == "implied":  # no evidence of its own, as in the real record: the other target's years
            years = next(o.data.of for o in targets if o.name == data.implied_by and o.data is not None)
            k, n = t.statistic.tally(frame.iloc[: int(years)])
            record, value = {"implied_by": data.implied_by}, k / n
        elif t.statistic.kind == "probability":
            k, n = t.statistic.tally(frame.iloc[: int(data.of)])
            record, value = {"events": int(k), "of": int(n)}, k / n
        elif t.statistic.kind == "share":
            x, n = t.statistic.tally(frame)
            k = int(rng.binomial(int(data.of), (x + 0.5) / (n + 1.0)))
            record, value = {"events": k, "of": int(data.of)}, k / data.of
        else:
            total, _ = t.statistic.tally(frame.iloc[: math.ceil(data.of)])
            total *= data.of / math.ceil(data.of)
            size = data.of * data.dispersion
            count = int(rng.poisson(total) if math.isinf(size) else rng.negative_binomial(size, size / (size + total)))
            record = {"count": count, "years": data.of}
            if not math.isinf(data.dispersion):
                record["dispersion"] = data.dispersion
            value = count / data.of
        is_rate = t.statistic.kind != "mean"
        out["targets"].append(
            {
                "name": t.name,
                "title": t.title,
                "setting": t.setting,
                "statistic": _statistic_text(t),
                "value": float(value),
                "low": 0.0,
                "high": 1.0 if is_rate else float(max(10.0, 10 * value)),
                "data": record,
                "source": "synthetic: the model at known parameters",
                "tolerance": "none (the fit reads the data)",
            }
        )
    return out


def _statistic_text(t: Target) -> str:
    s = t.statistic
    if s.kind == "share":
        return f"share: {'+'.join(s.numerator)} / {'+'.join(s.denominator)}"
    return f"{s.kind}: {'+'.join(s.numerator)}"


def run_sbc(
    out: Path,
    truths: int,
    targets_file: Path,
    priors_file: Path,
    fit_options: dict[str, Any],
    seed: int = 0,
    horizon_days: float | None = None,
    progress: bool = True,
) -> tuple[list[Coverage], pd.DataFrame]:
    """Fit ``truths`` synthetic records made at parameters drawn from the prior; each parameter's 90% interval.

    ``fit_options``: ``FitOptions`` fields for every fit (population, generations, workers, ...).
    ``horizon_days`` shortens every setting (a cheaper, smaller world for a quick check). Returns the
    coverage rows and a table of them (also written to ``out/sbc.csv``, after each truth).

    A truth fitted before in ``out`` (its ``sbc_truth.json``: the same truth, seed, budget, targets
    and priors files) is read, not fitted again, and a fit stopped part-way is resumed: the check
    can be stopped and continued, and more truths added later (``truths`` larger: the first ones are
    the same draws). A truth fitted with anything else is refused (``UserError``).
    """
    settings, targets = load_targets(targets_file)
    if horizon_days is not None:
        settings = {k: dataclasses.replace(s, horizon_days=horizon_days) for k, s in settings.items()}
    priors = load_priors(priors_file)
    base, measures = base_setup()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x7AB,)))
    rows: list[Coverage] = []
    out.mkdir(parents=True, exist_ok=True)
    inputs = {"targets": _digest(targets_file), "priors": _digest(priors_file), "horizon_days": horizon_days}
    budget = {k: v for k, v in sorted(fit_options.items()) if k not in ("workers", "dask_scheduler", "quiet")}
    for i in range(truths):
        truth = draw_truth(priors, rng)
        folder = out / f"truth_{i:03d}"
        stamp = {"truth": truth, "seed": seed * 1000 + i, "fit": budget, **inputs}
        marker = folder / "sbc_truth.json"
        stored = marker.is_file()
        if stored:
            _same_or_refuse(marker, stamp)
        else:
            record = synthetic_record(
                settings, targets, with_values(base, truth), measures, seed=10_000 * (seed + 1) + i
            )
            _fit_truth(folder, record, priors_file, {**fit_options, "seed": stamp["seed"]})
            marker.write_text(json.dumps(stamp, indent=2) + "\n")
        rows += intervals(i, truth, pd.read_csv(folder / "posterior.csv"), priors)
        coverage_table(rows).to_csv(out / "sbc.csv", index=False, float_format="%.6g")  # what is done so far
        if progress:
            done = sum(r.covered for r in rows)
            print(
                f"sbc: truth {i + 1}/{truths}{' (fitted before)' if stored else ''}: "
                f"{done} of {len(rows)} intervals cover their truth so far",
                flush=True,
            )
    table = coverage_table(rows)
    table.to_csv(out / "sbc.csv", index=False, float_format="%.6g")
    return rows, table


def intervals(truth: int, values: dict[str, float], posterior: pd.DataFrame, priors: list[Prior]) -> list[Coverage]:
    """Each parameter's 90% interval (weighted 5% and 95% quantiles) and rank in a fit's ``posterior``."""
    w = posterior["weight"].to_numpy(float)
    rows = []
    for p in priors:
        v = posterior[p.key].to_numpy(float)
        rank = float(w[v < values[p.key]].sum() / w.sum())
        rows.append(
            Coverage(truth, p.key, values[p.key], weighted_quantile(v, w, 0.05), weighted_quantile(v, w, 0.95), rank)
        )
    return rows


def _fit_truth(folder: Path, record: dict[str, Any], priors_file: Path, fit_options: dict[str, Any]) -> None:
    """Fit one truth's synthetic record; a fit stopped part-way (its database there) is resumed."""
    from sim.calibration.fit import FitOptions, run_fit

    text = yaml.safe_dump(record, sort_keys=False)
    folder.mkdir(exist_ok=True)
    record_file = folder / "targets.yaml"
    resume = (folder / "abc.db").is_file()
    if resume and (not record_file.is_file() or record_file.read_text() != text):
        raise UserError(f"{folder}: a fit of another record is there; give the check another folder (--out)")
    record_file.write_text(text)
    run_fit(
        FitOptions(
            out=folder,
            targets=record_file,
            priors=priors_file,
            distance="deviance",
            quiet=True,
            resume=resume,
            **fit_options,
        )
    )


def _same_or_refuse(marker: Path, stamp: dict) -> None:
    """A truth fitted before counts only if it was fitted to the same truth, record inputs and budget."""
    done = json.loads(marker.read_text())
    if done != stamp:
        differ = sorted(k for k in stamp if done.get(k) != stamp[k])
        raise UserError(
            f"{marker.parent}: fitted before with another {', '.join(differ)}; give this check another folder (--out)"
        )


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def coverage_table(rows: list[Coverage]) -> pd.DataFrame:
    """The rows as ``sbc.csv`` holds them: a truth, a parameter, its value, interval, whether covered, rank."""
    return pd.DataFrame(
        [
            {
                "truth": r.truth,
                "parameter": r.key,
                "value": r.value,
                "low90": r.low,
                "high90": r.high,
                "covered": r.covered,
                "rank": r.rank,
            }
            for r in rows
        ],
        columns=["truth", "parameter", "value", "low90", "high90", "covered", "rank"],
    )


NARROWED = 0.8  # an interval narrower than this share of the prior's 90% interval: the data told the fit something
BAR = (0.80, 0.97)  # issue 30's bar on the share of 90% intervals holding their truth
MIN_TRUTHS = 10  # fewer truths give no verdict: a handful of intervals can fall either side of any bar


def summarise(table: pd.DataFrame, priors: list[Prior], population: int) -> dict[str, Any]:
    """The check's figures from its table (``run_sbc``): coverage, where it can fail, ranks.

    An interval about as wide as the prior's covers about 90% of truths drawn from the prior whatever the fit
    learned, so coverage over every parameter says little when most are not narrowed (``null_coverage_90``:
    the score of a fit that learned nothing). The check can fail only on the parameters the data narrow
    (median width below ``NARROWED`` of the prior's 90% interval, on the sampling scale): their coverage and
    the ranks of their truths in their posteriors (uniform if calibrated: half of them in the middle half,
    more if the intervals are too wide, fewer if too narrow) are reported apart.
    """
    by_key = {p.key: p for p in priors}
    table = table.copy()
    table["width_over_prior"] = [
        (by_key[k].to_sampling(hi) - by_key[k].to_sampling(lo))
        / (0.9 * (by_key[k].sampling_bounds[1] - by_key[k].sampling_bounds[0]))
        for k, lo, hi in zip(table["parameter"], table["low90"], table["high90"], strict=True)
    ]
    width = table.groupby("parameter", sort=False)["width_over_prior"].median()
    narrowed = [k for k, w in width.items() if w < NARROWED]
    inner = table[table["parameter"].isin(narrowed)].copy()
    inner["middle_half"] = inner["rank"].between(0.25, 0.75)
    return {
        "truths": int(table["truth"].nunique()),
        "parameters": int(table["parameter"].nunique()),
        "intervals": len(table),
        "coverage_90": round(float(table["covered"].mean()), 3),
        # resampling whole truths: a truth's intervals share one record, so they are not independent draws
        "coverage_90_bootstrap95": bootstrap_over_truths(table),
        "null_coverage_90": null_coverage(population, int(table["truth"].nunique()), len(width)),
        "narrowed_below": NARROWED,
        "narrowed_parameters": narrowed,
        "narrowed_intervals": len(inner),
        "narrowed_coverage_90": round(float(inner["covered"].mean()), 3) if len(inner) else None,
        "narrowed_coverage_90_bootstrap95": bootstrap_over_truths(inner) if len(inner) else None,
        # the share of their truths in the middle half of their posteriors: 0.5 if calibrated
        "narrowed_middle_half": round(float(inner["middle_half"].mean()), 3) if len(inner) else None,
        "narrowed_middle_half_bootstrap95": bootstrap_over_truths(inner, "middle_half") if len(inner) else None,
        # where each truth falls in its posterior: uniform on [0, 1] if calibrated; a hump (ranks near 0.5)
        # says too wide, a U too narrow, a slope a bias
        "narrowed_ranks": {
            k: {
                "mean": round(float(g["rank"].mean()), 3),
                "middle_half": round(float(g["middle_half"].mean()), 3),
                "ks_p": round(float(scipy.stats.kstest(g["rank"], "uniform").pvalue), 3),
            }
            for k, g in inner.groupby("parameter", sort=False)
        },
        "coverage_by_truth": table.groupby("truth")["covered"].mean().round(3).tolist(),
        "coverage_by_parameter": table.groupby("parameter", sort=False)["covered"].mean().round(3).to_dict(),
        "width_over_prior_median": round(float(table["width_over_prior"].median()), 3),
        "width_over_prior_by_parameter": width.round(3).to_dict(),
    }


def judge(summary: dict[str, Any]) -> str:
    """The verdict, read on the intervals the data narrowed.

    It starts with "calibrated" (their coverage within ``BAR`` and their truths' ranks not shown to be
    off uniform), "conservative" (coverage within the bar, but the truths sit in the middle half of their
    posteriors more than half the time by a 95% interval resampling truths: too wide), "overconfident" (less
    than half the time: too narrow), "NOT calibrated" (coverage outside the bar), "uninformative" (nothing
    narrowed) or "too few truths" (under ``MIN_TRUTHS``).
    """
    if summary["truths"] < MIN_TRUTHS:
        return f"too few truths: {summary['truths']} (a verdict needs {MIN_TRUTHS} or more)"
    cov = summary["narrowed_coverage_90"]
    if cov is None:
        return "uninformative: no parameter's intervals are narrower than the prior's; coverage says nothing"
    lo, hi = summary["narrowed_middle_half_bootstrap95"]
    if not BAR[0] <= cov <= BAR[1]:
        word = "NOT calibrated"
    elif hi < 0.5:
        word = "overconfident (intervals too narrow)"
    elif lo > 0.5:
        word = "conservative (intervals too wide)"
    else:
        word = "calibrated"
    return (
        f"{word}: {cov:.1%} of the {summary['narrowed_intervals']} intervals of the parameters the data narrow "
        f"({', '.join(summary['narrowed_parameters'])}) hold their truth (bar {BAR[0]:.0%}-{BAR[1]:.0%}), and "
        f"{summary['narrowed_middle_half']:.0%} of their truths lie in the middle half of their posteriors (95% "
        f"interval {lo:.0%}-{hi:.0%}; 50% if calibrated); all {summary['intervals']}: {summary['coverage_90']:.1%}, "
        f"where a fit that learned nothing would score about {summary['null_coverage_90']['mean']:.1%}"
    )


def bootstrap_over_truths(table: pd.DataFrame, column: str = "covered") -> list[float]:
    """A 95% interval of the share of ``column`` true, resampling whole truths (their rows are not independent).

    Every truth has as many rows, so the share is the mean of the truths' shares: their percentile bootstrap.
    """
    _, lo, hi, _ = mean_ci_bootstrap(table.groupby("truth")[column].mean().to_numpy(float))
    return [round(lo, 3), round(hi, 3)]


def null_coverage(population: int, truths: int, parameters: int) -> dict[str, Any]:
    """The coverage of a fit that learned nothing: its posterior ``population`` equal-weight draws from the prior.

    On the sampling scale a prior is uniform, so the draws and the truth are uniform on [0, 1]; read by the
    real intervals' rule (weighted 5% and 95% quantiles), the interval runs from the draws' order statistic
    ``lo`` to ``hi`` (counted from 0) and holds the truth with probability (hi - lo) / (population + 1). Each
    interval has its own draws and truth, so the share of ``truths`` x ``parameters`` is binomial: its mean
    and 95% range.
    """
    w = np.full(population, 1.0 / population)
    place = np.arange(population, dtype=float)
    p = (weighted_quantile(place, w, 0.95) - weighted_quantile(place, w, 0.05)) / (population + 1)
    n = truths * parameters
    return {
        "mean": round(float(p), 3),
        "range95": [round(float(q) / n, 3) for q in scipy.stats.binom.ppf([0.025, 0.975], n, p)],
    }
