"""Is the event-driven engine the same model as the hourly one? Two-sample tests on every library scenario.

Usage (from the project root, in the project's virtual environment):
    python experiments/engine_equivalence.py [--n 2000] [--ref 8ec2038] [--write docs/engine_equivalence.md]
    python experiments/engine_equivalence.py --stored [--n 2000] [--write docs/engine_equivalence.md]

``--stored`` compares today's engine with the hourly engine's stored outcomes
(``tests/data/hourly_engine_reference.json``, 2,000 replications of each scenario) instead of running
the old commit again: today's engine runs the reference's model (its parameters before calibration,
the crisis dynamics switched off, the scenarios' injects as they were then), as ``tests/test_engine.py``
does on 300 replications of three scenarios. Without it, each tree runs its own defaults, which since
the calibration and the crisis dynamics are no longer the same model.

The hourly engine is the commit ``--ref`` (the last one before the event-driven engine, 8ec2038):
the script checks it out in a temporary git worktree and runs the same replications there, in a
subprocess, with the same scenario, parameters (defaults, no measures) and seeds. Both engines' outcomes
are cached under ``bench_results/equivalence/`` (keyed by commit and n), so a re-run only simulates what
changed.

For each scenario it compares, between the engines:
- the peak rung distribution: a chi-square test of homogeneity (rungs seen fewer than 5 times in both
  engines pooled with their neighbour);
- the incident count: a two-sample Anderson-Darling test (scipy's ``anderson_ksamp``, permutation
  p-value) and the difference in means with its 95% interval;
- P(rung >= 4) in each engine with Wilson intervals.

With 20 tests at the 5% level one or so is expected to fail by chance; the report lists each p-value
and a Holm-corrected verdict. The tests of the suite (``tests/test_engine.py``) check the event
engine against a reference summary of the hourly one that this script writes
(``tests/data/hourly_engine_reference.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench_results" / "equivalence"
REFERENCE = ROOT / "tests" / "data" / "hourly_engine_reference.json"

# Runs in either engine's tree: only APIs both have.
RUNNER = r"""
import sys, json
from hydra import compose, initialize_config_dir
try:  # the packages of today's tree (issue 34)
    from sim.run.config import measure_settings, model_params, register_configs
    from sim.run.paths import CONF_DIR
    from sim.run.runner import run_replications
    from sim.run.scenario_io import library, load_scenario
except ImportError:  # the flat sim/ of the hourly engine's tree
    from sim.config import measure_settings, model_params, register_configs
    from sim.paths import CONF_DIR
    from sim.runner import run_replications
    from sim.scenario_io import library, load_scenario
name, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
workers = 2
if sys.argv[4:] == ["keep-waits"]:  # the ablation: sortie waits not redrawn when a side's rate changes
    import sim.core.model
    sim.core.model.EscalationModel.rates_changed = lambda self, side: None
    workers = 1  # worker processes would import the model afresh, without the ablation
register_configs()
with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
    cfg = compose("config", overrides=[f"scenario={name}"])
scenario = load_scenario(library()[name])
ens = run_replications(scenario, model_params(cfg), measure_settings(cfg), n=n, seed=2026, workers=workers,
                       record_events=False, record_timeseries=False)
ens.outcomes().to_csv(out, index=False)
"""


# Runs in an earlier tree of the event engine (``--before``): the reference's model, as ``at_reference_model``.
BEFORE_RUNNER = r"""
import sys, dataclasses
name, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, "tests")
from conftest import PRE_CALIBRATION, WITHOUT_CRISIS_DYNAMICS
from hydra import compose, initialize_config_dir
try:  # the packages of today's tree (issue 34)
    from sim.calibration.targets import with_values
    from sim.run.config import measure_settings, model_params, register_configs
    from sim.run.paths import CONF_DIR
    from sim.run.runner import run_replications
    from sim.run.scenario_io import library, load_scenario
except ImportError:  # the flat sim/ before it
    from sim.calibration import with_values
    from sim.config import measure_settings, model_params, register_configs
    from sim.paths import CONF_DIR
    from sim.runner import run_replications
    from sim.scenario_io import library, load_scenario
register_configs()
with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
    cfg = compose("config", overrides=[f"scenario={name}"])
params = with_values(model_params(cfg), PRE_CALIBRATION | WITHOUT_CRISIS_DYNAMICS)
scenario = load_scenario(library()[name])
injects = tuple(
    dataclasses.replace(j, victim="", consequence="none") for j in scenario.injects if j.id != "warning_fire"
)
scenario = dataclasses.replace(scenario, injects=injects)
ens = run_replications(scenario, params, measure_settings(cfg), n=n, seed=2027, workers=1,
                       record_events=False, record_timeseries=False)
