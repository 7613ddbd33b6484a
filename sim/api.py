"""The simulator from Python (a notebook, a script): one call runs a configuration, one object holds it all.

    from sim.api import run, compare

    base = run(scenario="black_sea_transit", replications=200, seed=7)
    eln = run(scenario="black_sea_transit", measures="eln_seven", replications=200, seed=7)
    eln.summary                 # headline outcomes with 95% intervals (as summary.json)
    eln.outcomes                # one row per replication (as replications.csv)
    eln.changes                 # the state at each change (as timeseries.parquet)
    eln.hourly()                # the state at each whole hour
    eln.events                  # the narrative log (as events.jsonl)
    eln.plot()                  # the escalation curve (matplotlib Axes)
    eln.survival(4)             # Kaplan-Meier curve of time to rung 4, censored at the horizon
    eln.survival_table()        # hazards a month and a year, censored medians, per rung
    print(eln)                  # the verdict
    compare(eln, base)          # paired differences on the same seeds, with 95% intervals
    eln.save("out/eln")         # the files `escalation run` writes

Settings are the command line's: ``scenario``, ``measures`` (a bundle), ``era``, ``replications``,
``seed``, ``workers``, and ``overrides`` for anything else (``["measures.hotline.enabled=true",
"model.encounter_rate_per_h=0.1"]``), checked the same way (a misspelt name is a ``UserError``
naming the nearest valid ones). The same settings and seed give the same numbers as
``escalation run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.run.errors import UserError
from sim.run.runner import Ensemble, run_replications


@dataclass
class Result:
    """A configuration's replications: summary, tables, log and figures."""

    settings: dict[str, Any]
    overrides: list[str]
    ensemble: Ensemble

    @property
    def summary(self) -> dict[str, Any]:
        """Headline outcomes with 95% intervals (Wilson for probabilities, Student t or bootstrap for means)."""
        return self.ensemble.summary()

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per replication: peak rung, crisis days, incidents, calls, casualties, ..."""
        return self.ensemble.outcomes()

    @property
    def changes(self) -> pd.DataFrame:
        """The state (rung, tension, trust per side) at each change, one row per replication and change point."""
        return self.ensemble.changes()

    def hourly(self) -> pd.DataFrame:
        """The state at each whole hour, resampled from the change points."""
        return self.ensemble.timeseries()

    @property
    def events(self) -> pd.DataFrame:
        """The narrative log: one row per event, with its replication."""
        rows = [{"replication": r.index, **e} for r in self.ensemble.replications for e in r.events]
        return pd.DataFrame(rows)

    def p_rung(self, rung: int = 4) -> tuple[float, float, float]:
        """P(peak rung >= ``rung``) with its 95% Wilson interval."""
        from sim.analysis.stats import wilson

        peaks = self.outcomes["peak_rung"]
        return wilson(int((peaks >= rung).sum()), len(peaks))

    def survival(self, rung: int = 4):
        """Kaplan-Meier curve of P(not yet at ``rung``) over days, censored at the horizon (``survival.Curve``)."""
        from sim.analysis.survival import kaplan_meier, time_to_rung

        return kaplan_meier(time_to_rung(self.outcomes, rung))

    def survival_table(self, rungs: tuple[int, ...] = (3, 4, 5)) -> pd.DataFrame:
        """Per rung: events, hazards a month and a year with intervals, censored median time (``analysis.survival``)."""
        from sim.analysis.survival import survival_table

        return survival_table(self.outcomes.assign(config=self.settings["scenario"]), "config", rungs)

    def plot(self, ax=None, title: str | None = None):
        """The escalation curve: median rung over time with 50% and 90% bands across replications."""
        from sim.report import figures

        figures.use_style()
        label = ", ".join(self.ensemble.measures) or "no measures"
        return figures.escalation_curve(
            self.ensemble.rung_matrix(),
            title=title or f"{self.ensemble.scenario} | {label} | n={self.ensemble.n}",
            ax=ax,
        )

    def save(self, folder: str | Path, hourly_csv: bool = False) -> Path:
        """Write the files ``escalation run`` writes (tables, log, summary) into ``folder``."""
        from sim.run.output import write_ensemble, write_summary

        out = Path(folder)
        write_ensemble(self.ensemble, out, hourly_csv=hourly_csv)
        summary = self.summary | {"overrides": self.overrides}
        write_summary(summary, out / "summary.json")
        return out

    def __str__(self) -> str:
        from sim.analysis.verdict import format_verdict

        return format_verdict(self.summary)

    def _repr_markdown_(self) -> str:  # a notebook shows the verdict
        return "```\n" + str(self) + "\n```"


def run(
    scenario: str | None = None,
    measures: str | None = None,
    era: str | None = None,
    replications: int = 100,
    seed: int = 0,
    workers: int = 0,
    overrides: Sequence[str] = (),
    events: bool = True,
    parameters: str = "point",
) -> Result:
    """Run one configuration (as ``escalation run`` would, without writing files) and return its result.

    Args:
        scenario: a library scenario (default: the config's, ``baltic_air_policing``).
        measures: a measure bundle of ``conf/measures/`` (default ``none``).
        era: an era preset of ``conf/era/`` (default: the scenario's own).
        replications: how many seeded replications.
        seed: the root seed; replication ``i`` is child ``i`` of ``SeedSequence(seed)``.
        workers: processes (0: one per core for large runs, as the command line chooses).
        overrides: any other Hydra overrides (``measures.hotline.enabled=true``, ``model.X=...``).
        events: keep the narrative log (off is faster).
        parameters: ``point`` (the calibrated point estimate) or ``posterior`` (each replication draws
            the fitted parameters from ``calibration/posterior.csv``: intervals include the fit's
            uncertainty; two runs on the same seed take the same draws).
    """
    from sim.calibration.targets import parameter_source
    from sim.run.config import check_ranges, load_configured_scenario, measure_settings, model_params
    from sim.run.runner import default_workers

    given = [
        *([f"scenario={scenario}"] if scenario else []),
        *([f"measures={measures}"] if measures else []),
        *([f"era={era}"] if era else []),
        f"replications={replications}",
        f"seed={seed}",
        f"parameters={parameters}",
        *overrides,
    ]
    cfg = _compose(given)
    check_ranges(cfg)
    spec = load_configured_scenario(cfg)
    n = int(cfg.replications)
    ensemble = run_replications(
        spec,
        parameter_source(cfg, model_params(cfg)),
        measure_settings(cfg),
        n=n,
        seed=int(cfg.seed),
        workers=workers or default_workers(n),
        record_events=events,
        record_timeseries=True,
    )
    settings = {"scenario": spec.name, "measures": ensemble.measures, "era": cfg.get("era"), "replications": n}
    settings["seed"] = int(cfg.seed)
    settings["parameters"] = str(cfg.parameters)
    return Result(settings, given, ensemble)


def compare(result: Result, baseline: Result) -> pd.DataFrame:
    """``result`` minus ``baseline`` paired by replication (run them with the same seed: common random numbers).

    One row: the differences in P(rung >= 4), P(rung >= 5), mean peak rung and crisis days with 95%
    intervals, the backfire share (pairs whose peak is higher) with its Wilson interval, and the
    share of pairs improved.
    """
    from sim.analysis.effects import paired_differences

    if result.ensemble.seed != baseline.ensemble.seed:
        raise UserError("compare: run both with the same seed (the pairs are replications with the same seed)")
    table = pd.concat(
        [result.outcomes.assign(config="result"), baseline.outcomes.assign(config="baseline")], ignore_index=True
    )
    return paired_differences(table, {"result": "baseline"})


def _compose(overrides: list[str]):
    """The config as ``escalation run OVERRIDES`` composes it; a bad override is a one-line ``UserError``."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.run.config import describe_hydra_error, register_configs
    from sim.run.paths import CONF_DIR

    register_configs()
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise UserError(describe_hydra_error(exc)) from None


def report_card(
    bundles: Sequence[str] = ("eln_seven", "eln_riac_basic", "eln_riac_enhanced"),
    scenarios: Sequence[str] = ("baltic_air_policing", "black_sea_transit"),
    eras: Sequence[str] = ("cooperative_2004", "confrontation_2014", "crisis_2022"),
    replications: int = 200,
    seed: int = 0,
    parameters: str = "posterior",
    workers: int = 1,
    days: float | None = None,
) -> dict[str, pd.DataFrame]:
    """The measure report card's tables (``escalation card``): effects, by era, ranks, regret.

    ``days``: the horizon, if not each scenario's own.
    """
    from sim.studies.card import card_tables, run_card

    return card_tables(
        run_card(list(bundles), list(scenarios), list(eras), replications, seed, parameters, workers, days=days)
    )


def discover(
    samples: int = 400,
    replications: int = 5,
    scenarios: Sequence[str] = ("baltic_air_policing", "black_sea_transit"),
    eras: Sequence[str] = ("cooperative_2004", "confrontation_2014", "crisis_2022"),
    rung: int = 4,
    threshold: float = 0.2,
    days: float | None = None,
    seed: int = 0,
):
    """Scenario discovery (``escalation discover``): the PRIM box, the CART rules and the design's results.

    Raises ``UserError`` below ``sim.studies.discovery.MIN_LIKELY_POINTS`` likely design points (no box is drawn).
    """
    from sim.calibration.targets import load_priors
    from sim.studies import discovery

    priors = load_priors()
    design = discovery.latin_hypercube(priors, samples, seed)
    results = discovery.run_design(design, list(scenarios), list(eras), replications, seed, days=days)
    refusal = discovery.too_few_likely(results, threshold, rung)
    if refusal:
        from sim.run.errors import UserError

        raise UserError(refusal.removesuffix("; nothing was written"))
    box, rules = discovery.discover(results, [p.key for p in priors] + ["scenario", "era"], threshold, seed, rung)
    return box, rules, results


def variance(
    bundles: Sequence[str] = ("none", "eln_seven", "eln_riac_basic", "eln_riac_enhanced"),
    scenario: str = "baltic_air_policing",
    era: str | None = None,
    samples: int = 512,
    days: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Where the uncertainty comes from (``escalation variance``): Sobol S1 and ST per outcome and group.

    ``samples`` is the Saltelli design's base sample count (a power of two); ``days`` the horizon, if
    not the scenario's own.
    """
    from sim.calibration.targets import read_posterior
    from sim.studies import variance as v

    design = v.make_design(read_posterior(), list(bundles), samples, seed)
    return v.decompose(design, v.run_design(design, scenario, era, days=days), seed)


def study(
    out: str | Path = "outputs/study",
    card: str = "report_card",
    discovery: str = "discovery",
    variance: str = "variance",
    scale: float = 1.0,
    seed: int | None = None,
) -> Path:
    """One study (``escalation study``): the card with survival curves, discovery and variance; returns ``study.md``.

    ``card``, ``discovery`` and ``variance`` name experiments of ``conf/analysis/``; ``scale``
    multiplies each part's budget. Raises ``UserError`` for a bad name or a part that fails.
    """
    from sim.studies.study import study_command

    args = ["--card", card, "--discovery", discovery, "--variance", variance, "--scale", str(scale), "--out", str(out)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if study_command(args):
        raise UserError("escalation study failed (the reason is above)")
    return Path(out) / "study.md"


__all__ = ["Result", "compare", "discover", "report_card", "run", "study", "variance"]
