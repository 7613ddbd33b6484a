"""The ``escalation`` command: ``run`` (Hydra app), ``scenarios``, ``measures``, ``report``, ``compare``, ``play``, ``app``.

``escalation run`` passes every following word to Hydra as an override (``-m`` included). Before
Hydra creates any output folder the overrides are composed once (each sweep value once) with
Hydra's compose API, so a misspelt key, a wrong type, an unknown scenario or a bad scenario
file is reported in one line with exit code 2.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

USAGE = """\
usage: escalation run [OVERRIDE ...]        run a scenario (Hydra overrides, -m for a sweep)
       escalation scenarios [show NAME | check FILE]   list, show or check scenarios
       escalation measures [NAME]           list the risk-reduction measures (or show one in full)
       escalation report RUN_DIR [RUN_DIR ...] [--labels "a,b"] [--out DIR] [--formats png,svg]
                                            figures, report.md and report.html for instructors
       escalation compare MULTIRUN_DIR [--out DIR]
                                            gather a sweep: tidy tables, intervals, effects, comparison.md
       escalation play side=nato|russia|both [scenario=NAME] [OVERRIDE ...] [load=F] [save=F] [log=F]
                                            tabletop play in the terminal (h in the game for help)
       escalation app [--port 8521] [--host 127.0.0.1 [--public]]
                                            the workshop web app (127.0.0.1 unless --public)

examples:
  escalation run
  escalation run scenario=black_sea_transit measures=eln_seven replications=200 seed=7
  escalation run measures.hotline.enabled=true
  escalation run -m measures=none,eln_seven scenario=baltic_air_policing,black_sea_transit
