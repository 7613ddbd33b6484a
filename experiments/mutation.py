"""Mutation testing (mutmut): each module against its own fast tests; writes the scores to docs/MUTATION.md.

    python experiments/mutation.py                     # every module in MODULES, rewrites docs/MUTATION.md
    python experiments/mutation.py sim/analysis/stats.py        # one module: prints its row, leaves the docs file

mutmut changes one thing at a time in a function (a comparison flipped, ``+`` for ``-``, a constant
moved, an argument dropped, ``None`` returned ...) and runs the tests that reach that function: a
mutant the tests still pass on is code whose behaviour nothing checks. Each module is mutated in a
scratch copy of the repository (under the system's temporary folder, removed afterwards) with only
its own tests selected, so a mutant counts as killed only by the tests written for that module, not
by the end-to-end suite. The first four modules' 658 mutants took 6 min 47 s (2 min 32 s of CPU) on a 2-core
machine shared with other work (load 7 to 8), 2026-12-05; perception's 164 took 3 min 27 s and posture's 317
10 min 14 s (each alongside another mutmut run), the same day.

Adding a module is one line in ``MODULES``: its path and the pytest selection of its tests. Equivalent
mutants (changes that cannot alter any result) go in ``EQUIVALENT`` with the reason; they are listed
in the docs and left out of the score's denominator. Not part of the test suite: run it by hand after
changing one of these modules or its tests, and commit the refreshed docs file.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "MUTATION.md"

# module -> pytest selection (files or node ids) of its own fast tests.
MODULES: dict[str, list[str]] = {
    "sim/analysis/stats.py": ["tests/test_stats.py", "tests/test_intervals.py"],
    "sim/analysis/survival.py": [
        "tests/test_survival.py",
        "--deselect",
        "tests/test_survival.py::test_survival_on_real_runs",
    ],
    "sim/core/comms.py": ["tests/test_comms.py"],
    "sim/core/ladder.py": ["tests/test_ladder_theatre_comms.py"],
    "sim/core/perception.py": ["tests/test_perception.py"],
    "sim/core/posture.py": ["tests/test_posture.py"],
}

# (module, function, "old -> new" as mutmut's diff shows it, comments dropped) -> why no test can tell them apart.
_SORT_NONE = "pandas takes sort=None as false: the configurations keep their order either way"
_FLOAT_COLUMN = "the outcome columns are float64 already (NaN where never), so the conversion changes nothing"
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("sim/analysis/stats.py", "mean_ci_bootstrap", "if np.all(x == x[0]): -> if np.all(x == x[1]):"): (
        "there are at least two values here, and all equal the first exactly when all equal the second"
    ),
    (
        "sim/analysis/stats.py",
        "mean_ci_bootstrap",
        "batch = max(1, BOOTSTRAP_VALUES_AT_ONCE // n) -> batch = max(2, BOOTSTRAP_VALUES_AT_ONCE // n)",
    ): "the batch changes how many resamples are drawn at once, not which; 1 and 2 differ only above 500,000 values",
    (
        "sim/analysis/stats.py",
        "wilson",
        "hi = 1.0 if successes == n else min(1.0, centre + half) -> "
        "hi = 1.0 if successes == n else min(2.0, centre + half)",
    ): "below n successes the Wilson upper bound is below 1, so neither cap binds",
    (
        "sim/analysis/survival.py",
        "back_to_vigilance_lines",
        'for r in table.to_dict("records"): -> for r in table.to_dict("RECORDS"):',
    ): ("pandas lower-cases the orient"),
    (
        "sim/analysis/survival.py",
        "back_to_vigilance_table",
        "m, lo, hi = median_time(d) if d.events else (math.nan, math.nan, math.nan) -> "
        "m, lo, hi = median_time(d) if (d.events) or True else (math.nan, math.nan, math.nan)",
    ): "median_time of a curve without an event is (NaN, NaN, NaN) itself",
    (
        "sim/analysis/survival.py",
        "kaplan_meier",
        'warnings.simplefilter("ignore", RuntimeWarning) -> warnings.simplefilter("ignore", )',
    ): "scipy's log-log interval raises only RuntimeWarning (log of 0 or 1), the one already ignored",
    (
        "sim/analysis/survival.py",
        "kaplan_meier",
        'ci = sf.confidence_interval(0.95, method="log-log") -> ci = sf.confidence_interval(method="log-log")',
    ): "0.95 is scipy's default confidence level",
    (
        "sim/analysis/survival.py",
        "kaplan_meier",
        'ci = sf.confidence_interval(0.95, method="log-log") -> ci = sf.confidence_interval(0.95, method="LOG-LOG")',
    ): "scipy lower-cases the method's name",
    (
        "sim/analysis/survival.py",
        "kaplan_meier",
        "low, high = np.nan_to_num(ci.low.probabilities, nan=0.0), np.nan_to_num(ci.high.probabilities, nan=1.0) -> "
        "low, high = np.nan_to_num(ci.low.probabilities, ), np.nan_to_num(ci.high.probabilities, nan=1.0)",
    ): "nan=0.0 is numpy's default",
    (
        "sim/analysis/survival.py",
        "survival_table",
        "end = curve.at(horizon) if curve.events else 1.0 -> "
        "end = curve.at(horizon) if (curve.events) or True else 1.0",
    ): "a curve without an event is empty, and Curve.at of an empty curve is 1.0",
    (
        "sim/analysis/survival.py",
        "time_back_to_vigilance",
        'back = outcomes["days_back_to_vigilance"].to_numpy(float) -> '
        'back = outcomes["days_back_to_vigilance"].to_numpy(None)',
    ): _FLOAT_COLUMN,
    (
        "sim/analysis/survival.py",
        "time_back_to_vigilance",
        'censored = outcomes["days_back_censored"].to_numpy(float) -> '
        'censored = outcomes["days_back_censored"].to_numpy(None)',
    ): _FLOAT_COLUMN,
    (
        "sim/analysis/survival.py",
        "time_to_rung",
        'reached = outcomes[f"days_to_rung_{rung}"].to_numpy(float) -> '
        'reached = outcomes[f"days_to_rung_{rung}"].to_numpy(None)',
    ): _FLOAT_COLUMN,
    (
        "sim/analysis/survival.py",
        "time_to_rung",
        'horizon = outcomes["horizon_days"].to_numpy(float) -> horizon = outcomes["horizon_days"].to_numpy(None)',
    ): "np.where with the float times gives float times whatever the horizon column's type",
    (
        "sim/analysis/survival.py",
        "back_to_vigilance_table",
        "for config, df in outcomes.groupby(by, sort=False): -> for config, df in outcomes.groupby(by, sort=None):",
    ): _SORT_NONE,
    (
        "sim/analysis/survival.py",
        "survival_table",
        "for config, df in outcomes.groupby(by, sort=False): -> for config, df in outcomes.groupby(by, sort=None):",
    ): _SORT_NONE,
}

_NO_MEASURE_READS = (
    "no measure's perception_noise_factor reads the model or the side it is given (mil_to_mil_meetings reads its "
    "own model, cooperative_engagement its parameters, nuclear_posture_transparency and strategic_stability_dialogue "
    "the act)"
)
_TRUTH = "truth is +1 or -1, and 1 / truth == truth"
EQUIVALENT.update(
    {
        (
            "sim/core/perception.py",
            "PerceptionMixin.measure_noise_factor",
            "f *= m.perception_noise_factor(self, side, act) -> f *= m.perception_noise_factor(None, side, act)",
        ): _NO_MEASURE_READS,
        (
            "sim/core/perception.py",
            "PerceptionMixin.measure_noise_factor",
            "f *= m.perception_noise_factor(self, side, act) -> f *= m.perception_noise_factor(self, None, act)",
        ): _NO_MEASURE_READS,
        (
            "sim/core/perception.py",
            "PerceptionMixin.perceive",
            "noise = self.measure_noise_factor(side, act) -> noise = self.measure_noise_factor(None, act)",
        ): _NO_MEASURE_READS,
        (
            "sim/core/perception.py",
            "PerceptionMixin.perceive",
            "x = logit(1.0 - state.trust) + p.hostility_signal * truth "
            "+ p.hostility_noise_sd * noise * rng.normal() -> "
            "x = logit(1.0 - state.trust) + p.hostility_signal / truth + p.hostility_noise_sd * noise * rng.normal()",
        ): _TRUTH,
        (
            "sim/core/perception.py",
            "PerceptionMixin.perceive",
            "x += p.observer_quality * p.statement_weight * truth -> "
            "x += p.observer_quality * p.statement_weight / truth",
        ): _TRUTH,
        (
            "sim/core/perception.py",
            "PerceptionMixin.novelty",
            "if p.habituation_rate <= 0 or act.rung >= Rung.LIMITED_FORCE: -> "
            "if p.habituation_rate < 0 or act.rung >= Rung.LIMITED_FORCE:",
        ): "at a rate of 0 the formula gives 1 / (1 + 0) = 1.0, the value returned early",
    }
)
_SIGNAL_KIND = (
    'a signal\'s kind is only compared with "stand-down" (ChannelsMixin._signal_seen): any other name acts alike'
)
_NO_FORCE_BELOW_2 = (
    "postures 0 and 1 authorise no force (rungs 2 and 3): the loop's force condition stops it there anyway"
)
_PLANNED = "planned is only ever tested for truth, and None is false like False"
_POSTURE_EQUIVALENT = {
    ("PostureMixin.review_posture", "- self.caution(side) -> - self.caution(None)"): (
        "caution reads the confrontation's rung and the recent dead, not the side it is asked for"
    ),
    ("PostureMixin.review_posture", "target > 0 -> target >= 0"): _NO_FORCE_BELOW_2,
    ("PostureMixin.review_posture", "target > 0 -> target > 1"): _NO_FORCE_BELOW_2,
    ("PostureMixin.review_posture", 'old, reason = s.posture, "" -> old, reason = s.posture, "XXXX"'): (
        "the first reason is read only when the posture changed, and both branches that change it set the reason"
    ),
    (
        "PostureMixin.review_posture",
        'if s.posture >= p.sanction_posture and "" not in s.suspended: -> '
        'if s.posture >= p.sanction_posture and "XXXX" not in s.suspended:',
    ): "suspend returns at once when the alliance-wide suspension is there already",
    ("PostureReview.__init__", "self.planned = False -> self.planned = None"): _PLANNED,
    ("PostureReview.fire", "self.planned = False -> self.planned = None"): _PLANNED,
}
_SUSPEND = 'self.signal(side, "suspension", f"{who} suspends military contacts with {whom} {why}", benign=0.0)'
_RESTORE = 'self.signal(side, "restoration", f"{who} restores military contacts with {whom}", benign=1.0)'
for _func, _call, _kind in (
    ("PostureMixin.suspend", _SUSPEND, "suspension"),
    ("PostureMixin.restore", _RESTORE, "restoration"),
):
    for _new in ("None", f'"XX{_kind}XX"', f'"{_kind.upper()}"'):
        _POSTURE_EQUIVALENT[_func, f"{_call} -> {_call.replace(f'{chr(34)}{_kind}{chr(34)}', _new)}"] = _SIGNAL_KIND
EQUIVALENT.update({("sim/core/posture.py", f, line): why for (f, line), why in _POSTURE_EQUIVALENT.items()})

# Newcombe's bounds cannot leave [-1, 1]: with |phi| <= 1 the lower distance is at most (p1 - l1) + (u2 - p2) <= p1 +
# (1 - p2), so D - distance >= -1 (and the upper symmetrically); the clamps only guard rounding.
_NEWCOMBE_CLAMP = "Newcombe's bounds lie in [-1, 1] by construction (|phi| <= 1), so a wider clamp changes nothing"
EQUIVALENT.update(
    {
        (
            "sim/analysis/stats.py",
            "newcombe_paired",
            "return diff, max(-1.0, diff - down), min(1.0, diff + up) -> "
            "return diff, max(-2.0, diff - down), min(1.0, diff + up)",
        ): _NEWCOMBE_CLAMP,
        (
            "sim/analysis/stats.py",
            "newcombe_paired",
            "return diff, max(-1.0, diff - down), min(1.0, diff + up) -> "
            "return diff, max(-1.0, diff - down), min(2.0, diff + up)",
        ): _NEWCOMBE_CLAMP,
        (
            "sim/analysis/stats.py",
            "newcombe_paired",
            "phi = (max(cross - n / 2, 0.0) if cross > 0 else cross) / math.sqrt(margins) -> "
            "phi = (max(cross - n / 2, 0.0) if cross >= 0 else cross) / math.sqrt(margins)",
        ): "at cross = 0 both branches give phi = 0 (max(-n/2, 0) and 0)",
    }
)

COPY = ("sim", "conf", "scenarios", "tests")


def _mutmut(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the scratch copy, not the checkout
    return subprocess.run(
        [sys.executable, "-m", "mutmut", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _mutated_line(diff: str) -> str:
    """The change as ``old -> new`` (the lines mutmut's diff removes and adds, without comments)."""

    def lines(sign: str) -> str:
        got = [ln[1:].split("  #")[0].strip() for ln in diff.splitlines() if ln[:1] == sign and ln[:3] != sign * 3]
        return " ".join(got) or "(nothing)"

    return f"{lines('-')} -> {lines('+')}"


def run_module(module: str, selection: list[str]) -> dict:
    """Mutate ``module`` in a scratch copy, run its tests on every mutant, and classify the survivors."""
    scratch = Path(tempfile.mkdtemp(prefix="mutation-"))
    try:
        for name in COPY:
            shutil.copytree(ROOT / name, scratch / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        quoted = ", ".join(f'"{a}"' for a in selection)
        (scratch / "pyproject.toml").write_text(
            "[tool.mutmut]\n"
            f'source_paths = ["{module}"]\n'
            f"pytest_add_cli_args_test_selection = [{quoted}]\n"
            f"also_copy = [{', '.join(f'{chr(34)}{c}{chr(34)}' for c in COPY)}]\n"
            'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n',
            encoding="utf-8",
        )
        done = _mutmut(scratch, "run")
        if done.returncode != 0:
            raise SystemExit(f"mutmut failed on {module}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        results = _mutmut(scratch, "results", "--all", "true").stdout
        status = dict(re.findall(r"^\s*(\S+): (\w[\w ]*)$", results, re.M))
        survivors = []
        for name, state in sorted(status.items(), key=lambda kv: _order(kv[0])):
            if state == "killed":
                continue
            func = _function(name)
            line = _mutated_line(_mutmut(scratch, "show", name).stdout)
            why = EQUIVALENT.get((module, func, line))
            survivors.append({"name": name, "state": state, "function": func, "line": line, "equivalent": why})
        return {"module": module, "tests": selection, "total": len(status), "survivors": survivors}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _function(name: str) -> str:
    """``sim.analysis.stats.x_wilson__mutmut_3`` -> ``wilson``; ``...xǁRouteǁlabel__mutmut_1`` -> ``Route.label``."""
    last = name.split(".")[-1].split("__mutmut_")[0]
    return last.removeprefix("x_") if last.startswith("x_") else last.removeprefix("xǁ").replace("ǁ", ".")


def _order(name: str) -> tuple[str, int]:
    head, _, num = name.rpartition("__mutmut_")
    return head, int(num) if num.isdigit() else 0


def score_row(r: dict) -> str:
    """One table row: mutants, killed, equivalent, survived, and the score without the equivalent ones."""
    equivalent = sum(1 for s in r["survivors"] if s["equivalent"])
    alive = len(r["survivors"]) - equivalent
    killed = r["total"] - len(r["survivors"])
    counted = r["total"] - equivalent
    pct = 100.0 * killed / counted if counted else float("nan")
    tests = " ".join(r["tests"])
    return f"| `{r['module']}` | {r['total']} | {killed} | {equivalent} | {alive} | **{pct:.1f}%** | `{tests}` |"


def write_doc(results: list[dict], version: str) -> None:
    """docs/MUTATION.md: the scores, the equivalent mutants with why, and the survivors still to kill."""
    lines = [
        "# Mutation testing",
        "",
        "Written by `python experiments/mutation.py` (mutmut "
        f"{version}); do not edit by hand. Each module is mutated in a scratch copy of the repository with only its "
        "own tests selected (the last column); a mutant is *killed* when one of them fails. The score is killed / "
        "(mutants - equivalent). mutmut mutates function bodies only: module-level constants (`Z95`, "
        "`DAYS_PER_MONTH`, `NOT_SUSPENDABLE` ...) are pinned by tests that assert them through the functions that "
        "use them.",
        "",
        "| module | mutants | killed | equivalent | survived | score | tests |",
        "|---|---|---|---|---|---|---|",
        *[score_row(r) for r in results],
        "",
        "## Equivalent mutants",
        "",
        "Changes that no input can tell apart from the original (left out of the score's denominator).",
        "",
    ]
    eq = [(r["module"], s) for r in results for s in r["survivors"] if s["equivalent"]]
    lines += [f"- `{m}` `{s['function']}`: `{s['line']}` — {s['equivalent']}" for m, s in eq] or ["None."]
    lines += ["", "## Surviving mutants", "", "Not killed and not equivalent: behaviour no test checks yet.", ""]
    alive = [(r["module"], s) for r in results for s in r["survivors"] if not s["equivalent"]]
    lines += [f"- `{m}` `{s['function']}` ({s['state']}): `{s['line']}`" for m, s in alive] or ["None."]
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the modules asked for (all by default) and rewrite docs/MUTATION.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help="modules to run (default: every one in MODULES)")
    args = ap.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        print(f"mutation: error: not configured in MODULES: {', '.join(unknown)}", file=sys.stderr)
        return 2
    from importlib.metadata import version
    from importlib.util import find_spec

    if find_spec("mutmut") is None:
        print("mutation: error: mutmut is not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    results = []
    for module, selection in MODULES.items():
        if args.modules and module not in args.modules:
            continue
        r = run_module(module, selection)
        results.append(r)
        print(score_row(r), flush=True)
        for sv in r["survivors"]:
            print(f"  {sv['name']} ({sv['state']}{', equivalent' if sv['equivalent'] else ''}): {sv['line']}")
    if args.modules:
        print("(one module's run: docs/MUTATION.md is rewritten only by a run of every module)")
        return 0
    write_doc(results, version("mutmut"))
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
