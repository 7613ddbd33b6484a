"""Analysis of sweeps: pure functions from tidy tables to tables (they never run the model).

The input is the tidy results table of ``escalation compare``: one row per job x replication,
with a ``config`` label, one column per override and the outcome columns of ``replications.csv``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from sim.analysis.stats import mean_ci, mean_ci_bootstrap, paired_proportion_difference, wilson

MEASURE_KEYS = ("measures",)


def is_measure_key(key: str) -> bool:
    """Overrides that choose measures (as opposed to the setting they are compared in)."""
    return key.startswith("measures") or key.lstrip("+").startswith("eln_rec")


def summarise(results: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Per configuration: n and the headline outcomes with 95% intervals."""
    rows = []
    for config, g in results.groupby("config", sort=False):
        n = len(g)
        row = {"config": config, **{f: g[f].iloc[0] for f in factors}, "n": n}
        for col, name in (("reached_rung_4", "p_rung_ge_4"), ("reached_rung_5", "p_rung_ge_5")):
            p, lo, hi = wilson(int(g[col].sum()), n)
            row |= {name: p, f"{name}_lo": lo, f"{name}_hi": hi}
        for col in ("peak_rung", "crisis_days"):
            how = mean_ci_bootstrap if col == "crisis_days" else mean_ci  # crisis days: never below 0
            m, lo, hi, _ = how(g[col].to_numpy(float))
            row |= {f"mean_{col}": m, f"mean_{col}_lo": lo, f"mean_{col}_hi": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def baselines(summary: pd.DataFrame, factors: list[str]) -> dict[str, str]:
    """For each configuration, the baseline it is compared with: same setting, no measure switched on."""
    strata = [f for f in factors if not is_measure_key(f)]
    measure_factors = [f for f in factors if is_measure_key(f)]

    def is_base(row) -> bool:
        return all(str(row[f]) in ("none", "off", "false", "False") for f in measure_factors)

    out = {}
    for _, row in summary.iterrows():
        same = summary
        for f in strata:
            same = same[same[f].astype(str) == str(row[f])]
        base = same[same.apply(is_base, axis=1)]
        if not base.empty:
            out[row["config"]] = base.iloc[0]["config"]
    return out


def paired_differences(results: pd.DataFrame, base_of: dict[str, str]) -> pd.DataFrame:
    """Each configuration minus its baseline, paired by replication (common random numbers).

    Differences of P(rung >= 4) and P(rung >= 5) have Newcombe's hybrid score interval for paired data
    (``sim.analysis.stats.paired_proportion_difference``), which keeps each arm's own uncertainty when neither arm
    has an event; ``events_X``, ``baseline_events_X`` and each arm's Wilson upper bound (``upper_X``,
    ``baseline_upper_X``) say when the effect cannot be estimated (``not_estimable``). Differences of
    means (peak rung, crisis days) have a Student t interval on the paired differences.

    ``backfire`` is the share of pairs in which the configuration's peak rung is higher, with its Wilson
    interval (``backfire_lo``, ``backfire_hi``). Read it against the placebo channel's (a line that never
    connects changes nothing, so its share is zero): a backfire share above the placebo's interval is the
    measure's, not chance's.
    """
    rows = []
    by_config = {c: g.set_index("replication") for c, g in results.groupby("config", sort=False)}
    for config, base in base_of.items():
        if config == base:
            continue
        a, b = by_config[config], by_config[base]
        common = a.index.intersection(b.index)
        a, b = a.loc[common], b.loc[common]
        row = {"config": config, "baseline": base, "pairs": len(common)}
        for col in ("reached_rung_4", "reached_rung_5"):
            m, lo, hi = paired_proportion_difference(a[col].to_numpy(bool), b[col].to_numpy(bool))
            row |= {f"diff_{col}": m, f"diff_{col}_lo": lo, f"diff_{col}_hi": hi}
            row |= {f"events_{col}": int(a[col].sum()), f"baseline_events_{col}": int(b[col].sum())}
            row |= {f"upper_{col}": wilson(int(a[col].sum()), len(common))[2] if len(common) else math.nan}
            row |= {f"baseline_upper_{col}": wilson(int(b[col].sum()), len(common))[2] if len(common) else math.nan}
        for col in ("peak_rung", "crisis_days"):
            m, lo, hi, _ = mean_ci((a[col] - b[col]).to_numpy(float))
            row |= {f"diff_{col}": m, f"diff_{col}_lo": lo, f"diff_{col}_hi": hi}
        worse = int((a["peak_rung"] > b["peak_rung"]).sum())
        row["backfire"], row["backfire_lo"], row["backfire_hi"] = (
            wilson(worse, len(common)) if len(common) else (math.nan,) * 3
        )
        row["improved"] = float((a["peak_rung"] < b["peak_rung"]).mean()) if len(common) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def factorial_effects(
    results: pd.DataFrame, factors: list[str], outcome: str = "reached_rung_4"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Main effects and two-way interactions of two-level factors, by OLS on +/-1 coding.

    An effect is the average change in the outcome when the factor goes from off to on (twice the
    regression coefficient); an interaction is how much one factor's effect changes when the other
    is on. Standard errors are the usual OLS ones (for a 0/1 outcome: a linear probability model).
    """
    x = {f: np.where(results[f].astype(str).isin(["on", "true", "True"]), 1.0, -1.0) for f in factors}
    cols, names = [np.ones(len(results))], ["intercept"]
    for f in factors:
        cols.append(x[f])
        names.append(f)
    pairs = list(itertools.combinations(factors, 2))
    for a, b in pairs:
        cols.append(x[a] * x[b])
        names.append(f"{a}:{b}")
    design = np.column_stack(cols)
    y = results[outcome].to_numpy(float)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    dof = max(len(y) - design.shape[1], 1)
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    se = np.sqrt(np.diag(cov))
    table = pd.DataFrame(
        {"term": names, "effect": 2 * beta, "ci_lo": 2 * (beta - 1.96 * se), "ci_hi": 2 * (beta + 1.96 * se)}
    )
    main = table[table["term"].isin(factors)].reset_index(drop=True)
    inter = table[table["term"].str.contains(":")].reset_index(drop=True)
    return main, inter


def interval_width_by_n(results: pd.DataFrame, config: str, ns: list[int]) -> pd.DataFrame:
    """Width of the 95% interval of the headline outcomes using the first n replications."""
    g = results[results["config"] == config].sort_values("replication")
    rows = []
    for n in ns:
        h = g.head(n)
        if len(h) < n:
            break
        _, lo, hi = wilson(int(h["reached_rung_4"].sum()), n)
        _, mlo, mhi, _ = mean_ci(h["peak_rung"].to_numpy(float))
        _, clo, chi, _ = mean_ci_bootstrap(h["crisis_days"].to_numpy(float))
        rows.append({"n": n, "p_rung_ge_4": hi - lo, "mean_peak_rung": mhi - mlo, "crisis_days": chi - clo})
    return pd.DataFrame(rows)


RUNG_OF = {"reached_rung_4": "rung 4 (use of force)", "reached_rung_5": "rung 5 (armed clash)"}


def not_estimable(row, col: str = "reached_rung_4") -> str | None:
    """The sentence for a paired effect that cannot be estimated (neither arm had an event), else None.

    ``row`` is a row of ``paired_differences`` (a mapping or a named tuple).
    """
    get = row.get if hasattr(row, "get") else lambda k: getattr(row, k)
    if get(f"events_{col}") or get(f"baseline_events_{col}"):
        return None
    return (
        f"Neither arm reached {RUNG_OF[col]} in any of {get('pairs')} paired replications, so this effect cannot "
        f"be estimated from them: P is below {100 * get(f'upper_{col}'):.1f}% with {get('config')} and below "
        f"{100 * get(f'baseline_upper_{col}'):.1f}% with {get('baseline')} (95% upper bounds); the interval "
        f"[{100 * get(f'diff_{col}_lo'):+.1f}, {100 * get(f'diff_{col}_hi'):+.1f}] points is what these runs "
        "allow, not a null effect known precisely."
    )


def backfire_reading(lo: float, hi: float, floor_lo: float, floor_hi: float) -> str:
    """A backfire share's 95% interval read against the desync placebo's (the floor that chance alone gives)."""
    if any(x != x for x in (lo, hi, floor_lo, floor_hi)):
        return "no floor"
    if lo > floor_hi:
        return "above the floor"
    if hi < floor_lo:
        return "below the floor"
    return "within the floor"
