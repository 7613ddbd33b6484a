"""The variance decomposition against a known answer, and on the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.variance import OUTCOMES, decompose, make_design, run_design


def test_grouped_sobol_recovers_known_shares():
    """Y = 3p + 2b + e with p ~ U(-1, 1), b a fair coin, e a noise term of variance 1/2:
    variances 3, 1 and 1/2, so first-order shares 0.67, 0.22 and 0.11 (within 0.1).
    """
    d = make_design({"model.cut_match": (4.0, 6.0)}, {}, ["none", "eln_seven"], 1024, seed=0)
    p = d.rows[:, 0] - 5
    b = (d.rows[:, 1] * 2).astype(int).astype(float) * 2
    e = np.sin(d.rows[:, 2] * 1e4)
    y = 3 * p + b + e
    t = decompose(d, pd.DataFrame({c: y for c in OUTCOMES}))
    s1 = t[t.outcome == "peak_rung"].set_index("group")["S1"]
    assert s1["parameters"] == pytest.approx(3 / 4.5, abs=0.1)
    assert s1["measures"] == pytest.approx(1 / 4.5, abs=0.1)
    assert s1["noise"] == pytest.approx(0.5 / 4.5, abs=0.1)


def test_the_design_draws_log_parameters_on_a_log_scale():
    d = make_design(
        {"model.encounter_rate_per_h": (0.01, 1.0)}, {"model.encounter_rate_per_h": "loguniform"}, ["none"], 64, 1
    )
    assert d.rows[:, 0].min() >= -2 and d.rows[:, 0].max() <= 0
    assert len(d.rows) == 64 * 5


def test_the_model_rows_are_seeded_by_the_noise_input():
    """Two rows with the same parameters, bundle and seed input give the same outcome."""
    d = make_design({"model.cut_match": (4.0, 6.0)}, {}, ["none"], 8, 2)
    d.rows = np.vstack([d.rows[:1], d.rows[:1], d.rows[-1:]])  # the last row is matrix B: another seed
    r = run_design(d, "baltic_air_policing", None)
    assert r.iloc[0].equals(r.iloc[1])
    assert r.loc[0, "seed"] != r.loc[2, "seed"]
