"""The ``escalation`` command: ``run``, ``scenarios``, ``measures``, ``report``, ``compare``, ``play``, ``app``, ...

``escalation run`` passes every following word to Hydra as an override (``-m`` included). Before
Hydra creates any output folder the overrides are composed once (each sweep value once) with
Hydra's compose API, so a misspelt key, a wrong type, an unknown scenario or a bad scenario
file is reported in one line with exit code 2.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import re
import shutil
import sys
from pathlib import Path

from sim.run.errors import fail  # one-line errors with exit code 2, shared with the terminal game

USAGE = """\
usage: escalation run [OVERRIDE ...]        run a scenario (Hydra overrides, -m for a sweep)
       escalation --version                 the installed version
       escalation scenarios [show NAME | check FILE]   list, show or check scenarios
       escalation measures [NAME]           list the risk-reduction measures (or show one in full)
       escalation report RUN_DIR [RUN_DIR ...] [--labels "a,b"] [--out DIR] [--formats png,svg]
                                            figures, report.md and report.html for instructors
       escalation compare MULTIRUN_DIR [--out DIR]
                                            gather a sweep: tidy tables, intervals, effects, comparison.md
       escalation calibrate [--out DIR] [--population 100] [--generations 8] [--resume] [--apply] ...
                                            fit the uncertain parameters to the record (ABC-SMC, pyabc)
       escalation validate [--replications 200] [--parameters point|posterior] [--out DIR]
                                            the default model against every calibration target
       escalation discover [--samples 400] [--replications 5] [--threshold 0.1] [--measures NAME] ...
                                            where the use of force is likely (PRIM boxes, CART rules)
       escalation card [--bundles A,B] [--replications 200] [--parameters posterior|point] ...
                                            the measure report card across scenarios and eras
       escalation variance [--bundles A,B] [--samples 512] [--scenario NAME] [--era NAME]
                                            Sobol shares of parameters, measures and noise (SALib)
       escalation study [--experiment study] [--scale 0.1] [--out DIR]
                                            card + survival curves, discovery and variance on one page
       escalation play side=nato|russia|both [scenario=NAME] [OVERRIDE ...] [load=F] [save=F] [log=F]
                                            tabletop play in the terminal (h in the game for help)
       escalation workshop plan|dataset|analyse ...
                                            randomised workshop tables, the play dataset and its analysis
       escalation app [--port 8521] [--host 127.0.0.1 [--public --allow-host NAME ...]] [--max-replications 2000]
                      [--max-games 12] [--max-participants 60] [--state-dir workshop-games]
                                            the workshop web app (127.0.0.1 unless --public)

examples:
  escalation run
  escalation run scenario=black_sea_transit measures=eln_seven replications=200 seed=7
  escalation run measures.hotline.enabled=true
  escalation run -m measures=none,eln_seven scenario=baltic_air_policing,black_sea_transit
