"""Every config in conf/ composes through Hydra's compose API; bad keys and types fail by name."""

from __future__ import annotations

import pytest
from conftest import compose_config
from hydra.errors import ConfigCompositionException

from sim.run.config import model_params
from sim.run.paths import CONF_DIR
from sim.run.scenario_io import library

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


def _verb_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="escalation card")
    parser.add_argument("--bundles", default="eln_seven")
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--parameters", choices=["posterior", "point"], default="posterior")
    parser.add_argument("--out", default="outputs/card")
    return parser


def test_an_analysis_experiment_sets_the_defaults_and_flags_override(tmp_path, monkeypatch):
    import sim.run.config as config

    monkeypatch.setattr(config, "ANALYSIS_DIR", tmp_path)
    (tmp_path / "mine.yaml").write_text(
        "verb: card\noptions:\n  bundles: [hotline, eln_seven]\n  replications: 40\n  parameters: point\n"
    )
    (tmp_path / "other.yaml").write_text("verb: discover\noptions: {samples: 10}\n")
    assert config.analysis_experiments("card") == ["mine"]
    ns = config.parse_with_experiment(_verb_parser(), ["--experiment", "mine"], "card")
    assert (ns.bundles, ns.replications, ns.parameters, ns.out) == ("hotline,eln_seven", 40, "point", "outputs/card")
    ns = config.parse_with_experiment(_verb_parser(), ["--experiment", "mine", "--replications", "12"], "card")
    assert ns.replications == 12 and ns.parameters == "point"
    ns = config.parse_with_experiment(_verb_parser(), [], "card")
    assert ns.replications == 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{replicatoins: 4}", r"conf/analysis/bad.yaml: options.replicatoins: not an option of escalation card"),
        ("{replications: many}", r"options.replications: 'many' is not a valid value"),
        ("{replications: true}", r"options.replications: True is not a number or text"),
        ("{parameters: both}", r"options.parameters: 'both' is not one of posterior, point"),
        ("{bundles: {a: 1}}", r"options.bundles: .* is not a number or text"),
    ],
)
def test_a_bad_analysis_experiment_is_refused_naming_file_and_field(tmp_path, monkeypatch, options, message):
    import sim.run.config as config
    from sim.run.errors import UserError

    monkeypatch.setattr(config, "ANALYSIS_DIR", tmp_path)
    (tmp_path / "bad.yaml").write_text(f"verb: card\noptions: {options}\n")
    with pytest.raises(UserError, match=message):
        config.parse_with_experiment(_verb_parser(), ["--experiment", "bad"], "card")


def test_an_analysis_experiment_is_a_name_never_a_path():
    import sim.run.config as config
    from sim.run.errors import UserError

    with pytest.raises(UserError, match="no card experiment '../conf/config'"):
        config.parse_with_experiment(_verb_parser(), ["--experiment", "../conf/config"], "card")


@pytest.mark.parametrize(
    ("verb", "flag", "after"),
    [
        ("card", "--replications=5", "--replications must be between 10"),
        ("discover", "--samples=5", "--samples must be 10"),
        ("variance", "--samples=3", "--samples must be a power of 2"),
    ],
)
def test_each_analysis_verb_has_an_experiment_its_parser_takes(verb, flag, after, capsys):
    """The shipped experiments parse with their verbs' real parsers: the run stops only at a later check."""
    import sim.run.config as config
    from sim.cli import main

    names = config.analysis_experiments(verb)
    assert names, verb
    for name in names:
        assert main([verb, "--experiment", name, flag]) == 2
        err = capsys.readouterr().err
        assert after in err and "conf/analysis" not in err, err
