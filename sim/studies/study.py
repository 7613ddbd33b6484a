"""``escalation study``: one experiment, three answers, one page.

A study runs three analysis experiments of ``conf/analysis/`` in turn, each into its own folder, and
writes ``study.md`` (and ``study.html``) that puts their answers side by side:

- ``card/``: the measure report card (``escalation card``): paired effects with intervals that hold
  the calibration's uncertainty, backfire against the placebo, P(helps) by era, ranks, regret, and the
  survival curves (time to the use of force per bundle and era, censored at the horizon);
- ``discovery/``: scenario discovery (``escalation discover``): the PRIM box where the use of force
  is likely, with coverage, density and its resampling stability, and CART rules;
- ``variance/``: where the uncertainty comes from (``escalation variance``): Sobol shares of the
  parameters, the measures and noise.

``--scale F`` multiplies each part's budget (the card's replications, the discovery's design points,
the variance design's base samples, rounded to a power of two) for a quick first look; the page says
so. Every part's options are checked before any runs, so a bad name fails at once.
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Part:
    """One analysis of a study: the verb, where its options and its command live, and its budget."""

    name: str  # the folder under OUT and the study's option naming its experiment
    verb: str
    budget: str  # the option a --scale multiplies
    page: str  # the part's own page, in its folder

    def _module(self):
        if self.verb == "card":
            from sim.studies import card

            return card
        if self.verb == "discover":
            from sim.studies import discovery

            return discovery
        from sim.studies import variance

        return variance

    def parser(self):
        """The verb's argument parser (its options and their defaults)."""
        return getattr(self._module(), f"{self.verb}_parser")()

    def command(self, args: list[str]) -> int:
        """Run the verb with ``args`` (as ``escalation VERB ARGS`` would)."""
        return getattr(self._module(), f"{self.verb}_command")(args)

    def scaled(self, value: int, scale: float) -> int:
        """The budget times ``scale``, kept within what the verb accepts."""
        if self.verb == "variance":  # Sobol sequences: a power of two, at least 8
            return max(8, 2 ** round(math.log2(max(value * scale, 1))))
        return max(10, round(value * scale))


PARTS = (
    Part("card", "card", "replications", "card.md"),
    Part("discovery", "discover", "samples", "discovery.md"),
    Part("variance", "variance", "samples", "variance.md"),
)


def study_parser():
    """The options of ``escalation study``."""
    from sim.run.errors import OneLineParser

    parser = OneLineParser(
        prog="escalation study",
        description="One experiment, three answers: the report card with survival curves, scenario discovery "
        "and the variance decomposition, on one page.",
    )
    parser.add_argument(
        "--card", default="report_card", metavar="NAME", help="the card experiment of conf/analysis/ (report_card)"
    )
    parser.add_argument(
        "--discovery", default="discovery", metavar="NAME", help="the discover experiment of conf/analysis/ (discovery)"
    )
    parser.add_argument(
        "--variance", default="variance", metavar="NAME", help="the variance experiment of conf/analysis/ (variance)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply each part's budget (default 1; 0.1 for a quick look)"
    )
    parser.add_argument("--seed", type=int, default=None, help="one seed for every part (default: each part's own)")
    parser.add_argument("--out", default="outputs/study", help="the study's folder (default outputs/study)")
    return parser


def plan(experiments: dict[str, str], scale: float, seed: int | None, out: Path) -> list[tuple[Part, list[str]]]:
    """Each part with the arguments it will run with; checks every part's experiment and options first."""
    from sim.run.config import parse_with_experiment
    from sim.run.errors import UserError

    steps = []
    for part in PARTS:
        experiment = experiments[part.name]
        try:
            ns = parse_with_experiment(part.parser(), ["--experiment", experiment], part.verb)
        except SystemExit:  # argparse has printed why
            raise UserError(f"--{part.name}: escalation {part.verb} refuses the experiment {experiment!r}") from None
        args = ["--experiment", experiment, "--out", str(out / part.name)]
        if scale != 1.0:
            args += [f"--{part.budget}", str(part.scaled(getattr(ns, part.budget), scale))]
            if part.verb == "card" and ns.structural:  # the structural screen's replications scale too (at least 2)
                args += ["--structural-replications", str(max(2, round(ns.structural_replications * scale)))]
        if seed is not None:
            args += ["--seed", str(seed)]
        steps.append((part, args))
    return steps


