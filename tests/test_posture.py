"""Decisions and posture (sim/core/posture.py), unit by unit on a real EscalationModel, against hand-computed values.

The leadership's assessment is made exact: no noise (or a seeded stream), cuts at 1, 2, 3.5, 4.5, 5.5
(first 1, step 1, war firebreak 0.5 from the posture that authorises armed clash), hysteresis 0.25, and
each input a binary fraction, so that an assessment can sit exactly on a cut. These are the
mutation-testing tests of the module (experiments/mutation.py).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import before_joint_fit, with_params

from sim.core.agents import Act
from sim.core.model import EscalationModel
from sim.core.spec import ForceSpec, Side

EXACT = {
    "posture_noise_sd": 0.0,
    "posture_cut_first": 1.0,
    "posture_cut_step": 1.0,
    "war_firebreak": 0.5,
    "posture_hysteresis": 0.25,
    "backdown_cost": 0.5,
    "nac_consensus_margin": 0.5,
}


@pytest.fixture
def params(params):
    """The parameters this module's arithmetic was written with: the fitted ones as before the joint fit."""
    return before_joint_fit(params)


@pytest.fixture
def baltic(scenarios):
    return scenarios["baltic_air_policing"]


@pytest.fixture
def quiet(baltic):
    return dataclasses.replace(baltic, forces=(), injects=(), exercises=(), background=())


def model(scenario, params, **changes) -> EscalationModel:
    return EscalationModel(scenario, with_params(params, **changes), seed=1)


def exact(scenario, params, **changes) -> EscalationModel:
    """A model whose leaderships' aggressiveness is 0.5 (no say in the assessment) and whose cuts are exact."""
    m = model(scenario, params, **{**EXACT, **changes})
    for leader in m.leadership.values():
        leader.traits = dataclasses.replace(leader.traits, aggressiveness=0.5)
    return m


def act(rung=2, severity=0.3, itype="air_intercept", **kw) -> Act:
    return Act(0.0, Side.RUSSIA, "the Su-27 pair", "y", "central_baltic", itype, rung, severity, True, True, **kw)


def reviews_at(m) -> list[float]:
    """When the posture review is planned on the model's event list."""
    return sorted(t for t, _, fn, _ in m._queue if getattr(fn, "__self__", None) is m._review)


def review(m, side, tension=0.0, audience=0.0, threat=0.0, **kw) -> int:
    s = m.sides[side]
    s.tension, s.audience = tension, audience
    m.review_posture(side, threat, **kw)
    return s.posture


# ---------------------------------------------------------------------------------- standing rules, rungs, cuts
def test_standing_rules_take_routine_acts_below_the_triage_threshold_in_a_calm_posture(baltic, params):
    m = model(baltic, params, triage_threshold=0.5)
    assert m.standing_rules_apply(Side.NATO, act(rung=3), 0.49)
    assert not m.standing_rules_apply(Side.NATO, act(rung=3), 0.5)  # at the threshold: a decision
    assert not m.standing_rules_apply(Side.NATO, act(rung=4), 0.1)  # a use of force always is
    m.sides[Side.RUSSIA].posture = 1
    assert m.standing_rules_apply(Side.NATO, act(rung=1), 0.1)  # the other side's posture does not count
    m.sides[Side.NATO].posture = 1
    assert not m.standing_rules_apply(Side.NATO, act(rung=1), 0.1)  # a raised posture: every report is decided


def test_a_posture_authorises_two_rungs_above_itself_up_to_the_nuclear_threshold(baltic, params):
    m = model(baltic, params)
    assert [m.allowed_rung_at(k) for k in range(7)] == [2, 3, 4, 5, 6, 7, 7]
    m.sides[Side.NATO].posture = 3
    assert m.allowed_rung(Side.NATO) == 5 and m.allowed_rung(Side.RUSSIA) == 2


def test_the_posture_cuts_are_evenly_spaced_with_the_war_firebreak_from_armed_clash(baltic, params):
    m = model(baltic, params)  # first 1.481, step 1.0, war firebreak 1.5
    cuts = [m.posture_cut(k) for k in range(1, 6)]
    assert cuts == pytest.approx([1.481, 2.481, 3.481 + 1.5, 4.481 + 1.5, 5.481 + 1.5])
    m2 = model(baltic, params, posture_cut_step=0.5, posture_cut_first=-1.0, war_firebreak=2.0)
    assert [m2.posture_cut(k) for k in (1, 2, 3)] == pytest.approx([-1.0, -0.5, 2.0])


