"""Time to escalation: Kaplan-Meier curves with censoring at the horizon, hazards, censored medians.

A replication that never reached rung *k* is *censored* at its horizon: we know only that it took
longer. Averaging the times of the replications that did reach it (or came back from a crisis)
biases the answer short; the Kaplan-Meier estimator (scipy.stats.ecdf on ``CensoredData``) does
not. Inputs are the per-replication outcome columns ``days_to_rung_K``, ``horizon_days``,
``days_back_to_vigilance`` and ``days_back_censored`` (``replications.csv``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.stats import chi2_quantile

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Durations:
    """Observed times (``observed`` True) and censored ones (the time watched without the event)."""

    times: np.ndarray
    observed: np.ndarray

    @property
    def events(self) -> int:  # noqa: D102
        return int(self.observed.sum())


def time_to_rung(outcomes: pd.DataFrame, rung: int) -> Durations:
    """Days until the peak first reached ``rung``; censored at the horizon where it never did."""
    reached = outcomes[f"days_to_rung_{rung}"].to_numpy(float)
    horizon = outcomes["horizon_days"].to_numpy(float)
    observed = np.isfinite(reached)
    return Durations(np.where(observed, reached, horizon), observed)


def time_back_to_vigilance(outcomes: pd.DataFrame | Mapping[str, np.ndarray]) -> Durations:
    """Days from the peak of a crisis (rung >= 2) back to vigilance; censored where it was not back by the horizon."""
    back = np.asarray(outcomes["days_back_to_vigilance"], dtype=float)
    censored = np.asarray(outcomes["days_back_censored"], dtype=float)
    crisis = np.asarray(outcomes["peak_rung"]) >= 2
    observed = crisis & np.isfinite(back)
    keep = observed | (crisis & np.isfinite(censored))
    return Durations(np.where(observed, back, censored)[keep], observed[keep])


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier survival curve with its pointwise 95% interval (log-log)."""

    times: np.ndarray  # the distinct event times
    survival: np.ndarray  # P(not yet) just after each time
    low: np.ndarray
    high: np.ndarray
    n: int
    events: int

    def at(self, t: float) -> float:
        """Survival at time ``t`` (a step function, 1 before the first event)."""
        i = np.searchsorted(self.times, t, side="right") - 1
        return 1.0 if i < 0 else float(self.survival[i])


def kaplan_meier(d: Durations) -> Curve:
    """The Kaplan-Meier estimate of P(T > t), with Greenwood's log-log ("exponential Greenwood") 95% interval.

    The arithmetic is scipy.stats.ecdf's on ``CensoredData`` (scipy 1.18, ``_ecdf_uncensored`` where
    nothing is censored, ``_ecdf_right_censored`` otherwise, and ``_loglog_ci``) step for step, so the
    curve and its band are the same to the last bit (``tests/test_survival.py`` compares them on
    random samples). Written out in numpy because importing scipy.stats costs every run 0.4 s of
    CPU, and a run's summary needs this median (issue 29).
    """
    if d.events == 0:
        return Curve(np.array([]), np.array([]), np.array([]), np.array([]), len(d.times), 0)
    from scipy.special import ndtri

    dead, lost = np.asarray(d.times[d.observed], dtype=float), np.asarray(d.times[~d.observed], dtype=float)
    if lost.size == 0:
        sample = np.sort(dead)
        t, deaths = np.unique(sample, return_counts=True)
        cumulative = np.cumsum(deaths)
        survival = 1 - cumulative / sample.size
        at_risk = np.concatenate(([sample.size], sample.size - cumulative[:-1]))
    else:
        times = np.concatenate((dead, lost))
        died = np.asarray([1] * dead.size + [0] * lost.size)
        order = np.argsort(times)
        times, died = times[order], died[order]
        first = np.diff(times, prepend=-np.inf, append=np.inf) > 0
        t, at_risk = times[first[:-1]], np.arange(times.size, 0, -1)[first[:-1]]
        deaths = np.diff(np.cumsum(died)[first[1:]], prepend=0)
        survival = np.cumprod((at_risk - deaths) / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):  # undefined where the estimate is 0 or 1: bounds 0 or 1
        se = np.sqrt(1 / np.log(survival) ** 2 * np.cumsum(deaths / (at_risk * (at_risk - deaths))))
        z_se = ndtri(1 / 2 + 0.95 / 2) * se
        points = np.log(-np.log(survival))
        low = np.clip(np.exp(-np.exp(points + z_se)), 0, 1)
        high = np.clip(np.exp(-np.exp(points - z_se)), 0, 1)
    low, high = np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)
    # Where the estimate is 0 every replication still watched had its event by then: nothing was watched
    # longer, so the band closes there too (Greenwood's is undefined; 1 would put the median's upper bound
    # "beyond the horizon" when every crisis ended within it).
    high = np.where(survival == 0, 0.0, high)
    return Curve(t, survival, low, high, len(d.times), d.events)


