"""One test per mechanism of the model, each on a real EscalationModel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import run, settings, with_params
from sim.core.agents import Act, Deliberation
from sim.core.ladder import ElnCategory, Response
from sim.core.measures import build
from sim.core.model import EscalationModel, clock
from sim.core.spec import InjectSpec, Side


def model_for(scenario, params, measures=None, seed=3, **kw) -> EscalationModel:
    return EscalationModel(scenario, params, build(measures or {}), seed=seed, **kw)


def test_encounter_rate_falls_with_distance_and_activity_rises_with_posture(scenarios, params):
    m = model_for(scenarios["baltic_air_policing"], params)
    same = m._proximity["southern_baltic", "southern_baltic"]
    near = m._proximity["southern_baltic", "central_baltic"]
    far = m._proximity["southern_baltic", "gulf_of_finland"]
    assert same == pytest.approx(params.encounter_rate_per_h)
    assert same > near > far > 0
    assert m.activity_multiplier(Side.RUSSIA) == 1.0
    m.sides[Side.RUSSIA].level = 3
    assert m.activity_multiplier(Side.RUSSIA) == pytest.approx(1 + 2 * params.posture_activity_gain)


def test_higher_encounter_rate_gives_more_incidents_on_common_random_numbers(scenarios, params):
    """Doubling the encounter rate: at least 40% more incidents over 40 paired replications."""
    sc = scenarios["baltic_air_policing"]
    base = run(sc, params, settings(), 40).outcomes()["incidents"].mean()
    more = run(sc, with_params(params, encounter_rate_per_h=2 * params.encounter_rate_per_h), settings(), 40)
    assert more.outcomes()["incidents"].mean() >= 1.4 * base


def test_violations_come_from_aircraft_near_the_other_sides_territory(scenarios, params):
    m = model_for(scenarios["baltic_air_policing"], params)
    # The Gulf of Finland corridor touches NATO territory; the central Baltic is 100+ km from Russia.
    assert m._exposure[Side.RUSSIA]["gulf_of_finland"] == pytest.approx(params.violation_rate_per_h)
    assert m._exposure[Side.NATO]["central_baltic"] < 0.01 * params.violation_rate_per_h


def test_injects_fire_at_their_time_with_their_text(scenarios, params):
    sc = scenarios["black_sea_transit"]
    m = model_for(sc, params)
    m.run()
    for inject in sc.injects:
        hits = [e for e in m.events if e["kind"] == "incident" and f"[inject {inject.id}]" in e["text"]]
        assert len(hits) == 1
        assert hits[0]["time_h"] == pytest.approx(inject.at_h)
        assert hits[0]["clock"] == clock(inject.at_h)


def test_clock_reads_as_day_and_time():
    assert clock(0) == "day 1 00:00"
    assert clock(24 * 2 + 14.5) == "day 3 14:30"


def test_exercise_threat_falls_with_distance_from_the_border(scenarios, params):
    """The same exercise perceived less severe when the theatre puts it farther from the border."""
    sc = scenarios["baltic_air_policing"]
    near, far = (dataclasses.replace(sc, exercises=(dataclasses.replace(sc.exercises[0], zone=z),), injects=())
                 for z in ("pskov", "novgorod"))
    sev = {}
    for name, spec in (("near", near), ("far", far)):
        m = model_for(spec, params)
        m.run_until(spec.exercises[0].start_h + 1)
        sev[name] = next(e["severity"] for e in m.events if e["type"] == "exercise_near_border")
    assert sev["near"] > 1.5 * sev["far"]


def test_perception_is_noisy_and_tension_primes_a_hostile_reading(scenarios, params):
    m = model_for(scenarios["baltic_air_policing"], params)
    act = Act(0.0, Side.RUSSIA, "x", "y", "central_baltic", "air_intercept", 1, 0.3, False, True, ElnCategory.NEAR_ROUTINE)
    calm = np.array([m.perceive(Side.NATO, act) for _ in range(2000)])
    assert calm[:, 0].mean() == pytest.approx(0.3, abs=0.02)
    assert calm[:, 0].std() == pytest.approx(params.perception_noise_sd, rel=0.15)
    m.sides[Side.NATO].tension = 0.9
    tense = np.array([m.perceive(Side.NATO, act) for _ in range(2000)])
    # hostility rises by about hostility_tension_weight x the tension change (0.4 x 0.55)
    assert tense[:, 1].mean() - calm[:, 1].mean() == pytest.approx(0.22, abs=0.04)


def test_a_perceived_act_raises_tension_erodes_trust_and_tension_relaxes(scenarios, params):
    sc = scenarios["baltic_air_policing"]
    m = model_for(sc, params)
    s = m.sides[Side.NATO]
    t0, trust0 = s.tension, s.trust
    act = Act(0.0, Side.RUSSIA, "x", "y", "central_baltic", "air_intercept", 2, 0.6, True, True, ElnCategory.SERIOUS)
    m.absorb_act(Side.NATO, act, severity=0.6, hostility=0.8)
    assert s.tension == pytest.approx(t0 + params.tension_gain * 0.6 * 1.3 * (1 - t0))
    assert s.trust == pytest.approx(trust0 - params.trust_loss * 0.6 * 0.8)
    raised = s.tension - sc.baseline_tension["nato"]
    for _ in range(int(params.tension_relax_h)):
        s.relax(sc.baseline_tension["nato"], m._relax)
    assert s.tension - sc.baseline_tension["nato"] == pytest.approx(raised / np.e, rel=1e-6)


def _choices(m, side, n=3000, **state):
    for k, v in state.items():
        setattr(m.sides[side], k, v)
    act = Act(0.0, side.other, "x", "y", "central_baltic", "air_intercept", 2, 0.5, True, True, ElnCategory.SERIOUS)
    d = Deliberation(m, m.commands[side], act)
    d.perceived_severity, d.perceived_hostility = 0.5, 0.5
    return [m.commands[side].choose(d) for _ in range(n)]


def test_decisions_harden_with_tension_and_soften_with_trust(scenarios, params):
    m = model_for(scenarios["baltic_air_policing"], params)
    forceful = lambda rs: np.mean([r.is_military_act for r in rs])  # noqa: E731
    calm = forceful(_choices(m, Side.NATO, tension=0.2, trust=0.3))
    tense = forceful(_choices(m, Side.NATO, tension=0.9, trust=0.3))
    trusting = forceful(_choices(m, Side.NATO, tension=0.2, trust=0.9))
    assert tense > calm + 0.1
    assert trusting < calm - 0.05
    hostile_memory = forceful(_choices(m, Side.NATO, tension=0.2, trust=0.3, opponent_hostility=0.9))
    assert hostile_memory > calm + 0.05  # reciprocity: a remembered hostile opponent draws harder replies


def test_referred_decisions_are_capped_by_the_commands_proposal(scenarios, params):
    m = model_for(scenarios["baltic_air_policing"], params)
    act = Act(0.0, Side.RUSSIA, "x", "y", "central_baltic", "response", 4, 0.8, True, True)
    d = Deliberation(m, m.leadership[Side.NATO], act, cap=Response.SHOW_OF_FORCE)
    d.perceived_severity, d.perceived_hostility = 1.0, 1.0
    m.sides[Side.NATO].tension = 1.0
    assert max(m.leadership[Side.NATO].choose(d).rung for _ in range(500)) <= Response.SHOW_OF_FORCE.rung


def test_a_level_steps_down_after_its_hold_time(scenarios, params):
    m = model_for(dataclasses.replace(scenarios["baltic_air_policing"], forces=(), injects=(), exercises=()), params)
    m.raise_level(Side.NATO, 3)
    m.run_until(params.rung_hold_h - 1)
    assert m.rung == 3
    m.run_until(params.rung_hold_h + 1)
    assert m.rung == 2
    m.run_until(3 * params.rung_hold_h + 1)
    assert m.rung == 0 and m.peak_rung == 3


def test_a_call_that_arrives_after_the_decision_changes_nothing(scenarios, params):
    """Message latency is real: a hotline slower than the leaders' decision time is never used in time."""
    sc = scenarios["black_sea_transit"]
    fast = run(sc, params, settings("hotline"), 40)
    slow = run(sc, params, settings("hotline", **{"hotline.latency_h": 200}), 40)
    assert fast.outcomes()["hotline_contacts"].sum() > 20
    assert slow.outcomes()["hotline_contacts"].sum() == 0


def test_injects_past_the_horizon_never_fire(scenarios, params):
    sc = scenarios["baltic_air_policing"]
    late = InjectSpec("late", sc.horizon_h + 5, "air_intercept", "ru_su27", "central_baltic", 0.9, True, "late")
    m = model_for(dataclasses.replace(sc, injects=(late,)), params)
    m.run()
    assert not any("[inject late]" in e["text"] for e in m.events)
    assert m.time == sc.horizon_h
