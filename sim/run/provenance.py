"""Parameter provenance: every parameter in ``conf/`` has a default, a unit and a basis.

A parameter line reads ``key: value  # [unit] [lo, hi] meaning | basis``; the interval (round
brackets for an open end) is the parameter's allowed range, required for every numeric
parameter and checked whenever a configuration is composed (``sim.run.config.check_ranges``). A
mapping-valued parameter carries the comment on its own line, its range applying to each entry. This
module parses those lines, checks them against the schemas the code declares, and generates ``docs/parameters.md`` and
``docs/MEASURES.md``:

    python -m sim.run.provenance --write     # regenerate the docs
    python -m sim.run.provenance --check     # exit 1 if a parameter lacks a unit/default/basis or a doc is stale
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sim.core.measures import Measure, param_names, registry
from sim.core.spec import ModelParams
from sim.run.paths import CONF_DIR, DATA_ROOT, REPO_ROOT

LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_]\w*):(?P<value>[^#]*?)\s*(?:#\s*(?P<comment>.*))?$")
COMMENT = re.compile(
    r"^\[(?P<unit>[^\]]+)\]\s*(?:(?P<range>[\[(]\s*[-+0-9.e]+\s*,\s*[-+0-9.e]+\s*[\])]|\{[\w\s,]+\})\s*)?"
    r"(?P<meaning>.*?)\s*\|\s*(?P<basis>\S.*)$"
)
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
# The three source documents, cited by title, organisation and date (a clone has no copy of them).
SEED_TITLES = {
    "000": 'European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. '
    'Seven Recommendations" (February 2022)',
    "001": 'European Leadership Network and Russian International Affairs Council, "Towards a More Stable NATO-Russia '
    'Relationship" (joint report, undated in the copy used; its "basic dialogue and stabilisation menu" '
    'and "enhanced set")',
    "004": "Working Group on NATO-Russia Relations, report on the agenda of the NATO-Russia Council (2004-05)",
}
PARAMETERS_MD = REPO_ROOT / "docs" / "parameters.md"
MEASURES_MD = REPO_ROOT / "docs" / "MEASURES.md"


@dataclass
class Parameter:
    """One documented parameter."""

    file: str
    key: str
    default: str
    unit: str
    meaning: str
    basis: str
    range: str = ""

    @property
    def interval(self) -> Interval | None:
        """The allowed range, if the parameter has one."""
        return Interval.parse(self.range) if self.range and not self.range.startswith("{") else None

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The allowed values of a parameter that takes one of a few names (``{a, b}``)."""
        if not self.range.startswith("{"):
            return None
        return tuple(x.strip() for x in self.range.strip("{}").split(",") if x.strip())

    @property
    def numeric(self) -> bool:
        """Whether the default is a number (or a mapping of numbers)."""
        values = (
            [v.split(":", 1)[1].strip() for v in self.default.split(",")] if ":" in self.default else [self.default]
        )
        return all(NUMBER.match(v) for v in values) and bool(values)


@dataclass(frozen=True)
class Interval:
    """An allowed range such as ``[0, 1]`` or ``(0, 720]``."""

    lo: float
    hi: float
    lo_open: bool
    hi_open: bool

    @classmethod
    def parse(cls, text: str) -> Interval:  # noqa: D102
        lo, hi = (float(x) for x in text.strip()[1:-1].split(","))
        return cls(lo, hi, text.strip()[0] == "(", text.strip()[-1] == ")")

    def __contains__(self, x: float) -> bool:
        above = x > self.lo if self.lo_open else x >= self.lo
        below = x < self.hi if self.hi_open else x <= self.hi
        return above and below

    def __str__(self) -> str:
        return f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"