"""

def fail(message: str) -> int:
    """Print a one-line error and return exit code 2."""
    print(f"escalation: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``escalation`` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    command, rest = args[0], args[1:]
    try:
        if command == "run":
            return run_command(rest)
        if command == "scenarios":
            return scenarios_command(rest)
        if command == "measures":
            return measures_command(rest)
        if command == "report":
            return report_command(rest)
        if command == "compare":
            return compare_command(rest)
        if command == "play":
            from sim.play_cli import play_command

            return play_command(rest)
        if command == "app":
            from sim.app.serve import app_command

            return app_command(rest)
    except KeyboardInterrupt:
        return fail("interrupted")
    except BrokenPipeError:  # output piped into a pager or `head` that stopped reading
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    return fail(f"unknown command {command!r} (commands: run, scenarios, measures, report, compare, play, app)")


def scenarios_command(args: list[str]) -> int:
    """List the library; ``show NAME`` prints one scenario; ``check FILE`` validates a file."""
    from sim.errors import UserError
    from sim.scenario_io import describe, library, load_scenario

    if not args:
        for name, path in library().items():
            try:
                spec = load_scenario(path)
                line = f"{spec.title} ({spec.horizon_h / 24:g} days)"
            except UserError as exc:
                line = f"INVALID: {exc}"
            print(f"{name:24s} {line}")
        return 0
    if args[0] == "show" and len(args) == 2:
        name = args[1]
        path = library().get(name) or (Path(name) if Path(name).is_file() else None)
        if path is None:
            return fail(f"unknown scenario {name!r} (library: {', '.join(library())})")
        try:
            print(describe(load_scenario(path)))
        except UserError as exc:
            return fail(str(exc))
        return 0
    if args[0] == "check" and len(args) == 2:
        try:
            spec = load_scenario(Path(args[1]).expanduser())
        except UserError as exc:
            return fail(str(exc))
        print(
            f"{args[1]}: ok ({spec.title}: {len(spec.zones)} zones, {len(spec.forces)} forces, "
            f"{len(spec.exercises)} exercises, {len(spec.injects)} injects, {spec.horizon_h / 24:g} days)"
        )
        return 0
    return fail("usage: escalation scenarios [show NAME | check FILE]")


def measures_command(args: list[str]) -> int:
    """List the measures (name, source, mechanism, parameters), or show one in full."""
    from sim.core.measures import registry
    from sim.paths import REPO_ROOT
    from sim.provenance import catalogue_file, collect, describe_measure, expand_source

    measures = registry()
    found, _ = collect()

    def params_of(name: str):
        return [p for p in found[catalogue_file(name).relative_to(REPO_ROOT).as_posix()] if p.key != "enabled"]

    if len(args) > 1:
        return fail(f"'escalation measures' takes at most one measure name, got {' '.join(args)!r}")
    if args:
        name = args[0]
        if name not in measures:
            return fail(f"unknown measure {name!r} (measures: {', '.join(measures)})")
        print("\n".join(describe_measure(name, measures[name], params_of(name))).replace("**", "").replace("## ", ""))
        return 0
    for name, cls in measures.items():
        print(f"{name}  -  {cls.title}")
        print(f"    source:    {expand_source(cls.source)}")
        print(f"    mechanism: {cls.mechanism}")
        for p in params_of(name):
            print(f"    {p.key} = {p.default} [{p.unit}]")
        print()
    return 0


def compare_command(args: list[str]) -> int:
    """``escalation compare MULTIRUN_DIR [--out DIR]``."""
    from sim.errors import UserError

    if not args or args[0].startswith("-") or len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--out"):
        return fail("usage: escalation compare MULTIRUN_DIR [--out DIR]")
    try:
        from sim.compare import compare

        out = compare(Path(args[0]), Path(args[2]) if len(args) == 3 else None)
    except UserError as exc:
        return fail(str(exc))
    print(f"Comparison: {out / 'comparison.md'}")
    return 0


def report_command(args: list[str]) -> int:
    """``escalation report RUN_DIR [RUN_DIR ...] [--labels a,b] [--out DIR] [--formats png,svg]``."""
    import argparse

    from sim.errors import UserError

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, exit 2, no usage dump
            raise UserError(f"report: {message}")

    parser = Parser(prog="escalation report", add_help=True)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--labels", help="comma-separated labels, one per run")
    parser.add_argument("--out", type=Path, help="report folder (default: FIRST_RUN/report)")
    parser.add_argument("--formats", default="png,svg", help="figure formats: png, svg, pdf")
    parser.add_argument("--sample", type=int, default=20, help="replications in the spaghetti plot")
    try:
        ns = parser.parse_args(args)
        from sim.report.build import build_report

        labels = [x.strip() for x in ns.labels.split(",")] if ns.labels else None
        out = build_report(ns.runs, labels=labels, out=ns.out, formats=[f.strip() for f in ns.formats.split(",")], sample=ns.sample)
    except UserError as exc:
        return fail(str(exc))
    print(f"Report: {out / 'report.html'} (and report.md, figures beside it)")
    return 0


# ---------------------------------------------------------------------------------- run
def run_command(args: list[str]) -> int:
    """Validate the overrides, then hand over to the Hydra app."""
    from sim.config import register_configs
    from sim.errors import UserError

    register_configs()
    try:
        validate_overrides([a for a in args if not a.startswith("-")])
    except UserError as exc:
        return fail(str(exc))
    sys.argv = ["escalation run", *args]
    _hydra_app()
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


def describe_hydra_error(exc: BaseException) -> str:
    """One line from a Hydra/OmegaConf exception and its cause."""
    message = _first_line(exc)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and _first_line(cause) not in message:
        message = f"{message.rstrip('.')}: {_first_line(cause)}"
    return message


def validate_overrides(overrides: list[str]) -> None:
    """Compose the config for every value of every sweep; raise ``UserError`` on the first problem."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.errors import UserError
    from sim.paths import CONF_DIR

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise UserError(describe_hydra_error(exc)) from None
    base = [o.input_line for o in parsed if not o.is_sweep_override()]
    variants = [base]
    for o in parsed:
        if not o.is_sweep_override():
            continue
        try:
            values = list(o.sweep_string_iterator())
        except Exception:  # interval sweeps (for samplers) have no finite list of values
            continue
        key = o.get_key_element()
        variants.extend([*base, f"{key}={v}"] for v in values)
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            for overrides_ in variants:
                cfg = compose("config", overrides=overrides_)
                check_config(cfg)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise UserError(describe_hydra_error(exc)) from None


def check_config(cfg) -> None:
    """Checks the schema cannot express: counts in range, and the scenario loads."""
    from sim.errors import UserError

    if cfg.replications < 1:
        raise UserError(f"replications must be at least 1, got {cfg.replications}")
    if cfg.workers < 0:
        raise UserError(f"workers must be 0 (automatic) or more, got {cfg.workers}")
    load_configured_scenario(cfg)


def load_configured_scenario(cfg):
    """The scenario named by ``scenario_file`` or ``scenario.name``."""
    from sim.scenario_io import library, load_scenario

    from omegaconf import OmegaConf

    from sim.scenario_io import apply_era

    spec = load_scenario(Path(cfg.scenario_file).expanduser()) if cfg.scenario_file else load_scenario(library()[cfg.scenario.name])
    if cfg.get("era") is not None:
        spec = apply_era(spec, OmegaConf.to_container(cfg.era, resolve=True))
    return spec


def _hydra_app() -> None:
    import hydra

    from sim.paths import CONF_DIR

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
    def app(cfg):
        return run_job(cfg)

    app()


