"""The variance decomposition against a known answer, and on the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.studies.variance import OUTCOMES, decompose, make_design, run_design

TWO_PARTICLES = pd.DataFrame({"model.cut_match": [4.0, 6.0], "weight": [0.25, 0.75]})


def test_sobol_recovers_known_shares():
    """Y = 3p + 2b + e with p ~ U(-1, 1), b a fair coin, e a noise term of variance 1/2:
    variances 3, 1 and 1/2, so first-order shares 0.67, 0.22 and 0.11 (within 0.1).
    """
    d = make_design(TWO_PARTICLES, ["none", "eln_seven"], 1024, seed=0)
    p = 2 * d.rows[:, 0] - 1
    b = (d.rows[:, 1] * 2).astype(int).astype(float) * 2
    e = np.sin(d.rows[:, 2] * 1e4)
    y = 3 * p + b + e
    t = decompose(d, pd.DataFrame({c: y for c in OUTCOMES}))
    s1 = t[t.outcome == "peak_rung"].set_index("group")["S1"]
    assert s1["parameters"] == pytest.approx(3 / 4.5, abs=0.1)
    assert s1["measures"] == pytest.approx(1 / 4.5, abs=0.1)
    assert s1["noise"] == pytest.approx(0.5 / 4.5, abs=0.1)


def test_the_parameters_input_draws_whole_particles_by_weight():
    """A quantile below 0.25 takes the first particle (weight 0.25), above it the second; over the
    design the second is taken about 3 times in 4 (within 0.05 over 1,280 rows).
    """
    d = make_design(TWO_PARTICLES, ["none"], 256, 1)
    assert len(d.rows) == 256 * 5
    assert [d.particle(u) for u in (0.0, 0.2499, 0.2501, 0.999)] == [0, 0, 1, 1]
    taken = np.array([d.particle(u) for u in d.rows[:, 0]])
    assert taken.mean() == pytest.approx(0.75, abs=0.05)
    assert d.effective_sample_size == pytest.approx(1 / (0.25**2 + 0.75**2))


def test_the_model_rows_are_seeded_by_the_noise_input_and_take_their_particle():
    """Two rows with the same inputs give the same outcome; each row ran its particle's parameters."""
    d = make_design(TWO_PARTICLES, ["none"], 8, 2)
    d.rows = np.vstack([d.rows[:1], d.rows[:1], d.rows[-1:]])  # the last row is matrix B: another seed
    r = run_design(d, "baltic_air_policing", None)
    assert r.iloc[0].equals(r.iloc[1])
    assert r.loc[0, "seed"] != r.loc[2, "seed"]
    assert list(r["particle"]) == [d.particle(u) for u in d.rows[:, 0]]


def test_an_outcome_that_hardly_varies_is_not_decomposed():
    """Five odd replications in 320 would give Sobol estimates of pure noise: the table says so instead."""
    from sim.studies.variance import MIN_VARIED

    d = make_design(TWO_PARTICLES, ["none"], 64, 3)
    y = np.zeros(len(d.rows))
    y[:5] = 1.0
    t = decompose(d, pd.DataFrame({c: y for c in OUTCOMES}))
    assert t["S1"].isna().all() and (t["varied"] == 5).all() and MIN_VARIED > 5
