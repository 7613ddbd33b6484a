"""Game settings and save files: what a saved game may carry, checked against a schema.

A save file is untrusted input (a participant may drop any file on the web app). It may carry:

- ``scenario``: the name of a library scenario, or ``scenario_data``: a scenario embedded as
  data (a game started from the user's own file), validated like a scenario file;
- ``era``: the name of an era preset, or null;
- ``measures``: the measures in force, each with its parameter values;
- ``model``: model parameter values that differ from the defaults;
- ``seed``, ``side``, and ``commands`` (the moves), each of a fixed shape.

Every value is checked for its type and range; names must be known (a measure, a parameter,
a scenario, an era). Nothing in a save can name a file, an environment variable, a resolver
or a config key of its own choosing, and error messages never echo the file's text. Saves of
the first format (``escalation-game/1``, with free Hydra overrides) are converted on load
through a strict allow-list of the same things.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.core.spec import ModelParams, ScenarioSpec, Side
from sim.run.config import HYDRA_LOCK as _hydra_lock  # one lock for every composition in the process
from sim.run.errors import UserError, excerpt, read_bounded

SAVE_FORMAT = "escalation-game/2"
OLD_FORMAT = "escalation-game/1"
MAX_SAVE_BYTES = 2_000_000
MAX_DEPTH = 32
MAX_COMMANDS = 20_000
MAX_SEED = 2**63 - 1
NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
OPS = {
    "advance": {"until": "number"},
    "channel": {"label": "text"},
    "decide": {"choice": "name"},
    "inject": {
        "type": "name",
        "initiator": "name",
        "zone": "name",
        "severity": "number",
        "deliberate": "bool",
        "text": "text?",
    },
}

SIDES = {"nato": (Side.NATO,), "russia": (Side.RUSSIA,), "both": (Side.NATO, Side.RUSSIA)}


@dataclass
class GameSettings:
    """Everything needed to rebuild a game's starting point."""

    scenario_name: str
    scenario: ScenarioSpec
    params: ModelParams
    measures: dict[str, dict[str, Any]]
    seed: int
    side: str  # nato | russia | both
    overrides: list[str] = field(default_factory=list)  # as given on the command line
    era: str | None = None  # the era preset's name, if any
    scenario_data: dict[str, Any] | None = None  # the scenario as data, when it came from the user's own file


