"""``escalation compare MULTIRUN_DIR``: gather a sweep's jobs and analyse them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from sim.analysis import effects as analysis
from sim.run.errors import UserError
from sim.run.folder import temp_prefix
from sim.run.output import atomic_write

IGNORED_KEYS = {"experiment", "+experiment", "hydra.launcher.n_jobs"}


def _key(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key.lstrip("+~"), value


def _failure(path: Path) -> str:
    """The first line of a ``FAILED`` file; an empty one was left by a job that could not write (a full disk)."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError as exc:
        return f"FAILED unreadable ({exc.strerror})"
    return lines[0] if lines else "failed, with no message (the job could not write its error: was the disk full?)"


def gather(sweep: Path) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """The tidy results (one row per job x replication), the factor names, and the failed jobs."""
    if not sweep.is_dir():
        raise UserError(f"{sweep}: not a folder")
    jobs = sorted(
        (p for p in sweep.iterdir() if p.is_dir() and (p / ".hydra" / "overrides.yaml").exists()),
        key=lambda p: (len(p.name), p.name),
    )
    if not jobs:
        raise UserError(f"{sweep}: no jobs found (expected numbered job folders with .hydra/overrides.yaml)")
    frames, failed, factor_order = [], [], []
    for job in jobs:
        overrides = dict(_key(o) for o in yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or [])
        overrides = {k: v for k, v in overrides.items() if k not in IGNORED_KEYS and not k.startswith("hydra")}
        for k in overrides:
            if k not in factor_order:
                factor_order.append(k)
        config = " ".join(f"{k}={v}" for k, v in overrides.items()) or "default"  # shortened below
        if (job / "FAILED").exists():
            failed.append({"job": job.name, "config": config, "error": _failure(job / "FAILED")})
            continue
        if not (job / "summary.json").exists() or not (job / "replications.csv").exists():
            failed.append(
                {
                    "job": job.name,
                    "config": config,
                    "error": "incomplete (no summary.json): interrupted? re-run with resume=true",
                }
            )
            continue
        try:
            df = pd.read_csv(job / "replications.csv")
        except (ValueError, OSError) as exc:  # empty, truncated or unreadable
            failed.append(
                {
                    "job": job.name,
                    "config": config,
                    "error": f"replications.csv unreadable ({str(exc).splitlines()[0]})",
                }
            )
            continue
        df.insert(0, "config", config)
        df.insert(0, "job", int(job.name) if job.name.isdigit() else job.name)
        for k, v in overrides.items():
            df[k] = v
        frames.append(df)
    if not frames:
        raise UserError(f"{sweep}: no job finished ({len(failed)} failed or incomplete)")
    results = pd.concat(frames, ignore_index=True)
    factors = [f for f in factor_order if f in results.columns and results[f].nunique() > 1]
    # Label each configuration by the overrides that vary across the sweep.
    label = (
        results[factors].astype(str).apply(lambda r: " ".join(f"{k}={v}" for k, v in r.items()), axis=1)
        if factors
        else "default"
    )
    results["config"] = label
    return results, factors, pd.DataFrame(failed, columns=["job", "config", "error"])


