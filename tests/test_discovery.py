"""Scenario discovery: PRIM finds a planted rule; CART's rules agree; the design covers the priors."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration import load_priors
from sim.discovery import cart_rules, describe, find_box, latin_hypercube


def planted(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "model.cut_match": rng.uniform(3, 7, n),
            "model.rung_firebreak": rng.uniform(0, 2, n),
            "noise": rng.random(n),
            "era": pd.Categorical(rng.choice(["cooperative_2004", "confrontation_2014", "crisis_2022"], n)),
        }
    )
    # the planted rule: a low cut for replies in kind, a weak firebreak, in the crisis era
    y = (x["model.cut_match"] < 5.0) & (x["model.rung_firebreak"] < 1.0) & (x["era"] == "crisis_2022")
    return x, y.to_numpy()


def test_prim_recovers_a_planted_rule():
    """The box restricts exactly the three planted inputs, to within 0.15 of the planted limits, with
    density above 0.8 and coverage of at least 0.5 (the selection rule); the noise input stays free.
    """
    x, y = planted()
    box = find_box(x, y, "P(rung >= 4) >= 20%")
    assert set(box.limits) == {"model.cut_match", "model.rung_firebreak", "era"}
    assert math.isinf(box.limits["model.cut_match"][0]) and box.limits["model.cut_match"][1] == pytest.approx(
        5.0, abs=0.15
    )
    assert box.limits["model.rung_firebreak"][1] == pytest.approx(1.0, abs=0.15)
    assert box.limits["era"] == (("crisis_2022",),)
    assert box.density > 0.8 and box.coverage >= 0.5
    assert box.base_rate == pytest.approx(y.mean())
    assert "cut_match is below" in box.sentence and "era is crisis_2022" in box.sentence
    assert all(0 <= c <= 1 and 0 <= d <= 1 for c, d in box.stability.values())


def test_cart_rules_split_on_the_planted_inputs():
    x, y = planted()
    rules = cart_rules(x, y, depth=3)
    for name in ("cut_match", "rung_firebreak", "era=crisis_2022"):
        assert name in rules
    assert "noise" not in rules


def test_a_box_sentence_in_plain_words():
    s = describe({"model.cut_match": (-math.inf, 4.5), "era": (("crisis_2022",),)}, 0.6, 0.7, 0.1, "Force")
    assert s == (
        "Force is likely in 60% of the cases where cut_match is below 4.5 and era is crisis_2022 "
        "(against 10% overall); these cases hold 70% of all the likely ones."
    )


def test_the_design_covers_each_prior_once_per_stratum():
    """A Latin hypercube: one point in each of n equal strata of each prior (log strata for log-uniform ones)."""
    priors = load_priors()
    design = latin_hypercube(priors, 50, seed=3)
    for p in priors:
        lo, hi = p.sampling_bounds
        z = np.array([p.to_sampling(v) for v in design[p.key]])
        strata = np.floor((z - lo) / (hi - lo) * 50).astype(int)
        assert sorted(strata) == list(range(50)), p.key


def test_discover_refuses_bad_requests(tmp_path):
    exe = str(Path(sys.executable).with_name("escalation"))
    res = subprocess.run([exe, "discover", "--eras", "cold_war"], capture_output=True, text=True)
    assert res.returncode == 2 and "unknown era 'cold_war'" in res.stderr
    res = subprocess.run([exe, "discover", "--threshold", "0"], capture_output=True, text=True)
    assert res.returncode == 2 and "--threshold must be in (0, 1]" in res.stderr