# ---------------------------------------------------------------------------------- settings
def compose_settings(
    overrides: list[str], side: str, seed: int | None = None, scenario_data: dict | None = None, where: str = "settings"
):
    """Game settings from Hydra overrides (``scenario=...``, ``measures=...``, ``seed=...``).

    ``scenario_data``: a scenario embedded in a save file, used instead of ``scenario=``.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.run.config import check_ranges, load_configured_scenario, measure_settings, model_params, register_configs
    from sim.run.paths import CONF_DIR
    from sim.run.scenario_io import parse_scenario_data, read_scenario_data

    if side not in SIDES:
        raise UserError(f"side={side}: must be one of nato, russia, both")
    register_configs()
    with _hydra_lock:
        try:
            if any(o.is_sweep_override() for o in OverridesParser.create().parse_overrides(list(overrides))):
                raise UserError("a game is one configuration: sweeps (a,b) are not allowed in play")
            with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
                cfg = compose("config", overrides=list(overrides))
        except (HydraException, OmegaConfBaseException, ValueError) as exc:
            from sim.run.config import describe_hydra_error

            raise UserError(describe_hydra_error(exc)) from None
    if seed is not None:
        cfg.seed = seed
    check_ranges(cfg)
    if scenario_data is not None:
        from omegaconf import OmegaConf

        from sim.run.scenario_io import apply_era

        scenario = parse_scenario_data(scenario_data, f"{where}: scenario_data")
        if cfg.get("era") is not None:
            scenario = apply_era(scenario, OmegaConf.to_container(cfg.era, resolve=True))
        name = scenario.name
    else:
        scenario = load_configured_scenario(cfg)
        if cfg.scenario_file:
            scenario_data = read_scenario_data(Path(cfg.scenario_file).expanduser())
            name = scenario.name
        else:
            name = cfg.scenario.name
    return GameSettings(
        scenario_name=name,
        scenario=scenario,
        params=model_params(cfg),
        measures=measure_settings(cfg),
        seed=int(cfg.seed),
        side=side,
        overrides=list(overrides),
        era=str(cfg.era.name) if cfg.get("era") is not None else None,
        scenario_data=scenario_data,
    )


def default_model_params() -> dict[str, Any]:
    """The model parameters of the default configuration."""
    import dataclasses

    from sim.run.config import model_params, register_configs

    register_configs()
    from hydra import compose, initialize_config_dir

    from sim.run.paths import CONF_DIR

    with _hydra_lock, initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config")
    return dataclasses.asdict(model_params(cfg))


def save_content(settings, commands: list[dict[str, Any]], time_h: float) -> dict[str, Any]:
    """What a save file holds for a game: plain JSON of the schema above."""
    import dataclasses

    defaults = default_model_params()
    model = {k: v for k, v in dataclasses.asdict(settings.params).items() if v != defaults.get(k)}
    measures = {
        name: {k: v for k, v in conf.items() if k != "enabled"}
        for name, conf in settings.measures.items()
        if conf.get("enabled")
    }
    content: dict[str, Any] = {"format": SAVE_FORMAT}
    if settings.scenario_data is not None:
        content["scenario_data"] = settings.scenario_data
    else:
        content["scenario"] = settings.scenario_name
    content.update(
        era=settings.era,
        measures=measures,
        model=model,
        seed=settings.seed,
        side=settings.side,
        time_h=time_h,
        commands=list(commands),
    )
    return content


def settings_from_save(save: dict[str, Any], where: str):
    """Game settings from a checked save (``check_save``): overrides made from validated names and numbers only."""
    overrides = ["measures=none"]
    if "scenario" in save:
        overrides.append(f"scenario={save['scenario']}")
    if save.get("era") is not None:
        overrides.append(f"era={save['era']}")
    for name, params in save["measures"].items():
        overrides.append(f"measures.{name}.enabled=true")
        overrides += [f"measures.{name}.{k}={_literal(v)}" for k, v in params.items()]
    for key, value in save["model"].items():
        if isinstance(value, dict):
            overrides += [f"model.{key}.{k}={_literal(v)}" for k, v in value.items()]
        else:
            overrides.append(f"model.{key}={_literal(value)}")
    try:
        return compose_settings(
            overrides, save["side"], seed=save["seed"], scenario_data=save.get("scenario_data"), where=where
        )
    except UserError as exc:
        if str(exc).startswith(f"{where}:"):
            raise
        raise UserError(f"{where}: {exc}") from None


def _literal(value: Any) -> str:
    """A checked value as a Hydra override value (numbers, booleans, names, lists of names)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    return str(value)  # a NAME: letters, digits and underscores


# ---------------------------------------------------------------------------------- reading
def read_save(path: Path) -> dict[str, Any]:
    """Read and check a save file (a regular file of JSON text; nothing in it is executed)."""
    raw = read_bounded(path, MAX_SAVE_BYTES, "save file", missing="no such save file")
    return parse_save(raw, str(path))


def parse_save(raw: bytes, where: str) -> dict[str, Any]:
    """Check the bytes of a save file (from disk or an upload) against the schema.

    Errors name ``where`` and the field.
    """
    if len(raw) > MAX_SAVE_BYTES:
        raise UserError(f"{where}: not a save file (larger than {MAX_SAVE_BYTES:,} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{where}: not a save file (not UTF-8 text, byte {exc.start})") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise UserError(f"{where}: not a save file (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not a save file (invalid JSON: {exc.msg}, line {exc.lineno})") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        if "integer string conversion" in str(exc):
            raise UserError(f"{where}: not a save file (a number of more than 4,300 digits)") from None
        raise UserError(f"{where}: not a save file ({excerpt(str(exc).splitlines()[0])})") from None
    _check_depth(data, where)
    return check_save(data, where)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a save file may hold")


