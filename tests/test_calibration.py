"""Calibration: the counts the record uses, targets and priors as checked data, posterior draws, the fit
(pyabc, a parameter-recovery case on a small budget), and ``escalation validate`` on the defaults.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run, settings

from sim.calibration.targets import (
    HOLDOUT_FILE,
    TARGETS_FILE,
    PosteriorDraws,
    Prior,
    RecordData,
    Setting,
    Simulator,
    Statistic,
    Target,
    load_priors,
    load_targets,
    posterior_draws,
    read_posterior,
    setting_scenario,
    with_values,
)
from sim.run.errors import UserError

YEAR = Setting("year", "baltic_air_policing", "confrontation_2014", 365, False, 4)


@pytest.fixture(scope="module")
def year_2014():
    return setting_scenario(YEAR)


# ------------------------------------------------------------------ counts the record uses (mechanisms)
def test_scrambles_follow_russian_activity_of_the_era(year_2014, params):
    """Doubling the era's Russian activity from 0.2 to 0.4 doubles NATO's quick-reaction scrambles (a flight near
    the border draws one with a fixed probability): ratio 2 within 15%, on the same seeds. At five times
    that activity the two ready pairs are often out already: scrambles grow less than activity.
    """

    def scrambles(factor: float) -> float:
        by_era = {**params.russian_activity_by_era, "confrontation_2014": factor}
        p = dataclasses.replace(params, russian_activity_by_era=by_era)
        return run(year_2014, p, settings(), n=6).outcomes()["scrambles_nato"].mean()

    low, double, busy = scrambles(0.2), scrambles(0.4), scrambles(2.0)
    assert low > 20
    assert double / low == pytest.approx(2.0, rel=0.15)
    assert busy / double < 0.93 * 5  # measured 4.35 with the calibrated defaults


def test_era_sets_the_activity(year_2014, params):
    """The same scenario in the cooperative era flies (and is scrambled against) far less than in confrontation."""
    coop = setting_scenario(dataclasses.replace(YEAR, era="cooperative_2004"))
    a = run(coop, params, settings(), n=4).outcomes()["scrambles_nato"].mean()
    b = run(year_2014, params, settings(), n=4).outcomes()["scrambles_nato"].mean()
    ratio = params.russian_activity_by_era["cooperative_2004"] / params.russian_activity_by_era["confrontation_2014"]
    assert a < b * max(3 * ratio, 0.2)


def test_violations_are_counted_by_side_and_follow_their_hazard(year_2014, params):
    """Russian violations are counted apart from NATO's; a tenth of the violation hazard gives about a tenth."""
    base = run(year_2014, params, settings(), n=8).outcomes()
    low = run(
        year_2014, dataclasses.replace(params, violation_rate_per_h=params.violation_rate_per_h / 10), settings(), n=8
    ).outcomes()
    assert (base["violations_by_russia"] + base["violations_by_nato"] == base["incidents_airspace_violation"]).all()
    assert base["violations_by_russia"].mean() >= 1
    assert low["violations_by_russia"].mean() <= 0.35 * base["violations_by_russia"].mean()


def test_reported_incidents_follow_publicity(year_2014, params):
    """ELN counted the incidents that became known: with publicity 1 every incident is reported, with 0 only
    the exercises at the border (public by nature).
    """
    everything = dict.fromkeys(params.publicity, 1.0)
    nothing = dict.fromkeys(params.publicity, 0.0)
    all_known = run(year_2014, dataclasses.replace(params, publicity=everything), settings(), n=3).outcomes()
    none_known = run(year_2014, dataclasses.replace(params, publicity=nothing), settings(), n=3).outcomes()
    assert (all_known["reported_incidents"] == all_known["incidents"]).all()
    for c in ("near_routine", "serious", "high_risk"):
        assert (all_known[f"reported_{c}"] == all_known[f"incidents_{c}"]).all()
    # an exercise at the border is public by nature; nothing else is known
    assert (none_known["reported_incidents"] == none_known["incidents_exercise_near_border"]).all()


def test_a_use_of_force_records_what_happened(scenarios, params):
    """A use of force says what it did (warning fire, shot down, hit, exchange of fire) and who died."""
    from conftest import PRE_CALIBRATION, with_params

    # the hand-set model with low cuts, so that force is common in 20 runs
    hot = with_params(with_values(params, PRE_CALIBRATION), cut_match=1.0, cut_escalate=2.0, rung_firebreak=0.0)
    events = run(scenarios["drone_shootdown"], hot, settings(), n=20, record_events=True).replications
    force = [e for r in events for e in r.events if e["kind"] == "force"]
    assert force, "no use of force in 20 runs with low cuts"
    assert {e["effect"] for e in force} <= {"warning_fire", "shot_down", "hit", "exchange_of_fire"}
    assert all(isinstance(e["casualties"], int) and e["casualties"] >= 0 for e in force)
    assert any(e["casualties"] > 0 for e in force) or all(e["effect"] == "warning_fire" for e in force)


# ------------------------------------------------------------------ targets and priors: checked data
def test_statistics_on_a_hand_made_table():
    df = pd.DataFrame({"a": [1, 3, 0, 4], "b": [2, 2, 0, 4], "hit": [1, 0, 0, 1]})
    assert Statistic.parse("mean: a", "t").value(df) == 2.0
    assert Statistic.parse("mean: a+b", "t").value(df) == 4.0
    assert Statistic.parse("share: a / a+b", "t").value(df) == pytest.approx(8 / 16)
    p, lo, hi = Statistic.parse("probability: hit", "t").interval(df)
    assert p == 0.5 and lo < 0.5 < hi
    est, lo, hi = Statistic.parse("share: a / b", "t").interval(df)
    assert est == 1.0 and lo <= 1.0 <= hi


def test_target_deviation_counts_band_widths():
    t = Target("x", "x", "s", Statistic("mean", ("a",)), 5, 4, 6, "src", "tol")
    assert t.deviation(5) == 0 and t.deviation(4) == 0
    assert t.deviation(7) == pytest.approx(0.5)
    assert t.deviation(2) == pytest.approx(1.0)
    assert t.deviation(float("nan")) == 10.0


def test_the_deviance_scores_the_record_as_data():
    """A binomial record is predicted from the model's simulated trials (beta-binomial), a count is a negative
    binomial around the model's mean: 0 for the best the model could show, growing as the model leaves the record,
    and large enough to tell 0% from 20% a year against "none in 22 years" (the bands gave that 0.11 band widths).
    """
    none_in_22 = RecordData("binomial", 0, 22)
    assert none_in_22.deviance(0, 100) == 0.0
    d2, d5, d20 = (none_in_22.deviance(x, 100) for x in (2, 5, 20))
    assert 0 < d2 < d5 < d20 and d20 > 5 * d2  # 2% a year is mildly worse than none; 20% is far worse
    assert d20 == pytest.approx(-2 * math.log((1 - 0.2) ** 22), rel=0.25)  # near the binomial's own at p = 0.2
    # three of sixteen, the ELN's high-risk share of the serious or high-risk incidents
    share = RecordData("binomial", 3, 16)
    assert share.deviance(37, 200) < share.deviance(10, 200) and share.deviance(37, 200) < share.deviance(100, 200)
    # counts: 250 scrambles in a year, a negative binomial of size 25 (a coefficient of variation of 0.2)
    scrambles = RecordData("count", 250, 1, 25)
    assert scrambles.deviance(750, 3) == pytest.approx(0.0, abs=1e-9)  # the model's mean is the record's
    assert 0 < scrambles.deviance(600, 3) < scrambles.deviance(375, 3)  # 200 a year is nearer than 125
    assert scrambles.deviance(600, 3) < RecordData("count", 250, 1).deviance(600, 3)  # a Poisson is far stricter
    assert RecordData("count", 1, 1).deviance(0, 4) < 10  # no scramble simulated: half an event, not impossible
    assert share.deviance(0, 0) == 0.0  # no serious or high-risk incident simulated: the share tells nothing
    # a record implied by another's (no one killed in years without force) is counted once, by the other
    assert RecordData("implied", 0, 0, implied_by="use_of_force_2014").deviance(5, 8) == 0.0


