"""Scenario files are untrusted: every mutation is a clean one-line refusal or a run with in-range values.

The named cases are the ones a fuzzing session found crashing, hanging or accepting nonsense;
the Hypothesis test keeps mutating the library files.
"""

from __future__ import annotations

import copy
import math
import re
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.model import EscalationModel
from sim.run.scenario_io import BOUNDS, MAX_BYTES, ScenarioError, library, load_scenario, parse_scenario

LIBRARY = library()
BALTIC = LIBRARY["baltic_air_policing"].read_text()


def refused(text: str, expected: str) -> None:
    """``text`` is refused within 2 s with a one-line error containing ``expected``."""
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "mine.yaml")
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert message.startswith("mine.yaml: ") and "\n" not in message and expected in message, message


def replace_line(text: str, key: str, new: str) -> str:
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.lstrip().startswith(f"{key}:"))
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines[i] = f"{indent}{new}"
    return "\n".join(lines) + "\n"


def test_deep_nesting_is_refused_without_a_recursion_error():
    refused("a: " + "[" * 600 + "]" * 600 + "\n", "nested more than")
    refused("a:\n" + "".join("  " * k + f"k{k}:\n" for k in range(1, 200)) + "  " * 200 + "x: 1\n", "nested more than")


def test_billion_laughs_stops_at_the_value_limit():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, 10)]
    refused("\n".join(lines) + "\n", "values (after expanding aliases)")


def test_large_and_special_files_are_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("description: " + "x" * (MAX_BYTES + 10) + "\n")
    with pytest.raises(ScenarioError, match="too large"):
        load_scenario(big)
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(Path("/dev/zero"))
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(tmp_path)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(bad)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("9" * 5000, "line 10: horizon_days: a number of 5,000 characters (at most 64)"),
        ("0." + "1" * 3000, "horizon_days: a number of 3,002 characters"),
        ("1e" + "9" * 70, "horizon_days: a number of 72 characters"),
        ("9" * 64, "horizon_days: got a number of more than 60 digits, far out of range"),
    ],
)
def test_numbers_of_any_length_are_refused_naming_the_field(number, expected):
    refused(replace_line(BALTIC, "horizon_days", f"horizon_days: {number}"), expected)


def test_an_alias_as_a_key_is_refused_naming_the_field():
    text = replace_line(BALTIC, "horizon_days", "&hk horizon_days: 30") + "*hk : 300\n"  # a duplicate through an alias
    refused(text, "(top level): an alias (*hk) as a key is not allowed")
    nested = BALTIC.replace("theatre:\n", "theatre:\n  *hk : 1\n", 1).replace("title:", "t: &hk x\ntitle:", 1)
    refused(nested, "theatre: an alias (*hk) as a key is not allowed")


def test_yaml_11_surprises_and_duplicates():
    refused(replace_line(BALTIC, "horizon_days", "horizon_days: 1:30"), "horizon_days: expected a number, got a string")
    refused(BALTIC + "horizon_days: 5\n", "duplicate key 'horizon_days'")
    data = yaml.safe_load(BALTIC)
    data["injects"][0]["time"] = "²:00"
    refused(yaml.safe_dump(data, allow_unicode=True), 'expected "HH:MM"')
    surrogate = replace_line(BALTIC, "title", 'title: "\\ud800 Baltic"')
    with pytest.raises(ScenarioError, match="surrogate|invalid Unicode") as info:
        parse_scenario(surrogate, "mine.yaml")
    assert "\n" not in str(info.value)
    refused("!!python/object/apply:os.system ['echo hi']\n", "YAML tag")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("forces", 0, "sorties_per_day"), 1e300, "sorties_per_day: must be <= 100"),
        (("exercises", 0, "duration_days"), 1e308, "duration_days: must be <= 366"),
        (("forces", 0, "patrol"), {"central_baltic": 1e308, "gulf_of_finland": 1e308}, "must be <= 1000"),
        (("commands", 0, "traits", "decision_time_h"), 0, "decision_time_h: must be >= 0.1"),
        (("forces", 0, "sortie_hours"), math.inf, "must be finite"),
    ],
)
def test_absurd_values_are_refused(path, value, expected):
    data = yaml.safe_load(BALTIC)
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value
    refused(yaml.safe_dump(data), expected)


