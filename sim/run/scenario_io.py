"""Scenario files: YAML data read into a validated :class:`~sim.core.spec.ScenarioSpec`.

Loading never runs code: YAML is parsed as plain data (any explicit tag such as ``!!python/...``
is refused), and a string that looks like a config interpolation (``${...}``) or a ``_target_``
key is refused too. Every problem is reported as ``FILE: field.path: what is wrong``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import yaml

from sim.core.alliance import NATO_MEMBERS
from sim.core.spec import (
    INCIDENT_TYPES,
    ActorSpec,
    BackgroundSpec,
    ChannelSpec,
    ExerciseSpec,
    ForceSpec,
    InjectSpec,
    ScenarioSpec,
    Side,
    Traits,
    ZoneSpec,
    forces_node,
)
from sim.run.errors import UserError, read_bounded
from sim.run.paths import SCENARIO_DIR

OWNERS = ("nato", "russia", "international")
FORMAT = 3  # the scenario format this version writes and reads; format 1 and 2 files are converted on load
CONSEQUENCES = ("none", "hit", "shot_down")  # what an inject does to its victim
AGREEMENTS = ("vienna_document", "incsea_bilateral")
ZONE_DOMAINS = ("sea", "land")
FORCE_DOMAINS = ("air", "sea", "land")
TRAIT_KEYS = {f for f in Traits.__dataclass_fields__}
UNIT_TRAITS = ("aggressiveness", "risk_tolerance", "rule_adherence")
CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$", re.ASCII)
# Physical bounds of the numeric fields (lo, hi), documented in docs/SCENARIOS.md ("Ranges").
BOUNDS: dict[str, tuple[float, float]] = {
    "radius_km": (0, 2000),
    "patrol_weight": (0, 1000),
    "sorties_per_day": (0, 100),
    "sortie_hours": (0, 240),
    "reporting_delay_h": (0, 168),
    "decision_time_h": (0.1, 720),
    "latency_h": (0, 720),
    "troops": (0, 1_000_000),
    "duration_days": (0, 366),
    "rate_per_day": (0, 100),
}


class ScenarioError(UserError):
    """A scenario file is malformed; the message names the file, the field and the problem."""


MAX_BYTES = 1_000_000  # a scenario file is at most 1 MB (the library's largest is ~10 kB)
MAX_DEPTH = 32  # nesting levels (the format needs 5)
MAX_VALUES = 100_000  # values after expanding aliases ("billion laughs" stop here)
LIMITS = {
    "theatre.zones": 200,
    "forces": 300,
    "commands": 2,
    "leadership": 2,
    "channels": 200,
    "exercises": 100,
    "background": 100,
    "injects": 1000,
    "sources": 100,
    "incident_types": 50,
}
MAX_TEXT = 5000  # characters in one text field
MAX_NUMBER_CHARS = 64  # characters in one number (any float's digits fit in 25)
_INT = r"^[-+]?(?:0|[1-9][0-9]*)$"
_FLOAT = r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
_NUMBER = re.compile(f"{_INT}|{_FLOAT}")  # what the loader reads as a number


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML with the YAML 1.2 core scalars.

    No sexagesimal ``1:30`` (= 90), no ``yes``/``on`` booleans, no octal ``010``, no timestamps;
    libyaml's C parser where installed.
    """


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def library(directory: Path = SCENARIO_DIR) -> dict[str, Path]:
    """Scenario names of the library, each with its file."""
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))}


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Read and validate one scenario file (a regular file of at most ``MAX_BYTES``)."""
    path = Path(path)
    return parse_scenario(_read_text(path), str(path), default_name=path.stem)


def read_scenario_data(path: str | Path) -> dict[str, Any]:
    """The plain data of a valid scenario file (to embed it in a save file)."""
    path = Path(path)
    text = _read_text(path)
    data = _safe_yaml(text, str(path))
    data = dict(data) if isinstance(data, dict) else data
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    parse_scenario_data(data, str(path), default_name=path.stem)
    return data  # type: ignore[return-value]


def _read_text(path: Path) -> str:
    """A scenario file's text: a regular file of at most ``MAX_BYTES``, UTF-8."""
    raw = read_bounded(path, MAX_BYTES, "scenario file", ScenarioError)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return text


def parse_scenario(text: str, source: str, default_name: str = "scenario") -> ScenarioSpec:
    """Validate scenario YAML ``text``; ``source`` names it in error messages."""
    if len(text) > MAX_BYTES:
        raise ScenarioError(f"{source}: too large (a scenario file is at most {MAX_BYTES:,} bytes)")
    data = _safe_yaml(text, source)
    return parse_scenario_data(data, source, default_name)


