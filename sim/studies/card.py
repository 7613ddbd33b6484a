"""The measure report card: what each bundle does, across scenarios and eras, with every uncertainty.

Every bundle runs the same replications as the baseline (no measures): replication *i* of a setting
(scenario x era) has the same seed in every bundle and, with ``parameters=posterior``, the same draw
of the fitted parameters. So each replication gives a *paired* difference, and the spread of those
differences holds both the model's stochastic noise and what the record leaves uncertain about the
parameters. From the pairs:

- first, the effect in each setting (scenario x era), with Newcombe's paired interval for a probability
  and a bootstrap for crisis days;
- the effect on P(rung >= 4), P(rung >= 5) and crisis days pooled over the settings with stated weights
  (equal unless ``--weights``), with a 95% bootstrap interval over replications (resampled within each
  setting); for a probability, widened to Newcombe's paired interval of the weighted pooled table wherever
  that is wider (the bootstrap collapses to [0, 0] when neither arm has an event: no effect known precisely,
  which the runs do not say);
- with ``--structural T``, each pooled effect's range over a Morris screen of the unfitted assumptions;
- the backfire share (pairs whose peak rung is higher) read against the desync placebo's interval (a control
  that only moves the random streams on: the share chance alone gives);
- the probability that the bundle helps in each era: the share of bootstrap resamples in which it
  lowers P(rung >= 4);
- the rank of each bundle by P(rung >= 4) with its probability of being best, over the same
  resamples;
- regret: in each setting, how much higher a bundle's P(rung >= 4) is than the best bundle's there;
  its maximum over settings is the robust-decision criterion (minimax regret);
- time to escalation: Kaplan-Meier curves of the days to rung 4 per bundle and era (censored at the
  horizon), the hazard a year with its exact Poisson interval, and the censored median time back to
  vigilance after a crisis (``sim.analysis.survival``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.effects import backfire_reading
from sim.analysis.stats import newcombe_paired, paired_proportion_difference, wilson

BASELINE = "none"
PLACEBO = "desync_placebo"  # the control every card runs: the floor of the backfire shares
OUTCOME_COLUMNS = ["replication", "peak_rung", "reached_rung_4", "reached_rung_5", "crisis_days"]
SURVIVAL_COLUMNS = [
    "days_to_rung_3",
    "days_to_rung_4",
    "days_to_rung_5",
    "horizon_days",
    "days_back_to_vigilance",
    "days_back_censored",
]


@dataclass
class CardRun:
    """The replications of every bundle in every setting (one row per bundle x setting x replication)."""

    outcomes: pd.DataFrame
    bundles: list[str]
    settings: list[tuple[str, str]]  # (scenario, era)
    parameters: str
    replications: int
    seed: int
    days: float | None = None  # the horizon, if not each scenario's own
    weights: dict[tuple[str, str], float] | None = None  # each setting's weight in a pooled figure (None: equal)
    screen: pd.DataFrame | None = None  # the structural screen (structural_screen), if run

    def setting_weights(self) -> np.ndarray:
        """The settings' weights in pooled figures, summing to 1 (equal unless set with ``--weights``)."""
        w = np.array([(self.weights or {}).get(s, 1.0) for s in self.settings], float)
        return w / w.sum()

    @property
    def equal_weights(self) -> bool:  # noqa: D102
        w = self.setting_weights()
        return bool(np.allclose(w, w[0]))


def card_names(bundles: list[str]) -> list[str]:
    """The bundles a card runs: the baseline and the placebo first, then the others once each."""
    return [BASELINE, PLACEBO, *dict.fromkeys(b for b in bundles if b not in (BASELINE, PLACEBO))]


def run_card(
    bundles: list[str],
    scenarios: list[str],
    eras: list[str],
    replications: int,
    seed: int,
    parameters: str = "posterior",
    workers: int = 1,
    progress=None,
    runner=None,
    days: float | None = None,
    overrides: list[str] | None = None,
    weights: dict[tuple[str, str], float] | None = None,
) -> CardRun:
    """Run every bundle (and the baseline and the placebo) in every scenario x era on the same seeds.

    ``runner(scenario, params, measures, n, seed)`` runs one bundle in one setting and returns its
    ``Ensemble``; by default ``run_replications`` on ``workers`` processes (the web app passes its
    own, which takes fair turns with other participants and stops when cancelled). ``days``: the
    horizon, if not each scenario's own (a year lets the rare use of force show). ``overrides``: Hydra
    overrides for every run (the structural screen's ``model.X=v``). Every setting is checked (its era and
    horizon within the scenario's ``valid_for``) before any run: a setting outside is refused at once.
    """
    from sim.calibration.targets import compose, parameter_source
    from sim.run.config import load_configured_scenario, measure_settings, model_params
    from sim.run.runner import run_replications
    from sim.run.scenario_io import with_horizon

    if runner is None:

        def runner(scenario, params, measures, n, seed):
            return run_replications(
                scenario,
                params,
                measures,
                n=n,
                seed=seed,
                workers=workers,
                record_events=False,
                record_timeseries=False,
            )

    names = card_names(bundles)
    extra = list(overrides or [])
    for scenario in scenarios:  # refuse a setting the scenario is not written for, before any run
        for era in eras:
            spec = load_configured_scenario(compose([f"scenario={scenario}", f"era={era}"]))
            if days is not None:
                with_horizon(spec, days)
    frames = []
    for scenario in scenarios:
        for era in eras:
            for bundle in names:
                cfg = compose(
                    [
                        f"scenario={scenario}",
                        f"era={era}",
                        f"measures={bundle}",
                        f"seed={seed}",
                        f"parameters={parameters}",
                        *extra,
                    ]
                )
                params = parameter_source(cfg, model_params(cfg))
                spec = load_configured_scenario(cfg)
                if days is not None:
                    spec = with_horizon(spec, days)
                ens = runner(spec, params, measure_settings(cfg), replications, seed)
                df = ens.outcomes()[OUTCOME_COLUMNS + SURVIVAL_COLUMNS]
                frames.append(df.assign(bundle=bundle, scenario=scenario, era=era))
                if progress:
                    progress(1)
    return CardRun(
        pd.concat(frames, ignore_index=True),
        names,
        [(s, e) for s in scenarios for e in eras],
        parameters,
        replications,
        seed,
        days,
        weights,
    )