# ---------------------------------------------------------------------------------- fuzz
NASTY = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            0,
            -1,
            1e300,
            -1e300,
            1e-300,
            366,
            367,
            1000,
            "1:30",
            "²:00",
            "",
            " ",
            "${oc.env:HOME}",
            "_target_",
            None,
            True,
            [],
            {},
            "yes",
            "0x10",
            "24:00",
            "23:59",
        ]
    ),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


def _paths(data, prefix=()):
    """Every path to a value in the parsed file."""
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, (*prefix, i))


PARSED = {name: yaml.safe_load(path.read_text()) for name, path in LIBRARY.items()}
PATHS = {name: [p for p in _paths(data) if p] for name, data in PARSED.items()}


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(PARSED)))
    data = copy.deepcopy(PARSED[name])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS[name]))
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()) or not isinstance(node, dict):
                node[path[-1]] = draw(NASTY)
            else:
                node.pop(path[-1], None)
        except (KeyError, IndexError, TypeError):
            continue
    text = yaml.safe_dump(data, allow_unicode=True)
    return draw(st.one_of(st.just(text), long_number(text), alias_key(text)))


@st.composite
def long_number(draw, text: str):
    """A number of any length (up to 6,000 characters: past Python's 4,300-digit limit) in place of a value."""
    lines = text.splitlines()
    numeric = [k for k, line in enumerate(lines) if re.match(r"^\s*(- )?[a-z_]+: [-0-9.]", line)]
    if not numeric:
        return text
    k = draw(st.sampled_from(numeric))
    digits = "9" * draw(st.integers(1, 6000))
    number = draw(st.sampled_from([digits, f"-{digits}", f"0.{digits}", f"{digits}.5", f"1e{digits}", f"{digits}e-9"]))
    lines[k] = lines[k].split(": ", 1)[0] + ": " + number
    return "\n".join(lines) + "\n"


@st.composite
def alias_key(draw, text: str):
    """An anchored key reused as a key through an alias (``*hk : 300``): a duplicate the parser cannot see."""
    lines = text.splitlines()
    keys = [k for k, line in enumerate(lines) if re.match(r"^[a-z_]+: ", line)]
    if not keys:
        return text
    k = draw(st.sampled_from(keys))
    key = lines[k].split(": ", 1)[0]
    lines[k] = f"&hk {key}: " + lines[k].split(": ", 1)[1]
    lines.insert(draw(st.integers(k + 1, len(lines))), f"*hk : {draw(st.integers(-5, 500))}")
    return "\n".join(lines) + "\n"


def _in_range(spec) -> None:
    numbers = [spec.horizon_h, *spec.baseline_tension.values(), *spec.baseline_trust.values()]
    for f in spec.forces:
        assert (
            0 <= f.sorties_per_day <= BOUNDS["sorties_per_day"][1] and 0 < f.sortie_hours <= BOUNDS["sortie_hours"][1]
        )
        assert 0 < sum(f.patrol.values()) <= len(f.patrol) * BOUNDS["patrol_weight"][1]
        numbers += [f.traits.aggressiveness, f.traits.rule_adherence]
    for a in spec.actors:
        assert a.traits.decision_time_h >= BOUNDS["decision_time_h"][0]
    for e in spec.exercises:
        assert 0 < e.duration_h <= 366 * 24 and 0 <= e.troops <= BOUNDS["troops"][1]
    assert all(math.isfinite(x) for x in numbers)
    assert 0 < spec.horizon_h <= 366 * 24


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=mutated())
def test_mutated_library_files_are_refused_cleanly_or_run_in_range(text, params):
    start = time.perf_counter()
    try:
        spec = parse_scenario(text, "fuzz.yaml")
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml: ") and "\n" not in message and "Traceback" not in message
        assert time.perf_counter() - start < 2.0
        return
    _in_range(spec)
    model = EscalationModel(spec, params, seed=0, record_events=True)
    model.run_until(min(spec.horizon_h, 72.0))
    assert 0 <= model.peak_rung <= 7 and time.perf_counter() - start < 10.0