"""


def version() -> str:
    """The installed package's version (one source: ``version`` in pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("nato-russia-escalation")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``escalation`` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    if args[0] in ("--version", "-V"):
        print(f"escalation {version()}")
        return 0
    command, rest = args[0], args[1:]
    from sim.run.errors import VERB_NEEDS, UserError, extra_for, missing_extra, require

    try:
        if command in VERB_NEEDS and not {"-h", "--help"} & set(rest):
            try:
                require(f"escalation {command}", VERB_NEEDS[command])  # imports the verb's packages: Ctrl-C may come
            except UserError as exc:
                return fail(str(exc))
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
            from sim.play.terminal import play_command

            return play_command(rest)
        if command == "calibrate":
            from sim.calibration.fit import calibrate_command

            return calibrate_command(rest)
        if command == "variance":
            from sim.studies.variance import variance_command

            return variance_command(rest)
        if command == "card":
            from sim.studies.card import card_command

            return card_command(rest)
        if command == "discover":
            from sim.studies.discovery import discover_command

            return discover_command(rest)
        if command == "study":
            from sim.studies.study import study_command

            return study_command(rest)
        if command == "validate":
            from sim.calibration.validate import validate_command

            return validate_command(rest)
        if command == "workshop":
            from sim.play.playdata import workshop_command

            return workshop_command(rest)
        if command == "app":
            from sim.app.serve import app_command

            return app_command(rest)
    except KeyboardInterrupt:
        print("escalation: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # an optional package a verb reached for late: name the extra
        extra = extra_for(exc.name)
        if extra is None:
            raise
        return fail(missing_extra(f"escalation {command}", exc.name, extra))
    except BrokenPipeError:  # output piped into a pager or `head` that stopped reading
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    return fail(
        f"unknown command {command!r} "
        "(commands: run, scenarios, measures, report, compare, calibrate, validate, discover, card, variance, "
        "study, play, workshop, app)"
    )


def scenarios_command(args: list[str]) -> int:
    """List the library; ``show NAME`` prints one scenario; ``check FILE`` validates a file."""
    from sim.run.errors import UserError
    from sim.run.scenario_io import describe, library, load_scenario

    if args and args[0] in ("-h", "--help"):
        print(SCENARIOS_USAGE, end="")
        return 0
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
        for notice in spec.notices:
            print(notice, file=sys.stderr)
        print(
            f"{args[1]}: ok ({spec.title}: {len(spec.zones)} zones, {len(spec.forces)} forces, "
            f"{len(spec.exercises)} exercises, {len(spec.injects)} injects, {spec.horizon_h / 24:g} days)"
        )
        return 0
    return fail("usage: escalation scenarios [show NAME | check FILE]")


def measures_command(args: list[str]) -> int:
    """List the measures (name, source, mechanism, parameters), or show one in full."""
    from sim.core.measures import registry
    from sim.run.paths import DATA_ROOT
    from sim.run.provenance import catalogue_file, collect, describe_measure, expand_source

    measures = registry()
    found, _ = collect()

    def params_of(name: str):
        return [p for p in found[catalogue_file(name).relative_to(DATA_ROOT).as_posix()] if p.key != "enabled"]

    if args and args[0] in ("-h", "--help"):
        print(MEASURES_USAGE, end="")
        return 0
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


SCENARIOS_USAGE = """\
usage: escalation scenarios [show NAME | check FILE]

  (nothing)     list the library's scenarios with their titles and horizons
  show NAME     print one scenario (a library name or a scenario file) in full
  check FILE    validate a scenario file and say what it holds
  -h, --help    this help
"""

MEASURES_USAGE = """\
usage: escalation measures [NAME]

  (nothing)     list every risk-reduction measure: source, mechanism, parameters with their defaults
  NAME          one measure in full: the passage it implements, its limits, every parameter's basis
  -h, --help    this help
"""


class _Parser:
    """An argparse parser whose errors are one line (``UserError``), exit code 2, no usage dump."""

    def __new__(cls, prog: str, description: str | None = None):
        import argparse

        from sim.run.errors import UserError

        class Parser(argparse.ArgumentParser):
            def error(self, message: str):
                raise UserError(f"{prog.split()[-1]}: {message}")

        return Parser(prog=prog, description=description)


def compare_command(args: list[str]) -> int:
    """``escalation compare MULTIRUN_DIR [--out DIR]``."""
    from sim.run.errors import UserError

    parser = _Parser("escalation compare", "Gather a sweep: tidy tables, intervals, paired effects, comparison.md.")
    parser.add_argument("sweep", type=Path, metavar="MULTIRUN_DIR", help="the sweep's folder (escalation run -m)")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the comparison (default MULTIRUN_DIR/comparison)"
    )
    try:
        ns = parser.parse_args(args)
        from sim.studies.compare import compare

        out = compare(ns.sweep, ns.out)
    except UserError as exc:
        return fail(str(exc))
    print(f"Comparison: {out / 'comparison.md'}")
    return 0


