"""Faults as a careless user or a bad day brings them: failing runs in the user's folders, a full disk,
kills at the wrong moment, Ctrl-C. Each test failed before the fix it guards.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.run.errors import UserError
from sim.studies.compare import compare

EXE = Path(sys.executable).with_name("escalation")
CMD = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
FAIL_INSIDE_JOB = "+sensitivity={row: 999}"  # passes validation, fails inside the job (after Hydra made the folder)


def escalation(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def user_files(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("three weeks of work\n")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("run_dir", ["existing", "."])
def test_a_failed_run_never_deletes_the_users_files(tmp_path, run_dir):
    folder = tmp_path / "existing"
    before = user_files(folder)
    proc = escalation(
        "run",
        "replications=2",
        "workers=1",
        f"hydra.run.dir={run_dir}",
        FAIL_INSIDE_JOB,
        cwd=folder if run_dir == "." else tmp_path,
    )
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("escalation: error: sensitivity")
    assert "Traceback" not in proc.stderr
    assert files_of(folder) == before  # the user's files, and nothing the failed run wrote (.hydra, the log)


@pytest.mark.slow
def test_a_failed_run_in_a_new_folder_leaves_nothing(tmp_path):
    proc = escalation("run", "replications=2", "workers=1", "hydra.run.dir=new/run", FAIL_INSIDE_JOB, cwd=tmp_path)
    assert proc.returncode == 2
    assert not (tmp_path / "new" / "run").exists()
    proc = escalation(
        "run", "replications=2", "workers=1", FAIL_INSIDE_JOB, cwd=tmp_path
    )  # the default, time-stamped folder
    assert (
        proc.returncode == 2
        and not list((tmp_path / "outputs").rglob("*.csv"))
        and not list((tmp_path / "outputs").rglob(".hydra"))
    )


def _in_small_disk(tmp_path: Path, size_kb: int, script: str) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) in a private mount namespace where ``tmp_path/disk`` is a tmpfs of ``size_kb``."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed for a real full disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    inner = f"mount -t tmpfs -o size={size_kb}k tmpfs {disk} && cd {disk} && {script}"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {disk}"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({probe.stderr.decode().strip()})")
    return subprocess.run(["unshare", "-rm", "sh", "-c", inner], capture_output=True, text=True, timeout=300)


def _job_sizes(tmp_path: Path, replications: int) -> tuple[float, int]:
    """A sweep job's estimated output (what its pre-check compares with the free space) and what it really writes,
    in bytes rounded up to tmpfs pages, measured by running it on an ordinary disk.
    """
    proc = escalation(
        "run", "-m", f"replications={replications}", "output.plot=true", "hydra.sweep.dir=probe", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    number, unit = re.search(r"and ([\d.]+) (B|kB|MB) of output", proc.stderr).groups()
    estimated = float(number) * {"B": 1, "kB": 1e3, "MB": 1e6}[unit]
    files = [p for p in (tmp_path / "probe").rglob("*")]
    written = sum(-(-p.stat().st_size // 4096) * 4096 if p.is_file() else 4096 for p in files)
    shutil.rmtree(tmp_path / "probe")
    return estimated, written


@pytest.mark.slow
def test_a_full_disk_fails_each_job_cleanly_and_the_sweep_goes_on(tmp_path):
    # Each job passes its pre-check (the estimate from its first replication leaves out the curve's figure and
    # Hydra's files) and then fills the disk while writing: the disk is sized between the two, as measured.
    # (A sweep's jobs draw the figure only with output.plot=true.)
    estimated, written = _job_sizes(tmp_path, 20)
    assert written - estimated * 21 / 20 > 60_000, (estimated, written)  # room for the disk between them
    size_kb = int((estimated * 21 / 20 + written) / 2 / 1024) + 8  # + the sweep's own multirun.yaml
    cmd = " ".join(CMD)
    script = (
        f"{cmd} run -m replications=20,21 output.plot=true 'hydra.sweep.dir=sw'; echo rc=$?; "
        "find . -name '*.tmp'; for d in sw/*/; do echo \"$d $(ls -A $d | tr '\\n' ' ')\"; head -1 $d/FAILED; done; "
        f"{cmd} compare sw; echo compare_rc=$?"
    )
    proc = _in_small_disk(tmp_path, size_kb, script)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "IndexError" not in out
    assert "rc=1" in proc.stdout and "2 of 2 jobs failed" in proc.stderr, (size_kb, out[-3000:])
    assert ".tmp" not in proc.stdout  # no temporary file left behind
    assert proc.stdout.count("the disk is full") == 2  # each job says so in its FAILED (the disk freed first)
    assert "compare_rc=2" in proc.stdout and "no job finished (2 failed" in proc.stderr


@pytest.mark.slow
def test_a_single_run_on_a_full_disk_is_one_line_and_keeps_the_users_files(tmp_path):
    cmd = " ".join(CMD)
    script = (
        f"mkdir mine && echo precious > mine/notes.txt && {cmd} run replications=30 hydra.run.dir=mine; echo rc=$?; "
        "ls -A mine; find . -name '*.tmp'"
    )
    proc = _in_small_disk(tmp_path, 1200, script)
    assert "rc=2" in proc.stdout and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("escalation: error:")
    assert proc.stdout.split("rc=2", 1)[1].split() == ["notes.txt"]


def test_compare_reports_an_empty_failed_file(tmp_path):
    job = tmp_path / "0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- measures=none\n")
    (job / "FAILED").write_bytes(b"")  # what a job leaves when even its error cannot be written
    with pytest.raises(UserError, match="no job finished"):
        compare(tmp_path)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in _children(k)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def _wait_for(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _run_as_from_a_terminal(out: Path, replications: int, cwd: Path) -> subprocess.Popen:
    """``escalation run`` with two workers, started as a person at a terminal starts it: Ctrl-C at its default,
    in a process group of its own that a Ctrl-C reaches as a whole.
    """
    return subprocess.Popen(
        [*CMD, "run", f"replications={replications}", "workers=2", f"hydra.run.dir={out}"],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.slow
def test_a_killed_run_leaves_no_orphan_workers_and_the_next_run_cleans_its_temporaries(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [*CMD, "run", "replications=3000", "workers=2", f"hydra.run.dir={out}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: len(_children(proc.pid)) >= 2 and list(out.glob(".*.tmp")))  # 2 workers (forked), writing
    tree = _children(proc.pid)
    proc.kill()
    proc.wait()
    _wait_for(lambda: not any(_alive(p) for p in tree), timeout=10)  # the workers die with their parent
    assert list(out.glob(".*.tmp"))  # what a kill leaves ...
    again = escalation(
        "run", "replications=2", "workers=1", "output.report=false", f"hydra.run.dir={out}", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert not list(out.glob(".*.tmp"))  # ... the next run into that folder removes


@pytest.mark.slow
def test_ctrl_c_stops_a_long_run_within_seconds_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    # As from a terminal: Ctrl-C at its default. (A shell starts background jobs with SIGINT ignored, and
    # Python keeps an inherited "ignore": when CI itself runs in the background, the run must still be
    # started the way a person at a terminal starts it.)
    proc = _run_as_from_a_terminal(out, 5000, tmp_path)

    def flowing() -> bool:  # the pool is up and results are coming back (~1 kB of the event log per replication)
        log = list(out.glob(".events.jsonl.*.tmp"))
        return len(_children(proc.pid)) >= 2 and bool(log) and log[0].stat().st_size > 150_000

    _wait_for(flowing)
    tree = _children(proc.pid)
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 5.0
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "escalation: interrupted"
    assert "Traceback" not in err
    assert not out.exists()  # the folder was this run's own
    _wait_for(lambda: not any(_alive(p) for p in tree), timeout=10)


@pytest.mark.slow
def test_ctrl_c_before_the_job_starts_leaves_no_folder(tmp_path):
    """A Ctrl-C once the command holds its new run folder but before the job runs (Hydra is starting):
    the folder held only the lock and stayed behind. Now it goes, as a later Ctrl-C's does.
    """
    out = tmp_path / "run"
    proc = _run_as_from_a_terminal(out, 3000, tmp_path)
    _wait_for(lambda: (out / ".escalation.lock").exists(), timeout=60)  # claimed: Hydra starts next
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "escalation: interrupted", err[-2000:]
    assert not out.exists()


def _writing(pid: int) -> bool:
    """A worker of ``pid`` is blocked writing to a pipe: halfway through sending its results (Linux)."""
    for child in _children(pid):
        try:
            if "pipe_write" in Path(f"/proc/{child}/wchan").read_text():
                return True
        except OSError:
            pass
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs /proc/PID/wchan (Linux)")
def test_ctrl_c_while_a_worker_is_sending_its_results_never_hangs(tmp_path):
    """A Ctrl-C while a worker is blocked halfway through sending a chunk's results (the pipe full):
    killed there, it left part of a message in the results pipe, and the pool's thread waited for the
    rest forever (a second Ctrl-C did nothing). Caught in that state up to three times: each run ends
    within seconds, as interrupted (skipped where no worker is ever seen waiting on the pipe).
    """
    caught = 0
    for k in range(12):
        out = tmp_path / f"run{k}"
        proc = _run_as_from_a_terminal(out, 3000, tmp_path)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not _writing(proc.pid):
            time.sleep(0.001)
        if proc.poll() is not None or time.monotonic() >= deadline:  # finished, or never seen writing
            proc.kill()
            proc.communicate()
            continue
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail("a Ctrl-C while a worker was sending its results: still running 20 s later")
        assert proc.returncode == 130 and err.strip().splitlines()[-1] == "escalation: interrupted", err[-2000:]
        caught += 1
        if caught == 3:
            break
    if caught == 0:  # a machine fast enough that no worker ever waits on the pipe: the state cannot be caught
        pytest.skip(f"no worker was seen halfway through sending its results in {k + 1} runs")


@pytest.mark.slow
def test_a_job_killed_during_its_report_is_rerun_by_resume(tmp_path):
    sweep = tmp_path / "sweep"
    # a sweep's job writes its report only when asked
    args = ["run", "-m", "replications=40", "workers=1", "output.report=true", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen([*CMD, *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (sweep / "0" / "report").is_dir())
    proc.kill()
    proc.wait()
    assert not (sweep / "0" / "summary.json").exists()  # the completeness marker is written last
    again = escalation(*args, "resume=true", cwd=tmp_path)
    assert again.returncode == 0 and "complete, skipped" not in again.stdout
    assert (sweep / "0" / "summary.json").exists() and (sweep / "0" / "report" / "report.html").exists()
    assert not list((sweep / "0").rglob(".*.tmp"))


@pytest.mark.slow
def test_a_run_that_cannot_fit_on_the_disk_is_refused_before_it_writes(tmp_path):
    cmd = " ".join(CMD)
    proc = _in_small_disk(tmp_path, 1200, f"{cmd} run replications=400 hydra.run.dir=big; echo rc=$?; ls -A")
    assert "rc=2" in proc.stdout and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("escalation: error: 400 replications need about") and "free" in last
    assert "big" not in proc.stdout.split("rc=2", 1)[1]  # its own folder is gone


@pytest.mark.slow
def test_a_long_run_says_what_it_will_cost_and_shows_progress_without_a_terminal(tmp_path):
    proc = escalation(
        "run",
        "replications=60",
        "workers=1",
        "output.report=false",
        "output.plot=false",
        f"hydra.run.dir={tmp_path / 'r'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    estimate = next(line for line in lines if line.startswith("escalation: 60 replications on 1 worker: about"))
    assert "of output (estimated from the first replication)" in estimate
    assert lines[-1].startswith("replications: 60/60 done in")  # a final line, stderr being a pipe here


def test_progress_without_a_terminal_prints_each_tenth_and_a_final_line(monkeypatch):
    import io

    from sim.run import progress
    from sim.studies import job

    clock = iter(range(0, 10_000, 3))  # three seconds a replication
    monkeypatch.setattr(progress.time, "monotonic", lambda: float(next(clock)))
    stream = io.StringIO()
    assert job.Progress is progress.Progress  # escalation run's progress is the analysis verbs' too
    progress = job.Progress(20, stream=stream)
    for _ in range(20):
        progress.update(1)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("replications: 2/20 (10%)") and "elapsed, about" in lines[0]
    assert len(lines) == 10 and lines[-1].startswith("replications: 20/20 done in")


@pytest.mark.slow
def test_a_failed_run_keeps_the_users_files_when_a_config_file_names_the_folder(tmp_path):
    """No override names the folder (a user's own config sets hydra.run.dir): still nothing of the user's goes."""
    folder = tmp_path / "existing"
    before = user_files(folder)
    conf = tmp_path / "myconf"
    conf.mkdir()
    (conf / "mine.yaml").write_text(f"defaults:\n  - config\n  - _self_\nhydra:\n  run:\n    dir: {folder}\n")
    proc = escalation(
        "run",
        f"--config-path={conf}",
        "--config-name=mine",
        f"--config-dir={Path(__file__).parents[1] / 'conf'}",
        "replications=2",
        "workers=1",
        FAIL_INSIDE_JOB,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert {
        k: v for k, v in files_of(folder).items() if not k.startswith(".hydra/") and not k.endswith(".log")
    } == before
