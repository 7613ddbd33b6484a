"""Sweeps: experiments compose, launchers agree byte for byte, aggregation is right, jobs are robust."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import compose_config

from sim.analysis import effects as analysis
from sim.core.measures import registry
from sim.run.paths import EXPERIMENTS_DIR
from sim.studies.compare import compare

EXE = Path(sys.executable).with_name("escalation")
EXPERIMENTS = sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))


def escalation(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_states_its_question(name):
    cfg = compose_config([f"+experiment={name}"])
    header = (EXPERIMENTS_DIR / f"{name}.yaml").read_text()
    assert header.startswith("# @package _global_") and "# Question:" in header and "# Run:" in header
    assert cfg.replications >= 100


def test_factorial_is_two_to_the_seven_over_the_recommendations():
    params = yaml.safe_load((EXPERIMENTS_DIR / "eln_seven_factorial.yaml").read_text())["hydra"]["sweeper"]["params"]
    assert sorted(params) == [f"+eln_rec{k}" for k in range(1, 8)] and all(v == "off,on" for v in params.values())
    on3 = compose_config(["+eln_rec3=on"])
    assert {m for m, v in on3.measures.items() if v.enabled} == {
        "exercise_distance_rule",
        "exercise_notification",
        "reduced_exercise_scale",
    }
    every = compose_config([f"+eln_rec{k}=on" for k in range(1, 8)])
    assert {m for m, v in every.measures.items() if v.enabled} == {
        m for m, c in registry().items() if "000" in c.source
    }


def _fake_job(folder: Path, overrides: list[str], rows: list[dict]) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    pd.DataFrame(rows).to_csv(folder / "replications.csv", index=False)
    (folder / "summary.json").write_text("{}")


def _rows(peaks: list[int]) -> list[dict]:
    return [
        {
            "replication": i,
            "seed": 0,
            "peak_rung": p,
            "reached_rung_4": int(p >= 4),
            "reached_rung_5": int(p >= 5),
            "crisis_days": float(p),
            "incidents": 10,
        }
        for i, p in enumerate(peaks)
    ]


def test_aggregation_matches_hand_computed_statistics(tmp_path):
    base = [2, 4, 3, 5, 2, 4, 2, 3]
    with_m = [2, 2, 3, 4, 2, 2, 3, 3]
    _fake_job(tmp_path / "0", ["measures=none", "replications=8"], _rows(base))
    _fake_job(tmp_path / "1", ["measures=hotline", "replications=8"], _rows(with_m))
    (tmp_path / "2" / ".hydra").mkdir(parents=True)
    (tmp_path / "2" / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump(["measures=zero_option", "replications=8"])
    )
    (tmp_path / "2" / "FAILED").write_text("ValueError: boom\n")
    out = compare(tmp_path)
    results = pd.read_parquet(out / "results.parquet")
    assert len(results) == 16 and set(results["measures"]) == {"none", "hotline"} and "replications" in results
    summary = pd.read_csv(out / "summary.csv").set_index("config")
    # Peaks >= 4 in the baseline: 4, 5, 4 = 3 of 8. Wilson by hand (z^2 = 3.841459): denominator 1 + z^2/8 =
    # 1.480182, centre (0.375 + z^2/16) / 1.480182 = 0.415551, half-width
    # z sqrt(0.375 * 0.625 / 8 + z^2/256) / 1.480182 = 0.278707: [0.136844, 0.694258].
    none = summary.loc["measures=none"]
    assert none["p_rung_ge_4"] == 0.375
    assert none["p_rung_ge_4_lo"] == pytest.approx(0.136844, abs=1e-6)
    assert none["p_rung_ge_4_hi"] == pytest.approx(0.694258, abs=1e-6)
    assert summary.loc["measures=hotline", "p_rung_ge_4"] == 0.125  # one peak of 4 in eight
    diffs = pd.read_csv(out / "paired_differences.csv").set_index("config")
    # Paired differences with - base: 0, -2, 0, -1, 0, -2, +1, 0. Mean -4/8 = -0.5; s^2 = 8/7, s = 1.069045;
    # t(0.975, 7) = 2.364624, half-width 2.364624 * 1.069045 / sqrt(8) = 0.893744: [-1.393744, 0.393744].
    hotline = diffs.loc["measures=hotline"]
    assert hotline["diff_peak_rung"] == -0.5
    assert hotline["diff_peak_rung_lo"] == pytest.approx(-1.393744, abs=5e-6)  # the CSV keeps five decimals
    assert hotline["diff_peak_rung_hi"] == pytest.approx(0.393744, abs=5e-6)
    assert hotline["backfire"] == 0.125  # one pair of eight got worse (2 -> 3)
    assert hotline["diff_reached_rung_4"] == -0.25  # (1 - 3) / 8
    md = (out / "comparison.md").read_text()
    assert "1 job(s) failed" in md and "ValueError: boom" in md


def test_factorial_effects_match_differences_of_means():
    rng = np.random.default_rng(0)
    rows = []
    for a in ("off", "on"):
        for b in ("off", "on"):
            p = 0.4 - 0.2 * (a == "on") - 0.1 * (b == "on") + 0.1 * (a == "on" and b == "on")
            for i in range(400):
                rows.append(
                    {"config": f"{a}{b}", "A": a, "B": b, "replication": i, "reached_rung_4": int(rng.random() < p)}
                )
    df = pd.DataFrame(rows)
    main, inter = analysis.factorial_effects(df, ["A", "B"])
    cell = df.groupby(["A", "B"])["reached_rung_4"].mean()
    effect_a = cell["on"].mean() - cell["off"].mean()
    assert main.set_index("term").loc["A", "effect"] == pytest.approx(effect_a)
    inter_ab = ((cell["on", "on"] - cell["off", "on"]) - (cell["on", "off"] - cell["off", "off"])) / 2
    assert inter.set_index("term").loc["A:B", "effect"] == pytest.approx(inter_ab)


@pytest.mark.slow
def test_a_crashing_job_loses_no_other_job_and_resume_skips_finished_ones(tmp_path):
    sweep = tmp_path / "sweep"
    # row 999 is outside the design: it passes composition and fails inside its job
    args = [
        "run",
        "-m",
        "+experiment=sensitivity",
        "sensitivity.trajectories=2",
        "sensitivity.row=0,999",
        "replications=3",
        "workers=1",
        f"hydra.sweep.dir={sweep}",
    ]
    proc = escalation(*args, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # a sweep with a failed job says so, with a count
    assert "1 of 2 jobs failed" in proc.stderr.splitlines()[-1]
    assert (sweep / "0" / "summary.json").exists() and not (sweep / "0" / "FAILED").exists()
    assert "outside the design" in (sweep / "1" / "FAILED").read_text()
    assert not list((sweep / "1").glob("*.csv")) and not list((sweep / "1").glob(".*.tmp"))
    stamp = (sweep / "0" / "replications.csv").stat().st_mtime_ns
    proc = escalation(*args, "resume=true", cwd=tmp_path)
    assert proc.returncode == 1 and "complete, skipped (resume=true)" in proc.stdout
    assert (sweep / "0" / "replications.csv").stat().st_mtime_ns == stamp
    assert "1 job(s) failed" in (compare(sweep) / "comparison.md").read_text()


def _sweep_files(sweep: Path) -> dict[str, bytes]:
    return {
        f"{job.name}/{name}": (job / name).read_bytes()
        for job in sorted(sweep.iterdir())
        if job.is_dir()
        for name in ("replications.csv", "timeseries.parquet", "events.jsonl")
    }


SWEEP = [
    "run",
    "-m",
    "measures=none,hotline",
    "scenario=black_sea_transit",
    "replications=4",
    "workers=1",
    "output.report=false",
]


@pytest.mark.slow
def test_basic_and_joblib_launchers_give_identical_bytes(tmp_path):
    assert escalation(*SWEEP, f"hydra.sweep.dir={tmp_path / 'basic'}", cwd=tmp_path).returncode == 0
    proc = escalation(
        *SWEEP,
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={tmp_path / 'joblib'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    basic, joblib = _sweep_files(tmp_path / "basic"), _sweep_files(tmp_path / "joblib")
    assert len(basic) == 6 and basic == joblib


@pytest.mark.slow
def test_a_sweeps_jobs_write_no_report_unless_asked(tmp_path):
    """Inside a multirun a job spends its time simulating: no per-job report by default (the sweep's
    report is ``escalation compare``'s); ``output.report=true`` writes one per job as well.
    """
    sweep = [a for a in SWEEP if a != "output.report=false"] + ["replications=2", "output.plot=false"]
    proc = escalation(*sweep, f"hydra.sweep.dir={tmp_path / 'quiet'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    jobs = sorted(p for p in (tmp_path / "quiet").iterdir() if (p / ".hydra").is_dir())
    assert len(jobs) == 2 and all((j / "summary.json").exists() and not (j / "report").exists() for j in jobs)
    assert "Report:" not in proc.stdout
    proc = escalation(
        *[a for a in sweep if not a.startswith("measures=")],
        "measures=none",
        "output.report=true",
        "output.report_formats=[png]",
        f"hydra.sweep.dir={tmp_path / 'asked'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "asked" / "0" / "report" / "report.html").exists()


@pytest.mark.slow
def test_joblib_sweep_with_default_workers_runs_every_job(tmp_path):
    """The default workers=0 under joblib: one level of parallelism, every job done, same bytes as basic."""
    sweep = [a for a in SWEEP if not a.startswith("workers=")] + [
        "replications=100"
    ]  # the basic launcher then uses 2 workers
    assert escalation(*sweep, f"hydra.sweep.dir={tmp_path / 'basic'}", cwd=tmp_path).returncode == 0
    proc = escalation(*sweep, "hydra/launcher=joblib", f"hydra.sweep.dir={tmp_path / 'joblib'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not list((tmp_path / "joblib").glob("*/FAILED"))
    assert _sweep_files(tmp_path / "basic") == _sweep_files(tmp_path / "joblib")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.ray
def test_both_ray_routes_in_either_order_give_identical_bytes(tmp_path):
    """Ray starting its own cluster (hydra/launcher=ray) leaves ~/.ray/auth_token; the cluster route run after it
    (ray start --head, then hydra/launcher=ray_local) must still work. A fresh HOME: nothing from earlier runs counts.
    """
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(home), RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0")
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]

    def sweep(name: str, *launcher: str) -> None:
        log = tmp_path / f"{name}.log"
        with log.open("w") as handle:  # a file, not a pipe: Ray's log forwarding keeps pipes open past the exit
            proc = subprocess.run(
                [*cmd, *SWEEP, *launcher, f"hydra.sweep.dir={tmp_path / name}"],
                cwd=tmp_path,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=600,
            )
        assert proc.returncode == 0, log.read_text()[-3000:]

    sweep("basic")
    sweep("ray_own", "hydra/launcher=ray")  # Ray starts (and stops) its own local cluster
    assert (home / ".ray" / "auth_token").is_file()  # ... and leaves its token behind
    port = _free_port()
    log = tmp_path / "ray_start.log"
    with log.open("w") as handle:  # not a pipe: Ray's daemons would hold it open and the call would never return
        start = subprocess.run(
            [
                ray,
                "start",
                "--head",
                "--node-ip-address=127.0.0.1",
                f"--port={port}",
                "--num-cpus=2",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=180,
        )
    assert start.returncode == 0, log.read_text()
    try:
        sweep("ray_cluster", "hydra/launcher=ray_local", f"hydra.launcher.ray.init.address=127.0.0.1:{port}")
    finally:
        subprocess.run(
            [ray, "stop", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=120
        )
        time.sleep(1)
    basic = _sweep_files(tmp_path / "basic")
    assert basic == _sweep_files(tmp_path / "ray_own") == _sweep_files(tmp_path / "ray_cluster")


def test_ray_token_mode_follows_rays_own_rule(tmp_path):
    from sim.studies.job import prepare_ray_auth

    env = {"HOME": str(tmp_path)}
    prepare_ray_auth(env)
    assert "RAY_AUTH_MODE" not in env  # no token: nothing to send
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("x" * 32)
    prepare_ray_auth(env)
    assert env["RAY_AUTH_MODE"] == "token"
    chosen = {"HOME": str(tmp_path), "RAY_AUTH_MODE": "disabled"}
    prepare_ray_auth(chosen)
    assert chosen["RAY_AUTH_MODE"] == "disabled"  # the user's choice stands


@pytest.mark.slow
def test_sensitivity_pipeline_end_to_end(tmp_path):
    sweep = tmp_path / "sens"
    proc = escalation(
        "run",
        "-m",
        "+experiment=sensitivity",
        "replications=3",
        "sensitivity.trajectories=2",
        "sensitivity.row=range(0,16)",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    points = [json.loads((sweep / str(i) / "summary.json").read_text())["design_point"] for i in range(16)]
    assert len({tuple(p.values()) for p in points}) > 8 and all(
        0.08 <= p["model.encounter_rate_per_h"] <= 0.24 for p in points
    )
    out = compare(sweep)
    indices = pd.read_csv(out / "sensitivity.csv")
    assert len(indices) == 7 and np.isfinite(indices["mu_star"]).all() and (out / "sensitivity.png").exists()
    bad = escalation(
        "run",
        "+experiment=sensitivity",
        "replications=2",
        "sensitivity.row=999",
        "hydra.mode=RUN",
        f"hydra.run.dir={tmp_path / 'bad'}",
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "outside the design" in bad.stderr