def report_command(args: list[str]) -> int:
    """``escalation report RUN_DIR [RUN_DIR ...] [--labels a,b] [--out DIR] [--formats png,svg]``."""
    import argparse

    from sim.run.errors import UserError

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, exit 2, no usage dump
            raise UserError(f"report: {message}")

    parser = Parser(prog="escalation report", add_help=True)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of escalation run (one or several)")
    parser.add_argument("--labels", help="comma-separated labels, one per run")
    parser.add_argument("--out", type=Path, help="report folder (default: FIRST_RUN/report)")
    parser.add_argument("--formats", default="png,svg", help="figure formats: png, svg, pdf")
    parser.add_argument("--sample", type=int, default=20, help="replications in the spaghetti plot")
    try:
        ns = parser.parse_args(args)
        from sim.report.build import build_report

        labels = [x.strip() for x in ns.labels.split(",")] if ns.labels else None
        out = build_report(
            ns.runs, labels=labels, out=ns.out, formats=[f.strip() for f in ns.formats.split(",")], sample=ns.sample
        )
    except UserError as exc:
        return fail(str(exc))
    print(f"Report: {out / 'report.html'} (and report.md, figures beside it)")
    return 0


# ---------------------------------------------------------------------------------- run
def run_command(args: list[str]) -> int:
    """Validate the overrides, note what the run folder holds, then hand over to the Hydra app."""
    import mesa  # noqa: F401  # first here, where the stack is short: Mesa's logger walks it (``inspect.stack``) once

    from sim.run.config import register_configs
    from sim.run.errors import UserError
    from sim.studies.job import SWEEP, note_run_dir, prepare_ray_auth

    if any("ray" in a for a in args):  # before anything imports Ray (composing a Ray launcher does): Ray reads it once
        prepare_ray_auth()
    register_configs()
    overrides = [a for a in args if not a.startswith("-")]
    try:
        # a command line of overrides alone (no -m, --cfg, ...): the check's composition is kept for the run
        cfg = validate_overrides(overrides, keep=overrides == args)
    except UserError as exc:
        return fail(str(exc))
    run_dir = [a.split("=", 1)[1] for a in overrides if a.startswith("hydra.run.dir=")]
    sweep_dir = [a.split("=", 1)[1] for a in overrides if a.startswith("hydra.sweep.dir=")]
    note_run_dir(run_dir[-1] if run_dir else None)
    from hydra.types import RunMode

    known = not _names_another_config(args)  # else Hydra runs another configuration, whose mode the check did not read
    # a sweep with -m, or one its configuration asks for (an experiment's hydra.mode: MULTIRUN): hold its folder
    multirun = "-m" in args or "--multirun" in args or (known and cfg.hydra.mode == RunMode.MULTIRUN)
    folder = (sweep_dir if multirun else run_dir)[-1:]
    made = None  # a run folder this command made: removed if the run stops before its job does its own cleanup
    if folder and "${" not in folder[0]:  # a named folder: hold it before Hydra writes its files there
        target = Path(folder[0]).expanduser().resolve()
        try:
            made = None if target.exists() or multirun else target
            claim_folder(Path(folder[0]), multirun, bool(cfg.resume), bool(cfg.overwrite))
        except UserError as exc:
            return fail(str(exc))
    sys.argv = ["escalation run", *args]
    SWEEP.clear()
    try:
        _hydra_app(cfg.hydra.mode, known=known)
    except BaseException:
        if made is not None and not (made / "summary.json").exists():  # never a complete run's folder
            from sim.run.folder import release

            release(made)
            shutil.rmtree(made, ignore_errors=True)
        raise
    if SWEEP.get("failed"):
        print(
            f"escalation: error: {SWEEP['failed']} of {SWEEP['jobs']} jobs failed "
            "(each has a FAILED file with its error "
            f"in {SWEEP['dir']}; escalation compare analyses the rest)",
            file=sys.stderr,
        )
        return 1
    return 0