def test_a_prior_share_of_the_proposals_bounds_every_importance_weight():
    """DefensiveTransition: its density is share x the prior + (1 - share) x the kernel's, so prior / proposal
    is at most 1 / share anywhere in the prior's box (where the kernel alone is all but zero, it is about that);
    its draws stay in the box when they come from the prior, and a share of them do.
    """
    import pyabc

    from sim.calibration.abc_kernel import DefensiveTransition

    bounds = {"a": (0.0, 1.0), "b": (-2.0, 2.0)}
    rng = np.random.default_rng(1)
    particles = pd.DataFrame({"a": rng.normal(0.5, 0.01, 50), "b": rng.normal(0.0, 0.01, 50)})
    kernel = DefensiveTransition(pyabc.MultivariateNormalTransition(), bounds, share=0.2)
    kernel.fit(particles, np.full(50, 1 / 50))
    prior = 1.0 / (1.0 * 4.0)
    far = pd.DataFrame({"a": [0.02, 0.98], "b": [1.9, -1.9]})  # corners, where the narrow kernel is ~0
    assert np.all(prior / kernel.pdf(far) <= 1 / 0.2 + 1e-9) and np.allclose(prior / kernel.pdf(far), 1 / 0.2)
    near = pyabc.Parameter({"a": 0.5, "b": 0.0})
    assert kernel.pdf(near) > 100 * prior  # at the particles the kernel dominates
    assert kernel.pdf(pyabc.Parameter({"a": 1.5, "b": 0.0})) < 1e-12  # outside the box: the kernel's tail only
    np.random.seed(3)
    draws = pd.DataFrame([kernel.rvs_single() for _ in range(2000)])
    spread = (draws["a"] - 0.5).abs() > 0.1  # far from every particle: drawn from the prior
    assert 0.15 < spread.mean() < 0.22  # about the share (less what the prior puts near the particles)


def test_the_default_is_the_particle_nearest_the_posterior_mean_in_its_own_metric():
    """central_particle: distance to the weighted mean in the Mahalanobis metric of the weighted covariance,
    on the sampling scale (log10 for a log-uniform prior): a loose parameter counts for as little as it is loose.
    """
    from sim.calibration.fit import central_particle

    priors = [Prior("model.x", "uniform", 0, 10, ""), Prior("model.y", "loguniform", 0.001, 10, "")]
    rng = np.random.default_rng(0)
    x = rng.normal(5, 0.1, 200)  # tight
    y = 10 ** rng.normal(-1, 1.0, 200)  # loose (in decades)
    posterior = pd.DataFrame({"model.x": x, "model.y": y, "weight": np.full(200, 1 / 200)})
    posterior.loc[7] = [5.3, 0.1, 1 / 200]  # 3 sd off in x, at the centre in y
    posterior.loc[8] = [5.0, 10**-1.9, 1 / 200]  # at the centre in x, 0.9 sd off in y (0.9 decades)
    best = central_particle(posterior, priors)
    d = (x - 5) ** 2 / 0.01 + (np.log10(y) + 1) ** 2
    assert best != 7 and d[best] <= 0.9**2 + 1e-9  # not the particle nearest in plain (unscaled) distance
    posterior["weight"] = np.where(posterior.index == 7, 1e4, 1.0)  # nearly all the weight: the centre is particle 7
    assert central_particle(posterior, priors) == 7


def test_the_projects_targets_and_priors_load():
    settings_, targets = load_targets()
    priors = load_priors()
    assert len(targets) >= 10 and all(t.source and t.tolerance and t.data for t in targets)
    assert 20 <= len(priors) <= 40  # one joint fit (issue 30): every assumption the record constrains
    assert {t.setting for t in targets} <= set(settings_)
    names = {t.name for t in targets}
    for p in priors:  # each prior says which targets move it: a target's name, or a family of them (NAME_*)
        cited = set(re.findall(r"\b([a-z_]+_(?:\d{4}|\*))", p.why))
        assert cited and all(c in names or any(n.startswith(c[:-1]) for n in names) for c in cited), (p.key, cited)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('statistic: "mean: scrambles_nato"', 'statistic: "median: scrambles_nato"'), "is not a statistic"),
        (
            ("scenario: baltic_air_policing, era: crisis_2022", "scenario: nowhere, era: crisis_2022"),
            "unknown scenario 'nowhere'",
        ),
        (("    value: 140\n", "    value: 400\n"), "outside its band"),
        (("    setting: baltic_2004\n", "    setting: baltic_1990\n"), "unknown setting 'baltic_1990'"),
        (("data: {events: 0, of: 3}", "data: {events: 4, of: 3}"), "4 events of 3 is not a count"),
        (("data: {events: 50, of: 66}", "data: {count: 50, years: 1}"), "unknown field 'count'"),
        (("dispersion: 25}", "dispersion: 0}"), "dispersion: 0 is not above 0"),
        (("data: {count: 29, years: 1, dispersion: 10}", "data: {count: 2.5, years: 1}"), "not a whole number"),
        (
            ("data: {implied_by: use_of_force_2014}", "data: {implied_by: use_of_force_2022}"),
            "'use_of_force_2022' is not another target of setting baltic_2014",
        ),
        (("data: {implied_by: use_of_force_2014}", "data: {implied_by: x, events: 0}"), "implied_by stands alone"),
    ],
)
def test_a_bad_targets_file_names_the_field(tmp_path, edit, message):
    from sim.calibration.targets import TARGETS_FILE

    text = TARGETS_FILE.read_text()
    assert edit[0] in text
    path = tmp_path / "targets.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(UserError, match=message) as err:
        load_targets(path)
    assert str(path) in str(err.value)


def test_a_bad_priors_file_names_the_parameter(tmp_path):
    path = tmp_path / "priors.yaml"
    path.write_text("parameters:\n  model.encounter_rate_per_hr:\n    prior: {uniform: [0.1, 0.2]}\n")
    with pytest.raises(UserError, match=r"not a model parameter \(did you mean model.encounter_rate_per_h"):
        load_priors(path)
    path.write_text("parameters:\n  model.cut_match:\n    prior: {loguniform: [0, 2]}\n")
    with pytest.raises(UserError, match="not an interval above 0"):
        load_priors(path)
    path.write_text("parameters:\n  model.qra_scramble_probability:\n    prior: {uniform: [0.5, 2]}\n")
    with pytest.raises(UserError, match="leaves the parameter's range"):
        load_priors(path)


