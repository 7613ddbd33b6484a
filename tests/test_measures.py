"""Each measure on vs off on common random numbers (replication i has the same seed both ways).

Every test states the replication count, the outcome, the direction and the minimum effect.
The minimum effects are about half of what was measured when the test was written (see the
figures in each docstring), so a real loss of effect fails while seed noise does not.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import run, settings
from sim.core.measures import Measure, registry
from sim.stats import mean_ci

N = 200


def paired(scenario, params, measure: str, column: str, n: int = N) -> tuple[pd.Series, pd.Series]:
    off = run(scenario, params, settings(), n).outcomes()[column]
    on = run(scenario, params, settings(measure), n).outcomes()[column]
    return off, on


def assert_reduces(off: pd.Series, on: pd.Series, at_least: float) -> None:
    """Mean paired reduction >= ``at_least`` and its 95% interval excludes zero."""
    diff = (off - on).to_numpy(dtype=float)
    mean, lo, _, _ = mean_ci(diff)
    assert mean >= at_least, f"mean reduction {mean:.3f} < {at_least}"
    assert lo > 0, f"95% interval of the reduction reaches {lo:.3f}"


def test_hotline_lowers_the_chance_of_force(scenarios, params):
    """Black Sea, 200 pairs: P(peak >= 4) falls by >= 3 points (measured: 7 points)."""
    off, on = paired(scenarios["black_sea_transit"], params, "hotline", "reached_rung_4")
    assert_reduces(off, on, 0.03)


def test_hotline_is_used_by_leaders_before_they_decide(scenarios, params):
    ens = run(scenarios["black_sea_transit"], params, settings("hotline"), 50, record_events=True)
    contacts = [e for r in ens.replications for e in r.events if e["kind"] == "clarification" and e["channel"] == "hotline"]
    assert contacts, "the hotline was never used"
    decided_after = [e for r in ens.replications for e in r.events if e["kind"] == "response" and e["channel"] and "hotline" in e["channel"]]
    assert decided_after and all(e["actors"][0] in ("North Atlantic Council and capitals", "Kremlin (Security Council)") for e in decided_after)


def test_mil_to_mil_meetings_raise_trust_and_lower_the_peak(scenarios, params):
    """Baltic, 200 pairs: mean peak rung falls by >= 0.1 (measured 0.21); final NATO trust rises by >= 0.015 (measured 0.035)."""
    sc = scenarios["baltic_air_policing"]
    off, on = paired(sc, params, "mil_to_mil_meetings", "peak_rung")
    assert_reduces(off, on, 0.1)
    trust_off, trust_on = paired(sc, params, "mil_to_mil_meetings", "final_trust_nato")
    assert_reduces(-trust_off, -trust_on, 0.015)


def test_exercise_distance_rule_moves_exercises_and_cuts_serious_incidents(scenarios, params):
    """Baltic, 200 pairs: serious incidents per run fall by >= 0.5 (measured 1.09)."""
    sc = scenarios["baltic_air_policing"]
    off, on = paired(sc, params, "exercise_distance_rule", "incidents_serious")
    assert_reduces(off, on, 0.5)
    ens = run(sc, params, settings("exercise_distance_rule"), 1, record_events=True)
    moved = [e["text"] for e in ens.replications[0].events if "moved from" in e["text"]]
    assert any("Novgorod region" in t and "Pskov region" in t for t in moved)


def test_exercise_distance_rule_has_no_phantom_effect_where_geography_prevents_it(scenarios, params):
    """Black Sea: no sea zone is 100 km from Russian-held coast, so nothing moves: identical runs."""
    sc = scenarios["black_sea_transit"]
    off = run(sc, params, settings(), 30, record_events=True, record_timeseries=True)
    on = run(sc, params, settings("exercise_distance_rule"), 30, record_events=True, record_timeseries=True)
    pd.testing.assert_frame_equal(off.outcomes(), on.outcomes())
    pd.testing.assert_frame_equal(off.timeseries(), on.timeseries())
    assert [r.events for r in off.replications] == [r.events for r in on.replications]


def test_incidents_at_sea_rules_cut_dangerous_incidents(scenarios, params):
    """Baltic, 200 pairs: serious + high-risk incidents fall by >= 15% (measured ~28%); peak falls (measured 0.27)."""
    sc = scenarios["baltic_air_policing"]
    off = run(sc, params, settings(), N).outcomes()
    on = run(sc, params, settings("incidents_at_sea"), N).outcomes()
    dangerous_off = off["incidents_serious"] + off["incidents_high_risk"]
    dangerous_on = on["incidents_serious"] + on["incidents_high_risk"]
    assert_reduces(dangerous_off, dangerous_on, 0.15 * dangerous_off.mean())
    assert_reduces(off["peak_rung"], on["peak_rung"], 0.05)


def test_incidents_at_sea_rules_leave_a_land_only_scenario_unchanged(scenarios, params):
    """No phantom effect: with only land forces and an exercise, the rules change nothing, byte for byte."""
    import dataclasses

    sc = scenarios["baltic_air_policing"]
    land = dataclasses.replace(
        sc,
        forces=tuple(dataclasses.replace(f, domain="land", sorties_per_day=0.0) for f in sc.forces),
        injects=(),
    )
    off = run(land, params, settings(), 20, record_events=True, record_timeseries=True)
    on = run(land, params, settings("incidents_at_sea"), 20, record_events=True, record_timeseries=True)
    assert off.outcomes()["incidents"].sum() > 0  # the exercises still produce incidents
    pd.testing.assert_frame_equal(off.outcomes(), on.outcomes())
    pd.testing.assert_frame_equal(off.timeseries(), on.timeseries())


def test_every_measure_is_documented_and_has_a_config(base_cfg):
    seeds = {"000", "001", "004"}
    for name, cls in registry().items():
        assert issubclass(cls, Measure)
        assert cls.title and cls.mechanism.endswith(".")
        assert cls.source.split(" ", 1)[0] in seeds, f"{name}: source must cite a seed document"
        assert name in base_cfg.measures and base_cfg.measures[name].enabled is False


def test_single_measure_configs_enable_only_that_measure():
    from conftest import compose_config

    assert not any(v["enabled"] for v in settings().values())
    for name in registry():
        cfg = compose_config([f"measures={name}"])
        assert {k for k, v in cfg.measures.items() if v.enabled} == {name}


def test_paired_difference_helper_rejects_a_null_effect():
    same = pd.Series(np.arange(20, dtype=float))
    try:
        assert_reduces(same, same, 0.0)
    except AssertionError:
        return
    raise AssertionError("a zero effect passed")  # pragma: no cover


def test_mean_ci_matches_a_hand_computation():
    x = [1.0, 2.0, 3.0, 4.0, math.nan]
    m, lo, hi, n = mean_ci(x)
    assert n == 4 and m == 2.5
    assert hi - m == pytest.approx(3.182446305 * np.std([1, 2, 3, 4], ddof=1) / 2)  # t(0.975, 3 df)
    assert lo == pytest.approx(2 * m - hi)
