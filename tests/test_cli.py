"""The `escalation` command in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.run.output import hourly_from_changes, read_changes
from sim.run.paths import CONF_DIR
from sim.run.scenario_io import library

EXE = Path(sys.executable).with_name("escalation")


def escalation(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_run_writes_every_output_and_prints_a_verdict(tmp_path):
    out = tmp_path / "run"
    proc = escalation(
        "run",
        "replications=6",
        "workers=1",
        "seed=3",
        "measures.hotline.enabled=true",
        "output.hourly_csv=true",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "P(peak rung >= 4" in proc.stdout and "Verdict:" in proc.stdout
    for name in (
        "replications.csv",
        "timeseries.parquet",
        "timeseries.csv",
        "events.jsonl",
        "summary.json",
        "escalation_curve.png",
    ):
        assert (out / name).stat().st_size > 0, name
    reps = pd.read_csv(out / "replications.csv")
    assert list(reps["replication"]) == list(range(6))
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 6 * (30 * 24 + 1) and ts["rung"].between(0, 7).all()
    # The hourly table is the change points resampled: the same rung at every hour, the same tension.
    changes, relax = read_changes(out / "timeseries.parquet")
    assert list(changes.columns) == [
        "replication",
        "time_h",
        "rung",
        "tension_nato",
        "tension_russia",
        "trust_nato",
        "trust_russia",
    ]
    assert relax is not None and relax.horizon_h == 30 * 24
    pd.testing.assert_frame_equal(hourly_from_changes(changes, relax), ts, check_dtype=False, atol=1e-5, rtol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["measures"] == ["hotline"] and summary["replications"] == 6
    lo, hi = summary["outcomes"]["p_peak_rung_ge_4"]["ci95"]
    assert 0 <= lo <= summary["outcomes"]["p_peak_rung_ge_4"]["estimate"] <= hi <= 1
    first = json.loads((out / "events.jsonl").read_text().splitlines()[0])
    assert {
        "time_h",
        "clock",
        "kind",
        "actors",
        "zone",
        "type",
        "severity",
        "perceived_severity",
        "channel",
        "response",
        "text",
    } <= set(first)
    assert (out / ".hydra" / "config.yaml").exists()  # the saved config re-runs the job exactly


@pytest.mark.slow
def test_rerun_from_saved_config_gives_identical_results(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert (
        escalation(
            "run",
            "replications=3",
            "workers=1",
            "seed=5",
            "scenario=black_sea_transit",
            f"hydra.run.dir={first}",
            cwd=tmp_path,
        ).returncode
        == 0
    )
    proc = escalation(
        "run", f"--config-path={first / '.hydra'}", "--config-name=config", f"hydra.run.dir={second}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert (first / "replications.csv").read_bytes() == (second / "replications.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("measures.hotline.latncy_h=1", "latncy_h"),
        ("replications=abc", "replications"),
        ("scenario=atlantis", "scenario=atlantis: there is no scenario 'atlantis' (valid: baltic_air_policing"),
        ("replications=0", "replications must be between 1 and"),
        ("seed=-1", "seed must be a whole number from 0"),
        ("model.tension_relax_h=0", "model.tension_relax_h=0 is out of range: must be in (0, 100000]"),
        ("model.rung_hold_h=-5", "model.rung_hold_h=-5 is out of range"),
        ("model.severity_sd=nan", "model.severity_sd: must be a finite number"),
        ("measures.hotline.latency_h=inf", "measures.hotline.latency_h: must be a finite number"),
        (
            "measures.unilateral_restraint.initiator=nowhere",
            "initiator=nowhere is not allowed: must be one of nato, russia",
        ),
        ("scenario_file=/nonexistent/mine.yaml", "/nonexistent/mine.yaml: no such file"),
    ],
)
def test_bad_override_gets_one_line_and_exit_code_2(tmp_path, override, expected):
    proc = escalation("run", override, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("escalation: error:") and expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_bad_scenario_file_named_in_error_and_no_output(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nhorizon_days: -3\n")
    proc = escalation("run", f"scenario_file={bad}", cwd=tmp_path)
    assert proc.returncode == 2 and f"{bad}:" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_scenarios_and_measures_listings(tmp_path):
    """The listings (README: `escalation scenarios`, `escalation measures [NAME]`): one line per library scenario
    (name, title, horizon), every catalogue measure headed by its name and title with its parameters, and one-line
    errors with exit code 2.
    """
    proc = escalation("scenarios", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == list(library())  # every scenario of the library, in order
    assert lines[0] == "baltic_air_policing      Baltic Air Policing and the Kaliningrad transits (30 days)"
    assert lines[1] == "black_sea_transit        NATO warship transit near Crimea (21 days)"
    assert lines[3] == "drone_shootdown          A US drone brought down over the Black Sea (14 days)"

    proc = escalation("scenarios", "show", "black_sea_transit", cwd=tmp_path)
    assert proc.returncode == 0 and "[inject" not in proc.stdout
    shown = proc.stdout.splitlines()
    assert shown[0] == "NATO warship transit near Crimea (black_sea_transit)"
    assert (
        "era: confrontation_2014   horizon: 21 days   baseline tension NATO 0.45 / Russia 0.50, trust 0.15 / 0.15"
        in shown
    )
    assert "  sevastopol_waters        Waters off Cape Fiolent and Sevastopol (russia, sea, 44.45N 33.30E)" in shown
    assert any(ln.startswith("  day 6 09:30") for ln in shown)  # the inject's time as players read it

    high_north = Path(__file__).parents[1] / "scenarios" / "high_north.yaml"
    proc = escalation("scenarios", "check", str(high_north), cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (
        0,
        f"{high_north}: ok (Encounters in the High North: 8 zones, 7 forces, 1 exercises, 1 injects, 30 days)\n",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndescription: y\n")
    proc = escalation("scenarios", "check", str(bad), cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2,
        "",
        f"escalation: error: {bad}: horizon_days: missing required field\n",
    )

    proc = escalation("measures", cwd=tmp_path)
    assert proc.returncode == 0
    catalogue = sorted(p.stem for p in (CONF_DIR / "measures" / "catalogue").glob("*.yaml"))
    heads = [ln.split("  -  ")[0] for ln in proc.stdout.splitlines() if "  -  " in ln and not ln.startswith(" ")]
    assert heads == catalogue
    hotline = proc.stdout.split("\nhotline  -  ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert hotline[0] == "Political hotline (incl. cyber-incident use)"
    assert hotline[1].startswith(
        '    source:    European Leadership Network, "The Expert Dialogue on NATO-Russia Risk Reduction. Seven '
        'Recommendations" (February 2022), recommendation 2;'
    )  # cited by title, not by file name
    assert hotline[3:] == [
        "    latency_h = 0.5 [h]",
        "    availability = 0.9 [probability]",
        "    quality = 0.8 [weight 0-1]",
    ]

    proc = escalation("measures", "unilateral_restraint", cwd=tmp_path)
    assert proc.returncode == 0
    shown = proc.stdout.splitlines()
    assert shown[0] == "Parallel unilateral measures (reciprocated restraint) (`unilateral_restraint`)"
    assert "| parameter | default | unit | range | meaning | basis |" in shown
    assert (
        "| `patience_days` | 9 | days | (0, 366] | without reciprocation after which the initiator withdraws its steps "
        "| assumption: three unanswered steps |"
    ) in shown

    proc = escalation("measures", "nope", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"escalation: error: unknown measure 'nope' (measures: {', '.join(catalogue)})\n"
    proc = escalation("frobnicate", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith(
        "escalation: error: unknown command 'frobnicate' (commands: run,"
    )
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_version_has_one_source(tmp_path):
    import tomllib

    declared = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["version"]
    proc = escalation("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"escalation {declared}"


@pytest.mark.parametrize(
    "override, said",
    [
        ("measures.hotlin.enabled=true", "there is no measure 'hotlin' (did you mean hotline?)"),
        ("scenario=baltc", "there is no scenario 'baltc' (did you mean baltic_air_policing?)"),
        ("measures=eln_sevn", "there is no measure bundle 'eln_sevn' (did you mean eln_seven?)"),
        ("era=crisis_2020", "there is no era 'crisis_2020' (did you mean crisis_2022?)"),
        ("model.encounter_rate=3", "there is no setting 'encounter_rate' in model (did you mean encounter_rate_per_h"),
        ("replicatons=5", "there is no setting 'replicatons' (did you mean replications?)"),
    ],
)
def test_a_misspelt_name_is_said_in_the_users_words_with_the_nearest_valid_names(override, said):
    """Hydra says "Key 'hotlin' not in 'MeasuresConf'"; the user reads what is wrong and what was meant."""
    from hydra import compose, initialize_config_dir

    from sim.run.config import describe_hydra_error, register_configs
    from sim.run.paths import CONF_DIR

    register_configs()
    with pytest.raises(Exception) as caught, initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        compose("config", overrides=[override])
    message = describe_hydra_error(caught.value)
    assert said in message and "Conf'" not in message


@pytest.mark.slow
def test_a_misspelt_measure_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    proc = escalation("run", "measures.hotlin.enabled=true", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "escalation: error: measures.hotlin.enabled: there is no measure 'hotlin' (did you mean hotline?)"
    )
    assert not (tmp_path / "outputs").exists()


def test_a_run_composes_its_configuration_twice_and_an_experiments_mode_still_counts(tmp_path, monkeypatch):
    """The command's check composes the configuration once and Hydra once to run it: Hydra's own compose that only
    reads ``hydra.mode`` (Hydra.get_mode) answers from the check's (0.14 s a run, issue 29) and is restored after.
    An experiment's ``hydra.mode: MULTIRUN`` is still read: without -m it runs as a sweep, one folder a job, and
    the command holds the sweep's folder (as with -m), not an empty run folder.
    """
    from hydra._internal.hydra import Hydra

    from sim.cli import main

    original_mode, original_compose = Hydra.get_mode, Hydra.compose_config
    composed = []

    def counted(self, *args, **kwargs):
        composed.append(kwargs.get("run_mode"))
        return original_compose(self, *args, **kwargs)

    monkeypatch.setattr(Hydra, "compose_config", counted)
    args = ["replications=2", "workers=1", "output.report=false", "output.plot=false"]
    assert main(["run", *args, f"hydra.run.dir={tmp_path / 'one'}"]) == 0
    assert len(composed) == 2, composed  # the check's and the run's; three before
    assert Hydra.get_mode is original_mode
    assert (tmp_path / "one" / "summary.json").is_file()
    sweep = tmp_path / "sweep"
    plain = tmp_path / "plain"  # the folder a single run would use: the sweep's folder is held instead
    assert (
        main(
            [
                "run",
                "+experiment=era_comparison",
                *args,
                "measures=none",
                f"hydra.sweep.dir={sweep}",
                f"hydra.run.dir={plain}",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in sweep.iterdir() if (p / "summary.json").is_file()) == ["0", "1", "2"]
    assert (sweep / ".escalation.lock").is_file() and not plain.exists()
    assert Hydra.get_mode is original_mode


def test_a_single_run_saves_the_configuration_hydras_own_compose_saves(tmp_path, monkeypatch):
    """A single run's compose is answered from the command's check (issue 29): the run composes once, and the
    configuration it saves (``.hydra/config.yaml``, ``hydra.yaml``, ``overrides.yaml``) is, byte for byte (its
    folder's name aside), the one Hydra's own compose saves; on a command line with flags Hydra composes.
    """
    import contextlib

    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    import sim.cli
    from sim.cli import main

    original = ConfigLoaderImpl.load_configuration
    loads = []

    def counted(self, *args, **kwargs):
        loads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counted)
    base = ["replications=2", "workers=1", "output.report=false", "output.plot=false"]
    cases = [
        base,
        [*base, "scenario=black_sea_transit", "era=crisis_2022", "measures=hotline", "seed=7"],
        [*base, "hydra.job.chdir=false", "hydra.verbose=false", "model.violation_rate_per_h=0.002"],
    ]
    cases.append(["HYDRA_MAIN_MODULE=my.app", *base])  # Hydra names the job after that module: "app"
    for k, args in enumerate(cases):
        saved = {}
        env = [a.split("=", 1) for a in args if a.startswith("HYDRA_MAIN_MODULE=")]
        args = [a for a in args if not a.startswith("HYDRA_MAIN_MODULE=")]
        for way in ("hydra", "reused"):
            if way == "hydra":  # Hydra's own compose for the run
                monkeypatch.setattr(sim.cli, "_reuse_the_checks_composition", lambda mode: contextlib.nullcontext())
            else:
                monkeypatch.undo()
                monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counted)
            for name, value in env:
                monkeypatch.setenv(name, value)
            loads.clear()
            run = tmp_path / f"{way}{k}"
            assert main(["run", *args, f"hydra.run.dir={run}"]) == 0
            assert len(loads) == (2 if way == "hydra" else 1), (way, args)  # with the check's
            assert ConfigLoaderImpl.load_configuration is counted  # restored after the run
            assert not sim.cli.COMPOSED  # not kept after the run
            saved[way] = {
                name: (run / ".hydra" / name).read_text().replace(str(run), "RUN")
                for name in ("config.yaml", "hydra.yaml", "overrides.yaml")
            }
        assert saved["reused"] == saved["hydra"], args
        if env:
            assert "name: app" in saved["reused"]["hydra.yaml"]
    monkeypatch.delenv("HYDRA_MAIN_MODULE")
    loads.clear()
    run = tmp_path / "flagged"
    assert main(["run", "--run", *base, f"hydra.run.dir={run}"]) == 0  # a flag: Hydra composes for itself
    assert len(loads) == 2 and (run / "summary.json").is_file()


def test_a_saved_configuration_rerun_keeps_its_own_hydra_mode(tmp_path):
    """`escalation run --config-path=RUN/.hydra --config-name=config` runs the saved configuration, whose
    ``hydra.mode`` the command's check (on the library's configuration) never composed: Hydra reads it itself.
    A saved configuration that asks for a sweep of two seeds runs two jobs (a single run would drop the sweep).
    """
    import yaml

    from sim.cli import main

    args = ["replications=2", "workers=1", "output.report=false", "output.plot=false"]
    assert main(["run", *args, f"hydra.run.dir={tmp_path / 'first'}"]) == 0
    saved = yaml.safe_load((tmp_path / "first" / ".hydra" / "config.yaml").read_text())
    saved["hydra"] = {"mode": "MULTIRUN", "sweeper": {"params": {"seed": "1,2"}}}
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text(yaml.safe_dump(saved))
    sweep = tmp_path / "sweep"
    assert (
        main(
            [
                "run",
                f"--config-path={conf}",
                "--config-name=config",
                f"hydra.sweep.dir={sweep}",
                f"hydra.run.dir={tmp_path / 'plain'}",
            ]
        )
        == 0
    )
    seeds = sorted(json.loads((job / "summary.json").read_text())["seed"] for job in sweep.iterdir() if job.is_dir())
    assert seeds == [1, 2] and not (tmp_path / "plain" / "summary.json").exists()
