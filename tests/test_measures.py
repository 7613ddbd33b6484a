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

from sim.analysis.stats import mean_ci
from sim.core.measures import Measure, registry

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


def test_exercise_distance_rule_moves_exercises(scenarios, params):
    sc = scenarios["baltic_air_policing"]
    ens = run(sc, params, settings("exercise_distance_rule"), 1, record_events=True)
    moved = [e["text"] for e in ens.replications[0].events if "moved from" in e["text"]]
    assert any("Novgorod region" in t and "Pskov region" in t for t in moved)


def test_exercise_distance_rule_has_no_phantom_effect_where_geography_prevents_it(scenarios, params):
    """Black Sea: no sea zone is 100 km from Russian-held coast, so nothing moves: identical runs."""
    sc = scenarios["black_sea_transit"]
    off = run(sc, params, settings(), 30, record_events=True, record_timeseries=True)
    on = run(sc, params, settings("exercise_distance_rule"), 30, record_events=True, record_timeseries=True)
    pd.testing.assert_frame_equal(off.outcomes(), on.outcomes())
    pd.testing.assert_frame_equal(off.changes(), on.changes())
    assert [r.events for r in off.replications] == [r.events for r in on.replications]


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
    pd.testing.assert_frame_equal(off.changes(), on.changes())


def test_every_measure_is_documented_and_has_a_config(base_cfg):
    seeds = {"000", "001", "004"}
    for name, cls in registry().items():
        assert issubclass(cls, Measure)
        assert cls.title and cls.mechanism.endswith(".") and cls.limits.endswith(".")
        assert cls.control or cls.source.split(" ", 1)[0] in seeds, f"{name}: source must cite a seed document"
        assert name in base_cfg.measures and base_cfg.measures[name].enabled is False
        named = set(cls.mechanism.split(":")[0].lower().replace(" and ", ", ").split(", "))
        assert named and named <= MECHANISMS, f"{name}: the mechanism text must start with what carries it"


MECHANISMS = {"channel", "activity", "rules", "information", "time", "signals", "empty"}


def test_no_measure_touches_a_decision_trust_or_tension():
    """A measure acts through hooks (channels, activity, rules, information): no measure module writes a
    side's trust, tension, public pressure, posture or level, and the base class offers no hook that
    would shift a decision (the first model's decision_shift, hostility_shift and firebreak_shift).
    """
    import ast
    import inspect

    import sim.core.measures as pkg

    forbidden = {"trust", "tension", "audience", "threat", "posture", "level"}
    for name, cls in registry().items():
        tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))
        for node in ast.walk(tree):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for t in targets:
                assert not (isinstance(t, ast.Attribute) and t.attr in forbidden), f"{name} writes .{t.attr}"
    hooks = {n for n, _ in inspect.getmembers(pkg.Measure, inspect.isfunction)}
    assert not hooks & {"decision_shift", "hostility_shift", "firebreak_shift", "decision_time_factor", "unsafe_factor"}


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