ens.outcomes().to_csv(out, index=False)
"""


def before_engine(commit: str, names: list[str], n: int) -> dict[str, pd.DataFrame]:
    """The event engine at ``commit`` on the reference's model (in a temporary worktree, one process), cached."""
    out: dict[str, pd.DataFrame] = {}
    todo = [name for name in names if not (CACHE / f"before-{commit}-{name}-{n}.csv").is_file()]
    if todo:
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "before"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True, capture_output=True
            )
            try:
                (tree / "before_runner.py").write_text(BEFORE_RUNNER)
                for name in todo:
                    print(f"  engine at {commit}: {name} x {n} ...", file=sys.stderr, flush=True)
                    csv = CACHE / f"before-{commit}-{name}-{n}.csv"
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    subprocess.run(
                        [sys.executable, "before_runner.py", name, str(n), str(csv)], cwd=tree, env=env, check=True
                    )
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
    for name in names:
        df = pd.read_csv(CACHE / f"before-{commit}-{name}-{n}.csv")
        if "incidents" not in df:
            df["incidents"] = df["incidents_near_routine"] + df["incidents_serious"] + df["incidents_high_risk"]
        out[name] = df
    return out


def before_table(commit: str, before: dict[str, pd.DataFrame], today: dict[str, pd.DataFrame]) -> str:
    """Today's engine against the engine at ``commit``, both on the reference's model: one row a scenario."""
    rows = []
    for name, old in before.items():
        new = today[name]
        rows.append(
            {
                "scenario": name,
                f"incidents at {commit}": f"{old['incidents'].mean():.2f}",
                "incidents today": f"{new['incidents'].mean():.2f}",
                "p incidents (AD)": count_test(old["incidents"], new["incidents"]),
                f"mean peak at {commit}": f"{old['peak_rung'].mean():.3f}",
                "mean peak today": f"{new['peak_rung'].mean():.3f}",
                "p peak (chi2)": peak_test(old["peak_rung"], new["peak_rung"]),
            }
        )
    table = pd.DataFrame(rows)
    k = len(table)
    rejected = holm(list(table["p incidents (AD)"]) + list(table["p peak (chi2)"]))
    table["differs (Holm, 5%)"] = [
        ", ".join(w for w, r in (("incidents", rejected[i]), ("peak", rejected[k + i])) if r) or "no" for i in range(k)
    ]
    for col in ("p incidents (AD)", "p peak (chi2)"):
        table[col] = table[col].map(lambda p: f"{p:.3f}")
    return markdown(table)


def scenarios() -> list[str]:
    """Every library scenario, by name."""
    return sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


def head() -> str:
    """The working tree's commit (with ``+`` when it has uncommitted changes)."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "sim", "conf"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return sha + ("+" if dirty else "")


def outcomes(tree: Path, label: str, name: str, n: int, ablation: str = "") -> pd.DataFrame:
    """Outcomes of ``n`` replications of scenario ``name`` in the engine at ``tree`` (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{label}{'_' + ablation if ablation else ''}_{name}_{n}.csv"
    if not path.exists() or label.endswith("+"):
        tmp = path.with_suffix(".tmp")
        print(f"  {label} {ablation}: {name} x {n} ...", file=sys.stderr, flush=True)
        subprocess.run(
            [sys.executable, "-c", RUNNER, name, str(n), str(tmp), *([ablation] if ablation else [])],
            cwd=tree,
            check=True,
            env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
        )
        tmp.replace(path)
    return pd.read_csv(path)


def peak_test(a: pd.Series, b: pd.Series) -> float:
    """Chi-square homogeneity p-value of two peak-rung samples (sparse rungs pooled upward)."""
    rungs = range(0, 8)
    table = np.array([[int((a == r).sum()) for r in rungs], [int((b == r).sum()) for r in rungs]])
    table = table[:, table.sum(axis=0) > 0]
    cols: list[np.ndarray] = []
    acc = np.zeros(2, dtype=int)
    for col in table.T:
        acc = acc + col
        if acc.sum() >= 10:
            cols.append(acc)
            acc = np.zeros(2, dtype=int)
    if acc.sum():
        if cols:
            cols[-1] = cols[-1] + acc
        else:
            cols.append(acc)
    if len(cols) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.array(cols).T)[1])


