"""Scenario files: the library loads; a bad file is reported naming the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.scenario_io import ScenarioError, library, load_scenario, parse_scenario

BALTIC = library()["baltic_air_policing"]


def test_library_scenarios_load_and_cite_sources(scenarios):
    assert {"baltic_air_policing", "black_sea_transit"} <= set(scenarios)
    for spec in scenarios.values():
        assert spec.sources and spec.description
        assert {f.side.value for f in spec.forces} == {"nato", "russia"}
        assert all(0 <= j.at_h < spec.horizon_h for j in spec.injects)


def mutate(edit) -> str:
    data = yaml.safe_load(BALTIC.read_text())
    edit(data)
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda d: d["forces"][0].update(base="atlantis"), "forces[0].base", "unknown zone 'atlantis'"),
        (lambda d: d["forces"][1].update(sorties_per_day=-1), "forces[1].sorties_per_day", "must be >= 0"),
        (lambda d: d["injects"][0].update(day=40), "injects[0].day", "after the horizon"),
        (lambda d: d["forces"][1].update(id="nato_typhoons"), "forces[1].id", "duplicate id"),
        (lambda d: d["injects"][0].update(deliberate="yes"), "injects[0].deliberate", "expected true or false"),
        (lambda d: d.pop("sources"), "sources", "missing required field"),
        (lambda d: d["forces"][0]["traits"].update(agression=0.3), "forces[0].traits.agression", "unknown field"),
        (lambda d: d["theatre"]["zones"][0].update(lat=95), "theatre.zones[0].lat", "must be <= 90"),
        (lambda d: d["channels"][0].update(between=["nato_nac", "nato_aircom"]), "channels[0].between", "join the two sides"),
        (lambda d: d["injects"][0].update(initiator="ru_kremlin"), "injects[0].initiator", "unknown force"),
        (lambda d: d.update(horizon_days="thirty"), "horizon_days", "expected a number"),
    ],
)
def test_bad_fields_name_file_field_and_problem(edit, field, problem):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(mutate(edit), "mine.yaml")
    message = str(info.value)
    assert message.startswith(f"mine.yaml: {field}: ") and problem in message
    assert "\n" not in message


def test_bad_yaml_and_missing_file(tmp_path: Path):
    with pytest.raises(ScenarioError, match=r"^mine.yaml: line 2: not valid YAML"):
        parse_scenario("name: x\n  bad: [", "mine.yaml")
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['echo hi']\n",
        "name: !custom x\n",
        "description: ${oc.env:HOME}\n",
        "_target_: os.system\n",
    ],
)
def test_files_that_would_run_code_are_refused(text):
    with pytest.raises(ScenarioError, match="not allowed"):
        parse_scenario(text, "evil.yaml")
