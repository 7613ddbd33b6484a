"""The plain-language verdict printed at the end of a run."""

from __future__ import annotations

import math
from typing import Any

from sim.core.ladder import Rung


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.2f}"


def _interval(o: dict[str, Any], fmt) -> str:
    lo, hi = o["ci95"]
    return f"{fmt(o['estimate']):>7}  [{fmt(lo)}, {fmt(hi)}]"


def format_verdict(summary: dict[str, Any]) -> str:
    """Several lines: the headline outcomes with 95% intervals and a one-sentence verdict."""
    o = summary["outcomes"]
    measures = ", ".join(summary["measures"]) or "none"
    lines = [
        f"Scenario {summary['scenario']} | measures: {measures} | {summary['replications']} replications "
        f"| seed {summary['seed']}",
        "  outcome (per replication)                 estimate  [95% interval]",
        f"  P(peak rung >= 4, use of force)           {_interval(o['p_peak_rung_ge_4'], _pct)}",
        f"  P(peak rung >= 5, armed clash)            {_interval(o['p_peak_rung_ge_5'], _pct)}",
        f"  mean peak rung                            {_interval(o['mean_peak_rung'], _num)}",
        f"  crisis days (rung >= 3)                   {_interval(o['crisis_days'], _num)}",
        f"  days from peak back to rung <= 1 (median) {_interval(o['days_back_to_vigilance'], _num)}",
        f"  incidents, near-routine                   {_interval(o['incidents_near_routine'], _num)}",
        f"  incidents, serious                        {_interval(o['incidents_serious'], _num)}",
        f"  incidents, high risk                      {_interval(o['incidents_high_risk'], _num)}",
    ]
    if "deaths" in o:
        first = o["first_fire"]
        lines += [
            f"  P(anyone killed by the other side's fire) {_interval(o['p_deaths'], _pct)}",
            f"  people killed                             {_interval(o['deaths'], _num)}",
            f"  platforms lost                            {_interval(o['platforms_lost'], _num)}",
            f"  fired first: NATO in {first['nato']}, Russia in {first['russia']} "
            f"of {summary['replications']} replications",
        ]
    p4 = o["p_peak_rung_ge_4"]
    hi4 = p4["ci95"][1]
    if p4["estimate"] == 0:
        risk = f"No replication reached the use of force (95% upper bound {_pct(hi4)})"
        lines.append(
            f"Verdict: {risk}; a typical run peaks around rung {round(o['mean_peak_rung']['estimate'])} "
            f"({Rung(round(o['mean_peak_rung']['estimate'])).label}) "
            f"with {_num(o['crisis_days']['estimate'])} crisis days."
        )
        return "\n".join(lines)
    if hi4 < 0.05:
        risk = "Escalation to the use of force is rare"
    elif p4["estimate"] < 0.2:
        risk = "Escalation to the use of force happens in a minority of runs"
    else:
        risk = "Escalation to the use of force is common"
    peak = round(o["mean_peak_rung"]["estimate"])
    lines.append(
        f"Verdict: {risk} ({_pct(p4['estimate'])}); a typical run peaks around rung {peak} "
        f"({Rung(peak).label}) with {_num(o['crisis_days']['estimate'])} crisis days."
    )
    return "\n".join(lines)