def median_time(d: Durations) -> tuple[float, float, float]:
    """The censored median and its 95% interval (Brookmeyer-Crowley: where the interval band crosses 1/2).

    NaN where the curve (or a bound) never falls to 1/2 within what was watched: the median is
    then longer than the horizon.
    """
    c = kaplan_meier(d)

    def first_below(values: np.ndarray) -> float:
        idx = np.nonzero(values <= 0.5)[0]
        return float(c.times[idx[0]]) if len(idx) else math.nan

    return first_below(c.survival), first_below(c.low), first_below(c.high)


def hazard(d: Durations, period_days: float) -> tuple[float, float, float]:
    """Events per ``period_days`` of exposure (a constant-hazard estimate) with its exact Poisson 95% interval.

    Exposure is the time each replication was watched before its event or the horizon; for the
    hazard of reaching rung 4 a month, ``period_days`` is 30.44.
    """
    exposure = float(d.times.sum()) / period_days
    k = d.events
    if exposure <= 0:
        return math.nan, math.nan, math.nan
    lo = chi2_quantile(0.025, 2 * k) / 2 if k > 0 else 0.0
    hi = chi2_quantile(0.975, 2 * (k + 1)) / 2
    return k / exposure, lo / exposure, hi / exposure


def survival_table(outcomes: pd.DataFrame, by: str, rungs: tuple[int, ...] = (3, 4, 5)) -> pd.DataFrame:
    """Per configuration and rung: replications, events, hazards a month and a year, censored median, P(reached)."""
    rows = []
    for config, df in outcomes.groupby(by, sort=False):
        for rung in rungs:
            d = time_to_rung(df, rung)
            curve = kaplan_meier(d)
            horizon = float(df["horizon_days"].max())
            m, mlo, mhi = median_time(d)
            hm = hazard(d, DAYS_PER_MONTH)
            hy = hazard(d, 365.25)
            end = curve.at(horizon) if curve.events else 1.0
            rows.append(
                {
                    by: config,
                    "rung": rung,
                    "n": curve.n,
                    "events": curve.events,
                    "p_reached_by_horizon": 1.0 - end,
                    "hazard_per_month": hm[0],
                    "hazard_per_month_ci95": [hm[1], hm[2]],
                    "hazard_per_year": hy[0],
                    "hazard_per_year_ci95": [hy[1], hy[2]],
                    "median_days": m,
                    "median_days_ci95": [mlo, mhi],
                }
            )
    return pd.DataFrame(rows)


def back_to_vigilance_table(outcomes: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per configuration: crises, how many came back within the horizon, and the censored median time back."""
    rows = []
    for config, df in outcomes.groupby(by, sort=False):
        d = time_back_to_vigilance(df)
        m, lo, hi = median_time(d) if d.events else (math.nan, math.nan, math.nan)
        naive = float(d.times[d.observed].mean()) if d.events else math.nan
        rows.append(
            {
                by: config,
                "crises": len(d.times),
                "back_within_horizon": d.events,
                "median_days_back": m,
                "median_days_back_ci95": [lo, hi],
                "mean_of_those_back_only": naive,
            }
        )
    return pd.DataFrame(rows)


def flat(table: pd.DataFrame) -> pd.DataFrame:
    """A survival table with each ``X_ci95`` pair split into ``X_lo`` and ``X_hi`` columns (for CSV)."""
    out = table.copy()
    for col in [c for c in out.columns if c.endswith("_ci95")]:
        out[[col[:-5] + "_lo", col[:-5] + "_hi"]] = pd.DataFrame(out.pop(col).tolist(), index=out.index)
    return out


def days_text(x: float) -> str:
    """Days to one decimal, or "beyond the horizon" for a median the curve never reached (NaN)."""
    return "beyond the horizon" if x != x else f"{x:.1f}"


def back_to_vigilance_lines(table: pd.DataFrame, by: str, label: str) -> list[str]:
    """Markdown: the time back to vigilance (``back_to_vigilance_table``), one row per ``by`` (headed ``label``)."""
    lines = [
        "**Back to vigilance** after a crisis (peak rung ≥ 2): the censored median in days, crises still open at "
        "the horizon counted as censored (the mean of those that came back, shown for contrast, is biased short).",
        "",
        f"| {label} | crises | back within the horizon | median days back [95% CI] | mean of those back only |",
        "|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        lo, hi = r["median_days_back_ci95"]
        naive = r["mean_of_those_back_only"]
        lines.append(
            f"| {r[by]} | {r['crises']} | {r['back_within_horizon']} | {days_text(r['median_days_back'])} "
            f"[{days_text(lo)}, {days_text(hi)}] | {'n/a' if naive != naive else f'{naive:.1f}'} |"
        )
    return lines