def test_the_firebreak_grows_per_rung_above_two_and_jumps_at_armed_clash(baltic, params):
    m = model(baltic, params, rung_firebreak=0.25, war_firebreak=2.0)
    assert [m.firebreak(r) for r in range(8)] == pytest.approx([0, 0, 0, 0.25, 0.5, 2.75, 3.0, 3.25])


def test_missiles_facing_means_the_other_sides_intermediate_range_missiles(baltic, params):
    inf = ForceSpec("ru_ssc8", Side.RUSSIA, "9M729 battalion", "intermediate_range_missile", "land", "kaliningrad",
                    {"kaliningrad": 1.0}, 0.0, 1.0, member="ru")  # fmt: skip
    m = model(dataclasses.replace(baltic, forces=(*baltic.forces, inf)), params)
    assert m.missiles_facing(Side.NATO) and not m.missiles_facing(Side.RUSSIA)
    assert not model(baltic, params).missiles_facing(Side.NATO)


# ---------------------------------------------------------------------------------- caution, first use
def test_caution_adds_rungs_above_an_incident_the_dead_and_the_nuclear_shadow(baltic, params):
    m = model(baltic, params, caution_w_rung=0.5, caution_w_deaths=0.25, caution_nuclear_shadow=0.125)
    expected = {0: 0.0, 2: 0.0, 3: 0.5, 4: 1.0 + 0.125, 5: 1.5 + 0.25, 7: 2.5 + 0.5}
    for rung, value in expected.items():
        m.sides[Side.RUSSIA].level = rung  # caution reads the confrontation's rung, whoever stands there
        assert m.caution(Side.NATO) == pytest.approx(value), rung
    m.sides[Side.RUSSIA].level = 0
    m.mourn(Side.NATO, 3)
    assert m.caution(Side.NATO) == pytest.approx(0.25 * math.log(4))


def test_first_use_costs_only_a_use_of_force_while_the_other_side_has_not_fired(baltic, params):
    m = model(baltic, params, first_use_cost=2.5, caution_memory_h=100.0)
    assert m.first_use_cost(Side.NATO, 3) == 0.0
    assert m.first_use_cost(Side.NATO, 4) == 2.5
    m.time = 500.0
    m.sides[Side.NATO].fired = 499.0  # its own fire does not make its next use of force a reply
    assert m.first_use_cost(Side.NATO, 5) == 2.5
    m.sides[Side.RUSSIA].fired = 400.0  # exactly one memory ago: still firing back
    assert m.first_use_cost(Side.NATO, 4) == 0.0
    m.sides[Side.RUSSIA].fired = 399.5
    assert m.first_use_cost(Side.NATO, 4) == 2.5


# ---------------------------------------------------------------------------------- termination reasons
def test_a_posture_may_step_down_after_a_stand_down_a_contact_or_a_pause_since_it_rose(baltic, params):
    m = model(baltic, params, termination_pause_h=48.0)
    s = m.sides[Side.RUSSIA]
    s.raised_at, m.time = 10.0, 57.0
    assert m.termination_reason(Side.RUSSIA) == ""  # 47 h: no reason
    m.time = 58.0
    assert m.termination_reason(Side.RUSSIA) == "after 2 days without a dangerous act by NATO"  # 48 h exactly
    s.last_dangerous = 11.0  # a dangerous act since the posture rose restarts the pause
    assert m.termination_reason(Side.RUSSIA) == ""
    s.last_dangerous = 9.0
    assert m.termination_reason(Side.RUSSIA) != ""
    s.last_dangerous, s.last_contact = 11.0, 9.0  # a contact before the rise is no reason
    assert m.termination_reason(Side.RUSSIA) == ""
    s.last_contact = 10.0
    assert m.termination_reason(Side.RUSSIA) == "after contact with NATO"
    s.standdown_seen = 9.0
    assert m.termination_reason(Side.RUSSIA) == "after contact with NATO"
    s.standdown_seen = 10.0
    assert m.termination_reason(Side.RUSSIA) == "after NATO's stand-down"
    short = model(baltic, params, termination_pause_h=24.0)
    short.time = 36.0  # a day and a half reads as 2 days
    assert short.termination_reason(Side.NATO) == "after 2 days without a dangerous act by Russia"


