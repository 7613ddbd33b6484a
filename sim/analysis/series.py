"""The state of a replication over time: change points, and hours resampled from them.

The model records its state only when an event changes it (``EscalationModel.changes``): the
time, the rung, and tension and trust per side. Between two change points the rung and trust stay
as they are and tension relaxes exponentially toward its baseline, so the state at any time, and
so the hourly table of the first engine, follows exactly from the change points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANGE_COLUMNS = ("time_h", "rung", "tension_nato", "tension_russia", "trust_nato", "trust_russia")
TIMESERIES_COLUMNS = CHANGE_COLUMNS[1:]


@dataclass(frozen=True)
class Relaxation:
    """What the state does between change points: tension relaxes toward its baselines."""

    horizon_h: float
    relax_h: float
    baseline_nato: float
    baseline_russia: float

    def to_dict(self) -> dict[str, float]:  # noqa: D102
        return {k: float(getattr(self, k)) for k in ("horizon_h", "relax_h", "baseline_nato", "baseline_russia")}


def hours(horizon_h: float) -> np.ndarray:
    """The whole hours of a run, 0 to the horizon."""
    return np.arange(int(round(horizon_h)) + 1, dtype=float)


def rung_by_hour(times: np.ndarray, rungs: np.ndarray, horizon_h: float) -> np.ndarray:
    """The rung at each whole hour (after every event at or before it) from change points."""
    idx = np.searchsorted(times, hours(horizon_h), side="right") - 1
    return np.asarray(rungs, dtype=np.int64)[idx]


def hourly(changes: np.ndarray, relax: Relaxation) -> dict[str, np.ndarray]:
    """The state at each whole hour: the last change point at or before it, with tension relaxed since."""
    grid = hours(relax.horizon_h)
    idx = np.searchsorted(changes[:, 0], grid, side="right") - 1
    rows = changes[idx]
    decay = np.exp(-(grid - rows[:, 0]) / relax.relax_h)
    return {
        "rung": rows[:, 1].astype(np.int64),
        "tension_nato": relax.baseline_nato + (rows[:, 2] - relax.baseline_nato) * decay,
        "tension_russia": relax.baseline_russia + (rows[:, 3] - relax.baseline_russia) * decay,
        "trust_nato": rows[:, 4],
        "trust_russia": rows[:, 5],
    }