def parse_scenario_data(data: Any, source: str, default_name: str = "scenario") -> ScenarioSpec:
    """Validate already-parsed scenario data (e.g. embedded in a save file)."""
    _refuse_code(data, "", source)
    return _Reader(source).scenario(data, default_name)


def _refuse_code(value: Any, path: str, source: str) -> None:
    """Refuse anything Hydra/OmegaConf would act on (``_target_`` keys, ``${...}`` interpolations).

    Iterative, and each shared (aliased) value is visited once, so its cost is bounded by the
    file, not by the expanded tree.
    """
    seen: set[int] = set()
    stack = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{source}: {where}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict | list):
            if id(item) in seen:
                continue
            seen.add(id(item))
        if isinstance(item, dict):
            for key, sub in item.items():
                at = _join(where, str(key))
                if key == "_target_":
                    raise ScenarioError(f"{source}: {at}: '_target_' is not allowed (scenario files are plain data)")
                stack.append((sub, at, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
        elif isinstance(item, str) and "${" in item:
            raise ScenarioError(
                f"{source}: {where}: interpolations ('${{...}}') are not allowed (scenario files are plain data)"
            )


def _safe_yaml(text: str, source: str) -> Any:
    """Plain data from YAML: a bounded pass over the parser's events first, then construction."""
    try:
        _check_events(text, source)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{source}: {where}: not valid YAML ({problem})") from None


def _check_events(text: str, source: str) -> None:
    """Refuse tags, deep nesting, alias bombs, duplicate keys and invalid characters, before anything is built."""
    # open collections: kind, anchor, values at start, keys seen, expecting a key, field path, last key, items
    stack: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}  # values each anchor expands to
    total = 0

    def at(event) -> str:
        return f"line {event.start_mark.line + 1}"

    def field() -> str:
        """The field the next value belongs to (``forces[2].sorties_per_day``)."""
        if not stack:
            return "(top level)"
        parent = stack[-1]
        if parent["kind"] == "map":
            return _join(parent["path"], _short(str(parent["key"])))
        return f"{parent['path']}[{parent['n']}]"

    def child_done() -> None:
        if stack and stack[-1]["kind"] == "map":
            stack[-1]["expect_key"] = not stack[-1]["expect_key"]
        elif stack:
            stack[-1]["n"] += 1

    for event in yaml.parse(text, Loader=_Loader):
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise ScenarioError(
                f"{source}: {at(event)}: YAML tag {tag!r} is not allowed (scenario files are plain data)"
            )
        if isinstance(event, yaml.ScalarEvent):
            try:
                event.value.encode("utf-8")
            except UnicodeEncodeError:
                raise ScenarioError(
                    f"{source}: {at(event)}: text with an invalid character (a lone surrogate)"
                ) from None
            parent = stack[-1] if stack else None
            if parent is not None and parent["kind"] == "map" and parent["expect_key"]:
                if event.value in parent["keys"]:
                    raise ScenarioError(
                        f"{source}: {at(event)}: {parent['path'] or '(top level)'}: "
                        f"duplicate key {_short(event.value)!r}"
                    )
                parent["keys"].add(event.value)
                parent["key"] = event.value
            elif event.implicit[0] and _NUMBER.match(event.value) and len(event.value) > MAX_NUMBER_CHARS:
                raise ScenarioError(
                    f"{source}: {at(event)}: {field()}: a number of {len(event.value):,} characters "
                    f"(at most {MAX_NUMBER_CHARS})"
                )
            total += 1
            if event.anchor:
                sizes[event.anchor] = 1
            child_done()
        elif isinstance(event, yaml.AliasEvent):
            if stack and stack[-1]["kind"] == "map" and stack[-1]["expect_key"]:
                raise ScenarioError(
                    f"{source}: {at(event)}: {stack[-1]['path'] or '(top level)'}: an alias "
                    f"(*{_short(event.anchor)}) as a key is not allowed: a key must be plain text"
                )
            total += sizes.get(event.anchor, 1)
            child_done()
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            if stack and stack[-1]["kind"] == "map" and stack[-1]["expect_key"]:
                raise ScenarioError(f"{source}: {at(event)}: a key must be plain text")
            if len(stack) >= MAX_DEPTH:
                raise ScenarioError(f"{source}: {at(event)}: nested more than {MAX_DEPTH} levels deep")
            total += 1
            kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
            path = field() if stack else ""
            stack.append(
                {
                    "kind": kind,
                    "anchor": event.anchor,
                    "start": total - 1,
                    "keys": set(),
                    "expect_key": True,
                    "path": path,
                    "key": None,
                    "n": 0,
                }
            )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            node = stack.pop()
            if node["anchor"]:
                sizes[node["anchor"]] = total - node["start"]
            child_done()
        if total > MAX_VALUES:
            raise ScenarioError(f"{source}: {at(event)}: more than {MAX_VALUES:,} values (after expanding aliases)")


class _Reader:
    """Walks the parsed data, checking each field and building the spec."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, problem: str) -> None:
        raise ScenarioError(f"{self.source}: {path}: {problem}")

    # -- primitives ------------------------------------------------------------------------
    def mapping(self, value: Any, path: str, allowed: set[str] | None = None, required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(path or "(top level)", f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"key {key!r} is not a string")
            if key == "_target_":
                self.fail(_join(path, key), "'_target_' is not allowed (scenario files are plain data)")
            if allowed is not None and key not in allowed:
                self.fail(_join(path, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(_join(path, key), "missing required field")
        return value

    def seq(self, value: Any, path: str) -> list:
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
        limit = LIMITS.get(path)
        if limit is not None and len(value) > limit:
            self.fail(path, f"at most {limit} entries, got {len(value)}")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected a non-empty string, got {_kind(value)}")
        if "${" in value:
            self.fail(path, "interpolations ('${...}') are not allowed (scenario files are plain data)")
        if len(value) > MAX_TEXT:
            self.fail(path, f"at most {MAX_TEXT:,} characters, got {len(value):,}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(path, "contains an invalid character (a lone surrogate)")
        return value.strip()

    def number(
        self, value: Any, path: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, got {_kind(value)}")
        if isinstance(value, int) and value.bit_length() > 200:  # past 1.6e60, any range; float() would overflow
            self.fail(path, "got a number of more than 60 digits, far out of range")
        x = float(value)
        if not math.isfinite(x):
            self.fail(path, f"must be finite, got {value}")
        if lo is not None and (x < lo or (lo_open and x == lo)):
            self.fail(path, f"must be {'>' if lo_open else '>='} {lo:g}, got {value}")
        if hi is not None and x > hi:
            self.fail(path, f"must be <= {hi:g}, got {value}")
        return x

    def choice(self, value: Any, path: str, options: tuple[str, ...]) -> str:
        if value not in options:
            self.fail(path, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def flag(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_kind(value)}")
        return value

    def ident(self, value: Any, path: str, seen: set[str]) -> str:
        name = self.text(value, path)
        if name in seen:
            self.fail(path, f"duplicate id {name!r}")
        seen.add(name)
        return name

    def ref(self, value: Any, path: str, known: dict | set, what: str) -> str:
        name = (
            self.text(value, path)
            if isinstance(value, str)
            else self.fail(path, f"expected a {what} id, got {_kind(value)}")
        )
        if name not in known:
            self.fail(path, f"unknown {what} {name!r} (known: {', '.join(sorted(known))})")
        return name

    def traits(self, value: Any, path: str, decides: bool) -> Traits:
        allowed = set(TRAIT_KEYS) if decides else TRAIT_KEYS - {"decision_time_h"}
        data = self.mapping(value if value is not None else {}, path, allowed)
        kwargs: dict[str, float] = {}
        for key, raw in data.items():
            if key in UNIT_TRAITS:
                kwargs[key] = self.number(raw, _join(path, key), 0, 1)
            elif key == "decision_time_h":
                kwargs[key] = self.number(raw, _join(path, key), *BOUNDS["decision_time_h"])
            else:
                kwargs[key] = self.number(raw, _join(path, key), *BOUNDS["reporting_delay_h"])
        return Traits(**kwargs)

    # -- sections --------------------------------------------------------------------------
    def scenario(self, data: Any, default_name: str) -> ScenarioSpec:
        top = self.mapping(
            data,
            "",
            allowed={
                "format",
                "name",
                "title",
                "description",
                "era",
                "horizon_days",
                "baseline",
                "theatre",
                "forces",
                "commands",
                "leadership",
                "channels",
                "exercises",
                "background",
                "injects",
                "sources",
                "incident_types",
                "agreements",
                "valid_for",
            },
            required=(
                "description",
                "horizon_days",
                "baseline",
                "theatre",
                "forces",
                "commands",
                "leadership",
                "sources",
            ),
        )
        name = self.text(top.get("name", default_name), "name")
        version = top.get("format", 1)
        if isinstance(version, bool) or version not in (1, 2, FORMAT):
            self.fail("format", f"must be 1, 2 or {FORMAT}, got {_kind(version)}")
        self.version = version
        if version == 1 and "agreements" in top:
            self.fail("agreements", "needs format: 2 (add `format: 2` at the top of the file)")
        if version < 3 and "valid_for" in top:
            self.fail("valid_for", "needs format: 3 (change `format:` at the top of the file)")
        horizon_h = self.number(top["horizon_days"], "horizon_days", 0, 366, lo_open=True) * 24
        max_h, eras = self.valid_for(top.get("valid_for"), horizon_h)
        if "era" in top and eras and top["era"] not in eras:
            self.fail("era", f"{top['era']!r} is not among the eras the scenario is valid for ({', '.join(eras)})")
        baseline = self.mapping(top["baseline"], "baseline", {"tension", "trust"}, ("tension", "trust"))
        tension = self.side_values(baseline["tension"], "baseline.tension")
        trust = self.side_values(baseline["trust"], "baseline.trust")
        zones, links = self.theatre(top["theatre"])
        zone_ids = {z.id: z for z in zones}
        ids: set[str] = set()
        forces = tuple(
            self.force(f, f"forces[{i}]", zone_ids, ids) for i, f in enumerate(self.seq(top["forces"], "forces"))
        )
        if not forces:
            self.fail("forces", "at least one force is needed")
        actors = self.actors(top["commands"], "commands", "command", ids) + self.actors(
            top["leadership"], "leadership", "leadership", ids
        )
        side_of = {a.id: a.side for a in actors} | {forces_node(s): s for s in Side}
        channels = tuple(
            self.channel(c, f"channels[{i}]", side_of)
            for i, c in enumerate(self.seq(top.get("channels", []), "channels"))
        )
        force_ids = {f.id: f for f in forces}
        exercise_ids: set[str] = set()
        exercises = tuple(
            self.exercise(e, f"exercises[{i}]", zone_ids, horizon_h, exercise_ids)
            for i, e in enumerate(self.seq(top.get("exercises", []), "exercises"))
        )
        inject_ids: set[str] = set()
        injects = tuple(
            self.inject(j, f"injects[{i}]", zone_ids, force_ids, horizon_h, inject_ids)
            for i, j in enumerate(self.seq(top.get("injects", []), "injects"))
        )
        background_ids: set[str] = set()
        background = tuple(
            self.background(b, f"background[{i}]", zone_ids, background_ids)
            for i, b in enumerate(self.seq(top.get("background", []), "background"))
        )
        incident_types = tuple(
            self.choice(t, f"incident_types[{i}]", INCIDENT_TYPES)
            for i, t in enumerate(self.seq(top.get("incident_types", []), "incident_types"))
        )
        sources = tuple(self.text(s, f"sources[{i}]") for i, s in enumerate(self.seq(top["sources"], "sources")))
        notices: tuple[str, ...] = ()
        if version == 2:
            notices = (
                f"{self.source}: format 2 scenario read as format {FORMAT}: valid for any horizon up to 366 days "
                "and any era (declare `valid_for:`; see docs/SCENARIOS.md, 'Format versions')",
            )
        if version == 1:
            # Format 1 knew NATO only as one actor and no agreements in force: say what is assumed.
            agreements = AGREEMENTS
            allied = [f.id for f in forces if f.side is Side.NATO]
            notices = (
                f"{self.source}: format 1 scenario converted to format {FORMAT}: NATO forces "
                f"({', '.join(allied) or 'none'}) assumed to belong to an unnamed ally (member: allied); "
                f"agreements in force assumed: {', '.join(agreements)} (see docs/SCENARIOS.md, 'Format versions')",
            )
        else:
            agreements = tuple(
                self.choice(a, f"agreements[{i}]", AGREEMENTS)
                for i, a in enumerate(self.seq(top.get("agreements", []), "agreements"))
            )
        if not sources:
            self.fail("sources", "name at least one source for the numbers used")
        return ScenarioSpec(
            name=name,
            title=self.text(top.get("title", name), "title"),
            description=self.text(top["description"], "description"),
            horizon_h=horizon_h,
            zones=zones,
            links=links,
            forces=forces,
            actors=actors,
            channels=channels,
            injects=tuple(sorted(injects, key=lambda j: (j.at_h, j.id))),
            exercises=exercises,
            background=background,
            incident_types=incident_types,
            baseline_tension=tension,
            baseline_trust=trust,
            era=self.text(top["era"], "era") if "era" in top else "",
            sources=sources,
            agreements=agreements,
            format_version=FORMAT,
            notices=notices,
            max_horizon_h=max_h,
            valid_eras=eras,
        )

    def valid_for(self, value: Any, horizon_h: float) -> tuple[float, tuple[str, ...]]:
        """``valid_for: {max_days: N, eras: [...]}``: the longest horizon and the eras the scenario is written for."""
        if value is None:
            return 366 * 24.0, ()
        v = self.mapping(value, "valid_for", {"max_days", "eras"})
        max_h = self.number(v.get("max_days", 366), "valid_for.max_days", 0, 366, lo_open=True) * 24
        if horizon_h > max_h:
            self.fail("horizon_days", f"{horizon_h / 24:g} days is beyond valid_for.max_days ({max_h / 24:g})")
        eras = tuple(
            self.text(e, f"valid_for.eras[{i}]") for i, e in enumerate(self.seq(v.get("eras", []), "valid_for.eras"))
        )
        return max_h, eras

    def side_values(self, value: Any, path: str) -> dict[str, float]:
        data = self.mapping(value, path, {"nato", "russia"}, ("nato", "russia"))
        return {k: self.number(v, _join(path, k), 0, 1) for k, v in data.items()}

    def theatre(self, value: Any) -> tuple[tuple[ZoneSpec, ...], tuple[tuple[str, str], ...]]:
        data = self.mapping(value, "theatre", {"zones", "links"}, ("zones",))
        seen: set[str] = set()
        zones = []
        for i, z in enumerate(self.seq(data["zones"], "theatre.zones")):
            path = f"theatre.zones[{i}]"
            z = self.mapping(
                z,
                path,
                {"id", "name", "lat", "lon", "owner", "domain", "radius_km", "member"},
                ("id", "name", "lat", "lon", "owner", "domain"),
            )
            zones.append(
                ZoneSpec(
                    id=self.ident(z["id"], f"{path}.id", seen),
                    name=self.text(z["name"], f"{path}.name"),
                    lat=self.number(z["lat"], f"{path}.lat", -90, 90),
                    lon=self.number(z["lon"], f"{path}.lon", -180, 180),
                    owner=self.choice(z["owner"], f"{path}.owner", OWNERS),
                    domain=self.choice(z["domain"], f"{path}.domain", ZONE_DOMAINS),
                    radius_km=self.number(z.get("radius_km", 0), f"{path}.radius_km", *BOUNDS["radius_km"]),
                    member=self.zone_member(z, path),
                )
            )
        if not zones:
            self.fail("theatre.zones", "at least one zone is needed")
        for side in Side:
            if not any(z.owner == side.value for z in zones):
                self.fail(
                    "theatre.zones", f"no zone is owned by {side.value}: distances to its territory are undefined"
                )
        links = []
        for i, link in enumerate(self.seq(data.get("links", []), "theatre.links")):
            path = f"theatre.links[{i}]"
            pair = self.seq(link, path)
            if len(pair) != 2:
                self.fail(path, f"a link joins exactly two zones, got {len(pair)}")
            links.append((self.ref(pair[0], f"{path}[0]", seen, "zone"), self.ref(pair[1], f"{path}[1]", seen, "zone")))
        return tuple(zones), tuple(links)

    def force(self, value: Any, path: str, zones: dict, ids: set[str]) -> ForceSpec:
        f = self.mapping(
            value,
            path,
            {
                "id",
                "side",
                "name",
                "kind",
                "domain",
                "base",
                "patrol",
                "sorties_per_day",
                "sortie_hours",
                "traits",
                "member",
                "air_defence_km",
            },
            ("id", "side", "name", "kind", "domain", "base", "patrol", "sorties_per_day", "sortie_hours"),
        )
        if "air_defence_km" in f and getattr(self, "version", FORMAT) < 3:
            self.fail(f"{path}.air_defence_km", "needs format: 3 (change `format:` at the top of the file)")
        patrol_raw = self.mapping(f["patrol"], f"{path}.patrol")
        patrol = {}
        for zone, weight in patrol_raw.items():
            self.ref(zone, f"{path}.patrol", zones, "zone")
            patrol[zone] = self.number(weight, f"{path}.patrol.{zone}", *BOUNDS["patrol_weight"])
        if sum(patrol.values()) <= 0:
            self.fail(f"{path}.patrol", "needs at least one zone with a positive weight")
        side = Side(self.choice(f["side"], f"{path}.side", ("nato", "russia")))
        return ForceSpec(
            id=self.ident(f["id"], f"{path}.id", ids),
            side=side,
            member=self.force_member(f, path, side),
            name=self.text(f["name"], f"{path}.name"),
            kind=self.text(f["kind"], f"{path}.kind"),
            domain=self.choice(f["domain"], f"{path}.domain", FORCE_DOMAINS),
            base=self.ref(f["base"], f"{path}.base", zones, "zone"),
            patrol=patrol,
            sorties_per_day=self.number(f["sorties_per_day"], f"{path}.sorties_per_day", *BOUNDS["sorties_per_day"]),
            sortie_hours=self.number(f["sortie_hours"], f"{path}.sortie_hours", *BOUNDS["sortie_hours"], lo_open=True),
            traits=self.traits(f.get("traits"), f"{path}.traits", decides=False),
            air_defence_km=self.number(f.get("air_defence_km", 0), f"{path}.air_defence_km", 0, 1000),
        )

    def force_member(self, f: dict, path: str, side: Side) -> str:
        """The nation of a force: a NATO member for NATO forces (format 2 requires it), ``ru`` for Russia's."""
        if side is Side.RUSSIA:
            return self.choice(f.get("member", "ru"), f"{path}.member", ("ru",))
        if "member" not in f:
            if getattr(self, "version", FORMAT) == 1:
                return "allied"
            self.fail(f"{path}.member", f"a NATO force needs its nation (one of {', '.join(NATO_MEMBERS)})")
        return self.choice(f["member"], f"{path}.member", NATO_MEMBERS)

    def zone_member(self, z: dict, path: str) -> str:
        """The NATO member whose territory a NATO-owned zone is (optional)."""
        if "member" not in z:
            return ""
        if z.get("owner") != "nato":
            self.fail(f"{path}.member", "only a zone owned by nato belongs to a member")
        return self.choice(z["member"], f"{path}.member", NATO_MEMBERS)

    def actors(self, value: Any, key: str, role: str, ids: set[str]) -> tuple[ActorSpec, ...]:
        actors = []
        for i, a in enumerate(self.seq(value, key)):
            path = f"{key}[{i}]"
            a = self.mapping(a, path, {"id", "side", "name", "traits"}, ("id", "side", "name"))
            actors.append(
                ActorSpec(
                    id=self.ident(a["id"], f"{path}.id", ids),
                    side=Side(self.choice(a["side"], f"{path}.side", ("nato", "russia"))),
                    name=self.text(a["name"], f"{path}.name"),
                    role=role,
                    traits=self.traits(a.get("traits"), f"{path}.traits", decides=True),
                )
            )
        for side in Side:
            count = sum(a.side is side for a in actors)
            if count != 1:
                self.fail(key, f"needs exactly one {role} for {side.value}, got {count}")
        return tuple(actors)

    def channel(self, value: Any, path: str, side_of: dict[str, Side]) -> ChannelSpec:
        c = self.mapping(
            value,
            path,
            {"between", "kind", "latency_h", "availability", "quality", "member"},
            ("between", "kind", "latency_h", "availability", "quality"),
        )
        pair = self.seq(c["between"], f"{path}.between")
        if len(pair) != 2:
            self.fail(f"{path}.between", f"a channel joins exactly two actors, got {len(pair)}")
        a = self.ref(pair[0], f"{path}.between[0]", side_of, "actor")
        b = self.ref(pair[1], f"{path}.between[1]", side_of, "actor")
        if side_of[a] is side_of[b]:
            self.fail(f"{path}.between", "a channel must join the two sides")
        return ChannelSpec(
            a=a,
            b=b,
            kind=self.text(c["kind"], f"{path}.kind"),
            latency_h=self.number(c["latency_h"], f"{path}.latency_h", *BOUNDS["latency_h"]),
            availability=self.number(c["availability"], f"{path}.availability", 0, 1),
            quality=self.number(c["quality"], f"{path}.quality", 0, 1),
            member=self.choice(c["member"], f"{path}.member", NATO_MEMBERS) if "member" in c else "",
        )

    def exercise(self, value: Any, path: str, zones: dict, horizon_h: float, ids: set[str]) -> ExerciseSpec:
        e = self.mapping(
            value,
            path,
            {"id", "name", "side", "zone", "start_day", "duration_days", "troops", "snap"},
            ("id", "name", "side", "zone", "start_day", "duration_days", "troops"),
        )
        start_h = (self.number(e["start_day"], f"{path}.start_day", 1, 367) - 1) * 24
        if start_h >= horizon_h:
            self.fail(f"{path}.start_day", f"starts after the horizon ({horizon_h / 24:g} days)")
        troops = self.number(e["troops"], f"{path}.troops", *BOUNDS["troops"])
        if troops != int(troops):
            self.fail(f"{path}.troops", f"must be a whole number, got {e['troops']}")
        return ExerciseSpec(
            id=self.ident(e["id"], f"{path}.id", ids),
            name=self.text(e["name"], f"{path}.name"),
            side=Side(self.choice(e["side"], f"{path}.side", ("nato", "russia"))),
            zone=self.ref(e["zone"], f"{path}.zone", zones, "zone"),
            start_h=start_h,
            duration_h=self.number(e["duration_days"], f"{path}.duration_days", *BOUNDS["duration_days"], lo_open=True)
            * 24,
            troops=int(troops),
            snap=self.flag(e.get("snap", False), f"{path}.snap"),
        )

    def background(self, value: Any, path: str, zones: dict, ids: set[str]) -> BackgroundSpec:
        b = self.mapping(
            value,
            path,
            {"id", "type", "side", "actor", "zone", "rate_per_day", "severity", "deliberate_probability", "text"},
            ("id", "type", "side", "actor", "zone", "rate_per_day", "severity", "deliberate_probability", "text"),
        )
        return BackgroundSpec(
            id=self.ident(b["id"], f"{path}.id", ids),
            type=self.choice(b["type"], f"{path}.type", INCIDENT_TYPES),
            side=Side(self.choice(b["side"], f"{path}.side", ("nato", "russia"))),
            actor=self.text(b["actor"], f"{path}.actor"),
            zone=self.ref(b["zone"], f"{path}.zone", zones, "zone"),
            rate_per_day=self.number(b["rate_per_day"], f"{path}.rate_per_day", *BOUNDS["rate_per_day"]),
            severity=self.number(b["severity"], f"{path}.severity", 0, 1),
            deliberate_probability=self.number(b["deliberate_probability"], f"{path}.deliberate_probability", 0, 1),
            text=self.text(b["text"], f"{path}.text"),
        )

    def inject(self, value: Any, path: str, zones: dict, forces: dict, horizon_h: float, ids: set[str]) -> InjectSpec:
        j = self.mapping(
            value,
            path,
            {"id", "day", "time", "type", "initiator", "zone", "severity", "deliberate", "text"}
            | {"victim", "consequence", "casualties"},
            ("id", "day", "type", "initiator", "zone", "severity", "deliberate", "text"),
        )
        for key in ("victim", "consequence", "casualties"):
            if key in j and getattr(self, "version", FORMAT) < 3:
                self.fail(f"{path}.{key}", "needs format: 3 (change `format:` at the top of the file)")
        day = self.number(j["day"], f"{path}.day", 1, 367)
        hours = self.clock(j.get("time", "00:00"), f"{path}.time")
        at_h = (day - 1) * 24 + hours
        if at_h >= horizon_h:
            self.fail(f"{path}.day", f"falls after the horizon ({horizon_h / 24:g} days)")
        initiator = self.ref(j["initiator"], f"{path}.initiator", forces, "force")
        victim = self.ref(j["victim"], f"{path}.victim", forces, "force") if "victim" in j else ""
        if victim and forces[victim].side is forces[initiator].side:
            self.fail(f"{path}.victim", f"{victim!r} is on the initiator's own side")
        consequence = self.choice(j.get("consequence", "none"), f"{path}.consequence", CONSEQUENCES)
        casualties = self.number(j.get("casualties", 0), f"{path}.casualties", 0, 1000)
        if casualties != int(casualties):
            self.fail(f"{path}.casualties", f"must be a whole number, got {j['casualties']}")
        if (consequence != "none" or casualties) and not victim:
            self.fail(f"{path}.victim", "a consequence or casualties need a victim (a force id of the other side)")
        return InjectSpec(
            id=self.ident(j["id"], f"{path}.id", ids),
            at_h=at_h,
            type=self.choice(j["type"], f"{path}.type", INCIDENT_TYPES),
            initiator=initiator,
            victim=victim,
            consequence=consequence,
            casualties=int(casualties),
            zone=self.ref(j["zone"], f"{path}.zone", zones, "zone"),
            severity=self.number(j["severity"], f"{path}.severity", 0, 1),
            deliberate=self.flag(j["deliberate"], f"{path}.deliberate"),
            text=self.text(j["text"], f"{path}.text"),
        )

    def clock(self, value: Any, path: str) -> float:
        text = (
            self.text(value, path)
            if isinstance(value, str)
            else self.fail(path, f'expected "HH:MM", got {_kind(value)}')
        )
        m = CLOCK.match(text)
        if m is None:
            self.fail(path, f'expected "HH:MM" (00:00 to 23:59), got {text[:20]!r}')
        return int(m[1]) + int(m[2]) / 60


def _short(text: str, limit: int = 40) -> str:
    """A user's text in a message: printable, at most ``limit`` characters (escaped, ``...`` when cut)."""
    shown = text.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__) + (
        f" ({value!r})" if isinstance(value, bool | int | float | str) and len(repr(value)) < 40 else ""
    )