OUTCOMES = {"reached_rung_4": "P(rung ≥ 4)", "reached_rung_5": "P(rung ≥ 5)", "crisis_days": "crisis days"}


def _pairs(run: CardRun) -> dict[tuple[str, str, str], pd.DataFrame]:
    """Per (bundle, scenario, era): the bundle's replications joined to the baseline's (suffix _0)."""
    o = run.outcomes
    out = {}
    for (scenario, era), g in o.groupby(["scenario", "era"], sort=False):
        base = g[g.bundle == BASELINE]
        for bundle, b in g.groupby("bundle", sort=False):
            out[bundle, scenario, era] = b.merge(base, on="replication", suffixes=("", "_0")).set_index("replication")
    return out


def _effective_cells(pairs, bundle: str, col: str, settings, w: np.ndarray) -> np.ndarray:
    """The paired 2x2 table (both, bundle only, baseline only, neither) of a weighted pooling of the settings.

    Each setting's cell shares are averaged with the weights, on an effective number of pairs
    1 / sum(w_s^2 / n_s) (the n whose binomial variance the weighted mean of proportions has). With equal
    weights and equal n this is the pooled table itself; it moves continuously with the weights, and a
    setting of weight near 1 brings the table near that setting's own. Never [0, 0], as Newcombe's is not.
    """
    shares, inverse_n = np.zeros(4), 0.0
    for ws, (scenario, era) in zip(w, settings, strict=True):
        if ws <= 0:
            continue
        on = pairs[bundle, scenario, era][col].to_numpy(bool)
        off = pairs[bundle, scenario, era][col + "_0"].to_numpy(bool)
        n = len(on)
        a, b, c = (on & off).sum(), (on & ~off).sum(), (~on & off).sum()
        shares += ws * np.array([a, b, c, n - a - b - c], float) / n
        inverse_n += ws * ws / n
    return shares / inverse_n


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """Replication indices of ``resamples`` bootstrap resamples (the same in every bundle: paired)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xCA4D,))).integers(0, n, size=(resamples, n))


def card_tables(run: CardRun, resamples: int = 2000) -> dict[str, pd.DataFrame]:
    """The report card's tables.

    ``effects``, ``by_era``, ``ranks``, ``regret``, ``p_by_setting``, and (where the runs recorded
    the times) ``survival`` and ``back_to_vigilance``.
    """
    pairs = _pairs(run)
    n = run.replications
    idx = bootstrap_indices(n, resamples, run.seed)
    settings = run.settings
    bundles = [b for b in run.bundles if b != BASELINE]

    # Effects pooled over settings (equal weight per setting), with bootstrap intervals.
    rows = []
    boot_p4: dict[str, np.ndarray] = {}  # bundle -> resamples x settings of P(rung >= 4)
    for bundle in run.bundles:
        boot_p4[bundle] = np.stack(
            [pairs[bundle, s, e]["reached_rung_4"].to_numpy(float)[idx].mean(axis=1) for s, e in settings], axis=1
        )
    w = run.setting_weights()
    setting_rows = []
    for bundle in bundles:
        row: dict = {"bundle": bundle}
        for col, label in OUTCOMES.items():
            diffs = np.stack(
                [(pairs[bundle, s, e][col] - pairs[bundle, s, e][col + "_0"]).to_numpy(float) for s, e in settings],
                axis=1,
            )  # replications x settings
            point = float(diffs.mean(axis=0) @ w)
            per_setting = diffs[idx].mean(axis=1)  # resamples x settings
            boot = per_setting @ w
            lo, hi = float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))
            for k, (sc, era) in enumerate(settings):
                cell = {"bundle": bundle, "scenario": sc, "era": era, "outcome": label, "weight": float(w[k])}
                cell["effect"] = float(diffs[:, k].mean())
                cell["lo"], cell["hi"] = (float(np.quantile(per_setting[:, k], q)) for q in (0.025, 0.975))
                if col == "crisis_days":  # replications with any crisis, in each arm (none in either: no estimate)
                    cell["events"] = int((pairs[bundle, sc, era][col] > 0).sum())
                    cell["baseline events"] = int((pairs[bundle, sc, era][col + "_0"] > 0).sum())
                else:  # a proportion: Newcombe's paired interval in the setting
                    on_k = pairs[bundle, sc, era][col].to_numpy(bool)
                    off_k = pairs[bundle, sc, era][col + "_0"].to_numpy(bool)
                    _, cell["lo"], cell["hi"] = paired_proportion_difference(on_k, off_k)
                    cell["events"], cell["baseline events"] = int(on_k.sum()), int(off_k.sum())
                setting_rows.append(cell)
            if col != "crisis_days":  # a proportion: never narrower than the settings' Newcombe intervals
                on = np.concatenate([pairs[bundle, s, e][col].to_numpy(bool) for s, e in settings])
                off = np.concatenate([pairs[bundle, s, e][col + "_0"].to_numpy(bool) for s, e in settings])
                _, nlo, nhi = newcombe_paired(*_effective_cells(pairs, bundle, col, settings, w))
                lo, hi = min(lo, nlo), max(hi, nhi)
                row |= {f"events {label}": int(on.sum()), f"baseline events {label}": int(off.sum())}
                row |= {f"upper {label}": wilson(int(on.sum()), len(on))[2]}
                row |= {f"baseline upper {label}": wilson(int(off.sum()), len(off))[2]}
            if col == "crisis_days":  # replications with any crisis in either arm (none: nothing to estimate)
                row["crises"] = int(
                    sum((pairs[bundle, s, e][[col, col + "_0"]] > 0).to_numpy().sum() for s, e in settings)
                )
            row |= {f"effect {label}": point, f"effect {label} lo": lo, f"effect {label} hi": hi}
        worse = sum(
            int((pairs[bundle, s, e]["peak_rung"] > pairs[bundle, s, e]["peak_rung_0"]).sum()) for s, e in settings
        )
        total = n * len(settings)
        row["backfire"], row["backfire lo"], row["backfire hi"] = wilson(worse, total)
        rows.append(row)
    effects = pd.DataFrame(rows)

    # The probability that a bundle helps, era by era: the era's scenarios pooled with their weights.
    eras = list(dict.fromkeys(e for _, e in settings))
    era_rows = []
    for bundle in bundles:
        row = {"bundle": bundle}
        for era in eras:
            cols = [k for k, (_, e) in enumerate(settings) if e == era]
            we = w[cols]
            if we.sum() <= 0:  # every scenario of the era left out by --weights
                row[era], row[era + " higher"] = math.nan, math.nan
                continue
            we = we / we.sum()
            d = boot_p4[bundle][:, cols] @ we - boot_p4[BASELINE][:, cols] @ we
            row[era] = float((d < 0).mean())
            row[era + " higher"] = float((d > 0).mean())
        era_rows.append(row)
    by_era = pd.DataFrame(era_rows)

    # Ranks by pooled P(rung >= 4) over the same resamples; ties share the best rank.
    pooled = np.stack([boot_p4[b] @ w for b in run.bundles], axis=1)  # resamples x bundles
    from scipy.stats import rankdata

    ranks = rankdata(pooled, method="min", axis=1)
    best = pooled == pooled.min(axis=1, keepdims=True)
    rank_rows = []
    for j, bundle in enumerate(run.bundles):
        rank_rows.append(
            {
                "bundle": bundle,
                "P(rung ≥ 4)": float(np.array([pairs[bundle, s, e]["reached_rung_4"].mean() for s, e in settings]) @ w),
                "mean rank": float(ranks[:, j].mean()),
                "P(best)": float((best[:, j] / best.sum(axis=1)).mean()),
            }
        )
    ranks_df = pd.DataFrame(rank_rows).sort_values("mean rank").reset_index(drop=True)

    # Regret across settings (robust decision making): P(rung >= 4) above the best bundle's in that setting.
    p = pd.DataFrame(
        {b: [pairs[b, s, e]["reached_rung_4"].mean() for s, e in settings] for b in run.bundles},
        index=[f"{s} / {e}" for s, e in settings],
    )
    regret = p.sub(p.min(axis=1), axis=0)
    regret_df = (
        pd.DataFrame(
            {
                "bundle": run.bundles,
                "max regret": [float(regret[b].max()) for b in run.bundles],
                "worst setting": [str(regret[b].idxmax()) for b in run.bundles],
                "mean regret": [float(regret[b].mean()) for b in run.bundles],
            }
        )
        .sort_values(["max regret", "mean regret"])
        .reset_index(drop=True)
    )
    tables = {
        "effects": effects,
        "by_setting": pd.DataFrame(setting_rows),
        "by_era": by_era,
        "ranks": ranks_df,
        "regret": regret_df,
        "p_by_setting": p,
    }
    if run.screen is not None:
        tables["structural"] = structural_table(run.screen, bundles)
    if set(SURVIVAL_COLUMNS) <= set(run.outcomes.columns):
        tables |= survival_tables(run)
    return tables


# The structural screen: assumptions of the crisis dynamics that the calibration does not fit (none is in
# calibration/priors*.yaml), each over a plausible span around its default (docs/parameters.md gives its basis).
STRUCTURAL: dict[str, tuple[float, float]] = {
    "model.w_hostility": (2.0, 4.0),  # how much perceived hostility weighs in a command's reply (default 3)
    "model.perception_noise_sd": (0.075, 0.3),  # the error in reading an act's severity (0.15)
    "model.statement_weight": (1.0, 3.0),  # what a stated intent moves the belief (2): the channels' lever
    "model.bluff_propensity": (0.3, 0.9),  # how often a deliberate act's author denies it when called (0.6)
    "model.deliberate_gain": (0.3, 0.9),  # how much conduct is deliberate coercion (0.6): what rules cannot cut
    "model.posture_w_brink": (0.5, 2.0),  # caution near the brink, per rung above a show of force (1)
    "model.rung_hold_h": (18.0, 54.0),  # how long a side holds a rung without a new act (36 h)
}
STRUCTURAL_LEVELS = 4


def pooled_point_effects(run: CardRun) -> dict[str, float]:
    """Each bundle's pooled paired effect on P(rung >= 4) (points as a fraction) and on crisis days: no intervals."""
    pairs, w = _pairs(run), run.setting_weights()
    out = {}
    for bundle in run.bundles:
        if bundle == BASELINE:
            continue
        for col in ("reached_rung_4", "crisis_days"):
            per = [float((pairs[bundle, s, e][col] - pairs[bundle, s, e][col + "_0"]).mean()) for s, e in run.settings]
            out[f"{bundle}|{col}"] = float(np.array(per) @ w)
    return out