def _table(df, columns: dict[str, str], fmt: dict[str, str]) -> list[str]:
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    for r in df.to_dict("records"):
        cells = []
        for c in columns:
            v = r[c]
            cells.append(("n/a" if v != v else fmt[c].format(v)) if c in fmt else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def page(out: Path, steps: list[tuple[Part, list[str]]], command: str, scale: float, seconds: list[float]) -> str:
    """``study.md``: the headline of each part, read back from the files the part wrote (``seconds``: each part's)."""
    import pandas as pd

    card, discovery, variance = (out / p.name for p, _ in steps)
    ranks = pd.read_csv(card / "ranks.csv")
    lines = [
        "# Study: what the measures do, where escalation is likely, and why the answers vary",
        "",
        f"`{command}` ran three experiments in {sum(seconds) / 60:.1f} minutes "
        f"({', '.join(f'{p.name} {t / 60:.1f}' for (p, _), t in zip(steps, seconds, strict=True))}); "
        "each part below links to its full page."
        + (f" **Scaled by {scale:g}**: a quick look with fewer runs than the experiments state." if scale != 1 else ""),
        "",
        *[f"- `escalation {p.verb} {' '.join(a)}`" for p, a in steps],
        "",
        f"## 1. The measure report card ([full card](card/{steps[0][0].page}))",
        "",
        "Paired effects against no measures on the same seeds and posterior draws (95% intervals), and the "
        "time to the use of force per bundle and era (Kaplan-Meier, censored at the horizon).",
        "",
        "![paired effects](card/effects.png)",
        "",
        *_table(
            ranks,
            {"bundle": "bundle", "P(rung ≥ 4)": "P(rung ≥ 4), pooled", "mean rank": "mean rank", "P(best)": "P(best)"},
            {"P(rung ≥ 4)": "{:.1%}", "mean rank": "{:.1f}", "P(best)": "{:.0%}"},
        ),
        "",
    ]
    if (card / "survival.png").is_file():
        lines += ["![time to the use of force](card/survival.png)", ""]
    if (discovery / steps[1][0].page).is_file():
        lines += [
            f"## 2. Where the use of force is likely ([full discovery](discovery/{steps[1][0].page}))",
            "",
            prim_sentence(discovery / steps[1][0].page),
            "",
        ]
    else:
        from sim.studies.discovery import MIN_LIKELY_POINTS

        lines += [
            "## 2. Where the use of force is likely",
            "",
            f"No box: fewer than {MIN_LIKELY_POINTS} design points had the use of force likely, so scenario "
            "discovery refused to draw one (a box on so few points is chance). Run the study at a larger --scale.",
            "",
        ]
    table = pd.read_csv(variance / "variance.csv")
    lines += [
        f"## 3. Where the uncertainty comes from ([full decomposition](variance/{steps[2][0].page}))",
        "",
        "Sobol total-order shares (ST, with interactions) of each outcome's variance: *parameters* (better data "
        "would narrow it), *measures* (the policy choice), *noise* (more runs would average it out).",
        "",
        *_variance_lines(table),
        "",
    ]
    return "\n".join(lines)


def prim_sentence(discovery_md: Path) -> str:
    """The plain-language sentence of the PRIM box: the first paragraph under its heading in ``discovery.md``."""
    text = discovery_md.read_text().split("## PRIM box", 1)[-1].strip()
    return text.split("\n\n", 1)[0]


def _variance_lines(table) -> list[str]:
    wide = table.pivot(index="outcome", columns="group", values="ST").reindex(table["outcome"].unique())
    groups = [g for g in ("parameters", "measures", "noise") if g in wide.columns]
    lines = ["| outcome | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for outcome, row in wide.iterrows():
        cells = ["too little variance" if row[g] != row[g] else f"{row[g]:.2f}" for g in groups]
        lines.append(f"| {outcome} | " + " | ".join(cells) + " |")
    return lines


def study_command(args: list[str]) -> int:
    """``escalation study [--experiment NAME] [--scale F] [--seed N] [--out DIR]``: see ``--help``."""
    from sim.run.config import parse_with_experiment
    from sim.run.errors import UserError, check_out_folder, check_whole, fail

    try:
        ns = parse_with_experiment(study_parser(), args, "study")
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    except UserError as exc:
        return fail(str(exc))
    if not 0 < ns.scale <= 10:
        return fail(f"--scale must be in (0, 10], got {ns.scale:g}")
    out = Path(ns.out)
    experiments = {"card": ns.card, "discovery": ns.discovery, "variance": ns.variance}
    try:
        check_whole("--seed", ns.seed, 0, 2**31 - 1)  # every part's seed (variance's design: below 2^31)
        check_out_folder(out)
        steps = plan(experiments, ns.scale, ns.seed, out)
    except UserError as exc:
        return fail(str(exc))
    import time

    seconds = []
    for k, (part, part_args) in enumerate(steps, 1):
        start = time.perf_counter()
        print(
            f"escalation study: part {k} of {len(steps)}: escalation {part.verb} {' '.join(part_args)}", file=sys.stderr
        )
        with contextlib.redirect_stdout(io.StringIO()):  # each part's page is in its folder; progress stays on stderr
            code = part.command(part_args)
        if code and part.name == "discovery":  # a refusal (too few likely points) is an answer, not a failure
            print("escalation study: the discovery drew no box (its reason is above); going on", file=sys.stderr)
        elif code:
            return fail(f"part {k} (escalation {part.verb}) failed; the parts before it are in {out}")
        seconds.append(time.perf_counter() - start)
    text = page(out, steps, "escalation study " + " ".join(args), ns.scale, seconds)
    (out / "study.md").write_text(text, encoding="utf-8")
    from sim.report.html import page as html_page

    html = html_page("Study", text, out).replace('href="card/card.md"', 'href="card/card.html"')
    (out / "study.html").write_text(html, encoding="utf-8")
    print(text)
    print(f"escalation study: {out / 'study.md'}", file=sys.stderr)
    return 0
