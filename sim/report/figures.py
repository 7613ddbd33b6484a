"""Plot functions. Each takes tables or arrays, accepts an optional ``ax`` and returns it; none runs the model."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import matplotlib

if not os.environ.get("MPLBACKEND"):  # files only, no window; a notebook (inline) or a user's choice is kept
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import Ellipse, FancyArrowPatch  # noqa: E402

from sim.core.ladder import RUNG_LABELS, TOP_RUNG  # noqa: E402

STYLE = Path(__file__).with_name("escalation.mplstyle")
PALETTE = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]
CATEGORY_COLOURS = {"near_routine": "#BBBBBB", "serious": "#CCBB44", "high_risk": "#EE6677"}
SIDE_COLOURS = {"nato": "#4477AA", "russia": "#EE6677", "international": "#66CCEE"}
RUNG_TICKS = [f"{r} {RUNG_LABELS[r]}" for r in RUNG_LABELS]


def use_style() -> None:
    """Apply the project's matplotlib style."""
    plt.style.use(str(STYLE))


def _new(ax: Axes | None, size: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _rung_axis(ax: Axes) -> None:
    ax.set_yticks(range(TOP_RUNG + 1), RUNG_TICKS)
    ax.set_ylim(-0.3, TOP_RUNG + 0.3)
    ax.set_ylabel("escalation ladder rung")
    ax.set_xlabel("time (days)")


def rung_counts(rungs: np.ndarray) -> np.ndarray:
    """Replications per hour (rows) and rung (columns) from a rung matrix (replications x hours)."""
    rungs = np.asarray(rungs, dtype=np.int64)
    counts = np.zeros((rungs.shape[1], TOP_RUNG + 1), dtype=np.int64)
    for r in range(TOP_RUNG + 1):
        counts[:, r] = (rungs == r).sum(axis=0)
    return counts


def count_quantile(counts: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile per hour from counts per rung.

    The smallest rung whose CDF reaches q (numpy's ``inverted_cdf``).
    """
    cdf = np.cumsum(counts, axis=1) / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return np.argmax(cdf >= q - 1e-12, axis=1)


def escalation_curve(
    rungs: np.ndarray | None = None,
    bands: Sequence[tuple[float, float]] = ((0.05, 0.95), (0.25, 0.75)),
    title: str = "",
    label: str = "median",
    colour: str = PALETTE[0],
    ax: Axes | None = None,
    counts: np.ndarray | None = None,
    injects: Sequence[tuple[float, str]] = (),
) -> Axes:
    """Median rung over time with quantile bands across replications (e.g. 90% and 50%).

    Takes the rung matrix (replications x hours) or, to keep memory flat for any number of
    replications, ``counts``: replications per hour and rung (``rung_counts``). ``injects``: the
    scenario's scripted events as (day, label), marked where they fall.
    """
    ax = _new(ax)
    if counts is None:
        counts = rung_counts(rungs)  # type: ignore[arg-type]
    days = np.arange(counts.shape[0]) / 24.0
    for i, (lo_q, hi_q) in enumerate(sorted(bands, key=lambda b: b[0] - b[1])):
        _band(ax, days, counts, lo_q, hi_q, colour, 0.18 + 0.17 * i, BAND_PAD[min(i, 1)])
    ax.step(days, count_quantile(counts, 0.5), where="post", color=colour, label=label)
    _rung_axis(ax)
    ax.set_xlim(0, max(days[-1], 1e-9))
    mark_injects(ax, injects)
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return ax


# Half the height of a band where every replication sits at one rung (the outer band, then the inner one):
# a band from the rung to itself has no height and showed as a white gap in an otherwise shaded stretch.
BAND_PAD = (0.16, 0.1)


def _band(ax: Axes, days, counts, lo_q: float, hi_q: float, colour: str, alpha: float, pad: float, label=None):
    lo, hi = count_quantile(counts, lo_q), count_quantile(counts, hi_q)
    ax.fill_between(
        days,
        lo - pad,
        hi + pad,
        step="post",
        color=colour,
        alpha=alpha,
        linewidth=0,
        label=label or f"{round(100 * (hi_q - lo_q))}% of replications",
    )


INJECT_COLOUR = "#555555"


def mark_injects(ax: Axes, injects: Sequence[tuple[float, str]]) -> None:
    """A dotted vertical line and a small label at each scripted inject's day (``gid="inject"``)."""
    for day, text in injects:
        ax.axvline(day, color=INJECT_COLOUR, linestyle=":", linewidth=1.2, zorder=0.5, gid="inject")
        ax.annotate(
            text,
            (day, 0.99),
            xycoords=("data", "axes fraction"),
            xytext=(-2, 0),
            textcoords="offset points",
            rotation=90,
            ha="right",
            va="top",
            fontsize=7,
            color=INJECT_COLOUR,
            gid="inject",
        )


def escalation_curves(
    runs: Sequence[tuple[str, np.ndarray]],
    injects: Sequence[tuple[float, str]] = (),
    band: tuple[float, float] | None = (0.05, 0.95),
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Every run's median rung on one axis, each in its colour with its 90% band (``band=None``: medians only).

    ``runs``: (label, counts per hour and rung) for each run (``rung_counts``); runs of different
    horizons share the axis up to the longest.
    """
    ax = _new(ax, (10, 5.6))
    longest = 0.0
    for i, (label, counts) in enumerate(runs):
        colour = PALETTE[i % len(PALETTE)]
        days = np.arange(counts.shape[0]) / 24.0
        longest = max(longest, days[-1] if len(days) else 0.0)
        if band is not None:
            _band(ax, days, counts, *band, colour, 0.15, BAND_PAD[0], label=f"{label}: 90% of replications")
        ax.step(days, count_quantile(counts, 0.5), where="post", color=colour, linewidth=2, label=f"{label}: median")
    _rung_axis(ax)
    ax.set_xlim(0, max(longest, 1e-9))
    mark_injects(ax, injects)
    ax.legend(loc="upper right", fontsize=9)
    ax.set_title(title or "Escalation curves of the runs (median and 90% band, same axis)")
    return ax


def small_multiples(panels: Sequence[str], draw, panel_size: tuple[float, float]) -> Axes:
    """One panel per run, stacked, each titled with its run's label: ``draw(i, ax)`` draws panel ``i``."""
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(panel_size[0], panel_size[1] * len(panels)), layout="constrained", squeeze=False
    )
    for i, (label, ax) in enumerate(zip(panels, axes[:, 0], strict=True)):
        draw(i, ax)
        ax.set_title(f"{label}: {ax.get_title()}" if ax.get_title() else label)
    return axes[0, 0]


def spaghetti(rungs: np.ndarray, sample: int = 20, seed: int = 0, title: str = "", ax: Axes | None = None) -> Axes:
    """A sample of individual replications, each its own thin line."""
    ax = _new(ax)
    rng = np.random.default_rng(seed)
    rows = rng.choice(rungs.shape[0], size=min(sample, rungs.shape[0]), replace=False)
    days = np.arange(rungs.shape[1]) / 24.0
    for k, r in enumerate(sorted(rows)):
        jitter = (k - len(rows) / 2) * 0.012  # separate overlapping lines a little
        ax.step(days, rungs[r] + jitter, where="post", linewidth=1.0, alpha=0.7, color=PALETTE[k % 6])
    _rung_axis(ax)
    ax.set_xlim(0, max(days[-1], 1e-9))
    ax.set_title(title or f"{len(rows)} individual replications")
    return ax


EFFECT_PANELS = (
    ("reached_rung_4", 100, "P(peak rung ≥ 4)\n(percentage points)"),
    ("reached_rung_5", 100, "P(peak rung ≥ 5)\n(percentage points)"),
    ("peak_rung", 1, "peak rung\n(rungs)"),
    ("crisis_days", 1, "crisis days\n(days)"),
)


def paired_effects(diffs: pd.DataFrame, baseline: str = "the first run", outcomes: Sequence[str] | None = None) -> Axes:
    """Each run's paired difference from the baseline (same seeds), with 95% intervals, one panel per outcome.

    ``diffs`` is ``sim.analysis.effects.paired_differences``: one row per run (``config``), ``diff_X`` with
    ``diff_X_lo`` and ``diff_X_hi`` for P(rung >= 4), P(rung >= 5), peak rung and crisis days
    (``outcomes``: those to draw, default all four). A difference whose interval holds 0 is not told
    apart from noise by these runs.
    """
    panels = [p for p in EFFECT_PANELS if outcomes is None or p[0] in outcomes]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(12, max(2.6, 0.5 * len(diffs) + 1.8)), layout="constrained", sharey=True
    )
    y = np.arange(len(diffs))
    for ax, (col, scale, label) in zip(axes, panels, strict=True):
        est = scale * diffs[f"diff_{col}"].to_numpy(float)
        lo = scale * diffs[f"diff_{col}_lo"].to_numpy(float)
        hi = scale * diffs[f"diff_{col}_hi"].to_numpy(float)
        err = np.nan_to_num(np.vstack([est - lo, hi - est]), nan=0.0)
        ax.errorbar(est, y, xerr=err, fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=4)
        ax.axvline(0, color="#999999", linewidth=1)
        ax.set_xlabel(label)
        span = np.nanmax(np.abs(np.concatenate([lo, hi, est]))) if len(est) else np.nan
        if not np.isfinite(span) or span < 1e-9:  # no run differs at all: a readable axis around 0
            ax.set_xlim(-1, 1)
        else:
            ax.margins(x=0.25)
        if col in ("reached_rung_4", "reached_rung_5"):
            _not_estimable_marks(ax, diffs, col, y, scale, 7)
    axes[0].set_yticks(y, diffs["config"].to_list())
    axes[0].set_ylim(-0.7, len(diffs) - 0.3)
    fig.suptitle(f"Difference from {baseline}, paired by replication (95% intervals)")
    return axes[0]


def incident_timeline(
    events: pd.DataFrame,
    horizon_days: float,
    sample: int = 30,
    ax: Axes | None = None,
    injects: Sequence[tuple[float, str]] = (),
) -> Axes:
    """Each incident a mark at its time, coloured by ELN category; one row per replication; injects marked."""
    ax = _new(ax, (10, 5.6))
    inc = events[events["kind"] == "incident"]
    reps = sorted(inc["replication"].unique())[:sample]
    inc = inc[inc["replication"].isin(reps)]
    row = {r: i for i, r in enumerate(reps)}
    for cat, colour in CATEGORY_COLOURS.items():
        sel = inc[inc["category"] == cat]
        ax.scatter(
            sel["time_h"] / 24,
            [row[r] for r in sel["replication"]],
            marker="|",
            s=160,
            linewidths=2.2,
            color=colour,
            label=cat.replace("_", "-"),
        )
    ax.set_yticks(range(len(reps)), [str(r) for r in reps])
    ax.set_ylabel("replication")
    ax.set_xlabel("time (days)")
    ax.set_xlim(0, horizon_days)
    ax.set_ylim(-0.8, max(len(reps), 1) - 0.2)
    ax.grid(axis="y", alpha=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, title="ELN incident category")
    mark_injects(ax, injects)
    ax.set_title("Incidents over time")
    return ax


def theatre_map(
    zones: pd.DataFrame,
    links: Sequence[tuple[str, str]],
    forces: pd.DataFrame,
    incidents: pd.Series,
    exercises: pd.DataFrame,
    ax: Axes | None = None,
) -> Axes:
    """Zones (circles of their radius, coloured by owner), links, forces at base, incident density, exercises.

    Args:
        zones: columns ``id, name, lat, lon, owner, radius_km``.
        links: pairs of zone ids.
        forces: columns ``name, side, base``.
        incidents: incident count per zone name (over all replications).
        exercises: columns ``name, side, zone, distance_km`` (the zone after any rule moved it).
        ax: axes to draw on (a new figure if ``None``).
    """
    ax = _new(ax, (11, 8))
    labels = []
    pos = {z.id: (z.lon, z.lat) for z in zones.itertuples()}
    kx = 1 / (111.0 * np.cos(np.radians(zones["lat"].mean())))  # km to degrees of longitude
    for a, b in links:
        ax.plot(*zip(pos[a], pos[b], strict=True), color="#999999", linewidth=1, zorder=1)
    for z in zones.itertuples():
        r = max(z.radius_km, 8)  # km; an ellipse in degrees that is round on the map
        ax.add_patch(Ellipse(pos[z.id], 2 * r * kx, 2 * r / 111.0, color=SIDE_COLOURS[z.owner], alpha=0.25, zorder=2))
        labels.append(
            ax.annotate(
                z.name, pos[z.id], fontsize=9, ha="center", va="top", xytext=(0, -6), textcoords="offset points"
            )
        )
    name_to_id = dict(zip(zones["name"], zones["id"], strict=True))
    total = max(incidents.sum(), 1)
    for name, count in incidents.items():
        if name in name_to_id and count > 0:
            ax.scatter(
                *pos[name_to_id[name]],
                s=2000 * count / total + 20,
                color="#AA3377",
                alpha=0.45,
                zorder=3,
                edgecolors="none",
            )
    ax.scatter([], [], s=120, color="#AA3377", alpha=0.45, label="incidents (area ~ count)")
    for side, grp in forces.groupby("side"):
        xy = np.array([pos[b] for b in grp["base"]])
        offsets = np.linspace(-0.15, 0.15, len(xy))
        ax.scatter(
            xy[:, 0] + offsets,
            xy[:, 1] + 0.12,
            marker="^" if side == "nato" else "v",
            s=90,
            color=SIDE_COLOURS[side],
            edgecolors="black",
            linewidths=0.5,
            zorder=4,
            label=f"{side.upper() if side == 'nato' else side.title()} forces at base",
        )
    exercise_labels = []
    for e in exercises.itertuples():
        x, y = pos[e.zone]
        ax.scatter(x, y, marker="*", s=300, color="#CCBB44", edgecolors="black", zorder=5)
        exercise_labels.append(
            ax.annotate(
                f"{e.name}\n{e.distance_km:.0f} km from border",
                (x, y),
                fontsize=8,
                xytext=(10, 8),
                textcoords="offset points",
                zorder=6,
            )
        )
    ax.scatter([], [], marker="*", s=150, color="#CCBB44", edgecolors="black", label="exercise")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_aspect(1 / np.cos(np.radians(zones["lat"].mean())))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)  # outside: it covers no zone
    ax.set_title("Theatre: zones by owner (blue NATO, red Russia, light blue international)")
    ax.autoscale_view()
    _declutter(ax, exercise_labels, labels)
    return ax


def _declutter(ax: Axes, fixed: list, movable: list, step_pt: float = 4.0, tries: int = 12) -> None:
    """Move each movable label down (then up) in small steps until it overlaps no label placed before it."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    placed = [t.get_window_extent(renderer).expanded(1.02, 1.05) for t in fixed]
    for text in sorted(movable, key=lambda t: -t.xy[1]):  # from the top of the map down
        x0, y0 = text.xyann
        for k in range(tries * 2 + 1):
            shift = (k + 1) // 2 * step_pt * (1 if k % 2 else -1)  # 0, +4, -4, +8, -8 ... points
            text.xyann = (x0, y0 - shift)
            box = text.get_window_extent(renderer).expanded(1.02, 1.05)
            if not any(box.overlaps(b) for b in placed):
                break
        else:
            text.xyann = (x0, y0)
            box = text.get_window_extent(renderer)
        placed.append(box)


def comms_network(graph: nx.Graph, ax: Axes | None = None, channels: Sequence | None = None) -> Axes:
    """The channels between the sides, each with its latency and availability; internal links thin and grey.

    ``channels``: every channel across the divide (``ChannelSpec``s: the scenario's and the measures'); two
    channels between the same pair of actors are two arcs and two labels (a hotline and the diplomatic line
    are two ways to call). Without it, the graph's edges (one per pair: the fastest).
    """
    ax = _new(ax, (10, 6))
    sides = nx.get_node_attributes(graph, "side")
    # Layout: NATO on the left, Russia on the right; crews at the bottom, leaders at the top.
    levels = {}
    for n in graph:
        internal = [m for m in graph[n] if graph.edges[n, m]["kind"] == "internal"]
        levels[n] = 0 if n.endswith("_forces") else (1 if any(m.endswith("_forces") for m in internal) else 2)
    pos = {n: (-1.0 if sides[n] == "nato" else 1.0, float(levels[n])) for n in graph}
    internal = [(u, v) for u, v, d in graph.edges(data=True) if d["kind"] == "internal"]
    if channels is None:
        channels = [
            SimpleNamespace(a=u, b=v, kind=d["kind"], latency_h=d["latency_h"], availability=d["availability"])
            for u, v, d in graph.edges(data=True)
            if d["kind"] != "internal"
        ]
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-0.6, 2.6)
    nx.draw_networkx_edges(graph, pos, edgelist=internal, ax=ax, width=1.2, edge_color="#BBBBBB")
    pairs: dict[tuple[str, str], list] = {}
    for ch in channels:
        u, v = (ch.a, ch.b) if sides.get(ch.a) == "nato" else (ch.b, ch.a)  # NATO end first: arcs bend alike
        pairs.setdefault((u, v), []).append(ch)
    ax.figure.canvas.draw()  # the transform to display coordinates, where arcs bend
    to_px, to_data = ax.transData.transform, ax.transData.inverted().transform
    colour = 0
    for (u, v), group in pairs.items():
        base = 0.0 if levels[u] == levels[v] else 0.15
        for k, ch in enumerate(group):
            rad = base + 0.22 * (k - (len(group) - 1) / 2)
            c = PALETTE[(colour + 2) % 6]
            colour += 1
            ax.add_patch(
                FancyArrowPatch(
                    pos[u],
                    pos[v],
                    connectionstyle=f"arc3,rad={rad}",
                    arrowstyle="-",
                    linewidth=2.5,
                    color=c,
                    shrinkA=14,
                    shrinkB=14,
                    zorder=1,
                )
            )
            (x1, y1), (x2, y2) = to_px(pos[u]), to_px(pos[v])
            mid = to_data(((x1 + x2) / 2 + 0.5 * rad * (y2 - y1), (y1 + y2) / 2 - 0.5 * rad * (x2 - x1)))
            ax.annotate(
                f"{ch.kind}: {ch.latency_h:g} h, {ch.availability:.0%} up",
                mid,
                ha="center",
                va="center",
                fontsize=9 if len(group) > 1 else 10,
                bbox={"boxstyle": "round", "fc": "white", "ec": c},
                zorder=3,
            )
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=900, node_color=[SIDE_COLOURS[sides[n]] for n in graph])
    names = nx.get_node_attributes(graph, "label")
    for n, (x, y) in pos.items():
        ax.annotate(
            textwrap.fill(names.get(n, n.replace("_", " ")), 18),  # a long name must not run into the axis labels
            (x, y),
            xytext=(-70 if x < 0 else 70, 0),
            textcoords="offset points",
            ha="right" if x < 0 else "left",
            va="center",
            fontsize=10,
        )
    ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
    ax.set_yticks([0, 1, 2], ["crews", "command", "leadership"])
    ax.set_xticks([-1, 1], ["NATO", "Russia"])
    ax.grid(False)
    ax.set_title(f"Communication channels (latency, availability): {sum(map(len, pairs.values()))} across the divide")
    return ax


def peak_distribution(runs: Sequence[tuple[str, pd.Series]], ax: Axes | None = None) -> Axes:
    """Share of replications by peak rung; two or more runs side by side."""
    ax = _new(ax)
    width = 0.8 / len(runs)
    for i, (label, peaks) in enumerate(runs):
        share = peaks.value_counts(normalize=True).reindex(range(TOP_RUNG + 1), fill_value=0.0)
        ax.bar(
            np.arange(TOP_RUNG + 1) + (i - (len(runs) - 1) / 2) * width,
            100 * share.to_numpy(),
            width=width,
            label=f"{label} (n={len(peaks)})",
            color=PALETTE[i % len(PALETTE)],
        )
    # two-word rung names on two lines: side by side at 9 points they ran into each other
    ax.set_xticks(range(TOP_RUNG + 1), [f"{r}\n{textwrap.fill(RUNG_LABELS[r], 12)}" for r in RUNG_LABELS], fontsize=9)
    ax.set_xlabel("peak rung of the replication")
    ax.set_ylabel("share of replications (%)")
    ax.legend()
    ax.set_title("Distribution of peak rungs")
    return ax


def save(ax: Axes, stem: Path, formats: Sequence[str]) -> list[Path]:
    """Save the figure of ``ax`` as ``stem.<format>`` for each format; close it."""
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        ax.figure.savefig(path)
        paths.append(path)
    plt.close(ax.figure)
    return paths


FOREST_ROWS_AT_FULL_SIZE = 40  # configurations a forest plot shows at the style's own label size


NOT_ESTIMABLE = "no event in either arm: not estimable"


def _not_estimable_marks(ax: Axes, d: pd.DataFrame, col: str, y: np.ndarray, scale: float, size: float) -> None:
    """Label the rows whose effect cannot be estimated (neither arm had an event), and never zoom in on nothing.

    The axis spans at least each interval and one unit (a point of probability) either side of 0: an
    effect of "0 [0, 0]" drawn on a ±0.04 axis reads as known precisely.
    """
    none = np.zeros(len(d), dtype=bool)
    if f"events_{col}" in d.columns:
        none = ((d[f"events_{col}"] == 0) & (d[f"baseline_events_{col}"] == 0)).to_numpy()
        for k in np.nonzero(none)[0]:
            ax.annotate(
                NOT_ESTIMABLE,
                (scale * d[f"diff_{col}_hi"].iloc[k], y[k]),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=size,
                color="#555555",
            )
    lo = np.nanmin(scale * d[f"diff_{col}_lo"].to_numpy(float), initial=0.0)
    hi = np.nanmax(scale * d[f"diff_{col}_hi"].to_numpy(float), initial=0.0)
    left, right = ax.get_xlim()
    width = max(hi - lo, 2.0)
    # room on the right for a label; never narrower than the intervals or [-1, +1]
    ax.set_xlim(min(left, lo - 0.1 * width, -1.0), max(right, hi + (0.9 if none.any() else 0.1) * width, 1.0))


def forest(diffs: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each configuration's paired effect on P(rung >= 4) against its baseline, with 95% intervals."""
    d = diffs.sort_values("diff_reached_rung_4")
    # a row per configuration; a large sweep (a 2^7 factorial has 127) gets closer rows and smaller labels, so
    # the figure stays a page, not a 60-inch strip that takes most of `escalation compare` to draw
    dense = len(d) > FOREST_ROWS_AT_FULL_SIZE
    ax = _new(ax, (10, max(3.0, (0.16 if dense else 0.45) * len(d) + 1.5)))
    y = np.arange(len(d))
    est = 100 * d["diff_reached_rung_4"].to_numpy()
    lo, hi = 100 * d["diff_reached_rung_4_lo"].to_numpy(), 100 * d["diff_reached_rung_4_hi"].to_numpy()
    ax.errorbar(
        est,
        y,
        xerr=[est - lo, hi - est],
        fmt="o",
        color=PALETTE[0],
        ecolor=PALETTE[0],
        capsize=1.5 if dense else 4,
        markersize=3 if dense else 6,
    )
    ax.axvline(0, color="#999999", linewidth=1)
    ax.set_yticks(y, d["config"].to_list(), **({"fontsize": 6} if dense else {}))
    ax.set_ylim(-0.7, len(d) - 0.3)
    _not_estimable_marks(ax, d, "reached_rung_4", y, 100.0, 6 if dense else 8)
    ax.set_xlabel("change in P(peak rung ≥ 4) against the baseline (percentage points)")
    ax.set_title("Effect of each configuration (paired, 95% intervals)")
    return ax


def interaction_heatmap(
    main: pd.DataFrame, inter: pd.DataFrame, factors: Sequence[str], ax: Axes | None = None
) -> Axes:
    """Main effects on the diagonal, two-way interactions off it (percentage points of P(rung >= 4))."""
    ax = _new(ax, (8, 7))
    k = len(factors)
    grid = np.full((k, k), np.nan)
    for i, f in enumerate(factors):
        grid[i, i] = 100 * main.set_index("term").loc[f, "effect"]
    for row in inter.itertuples():
        a, b = row.term.split(":")
        i, j = factors.index(a), factors.index(b)
        grid[i, j] = grid[j, i] = 100 * row.effect
    lim = np.nanmax(np.abs(grid)) or 1.0
    im = ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{grid[i, j]:+.1f}", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(k), factors, rotation=45, ha="right")
    ax.set_yticks(range(k), factors)
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, label="effect on P(rung ≥ 4), percentage points")
    ax.set_title("Main effects (diagonal) and interactions")
    return ax


