"""Perception (sim/core/perception.py), unit by unit on a real EscalationModel, against hand-computed values.

The noise of ``perceive`` is controlled by replacing the model's perception stream with a generator of a
fixed seed: the expected reading is computed from the same draws. These are the mutation-testing tests of
the module (experiments/mutation.py): each asserts a formula, an edge of a comparison or a stored value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import before_joint_fit, settings, with_params

from sim.core.agents import Act
from sim.core.engine import Draws
from sim.core.measures import build
from sim.core.model import EscalationModel
from sim.core.spec import Side


@pytest.fixture
def params(params):
    """The parameters this module's arithmetic was written with: the fitted ones as before the joint fit."""
    return before_joint_fit(params)


@pytest.fixture
def baltic(scenarios):
    return scenarios["baltic_air_policing"]


def model(scenario, params, measures=None, **changes) -> EscalationModel:
    return EscalationModel(scenario, with_params(params, **changes), build(measures or {}), seed=1)


def act(rung=2, severity=0.3, deliberate=True, itype="air_intercept", kind="fighter", **kw) -> Act:
    return Act(0.0, Side.RUSSIA, "x", "y", "central_baltic", itype, rung, severity, deliberate, True, kind=kind, **kw)


def logit(p):
    return math.log(p / (1 - p))


def logistic(x):
    return 1 / (1 + math.exp(-x))


# ---------------------------------------------------------------------------------- measure_noise_factor
def test_the_noise_factor_is_the_product_of_the_measures_factors(baltic, params):
    m = model(baltic, params)
    assert m.measure_noise_factor(Side.NATO, act()) == 1.0  # no measure: the noise as it is
    both = model(baltic, params, settings("cooperative_engagement", "nuclear_posture_transparency"))
    # shared understanding 0.25 on every act; nuclear clarity 0.5 on a bomber's act only
    assert both.measure_noise_factor(Side.NATO, act(kind="bomber")) == pytest.approx(0.75 * 0.5)
    assert both.measure_noise_factor(Side.NATO, act(kind="fighter")) == pytest.approx(0.75)
    assert both.measure_noise_factor(Side.NATO) == pytest.approx(0.75)  # no act: nothing nuclear about it


# ---------------------------------------------------------------------------------- perceive
def test_perceive_reads_severity_and_intent_from_the_same_draws(baltic, params):
    """Severity 0.3 + 0.15 x f x z1; hostility logistic(logit(1 - trust) + 0.5 x truth + 0.7 x f x z2)."""
    m = model(baltic, params, settings("cooperative_engagement", "nuclear_posture_transparency"))
    f = 0.75 * 0.5
    m.perception_draws = Draws(np.random.default_rng(42))
    z1, z2 = np.random.default_rng(42).normal(size=2)
    severity, hostility = m.perceive(Side.NATO, act(kind="bomber"))
    assert severity == pytest.approx(0.3 + 0.15 * f * z1, rel=1e-12)
    assert hostility == pytest.approx(logistic(logit(0.8) + 0.5 + 0.7 * f * z2), rel=1e-12)
    # an accident shows the other way, and a trusting side reads less hostility into it
    m.sides[Side.NATO].trust = 0.6
    m.perception_draws = Draws(np.random.default_rng(43))
    z1, z2 = np.random.default_rng(43).normal(size=2)
    severity, hostility = m.perceive(Side.NATO, act(deliberate=False, severity=0.7, kind="bomber"))
    assert severity == pytest.approx(0.7 + 0.15 * f * z1, rel=1e-12)
    assert hostility == pytest.approx(logistic(logit(0.4) - 0.5 + 0.7 * f * z2), rel=1e-12)


def test_perceive_clips_severity_to_the_unit_interval(baltic, params):
    m = model(baltic, params, perception_noise_sd=5.0)
    m.perception_draws = Draws(np.random.default_rng(0))
    readings = [m.perceive(Side.NATO, act(severity=0.5))[0] for _ in range(50)]
    assert min(readings) == 0.0 and max(readings) == 1.0


def test_the_familiar_reads_as_less_hostile(baltic, params):
    """Ten acts of a kind seen: novelty 1/2, so 1.0 x (1 - 1/2) is taken off the log-odds."""
    m = model(baltic, params)
    a = act()
    for _ in range(10):
        m.get_used_to(Side.NATO, a)
    m.perception_draws = Draws(np.random.default_rng(5))
    _, z2 = np.random.default_rng(5).normal(size=2)
    _, hostility = m.perceive(Side.NATO, a)
    assert hostility == pytest.approx(logistic(logit(0.8) + 0.5 + 0.7 * z2 - 0.5), rel=1e-12)


def test_a_notification_lowers_the_hostility_read_by_trust_and_observers_see_the_truth(baltic, params):
    m = model(baltic, params)
    m.sides[Side.NATO].trust = 0.3
    cases = {
        # notified: the stated intent, credible as far as it is trusted: - 0.3 x 2.0
        (True, False, True): logit(0.7) + 0.5 - 0.3 * 2.0,
        # observed: a direct look, 0.7 x 2.0 toward the truth
        (False, True, True): logit(0.7) + 0.5 + 0.7 * 2.0,
        (False, True, False): logit(0.7) - 0.5 - 0.7 * 2.0,
        (True, True, False): logit(0.7) - 0.5 - 0.3 * 2.0 - 0.7 * 2.0,
    }
    for (notified, observed, deliberate), x in cases.items():
        m.perception_draws = Draws(np.random.default_rng(9))
        _, z2 = np.random.default_rng(9).normal(size=2)
        a = act(itype="exercise", deliberate=deliberate, notified=notified, observed=observed)
        _, hostility = m.perceive(Side.NATO, a)
        assert hostility == pytest.approx(logistic(x + 0.7 * z2), rel=1e-12), (notified, observed, deliberate)