def test_with_values_sets_plain_and_nested_parameters(params):
    p = with_values(params, {"model.cut_match": 6.0, "model.publicity.serious": 0.25, "model.threat_posture": 2.6})
    assert p.cut_match == 6.0 and p.publicity["serious"] == 0.25 and p.threat_posture == 3
    assert params.publicity["serious"] != 0.25 or params.publicity is not p.publicity
    with pytest.raises(UserError, match="no entry 'grave'"):
        with_values(params, {"model.publicity.grave": 0.1})


def test_apply_writes_values_and_keeps_comments():
    from sim.calibration.fit import set_yaml_value

    text = textwrap.dedent(
        """\
        cut_match: 4.5                     # [index] [-50, 50] below: protest | assumption
        publicity:                         # [probability] [0, 1] by category | assumption
          near_routine: 0.05
          serious: 0.4
        cut_escalate: 5.5  # x
        """
    )
    out = set_yaml_value(set_yaml_value(text, ["cut_match"], 5.125), ["publicity", "serious"], 0.3)
    assert "cut_match: 5.125                   # [index] [-50, 50] below: protest | assumption\n" in out
    assert "  serious: 0.3\n" in out and "  near_routine: 0.05\n" in out and "cut_escalate: 5.5  # x" in out
    with pytest.raises(UserError):
        set_yaml_value(text, ["publicity", "grave"], 1)


# ------------------------------------------------------------------ posterior draws
def test_posterior_draws_are_keyed_to_seed_and_replication(params):
    values = np.array([[4.0], [5.0], [6.0]])
    draws = PosteriorDraws(params, ("model.cut_match",), values, np.array([0.2, 0.3, 0.5]), seed=7)
    again = PosteriorDraws(params, ("model.cut_match",), values, np.array([0.2, 0.3, 0.5]), seed=7)
    picks = [draws.index(i) for i in range(3000)]
    assert picks == [again.index(i) for i in range(3000)]  # a second arm on the same seed: the same draws
    share = np.bincount(picks, minlength=3) / 3000
    assert share == pytest.approx([0.2, 0.3, 0.5], abs=0.03)  # weights respected (binomial sd < 0.01)
    assert draws.for_replication(5).cut_match == values[draws.index(5), 0]
    other = PosteriorDraws(params, ("model.cut_match",), values, np.array([0.2, 0.3, 0.5]), seed=8)
    assert [other.index(i) for i in range(50)] != picks[:50]


def test_a_parameter_set_past_the_threshold_stops_early_with_the_same_acceptance(params):
    """``Simulator.deviance_within`` (the fit's DevianceModel) runs the settings one at a time and stops once
    the deviance so far is past the threshold: below it, the same statistics and deviance as running every
    setting; past it, None and a lower bound that is itself past the threshold, after fewer settings.
    """
    from sim.calibration.targets import Simulator, base_setup

    settings, targets = load_targets()
    settings = {k: dataclasses.replace(s, horizon_days=20, replications=2) for k, s in settings.items()}
    base, measures = base_setup()
    sim = Simulator(settings, targets, base, measures)
    full = sim.statistics(base, seed=4, tallies=True)
    total = sim.deviance(full)
    stats, within = sim.deviance_within(base, 4, eps=total + 1)
    assert stats == full and within == total
    ran = []
    frame = sim._frame
    sim._frame = lambda *a, **k: ran.append(a[2]) or frame(*a, **k)  # which settings run
    stats, so_far = sim.deviance_within(base, 4, eps=0.0)
    assert stats is None and 0 < so_far <= total + 1e-9 and len(ran) < len(settings), (ran, so_far, total)
    # pyabc's hook (Model.accept) with the generation's threshold: accepted at or below it, with the numbers above
    from sim.calibration.abc_model import DevianceModel

    model = DevianceModel(sim, [])  # no fitted parameter: the base parameters
    np.random.seed(0)  # pyabc seeds each worker's global generator; the model draws its seed from it
    seed = int(np.random.randint(0, 2**31 - 1))
    full = sim.statistics(base, seed=seed, tallies=True)
    total = sim.deviance(full)
    np.random.seed(0)
    accepted = model.accept(3, {}, None, None, lambda t: total, None, {})
    assert accepted.accepted and accepted.distance == total and accepted.sum_stat == full
    np.random.seed(0)
    rejected = model.accept(3, {}, None, None, lambda t: total / 2, None, {})
    assert not rejected.accepted and rejected.distance > total / 2 and rejected.sum_stat == {}


def test_the_shipped_posterior_is_the_joint_fits_final_population(params):
    """calibration/posterior.csv is the joint fit's final generation (calibration/fit_joint/posterior.csv), its
    particles and weights as the sampler left them: no re-run, rejection or renormalisation after the fit.
    Every prior's parameter is in it, within its prior; fit.json's counts are the file's and meet issue 30's
    bar (at least 100 distinct parameter sets, an effective sample size of at least 50); the default is the
    particle that fit.json's rule names.
    """
    from sim.calibration.fit import central_particle
    from sim.calibration.targets import CALIBRATION_DIR

    df = read_posterior()
    pd.testing.assert_frame_equal(df, read_posterior(CALIBRATION_DIR / "fit_joint" / "posterior.csv"))
    info = json.loads((CALIBRATION_DIR / "fit_joint" / "fit.json").read_text())
    priors = {p.key: p for p in load_priors()}
    keys = sorted(set(df.columns) - {"weight"})
    assert keys == sorted(priors)
    for key in keys:
        assert df[key].between(priors[key].low, priors[key].high).all(), key
    w = df["weight"].to_numpy()
    assert w.sum() == pytest.approx(1.0)
    assert info["effective_sample_size"] == pytest.approx(1 / (w**2).sum(), abs=0.1)
    assert info["distinct_parameter_sets"] == len(df[keys].drop_duplicates())
    assert info["distinct_parameter_sets"] >= 100 and info["effective_sample_size"] >= 50, info
    chosen = df.iloc[info["point_particle"]]
    assert info["point_particle"] == central_particle(df, list(priors.values()))
    for key in keys:
        assert info["point_estimate"][key] == pytest.approx(chosen[key], rel=1e-3), key
    draws = posterior_draws(params, 0)
    assert draws.weights.sum() == pytest.approx(1.0)


def test_accept_keeps_the_re_run_particles_within_the_threshold(tmp_path):
    """Three particles re-run at distances 0, 0.03 and 0.2: --accept 0.05 keeps the first two, their
    weights (0.2, 0.2) renormalised to halves; a threshold nothing meets is refused with the nearest.
    """
    from sim.calibration.fit import FitOptions, accept_selected
    from sim.run.errors import UserError

    key = "model.cut_match"
    pd.DataFrame({key: [4.0, 5.0, 6.0], "weight": [0.2, 0.2, 0.6]}).to_csv(tmp_path / "posterior.csv", index=False)
    pd.DataFrame({"particle": [0, 1, 2], "distance": [0.0, 0.03, 0.2]}).to_csv(tmp_path / "selection.csv", index=False)
    (tmp_path / "fit.json").write_text(json.dumps({"point_estimate": {key: 4.0}}))
    info = accept_selected(FitOptions(out=tmp_path), 0.05)
    kept = pd.read_csv(tmp_path / "posterior_accepted.csv")
    assert list(kept[key]) == [4.0, 5.0] and list(kept["weight"]) == [0.5, 0.5]
    assert info["accepted"]["particles"] == 2 and info["accepted"]["effective_sample_size"] == 2.0
    assert json.loads((tmp_path / "fit.json").read_text())["accepted"]["epsilon"] == 0.05
    pd.DataFrame({"particle": [0, 1, 2], "distance": [0.01, 0.03, 0.2]}).to_csv(tmp_path / "selection.csv", index=False)
    with pytest.raises(UserError, match=r"--accept 0.005: no particle .* is within it \(the nearest: 0.01\)"):
        accept_selected(FitOptions(out=tmp_path), 0.005)


