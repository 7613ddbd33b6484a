"""Hydra configuration: structured schemas and the ConfigStore entries ``conf/`` composes with.

The schemas make a misspelt key or a wrong type fail at once, naming the key.

- ``config_schema``: the root schema; model parameters come from ``ModelParams`` and one node
  per registered measure from its ``Params`` dataclass, so the schema follows the code.
- ``measures/_catalogue``: a defaults list that pulls every measure's parameter file from
  ``conf/measures/catalogue/`` into ``measures.<name>``; bundles in ``conf/measures/`` start
  from it and switch measures on.
- ``scenario/<name>``: one option per file in ``scenarios/``, so ``scenario=NAME`` is a Hydra
  group choice and an unknown name fails with the list of options.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import sys
import threading
import typing
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from sim.core.measures import registry
from sim.core.spec import ModelParams
from sim.run.paths import CONF_DIR
from sim.run.scenario_io import library

# Hydra's global state is one per process: threads (the web app's participants) compose one at a time.
HYDRA_LOCK = threading.RLock()


@dataclass
class ScenarioRef:
    """Which library scenario to run (``scenario=NAME``)."""

    name: str = MISSING


@dataclass
class EraConf:
    """An era preset (``era=NAME``): baseline tension and trust, and the channels that exist."""

    name: str = MISSING
    description: str = MISSING
    tension: dict[str, float] = MISSING
    trust: dict[str, float] = MISSING
    channels: list[dict[str, Any]] = MISSING
    agreements: list[str] = field(default_factory=list)


@dataclass
class OutputConf:
    """Which output files a run writes."""

    timeseries: bool = True
    hourly_csv: bool = False
    events: bool = True
    plot: bool | None = None  # None: escalation_curve.png for a single run, none for each job of a sweep (-m)
    report: bool | None = None  # None: a report for a single run, none for each job of a sweep (-m)
    report_formats: list[str] = field(default_factory=lambda: ["png", "svg"])


def _schema_of(cls: type, name: str, extra: list | None = None) -> type:
    """A Hydra schema with the fields (and types) of dataclass ``cls``, all required."""
    hints = typing.get_type_hints(cls)
    fields = list(extra or []) + [(f.name, hints[f.name], field(default=MISSING)) for f in dataclasses.fields(cls)]
    return make_dataclass(name, fields)


def _measures_schema() -> type:
    nodes = []
    for name, cls in registry().items():
        schema = _schema_of(cls.Params, f"{cls.__name__}Conf", [("enabled", bool, field(default=MISSING))])
        nodes.append((name, schema, field(default_factory=schema)))
    return make_dataclass("MeasuresConf", nodes)


ModelConf = _schema_of(ModelParams, "ModelConf")
MeasuresConf = _measures_schema()


@dataclass
class RootConf:
    """Root schema of ``escalation run``."""

    seed: int = 0
    replications: int = 100
    workers: int = 0
    resume: bool = False
    overwrite: bool = False
    parameters: str = "point"  # point | posterior (calibration/posterior.csv, a draw per replication)
    scenario: ScenarioRef = field(default_factory=ScenarioRef)
    scenario_file: str | None = None
    era: EraConf | None = None
    model: Any = field(default_factory=ModelConf)
    measures: Any = field(default_factory=MeasuresConf)
    output: OutputConf = field(default_factory=OutputConf)
    sensitivity: Any = None  # a sensitivity design (conf/experiment/sensitivity.yaml): this job takes row `row`
    objective: Any = None  # {costs: {measure: cost}, threshold: p}: the job returns [cost, P(rung >= 4)]


def register_configs() -> None:
    """Put the schemas and generated options into Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=RootConf)
    cs.store(
        group="measures",
        name="_catalogue",
        node={"defaults": [{f"/measures/catalogue@{name}": name} for name in registry()]},
    )
    for name in library():
        cs.store(group="scenario", name=name, node=ScenarioRef(name=name))
    # One group per ELN recommendation (eln_rec1 ... eln_rec7): "on" enables every measure that cites
    # it, "off" changes nothing; the factorial experiment sweeps them.
    for k in range(1, 8):
        members = [n for n, c in registry().items() if f"000 rec. {k}" in c.source]
        cs.store(
            group=f"eln_rec{k}",
            name="on",
            node={"measures": {m: {"enabled": True} for m in members}},
            package="_global_",
        )
        cs.store(group=f"eln_rec{k}", name="off", node={}, package="_global_")
    # Experiments are the config group conf/experiment/ (each file starts with `# @package _global_`):
    # `+experiment=NAME`.