def count_test(a: pd.Series, b: pd.Series) -> float:
    """Two-sample Anderson-Darling p-value (permutation) of two count samples."""
    if a.nunique() == 1 and b.nunique() == 1 and a.iloc[0] == b.iloc[0]:
        return 1.0
    res = stats.anderson_ksamp(
        [a.to_numpy(), b.to_numpy()], variant="midrank", method=stats.PermutationMethod(n_resamples=999, random_state=1)
    )
    return float(res.pvalue)


def wilson(k: int, n: int) -> tuple[float, float, float]:
    """Proportion and its 95% Wilson interval."""
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    return k / n, ci.low, ci.high


def markdown(table: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def holm(pvalues: list[float]) -> list[bool]:
    """Holm's step-down rejections at the 5% family-wise level."""
    order = np.argsort(pvalues)
    reject = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] <= 0.05 / (len(pvalues) - rank):
            reject[i] = True
        else:
            break
    return reject


def compare_row(name: str, old: pd.DataFrame, new: pd.DataFrame, kept: pd.DataFrame) -> dict:
    """One scenario's row: the hourly engine (``old``) against the event engine, and its ablation (``kept``)."""
    p_old, lo_old, hi_old = wilson(int(old["reached_rung_4"].sum()), len(old))
    p_new, lo_new, hi_new = wilson(int(new["reached_rung_4"].sum()), len(new))
    diff = new["incidents"].mean() - old["incidents"].mean()
    se = np.sqrt(new["incidents"].var() / len(new) + old["incidents"].var() / len(old))
    row = {
        "scenario": name,
        "incidents hourly": f"{old['incidents'].mean():.1f}",
        "incidents event": f"{new['incidents'].mean():.1f}",
        "difference [95% CI]": f"{diff:+.2f} [{diff - 1.96 * se:+.2f}, {diff + 1.96 * se:+.2f}]",
        "p incidents (AD)": count_test(old["incidents"], new["incidents"]),
        "incidents event, waits kept": f"{kept['incidents'].mean():.1f}",
        "p (waits kept)": count_test(old["incidents"], kept["incidents"]),
        "mean peak hourly": f"{old['peak_rung'].mean():.3f}",
        "mean peak event": f"{new['peak_rung'].mean():.3f}",
        "p peak (chi2)": peak_test(old["peak_rung"], new["peak_rung"]),
        "P(rung>=4) hourly": f"{100 * p_old:.1f}% [{100 * lo_old:.1f}, {100 * hi_old:.1f}]",
        "P(rung>=4) event": f"{100 * p_new:.1f}% [{100 * lo_new:.1f}, {100 * hi_new:.1f}]",
    }
    print(f"{name}: incidents p={row['p incidents (AD)']:.3f}, peak p={row['p peak (chi2)']:.3f}", file=sys.stderr)
    return row