def structural_screen(
    bundles: list[str],
    scenarios: list[str],
    eras: list[str],
    trajectories: int,
    replications: int,
    seed: int,
    parameters: str = "posterior",
    **card,
) -> pd.DataFrame:
    """A Morris screen (SALib) of the pooled paired effects over the unfitted assumptions (``STRUCTURAL``).

    ``trajectories`` x (k + 1) design points; at each, every bundle and the baseline run ``replications``
    paired replications in every setting with those assumptions set (the same seeds everywhere, so the
    points differ by the assumptions, not the draws). ``card``: the rest of ``run_card``'s arguments
    (``workers``, ``progress``, ``runner``, ``days``, ``weights``), the same at every point. One row per
    point: its values and each bundle's pooled effects (``bundle|reached_rung_4``, ``bundle|crisis_days``).
    """
    from sim.analysis.sensitivity import design

    settings = {"parameters": STRUCTURAL, "trajectories": trajectories, "levels": STRUCTURAL_LEVELS, "seed": seed}
    rows = []
    for i, x in enumerate(design(settings)):
        values = dict(zip(STRUCTURAL, map(float, x), strict=True))
        overrides = [f"{k}={v!r}" for k, v in values.items()]
        run = run_card(bundles, scenarios, eras, replications, seed, parameters, overrides=overrides, **card)
        rows.append({"point": i, **values, **pooled_point_effects(run)})
    return pd.DataFrame(rows).assign(trajectories=trajectories, replications=replications, design_seed=seed)


