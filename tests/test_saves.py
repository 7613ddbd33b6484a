"""Save files are untrusted: they may carry a scenario, an era, measures, model values, a seed and moves, nothing else.

Each attack below worked against the first save format (a dropped game.json read server files,
resolved environment variables, or crashed the loader with a traceback).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.play.game import Game
from sim.play.saves import SAVE_FORMAT, compose_settings, parse_save, read_save, settings_from_save
from sim.run.errors import UserError

SECRET = "ghp_THIS_IS_A_SECRET_TOKEN_123"


def v1(overrides, **extra) -> bytes:
    save = {
        "format": "escalation-game/1",
        "scenario": "baltic_air_policing",
        "side": "nato",
        "seed": 0,
        "overrides": overrides,
        "commands": [],
        **extra,
    }
    return json.dumps(save).encode()


def v2(**fields) -> dict:
    return {
        "format": SAVE_FORMAT,
        "scenario": "baltic_air_policing",
        "era": None,
        "measures": {},
        "model": {},
        "seed": 0,
        "side": "nato",
        "time_h": 0.0,
        "commands": [],
        **fields,
    }


def refused(raw: bytes, expected: str) -> str:
    with pytest.raises(UserError) as info:
        save = parse_save(raw, "game.json")
        settings_from_save(save, "game.json")
    message = str(info.value)
    assert message.startswith("game.json: ") and "\n" not in message and expected in message, message
    assert SECRET not in message
    return message


def test_a_save_cannot_name_a_server_file(tmp_path, monkeypatch):
    secret = tmp_path / "token.txt"
    secret.write_text(SECRET)
    for value in (str(secret), "/dev/zero", "/etc/passwd"):
        refused(v1([f"scenario_file={value}"]), "overrides[0]: not allowed in a save file")
    refused(json.dumps(v2(scenario_file=str(secret))).encode(), "unknown field")
    refused(json.dumps(v2(scenario=str(secret))).encode(), "is not a scenario of the library")


def test_a_save_cannot_resolve_the_environment_or_set_hydra(monkeypatch):
    monkeypatch.setenv("ESCALATION_TEST_SECRET", SECRET)
    refused(v1(["model.encounter_rate_per_h=${oc.env:ESCALATION_TEST_SECRET}"]), "not allowed in a save file")
    refused(v1(["hydra.run.dir=/tmp/x"]), "not allowed in a save file")
    refused(v1(["+experiment=sensitivity"]), "not allowed in a save file")
    refused(
        json.dumps(v2(measures={"hotline": {"latency_h": "${oc.env:ESCALATION_TEST_SECRET}"}})).encode(), "plain name"
    )
    refused(json.dumps(v2(model={"encounter_rate_per_h": SECRET})).encode(), "must be a number")


def test_arbitrary_or_out_of_range_parameters_are_refused():
    refused(json.dumps(v2(model={"no_such_parameter": 1.0})).encode(), "is not a model parameter")
    refused(json.dumps(v2(model={"tension_relax_h": 0})).encode(), "out of range")
    refused(json.dumps(v2(measures={"hotline": {"latency_h": -1}})).encode(), "out of range")
    refused(json.dumps(v2(measures={"teleporter": {}})).encode(), "is not a measure")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (json.dumps(v2(seed=-1)).encode(), "seed: must be a whole number from 0 to 2^63-1"),
        (b'{"format": "escalation-game/2", "seed": ' + b"9" * 5000 + b"}", "not a save file"),
        (json.dumps(v2(seed=2**70)).encode(), "seed: must be a whole number"),
        (json.dumps(v2(seed=1.5)).encode(), "seed: must be a whole number"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not a save file"),
        (v1([1, 2, 3]), "overrides[0]: not allowed"),
        (json.dumps(v2(seed=float("nan"))).encode(), "not a save file"),
        (json.dumps(v2(commands=[{"op": "advance", "until": 1e300}])).encode(), "commands[0].until"),
        (
            json.dumps(
                v2(
                    commands=[
                        {
                            "op": "inject",
                            "type": "x",
                            "initiator": "y",
                            "zone": "z",
                            "severity": 0.5,
                            "deliberate": True,
                            "extra": SECRET,
                        }
                    ]
                )
            ).encode(),
            "not a field",
        ),
        (json.dumps([SECRET]).encode(), "expected a JSON object"),
    ],
)
def test_malformed_saves_get_one_line_naming_the_file(raw, expected):
    refused(raw, expected)


def test_read_save_refuses_special_and_huge_files(tmp_path):
    with pytest.raises(UserError, match="not a regular file"):
        read_save(Path("/dev/zero"))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 3_000_000)
    with pytest.raises(UserError, match="too large"):
        read_save(big)


def test_a_game_from_a_users_file_embeds_the_scenario_and_replays_exactly(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text((Path(__file__).parents[1] / "scenarios" / "black_sea_transit.yaml").read_text())
    game = Game(
        compose_settings(
            [f"scenario_file={mine}", "measures=eln_seven", "model.encounter_rate_per_h=0.2"], "both", seed=4
        )
    )
    while game.advance(24 * 5) is not None:
        game.decide("hold")
    game.save(tmp_path / "game.json")
    mine.unlink()  # the save does not need the file any more
    content = json.loads((tmp_path / "game.json").read_text())
    assert "scenario_data" in content and "overrides" not in content and str(mine) not in json.dumps(content)
    assert content["model"] == {"encounter_rate_per_h": 0.2} and "hotline" in content["measures"]
    save = read_save(tmp_path / "game.json")
    loaded = Game.replay(settings_from_save(save, "game.json"), save["commands"])
    assert loaded.events == game.events and loaded.time_h == game.time_h


def test_a_first_format_save_still_loads_and_replays_the_same_game(tmp_path):
    game = Game(
        compose_settings(
            ["scenario=black_sea_transit", "measures=eln_seven", "measures.hotline.latency_h=2"], "nato", seed=2
        )
    )
    while game.advance(24 * 6) is not None:
        game.decide("protest")
    old = {
        "format": "escalation-game/1",
        "scenario": "black_sea_transit",
        "side": "nato",
        "seed": 2,
        "overrides": ["scenario=black_sea_transit", "measures=eln_seven", "measures.hotline.latency_h=2"],
        "time_h": game.time_h,
        "commands": game.commands,
    }
    save = parse_save(json.dumps(old).encode(), "old.json")
    loaded = Game.replay(settings_from_save(save, "old.json"), save["commands"])
    assert loaded.events == game.events