def at_reference_model(name: str, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Today's engine on the hourly reference's model: ``n`` replications (seed 2027), and its ablation.

    The ablation keeps sortie waits when a side's rate changes (in this process, one worker).
    """
    import dataclasses

    from hydra import compose, initialize_config_dir

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import PRE_CALIBRATION, WITHOUT_CRISIS_DYNAMICS

    from sim.calibration.targets import with_values
    from sim.core.platforms import Platform
    from sim.run.config import measure_settings, model_params, register_configs
    from sim.run.paths import CONF_DIR
    from sim.run.runner import run_replications
    from sim.run.scenario_io import library, load_scenario

    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"scenario={name}"])
    params = with_values(model_params(cfg), PRE_CALIBRATION | WITHOUT_CRISIS_DYNAMICS)
    scenario = load_scenario(library()[name])
    injects = tuple(  # as the reference ran them: without what was written since (warning fire, victims)
        dataclasses.replace(j, victim="", consequence="none") for j in scenario.injects if j.id != "warning_fire"
    )
    scenario = dataclasses.replace(scenario, injects=injects)
    print(f"  event engine: {name} x {n} ...", file=sys.stderr, flush=True)
    common = dict(n=n, seed=2027, record_events=False, record_timeseries=False)
    new = run_replications(scenario, params, measure_settings(cfg), workers=2, **common).outcomes()
    redraw = Platform.redraw_sortie
    Platform.redraw_sortie = lambda self: None  # the ablation: the rate changes at the next draw only
    try:
        kept = run_replications(scenario, params, measure_settings(cfg), workers=1, **common).outcomes()
    finally:
        Platform.redraw_sortie = redraw
    return new, kept


def main() -> None:
    """Run both engines on every scenario and compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--ref", default="8ec2038", help="the hourly engine's commit")
    parser.add_argument("--only", nargs="*", help="scenarios (default: all)")
    parser.add_argument("--write", type=Path, help="write the report (Markdown) here")
    parser.add_argument("--reference", action="store_true", help=f"also write {REFERENCE.relative_to(ROOT)}")
    parser.add_argument("--stored", action="store_true", help=f"compare with {REFERENCE.relative_to(ROOT)}")
    parser.add_argument(
        "--before", help="with --stored: also the event engine at this commit on the same model (what changed since)"
    )
    args = parser.parse_args()
    names = args.only or scenarios()
    new_label = head()
    rows, reference, today = [], {}, {}
    if args.stored:
        stored = json.loads(REFERENCE.read_text())
        args.ref = stored["ref"]
        for name in names:
            ref = stored["scenarios"][name]
            old = pd.DataFrame(
                {
                    "incidents": ref["incidents"],
                    "peak_rung": np.repeat(
                        [int(k) for k in ref["peak_rung_counts"]], list(ref["peak_rung_counts"].values())
                    ),
                    "reached_rung_4": np.repeat(
                        [int(k) >= 4 for k in ref["peak_rung_counts"]], list(ref["peak_rung_counts"].values())
                    ),
                }
            )
            new, kept = at_reference_model(name, args.n)
            rows.append(compare_row(name, old, new, kept))
            today[name] = new
    else:
        with tempfile.TemporaryDirectory() as tmp:
            old_tree = Path(tmp) / "hourly"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(old_tree), args.ref],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            try:
                for name in names:
                    old = outcomes(old_tree, args.ref, name, args.n)
                    new = outcomes(ROOT, new_label, name, args.n)
                    kept = outcomes(ROOT, new_label, name, args.n, "keep-waits")
                    rows.append(compare_row(name, old, new, kept))
                    reference[name] = {
                        "n": len(old),
                        "peak_rung_counts": {
                            str(k): int(v) for k, v in old["peak_rung"].value_counts().sort_index().items()
                        },
                        "incidents": old["incidents"].tolist(),
                    }
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, capture_output=True)
    table = pd.DataFrame(rows)
    pvals = list(table["p incidents (AD)"]) + list(table["p peak (chi2)"])
    rejected = holm(pvals)
    k = len(table)
    table["differs (Holm, 5%)"] = [
        ", ".join(w for w, r in (("incidents", rejected[i]), ("peak", rejected[k + i])) if r) or "no" for i in range(k)
    ]
    for col in ("p incidents (AD)", "p peak (chi2)", "p (waits kept)"):
        table[col] = table[col].map(lambda p: f"{p:.3f}")
    text = (
        f"# The event-driven engine against the hourly one\n\n"
        f"Generated by `python experiments/engine_equivalence.py{' --stored' if args.stored else ''}"
        f"{f' --before {args.before}' if args.stored and args.before else ''} --n {args.n} "
        f"--write {args.write}`: "
        f"{args.n:,} replications of each library scenario in each engine (hourly: commit {args.ref}; "
        f"event-driven: {new_label}), "
        + (
            "the hourly engine's stored outcomes (seed 2026) against today's engine on the same model (the "
            "parameters before calibration, the crisis dynamics off, the injects as they were; seed 2027)"
            if args.stored
            else "defaults, no measures, seed 2026"
        )
        + ". Tests: Anderson-Darling (incidents), "
        f"chi-square of homogeneity (peak rung); Holm's correction over all {2 * k} tests of the two engines.\n\n"
        "One difference is deliberate. The event engine redraws the wait for a platform's next sortie when its "
        "side's rate changes (a posture raised or lowered, an exercise, a restraint step): exact for a "
        "piecewise-constant rate. The hourly engine kept the wait drawn at the old rate, so a raised posture "
        "flew fewer sorties than it should. The column *waits kept* runs the event engine with that redraw "
        "switched off (an ablation in this script only): where the two engines differ in incidents, it shows "
        "whether the redraw accounts for it.\n\n" + markdown(table) + "\n"
    )
    if args.stored and args.before:
        text += (
            f"\n## Today's engine against the event engine at {args.before}\n\n"
            f"The same model in both (the reference's, as above), {args.n:,} replications of each scenario, seed "
            f"2027 in both: the engine at commit {args.before} run in its own tree. Where the table above finds a "
            "difference that this one does not, it comes from what changed in the model between the hourly "
            f"engine and {args.before}, which the reference's parameters do not undo, not from the engine since.\n\n"
            + before_table(args.before, before_engine(args.before, names, args.n), today)
            + "\n"
        )
    print(text)
    if args.write:
        args.write.write_text(text)
    if args.reference and not args.stored:
        REFERENCE.write_text(json.dumps({"ref": args.ref, "seed": 2026, "scenarios": reference}, indent=1) + "\n")


if __name__ == "__main__":
    main()