def parse(path: Path) -> tuple[list[Parameter], list[str]]:
    """Parameters of one config file, and the problems found in it."""
    rel = path.relative_to(DATA_ROOT).as_posix()
    params: list[Parameter] = []
    problems: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith(("#", "-")):
            continue
        m = LINE.match(raw)
        if not m or m.group("key") == "defaults":
            continue
        if m.group("indent"):  # an entry of the mapping-valued parameter above
            if params:
                entry = f"{m.group('key')}: {m.group('value').strip()}"
                params[-1].default = entry if not params[-1].default else f"{params[-1].default}, {entry}"
            continue
        comment = COMMENT.match(m.group("comment") or "")
        if comment is None:
            problems.append(f"{rel}:{number}: {m.group('key')}: needs '# [unit] meaning | basis'")
            continue
        params.append(
            Parameter(
                rel,
                m.group("key"),
                m.group("value").strip(),
                comment["unit"],
                comment["meaning"],
                comment["basis"],
                comment["range"] or "",
            )
        )
    for p in params:
        if not p.default:
            problems.append(f"{rel}: {p.key}: has no default value")
        elif p.numeric and not p.range:
            problems.append(f"{rel}: {p.key}: a numeric parameter needs its range: '# [unit] [lo, hi] meaning | basis'")
        elif p.range and p.numeric:
            interval = p.interval
            values = [v.split(":", 1)[1] for v in p.default.split(",")] if ":" in p.default else [p.default]
            if interval is not None and any(float(v) not in interval for v in values):
                problems.append(f"{rel}: {p.key}: default {p.default} outside its range {interval}")
    return params, problems


def catalogue_file(name: str) -> Path:
    """The parameter file of a measure."""
    return CONF_DIR / "measures" / "catalogue" / f"{name}.yaml"


def collect() -> tuple[dict[str, list[Parameter]], list[str]]:
    """All documented parameters by file, and every problem: missing lines, units, bases, defaults."""
    expected = {CONF_DIR / "model" / "default.yaml": [f.name for f in dataclasses.fields(ModelParams)]}
    for name, cls in registry().items():
        expected[catalogue_file(name)] = ["enabled", *param_names(cls)]
    found: dict[str, list[Parameter]] = {}
    problems: list[str] = []
    for path, keys in expected.items():
        if not path.exists():
            problems.append(f"{path.relative_to(DATA_ROOT).as_posix()}: missing")
            continue
        params, file_problems = parse(path)
        problems += file_problems
        have = {p.key for p in params}
        rel = path.relative_to(DATA_ROOT).as_posix()
        problems += [
            f"{rel}: {k}: not documented" for k in keys if k not in have and not any(k in q for q in file_problems)
        ]
        problems += [f"{rel}: {k}: not a parameter of the code" for k in have - set(keys)]
        found[rel] = params
    return found, problems


def expand_source(source: str) -> str:
    """``"000 rec. 2; 001 basic menu"`` with the source documents' titles."""
    parts = []
    for part in source.split(";"):
        part = part.strip()
        key = part.split(" ", 1)[0]
        parts.append(
            part.replace(key, SEED_TITLES[key] + ",", 1).replace("rec.", "recommendation")
            if key in SEED_TITLES
            else part
        )
    return "; ".join(parts)


def _table(params: list[Parameter], with_meaning: bool = True) -> list[str]:
    rows = ["| parameter | default | unit | range | meaning | basis |", "|---|---|---|---|---|---|"]
    for p in params:
        shown = str(p.interval) if p.interval else ("one of " + ", ".join(p.choices) if p.choices else "")
        cells = [f"`{p.key}`", p.default.replace("|", "/"), p.unit, shown, p.meaning if with_meaning else "", p.basis]
        rows.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return rows


def parameters_markdown() -> str:
    """The generated table of every parameter."""
    found, _ = collect()
    lines = [
        "# Parameters",
        "",
        "Generated by `python -m sim.run.provenance --write` from the comments in `conf/`; a test fails when",
        "this file is stale or a parameter lacks a default, a unit, a range or a basis. A value outside its",
        'range is refused, in one line, whenever a configuration is composed. "assumption" marks a',
        "value chosen for plausibility, with its reason: those are the uncertain parameters.",
        "",
        "A parameter whose small value multiplies a run's events has a floor in its range: the",
        "intervals of recurring events (`posture_review_h`, and the measures' `interval_days` and",
        "`step_interval_days`) are at least 1 (hour or day), and rates (`encounter_rate_per_h`,",
        "`violation_rate_per_h`) at most 10 per hour. Latencies and delays may be 0: each is one",
        "event, however short. As a last guard every replication (and a game) has an event budget,",
        "10,000 plus 100 per hour of the scenario (the library's scenarios fire 0.2-0.6 per hour with",
        "every measure on, and up to 10.4 at the highest encounter and violation rates allowed);",
        "a replication that runs over it is stopped with one line naming the likely parameter.",
        "",
    ]
    for file, params in found.items():
        lines += [f"## `{file}`", "", *_table(params), ""]
    return "\n".join(lines)


