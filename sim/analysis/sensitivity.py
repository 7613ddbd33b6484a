"""Sensitivity analysis over uncertain model parameters: a Morris design (SALib) and its indices.

The design is regenerated from the experiment's settings (parameters with bounds, trajectories,
levels, seed) wherever it is needed, so every job of the sweep takes the same design and picks its
own row (``sensitivity.row``); ``escalation compare`` regenerates it to compute the indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample


def problem(settings: dict[str, Any]) -> dict[str, Any]:
    """The SALib problem: parameter names (config keys such as ``model.cut_match``) and bounds."""
    params = settings["parameters"]
    return {"num_vars": len(params), "names": list(params), "bounds": [list(map(float, b)) for b in params.values()]}


def design(settings: dict[str, Any]) -> np.ndarray:
    """The Morris design: ``trajectories x (k + 1)`` rows, one per job."""
    return morris_sample.sample(
        problem(settings),
        N=int(settings["trajectories"]),
        num_levels=int(settings["levels"]),
        seed=int(settings["seed"]),
    )


def design_point(settings: dict[str, Any], row: int) -> dict[str, float]:
    """The parameter values of one row of the design."""
    x = design(settings)
    if not 0 <= row < len(x):
        raise IndexError(f"sensitivity.row {row} is outside the design's {len(x)} rows (0 to {len(x) - 1})")
    return dict(zip(problem(settings)["names"], map(float, x[row]), strict=True))


def morris_indices(settings: dict[str, Any], outcomes: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Morris mu*, its 95% confidence half-width and sigma for each parameter."""
    prob = problem(settings)
    res = morris_analyze.analyze(
        prob,
        design(settings),
        np.asarray(outcomes, float),
        num_levels=int(settings["levels"]),
        seed=seed,
        print_to_console=False,
    )
    return pd.DataFrame(
        {
            "parameter": prob["names"],
            "mu_star": res["mu_star"],
            "mu_star_conf": res["mu_star_conf"],
            "sigma": res["sigma"],
            "mu": res["mu"],
        }
    )