def _check_depth(data: Any, where: str) -> None:
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UserError(f"{where}: not a save file (nested more than {MAX_DEPTH} levels deep)")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _kind(value: Any) -> str:
    """What a value is, without echoing text from the file."""
    if isinstance(value, bool):
        return "a boolean"
    return {
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """A name from the file, shown only if it is a plain short name."""
    return repr(value) if isinstance(value, str) and NAME.match(value) else "(not shown)"


def check_save(data: Any, where: str) -> dict[str, Any]:
    """Validate a save file's content; return it in the current format. Errors name the field, never echo its text."""

    def fail(field: str, problem: str) -> None:
        raise UserError(f"{where}: {field}: {problem}")

    if not isinstance(data, dict):
        raise UserError(f"{where}: not a save file (expected a JSON object, got {_kind(data)})")
    fmt = data.get("format")
    if fmt == OLD_FORMAT:
        data = _convert_v1(data, where)
    elif fmt != SAVE_FORMAT:
        raise UserError(f"{where}: format: not an {SAVE_FORMAT} save file")
    allowed = {"format", "scenario", "scenario_data", "era", "measures", "model", "seed", "side", "time_h", "commands"}
    for key in data:
        if key not in allowed:
            fail(
                _shown(key) if isinstance(key, str) else "(key)",
                f"unknown field (allowed: {', '.join(sorted(allowed))})",
            )
    if ("scenario" in data) == ("scenario_data" in data):
        fail("scenario", "give exactly one of scenario (a library name) and scenario_data")
    if "scenario" in data:
        from sim.run.scenario_io import library

        if not isinstance(data["scenario"], str) or data["scenario"] not in library():
            fail("scenario", f"{_shown(data['scenario'])} is not a scenario of the library ({', '.join(library())})")
    elif not isinstance(data["scenario_data"], dict):
        fail("scenario_data", f"expected a mapping, got {_kind(data['scenario_data'])}")
    era = data.get("era")
    if era is not None:
        eras = era_names()
        if not isinstance(era, str) or era not in eras:
            fail("era", f"{_shown(era)} is not an era ({', '.join(eras)})")
    measures = _check_measures(data.get("measures", {}), fail)
    model = _check_model(data.get("model", {}), fail)
    seed = data.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        fail(
            "seed",
            f"must be a whole number from 0 to 2^63-1, got {_kind(seed)}"
            + (f" ({seed})" if isinstance(seed, int) and not isinstance(seed, bool) and abs(seed) < 10**20 else ""),
        )
    side = data.get("side")
    if side not in SIDES:
        fail("side", f"must be one of nato, russia, both, got {_shown(side)}")
    time_h = data.get("time_h", 0.0)
    if (
        isinstance(time_h, bool)
        or not isinstance(time_h, int | float)
        or not 0 <= time_h <= 1e7
        or not math.isfinite(time_h)
    ):
        fail("time_h", "must be a non-negative number of hours (at most 10^7)")
    commands = data.get("commands")
    if not isinstance(commands, list):
        fail("commands", f"expected a list, got {_kind(commands)}")
    if len(commands) > MAX_COMMANDS:
        fail("commands", f"at most {MAX_COMMANDS:,} moves, got {len(commands):,}")
    checked = [_check_command(c, f"commands[{i}]", fail) for i, c in enumerate(commands)]
    out = {
        "format": SAVE_FORMAT,
        "era": era,
        "measures": measures,
        "model": model,
        "seed": seed,
        "side": side,
        "time_h": float(time_h),
        "commands": checked,
    }
    if "scenario" in data:
        out["scenario"] = data["scenario"]
    else:
        out["scenario_data"] = data["scenario_data"]
    return out


def era_names() -> list[str]:
    """The era presets of ``conf/era/``."""
    from sim.run.paths import CONF_DIR

    return sorted(p.stem for p in (CONF_DIR / "era").glob("*.yaml"))


def _check_value(value: Any, field: str, fail) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if abs(value) > 1e12 or not math.isfinite(value):  # the size first: a huge int overflows isfinite
            fail(field, "must be a finite number of sensible size")
        return value
    if isinstance(value, str):
        if not NAME.match(value):
            fail(field, "a text value must be a plain name (letters, digits, _)")
        return value
    if isinstance(value, list) and len(value) <= 50 and all(isinstance(v, str) and NAME.match(v) for v in value):
        return list(value)
    fail(field, f"expected a number, a boolean or a name, got {_kind(value)}")
    return None  # not reached


def _check_measures(value: Any, fail) -> dict[str, dict[str, Any]]:
    from sim.core.measures import param_names, registry

    if not isinstance(value, dict):
        fail("measures", f"expected a mapping of measure names, got {_kind(value)}")
    known = registry()
    out: dict[str, dict[str, Any]] = {}
    for name, params in value.items():
        if name not in known:
            fail("measures", f"{_shown(name)} is not a measure ({', '.join(known)})")
        if not isinstance(params, dict):
            fail(f"measures.{name}", f"expected a mapping of parameters, got {_kind(params)}")
        names = param_names(known[name])
        for key in params:
            if key not in names:
                fail(f"measures.{name}", f"{_shown(key)} is not a parameter of {name} ({', '.join(names)})")
        out[name] = {k: _check_value(v, f"measures.{name}.{k}", fail) for k, v in params.items()}
    return out


def _check_model(value: Any, fail) -> dict[str, Any]:
    import dataclasses

    from sim.core.spec import ModelParams

    if not isinstance(value, dict):
        fail("model", f"expected a mapping of parameter names, got {_kind(value)}")
    names = {f.name for f in dataclasses.fields(ModelParams)}
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key not in names:
            fail("model", f"{_shown(key)} is not a model parameter (see docs/parameters.md)")
        if isinstance(v, dict):
            entries = {}
            for k, x in v.items():
                if not (isinstance(k, str) and NAME.match(k)):
                    fail(f"model.{key}", "keys must be plain names")
                if isinstance(x, bool) or not isinstance(x, int | float):
                    fail(f"model.{key}.{k}", "must be a number")
                entries[k] = _check_value(x, f"model.{key}.{k}", fail)
            out[key] = entries
        else:
            checked = _check_value(v, f"model.{key}", fail)
            if isinstance(checked, list | str):
                fail(f"model.{key}", "must be a number")
            out[key] = checked
    return out


def _check_command(c: Any, field: str, fail) -> dict[str, Any]:
    if not isinstance(c, dict) or c.get("op") not in OPS:
        fail(field, f"not a game move (op must be one of {', '.join(OPS)})")
    spec = OPS[c["op"]]
    for key in c:
        if key != "op" and key not in spec:
            fail(field, f"{_shown(key)} is not a field of a {c['op']} move")
    out: dict[str, Any] = {"op": c["op"]}
    for key, kind in spec.items():
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        if key not in c:
            if optional:
                continue
            fail(f"{field}.{key}", "missing")
        v = c[key]
        if kind == "number" and (
            isinstance(v, bool) or not isinstance(v, int | float) or abs(v) > 1e7 or not math.isfinite(v)
        ):
            fail(f"{field}.{key}", f"expected a finite number, got {_kind(v)}")
        if kind == "bool" and not isinstance(v, bool):
            fail(f"{field}.{key}", f"expected true or false, got {_kind(v)}")
        if kind == "name" and not (isinstance(v, str) and NAME.match(v)):
            fail(f"{field}.{key}", "expected a plain name (letters, digits, _)")
        if kind == "text" and not (isinstance(v, str) and len(v) <= 500):
            fail(f"{field}.{key}", f"expected a text of at most 500 characters, got {_kind(v)}")
        out[key] = v
    return out


# ---------------------------------------------------------------------------------- the first format
V1_OVERRIDE = re.compile(
    r"^(?:(?P<top>scenario|era|measures|seed)=(?P<name>[A-Za-z0-9_]{1,64})"
    r"|measures\.(?P<measure>[a-z0-9_]{1,64})\.(?P<mparam>[a-z0-9_]{1,64})=(?P<mvalue>[-+0-9.eE]{1,32}|true|false|[a-z0-9_]{1,64})"
    r"|model\.(?P<param>[a-z0-9_]{1,64})(?:\.(?P<sub>[a-z0-9_]{1,64}))?=(?P<value>[-+0-9.eE]{1,32}))$"
)


def _convert_v1(data: dict[str, Any], where: str) -> dict[str, Any]:
    """An ``escalation-game/1`` save (free Hydra overrides) in the current schema, through an allow-list."""
    from sim.core.measures import registry

    overrides = data.get("overrides")
    if not isinstance(overrides, list):
        raise UserError(f"{where}: overrides: missing or not a list")
    out: dict[str, Any] = {k: v for k, v in data.items() if k in ("seed", "side", "time_h", "commands")}
    out.update(format=SAVE_FORMAT, scenario=data.get("scenario"), era=None, measures={}, model={})
    if not isinstance(out["scenario"], str) or not NAME.match(out["scenario"]):
        raise UserError(f"{where}: scenario: a first-format save can only name a library scenario")
    bundle: str | None = None
    switches: dict[str, bool] = {}
    params: dict[str, dict[str, Any]] = {}
    for i, o in enumerate(overrides):
        m = V1_OVERRIDE.match(o) if isinstance(o, str) else None
        if m is None:
            raise UserError(
                f"{where}: overrides[{i}]: not allowed in a save file (only scenario, era, measures, "
                "measure and model parameters by value; no files, no interpolations)"
            )
        if m["top"] == "scenario":
            out["scenario"] = m["name"]
        elif m["top"] == "era":
            out["era"] = m["name"]
        elif m["top"] == "measures":
            bundle = m["name"]
        elif m["top"] == "seed":
            continue  # the save's own seed field counts
        elif m["measure"]:
            value = _v1_value(m["mvalue"])
            if m["mparam"] == "enabled":
                switches[m["measure"]] = bool(value)
            else:
                params.setdefault(m["measure"], {})[m["mparam"]] = value
        else:
            value = _v1_value(m["value"])
            if m["sub"]:
                out["model"].setdefault(m["param"], {})[m["sub"]] = value
            else:
                out["model"][m["param"]] = value
    enabled = set(bundle_members(bundle, where)) if bundle else set()
    enabled = (enabled | {k for k, v in switches.items() if v}) - {k for k, v in switches.items() if not v}
    known = registry()
    for name in enabled | set(params):
        if name not in known:
            raise UserError(f"{where}: overrides: {_shown(name)} is not a measure")
    out["measures"] = {name: params.get(name, {}) for name in sorted(enabled)}
    return out


def _v1_value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def bundle_names() -> list[str]:
    """The measure bundles of ``conf/measures/`` (each file there; the catalogue is a folder)."""
    from sim.run.paths import CONF_DIR

    return sorted(p.stem for p in (CONF_DIR / "measures").glob("*.yaml"))


def bundle_members(bundle: str, where: str = "measures") -> list[str]:
    """The measures a bundle of ``conf/measures/`` switches on."""
    from omegaconf import OmegaConf

    from sim.run.paths import CONF_DIR

    path = CONF_DIR / "measures" / f"{bundle}.yaml"
    if not NAME.match(bundle) or not path.is_file() or path.parent.name != "measures":
        raise UserError(f"{where}: overrides: measures={_shown(bundle)} is not a bundle")
    conf = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    return [k for k, v in conf.items() if isinstance(v, dict) and v.get("enabled") is True]  # type: ignore[union-attr]