def model_params(cfg: DictConfig) -> ModelParams:
    """The core's ``ModelParams`` from the composed config."""
    return ModelParams(**OmegaConf.to_container(cfg.model, resolve=True))  # type: ignore[arg-type]


def measure_settings(cfg: DictConfig) -> dict[str, dict[str, Any]]:
    """``{measure: {"enabled": ..., **params}}`` from the composed config."""
    return OmegaConf.to_container(cfg.measures, resolve=True)  # type: ignore[return-value]


MAX_SEED = 2**63 - 1
MAX_REPLICATIONS = 10_000_000
MAX_WORKERS = 1024
PARAMETER_SOURCES = ("point", "posterior")


@functools.cache
def _documented_ranges() -> dict[str, dict[str, Any]]:
    """``{"model": {key: Interval}, "measures.NAME": {key: Interval}}`` from the comments in ``conf/``."""
    from sim.run.provenance import catalogue_file, parse

    out: dict[str, dict[str, Any]] = {}
    params, _ = parse(CONF_DIR / "model" / "default.yaml")
    out["model"] = {p.key: p.interval or p.choices for p in params if p.interval or p.choices}
    for name in registry():
        params, _ = parse(catalogue_file(name))
        out[f"measures.{name}"] = {p.key: p.interval or p.choices for p in params if p.interval or p.choices}
    return out


def documented_range(key: str):
    """The documented range (an ``Interval``, or None) of model parameter ``model.NAME[.ENTRY]``.

    A key the model does not have is a ``UserError`` naming the nearest valid ones.
    """
    from sim.run.errors import UserError

    parts = key.split(".")
    names = [f.name for f in dataclasses.fields(ModelParams)]
    if parts[0] != "model" or len(parts) not in (2, 3) or parts[1] not in names:
        near = difflib.get_close_matches(parts[-1] if len(parts) < 2 else parts[1], names, n=3)
        hint = f" (did you mean {', '.join('model.' + n for n in near)}?)" if near else ""
        raise UserError(f"{key}: not a model parameter{hint}")
    interval = _documented_ranges()["model"].get(parts[1])
    return interval if not isinstance(interval, tuple) else None


def _check_number(where: str, value: Any, interval) -> None:
    from sim.run.errors import UserError

    if isinstance(interval, tuple):  # one of a few names
        if value not in interval:
            raise UserError(f"{where}={value} is not allowed: must be one of {', '.join(interval)}")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{where}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise UserError(f"{where}: must be a finite number, got {value}")
    if interval is not None and value not in interval:
        raise UserError(f"{where}={value:g} is out of range: must be in {interval} (see docs/parameters.md)")


