"""``escalation app`` refuses to listen beyond this machine unless asked, and says why in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.app.serve import LOOPBACK, server_command, server_env

EXE = Path(sys.executable).with_name("escalation")


def app(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    return subprocess.run([*cmd, "app", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--host", "0.0.0.0"], "add --public"), (["--host", "192.168.1.10"], "add --public"),
     (["--port", "0"], "between 1 and 65535"), (["--host", "my laptop"], "not an IP address"), (["--colour"], "unrecognized")],
)
def test_bad_or_exposing_options_are_refused_with_exit_2(tmp_path, args, message):
    proc = app(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_the_server_runs_on_loopback_offline_by_default():
    cmd = server_command(LOOPBACK, 8521)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--production" in cmd and "--no-check-version" in cmd
    assert Path(cmd[cmd.index("run") + 1]).name == "page.py" and Path(cmd[cmd.index("run") + 1]).exists()
    env = server_env()
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