def compare(sweep: Path, out: Path | None = None) -> Path:
    """Write the tidy tables, the analysis, ``comparison.md`` and its figures; return the folder."""
    from sim.report import figures as fig

    results, factors, failed = gather(Path(sweep))
    out = Path(out) if out else Path(sweep) / "comparison"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(
        out / "results.csv", lambda f: results.to_csv(f, index=False, float_format="%.6g", lineterminator="\n")
    )
    tmp = out / f"{temp_prefix('results.parquet')}tmp"
    results.to_parquet(tmp, index=False)
    tmp.replace(out / "results.parquet")
    summary = analysis.summarise(results, factors)
    atomic_write(
        out / "summary.csv", lambda f: summary.to_csv(f, index=False, float_format="%.6g", lineterminator="\n")
    )
    base_of = analysis.baselines(summary, factors)
    diffs = analysis.paired_differences(results, base_of)
    atomic_write(
        out / "paired_differences.csv", lambda f: diffs.to_csv(f, index=False, float_format="%.6g", lineterminator="\n")
    )

    fig.use_style()
    figures = {}
    if not diffs.empty:
        figures["forest"] = fig.save(fig.forest(diffs), out / "forest", ["png", "svg"])[0]
    two_level = [f for f in factors if set(results[f].astype(str)) <= {"on", "off", "true", "false", "True", "False"}]
    main = inter = None
    full_factorial = len(two_level) >= 2 and results[two_level].drop_duplicates().shape[0] == 2 ** len(two_level)
    if full_factorial:  # only a complete, balanced two-level design (not an optimiser's trials)
        main, inter = analysis.factorial_effects(results, two_level)
        atomic_write(
            out / "factorial_effects.csv",
            lambda f: pd.concat([main, inter]).to_csv(f, index=False, float_format="%.6g", lineterminator="\n"),
        )
        figures["interactions"] = fig.save(
            fig.interaction_heatmap(main, inter, two_level), out / "interactions", ["png", "svg"]
        )[0]
    first = summary["config"].iloc[0] if not base_of else next(iter(base_of.values()))
    ns = [n for n in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if n <= summary["n"].max()]
    widths = analysis.interval_width_by_n(results, first, ns)
    if len(widths) >= 2:
        figures["replications"] = fig.save(fig.interval_widths(widths), out / "replications_enough", ["png", "svg"])[0]
    extra = _survival(results, out, figures, first)
    if "sensitivity.row" in results.columns:
        extra += _sensitivity(Path(sweep), results, out, figures)
    if (Path(sweep) / "optimization_results.yaml").exists():
        extra += _pareto(Path(sweep), results)
    _write_markdown(out, Path(sweep), results, summary, diffs, main, inter, failed, figures, first, extra)
    return out


