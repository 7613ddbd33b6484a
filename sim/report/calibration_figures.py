"""Figures of a calibration: marginal posteriors against priors, targets against the posterior predictive."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.report.figures import PALETTE, plt, use_style


def plot_posterior(priors, posterior: pd.DataFrame, path: Path) -> None:
    """One panel per fitted parameter: the weighted posterior histogram and the prior density."""
    use_style()
    n = len(priors)
    cols = 3
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows), layout="constrained", squeeze=False)
    w = posterior["weight"].to_numpy(float)
    for ax, prior in zip(axes.flat, priors, strict=False):
        values = posterior[prior.key].to_numpy(float)
        log = prior.kind == "loguniform"
        lo, hi = prior.low, prior.high
        bins = np.geomspace(lo, hi, 25) if log else np.linspace(lo, hi, 25)
        ax.hist(values, bins=bins, weights=w, density=True, color=PALETTE[0], alpha=0.75, label="posterior")
        grid = np.geomspace(lo, hi, 200) if log else np.linspace(lo, hi, 200)
        ax.plot(grid, prior.density(grid), color=PALETTE[1], lw=1.5, label="prior")
        if log:
            ax.set_xscale("log")
        ax.set_title(prior.key.removeprefix("model."), fontsize=9)
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="upper right")
    fig.suptitle("Calibrated parameters: marginal posterior (bars) against prior (line)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_predictive(targets, predictive: pd.DataFrame, path: Path) -> None:
    """One panel per target: the posterior predictive of its statistic, the record and the tolerance band."""
    use_style()
    n = len(targets)
    cols = 3
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.4 * rows), layout="constrained", squeeze=False)
    for ax, target in zip(axes.flat, targets, strict=False):
        values = predictive[target.name].to_numpy(float)
        values = values[np.isfinite(values)]
        ax.axvspan(target.low, target.high, color=PALETTE[2], alpha=0.2, label="tolerance band")
        ax.axvline(target.value, color=PALETTE[2], lw=1.5, label="record")
        if len(values):
            lo = min(values.min(), target.low)
            hi = max(values.max(), target.high)
            ax.hist(values, bins=np.linspace(lo, hi + 1e-9, 20), color=PALETTE[0], alpha=0.75, label="model")
        inside = np.mean([target.within(v) for v in values]) if len(values) else float("nan")
        ax.set_title(f"{target.name} ({inside:.0%} in band)", fontsize=9)
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.suptitle("Posterior predictive: each target's statistic for parameter sets drawn from the posterior")
    fig.savefig(path, dpi=110)
    plt.close(fig)