def structural_table(screen: pd.DataFrame, bundles: list[str]) -> pd.DataFrame:
    """Per bundle and outcome: the effect's range over the screen and the assumption with the largest Morris mu*."""
    from sim.analysis.sensitivity import morris_indices

    trajectories, seed = int(screen["trajectories"].iloc[0]), int(screen["design_seed"].iloc[0])
    settings = {"parameters": STRUCTURAL, "trajectories": trajectories, "levels": STRUCTURAL_LEVELS, "seed": seed}
    rows = []
    for bundle in bundles:
        for col in ("reached_rung_4", "crisis_days"):
            y = screen[f"{bundle}|{col}"].to_numpy(float)
            row = {"bundle": bundle, "outcome": OUTCOMES[col], "low": float(y.min()), "high": float(y.max())}
            if np.ptp(y) > 0:
                import warnings

                with warnings.catch_warnings():  # one trajectory: SALib's confidence of mu* has no spread to use
                    warnings.simplefilter("ignore", RuntimeWarning)
                    idx = morris_indices(settings, y)
                top = idx.sort_values("mu_star", ascending=False).iloc[0]
                row |= {"most influential": str(top["parameter"]), "mu_star": float(top["mu_star"])}
            rows.append(row)
    return pd.DataFrame(rows)


def survival_tables(run: CardRun) -> dict[str, pd.DataFrame]:
    """Time to rungs 3, 4 and 5 per bundle and era (pooled over scenarios), and the time back to vigilance."""
    from sim.analysis import survival

    o = run.outcomes
    by_era = [
        survival.survival_table(g, "bundle", rungs=(3, 4, 5)).assign(era=era) for era, g in o.groupby("era", sort=False)
    ]
    table = pd.concat(by_era, ignore_index=True)
    table = table[["bundle", "era", *[c for c in table.columns if c not in ("bundle", "era")]]]
    return {"survival": table, "back_to_vigilance": survival.back_to_vigilance_table(o, "bundle")}


def survival_figure(run: CardRun, rung: int = 4):
    """Kaplan-Meier curves of the days to ``rung``: one panel per era, one curve per bundle."""
    from sim.analysis import survival
    from sim.report import figures

    o = run.outcomes
    panels = {
        era: {b: survival.kaplan_meier(survival.time_to_rung(g[g.bundle == b], rung)) for b in run.bundles}
        for era, g in o.groupby("era", sort=False)
    }
    return figures.survival_panels(panels, float(o["horizon_days"].max()), rung)