ROLE_NODES = {"leadership", "command", "forces"}


def with_horizon(spec: ScenarioSpec, days: float) -> ScenarioSpec:
    """The scenario run for ``days`` days; ``UserError`` beyond the horizon it is valid for (``valid_for``)."""
    if days * 24.0 > spec.max_horizon_h + 1e-9:
        from sim.run.errors import UserError

        raise UserError(
            f"scenario {spec.name} is valid for at most {spec.max_horizon_h / 24:g} days "
            f"(its valid_for.max_days); {days:g} days refused"
        )
    return dataclasses.replace(spec, horizon_h=days * 24.0)


def apply_era(spec: ScenarioSpec, era: dict[str, Any]) -> ScenarioSpec:
    """The scenario with an era's baseline tension and trust and its channels (``nato.leadership`` ...)."""
    source = f"era {era.get('name', '?')}"
    reader = _Reader(source)
    tension = reader.side_values(era["tension"], "tension")
    trust = reader.side_values(era["trust"], "trust")
    node = {}
    for side in Side:
        node[f"{side.value}.forces"] = forces_node(side)
        node[f"{side.value}.command"] = spec.actor(side, "command").id
        node[f"{side.value}.leadership"] = spec.actor(side, "leadership").id
    side_of = {a.id: a.side for a in spec.actors} | {forces_node(s): s for s in Side}
    channels = []
    for i, raw in enumerate(reader.seq(era["channels"], "channels")):
        c = dict(reader.mapping(raw, f"channels[{i}]"))
        pair = reader.seq(c.get("between"), f"channels[{i}].between")
        c["between"] = [node.get(str(e), "") or reader.ref(e, f"channels[{i}].between", node, "role") for e in pair]
        channels.append(reader.channel(c, f"channels[{i}]", side_of))
    agreements = tuple(
        reader.choice(a, f"agreements[{i}]", AGREEMENTS)
        for i, a in enumerate(reader.seq(era.get("agreements", []), "agreements"))
    )
    name = str(era.get("name", ""))
    if spec.valid_eras and name not in spec.valid_eras:
        from sim.run.errors import UserError

        raise UserError(f"era {name}: scenario {spec.name} is valid for the eras {', '.join(spec.valid_eras)} only")
    # The era adds its channels and agreements to the scenario's own; where the scenario already has a
    # channel of the same kind between the same actors, the scenario's (more specific) one is kept.
    own = {(c.a, c.b, c.kind) for c in spec.channels} | {(c.b, c.a, c.kind) for c in spec.channels}
    added = tuple(c for c in channels if (c.a, c.b, c.kind) not in own)
    return dataclasses.replace(
        spec,
        era=name,
        baseline_tension=tension,
        baseline_trust=trust,
        channels=spec.channels + added,
        agreements=tuple(dict.fromkeys(spec.agreements + agreements)),
    )