# ---------------------------------------------------------------------------------- novelty, get_used_to
def test_novelty_falls_with_the_acts_of_a_kind_and_recovers_with_time(baltic, params):
    m = model(baltic, params)
    a = act()
    assert m.novelty(Side.NATO, a) == 1.0
    m.get_used_to(Side.NATO, a)
    assert m.sides[Side.NATO].familiar == {"air_intercept": (1.0, 0.0)}
    assert m.novelty(Side.NATO, a) == pytest.approx(1 / 1.1)
    m.time = 720.0  # one memory time later
    assert m.novelty(Side.NATO, a) == pytest.approx(1 / (1 + 0.1 * math.exp(-1)))
    m.get_used_to(Side.NATO, a)
    assert m.sides[Side.NATO].familiar["air_intercept"] == pytest.approx((math.exp(-1) + 1.0, 720.0))
    m.time = 1440.0
    assert m.novelty(Side.NATO, a) == pytest.approx(1 / (1 + 0.1 * (math.exp(-1) + 1) * math.exp(-1)))
    m.get_used_to(Side.NATO, a)  # the count fades from when it was last updated (720 h), not from the start
    assert m.sides[Side.NATO].familiar["air_intercept"] == pytest.approx(
        ((math.exp(-1) + 1) * math.exp(-1) + 1, 1440.0)
    )
    assert m.novelty(Side.RUSSIA, a) == 1.0  # the other side has seen nothing


def test_novelty_counts_replies_by_rung_and_never_gets_used_to_force(baltic, params):
    m = model(baltic, params)
    show, force = act(rung=3, itype="response"), act(rung=4, itype="response")
    for a in (show, show, force):
        m.get_used_to(Side.NATO, a)
    assert set(m.sides[Side.NATO].familiar) == {"response_3", "response_4"}
    assert m.novelty(Side.NATO, show) == pytest.approx(1 / 1.2)
    assert m.novelty(Side.NATO, act(rung=2, itype="response")) == 1.0  # another rung, another kind
    assert m.novelty(Side.NATO, force) == 1.0  # a use of force is never familiar
    m.sides[Side.NATO].familiar["air_intercept"] = (10.0, 0.0)
    assert m.novelty(Side.NATO, act(rung=4)) == 1.0
    assert m.novelty(Side.NATO, act(rung=3)) == pytest.approx(0.5)


def test_without_habituation_everything_is_new(baltic, params):
    m = model(baltic, params, habituation_rate=0.0)
    m.sides[Side.NATO].familiar["air_intercept"] = (10.0, 0.0)
    assert m.novelty(Side.NATO, act()) == 1.0


# ---------------------------------------------------------------------------------- absorb_act, learn
def test_absorbing_an_act_moves_tension_threat_trust_and_the_count(baltic, params):
    """Tension 0.35 + 0.4 x n x s x h x 0.65; threat max(before, n s h); trust 0.2 + 0.05 s (1 - h - 0.2)."""
    m = model(baltic, params)
    s = m.sides[Side.NATO]
    a = act(rung=1)
    for _ in range(10):
        m.get_used_to(Side.NATO, a)  # novelty 1/2
    s.threat, s.restraint_trust = 0.05, 0.1
    m.time = 5.0
    m.absorb_act(Side.NATO, a, severity=0.6, hostility=0.9)
    n = 1 / (1 + 0.1 * 10 * math.exp(-5 / 720))
    assert s.tension == pytest.approx(0.35 + 0.4 * n * 0.6 * 0.9 * 0.65)
    assert s.threat == pytest.approx(n * 0.6 * 0.9)
    assert s.trust == pytest.approx(0.2 + 0.05 * 0.6 * (0.1 - 0.2))
    assert s.restraint_trust == pytest.approx(0.1 * (1 - 0.05 * 0.6))
    assert s.familiar["air_intercept"] == pytest.approx((10 * math.exp(-5 / 720) + 1, 5.0))
    assert s.audience == 0.0 and s.last_dangerous == -math.inf  # not public, below a dangerous incident
    assert m.unexplained[Side.NATO] == []
    s.threat = 0.9  # the worst recent act still weighs
    m.absorb_act(Side.NATO, a, severity=0.6, hostility=0.9)
    assert s.threat == 0.9


def test_a_dangerous_public_act_is_remembered_and_weighs_in_public(baltic, params):
    m = model(baltic, params)
    s = m.sides[Side.NATO]
    s.audience = 0.2
    m.time = 7.0
    a = act(rung=2, public=True)
    m.absorb_act(Side.NATO, a, severity=0.5, hostility=0.4)
    assert s.audience == pytest.approx(0.2 + 0.5 * 0.8)
    assert s.last_dangerous == 7.0
    assert m.unexplained[Side.NATO] == [(a, 0.5, 0.4)]
    assert m.unexplained[Side.RUSSIA] == []


def test_trust_moves_toward_the_evidence_by_its_weight_capped_at_all_the_way(baltic, params):
    m = model(baltic, params)
    s = m.sides[Side.NATO]
    s.restraint_trust = 0.1
    m.learn(Side.NATO, 1.0, 0.25)
    assert s.trust == pytest.approx(0.2 + 0.25 * 0.8)
    assert s.restraint_trust == pytest.approx(0.075)
    m.learn(Side.NATO, 0.5, 1.5)  # a weight above 1 moves trust all the way, not beyond
    assert s.trust == pytest.approx(0.5)
    assert s.restraint_trust == 0.0
    m.learn(Side.NATO, 0.0, 0.5)
    assert s.trust == pytest.approx(0.25)
    assert m.sides[Side.RUSSIA].trust == 0.2  # the other side learned nothing
