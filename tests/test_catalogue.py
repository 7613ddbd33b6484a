"""The full catalogue: every measure changes the simulation through its stated mechanism.

Each effect test runs the same 200 replication seeds with the measure off and on (common random
numbers) and asserts a mean paired reduction of at least the stated minimum, with a 95% interval
that excludes zero. Minimums are about half the effect measured when the test was written (in
brackets). Measures that act only near the top of the ladder are tested in a "hot" variant of
the Black Sea scenario (no firebreaks between rungs), where the top rungs are reached.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from conftest import compose_config, run, settings
from sim.config import measure_settings, model_params
from sim.core.measures import registry
from test_measures import assert_reduces

N = 200
HOT = ["model.war_firebreak=0", "model.rung_firebreak=0", "model.cut_escalate=4.2"]


@pytest.fixture(scope="module")
def baseline(scenarios, params):
    """The measure-off runs, shared by every effect test of a scenario."""
    return {name: run(scenarios[name], params, settings(), N).outcomes() for name in ("baltic_air_policing", "black_sea_transit")}


EFFECTS = [
    # measure, scenario, outcome, minimum mean reduction, [measured]
    ("liaison_mission", "baltic_air_policing", "crisis_days", 0.25, "0.56 days"),
    ("exercise_notification", "baltic_air_policing", "incidents_serious", 0.45, "0.93"),
    ("reduced_exercise_scale", "baltic_air_policing", "incidents_serious", 0.7, "1.49"),
    ("unilateral_restraint", "baltic_air_policing", "peak_rung", 0.25, "0.55 rungs"),
    ("reduced_activity_zone", "baltic_air_policing", "incidents", 8.0, "16.5"),
    ("reduced_activity_zone", "baltic_air_policing", "peak_rung", 0.25, "0.50 rungs"),
    ("cooperative_engagement", "baltic_air_policing", "peak_rung", 0.25, "0.51 rungs"),
]


@pytest.mark.parametrize(("measure", "scenario", "outcome", "minimum", "measured"), EFFECTS)
def test_measure_reduces_its_outcome(scenarios, params, baseline, measure, scenario, outcome, minimum, measured):
    on = run(scenarios[scenario], params, settings(measure), N).outcomes()
    assert_reduces(baseline[scenario][outcome], on[outcome], minimum)


def test_nrc_rhythm_damps_tension(scenarios, params):
    """Baltic, 200 pairs: run-average tension (mean of both sides) falls by >= 0.01 [measured 0.500 -> 0.476]."""
    sc = scenarios["baltic_air_policing"]

    def mean_tension(ens):
        ts = ens.timeseries()
        ts["t"] = (ts["tension_nato"] + ts["tension_russia"]) / 2
        return ts.groupby("replication")["t"].mean()

    off = mean_tension(run(sc, params, settings(), N, record_timeseries=True))
    on = mean_tension(run(sc, params, settings("nrc_rhythm"), N, record_timeseries=True, record_events=True))
    assert_reduces(off, on, 0.01)


@pytest.mark.parametrize(
    ("measure", "rung", "minimum"),
    [
        ("strategic_stability_dialogue", 7, 0.08),  # measured 19.5% -> 2%
        ("nuclear_posture_transparency", 7, 0.04),  # measured 19.5% -> 10.5%
        ("zero_option", 5, 0.07),  # measured 32.5% -> 16%
    ],
)
def test_top_of_ladder_measures_in_a_hot_crisis(scenarios, measure, rung, minimum):
    """Hot Black Sea, 200 pairs: P(peak rung >= the measure's rung) falls by at least ``minimum``."""
    cfg = compose_config(HOT)
    hot = model_params(cfg)
    sc = scenarios["black_sea_transit"]
    off = run(sc, hot, measure_settings(cfg), N).outcomes()["peak_rung"] >= rung
    on = run(sc, hot, settings(measure), N).outcomes()["peak_rung"] >= rung
    assert_reduces(off.astype(float), on.astype(float), minimum)


def test_liaison_and_nrc_channels_are_used(scenarios, params):
    ens = run(scenarios["black_sea_transit"], params, settings("liaison_mission", "nrc_rhythm"), 30, record_events=True)
    channels = {e["channel"] for r in ens.replications for e in r.events if e["kind"] == "clarification"}
    assert "liaison" in channels and "nrc" in channels


def test_unilateral_restraint_is_withdrawn_when_never_returned(scenarios, params):
    sc = scenarios["baltic_air_policing"]
    never = settings("unilateral_restraint", **{"unilateral_restraint.reciprocation_base": 0, "unilateral_restraint.reciprocation_trust_gain": 0})
    ens = run(sc, params, never, 3, record_events=True)
    texts = [e["text"] for e in ens.replications[0].events if e["kind"] == "restraint"]
    assert texts[0].startswith("NATO announces restraint step 1")
    assert any("withdraws" in t for t in texts) and not any("reciprocates" in t for t in texts)
    always = settings("unilateral_restraint", **{"unilateral_restraint.reciprocation_base": 1, "unilateral_restraint.initiator": "russia"})
    texts = [e["text"] for e in run(sc, params, always, 1, record_events=True).replications[0].events if e["kind"] == "restraint"]
    assert texts[:2] == ["Russia announces restraint step 1: fewer sorties near the border", "NATO reciprocates with restraint step 1"]
    assert not any("withdraws" in t for t in texts)


@pytest.mark.parametrize("measure", ["exercise_notification", "reduced_exercise_scale", "exercise_distance_rule"])
def test_exercise_measures_have_no_phantom_effect_without_exercises(scenarios, params, measure):
    sc = dataclasses.replace(scenarios["baltic_air_policing"], exercises=())
    off = run(sc, params, settings(), 20, record_events=True, record_timeseries=True)
    on = run(sc, params, settings(measure), 20, record_events=True, record_timeseries=True)
    pd.testing.assert_frame_equal(off.outcomes(), on.outcomes())
    pd.testing.assert_frame_equal(off.timeseries(), on.timeseries())


def test_all_is_the_union_of_its_parts():
    union = settings(*registry())
    assert measure_settings(compose_config(["measures=all"])) == union
    for bundle in ("eln_seven", "eln_riac_basic", "eln_riac_enhanced", "cooperative_2004"):
        cfg = measure_settings(compose_config([f"measures={bundle}"]))
        parts = [m for m, v in cfg.items() if v["enabled"]]
        assert cfg == settings(*parts)  # a bundle only switches measures on; parameters are each measure's own


def test_bundles_combine_with_single_toggles():
    cfg = compose_config(["measures=eln_riac_basic", "measures.liaison_mission.enabled=true", "measures.hotline.latency_h=2"])
    enabled = {m for m, v in cfg.measures.items() if v.enabled}
    assert enabled == {"nrc_rhythm", "mil_to_mil_meetings", "hotline", "liaison_mission"}
    assert cfg.measures.hotline.latency_h == 2


def test_bundles_follow_their_sources():
    on = lambda b: {m for m, v in compose_config([f"measures={b}"]).measures.items() if v.enabled}  # noqa: E731
    from_000 = {m for m, c in registry().items() if "000" in c.source}
    assert on("eln_seven") == from_000
    assert on("eln_riac_basic") < on("eln_riac_enhanced")
    assert "cooperative_engagement" in on("cooperative_2004") and on("all") == set(registry()) and not on("none")