def test_defaults_are_the_joint_fits_point_estimate(params):
    """The default parameters (conf/model/default.yaml) are the joint fit's point estimate
    (calibration/fit_joint/fit.json, written there by --apply), each the value of a particle of the shipped
    posterior.
    """
    from sim.calibration.targets import CALIBRATION_DIR

    point = json.loads((CALIBRATION_DIR / "fit_joint" / "fit.json").read_text())["point_estimate"]
    posterior = read_posterior()
    assert set(posterior.columns) - {"weight"} == set(point)
    for key, value in point.items():
        name, *entry = key.removeprefix("model.").split(".")
        current = getattr(params, name)[entry[0]] if entry else getattr(params, name)
        assert current == pytest.approx(value, rel=1e-9), key
        assert np.isclose(posterior[key], value, rtol=1e-3).any(), key


def test_a_later_stage_joins_each_accepted_particle_with_its_own_drawn_by_weight():
    """Two accepted particles (weights 1/4, 3/4) each joined with 3 draws of a later stage's two particles
    (weights 1 and 0): six sets, the later stage's parameter always from its only weighted particle,
    the earlier stage's other parameter kept, weights 1/12 and 1/4 each; the same seed, the same sets.
    """
    from sim.calibration.fit import join_stages

    given = pd.DataFrame({"model.a": [1.0, 2.0], "model.p": [9.0, 9.0], "weight": [0.25, 0.75]})
    later = pd.DataFrame({"model.p": [5.0, 6.0], "weight": [1.0, 0.0]})
    out = join_stages(given, later, seed=3, draws=3)
    assert list(out.columns) == ["model.a", "model.p", "weight"]
    assert list(out["model.a"]) == [1.0] * 3 + [2.0] * 3 and (out["model.p"] == 5.0).all()
    assert np.allclose(out["weight"], [1 / 12] * 3 + [1 / 4] * 3)
    assert out.equals(join_stages(given, later, seed=3, draws=3))


def test_a_two_stage_posterior_draws_the_second_stage_by_weight():
    first = pd.DataFrame({"model.a": [1.0, 2.0, 3.0, 4.0] * 500, "model.c": 9.0, "weight": 1.0})
    second = pd.DataFrame({"model.c": [5.0, 6.0], "weight": [0.8, 0.2]})
    from sim.calibration.fit import combine

    out = combine(first, second, seed=0)
    assert list(out.columns) == ["model.a", "model.c", "weight"]
    assert (out["model.a"] == first["model.a"]).all() and (out["weight"] == 1.0).all()
    assert (out["model.c"] == 5.0).mean() == pytest.approx(0.8, abs=0.03)
    assert out.equals(combine(first, second, seed=0))


def _select_between(params, low: float, high: float, factor: float):
    """Select between the default activity (weight 0.1) and ``factor`` times it (weight 0.9) against a
    60-day scramble target of 20 with band [low, high]; returns (best, table, scrambles by particle).
    """
    from sim.calibration.fit import select_particle

    setting = dataclasses.replace(YEAR, horizon_days=60, replications=2)
    target = Target("scr", "s", "year", Statistic.parse("mean: scrambles_nato", "t"), 20, low, high, "x", "x")
    sim = Simulator({"year": setting}, [target], params, settings())
    key = "model.russian_activity_by_era.confrontation_2014"
    ok = params.russian_activity_by_era["confrontation_2014"]
    posterior = pd.DataFrame({key: [ok * factor, ok], "weight": [0.9, 0.1]})
    best, table = select_particle(sim, [key], posterior, {"year": 4}, seed=1)
    return best, table, dict(zip(table["particle"], table["scr"], strict=True))


def test_selection_takes_the_particle_closest_to_the_record(params):
    """Of two particles, the one whose re-run statistics sit in the band wins, whatever its weight."""
    # 60 days at the default activity: about 20 scrambles; at 20 times that, well over 40
    best, table, scr = _select_between(params, 5, 40, factor=20)
    assert 5 <= scr[1] <= 40 < scr[0]
    assert best == 1 and table["distance"].iloc[0] == 0 < table["distance"].iloc[1]


def test_selection_prefers_the_particle_furthest_inside_the_band(params):
    """Both particles meet the band [15, 400]; the default activity's (about 20 scrambles, the record's
    value) sits near the lower edge, six times it well inside: the larger margin in standard errors wins,
    though the other is nearer the record's value and has the larger weight.
    """
    best, table, scr = _select_between(params, 15, 400, factor=6)
    assert 15 <= scr[1] < scr[0] <= 400 and abs(scr[1] - 20) < abs(scr[0] - 20)
    assert (table["distance"] == 0).all() and best == 0
    assert table["margin"].iloc[0] > table["margin"].iloc[1] > 0


def test_margin_counts_half_widths_to_the_nearer_edge():
    """An estimate of 0.05 with interval [0.04, 0.06] in band [0.02, 0.2] lies 3 half-widths inside; in a
    band from 0 only the upper edge counts; outside the band the margin is negative.
    """
    t = Target("p", "p", "year", Statistic.parse("probability: reached_rung_4", "t"), 0.05, 0.02, 0.2, "x", "x")
    assert t.margin(0.05, 0.04, 0.06) == pytest.approx(3.0)
    assert t.margin(0.01, 0.0, 0.02) == pytest.approx(-1.0)
    zero = dataclasses.replace(t, low=0.0, high=0.02)
    assert zero.margin(0.0, 0.0, 0.01) == pytest.approx(4.0)
    assert t.margin(0.05, 0.05, 0.05) == math.inf


def test_posterior_runs_pair_their_draws_across_measure_sets():
    """parameters=posterior: the same seeds take the same parameter draws whatever the measures."""
    from sim.api import run as api_run

    base = api_run(scenario="baltic_air_policing", replications=6, seed=3, parameters="posterior", events=False)
    eln = api_run(
        scenario="baltic_air_policing",
        measures="eln_seven",
        replications=6,
        seed=3,
        parameters="posterior",
        events=False,
    )
    assert base.summary["parameters"].startswith("posterior")
    assert eln.settings["parameters"] == "posterior"
    point = api_run(scenario="baltic_air_policing", replications=6, seed=3, events=False)
    assert point.summary["parameters"].startswith("point")
    # the posterior draws every fitted parameter (activity, encounters, publicity, thresholds): on the same
    # seeds the incidents and what is made public differ from the point estimate's
    assert not base.outcomes["incidents"].equals(point.outcomes["incidents"])
    assert not base.outcomes["reported_incidents"].equals(point.outcomes["reported_incidents"])


def test_a_bad_posterior_table_is_refused(tmp_path, params):
    path = tmp_path / "posterior.csv"
    path.write_text("model.cut_match,weight\n5,1\nnan,1\n")
    with pytest.raises(UserError, match="not finite"):
        posterior_draws(params, 0, path)
    path.write_text("model.no_such,weight\n5,1\n")
    with pytest.raises(UserError, match="not a model parameter"):
        posterior_draws(params, 0, path)