def describe_measure(name: str, cls: type[Measure], params: list[Parameter]) -> list[str]:
    """The full description of one measure, as Markdown lines."""
    lines = [
        f"## {cls.title} (`{name}`)",
        "",
        f"**Source:** {expand_source(cls.source)}",
        "",
        f"**Mechanism:** {cls.mechanism}",
        "",
        f"**When it does nothing, or harm:** {cls.limits}",
        "",
    ]
    if cls.passage:
        lines += [f"> {cls.passage}", ""]
    lines += [
        f"**Use:** `escalation run measures={name}` (alone) or `measures.{name}.enabled=true` (on top of a bundle).",
        "",
        *_table([p for p in params if p.key != "enabled"]),
        "",
    ]
    return lines


def measures_markdown() -> str:
    """The generated catalogue of measures."""
    found, _ = collect()
    lines = [
        "# Measures",
        "",
        "Generated by `python -m sim.run.provenance --write` from the measure modules in `sim/core/measures/`",
        "and their parameter files in `conf/measures/catalogue/`. Each measure quotes the passage of its",
        "source it implements. Bundles are in `conf/measures/`.",
        "",
        "A measure acts only through mechanisms of the model, never by adding a constant to a decision,",
        "to trust or to tension:",
        "",
        "- **channels**: who can call whom, how fast, how reliably, how much gets across. A call carries",
        "  the other side's *stated* intent, which may be true, a bluff, a warning or a threat; the",
        "  receiver weighs a reassurance by its trust. A channel can therefore make things worse.",
        "- **activity**: who goes where, how often, how close (sorties, exercises, forces withdrawn).",
        "- **rules**: what crews may do (the share of unsafe conduct agreed rules remove). The",
        "  agreements already in force (Vienna Document, bilateral incidents-at-sea agreements) count",
        "  first, so a measure's effect is the step beyond them.",
        "- **information**: who learns what, how reliably (perception noise, notification, observers,",
        "  accounts given at meetings).",
        "",
        "A measure with no channel in a scenario has no effect there, and tests check that byte for",
        "byte (`tests/test_catalogue.py`). Measured effects on the two core scenarios, with intervals",
        "and backfire shares against the placebo, are in [measure_effects.md](measure_effects.md).",
        "",
        "Sources:",
        "",
        *[f"- `{k}`: {v}" for k, v in SEED_TITLES.items()],
        "",
    ]
    for name, cls in registry().items():
        lines += describe_measure(name, cls, found[catalogue_file(name).relative_to(DATA_ROOT).as_posix()])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Check or write the generated documents."""
    parser = argparse.ArgumentParser(description="Check or regenerate parameter and measure docs.")
    parser.add_argument("--write", action="store_true", help="regenerate docs/parameters.md and docs/MEASURES.md")
    parser.add_argument("--check", action="store_true", help="exit 1 on a problem or a stale document")
    args = parser.parse_args(argv)
    _, problems = collect()
    for problem in problems:
        print(problem, file=sys.stderr)
    docs = {PARAMETERS_MD: parameters_markdown(), MEASURES_MD: measures_markdown()}
    if args.write:
        for path, text in docs.items():
            path.parent.mkdir(exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    stale = [p for p, t in docs.items() if not p.exists() or p.read_text(encoding="utf-8") != t + "\n"]
    for path in stale if not args.write else []:
        print(f"{path.relative_to(REPO_ROOT)} is stale: run python -m sim.run.provenance --write", file=sys.stderr)
    return 1 if problems or (stale and not args.write) else 0


if __name__ == "__main__":
    sys.exit(main())
