"""Scenario discovery: PRIM finds a planted rule; CART's rules agree; the design covers the priors."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.targets import load_priors
from sim.studies.discovery import cart_rules, describe, find_box, latin_hypercube


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


def test_a_box_headline_carries_its_stability():
    """The planted rule is found again in most half-samples; a headline says so, and warns below 50%."""
    from sim.studies.discovery import Box

    box = find_box(*planted(), "P(rung >= 4) >= 20%")
    assert box.headline.startswith(box.sentence + " Stability: the least stable restricted input (")
    shaky = Box({"era": (("crisis_2022",),)}, 0.6, 0.7, 0.1, 0.1, {"era": (0.3, 0.9)}, "Force is likely ...")
    assert shaky.headline == (
        "Force is likely ... Stability: the least stable restricted input (era) was found again in 30% of 10 "
        "half-samples; below 50%, this box is not to be relied on."
    )


def test_discovery_refuses_below_ten_likely_points_and_leaves_nothing_behind(tmp_path):
    """20 points of the calibrated Baltic/Black Sea months, 1 replication each: none reaches rung 4, so no box
    (the old code wrote design.csv, then failed or reported a box on a handful of points). A folder the user
    already had, with a design.csv of theirs, is left as it was.
    """
    exe = str(Path(sys.executable).with_name("escalation"))
    res = subprocess.run(
        [exe, "discover", "--samples", "20", "--replications", "1", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
    )
    lines = [line for line in res.stderr.splitlines() if line.startswith("escalation")]
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert lines == [
        "escalation: error: only 0 of 20 design points have P(rung >= 4) >= 0.2; discovery needs at least 10 to "
        "draw a box that is not chance (more --samples or --replications, a longer --days, a lower --threshold or "
        "--rung); nothing was written"
    ]
    assert not (tmp_path / "d").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "design.csv").write_text("the user's own design\n")
    res = subprocess.run(
        [exe, "discover", "--samples", "20", "--replications", "1", "--out", str(mine)], capture_output=True, text=True
    )
    assert res.returncode == 2 and sorted(p.name for p in mine.iterdir()) == ["design.csv"]
    assert (mine / "design.csv").read_text() == "the user's own design\n"


def test_the_printed_headline_is_the_pages_and_carries_the_stability(tmp_path):
    """A small real discovery (30 points of 4 days, P(rung >= 2) >= 60%: 17 points likely): the line printed
    is the PRIM paragraph of discovery.md, stability and warning included.
    """
    exe = str(Path(sys.executable).with_name("escalation"))
    out = tmp_path / "d"
    args = ["--samples", "30", "--replications", "3", "--rung", "2", "--threshold", "0.6", "--days", "4"]
    res = subprocess.run([exe, "discover", *args, "--out", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    printed = res.stdout.strip()
    page = (out / "discovery.md").read_text().split("## PRIM box", 1)[1].strip().split("\n\n")[0]
    assert printed == page and "Stability: the least stable restricted input (" in printed
    assert len(pd.read_csv(out / "design.csv")) == 30
