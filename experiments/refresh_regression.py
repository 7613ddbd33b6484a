"""Refresh the fixed-seed regression summary that tests/test_regression.py compares against.

    python experiments/refresh_regression.py            # rewrite tests/data/regression_summary.json
    python experiments/refresh_regression.py --check    # exit 1 (listing the differences) if the model no longer
                                                        # reproduces it; the same comparison as the test

Run it only when a change to the model is meant to change its numbers, and say so in the commit:
the test fails on any unintended change, to the last decimal kept.

The cases cover the model's regimes: the four long-standing ones (two scenarios at their full horizon, the ELN
seven, the hotline), every library scenario at a short horizon, each era preset, the posterior parameters, every
measure of the catalogue on its own, and three hand-set crises (the pre-calibration parameters of the tests) that
de-escalate, suspend and restore military contacts, and climb to the top rungs. For each case the file keeps the
mean of every numeric outcome column and a few counts from the event log that show which regimes it reached
(``regimes``); ``columns`` is the list of outcome columns, so adding or removing one fails the test too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hydra import compose, initialize_config_dir  # noqa: E402

from sim.calibration.targets import parameter_source  # noqa: E402
from sim.run.config import load_configured_scenario, measure_settings, model_params, register_configs  # noqa: E402
from sim.run.paths import CONF_DIR  # noqa: E402
from sim.run.runner import run_replications  # noqa: E402
from sim.run.scenario_io import library  # noqa: E402

FILE = ROOT / "tests" / "data" / "regression_summary.json"
SEED, DIGITS = 2024, 9

# The pre-calibration parameters of tests/conftest.py: enough escalation for a crisis's mechanisms to act.
PRE_CALIBRATION = [
    "model.russian_activity_by_era.cooperative_2004=1.0",
    "model.russian_activity_by_era.confrontation_2014=1.0",
    "model.russian_activity_by_era.crisis_2022=1.0",
    "model.encounter_rate_per_h=0.16",
    "model.violation_rate_per_h=0.02",
    "model.severity_unsafe_gain=0.35",
    "model.publicity.near_routine=0.05",
    "model.publicity.serious=0.4",
    "model.publicity.high_risk=0.8",
    "model.cut_match=4.5",
    "model.rung_firebreak=0.4",
    "model.posture_cut_first=2.0",
]
MEASURES = sorted(p.stem for p in (CONF_DIR / "measures" / "catalogue").glob("*.yaml"))
ERAS = sorted(p.stem for p in (CONF_DIR / "era").glob("*.yaml"))


@dataclasses.dataclass(frozen=True)
class Case:
    """One fixed-seed run: Hydra overrides, replications, and a horizon shortened to ``days`` (None: the scenario's)."""

    name: str
    overrides: tuple[str, ...]
    replications: int
    days: float | None = None


def cases() -> list[Case]:
    """Every case, in the file's order."""
    out = [
        Case("baltic_air_policing/none", ("scenario=baltic_air_policing", "measures=none"), 30),
        Case("black_sea_transit/none", ("scenario=black_sea_transit", "measures=none"), 30),
        Case("baltic_air_policing/eln_seven", ("scenario=baltic_air_policing", "measures=eln_seven"), 30),
        Case("drone_shootdown/hotline", ("scenario=drone_shootdown", "measures=hotline"), 30),
    ]
    out += [Case(f"scenario/{s}", (f"scenario={s}",), 20, 10.0) for s in library()]
    out += [Case(f"era/{e}", ("scenario=baltic_air_policing", f"era={e}"), 20, 15.0) for e in ERAS]
    out.append(Case("parameters/posterior", ("scenario=baltic_air_policing", "parameters=posterior"), 20, 15.0))
    crisis = ("scenario=kaliningrad_suwalki", "era=crisis_2022", *PRE_CALIBRATION)
    out += [Case(f"measure/{m}", (*crisis, f"measures.{m}.enabled=true"), 10, 10.0) for m in MEASURES]
    out += [
        Case("regime/baltic_stand_down", ("scenario=baltic_air_policing", *PRE_CALIBRATION), 20),
        Case(
            "regime/suspend_and_restore",
            (*crisis, "model.cut_escalate=2.0", "model.rung_firebreak=0.1", "model.suspension_days=3.0"),
            20,
        ),
        Case(
            "regime/top_rungs",
            (
                "scenario=drone_shootdown",
                "era=crisis_2022",
                *PRE_CALIBRATION,
                "model.cut_escalate=1.0",
                "model.cut_match=2.0",
                "model.rung_firebreak=0.0",
                "model.war_firebreak=0.0",
                "model.posture_cut_step=0.1",
                "model.posture_cut_first=0.5",
            ),
            8,
        ),
    ]
    return out


def _regimes(ensemble, outcomes) -> dict[str, int]:
    """What the case reached, from the outcomes and the event log."""
    events = [e for r in ensemble.replications for e in r.events]
    return {
        "max_peak_rung": int(outcomes["peak_rung"].max()),
        "de_escalations": sum(e.get("response") == "de-escalate" for e in events),
        "suspensions": int(outcomes["suspensions"].sum()),
        "restorations": sum("restores military contacts" in (e.get("text") or "") for e in events),
    }


def run_case(case: Case) -> tuple[dict, list[str]]:
    """The case's entry of the file, and the outcome columns of its table."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(case.overrides))
    spec = load_configured_scenario(cfg)
    if case.days is not None:
        spec = dataclasses.replace(spec, horizon_h=case.days * 24.0)
    ens = run_replications(
        spec,
        parameter_source(cfg, model_params(cfg)),
        measure_settings(cfg),
        n=case.replications,
        seed=SEED,
        workers=1,
        record_events=True,
        record_timeseries=False,
    )
    outcomes = ens.outcomes()
    means = outcomes.mean(numeric_only=True)
    entry = {
        "overrides": list(case.overrides),
        "replications": case.replications,
        "horizon_days": case.days,
        "means": {k: round(float(v), DIGITS) for k, v in means.items()},
        "regimes": _regimes(ens, outcomes),
    }
    return entry, list(outcomes.columns)


def summary() -> dict:
    """Every case's entry, and the outcome columns (the same in every case, or the summary says so)."""
    register_configs()
    out: dict = {"seed": SEED, "digits": DIGITS, "columns": None, "cases": {}}
    for case in cases():
        entry, columns = run_case(case)
        if out["columns"] is None:
            out["columns"] = columns
        elif columns != out["columns"]:
            entry["columns"] = columns  # a case with other columns: shown, and so compared
        out["cases"][case.name] = entry
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True  # a mean over no finite value (e.g. days to a rung nobody reached) is NaN both times
    return a == b


def differences(expected, got, path: str = "") -> list[str]:
    """Where ``got`` differs from ``expected`` (NaN equals NaN; a key added or removed is a difference)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = [f"{path}{k}: missing (expected {expected[k]!r})" for k in expected if k not in got]
        out += [f"{path}{k}: new (not in the file: {got[k]!r})" for k in got if k not in expected]
        for k in expected:
            if k in got:
                out += differences(expected[k], got[k], f"{path}{k} / ")
        return out
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got) or not all(_same(a, b) for a, b in zip(expected, got, strict=False)):
            return [f"{path.rstrip(' /')}: {got!r} != {expected!r}"]
        return []
    return [] if _same(expected, got) else [f"{path.rstrip(' /')}: {got!r} != {expected!r}"]


def read() -> dict:
    """The file's summary (NaN is written and read as JSON's ``NaN``)."""
    return json.loads(FILE.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the fixed-seed summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    now = summary()
    if args.check:
        diff = differences(read(), now)
        if diff:
            print(f"{FILE.relative_to(ROOT)} differs from the model's output:", file=sys.stderr)
            print("\n".join(f"  {d}" for d in diff[:50]), file=sys.stderr)
            return 1
        print(f"{FILE.relative_to(ROOT)} is reproduced ({len(now['cases'])} cases)")
        return 0
    FILE.write_text(json.dumps(now, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FILE.relative_to(ROOT)} ({len(now['cases'])} cases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
