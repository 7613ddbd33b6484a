"""``escalation study``: one experiment gives the report card with survival curves, discovery and variance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.studies.study import PARTS, plan

EXE = str(Path(sys.executable).with_name("escalation"))


def test_scale_shrinks_each_part_within_what_the_verb_accepts(tmp_path):
    """--scale multiplies the card's replications (200) and its structural screen's (20, at least 2), the
    discovery's points (150) and the variance
    design's base samples (256, to a power of two); never below each verb's floor.
    """
    experiments = {"card": "report_card", "discovery": "discovery", "variance": "variance"}
    steps = {p.name: a for p, a in plan(experiments, 0.1, 3, tmp_path)}
    assert steps["card"][-6:] == ["--replications", "20", "--structural-replications", "2", "--seed", "3"]
    assert steps["discovery"][-4:] == ["--samples", "15", "--seed", "3"]
    assert steps["variance"][-4:] == ["--samples", "32", "--seed", "3"]
    card, discovery, variance = PARTS
    assert card.scaled(200, 0.001) == 10 and variance.scaled(256, 0.001) == 8 and variance.scaled(256, 1) == 256


def test_a_study_refuses_a_wrong_experiment_before_running_anything(tmp_path):
    res = subprocess.run(
        [EXE, "study", "--card", "discovery", "--out", str(tmp_path / "s")], capture_output=True, text=True
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no card experiment 'discovery'" in res.stderr
    assert not (tmp_path / "s").exists()
    res = subprocess.run([EXE, "study", "--scale", "0"], capture_output=True, text=True)
    assert res.returncode == 2 and "--scale must be in (0, 10]" in res.stderr


@pytest.mark.slow
def test_the_study_experiment_gives_the_three_answers_on_one_page(tmp_path):
    """The shipped study experiment at 2% of its budget: every part's page, the card's survival curves
    and effects figure, and a study page whose headlines are the parts' own (read back from their files).
    At 2% the discovery has 10 design points, too few with the use of force likely: it refuses (no box on
    chance, nothing written) and the study says so and goes on.
    """
    out = tmp_path / "study"
    res = subprocess.run(
        [EXE, "study", "--experiment", "study", "--scale", "0.02", "--out", str(out)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "part 3 of 3: escalation variance --experiment variance" in res.stderr
    for page in (
        "card/card.md",
        "card/survival.png",
        "card/effects.png",
        "card/survival.csv",
        "variance/variance.md",
        "study.md",
        "study.html",
    ):
        assert (out / page).is_file(), page
    text = (out / "study.md").read_text()
    assert "**Scaled by 0.02**" in text and "--replications 10" in text
    ranks = pd.read_csv(out / "card" / "ranks.csv")
    assert len(ranks) == 7 and all(f"| {b} |" in text for b in ranks["bundle"])
    survival = pd.read_csv(out / "card" / "survival.csv")
    assert set(survival["era"]) == {"cooperative_2004", "confrontation_2014", "crisis_2022"}
    assert (survival["n"] == 20).all()  # 10 replications x 2 scenarios per bundle and era
    assert not (out / "discovery").exists() and "the discovery drew no box" in res.stderr
    assert "No box: fewer than 10 design points had the use of force likely" in text
    st = pd.read_csv(out / "variance" / "variance.csv")
    assert "| incidents_serious |" in text
    assert st[st.outcome == "incidents_serious"]["ST"].notna().all()
    html = (out / "study.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and 'href="card/card.html"' in html


@pytest.mark.parametrize("verb", ["study", "card", "discover", "variance"])
def test_an_out_that_is_a_file_is_refused_before_any_run(verb, tmp_path):
    """Minutes of runs must not end in a traceback at the last step: a file as --out fails at once."""
    afile = tmp_path / "notes.txt"
    afile.write_text("the user's notes")
    res = subprocess.run([EXE, verb, "--out", str(afile / "sub")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "is a file, not a folder" in res.stderr and "Traceback" not in res.stderr
    assert afile.read_text() == "the user's notes"


def test_the_python_api_reaches_study_and_variance(tmp_path):
    """sim.api.study refuses a wrong experiment as a UserError (no run, no folder); sim.api.variance gives the
    Sobol table of each outcome and input on a small design (8 base samples, 40 ten-day replications).
    """
    from sim import api
    from sim.run.errors import UserError

    with pytest.raises(UserError):
        api.study(out=tmp_path / "s", card="discovery")
    assert not (tmp_path / "s").exists()
    table = api.variance(bundles=["none", "eln_seven"], samples=8, days=10)
    assert set(table["group"]) == {"parameters", "measures", "noise"}
    assert len(table) == 4 * 3 and (table["varied"] >= 0).all()
