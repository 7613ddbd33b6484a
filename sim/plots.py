"""Figures. Plot functions take tables or arrays, accept an optional ``ax`` and return it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from sim.core.ladder import RUNG_LABELS, TOP_RUNG  # noqa: E402

BAND_COLOUR = "#88CCEE"  # Tol's colour-blind-safe palette
LINE_COLOUR = "#332288"


def escalation_curve(rungs: np.ndarray, title: str = "", ax: Axes | None = None) -> Axes:
    """Median rung over time with a 10-90% band across replications; rung names on the y axis.

    Args:
        rungs: array (replications x hours) of the rung at each hour.
        title: figure title.
        ax: axes to draw on (a new figure if omitted).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    days = np.arange(rungs.shape[1]) / 24.0
    lo, med, hi = np.quantile(rungs, [0.1, 0.5, 0.9], axis=0, method="inverted_cdf")
    ax.fill_between(days, lo, hi, step="post", color=BAND_COLOUR, alpha=0.6, linewidth=0, label="10-90% of replications")
    ax.step(days, med, where="post", color=LINE_COLOUR, linewidth=2, label="median")
    ax.plot(days, rungs.mean(axis=0), color="#CC6677", linewidth=1, linestyle="--", label="mean")
    ax.set_yticks(range(TOP_RUNG + 1), [f"{r} {RUNG_LABELS[r]}" for r in RUNG_LABELS])
    ax.set_ylim(-0.3, TOP_RUNG + 0.3)
    ax.set_xlim(0, days[-1] if len(days) > 1 else 1)
    ax.set_xlabel("time (days)")
    ax.set_ylabel("escalation ladder rung")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def save_escalation_curve(rungs: np.ndarray, path, title: str = "") -> None:
    """Draw the escalation curve and save it (PNG or SVG by the file's suffix)."""
    ax = escalation_curve(rungs, title)
    ax.figure.savefig(path, dpi=150)
    plt.close(ax.figure)