def describe(spec: ScenarioSpec) -> str:
    """A readable account of a scenario, injects included (``escalation scenarios show``)."""
    from sim.core.model import clock

    lines = [
        f"{spec.title} ({spec.name})",
        "",
        spec.description,
        "",
        f"era: {spec.era or '-'}   horizon: {spec.horizon_h / 24:g} days   "
        f"baseline tension NATO {spec.baseline_tension['nato']:.2f} / Russia {spec.baseline_tension['russia']:.2f}, "
        f"trust {spec.baseline_trust['nato']:.2f} / {spec.baseline_trust['russia']:.2f}",
        f"agreements in force: {', '.join(spec.agreements) or 'none'}   format: {spec.format_version}",
        "",
        "Zones:",
    ]
    lines += [
        f"  {z.id:24s} {z.name} ({z.owner}{', ' + z.member if z.member else ''}, {z.domain}, {z.lat:.2f}N {z.lon:.2f}E)"
        for z in spec.zones
    ]
    lines += ["", "Forces (the id is what an inject names as its initiator):"]
    lines += [
        f"  {f.id:22s} {f.side.label:6s} {f.member or '-':6s} {f.name} [{f.kind}, {f.domain}] "
        f"from {f.base}, {f.sorties_per_day:g} sorties/day"
        for f in spec.forces
    ]
    lines += ["", "Decision-makers:"] + [f"  {a.side.label:6s} {a.role:10s} {a.name}" for a in spec.actors]
    lines += ["", "Channels:"] + [
        f"  {c.a} <-> {c.b}: {c.kind}, {c.latency_h:g} h, available {c.availability:.0%}" for c in spec.channels
    ]
    if spec.exercises:
        lines += ["", "Exercises:"] + [
            f"  {clock(e.start_h)}  {e.name}: {e.troops:,} troops in {e.zone} "
            f"for {e.duration_h / 24:g} days{' (snap)' if e.snap else ''}"
            for e in spec.exercises
        ]
    if spec.background:
        lines += ["", "Background activity:"] + [
            f"  {b.rate_per_day:g}/day  {b.type}: {b.text}" for b in spec.background
        ]
    lines += ["", "Injects (master scenario events list):"] + [
        f"  {clock(j.at_h)}  [{j.type}] {j.text}" for j in spec.injects
    ]
    lines += ["", "Sources:"] + [f"  - {s}" for s in spec.sources]
    return "\n".join(lines)