# ------------------------------------------------------------------ the fit: parameter recovery
@pytest.mark.slow
def test_abc_recovers_known_parameters(tmp_path, params):
    """Synthetic targets from known parameters (three of them, on a cheap setting) are recovered: each
    true value lies in its 95% posterior interval, and the posterior is narrower than the prior.

    Budget: 40 particles, 4 generations, in-process (about a minute). experiments/calibration_recovery.py
    runs the full check on every fitted parameter.
    """
    from sim.calibration.fit import FitOptions, run_fit

    truth = {
        "model.russian_activity_by_era.confrontation_2014": 0.3,
        "model.violation_rate_per_h": 0.004,
        "model.publicity.serious": 0.5,
    }
    setting = dataclasses.replace(YEAR, horizon_days=120, replications=3)
    stats = {
        "scr": "mean: scrambles_nato",
        "vio": "mean: violations_by_russia",
        "ser": "share: reported_serious / incidents_serious",
    }
    targets = [Target(k, k, "year", Statistic.parse(v, k), 0, 0, 0, "synthetic", "15%") for k, v in stats.items()]
    sim = Simulator({"year": setting}, targets, params, settings())
    frames = sim.outcomes(with_values(params, truth), seed=99, replications={"year": 20})
    year = {k: v for k, v in dataclasses.asdict(setting).items() if k != "name"}
    synthetic = {"settings": {"year": year}, "targets": []}
    for t in targets:
        x = t.statistic.value(frames["year"])
        synthetic["targets"].append(
            {
                "name": t.name,
                "title": t.name,
                "setting": "year",
                "statistic": stats[t.name],
                "value": x,
                "low": 0.85 * x,
                "high": 1.15 * x,
                "source": "synthetic: known parameters",
                "tolerance": "15%",
            }
        )
    (tmp_path / "targets.yaml").write_text(yaml.safe_dump(synthetic))
    (tmp_path / "priors.yaml").write_text(
        textwrap.dedent(
            """\
            parameters:
              model.russian_activity_by_era.confrontation_2014: {prior: {loguniform: [0.05, 2]}}
              model.violation_rate_per_h: {prior: {loguniform: [0.0005, 0.05]}}
              model.publicity.serious: {prior: {uniform: [0.05, 1.0]}}
            """
        )
    )
    info = run_fit(
        FitOptions(
            out=tmp_path / "fit",
            targets=tmp_path / "targets.yaml",
            priors=tmp_path / "priors.yaml",
            population=40,
            generations=4,
            max_simulations=600,
            workers=1,  # in-process: no fork of a multi-threaded test process
            seed=5,
            predictive_draws=4,
            quiet=True,
        )
    )
    posterior = pd.read_csv(tmp_path / "fit" / "posterior.csv")
    assert len(posterior) == 40 and posterior["weight"].sum() == pytest.approx(1)
    for key, value in truth.items():
        lo, hi = info["posterior_interval_95"][key]
        assert lo <= value <= hi, (key, value, lo, hi)
    # narrower than the prior: the 95% interval of the activity spans less than half of the prior's decades.
    # (With the second stage's defaults some runs escalate, and a raised posture adds flights, so scrambles
    # say less about the activity factor than they did: measured 0.65 of 1.60 decades on 2026-11-28, 3.13.)
    lo, hi = info["posterior_interval_95"]["model.russian_activity_by_era.confrontation_2014"]
    assert np.log10(hi / lo) < np.log10(2 / 0.05) / 2
    assert (tmp_path / "fit" / "posterior.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "fit" / "fit.json").read_text())["generations"] >= 2

    # --resume with a fixed threshold and one generation more than the fit has adds one at that threshold
    more = run_fit(
        FitOptions(
            out=tmp_path / "fit",
            targets=tmp_path / "targets.yaml",
            priors=tmp_path / "priors.yaml",
            population=40,
            generations=info["generations"] + 1,
            workers=1,
            seed=6,
            predictive_draws=4,
            quiet=True,
            resume=True,
            epsilon=info["final_epsilon"],
        )
    )
    assert more["generations"] == info["generations"] + 1
    assert more["epsilon_schedule"][-1] == pytest.approx(info["final_epsilon"])
    assert more["simulations"] > info["simulations"] and more["seconds"] > info["seconds"]


@pytest.mark.slow
def test_calibrate_refuses_bad_requests(tmp_path):
    exe = [str(Path(sys.executable).with_name("escalation")), "calibrate"]
    res = subprocess.run([*exe, "--out", str(tmp_path), "--resume"], capture_output=True, text=True)
    assert res.returncode == 2 and "no calibration database to resume" in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([*exe, "--population", "0"], capture_output=True, text=True)
    assert res.returncode == 2 and "--population must be a whole number from 1 to 100,000, got 0" in res.stderr


# ------------------------------------------------------------------ escalation validate on the defaults
# The targets the calibrated defaults miss today (docs/CALIBRATION.md, "The joint fit"): the joint fit
# (calibration/fit_joint, 6 generations, final threshold a deviance of 43) has not converged, and its default
# (the particle nearest the posterior mean, the rule written before validation) makes 75 incidents a year
# public in the confrontation era where the ELN's count gives about 29 (band [15, 45]); only 18% of the
# posterior predictive lies in that band. The other targets are met.
KNOWN_MISSES: set[str] = {"reported_2014"}
BORDERLINE: set[str] = set()  # targets whose estimate sits within 5% of a band's edge at 400 replications
# The held-out fact the defaults miss or graze (calibration/holdout.yaml, never read by the fit): a crisis-era
# Black Sea year reaches force in 0.5% of years [0.14, 1.8] at 400 replications, where the record has one year
# in three (the MQ-9 of March 2023; the exact interval of 1 in 3 starts at 0.84%). At 80 replications it may
# fall either side of that edge; it must stay far below the record's third. The others are met.
KNOWN_HELD_OUT_MISSES: set[str] = {"use_of_force_black_sea_2022"}


@pytest.mark.slow
def test_validate_meets_every_target_but_the_known_misses(tmp_path):
    """The shipped defaults meet every target except KNOWN_MISSES (80 replications a setting), and those are
    still missed: when one starts to pass, this test fails so the list (and the docs) are brought up to date.
    ``escalation validate`` exits 1 when a target is missed, 0 (and says so) when none is.
    """
    res = subprocess.run(
        [str(Path(sys.executable).with_name("escalation")), "validate", "--replications", "80", "--seed", "1"]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    record = json.loads((tmp_path / "validation.json").read_text())
    rows, held = record["targets"], record["held_out"]
    missed = {r["target"] for r in rows if not r["within"]}
    assert {r["target"] for r in held if not r["within"]} <= KNOWN_HELD_OUT_MISSES, held
    assert all(r["estimate"] < 0.05 for r in held if r["target"] in KNOWN_HELD_OUT_MISSES), held
    assert len(held) == len(load_targets(HOLDOUT_FILE, held_out=True)[1]) and all(r["held_out"] for r in held)
    assert missed - BORDERLINE == KNOWN_MISSES, [
        (r["target"], r["estimate"], r["band"]) for r in rows if not r["within"]
    ]
    for r in rows:
        if r["target"] in BORDERLINE:  # within 5% of its band's nearer edge
            lo, hi = r["band"]
            assert min(abs(r["estimate"] - lo), abs(r["estimate"] - hi)) <= 0.05 * max(abs(lo), abs(hi)), r
    assert res.returncode == (1 if missed or not all(r["within"] for r in held) else 0)
    assert len(rows) == len(load_targets()[1]) and not any(r["held_out"] for r in rows)
    page = (tmp_path / "validation.md").read_text()
    assert ("in-sample targets missed" in page) if missed else (f"All {len(rows)} in-sample targets are within" in page)
    inside, _, apart = page.partition("## Held out: facts the fit never read")
    assert "use_of_force_black_sea_2022" in apart and "use_of_force_black_sea_2022" not in inside.split("## Sources")[0]
    assert "scrambles_2014" in inside and "scrambles_2014" not in apart.split("## Sources")[0]


def test_the_held_out_file_is_refused_by_the_fit_and_the_fit_s_own_file_by_validate(tmp_path):
    """calibration/holdout.yaml says held_out: true: the fit's loader refuses it, validate's takes only such a
    file; on the command line each refusal is one line, exit 2, before any output folder is made.
    """
    settings, held = load_targets(HOLDOUT_FILE, held_out=True)
    assert held and {t.setting for t in held} <= set(settings)
    assert not {t.name for t in held} & {t.name for t in load_targets()[1]}  # no in-sample target held out
    with pytest.raises(UserError, match="a held-out file .held_out: true.: the fit never reads it"):
        load_targets(HOLDOUT_FILE)
    with pytest.raises(UserError, match="not a held-out file"):
        load_targets(TARGETS_FILE, held_out=True)
    exe = str(Path(sys.executable).with_name("escalation"))
    copy = tmp_path / "copy.yaml"
    copy.write_bytes(TARGETS_FILE.read_bytes())  # the fit's own targets under another name: not held out either
    renamed = tmp_path / "renamed.yaml"  # its targets renamed and the file marked held out: still what the fit read
    renamed.write_text(
        "held_out: true\n"
        + TARGETS_FILE.read_text().replace("  - name: ", "  - name: x_").replace("implied_by: ", "implied_by: x_")
    )
    cases = [
        (["calibrate", "--targets", str(HOLDOUT_FILE)], f"{HOLDOUT_FILE}: a held-out file (held_out: true)"),
        (["validate", "--holdout", str(TARGETS_FILE)], f"--holdout {TARGETS_FILE}: the fit read this file"),
        (["validate", "--holdout", str(copy)], f"--holdout {copy}: the fit read this file"),
        (["validate", "--holdout", str(renamed)], f"--holdout {renamed}: target 'x_scrambles_2004': the fit reads"),
        (["calibrate", "--targets", str(HOLDOUT_FILE), "--accept", "0.5"], f"{HOLDOUT_FILE}: a held-out file"),
    ]
    for args, expected in cases:
        out = tmp_path / "out"
        res = subprocess.run([exe, *args, "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.strip().splitlines() == [
            f"escalation: error: {expected}" + res.stderr.split(expected)[1].rstrip()
        ]
        assert not out.exists(), args


@pytest.mark.slow
def test_validate_exits_1_when_a_target_is_missed(tmp_path):
    from sim.calibration.targets import TARGETS_FILE

    text = TARGETS_FILE.read_text().replace(
        "    value: 140\n    low: 93\n    high: 210\n", "    value: 1000\n    low: 900\n    high: 1100\n"
    )
    (tmp_path / "t.yaml").write_text(text)
    res = subprocess.run(
        [
            str(Path(sys.executable).with_name("escalation")),
            "validate",
            "--replications",
            "5",
            "--targets",
            str(tmp_path / "t.yaml"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1
    assert "scrambles_2014" in res.stdout and "**no**" in res.stdout


# ------------------------------------------------------------------ the fit's kernel and interrupted fits
def test_the_kernel_stays_a_proper_density_when_the_weights_collapse():
    """One particle holding all but 1e-30 of a generation's weight (as in 12-dimensional fits of a few dozen
    particles): pyabc's weighted local covariance turns NaN or indefinite, so the next generation's weights
    are NaN or zero and the fit stops; the neighbours' unweighted covariance keeps every kernel proper.
    """
    pyabc = pytest.importorskip("pyabc")
    from sim.calibration.abc_kernel import NeighbourTransition, proper

    rng = np.random.default_rng(4)
    particles = pd.DataFrame(rng.uniform(0, 1, size=(20, 12)), columns=[f"p{i}" for i in range(12)])
    weights = np.full(20, 1e-30)
    weights[7] = 1.0
    weights /= weights.sum()
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        theirs = pyabc.transition.LocalTransition(k_fraction=0.25)
        theirs.fit(particles, weights)
    assert not all(_positive_definite(c) for c in theirs.covs)  # the failure it fixes
    ours = NeighbourTransition(k_fraction=0.25)
    ours.fit(particles, weights)
    for cov in ours.covs:
        assert _positive_definite(cov)
    np.random.seed(1)
    draws = pd.DataFrame([ours.rvs_single() for _ in range(50)])
    density = ours.pdf(draws)
    assert np.all(np.isfinite(density)) and np.all(density > 0)
    # the neighbours' spread about the particle, not the weights: around particle 7, the mean outer product
    # of its 12 nearest neighbours' offsets (full rank: no eigenvalue is floored)
    _, idx = __import__("scipy").spatial.cKDTree(particles.values).query(particles.values, k=13)
    offsets = particles.values[idx[7, 1:]] - particles.values[7]
    expected = offsets.T @ offsets / 12
    np.testing.assert_allclose(ours.covs[7], expected, rtol=1e-12)
    # a singular spread (every neighbour on one line) gets its eigenvalues floored at 1e-8 of the largest
    line = np.outer([1.0, 2.0, 3.0], [1.0, 1.0])
    fixed = proper(np.cov(line, rowvar=False))
    values = np.linalg.eigvalsh(fixed)
    assert values.min() == pytest.approx(values.max() * 1e-8, rel=1e-6)


def _positive_definite(cov: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(cov)) and np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > 0))


def _population_count(db: Path) -> int:
    import sqlite3

    if not db.is_file():
        return -1
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as con:
            return int(con.execute("select count(*) from populations where t >= 0").fetchone()[0])
    except sqlite3.Error:
        return -1


@pytest.mark.slow
def test_a_fit_killed_at_any_moment_resumes_to_the_same_end(tmp_path):
    """A real fit (two worker processes) killed with SIGKILL at five moments — as its database appears, before
    its first generation is stored, in its second, in its last, and while it writes its outputs — and resumed
    with the same
    command each time: every resume exits 0, keeps the generations already stored (their thresholds
    unchanged), runs only those left, and writes a complete fit of 3 generations. Before the fix the first
    kill in a generation ended the resume in pyabc's "total population weight nan is not normalized".
    """
    import os
    import signal
    import sqlite3
    import time

    (tmp_path / "targets.yaml").write_text(
        textwrap.dedent(
            """\
            settings:
              year: {scenario: baltic_air_policing, era: confrontation_2014, horizon_days: 90, injects: false,
                     replications: 2}
            targets:
              - {name: scrambles, title: scrambles, setting: year, statistic: "mean: scrambles_nato", value: 30,
                 low: 24, high: 36, source: synthetic, tolerance: "20%"}
              - {name: violations, title: violations, setting: year, statistic: "mean: violations_by_russia",
                 value: 4, low: 2, high: 6, source: synthetic, tolerance: "50%"}
            """
        )
    )
    (tmp_path / "priors.yaml").write_text(
        textwrap.dedent(
            """\
            parameters:
              model.russian_activity_by_era.confrontation_2014: {prior: {loguniform: [0.05, 2]}}
              model.violation_rate_per_h: {prior: {loguniform: [0.0005, 0.05]}}
            """
        )
    )
    exe = str(Path(sys.executable).with_name("escalation"))
    out = tmp_path / "fit"
    db = out / "abc.db"
    command = [exe, "calibrate", "--out", str(out), "--targets", str(tmp_path / "targets.yaml")]
    command += ["--priors", str(tmp_path / "priors.yaml"), "--population", "20", "--generations", "3"]
    command += ["--workers", "2", "--predictive-draws", "4", "--quiet"]

    def thresholds() -> list[float]:
        with sqlite3.connect(db) as con:
            return [e for (e,) in con.execute("select epsilon from populations where t >= 0 order by t")]

    def kill_when(done: int, resume: bool, then: float = 0.0) -> None:
        """Kill the fit (and its workers) once ``done`` generations are stored (-1: once its database exists)."""
        proc = subprocess.Popen(
            command + (["--resume"] if resume else []),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if (done < 0 and db.exists()) or (done >= 0 and _population_count(db) >= done):
                break
            time.sleep(0.002 if done < 0 else 0.05)
        time.sleep(then)
        assert proc.poll() is None, f"the fit ended before it could be killed: {proc.stderr.read()[-2000:]}"
        os.killpg(proc.pid, signal.SIGKILL)  # the fit and its worker processes
        proc.wait()
        proc.stderr.close()

    kill_when(-1, resume=False)  # the database file has just appeared: pyabc may not have stored its start
    kill_when(0, resume=True, then=1.0)  # resumed (or started afresh); its start stored, no generation yet
    assert 0 <= _population_count(db) < 1 and not (out / "fit.json").exists()
    kill_when(1, resume=True, then=0.5)  # generation 0 stored, generation 1 being drawn
    kept = thresholds()
    assert len(kept) == 1
    kill_when(2, resume=True, then=0.5)  # in the last generation
    assert thresholds()[:1] == kept
    kept = thresholds()
    kill_when(3, resume=True)  # every generation stored: killed while it writes its outputs
    assert thresholds()[: len(kept)] == kept and len(thresholds()) == 3
    done = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    info = json.loads((out / "fit.json").read_text())
    assert info["generations"] == 3 and len(thresholds()) == 3 and thresholds()[: len(kept)] == kept
    posterior = pd.read_csv(out / "posterior.csv")
    assert len(posterior) == 20 and posterior["weight"].sum() == pytest.approx(1)
    assert (out / "predictive.png").stat().st_size > 10_000


def test_a_database_killed_before_the_fit_stored_its_start_is_started_afresh(tmp_path):
    """An empty file, a SQLite file with no table, and pyabc's tables with no run or no population are fits
    stopped before they stored anything: --resume starts them afresh. A SQLite file of someone else's, or a
    fit with a stored start, is not.
    """
    import sqlite3

    from sim.calibration.fit import check_database, interrupted_start

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()
    sqlite3.connect(bare).execute("pragma user_version = 1").connection.commit()
    started = tmp_path / "started.db"
    with sqlite3.connect(started) as con:
        con.execute("create table abc_smc (id integer primary key)")
        con.execute("create table populations (id integer primary key, abc_smc_id integer, t integer)")
        con.execute("create table version (version_num text)")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("create table contacts (name text)")
    for db in (empty, bare, started):
        assert interrupted_start(db), db.name
        check_database(db, True, "--db")  # accepted for --resume
    assert not interrupted_start(other)
    with pytest.raises(UserError, match="without a pyabc calibration"):
        check_database(other, True, "--db")
    with sqlite3.connect(started) as con:
        con.execute("insert into abc_smc (id) values (1)")
        con.execute("insert into populations (id, abc_smc_id, t) values (1, 1, -1)")
    assert not interrupted_start(started)


@pytest.mark.slow
def test_a_fit_runs_its_particles_on_a_dask_cluster_of_worker_processes(tmp_path):
    """A real Dask cluster, started here: ``dask-scheduler`` and two ``dask-worker`` processes (one thread
    each). ``escalation calibrate --dask-scheduler`` runs its two generations there: each worker process
    ran particles, and together they ran every particle the fit counts.
    """
    distributed = pytest.importorskip("distributed")
    bin_dir = Path(sys.executable).parent
    address_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    cluster = [
        subprocess.Popen(
            [str(bin_dir / "dask-scheduler"), "--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0"]
            + ["--scheduler-file", str(address_file)],
            **quiet,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not address_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(2):
            cluster.append(
                subprocess.Popen(
                    [str(bin_dir / "dask-worker"), "--scheduler-file", str(address_file), "--nworkers", "1"]
                    + ["--nthreads", "1", "--no-dashboard"],
                    **quiet,
                )
            )
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            command = [str(bin_dir / "escalation"), "calibrate", "--dask-scheduler", address, "--population", "6"]
            command += ["--generations", "2", "--predictive-draws", "2", "--out", str(tmp_path / "fit")]
            proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=600)
            assert proc.returncode == 0, proc.stderr[-2000:]
            fit = json.loads((tmp_path / "fit" / "fit.json").read_text())
            ran = client.run(lambda dask_worker: dask_worker.state.executed_count)
        assert fit["generations"] == 2
        assert len(ran) == 2 and min(ran.values()) >= 1, ran  # both worker processes simulated
        assert sum(ran.values()) == fit["simulations"], (ran, fit["simulations"])
    finally:
        for proc in reversed(cluster):
            proc.terminate()
        for proc in cluster:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


SBC_SMALL = Path(__file__).parent / "data" / "sbc_small"  # one 60-day setting, three targets and parameters


@pytest.mark.slow
def test_simulation_based_calibration_at_a_small_budget(tmp_path):
    """Twenty truths drawn from the prior, each fitted with the deviance on a synthetic record the model made
    at it: the 90% posterior intervals hold the truth in 80-97% of the (truth, parameter) pairs (issue 30),
    and so do those of the parameters the data narrow, where a fit that learned nothing would fail, without
    their truths' ranks showing them too narrow (a verdict of calibrated or conservative).

    A small world (``tests/data/sbc_small``: three parameters, one 60-day setting, 3 years a particle; 30
    particles, 4 generations, in-process); ``experiments/sbc.py`` runs the check at full size. Seeded: the
    same coverage every run.
    """
    from sim.calibration.sbc import judge, run_sbc, summarise

    budget = {"population": 30, "generations": 4, "max_simulations": 2000, "workers": 1, "predictive_draws": 2}
    targets, priors = SBC_SMALL / "targets.yaml", SBC_SMALL / "priors.yaml"
    rows, table = run_sbc(tmp_path / "sbc", 20, targets, priors, budget, seed=3)
    assert len(rows) == 60 and (tmp_path / "sbc" / "sbc.csv").is_file()
    summary = summarise(table, load_priors(priors), 30)
    assert 0.80 <= summary["coverage_90"] <= 0.97, summary["coverage_by_parameter"]
    # the intervals are informative (the activity the scrambles measure is narrowed to well under the prior's
    # width), and those the data narrow cover their truths as 90% intervals should
    assert "model.russian_activity_by_era.confrontation_2014" in summary["narrowed_parameters"], summary
    assert summary["width_over_prior_by_parameter"]["model.russian_activity_by_era.confrontation_2014"] < 0.6
    assert judge(summary).startswith(("calibrated", "conservative")), judge(summary)


def _fabricated_check(spread: float, truths: int, shift: float = 0.0, informed: bool = True):
    """An SBC's summary from made-up posteriors of known quality (``sim.calibration.sbc``'s own reading).

    On each prior's sampling scale a truth ``t`` makes an observation ``t + e``, ``e ~ N(0, s^2)`` (``s``: 5% of
    the prior's range), and the calibrated posterior is ``N(t + e, s^2)``; the fit's 50 draws have ``spread``
    times its width and sit ``shift`` widths off it. ``informed=False``: the draws come from the prior.
    """
    from sim.calibration.sbc import coverage_table, intervals, summarise

    priors = load_priors(SBC_SMALL / "priors.yaml")
    rng = np.random.default_rng(7)
    rows = []
    for truth in range(truths):
        values, post = {}, {}
        for p in priors:
            lo, hi = p.sampling_bounds
            s, t = 0.05 * (hi - lo), float(rng.uniform(lo, hi))
            draws = (
                t + rng.normal(0, s) + s * (shift + spread * rng.standard_normal(50))
                if informed
                else rng.uniform(lo, hi, 50)
            )
            values[p.key], post[p.key] = p.to_natural(t), [p.to_natural(float(x)) for x in draws]
        rows += intervals(truth, values, pd.DataFrame({**post, "weight": 1.0}), priors)
    return summarise(coverage_table(rows), priors, 50)


def test_the_checks_verdict_tells_calibrated_from_too_wide_too_narrow_and_wrong():
    """The verdict reads the parameters the data narrow, their coverage and where their truths fall: a calibrated
    posterior passes; one 1.25 times too wide covers 96% (inside the 80-97% bar) and is called conservative;
    0.85 times too narrow covers 84% (inside too) and is called overconfident; one off its place fails the bar;
    prior-wide intervals pass the pooled bar whatever the fit learned (a fit that learned nothing scores about
    88%) and get no verdict; nor do a handful of truths.
    """
    from sim.calibration.sbc import judge, null_coverage

    null = null_coverage(50, 20, 31)
    assert null["mean"] == pytest.approx(45 / 51, abs=0.001) and null["range95"][0] >= 0.85, null
    verdicts = {}
    for name, spread, shift in (
        ("calibrated", 1.0, 0.0),
        ("wide", 1.25, 0.0),
        ("narrow", 0.85, 0.0),
        ("off", 1.0, 2.0),
    ):
        summary = _fabricated_check(spread, 200, shift)
        assert len(summary["narrowed_parameters"]) == 3, summary["width_over_prior_by_parameter"]
        verdicts[name] = (judge(summary), summary["narrowed_coverage_90"])
    assert verdicts["calibrated"][0].startswith("calibrated") and 0.85 <= verdicts["calibrated"][1] <= 0.93, verdicts
    assert verdicts["wide"][0].startswith("conservative") and 0.80 <= verdicts["wide"][1] <= 0.97, verdicts
    assert verdicts["narrow"][0].startswith("overconfident") and 0.80 <= verdicts["narrow"][1] <= 0.97, verdicts
    assert verdicts["off"][0].startswith("NOT calibrated"), verdicts
    nothing = _fabricated_check(1.0, 20, informed=False)
    assert 0.80 <= nothing["coverage_90"] <= 0.97 and nothing["narrowed_parameters"] == []
    assert judge(nothing).startswith("uninformative")
    assert judge(_fabricated_check(1.0, 5)).startswith("too few truths")


def test_simulation_based_calibration_continues_where_it_stopped(tmp_path, monkeypatch):
    """The check is a day of fits at full size: a truth fitted before is read, not fitted again, more truths can
    be added (the first ones are the same draws), a fit stopped part-way resumes, and a folder fitted with
    another budget is refused in one line.
    """
    import sim.calibration.fit as fit
    from sim.calibration.sbc import run_sbc
    from sim.run.errors import UserError

    (tmp_path / "targets.yaml").write_text(
        (SBC_SMALL / "targets.yaml").read_text().replace("horizon_days: 60", "horizon_days: 10")
    )
    (tmp_path / "priors.yaml").write_text((SBC_SMALL / "priors.yaml").read_text())
    files = (tmp_path / "targets.yaml", tmp_path / "priors.yaml")
    budget = {"population": 10, "generations": 1, "max_simulations": 200, "workers": 1, "predictive_draws": 1}
    fits = []
    real = fit.run_fit
    monkeypatch.setattr(fit, "run_fit", lambda options: (fits.append(options), real(options))[1])
    _, first = run_sbc(tmp_path / "sbc", 2, *files, budget, seed=4, progress=False)
    assert [o.resume for o in fits] == [False, False]
    db = tmp_path / "sbc" / "truth_001" / "abc.db"
    stamp = db.stat().st_mtime_ns
    _, more = run_sbc(tmp_path / "sbc", 3, *files, {**budget, "workers": 2}, seed=4, progress=False)
    assert len(fits) == 3 and db.stat().st_mtime_ns == stamp  # only the third truth fitted; workers do not matter
    pd.testing.assert_frame_equal(more[more["truth"] < 2].reset_index(drop=True), first)
    assert len(pd.read_csv(tmp_path / "sbc" / "sbc.csv")) == 9
    # a fit stopped part-way: its database there, no record of a finished truth
    (tmp_path / "sbc" / "truth_002" / "sbc_truth.json").unlink()
    _, again = run_sbc(tmp_path / "sbc", 3, *files, budget, seed=4, progress=False)
    assert len(fits) == 4 and fits[-1].resume
    pd.testing.assert_frame_equal(again, more)
    with pytest.raises(UserError, match="truth_000: fitted before with another fit"):
        run_sbc(tmp_path / "sbc", 1, *files, {**budget, "population": 12}, seed=4, progress=False)


def test_a_synthetic_record_of_the_real_targets_keeps_their_shape(tmp_path):
    """The simulation-based calibration's record at a truth drawn from the real priors, for the real targets file:
    every target's record of the same kind and size, a record implied by another's stays implied (the fit weighs
    it once, as it does the real one), and the file loads as a targets file. It divided by zero on the implied
    deaths targets, so the full-size check could not start.
    """
    import yaml

    from sim.calibration.sbc import draw_truth, synthetic_record
    from sim.calibration.targets import PRIORS_FILE, TARGETS_FILE, base_setup, load_priors, load_targets, with_values

    settings, targets = load_targets(TARGETS_FILE)
    base, measures = base_setup()
    truth = draw_truth(load_priors(PRIORS_FILE), np.random.default_rng(2))
    record = synthetic_record(settings, targets, with_values(base, truth), measures, seed=7)
    (tmp_path / "synthetic.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    _, synthetic = load_targets(tmp_path / "synthetic.yaml")
    assert [t.name for t in synthetic] == [t.name for t in targets]
    for real, made in zip(targets, synthetic, strict=True):
        assert made.data.kind == real.data.kind and made.data.implied_by == real.data.implied_by, real.name
        if real.data.kind != "implied":
            assert made.data.of == real.data.of, real.name  # the record's own number of years or incidents
    implied = {t.data.implied_by for t in synthetic if t.data.kind == "implied"}
    assert implied == {"use_of_force_2014", "use_of_force_2022"}
