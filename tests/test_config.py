"""Every config in conf/ composes through Hydra's compose API; bad keys and types fail by name."""

from __future__ import annotations

import pytest
from conftest import compose_config
from hydra.errors import ConfigCompositionException

from sim.config import model_params
from sim.paths import CONF_DIR
from sim.scenario_io import library

BUNDLES = sorted(p.stem for p in (CONF_DIR / "measures").glob("*.yaml"))


@pytest.mark.parametrize("bundle", BUNDLES)
def test_every_measures_config_composes(bundle):
    cfg = compose_config([f"measures={bundle}"])
    assert set(cfg.measures) >= {"hotline", "mil_to_mil_meetings", "exercise_distance_rule", "incidents_at_sea"}


@pytest.mark.parametrize("scenario", sorted(library()))
def test_every_scenario_is_a_group_option(scenario):
    assert compose_config([f"scenario={scenario}"]).scenario.name == scenario


def test_model_config_fills_every_parameter():
    params = model_params(compose_config(["model=default"]))
    assert params.political_approval_rung == 3 and set(params.severity_base) >= {
        "air_intercept",
        "exercise_near_border",
    }


def test_documented_overrides_work():
    cfg = compose_config(["measures.hotline.enabled=true", "replications=200", "seed=7"])
    assert cfg.measures.hotline.enabled and cfg.replications == 200 and cfg.seed == 7
    assert not any(v.enabled for v in compose_config(["measures=none"]).measures.values())


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("measures.hotline.latncy_h=1", "latncy_h"),
        ("model.w_severity=abc", "w_severity"),
        ("replicatons=3", "replicatons"),
        ("seed=seven", "seed"),
    ],
)
def test_misspelt_keys_and_wrong_types_fail_naming_the_key(override, named):
    with pytest.raises(ConfigCompositionException) as info:
        compose_config([override])
    assert named in str(info.value)