# ---------------------------------------------------------------------------------- review_posture
def test_the_assessment_weighs_tension_pressure_threat_and_aggressiveness(baltic, params):
    """Russia: 2 x 0.25 + 1 x 0.25 + 2.5 x max(0.4, 0.2) + 2 x (0.75 - 0.5) = 2.25 > 2: robust."""
    m = exact(baltic, params)
    leader = m.leadership[Side.RUSSIA]
    leader.traits = dataclasses.replace(leader.traits, aggressiveness=0.75)
    m.sides[Side.RUSSIA].threat = 0.2
    m.time = 5.0
    assert review(m, Side.RUSSIA, tension=0.25, audience=0.25, threat=0.4) == 2
    assert m.sides[Side.RUSSIA].raised_at == 5.0
    line = next(e for e in m.events if e["kind"] == "posture")
    assert line["text"] == (
        "Kremlin (Security Council) sets a robust posture driven by the threat perceived: "
        "replies up to use of force, limited are authorised"
    )
    assert line["reason"] == "driven by the threat perceived" and line["side"] == "russia"
    assert line["actors"] == ["Kremlin (Security Council)"]
    m2 = exact(baltic, params)
    m2.sides[Side.RUSSIA].threat = 0.4  # the worst recent act weighs when the act at hand is milder
    assert review(m2, Side.RUSSIA, tension=0.25, audience=0.25, threat=0.2) == 1  # 1.75: aggressiveness 0.5
    assert m2.sides[Side.NATO].posture == 0


def test_an_assessment_on_a_cut_does_not_take_its_posture(baltic, params):
    m = exact(baltic, params)
    assert review(m, Side.RUSSIA, tension=0.5) == 0  # 1.0: on the first cut
    assert m.events == [] and not m._review.planned
    assert review(m, Side.RUSSIA, tension=0.5, audience=0.25) == 1  # 1.25
    m.time = 3.0
    assert review(m, Side.RUSSIA, tension=0.5, audience=1.0) == 1  # 2.0: on the second cut
    assert m.sides[Side.RUSSIA].raised_at == 0.0  # a review that keeps the posture does not raise it anew
    pressed = exact(baltic, params)
    assert review(pressed, Side.RUSSIA, audience=1.25) == 1
    assert pressed.events[-1]["reason"] == "driven by public pressure"
    line = [e for e in m.events if e["kind"] == "posture"][-1]
    assert line["text"].endswith(
        "sets a firm posture driven by felt tension: replies up to show of force are authorised"
    )


def test_the_brink_and_caution_hold_the_assessment_back(baltic, params):
    """At armed clash (rung 5): brink 1 x (5 - 3) and caution 0.5 x 3 + 0.3 x 2; 6.0 - 4.1 = 1.9: firm."""
    m = exact(baltic, params, caution_w_rung=0.5, caution_nuclear_shadow=0.3)
    m.sides[Side.NATO].level = 5
    assert review(m, Side.RUSSIA, tension=1.0, audience=1.0, threat=1.0) == 1
    m2 = exact(baltic, params, caution_w_rung=0.5, caution_nuclear_shadow=0.3)
    m2.sides[Side.NATO].level = 4  # brink 1, caution 1.0 + 0.3: 5.5 - 2.3 = 3.2: robust
    assert review(m2, Side.RUSSIA, tension=1.0, audience=1.0, threat=1.0) == 2


def test_the_assessment_is_disturbed_by_the_posture_stream(baltic, params):
    m = exact(baltic, params, posture_noise_sd=0.5)
    m.streams["posture"] = np.random.default_rng(3)
    z = np.random.default_rng(3).normal()
    x = 2.5 * 0.5 + 0.5 * z  # 1.25 without the noise: firm
    assert review(m, Side.RUSSIA, threat=0.5) == sum(x > c for c in (1.0, 2.0, 3.5, 4.5, 5.5)) != 1