def _survival(results: pd.DataFrame, out: Path, figures: dict, baseline: str | None = None) -> list[str]:
    """Time to escalation (Kaplan-Meier, censored at the horizon) and time back to vigilance, per configuration."""
    from sim.analysis import survival
    from sim.report import figures as fig

    if "days_to_rung_4" not in results.columns or "days_back_censored" not in results.columns:
        return []  # runs from before times to each rung were recorded
    table = survival.survival_table(results, "config")
    back = survival.back_to_vigilance_table(results, "config")
    for name, df in (("survival.csv", table), ("back_to_vigilance.csv", back)):
        flat = survival.flat(df)
        atomic_write(
            out / name, lambda f, flat=flat: flat.to_csv(f, index=False, float_format="%.6g", lineterminator="\n")
        )
    curves = {c: survival.kaplan_meier(survival.time_to_rung(df, 4)) for c, df in results.groupby("config", sort=False)}
    horizon = float(results["horizon_days"].max())
    figures["survival"] = fig.save(
        fig.survival_curves(curves, horizon, 4, baseline=baseline), out / "survival", ["png", "svg"]
    )[0]

    lines = [
        "## Time to escalation",
        "",
        "Kaplan-Meier estimates: a replication that never reached the rung is censored at the horizon "
        f"({horizon:g} days). The hazard is events per month (or year) of time watched, with an exact Poisson "
        "95% interval; it assumes a constant rate over the horizon.",
        "",
        "| configuration | rung | reached (of n) | hazard a month [95% CI] | hazard a year [95% CI] "
        "| median days [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        hm, hy, md = r.hazard_per_month_ci95, r.hazard_per_year_ci95, r.median_days_ci95
        lines.append(
            f"| {r.config} | ≥ {r.rung} | {r.events} of {r.n} | {r.hazard_per_month:.3g} [{hm[0]:.3g}, {hm[1]:.3g}] "
            f"| {r.hazard_per_year:.3g} [{hy[0]:.3g}, {hy[1]:.3g}] | {survival.days_text(r.median_days)} "
            f"[{survival.days_text(md[0])}, {survival.days_text(md[1])}] |"
        )
    lines += [
        "",
        f"![time to rung 4]({figures['survival'].name})",
        "",
        *survival.back_to_vigilance_lines(back, "config", "configuration"),
    ]
    return [*lines, ""]


def _job_config(sweep: Path):
    from omegaconf import OmegaConf

    job = next(p for p in sorted(sweep.iterdir()) if (p / ".hydra" / "config.yaml").exists())
    return OmegaConf.to_container(OmegaConf.load(job / ".hydra" / "config.yaml"), resolve=True)


def _sensitivity(sweep: Path, results: pd.DataFrame, out: Path, figures: dict) -> list[str]:
    from sim.analysis import sensitivity
    from sim.report import figures as fig

    settings = _job_config(sweep)["sensitivity"]
    rows = len(sensitivity.design(settings))
    by_row = results.groupby(results["sensitivity.row"].astype(int))["reached_rung_4"].mean()
    if len(by_row) != rows:
        return [
            "## Sensitivity",
            "",
            f"Only {len(by_row)} of the design's {rows} rows finished: Morris indices need all of them "
            "(re-run the sweep with resume=true).",
            "",
        ]
    indices = sensitivity.morris_indices(settings, by_row.sort_index().to_numpy())
    atomic_write(
        out / "sensitivity.csv", lambda f: indices.to_csv(f, index=False, float_format="%.6g", lineterminator="\n")
    )
    figures["sensitivity"] = fig.save(fig.sensitivity_bars(indices), out / "sensitivity", ["png", "svg"])[0]
    lines = [
        "## Sensitivity (Morris) of P(rung ≥ 4)",
        "",
        f"{settings['trajectories']} trajectories, {rows} design rows; μ* ranks overall influence, σ flags "
        "non-linearity or interactions.",
        "",
        "| parameter | μ* [± 95%] | σ |",
        "|---|---|---|",
    ]
    for r in indices.sort_values("mu_star", ascending=False).itertuples():
        lines.append(f"| {r.parameter} | {r.mu_star:.3f} ± {r.mu_star_conf:.3f} | {r.sigma:.3f} |")
    return [*lines, "", f"![sensitivity]({figures['sensitivity'].name})", ""]


def _pareto(sweep: Path, results: pd.DataFrame) -> list[str]:
    solutions = yaml.safe_load((sweep / "optimization_results.yaml").read_text()).get("solutions", [])
    objective = _job_config(sweep).get("objective") or {}
    threshold = float(objective.get("threshold", 0.05))
    rows = []
    for sol in solutions:
        on = sorted(k.split(".")[1] for k, v in sol["params"].items() if v in (True, "true", "True"))
        rows.append({"cost": sol["values"][0], "p": sol["values"][1], "measures": ", ".join(on) or "none"})
    rows.sort(key=lambda r: (r["cost"], r["p"]))
    lines = [
        "## Cheapest bundle (Optuna, Pareto front of cost against P(rung ≥ 4))",
        "",
        "| cost | P(rung ≥ 4) | measures on |",
        "|---|---|---|",
    ]
    lines += [f"| {r['cost']:g} | {_pct(r['p'])} | {r['measures']} |" for r in rows]
    feasible = [r for r in rows if r["p"] <= threshold]
    lines += [
        "",
        f"**Cheapest bundle with P(rung ≥ 4) ≤ {_pct(threshold)}:** "
        + (
            f"{feasible[0]['measures']} (cost {feasible[0]['cost']:g}, P = {_pct(feasible[0]['p'])})"
            if feasible
            else "none found"
        ),
        "",
        "P is estimated from each trial's replications; check the chosen bundle with more replications.",
        "",
    ]
    return lines


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _write_markdown(out, sweep, results, summary, diffs, main, inter, failed, figures, base_config, extra=()) -> None:
    lines = [
        f"# Comparison of `{sweep}`",
        "",
        f"{summary.shape[0]} configurations, {len(results)} replications. Every configuration used the same "
        "replication seeds, so differences are paired (common random numbers).",
        "",
    ]
    if not failed.empty:
        lines += [f"**{len(failed)} job(s) failed or are incomplete** (their results are not included):", ""]
        lines += [f"- job {r.job} ({r.config}): {r.error}" for r in failed.itertuples()] + [""]
    lines += [
        "## Configurations",
        "",
        "| configuration | n | P(rung ≥ 4) [95% CI] | P(rung ≥ 5) [95% CI] "
        "| mean peak rung [95% CI] | crisis days [95% CI] |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.config} | {r.n} | {_pct(r.p_rung_ge_4)} [{_pct(r.p_rung_ge_4_lo)}, {_pct(r.p_rung_ge_4_hi)}] | "
            f"{_pct(r.p_rung_ge_5)} [{_pct(r.p_rung_ge_5_lo)}, {_pct(r.p_rung_ge_5_hi)}] | "
            f"{r.mean_peak_rung:.2f} [{r.mean_peak_rung_lo:.2f}, {r.mean_peak_rung_hi:.2f}] | "
            f"{r.mean_crisis_days:.2f} [{r.mean_crisis_days_lo:.2f}, {r.mean_crisis_days_hi:.2f}] |"
        )
    if not diffs.empty:
        placebo = next((r for r in diffs.itertuples() if "desync_placebo" in str(r.config)), None)
        lines += [
            "",
            "## Effects against the baseline (paired)",
            "",
            "Difference in P(rung ≥ 4) and in mean peak rung, configuration minus its baseline (the same "
            "setting with no measure), with 95% intervals (for P, Newcombe's hybrid score interval for paired "
            "data: it keeps each arm's own uncertainty when neither has an event; for the peak rung, Student t on "
            "the paired differences); *backfire* is the share of paired replications in "
            "which the configuration's peak rung was higher than the baseline's, with its 95% (Wilson) interval. "
            "Read it against the desync placebo's, a control that only moves the random streams on and so "
            "changes nothing in distribution: its share is what chance alone gives when paired runs part ways "
            "(as they do under any measure that changes activity): "
            + (
                f"here {_pct(placebo.backfire)} [{_pct(placebo.backfire_lo)}, {_pct(placebo.backfire_hi)}]. "
                if placebo is not None
                else "add `desync_placebo` to the sweep to show it (`measures=none,desync_placebo,...`). "
            )
            + "A backfire share whose interval lies above the placebo's is the measure's own; one within it is not "
            "told apart from chance.",
            "",
            "| configuration | baseline | Δ P(rung ≥ 4) [95% CI] | Δ peak rung [95% CI] "
            "| backfire [95% CI] | against the placebo's | improved |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in diffs.itertuples():
            if placebo is None:
                reading = "no placebo in the sweep"
            elif r.config == placebo.config:
                reading = "(the floor)"
            else:
                floor = (placebo.backfire_lo, placebo.backfire_hi)
                reading = analysis.backfire_reading(r.backfire_lo, r.backfire_hi, *floor)
            lines.append(
                f"| {r.config} | {r.baseline} | {100 * r.diff_reached_rung_4:+.1f} pts "
                f"[{100 * r.diff_reached_rung_4_lo:+.1f}, {100 * r.diff_reached_rung_4_hi:+.1f}] | "
                f"{r.diff_peak_rung:+.2f} [{r.diff_peak_rung_lo:+.2f}, {r.diff_peak_rung_hi:+.2f}] | "
                f"{_pct(r.backfire)} [{_pct(r.backfire_lo)}, {_pct(r.backfire_hi)}] | {reading} | {_pct(r.improved)} |"
            )
        sentences = [t for r in diffs.itertuples() if (t := analysis.not_estimable(r)) is not None]
        if sentences:
            lines += ["", *(f"- {t}" for t in sentences)]
        if "forest" in figures:
            lines += ["", f"![forest plot]({figures['forest'].name})"]
    if main is not None:
        lines += [
            "",
            "## Factorial: main effects and two-way interactions on P(rung ≥ 4)",
            "",
            "An effect is the average change in P(rung ≥ 4) when a factor is switched on (OLS on ±1 coding, "
            "a linear probability model); an interaction is how much one factor's effect changes when the other is on.",
            "",
            "| term | effect [95% CI] |",
            "|---|---|",
        ]
        for r in pd.concat([main, inter]).itertuples():
            lines.append(f"| {r.term} | {100 * r.effect:+.1f} pts [{100 * r.ci_lo:+.1f}, {100 * r.ci_hi:+.1f}] |")
        lines += ["", f"![interactions]({figures['interactions'].name})"]
    if "replications" in figures:
        lines += [
            "",
            "## How many replications are enough?",
            "",
            f"Width of the 95% interval of each headline outcome for `{base_config}` using its first n replications.",
            "",
            f"![interval width against replications]({figures['replications'].name})",
        ]
    lines += ["", *extra]
    lines += [
        "",
        "Tables: `results.parquet` / `results.csv` (one row per job × replication, every override a column), "
        "`summary.csv`, `paired_differences.csv`" + (", `factorial_effects.csv`" if main is not None else "") + ".",
    ]
    (out / "comparison.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "failed_jobs.json").write_text(json.dumps(failed.to_dict("records"), indent=2) + "\n")