def claim_folder(path: Path, multirun: bool, resume: bool, overwrite: bool) -> None:
    """Refuse a folder holding a complete run (unless resumed or overwritten), then take its lock.

    A sweep folder is complete for this purpose when any of its jobs is.
    """
    from sim.run.errors import UserError, check_out_folder
    from sim.run.folder import hold
    from sim.studies.job import refuse_complete

    flag = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    check_out_folder(path, flag)
    path = path.expanduser().resolve()
    if not resume and not overwrite and path.is_dir():
        jobs = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()] if multirun else [path]
        done = [p for p in jobs if (p / "summary.json").is_file()]
        if done:
            raise UserError(refuse_complete(done[0]))
    hold(path)


COMPOSED: list = []  # the check's overrides and its composition, as composed (before any check touched it)


def _job_name() -> str:
    """``hydra.job.name`` of the Hydra app in this file, found as ``hydra.main`` finds it.

    After the file of its task (``cli``), or the module ``HYDRA_MAIN_MODULE`` names.
    """
    from hydra._internal.utils import detect_calling_file_or_module_from_task_function, detect_task_name

    return detect_task_name(*detect_calling_file_or_module_from_task_function(_job_name))


def validate_overrides(overrides: list[str], keep: bool = False):
    """Compose the config for every value of every sweep; raise ``UserError`` on the first problem.

    Returns the config composed without the sweeps' values, with its ``hydra`` node (for settings such as
    ``resume``, and ``hydra.mode``). ``keep``: keep a copy of it, as composed, for the run (``COMPOSED``).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.run.config import describe_hydra_error
    from sim.run.errors import UserError
    from sim.run.paths import CONF_DIR
    from sim.studies.job import check_config

    for override in overrides:
        digits = re.search(r"[0-9]{65,}", override)
        if digits:
            key = override.split("=", 1)[0].lstrip("+~")[:60]
            raise UserError(f"{key}: a number of {len(digits.group()):,} digits (at most 64)")
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except (HydraException, ValueError) as exc:
        raise UserError(describe_hydra_error(exc)) from None
    check_plugins(overrides)
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
        # the job name Hydra gives this app (``sim/cli.py``): the check's composition is then the run's
        COMPOSED.clear()
        with initialize_config_dir(str(CONF_DIR), version_base="1.3", job_name=_job_name()):
            first = None
            for overrides_ in variants:
                cfg = compose("config", overrides=overrides_, return_hydra_config=True)
                if first is None and keep:
                    COMPOSED[:] = [list(overrides_), copy.deepcopy(cfg)]
                check_config(cfg)
                first = cfg if first is None else first
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        raise UserError(describe_hydra_error(exc)) from None
    return first


def check_plugins(overrides: list[str]) -> None:
    """Refuse a launcher or sweeper (on the command line or an experiment's) that is not installed, in one line.

    The line names the extra that installs it; Hydra's own message names a config it could not load, or the
    sweep fails mid-way.
    """
    from sim.run.errors import PLUGINS, require
    from sim.run.paths import CONF_DIR

    chosen = []
    for o in overrides:
        key, _, value = o.lstrip("+~").partition("=")
        if key in ("hydra/launcher", "hydra/sweeper"):
            chosen.append((key.split("/")[1], value))
        if key == "experiment":  # an experiment's own `override /hydra/sweeper: optuna`
            path = CONF_DIR / "experiment" / f"{value}.yaml"
            text = path.read_text() if path.is_file() else ""
            for kind in ("launcher", "sweeper"):
                for line in text.splitlines():
                    if line.strip().startswith(f"- override /hydra/{kind}:"):
                        chosen.append((kind, line.split(":", 1)[1].strip()))
    for kind, name in chosen:
        if (kind, name) in PLUGINS:
            require(f"hydra/{kind}={name}", PLUGINS[kind, name])


def _names_another_config(args: list[str]) -> bool:
    """Whether the command line names a configuration other than the library's (``--config-path``, ``-cn`` ...).

    Then the ``hydra.mode`` Hydra runs with is that configuration's (a saved run's, re-run), which the
    command's check did not compose.
    """
    flags = ("--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd")
    return any(a == f or a.startswith(f"{f}=") for a in args for f in flags)


def _hydra_app(mode, known: bool = True) -> None:
    """Hand over to Hydra, which composes nothing the command's own check has composed already.

    Hydra composes the whole configuration once only to read ``hydra.mode`` (``Hydra.get_mode``) and
    once to run it; the check in ``validate_overrides`` has composed it already, and a compose costs
    0.14 s of CPU (a tenth of what a 1,000-replication run may spend outside simulating; issue 29).
    ``Hydra.get_mode`` answers from the check's composition (``mode``) while Hydra starts; an
    experiment's ``hydra.mode: MULTIRUN`` is read as before. For a single run from a command line of
    overrides only (no ``-m``, no ``--cfg``, no other flag: the check kept its composition in
    ``COMPOSED``), Hydra's compose for the run answers from it too
    (``_reuse_the_checks_composition``). Where the command line names another configuration
    (``known`` false: a saved run re-run with ``--config-path``), Hydra reads and composes it itself.
    ``tests/test_cli.py`` checks the count, that the configuration a run saves (``.hydra/``) is the
    one Hydra's own compose saves, and that Hydra's methods are restored.
    """
    import hydra
    from hydra._internal.hydra import Hydra
    from hydra.types import RunMode

    from sim.run.paths import CONF_DIR
    from sim.studies.job import run_job

    @hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
    def app(cfg):
        return run_job(cfg)

    if not known:
        app()
        return
    original = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: mode  # type: ignore[method-assign]
    try:
        if COMPOSED and mode in (None, RunMode.RUN):
            with _reuse_the_checks_composition(mode):
                app()
        else:
            app()
    finally:
        Hydra.get_mode = original  # type: ignore[method-assign]
        COMPOSED.clear()  # the check's composition is not kept after the run


@contextlib.contextmanager
def _reuse_the_checks_composition(mode):
    """Hydra's compose for the run (``ConfigLoaderImpl.load_configuration``) answered once from the check's.

    Hydra runs with the check's overrides and, where the configuration sets no ``hydra.mode``,
    ``hydra.mode=RUN`` appended (``hydra._internal.utils._run_app``): its composition is the check's
    with that mode and that override recorded. Any other compose (other overrides, a sweep's) is
    Hydra's own, and so is the run's if the overrides differ. Hydra logs and runs the job from it as
    from its own.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.types import RunMode
    from omegaconf import open_dict, read_write

    overrides, cfg = COMPOSED
    expected = [*overrides, "hydra.mode=RUN"] if mode is None else list(overrides)
    if mode is None:
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.mode = RunMode.RUN
            cfg.hydra.overrides.hydra.append("hydra.mode=RUN")
    original = ConfigLoaderImpl.load_configuration
    answered = []

    def load_configuration(self, config_name, overrides, run_mode, from_shell=True, validate_sweep_overrides=True):
        if not answered and run_mode == RunMode.RUN and config_name == "config" and list(overrides) == expected:
            answered.append(True)
            return cfg
        return original(self, config_name, overrides, run_mode, from_shell, validate_sweep_overrides)

    ConfigLoaderImpl.load_configuration = load_configuration  # type: ignore[method-assign]
    try:
        yield
    finally:
        ConfigLoaderImpl.load_configuration = original  # type: ignore[method-assign]


def console() -> int:
    """The ``escalation`` console script: ``main`` with pandas imported on first use, then a quick exit.

    Mesa imports pandas, and a run without a report never uses it (its summary reads its table with
    pyarrow): pandas is imported where a command first uses it (``sim.run.lazy``), not when Mesa is,
    about 0.3 s of CPU less for such a run (issue 29). At exit the interpreter's garbage collector traces
    every object still alive, and a run has imported Mesa, scipy and Hydra: about 0.3 s more for
    nothing. ``gc.freeze`` moves them out of its sight; files, handlers and ``atexit`` work as
    before (a process ends with them; ``main`` called in-process, as the tests do, is unchanged).
    """
    from sim.run.lazy import defer

    defer("pandas")
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(console())