def test_the_nac_takes_a_posture_authorising_force_only_a_margin_above_its_cut(baltic, params):
    """NATO's cut for robust (force) is 2, plus the consensus margin 0.5; Russia's is 2."""
    for tension, threat, nato, russia in [
        (0.0, 0.5, 1, 1),  # 1.25: firm authorises no force, no margin needed
        (0.0, 1.0, 1, 2),  # 2.5: on the margin
        (0.125, 1.0, 2, 2),  # 2.75
        (0.75, 1.0, 2, 3),  # 4.0: coercive is 0.5 above its cut of 3.5, robust more than 0.5 above 2
        (1.5, 1.0, 4, 4),  # 5.5: above 4.5 by 1.0
    ]:
        got = [review(exact(baltic, params), side, tension=tension, threat=threat) for side in (Side.NATO, Side.RUSSIA)]
        assert got == [nato, russia], (tension, threat)


def test_a_raised_posture_plans_the_review_and_names_the_act_it_answers(baltic, params):
    m = exact(baltic, params)
    m.time = 30.0
    a = act(id=17)
    assert review(m, Side.NATO, tension=0.625, about=a) == 1
    line = m.events[-1]
    assert line["reason"] == "after the flight of the Su-27 pair" and line["answers"] == 17
    assert m._review.planned and m._review.last == 24.0
    assert reviews_at(m) == [48.0]


def test_a_posture_steps_down_one_step_with_a_reason_below_its_cut_by_the_hysteresis_and_the_backdown(baltic, params):
    """Robust (2), public pressure 0.5: steps down below 2 - 0.25 - 0.5 x 0.5 = 1.5, with a reason."""
    m = exact(baltic, params)
    s = m.sides[Side.RUSSIA]
    s.posture, m.time = 2, 100.0
    assert review(m, Side.RUSSIA, tension=0.5, audience=0.5) == 2  # 1.5: on the line, it holds
    assert review(m, Side.RUSSIA, tension=0.375, audience=0.5) == 1  # 1.25
    line = m.events[-1]
    assert line["reason"] == "after 4 days without a dangerous act by NATO"
    assert line["text"].startswith("Kremlin (Security Council) sets a firm posture after 4 days")
    s.posture = 3
    assert review(m, Side.RUSSIA) == 2  # 0: one step at a time
    m.time = 50.0
    assert review(m, Side.RUSSIA) == 2  # no reason (50 h since it rose at 0): it holds
    calm = exact(baltic, params)
    calm.sides[Side.RUSSIA].posture, calm.time = 1, 100.0
    assert review(calm, Side.RUSSIA) == 0
    assert not calm._review.planned  # calm: nothing to review
    assert review(calm, Side.RUSSIA) == 0  # calm is the floor


def test_a_sanction_posture_suspends_contacts_and_a_calm_one_restores_them_after_the_suspension(baltic, params):
    m = exact(baltic, params, sanction_posture=3, suspension_days=20.0)
    s = m.sides[Side.RUSSIA]
    assert review(m, Side.RUSSIA, tension=0.75, threat=0.5) == 2  # 2.75
    assert s.suspended == {} and m.suspensions == 0
    m.time = 6.0
    assert review(m, Side.RUSSIA, tension=0.75, threat=1.0) == 3  # 4.0
    assert s.suspended == {"": 6.0} and m.suspensions == 1
    assert m.events[-1]["text"] == "Russia suspends military contacts with NATO as a sanction"
    m.review_posture(Side.RUSSIA, 1.0)
    assert m.suspensions == 1  # once
    s.suspended["pl"] = 10.0
    s.posture, s.raised_at, m.time = 2, 0.0, 486.0  # 20 days after the sanction
    assert review(m, Side.RUSSIA, tension=0.75, threat=0.5) == 2
    assert set(s.suspended) == {"", "pl"}  # robust: contacts stay suspended
    s.posture = 1
    assert review(m, Side.RUSSIA, tension=0.625) == 1
    assert s.suspended == {"pl": 10.0}  # Poland's 20 days are not over
    assert m.events[-1]["text"] == "Russia restores military contacts with NATO"
    m.time = 489.0
    assert review(m, Side.RUSSIA, tension=0.625) == 1
    assert s.suspended == {"pl": 10.0}
    m.time = 490.0
    review(m, Side.RUSSIA, tension=0.625)
    assert s.suspended == {} and m.events[-1]["text"] == "Russia restores military contacts with Poland"


