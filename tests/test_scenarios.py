"""Scenario files: the library loads; a bad file is reported naming the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.run.paths import REPO_ROOT
from sim.run.scenario_io import ScenarioError, library, load_scenario, parse_scenario

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
        (
            lambda d: d["channels"][0].update(between=["nato_nac", "nato_aircom"]),
            "channels[0].between",
            "join the two sides",
        ),
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


# ---------------------------------------------------------------------------------- format versions
FORMAT1 = Path(__file__).parent / "data" / "format1_black_sea_transit.yaml"


def test_a_first_format_file_loads_converted_with_a_one_line_notice():
    spec = load_scenario(FORMAT1)
    assert spec.format_version == 3 and len(spec.notices) == 1
    notice = spec.notices[0]
    assert "format 1 scenario converted to format 3" in notice and "\n" not in notice
    assert "nato_destroyer" in notice and "member: allied" in notice and "vienna_document" in notice
    assert {f.member for f in spec.forces if f.side.value == "nato"} == {"allied"}
    assert {f.member for f in spec.forces if f.side.value == "russia"} == {"ru"}
    assert spec.agreements == ("vienna_document", "incsea_bilateral")


def test_a_first_format_file_runs_and_the_cli_says_what_it_assumed(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "scenarios", "check", str(FORMAT1)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("\n") == 1 and "converted to format 3" in proc.stderr
    assert proc.stdout.startswith(f"{FORMAT1}: ok")


def test_the_library_is_in_the_current_format_with_every_nato_force_naming_its_nation(scenarios):
    for spec in scenarios.values():
        assert spec.format_version == 3 and not spec.notices
        assert all(f.member not in ("", "allied") for f in spec.forces)


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda d: d["forces"][0].pop("member"), "forces[0].member", "a NATO force needs its nation"),
        (lambda d: d["forces"][0].update(member="xx"), "forces[0].member", "must be one of"),
        (lambda d: d.update(format=4), "format", "must be 1, 2 or 3"),
        (lambda d: d.update(agreements=["start"]), "agreements[0]", "must be one of vienna_document"),
        (
            lambda d: d["theatre"]["zones"][0].update(member="ee"),
            "theatre.zones[0].member",
            "only a zone owned by nato",
        ),
    ],
)
def test_second_format_fields_are_checked(edit, field, problem):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(mutate(edit), "mine.yaml")
    assert f"mine.yaml: {field}: " in str(info.value) and problem in str(info.value)


def test_a_second_format_file_loads_with_a_one_line_notice_and_no_validity_limits():
    text = (REPO_ROOT / "scenarios" / "baltic_air_policing.yaml").read_text().replace("format: 3 ", "format: 2 ", 1)
    text = "\n".join(line for line in text.splitlines() if "air_defence_km" not in line)
    spec = parse_scenario(text, "old.yaml")
    assert spec.format_version == 3 and len(spec.notices) == 1 and "\n" not in spec.notices[0]
    assert "old.yaml: format 2 scenario read as format 3" in spec.notices[0]
    assert spec.max_horizon_h == 366 * 24 and spec.valid_eras == ()


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda d: d.update(valid_for={"max_days": 20}), "horizon_days", "beyond valid_for.max_days (20)"),
        (lambda d: d.update(valid_for={"eras": ["crisis_2022"]}), "era", "not among the eras"),
        (lambda d: d["injects"][0].update(victim="nowhere"), "injects[0].victim", "nowhere"),
        (
            lambda d: d["injects"][0].update(victim=d["injects"][0]["initiator"]),
            "injects[0].victim",
            "initiator's own side",
        ),
        (lambda d: d["injects"][0].update(consequence="hit"), "injects[0].victim", "need a victim"),
        (
            lambda d: d["injects"][0].update(consequence="sunk", victim="nato_typhoons"),
            "injects[0].consequence",
            "must be one of none, hit, shot_down",
        ),
        (lambda d: d["forces"][0].update(air_defence_km=-1), "forces[0].air_defence_km", ""),
    ],
)
def test_third_format_fields_are_checked(edit, field, problem):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(mutate(edit), "mine.yaml")
    assert f"mine.yaml: {field}" in str(info.value) and problem in str(info.value)
    assert "\n" not in str(info.value)


def test_a_run_beyond_a_scenarios_valid_horizon_or_era_is_refused_in_one_line(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "card",
            "--scenarios",
            "black_sea_transit",
            "--days",
            "365",
            "--out",
            str(tmp_path / "card"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "black_sea_transit is valid for at most 21 days" in proc.stderr
    assert not (tmp_path / "card").exists()