def check_ranges(cfg: DictConfig) -> None:
    """Every run setting, model parameter and measure parameter within its documented range; ``UserError`` if not."""
    from sim.run.errors import UserError

    if not 1 <= cfg.replications <= MAX_REPLICATIONS:
        raise UserError(f"replications must be between 1 and {MAX_REPLICATIONS:,}, got {cfg.replications}")
    if not 0 <= cfg.workers <= MAX_WORKERS:
        raise UserError(f"workers must be 0 (automatic) to {MAX_WORKERS}, got {cfg.workers}")
    if not 0 <= cfg.seed <= MAX_SEED:
        raise UserError(f"seed must be a whole number from 0 to 2^63-1, got {cfg.seed}")
    if cfg.get("parameters", "point") not in PARAMETER_SOURCES:
        raise UserError(f"parameters={cfg.parameters} is not allowed: must be one of {', '.join(PARAMETER_SOURCES)}")
    ranges = _documented_ranges()
    model = OmegaConf.to_container(cfg.model, resolve=True)
    for key, interval in ranges["model"].items():
        value = model.get(key)  # type: ignore[union-attr]
        if isinstance(value, dict):
            for k, v in value.items():
                _check_number(f"model.{key}.{k}", v, interval)
        elif value is not None:
            _check_number(f"model.{key}", value, interval)
    serious, high = model.get("serious_threshold"), model.get("high_risk_threshold")  # type: ignore[union-attr]
    if isinstance(serious, int | float) and isinstance(high, int | float) and serious > high:
        raise UserError(
            f"model.serious_threshold={serious:g} is above model.high_risk_threshold={high:g}: "
            "the ELN categories must be in order (serious at or below high risk)"
        )
    measures = OmegaConf.to_container(cfg.measures, resolve=True)
    for name, conf in measures.items():  # type: ignore[union-attr]
        for key, interval in ranges.get(f"measures.{name}", {}).items():
            if key in conf:
                _check_number(f"measures.{name}.{key}", conf[key], interval)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__


GROUP_NOUNS = {"scenario": "scenario", "measures": "measure bundle", "era": "era", "experiment": "experiment"}


def describe_hydra_error(exc: BaseException) -> str:
    """One line from a Hydra/OmegaConf exception, in the user's words, with the nearest valid names.

    ``measures.hotlin.enabled=true`` reads "there is no measure 'hotlin' (did you mean hotline?)"
    rather than Hydra's "Key 'hotlin' not in 'MeasuresConf'"; ``scenario=baltc`` names the nearest
    scenarios. Anything else is Hydra's first line and its cause.
    """
    message = _first_line(exc)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and _first_line(cause) not in message:
        message = f"{message.rstrip('.')}: {_first_line(cause)}"
    unknown_key = re.search(r"override '([^']+)'.*Key '([^']+)' not in '\w+'", message)
    if unknown_key:
        path, key = unknown_key.groups()
        parent = path[: path.rfind(key)].rstrip(".") if key in path else ""
        return _unknown("setting" if parent != "measures" else "measure", key, parent, _keys_at(parent), path)
    unknown_option = re.search(r"Could not find '([\w-]+)/([^']+)'", message)
    if unknown_option:
        group, name = unknown_option.groups()
        return _unknown(GROUP_NOUNS.get(group, group), name, group, _group_options(group), f"{group}={name}")
    return message


def _unknown(noun: str, name: str, where: str, options: list[str], given: str) -> str:
    """'given: there is no NOUN 'name' [in where] (did you mean ...?; or the valid ones)'."""
    place = f" in {where}" if where and noun == "setting" else ""
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    if not close:  # a misspelt first word: baltc -> baltic_air_policing
        firsts = {o.split("_")[0]: o for o in options}
        close = [firsts[w] for w in difflib.get_close_matches(name, list(firsts), n=3, cutoff=0.7)]
    if close:
        return f"{given}: there is no {noun} '{name}'{place} (did you mean {' or '.join(close)}?)"
    shown = ", ".join(sorted(options)[:30]) + (", ..." if len(options) > 30 else "")
    return f"{given}: there is no {noun} '{name}'{place} (valid: {shown})"


def _keys_at(parent: str) -> list[str]:
    """The settings under ``parent`` ("" = the top level) in the default config."""
    from hydra import compose, initialize_config_dir

    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []


def _group_options(group: str) -> list[str]:
    """The options of a config group: its YAML files and what the ConfigStore holds."""
    names = {p.stem for p in (CONF_DIR / group).glob("*.yaml")}
    stored = ConfigStore.instance().repo.get(group)
    if isinstance(stored, dict):
        names |= {k.removesuffix(".yaml") for k in stored if k.endswith(".yaml")}
    return sorted(names)