def interval_widths(widths: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Width of the 95% interval of the headline outcomes against the number of replications."""
    ax = _new(ax)
    for i, (col, label) in enumerate(
        (("p_rung_ge_4", "P(rung ≥ 4), ×100"), ("mean_peak_rung", "mean peak rung"), ("crisis_days", "crisis days"))
    ):
        scale = 100 if col == "p_rung_ge_4" else 1
        ax.plot(widths["n"], scale * widths[col], marker="o", color=PALETTE[i], label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("replications")
    ax.set_ylabel("width of the 95% interval")
    ax.legend()
    ax.set_title("How many replications are enough?")
    return ax


def sensitivity_bars(indices: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Morris mu* (with its confidence) and sigma per uncertain parameter."""
    d = indices.sort_values("mu_star")
    ax = _new(ax, (10, max(3.0, 0.45 * len(d) + 1.5)))
    y = np.arange(len(d))
    ax.barh(y - 0.2, d["mu_star"], height=0.4, xerr=d["mu_star_conf"], color=PALETTE[0], label="μ* (overall influence)")
    ax.barh(y + 0.2, d["sigma"], height=0.4, color=PALETTE[1], label="σ (non-linearity, interactions)")
    ax.set_yticks(y, d["parameter"].to_list())
    ax.set_xlabel("elementary effect on P(rung ≥ 4)")
    ax.legend()
    ax.set_title("Sensitivity of P(rung ≥ 4) to uncertain parameters (Morris)")
    return ax


SURVIVAL_CURVES_LABELLED = 8  # configurations a survival figure draws in colour, with bands and a legend


def _steps(c, values: np.ndarray, horizon_days: float) -> tuple[np.ndarray, np.ndarray]:
    """A Kaplan-Meier curve's ``values`` as a step path: 1 from day 0, the last value held to the horizon."""
    if not c.events:
        return np.array([0.0, horizon_days]), np.array([1.0, 1.0])
    return np.concatenate([[0.0], c.times, [horizon_days]]), np.concatenate([[1.0], values, [values[-1]]])


def survival_curves(
    curves: dict, horizon_days: float, rung: int, ax: Axes | None = None, baseline: str | None = None
) -> Axes:
    """Kaplan-Meier curves of P(not yet at rung ``rung``) over days, one per configuration, with 95% bands.

    With more than ``SURVIVAL_CURVES_LABELLED`` configurations (a factorial sweep has 128), a legend of every one
    would bury the axes: the baseline (or the first), the one that reaches the rung least and the one that reaches
    it most are drawn in colour with their bands and named; the others are thin grey lines, counted in the legend.
    """
    ax = _new(ax, (7.5, 4.2))
    if len(curves) > SURVIVAL_CURVES_LABELLED:
        first = baseline if baseline in curves else next(iter(curves))
        finals = {k: c.at(horizon_days) for k, c in curves.items()}
        # the baseline takes an extreme's part itself where it shares it, rather than another tied configuration
        least = first if finals[first] == max(finals.values()) else max(finals, key=finals.__getitem__)
        most = first if finals[first] == min(finals.values()) else min(finals, key=finals.__getitem__)
        keep = list(dict.fromkeys([first, least, most]))
        others = [k for k in curves if k not in keep]
        for k in others:
            ax.step(
                *_steps(curves[k], curves[k].survival, horizon_days), where="post", color="#BBBBBB", lw=0.6, alpha=0.6
            )
        ax.plot([], [], color="#BBBBBB", lw=0.6, label=f"{len(others)} other configurations (every one in the table)")

        def tied(name: str, k: str) -> str:  # the same share reached in other configurations too
            n = list(finals.values()).count(finals[k]) - 1
            return name if n == 0 else f"{name}, as {n} other{'s' if n > 1 else ''}"

        roles: dict[str, list[str]] = {k: [] for k in keep}
        roles[first].append("baseline")
        roles[least].append(tied("reaches it least", least))
        if most != least:  # every configuration the same: no extremes to name
            roles[most].append(tied("reaches it most", most))
        curves = {f"{k} [{'; '.join(roles[k])}]": curves[k] for k in keep}
    for k, (label, c) in enumerate(curves.items()):
        colour = PALETTE[k % len(PALETTE)]
        if c.events == 0:
            ax.plot([0, horizon_days], [1, 1], color=colour, lw=1.6, label=f"{label} (none of {c.n})")
            continue
        t, s = _steps(c, c.survival, horizon_days)
        ax.step(t, s, where="post", color=colour, lw=1.6, label=f"{label} ({c.events} of {c.n})")
        ax.fill_between(
            t,
            _steps(c, c.low, horizon_days)[1],
            _steps(c, c.high, horizon_days)[1],
            step="post",
            color=colour,
            alpha=0.15,
            lw=0,
        )
    ax.set_xlim(0, horizon_days)
    ax.set_ylim(min(0.5, ax.get_ylim()[0]), 1.01)
    ax.set_xlabel("days")
    ax.set_ylabel(f"P(not yet at rung {rung})")
    ax.set_title(f"Time to rung {rung} ({RUNG_LABELS[rung]}): Kaplan-Meier, censored at the horizon")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def survival_panels(panels: dict[str, dict], horizon_days: float, rung: int) -> Axes:
    """Kaplan-Meier curves of time to ``rung``, one panel per setting (e.g. era), one curve per configuration."""
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels), 4.4), layout="constrained", sharey=True, squeeze=False
    )
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=True):
        survival_curves(curves, horizon_days, rung, ax=ax)
        ax.set_title(title)
    # rare events leave the curves near 1: zoom to the lowest band (never above 0.9, so a flat line reads as flat)
    lows = [float(c.low.min()) for curves in panels.values() for c in curves.values() if c.events]
    low = max(0.0, min([0.9, *lows]) - 0.02)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    axes[0][0].set_ylim(low, 1.005)
    fig.suptitle(f"Time to rung {rung} ({RUNG_LABELS[rung]}): Kaplan-Meier, censored at the horizon, 95% bands")
    return axes[0][0]