def run_job(cfg):
    """One Hydra job: replications, outputs, verdict. A failure leaves no output file behind.

    In a sweep (multirun), a job that fails writes ``FAILED`` (the error and its traceback) into its
    folder and returns, so that the other jobs run and keep their results; ``escalation compare``
    reports it. With ``resume=true`` a job whose ``summary.json`` exists is skipped.
    """
    import traceback

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from sim.errors import UserError

    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Hydra's INFO root level would log every step
    if cfg.resume and (out / "summary.json").exists():
        print(f"{out}: complete, skipped (resume=true)")
        (out / "FAILED").unlink(missing_ok=True)
        return None
    (out / "FAILED").unlink(missing_ok=True)
    try:
        return execute(cfg, out, overrides=list(hc.overrides.task))
    except UserError as exc:
        if multirun:
            (out / "FAILED").write_text(f"{exc}\n")
            print(f"escalation: error in job {hc.job.num}: {exc}", file=sys.stderr)
            return None
        shutil.rmtree(out, ignore_errors=True)
        sys.exit(fail(str(exc)))
    except Exception as exc:
        if not multirun:
            shutil.rmtree(out, ignore_errors=True)
            raise
        (out / "FAILED").write_text(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        print(f"escalation: job {hc.job.num} failed ({type(exc).__name__}: {exc}); the other jobs go on", file=sys.stderr)
        return None


def execute(cfg, out: Path, overrides: list[str]):
    """Run the configured replications, streaming every output into ``out``; return the summary."""
    import numpy as np
    from tqdm import tqdm

    from sim.config import measure_settings, model_params
    from sim.errors import UserError
    from sim.output import RunWriter, write_summary
    from sim.runner import Ensemble, Replication, default_workers, iter_replications
    from sim.verdict import format_verdict

    check_config(cfg)
    scenario = load_configured_scenario(cfg)
    design_point = None
    if cfg.get("sensitivity") is not None:
        from omegaconf import OmegaConf

        from sim.sensitivity import design_point as point_of

        settings = OmegaConf.to_container(cfg.sensitivity, resolve=True)
        try:
            design_point = point_of(settings, int(settings["row"]))
        except (IndexError, KeyError, ValueError) as exc:
            raise UserError(f"sensitivity: {exc}") from None
        for key, value in design_point.items():
            OmegaConf.update(cfg, key, value)
    params, measures = model_params(cfg), measure_settings(cfg)
    n, seed = int(cfg.replications), int(cfg.seed)
    workers = int(cfg.workers) or default_workers(n)
    enabled = [k for k, v in measures.items() if v.get("enabled")]
    ensemble = Ensemble(scenario.name, seed, enabled)
    rungs = []
    with RunWriter(out, seed, timeseries=bool(cfg.output.timeseries), events=bool(cfg.output.events)) as writer, tqdm(
        total=n, desc="replications", unit="rep", file=sys.stderr, disable=None
    ) as bar:
        reps = iter_replications(scenario, params, measures, seed, range(n), workers,
                                 record_events=bool(cfg.output.events), record_timeseries=True)
        for rep in reps:
            writer.add(rep)
            rungs.append(np.asarray(rep.timeseries["rung"], dtype=np.int8))  # type: ignore[index]
            ensemble.replications.append(Replication(rep.index, rep.outcome, None, []))  # keep the outcome only
            bar.update(1)
    summary = ensemble.summary()
    summary["overrides"] = overrides
    summary["command"] = " ".join(["escalation run", *overrides])
    if design_point is not None:
        summary["design_point"] = design_point
    if cfg.output.plot:
        from sim.report import figures

        figures.use_style()
        title = f"{scenario.title} | measures: {', '.join(enabled) or 'none'} | n={n}"
        ax = figures.escalation_curve(np.vstack(rungs), bands=((0.1, 0.9),), title=title)
        figures.save(ax, out / "escalation_curve", ["png"])
    if cfg.output.report and cfg.output.timeseries and cfg.output.events:
        from sim.report.build import build_report

        write_summary(summary, out / "summary.json")
        report = build_report([out], formats=list(cfg.output.report_formats))
        print(f"Report: {report / 'report.html'}")
    if cfg.get("objective") is not None:
        costs = cfg.objective.costs
        summary["objective"] = {"cost": float(sum(costs.get(m, 0.0) for m in enabled)),
                                "p_peak_rung_ge_4": summary["outcomes"]["p_peak_rung_ge_4"]["estimate"]}
    write_summary(summary, out / "summary.json")  # written last: its presence marks a complete job
    print(format_verdict(summary))
    print(f"Outputs: {out}")
    if cfg.get("objective") is not None:  # for an optimising sweeper: minimise [cost, P(rung >= 4)]
        return [summary["objective"]["cost"], summary["objective"]["p_peak_rung_ge_4"]]
    return summary


if __name__ == "__main__":
    sys.exit(main())