def check_options(flag: str, group: str, names: list[str]) -> None:
    """Each of ``names`` an option of config group ``group`` (scenario, era, measures); else a ``UserError``."""
    from sim.run.errors import UserError

    register_configs()
    options = [o for o in _group_options(group) if not o.startswith("_")]
    for name in names:
        if name not in options:
            noun = GROUP_NOUNS.get(group, group)
            raise UserError(f"{flag}: unknown {noun} {name!r} ({group}: {', '.join(options)})")


def load_configured_scenario(cfg):
    """The scenario named by ``scenario_file`` or ``scenario.name``, with the era applied."""
    from sim.run.scenario_io import apply_era, load_scenario

    if cfg.scenario_file:
        spec = load_scenario(Path(cfg.scenario_file).expanduser())
    else:
        spec = load_scenario(library()[cfg.scenario.name])
    if cfg.get("era") is not None:
        spec = apply_era(spec, OmegaConf.to_container(cfg.era, resolve=True))
    for notice in spec.notices:
        print(notice, file=sys.stderr)
    return spec


ANALYSIS_DIR = CONF_DIR / "analysis"


def analysis_experiments(verb: str) -> list[str]:
    """The experiments of ``conf/analysis/`` written for ``verb`` (card, discover, variance)."""
    import yaml

    names = []
    for path in sorted(ANALYSIS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("verb") == verb:
            names.append(path.stem)
    return names


def parse_with_experiment(parser, args: list[str], verb: str):
    """Parse ``args`` with ``--experiment NAME``: the experiment's options are the defaults, flags override.

    An experiment is a file of ``conf/analysis/`` (named, never a path) with ``verb:`` and
    ``options:`` (the verb's long options without the dashes, ``-`` or ``_``; lists may be YAML
    lists). Each option is checked as its flag would be; a ``UserError`` names the file and field.
    Returns the namespace, or raises ``SystemExit`` as argparse does for bad flags.
    """
    import yaml

    from sim.run.errors import UserError

    choices = analysis_experiments(verb)
    parser.add_argument(
        "--experiment",
        default=None,
        metavar="NAME",
        help=f"an experiment of conf/analysis/ whose options are the defaults ({', '.join(choices) or 'none'})",
    )
    ns = parser.parse_args(args)
    if ns.experiment is None:
        return ns
    if ns.experiment not in choices:
        raise UserError(
            f"--experiment: no {verb} experiment {ns.experiment!r} in conf/analysis/ ({', '.join(choices) or 'none'})"
        )
    path = ANALYSIS_DIR / f"{ns.experiment}.yaml"
    where = f"conf/analysis/{path.name}"
    options = yaml.safe_load(path.read_text()).get("options") or {}
    if not isinstance(options, dict):
        raise UserError(f"{where}: options: must be a mapping of option to value")
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help", "experiment")}
    defaults = {}
    for key, value in options.items():
        dest = str(key).replace("-", "_")
        action = actions.get(dest)
        if action is None:
            known = ", ".join(sorted(a.replace("_", "-") for a in actions))
            raise UserError(f"{where}: options.{key}: not an option of escalation {verb} ({known})")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if isinstance(value, bool) or not isinstance(value, int | float | str | None):
            raise UserError(f"{where}: options.{key}: {value!r} is not a number or text")
        if value is not None:
            try:
                value = (action.type or str)(value)
            except (TypeError, ValueError):
                raise UserError(f"{where}: options.{key}: {value!r} is not a valid value") from None
        if action.choices is not None and value not in action.choices:
            raise UserError(f"{where}: options.{key}: {value!r} is not one of {', '.join(map(str, action.choices))}")
        defaults[dest] = value
    parser.set_defaults(**defaults)
    return parser.parse_args(args)
