"""The second hardening round (issue 32): concurrent runs into one folder, in-range values that hang,
interrupted fits, verbs that crash on their output, a user's file taken for a temporary, silent
overwrites, fuzz. Real processes, real concurrency, real kill -9 and real files; each test failed on
the code before its fix (see the issue's numbered failures).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.run.errors import UserError

EXE = Path(sys.executable).with_name("escalation")
CMD = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def escalation(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV)


def one_line_error(proc: subprocess.CompletedProcess, *expected: str) -> str:
    """The process failed with exit 2 and one line ``escalation: error: ...`` holding ``expected``."""
    lines = [x for x in proc.stderr.strip().splitlines() if x.startswith("escalation: error:")]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _wait_for(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


# ------------------------------------------------------------------ 1. concurrent runs into one folder
@pytest.mark.slow
def test_a_second_run_into_a_folder_in_use_is_refused_and_the_first_goes_on(tmp_path):
    out = tmp_path / "X"
    a = subprocess.Popen(
        [*CMD, "run", "replications=3000", "workers=1", "output.report=false", f"hydra.run.dir={out}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    try:
        _wait_for(lambda: list(out.glob(".replications.csv.*.tmp")))  # A is writing
        started = time.monotonic()
        b = escalation("run", "replications=2", "seed=5", f"hydra.run.dir={out}", cwd=tmp_path)
        one_line_error(b, str(out), "in use by another run", f"pid {a.pid}", "replications=3000")
        assert time.monotonic() - started < 30
        assert a.poll() is None and list(out.glob(".replications.csv.*.tmp"))  # A still runs, its files intact
        assert not (out / "summary.json").exists()
    finally:
        a.kill()  # kill -9: the OS releases A's lock
        a.wait()
    leftovers = list(out.glob(".*.tmp"))
    assert leftovers
    c = escalation("run", "replications=2", "output.report=false", f"hydra.run.dir={out}", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert (out / "summary.json").exists() and not list(out.glob(".*.tmp"))  # the killed run's temporaries went


@pytest.mark.slow
def test_three_runs_started_together_into_one_folder_one_finishes_the_others_are_refused(tmp_path):
    out = tmp_path / "X"
    procs = [
        subprocess.Popen(
            [*CMD, "run", "replications=20", f"seed={k}", "output.report=false", f"hydra.run.dir={out}"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for k in range(3)
    ]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2, 2], [(p.returncode, err[-500:]) for p, _, err in results]
    winner = next(k for k, (p, _, _) in enumerate(results) if p.returncode == 0)
    for p, _, err in results:
        if p.returncode == 2:
            assert "Traceback" not in err
            line = err.strip().splitlines()[-1]
            assert line.startswith("escalation: error:") and ("in use by another run" in line or "complete" in line)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == winner and summary["outcomes"]  # the folder holds the winner's complete run


# ------------------------------------------------------------------ 2. in-range values that hang
def test_an_interval_below_its_floor_is_refused_at_once(tmp_path):
    proc = escalation(
        "run",
        "measures=mil_to_mil_meetings",
        "measures.mil_to_mil_meetings.interval_days=1e-9",
        "replications=2",
        f"hydra.run.dir={tmp_path / 'r'}",
        cwd=tmp_path,
        timeout=60,  # the old code ran for ever (750 MB and growing)
    )
    one_line_error(proc, "measures.mil_to_mil_meetings.interval_days=1e-09", "[1, 366]")
    assert not (tmp_path / "r").exists()


def test_a_runaway_replication_is_stopped_by_its_event_budget_naming_the_parameter(base_cfg):
    from sim.run.config import load_configured_scenario, measure_settings, model_params
    from sim.run.runner import RunawayReplication, run_replication

    measures = measure_settings(base_cfg)
    measures["nrc_rhythm"].update(enabled=True, interval_days=1e-9)  # past the ranges: the API does not check them
    started = time.monotonic()
    with pytest.raises(RunawayReplication) as info:
        run_replication(load_configured_scenario(base_cfg), model_params(base_cfg), measures, 0, 3)
    assert time.monotonic() - started < 20
    message = str(info.value)
    # baltic_air_policing: 720 h, so 10,000 + 100 x 720 = 82,000 events
    assert message.startswith("replication 3 stopped: 82,001 events by hour") and "\n" not in message
    assert "over the budget of 82,000" in message and "likely measures.nrc_rhythm.interval_days=1e-09" in message


def _save(**fields) -> bytes:
    from sim.play.saves import SAVE_FORMAT

    save = {
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
    return json.dumps(save).encode()


def test_a_save_with_an_interval_below_its_floor_is_refused_by_the_same_ranges():
    from sim.app.work import replay_bounded
    from sim.play.saves import parse_save

    raw = _save(measures={"mil_to_mil_meetings": {"interval_days": 1e-9}})  # listed: in force
    started = time.monotonic()
    with pytest.raises(UserError, match=r"interval_days=1e-09 is out of range: must be in \[1, 366\]"):
        replay_bounded(parse_save(raw, "game.json"), "game.json", who="t")
    assert time.monotonic() - started < 20


def test_a_save_replays_in_the_apps_turn_and_stops_on_cancel_or_its_time_limit():
    from sim.app.work import Cancelled, FairShare, replay_bounded
    from sim.play.saves import parse_save

    commands = [{"op": "advance", "until": float(h)} for h in range(1, 200)]
    save = parse_save(_save(commands=commands, side="both"), "game.json")
    share = FairShare()
    game = replay_bounded(save, "game.json", who="a", share=share)
    assert share.granted == ["a"] and game.time_h > 0
    with pytest.raises(Cancelled):
        replay_bounded(save, "game.json", who="b", share=share, cancelled=lambda: True)
    with pytest.raises(UserError, match=r"^game.json: replaying its commands took over 0 s"):
        replay_bounded(save, "game.json", who="c", share=share, seconds=0.0)


# ------------------------------------------------------------------ 5. and 6. a user's files in the run folder
@pytest.mark.slow
def test_a_run_keeps_a_users_file_named_like_a_temporary_and_refuses_to_overwrite_a_complete_run(tmp_path):
    out = tmp_path / "X"
    out.mkdir()
    (out / ".notes.abcdefgh.tmp").write_text("mine\n")
    args = ["run", "replications=2", "workers=1", "output.report=false", f"hydra.run.dir={out}"]
    first = escalation(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (out / ".notes.abcdefgh.tmp").read_text() == "mine\n"  # the old code removed it
    before = files_of(out)
    second = escalation(*args, "seed=9", cwd=tmp_path)
    one_line_error(second, f"{out} holds a complete run", "overwrite=true")
    assert files_of(out) == before  # not a byte changed, .hydra included
    third = escalation(*args, "seed=9", "overwrite=true", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert json.loads((out / "summary.json").read_text())["seed"] == 9
    assert (out / ".notes.abcdefgh.tmp").read_text() == "mine\n"


def test_a_resumed_sweep_into_a_sweep_in_use_is_refused(tmp_path):
    from sim.run.folder import hold, release

    sweep = tmp_path / "sweep"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from sim.run.folder import hold; import time; hold({str(sweep)!r}); time.sleep(60)"],
        env=ENV,
    )
    try:
        _wait_for(lambda: (sweep / ".escalation.lock").exists() and (sweep / ".escalation.lock").stat().st_size)
        proc = escalation("run", "-m", "replications=2", "resume=true", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
        one_line_error(proc, "in use by another run", f"pid {holder.pid}")
        assert sorted(p.name for p in sweep.iterdir()) == [".escalation.lock"]  # Hydra made no job folder
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    hold(sweep)  # released by the holder's death
    release(sweep)


# ------------------------------------------------------------------ 8. save files: file, field, a short excerpt
def test_a_save_with_a_huge_number_is_refused_in_one_line_naming_the_field():
    from sim.play.saves import parse_save

    raw = _save(model={"encounter_rate_per_h": 10**500})  # crashed with OverflowError
    with pytest.raises(UserError) as info:
        parse_save(raw, "game.json")
    assert str(info.value) == "game.json: model.encounter_rate_per_h: must be a finite number of sensible size"
    with pytest.raises(UserError, match=r"^game.json: not a save file \(a number of more than 4,300 digits\)$"):
        parse_save(b'{"seed": ' + b"9" * 5000 + b"}", "game.json")


def test_a_bad_move_in_a_save_names_file_and_move_with_a_short_excerpt():
    from sim.app.work import replay_bounded
    from sim.play.saves import parse_save

    label = "\x1b[31m" + "x" * 490  # a terminal escape and 490 characters
    commands = [{"op": "advance", "until": 720.0}, {"op": "channel", "label": label}]
    save = parse_save(_save(commands=commands, side="both"), "game.json")
    with pytest.raises(UserError) as info:
        replay_bounded(save, "game.json", who="t")
    message = str(info.value)
    assert message.startswith("game.json: commands[1]: ") and "\x1b" not in message and "\n" not in message
    assert "x" * 40 not in message and len(message) < 200, message
    assert "channel '\\x1b[31mxxxxx" in message and "...' is not available now" in message


# ------------------------------------------------------------------ 4. every verb checks its options first
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["validate", "--out", "afile", "--replications", "2"], "--out afile: afile is a file, not a folder"),
        (["calibrate", "--out", "afile"], "--out afile: afile is a file, not a folder"),
        (["calibrate", "--resume", "--db", "afile"], "--resume: afile: not a calibration database (not a SQLite"),
        (["calibrate", "--seed", "4294967296"], "--seed must be a whole number from 0 to 4,294,967,295"),
        (["card", "--workers", "-4"], "--workers must be a whole number from 0 to 1,024, got -4"),
        (["card", "--parameters", "evil"], "card: argument --parameters: invalid choice: 'evil'"),
        (["discover", "--seed", "-1"], "--seed must be a whole number from 0 to"),
        (["validate", "--replications", "9" * 5000], "validate: argument --replications: invalid int value"),
    ],
)
def test_a_verb_refuses_a_bad_option_before_any_work(tmp_path, args, expected):
    (tmp_path / "afile").write_text("the user's\n")
    started = time.monotonic()
    proc = escalation(*args, cwd=tmp_path, timeout=120)
    line = one_line_error(proc, expected)
    assert len(line) < 300 and time.monotonic() - started < 30  # the old validate ran every target first
    assert (
        sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and (tmp_path / "afile").read_text() == "the user's\n"
    )


@pytest.mark.slow
def test_calibrate_resume_on_a_sqlite_file_that_is_no_fit_is_one_line(tmp_path):
    import sqlite3

    with sqlite3.connect(tmp_path / "other.db") as con:
        con.execute("create table notes (x text)")
    proc = escalation("calibrate", "--resume", "--db", str(tmp_path / "other.db"), cwd=tmp_path, timeout=120)
    one_line_error(proc, "a SQLite file without a pyabc calibration in it")  # 122 lines and two tracebacks before


@pytest.mark.slow
def test_a_scheduler_that_does_not_answer_is_reported_in_one_line_within_its_timeout(tmp_path):
    import socket

    from sim.calibration.fit import SCHEDULER_TIMEOUT_S

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never says a word
    address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
    try:
        started = time.monotonic()
        proc = escalation("calibrate", "--out", str(tmp_path / "fit"), "--dask-scheduler", address, cwd=tmp_path)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    one_line_error(proc, f"--dask-scheduler {address}: no Dask scheduler answers there")
    assert elapsed < SCHEDULER_TIMEOUT_S + 15  # the old code: 64 lines after 30 s
    assert not (tmp_path / "fit").exists()
    refused = escalation("calibrate", "--dask-scheduler", "tcp://127.0.0.1:1", cwd=tmp_path, timeout=60)
    one_line_error(refused, "--dask-scheduler tcp://127.0.0.1:1: no scheduler there (Connection refused)")


# ------------------------------------------------------------------ 8. the app: --public, Ctrl-C
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(address: str, port: int, host: str) -> int:
    import http.client

    conn = http.client.HTTPConnection(address, port, timeout=10)
    conn.putrequest("GET", "/", skip_host=True)
    conn.putheader("Host", host)
    conn.endheaders()
    code = conn.getresponse().status
    conn.close()
    return code


@pytest.mark.slow
def test_app_public_on_every_interface_serves_the_machines_own_addresses_and_says_which(tmp_path):
    pytest.importorskip("solara")
    from sim.app.serve import machine_addresses

    own = [a for a in machine_addresses() if "." in a and a.replace(".", "").isdigit()]
    if not own:
        pytest.skip("this machine has no IPv4 address but loopback")
    port = _free_port()
    server = subprocess.Popen(
        [*CMD, "app", "--public", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    try:
        first = server.stdout.readline()
        assert f"http://{own[0]}:{port}/" in first, first  # it says where it serves
        deadline = time.monotonic() + 90
        while True:
            try:
                if _status("127.0.0.1", port, f"127.0.0.1:{port}") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.5)
        assert _status(own[0], port, f"{own[0]}:{port}") == 200  # the old code: 403
        assert _status(own[0], port, f"attacker.example:{port}") == 403
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 1.5, 3.0])
def test_ctrl_c_while_the_app_starts_prints_one_line(tmp_path, delay):
    pytest.importorskip("solara")
    proc = subprocess.Popen(
        [*CMD, "app", "--port", str(_free_port())],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "escalation: interrupted", err[-2000:]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.0, 0.3])
def test_ctrl_c_while_the_worker_pool_starts_prints_one_line(tmp_path, after):
    proc = subprocess.Popen(
        [*CMD, "run", "replications=400", "workers=2", f"hydra.run.dir={tmp_path / 'r'}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    _wait_for(lambda: _children(proc.pid), timeout=60)  # the pool is forking its workers (or the forkserver is up)
    time.sleep(after)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == "escalation: interrupted"
    assert not (tmp_path / "r").exists()


def test_a_save_with_the_eln_thresholds_out_of_order_is_refused():
    from sim.play.saves import parse_save, settings_from_save

    save = parse_save(_save(model={"serious_threshold": 0.9, "high_risk_threshold": 0.5}), "game.json")
    with pytest.raises(UserError) as info:
        settings_from_save(save, "game.json")
    assert str(info.value) == (
        "game.json: model.serious_threshold=0.9 is above model.high_risk_threshold=0.5: "
        "the ELN categories must be in order (serious at or below high risk)"
    )