def effects_figure(tables: dict[str, pd.DataFrame]):
    """The paired effects of each bundle (P(rung >= 4), P(rung >= 5), crisis days) with 95% intervals."""
    from sim.report import figures

    eff = tables["effects"]
    diffs = pd.DataFrame({"config": eff["bundle"]})
    for col, label in OUTCOMES.items():
        for end, suffix in (("", ""), (" lo", "_lo"), (" hi", "_hi")):
            diffs[f"diff_{col}{suffix}"] = eff[f"effect {label}{end}"]
        if f"events {label}" in eff.columns:
            diffs[f"events_{col}"] = eff[f"events {label}"]
            diffs[f"baseline_events_{col}"] = eff[f"baseline events {label}"]
    return figures.paired_effects(diffs, "no measures", outcomes=list(OUTCOMES))


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def _signed_pct(x: float) -> str:
    return f"{100 * x:+.1f} pts"


def _effect(row: dict, label: str, days: bool = False) -> str:
    m, lo, hi = row[f"effect {label}"], row[f"effect {label} lo"], row[f"effect {label} hi"]
    if days:
        if row.get("crises", 1) == 0:  # a bootstrap of all-zero differences would read [0, 0]
            return "no crisis in either arm"
        return f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}]"
    return f"{100 * m:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] pts"


def _survival_lines(tables: dict[str, pd.DataFrame], figures: dict[str, str]) -> list[str]:
    from sim.analysis import survival

    surv, back = tables["survival"], tables["back_to_vigilance"]
    lines = [
        "## Time to escalation",
        "",
        "How soon the use of force comes, not only whether: a replication that never reached the rung is censored "
        "at the horizon (Kaplan-Meier). P(by the horizon) is one minus the curve's last value; the hazard is "
        "events per year watched, with an exact Poisson 95% interval (a constant rate assumed).",
        "",
    ]
    if "survival" in figures:
        lines += [f"![time to rung 4 by era]({figures['survival']})", ""]
    lines += [
        "| bundle | era | reached rung ≥ 4 (of n) | P(by the horizon) | hazard a year [95% CI] |",
        "|---|---|---|---|---|",
    ]
    for r in surv[surv.rung == 4].itertuples():
        lo, hi = r.hazard_per_year_ci95
        lines.append(
            f"| {r.bundle} | {r.era} | {r.events} of {r.n} | {_pct(r.p_reached_by_horizon)} "
            f"| {r.hazard_per_year:.3g} [{lo:.3g}, {hi:.3g}] |"
        )
    lines += ["", *survival.back_to_vigilance_lines(back, "bundle", "bundle")]
    return [*lines, ""]


def _setting_name(scenario: str, era: str) -> str:
    return f"{scenario} / {era}"