# ---------------------------------------------------------------------------------- suspend, restore
def test_suspension_and_restoration_are_announced_by_the_level_that_decided(quiet, params):
    m = model(quiet, params, signal_delay_h=2.0, signal_weight=0.25)
    r0 = m.sides[Side.RUSSIA].trust
    m.time = 3.0
    m.suspend(Side.NATO, "", "as a sanction")
    m.suspend(Side.NATO, "", "again")  # already suspended: nothing
    m.suspend(Side.NATO, "us", "after the shoot-down")
    m.suspend(Side.RUSSIA, "pl", "in reply")
    assert m.sides[Side.NATO].suspended == {"": 3.0, "us": 3.0} and m.suspensions == 3
    texts = [e["text"] for e in m.events if e["kind"] == "signal"]
    assert texts == [
        "The North Atlantic Council suspends military contacts with Russia as a sanction",
        "The United States suspends military contacts with Russia after the shoot-down",
        "Russia suspends military contacts with Poland in reply",
    ]
    assert m.events[0]["actors"] == ["North Atlantic Council and capitals"]
    assert m._review.planned  # suspended contacts are reviewed
    m.run_until(5.5)  # the two NATO suspensions reach Russia: trust moves toward 0 by 1/4, twice
    assert m.sides[Side.RUSSIA].trust == pytest.approx(r0 * 0.75 * 0.75)
    t1 = m.sides[Side.NATO].trust
    m.restore(Side.NATO, "us")
    m.restore(Side.RUSSIA, "pl")
    assert m.sides[Side.NATO].suspended == {"": 3.0} and m.sides[Side.RUSSIA].suspended == {}
    assert [e["text"] for e in m.events[-2:]] == [
        "The United States restores military contacts with Russia",
        "Russia restores military contacts with Poland",
    ]
    m.run_until(8.0)  # Poland's restoration reaches NATO: trust moves toward 1 by 1/4
    assert m.sides[Side.NATO].trust == pytest.approx(t1 + 0.25 * (1 - t1))


# ---------------------------------------------------------------------------------- the review's rhythm
def test_the_review_keeps_its_rhythm_from_the_start_and_stops_at_the_horizon(quiet, params):
    m = model(quiet, params, posture_review_h=24.0)
    review = m._review
    m.time = 50.0
    review.wake()
    assert review.last == 48.0 and review.planned
    review.wake()  # planned already: nothing more
    m.time = 55.0
    review.wake()
    assert reviews_at(m) == [72.0]
    m2 = model(quiet, params, posture_review_h=24.0)
    m2.time = 48.0  # on the rhythm: the review is now
    m2._review.wake()
    assert m2._review.last == 24.0 and reviews_at(m2) == [48.0]
    m3 = model(quiet, params, posture_review_h=24.0)
    m3.time = 697.0  # the next review would fall on the horizon (720 h): none
    m3._review.wake()
    assert not m3._review.planned and m3._review.last == 696.0 and m3._queue == []


def test_a_review_reviews_the_sides_with_something_to_review_and_goes_on_while_one_has(quiet, params):
    m = exact(quiet, params)
    nato, russia = m.sides[Side.NATO], m.sides[Side.RUSSIA]
    nato.posture, nato.tension = 1, 0.0  # will step down: 72 h quiet since it rose
    russia.suspended[""] = 0.0  # contacts suspended: Russia's leadership reviews them
    russia.tension = 1.0  # 2.0 on its own: its review raises it to firm
    m.time, m._review.planned = 96.0, True  # as when the review fires from the event list
    m._review.fire()
    assert m._review.last == 96.0
    assert nato.posture == 0 and russia.posture == 1
    assert m._review.planned and reviews_at(m) == [120.0]
    m2 = exact(quiet, params)
    m2.sides[Side.NATO].posture, m2.time, m2._review.planned = 1, 96.0, True
    m2.sides[Side.RUSSIA].tension = 1.0  # nothing to review for Russia: no review raises its posture
    m2._review.fire()
    assert m2.sides[Side.NATO].posture == 0 and m2.sides[Side.RUSSIA].posture == 0
    assert not m2._review.planned and m2._queue == []