def _setting_lines(run: CardRun, tables: dict[str, pd.DataFrame]) -> list[str]:
    """The front page: each bundle's paired effect in each scenario x era, before any pooling."""
    cells = tables["by_setting"]
    names = [_setting_name(s, e) for s, e in run.settings]
    lines = [
        "## Effects in each setting",
        "",
        "What each bundle did in each scenario and era, against no measures on the same seeds: the paired "
        "difference with its 95% interval (Newcombe's paired score interval for a probability, a percentile "
        "bootstrap over replications for crisis days). These are the card's findings; every pooled figure below "
        "is a weighted mean of them.",
        "",
    ]
    for label, days in ((OUTCOMES["reached_rung_4"], False), (OUTCOMES["crisis_days"], True)):
        lines += [f"**{label}**", "", "| bundle | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for bundle in dict.fromkeys(cells["bundle"]):
            row = cells[(cells.bundle == bundle) & (cells.outcome == label)]
            by = {_setting_name(r["scenario"], r["era"]): r for r in row.to_dict("records")}
            lines.append(f"| {bundle} | " + " | ".join(_cell(by[n], days) for n in names) + " |")
        lines.append("")
    lines += [
        "A probability cell with no event in either arm reads `±` its interval: not estimable there, only bounded; "
        "a crisis-days cell where neither arm had a crisis says so (its bootstrap would read [0, 0]).",
        "",
    ]
    return lines


def _cell(r: dict, days: bool) -> str:
    if days:
        if r.get("events", 1) == 0 and r.get("baseline events", 1) == 0:
            return "no crisis in either arm"
        return f"{r['effect']:+.2f} [{r['lo']:+.2f}, {r['hi']:+.2f}]"
    if r.get("events", 1) == 0 and r.get("baseline events", 1) == 0:
        return f"± {100 * r['hi']:.1f} pts (no event)"
    return f"{100 * r['effect']:+.1f} [{100 * r['lo']:+.1f}, {100 * r['hi']:+.1f}]"


def _pooled_lines(run: CardRun, tables: dict[str, pd.DataFrame]) -> list[str]:
    """The pooled section's heading and its estimand: which weights, and what the pooled figure means."""
    w = run.setting_weights()
    weights = ", ".join(f"{_setting_name(s, e)} {x:.3g}" for (s, e), x in zip(run.settings, w, strict=True))
    kind = "equal weights (the default)" if run.equal_weights else "the weights given with --weights"
    return [
        "## Effects pooled over the settings",
        "",
        f"Estimand: the paired effect in a setting drawn at random with {kind}: {weights}. It is a weighted mean "
        "of the cells above, with a 95% bootstrap interval over replications (resampled within each setting); for "
        "a probability, widened to Newcombe's paired interval of the weighted pooled table where that is wider "
        "(each setting's cell shares averaged with the weights, on the effective number of pairs; never [0, 0]). "
        "The weights are a choice, not a finding: `--weights SCENARIO/ERA=W,...` sets them "
        "(0 leaves a setting out). Ranks, P(best) and the by-era probabilities use the same weights; the time to "
        "escalation pools each era's replications as they are.",
        "",
    ]


def _structural_cell(table: pd.DataFrame, bundle: str) -> str:
    row = table[(table.bundle == bundle) & (table.outcome == OUTCOMES["reached_rung_4"])]
    if row.empty:
        return ""
    r = row.iloc[0]
    most = (
        f"; most: {str(r['most influential']).removeprefix('model.')}"
        if isinstance(r.get("most influential"), str)
        else ""
    )
    return f"[{100 * r['low']:+.1f}, {100 * r['high']:+.1f}] pts{most}"


def _structural_lines(run: CardRun, tables: dict[str, pd.DataFrame]) -> list[str]:
    if "structural" not in tables or run.screen is None:
        return [
            "The effects above hold the unfitted assumptions of the crisis dynamics at their defaults; their "
            "structural sensitivity was not screened for this card (`--structural T` runs a Morris screen of "
            "T trajectories over them and reports each effect's range beside it).",
            "",
        ]
    screen = run.screen
    points, reps = len(screen), int(screen["replications"].iloc[0])
    spans = ", ".join(f"{k.removeprefix('model.')} [{lo:g}, {hi:g}]" for k, (lo, hi) in STRUCTURAL.items())
    return [
        f"Structural range: the pooled effect on P(rung ≥ 4) at each of the {points} points of a Morris screen "
        f"({int(screen['trajectories'].iloc[0])} trajectories, {STRUCTURAL_LEVELS} levels; SALib) over the "
        f"assumptions that are not fitted — {spans} — each point {reps} paired replications per bundle and "
        "setting on the card's seeds; the range is its lowest and highest value, and `most` the assumption with "
        "the largest Morris mu*. With few replications a point's effect carries its own noise, so the range is "
        "an upper bound on what the assumptions alone move. An effect whose sign changes across the range rests "
        "on those assumptions, not on the data (structural.csv, structural_screen.csv).",
        "",
    ]


def _not_estimable_lines(eff: pd.DataFrame, run: CardRun) -> list[str]:
    """A sentence per bundle whose effect on P(rung >= 4) or P(rung >= 5) cannot be estimated (no event in either)."""
    lines = []
    for r in eff.to_dict("records"):
        for col in ("reached_rung_4", "reached_rung_5"):
            label = OUTCOMES[col]
            if f"events {label}" not in r or r[f"events {label}"] or r[f"baseline events {label}"]:
                continue
            pairs = run.replications * len(run.settings)
            lines.append(
                f"- **{r['bundle']}, {label}: cannot be estimated.** Neither arm reached it in any of {pairs} paired "
                f"replications: {label} is below {_pct(r[f'upper {label}'])} with the bundle and below "
                f"{_pct(r[f'baseline upper {label}'])} without it (95% upper bounds); the interval "
                f"{_effect(r, label)} is what these runs allow, not a null effect known precisely."
            )
    return [*lines, ""] if lines else []


def markdown(run: CardRun, tables: dict[str, pd.DataFrame], command: str, figures: dict[str, str] | None = None) -> str:
    """``card.md``: one page an analyst can hand on (``figures``: file names of the figures beside it)."""
    figures = figures or {}
    eff, by_era, ranks, regret = tables["effects"], tables["by_era"], tables["ranks"], tables["regret"]
    placebo = eff[eff.bundle == PLACEBO].iloc[0]
    how = (
        "each replication's fitted parameters drawn from the calibration's posterior (the same draw in every "
        "bundle), so the intervals include what the record leaves uncertain as well as the model's noise"
        if run.parameters == "posterior"
        else "the calibrated point estimate for every replication, so the intervals hold the model's noise only"
    )
    scen = list(dict.fromkeys(s for s, _ in run.settings))
    eras = list(dict.fromkeys(e for _, e in run.settings))
    lines = [
        "# Measure report card",
        "",
        f"`{command}`: {len(run.bundles) - 2} bundles against no measures, with the `{PLACEBO}` control, in "
        f"{len(scen)} scenarios ({', '.join(scen)}) x {len(eras)} eras ({', '.join(eras)}); "
        f"{run.replications} replications of each"
        + (f" over {run.days:g} days" if run.days is not None else " over each scenario's own horizon")
        + f", seed {run.seed}, with {how}. Every bundle ran the baseline's seeds: each effect is a paired "
        "difference.",
        "",
        *_setting_lines(run, tables),
        *_pooled_lines(run, tables),
        *([f"![paired effects of each bundle]({figures['effects']})", ""] if "effects" in figures else []),
        "| bundle | P(rung ≥ 4) | P(rung ≥ 5) | crisis days | backfire share [95%] | against the placebo's |"
        + (" structural range: P(rung ≥ 4) |" if "structural" in tables else ""),
        "|---|---|---|---|---|---|" + ("---|" if "structural" in tables else ""),
    ]
    for r in eff.to_dict("records"):
        reading = (
            "(the floor)"
            if r["bundle"] == PLACEBO
            else backfire_reading(r["backfire lo"], r["backfire hi"], placebo["backfire lo"], placebo["backfire hi"])
        )
        lines.append(
            f"| {r['bundle']} | {_effect(r, OUTCOMES['reached_rung_4'])} | {_effect(r, OUTCOMES['reached_rung_5'])} "
            f"| {_effect(r, OUTCOMES['crisis_days'], days=True)} "
            f"| {_pct(r['backfire'])} [{_pct(r['backfire lo'])}, {_pct(r['backfire hi'])}] | {reading} |"
            + (f" {_structural_cell(tables['structural'], r['bundle'])} |" if "structural" in tables else "")
        )
    lines += ["", *_not_estimable_lines(eff, run), *_structural_lines(run, tables)]
    lines += [
        f"Backfire is the share of paired replications whose peak rung the bundle made higher. Read it against "
        f"the placebo's, {_pct(placebo['backfire'])} [{_pct(placebo['backfire lo'])}, "
        f"{_pct(placebo['backfire hi'])}]: the desync placebo only moves the random streams on (nothing changes in "
        "distribution), so its share is what chance alone gives when paired runs part ways, as they do under any "
        "measure that changes activity. A share above that floor is the bundle's own; one within it is not told "
        "apart from chance by these runs.",
        "",
        "## The probability that a bundle lowers (or raises) P(rung ≥ 4), by era",
        "",
        "| bundle | " + " | ".join(eras) + " |",
        "|---|" + "---|" * len(eras),
    ]
    for r in by_era.to_dict("records"):
        lines.append(
            f"| {r['bundle']} | " + " | ".join(f"{_pct(r[e])} / {_pct(r[e + ' higher'])}" for e in eras) + " |"
        )
    lines += [
        "",
        "Lower / higher: the share of bootstrap resamples in which the bundle's P(rung ≥ 4) is below / above the "
        "baseline's in that era (pooled over the scenarios); the rest are ties (often both 0). Near 50% / 50%: "
        "the runs cannot tell whether it helps.",
        "",
        "## Ranking",
        "",
        "| bundle | P(rung ≥ 4), pooled | mean rank | P(best) |",
        "|---|---|---|---|",
    ]
    for r in ranks.to_dict("records"):
        lines.append(f"| {r['bundle']} | {_pct(r['P(rung ≥ 4)'])} | {r['mean rank']:.1f} | {_pct(r['P(best)'])} |")
    lines += [
        "",
        "Over the same bootstrap resamples (ties share a place; P(best) splits a shared first place). "
        "A bundle with a high P(best) is "
        "robustly first; several bundles sharing it are not told apart by these runs.",
        "",
        "## Regret across scenarios and eras (robust decision making)",
        "",
        "| bundle | maximum regret | where | mean regret |",
        "|---|---|---|---|",
    ]
    for r in regret.to_dict("records"):
        lines.append(
            f"| {r['bundle']} | {_signed_pct(r['max regret'])} | {r['worst setting']} "
            f"| {_signed_pct(r['mean regret'])} |"
        )
    lines += [
        "",
        "Regret: in each scenario and era, how many points higher the bundle's P(rung ≥ 4) is than the best "
        "bundle's there. The bundle with the least maximum regret is the robust choice: it is never far from "
        "the best, whichever setting comes to pass.",
        "",
    ]
    if "survival" in tables:
        lines += _survival_lines(tables, figures)
    return "\n".join(lines)


def write_card(run: CardRun, tables: dict[str, pd.DataFrame], out, command: str, formats=("png",)) -> str:
    """Write ``card.md``, ``card.html``, the figures and the tables (CSV) to ``out``; return the Markdown."""
    from pathlib import Path

    from sim.analysis import survival
    from sim.report import figures as fig
    from sim.report.html import page

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = {"effects": fig.save(effects_figure(tables), out / "effects", formats)[0].name}
    if "survival" in tables:
        figures["survival"] = fig.save(survival_figure(run), out / "survival", formats)[0].name
    text = markdown(run, tables, command, figures)
    (out / "card.md").write_text(text)
    (out / "card.html").write_text(page("Measure report card", text, out), encoding="utf-8")
    for name, df in tables.items():
        df = survival.flat(df) if name in ("survival", "back_to_vigilance") else df
        df.to_csv(out / f"{name}.csv", index=name == "p_by_setting", float_format="%.6g")
    run.outcomes.to_csv(out / "replications.csv", index=False, float_format="%.6g")
    if run.screen is not None:
        run.screen.to_csv(out / "structural_screen.csv", index=False, float_format="%.6g")
    return text


def card_parser():
    """The options of ``escalation card`` (also read by ``escalation study``)."""
    from sim.run.errors import OneLineParser

    parser = OneLineParser(
        prog="escalation card", description="The measure report card: bundles across scenarios and eras."
    )
    parser.add_argument(
        "--bundles",
        default="eln_seven,eln_riac_basic,eln_riac_enhanced,cooperative_2004,hotline",
        help="comma-separated measure bundles (conf/measures/); no measures and the desync placebo always run",
    )
    parser.add_argument(
        "--scenarios", default="baltic_air_policing,black_sea_transit", help="comma-separated scenarios of the library"
    )
    parser.add_argument(
        "--eras",
        default="cooperative_2004,confrontation_2014,crisis_2022",
        help="comma-separated era presets (conf/era/)",
    )
    parser.add_argument("--replications", type=int, default=200, help="per bundle and setting (default 200)")
    parser.add_argument(
        "--parameters",
        choices=["posterior", "point"],
        default="posterior",
        help="a posterior draw per replication (default), or the calibrated point estimate",
    )
    parser.add_argument("--days", type=float, default=None, help="horizon (default: each scenario's own)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the replications (default 0)")
    parser.add_argument("--workers", type=int, default=0, help="processes (default 0: one per core)")
    parser.add_argument("--out", default="outputs/card", help="folder for card.md, card.html (default outputs/card)")
    parser.add_argument(
        "--weights",
        default="",
        metavar="SCENARIO/ERA=W,...",
        help="each setting's weight in the pooled figures (default: equal; unnamed settings keep 1, 0 leaves one out)",
    )
    parser.add_argument(
        "--structural",
        type=int,
        default=0,
        metavar="T",
        help="Morris trajectories of the structural screen over the unfitted assumptions (default 0: not run)",
    )
    parser.add_argument(
        "--structural-replications",
        type=int,
        default=40,
        help="paired replications per bundle and setting at each point of the screen (default 40)",
    )
    return parser


MAX_WEIGHT = 1e6  # weights are relative: a larger one only overflows the sums


def parse_weights(text: str, scenarios: list[str], eras: list[str]) -> dict[tuple[str, str], float] | None:
    """``--weights SCENARIO/ERA=W,...``: non-negative weights of settings the card runs; at least one above 0."""
    from sim.run.errors import UserError

    if not text.strip():
        return None
    weights: dict[tuple[str, str], float] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        scenario, slash, era = key.strip().partition("/")
        if not sep or not slash:
            raise UserError(f"--weights: {item.strip()[:60]!r} is not SCENARIO/ERA=W")
        if scenario not in scenarios or era not in eras:
            raise UserError(f"--weights: {key.strip()[:60]!r} is not a setting of this card (scenarios x eras)")
        try:
            w = float(value)
        except ValueError:
            raise UserError(f"--weights: {key.strip()}: {value.strip()[:30]!r} is not a number") from None
        if not 0 <= w <= MAX_WEIGHT:
            raise UserError(f"--weights: {key.strip()}: a weight is a number from 0 to 1e6, got {value.strip()[:30]}")
        if (scenario, era) in weights:
            raise UserError(f"--weights: {key.strip()} is named twice")
        weights[scenario, era] = w
    if all(weights.get((s, e), 1.0) == 0 for s in scenarios for e in eras):
        raise UserError("--weights: every setting has weight 0")
    return weights


def card_command(args: list[str]) -> int:
    """``escalation card [--bundles A,B] [--scenarios ..] [--eras ..] [--replications N] ...``."""
    from pathlib import Path

    from sim.run.config import check_options, parse_with_experiment
    from sim.run.errors import MAX_SEED, UserError, check_days_and_out, check_whole, fail

    parser = card_parser()
    try:
        ns = parse_with_experiment(parser, args, "card")
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    except UserError as exc:
        return fail(str(exc))
    bundles, scenarios, eras = ns.bundles.split(","), ns.scenarios.split(","), ns.eras.split(",")
    try:
        check_options("--bundles", "measures", bundles)
        check_options("--scenarios", "scenario", scenarios)
        check_options("--eras", "era", eras)
    except UserError as exc:
        return fail(str(exc))
    if not 10 <= ns.replications <= 1_000_000:
        return fail(f"--replications must be between 10 and 1,000,000, got {ns.replications}")
    try:
        weights = parse_weights(ns.weights, scenarios, eras)
        check_whole("--structural", ns.structural, 0, 100)
        check_whole("--structural-replications", ns.structural_replications, 2, 1_000_000)
        check_whole("--workers", ns.workers, 0, 1024)
        check_whole("--seed", ns.seed, 0, MAX_SEED)
        check_days_and_out(ns.days, ns.out)
    except UserError as exc:
        return fail(str(exc))
    from sim.run.progress import Progress
    from sim.run.runner import default_workers

    jobs = len(card_names(bundles)) * len(scenarios) * len(eras)
    points = ns.structural * (len(STRUCTURAL) + 1)
    try:
        with Progress(jobs * (1 + points), "bundle x setting", unit="job") as bar:
            run = run_card(
                bundles,
                scenarios,
                eras,
                ns.replications,
                ns.seed,
                ns.parameters,
                ns.workers or default_workers(ns.replications),
                bar.update,
                days=ns.days,
                weights=weights,
            )
            if ns.structural:
                run.screen = structural_screen(
                    bundles,
                    scenarios,
                    eras,
                    ns.structural,
                    ns.structural_replications,
                    ns.seed,
                    ns.parameters,
                    workers=ns.workers or default_workers(ns.structural_replications),
                    progress=bar.update,
                    days=ns.days,
                    weights=weights,
                )
    except UserError as exc:
        return fail(str(exc))
    text = write_card(run, card_tables(run), Path(ns.out), "escalation card " + " ".join(args))
    print(text)
    return 0
