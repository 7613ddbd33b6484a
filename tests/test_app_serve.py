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
    [
        (["--host", "0.0.0.0"], "add --public"),
        (["--host", "192.168.1.10"], "add --public"),
        (["--port", "0"], "between 1 and 65535"),
        (["--host", "my laptop"], "not an IP address"),
        (["--colour"], "unrecognized"),
        (["--allow-host", "laptop"], "add --public"),
        (["--max-replications", "0"], "between 1 and"),
        (["--host", "0.0.0.0", "--public", "--allow-host", "http://x"], "without port or scheme"),
        (["--max-games", "0"], "--max-games 0: must be between 1 and 1000"),
        (["--max-participants", "20000"], "--max-participants 20000: must be between 1 and 10000"),
        (["--state-dir", "afile/games"], "--state-dir afile/games: a file is in the way"),
    ],
)
def test_bad_or_exposing_options_are_refused_with_exit_2(tmp_path, args, message):
    (tmp_path / "afile").write_text("not a folder")
    proc = app(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_the_server_runs_on_loopback_offline_by_default():
    cmd = server_command(LOOPBACK, 8521)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--production" in cmd and "--no-check-version" in cmd
    assert Path(cmd[cmd.index("run") + 1]).name == "page.py" and Path(cmd[cmd.index("run") + 1]).exists()
    env = server_env()
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert set(env["ESCALATION_ALLOWED_HOSTS"].split(",")) == {"127.0.0.1:8521", "localhost:8521", "[::1]:8521"}
    assert env["ESCALATION_MAX_GAMES"] == "12" and env["ESCALATION_MAX_PARTICIPANTS"] == "60"
    state = Path(env["ESCALATION_STATE_DIR"])
    assert state.name == "workshop-games" and state.is_absolute()


def test_the_app_and_the_workshop_state_the_same_default_limits():
    from sim.app import serve
    from sim.play import workshop

    assert (serve.DEFAULT_MAX_GAMES, serve.DEFAULT_MAX_PARTICIPANTS) == (12, 60)
    assert (workshop.DEFAULT_MAX_GAMES, workshop.DEFAULT_MAX_PARTICIPANTS) == (12, 60)


def test_guard_refuses_foreign_hosts_and_origins():
    import asyncio

    from sim.app.guard import HostOriginGuard, allowed_hosts

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = HostOriginGuard(inner, allowed_hosts("127.0.0.1", 8521))

    def status(headers: dict[str, str]) -> int:
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request"}

        scope = {"type": "http", "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
        asyncio.run(guard(scope, receive, send))
        return sent[0]["status"]

    assert status({"host": "127.0.0.1:8521"}) == 200
    assert status({"host": "localhost:8521", "origin": "http://localhost:8521"}) == 200
    assert status({"host": "evil.example:8521"}) == 403  # DNS rebinding: a foreign name for our address
    assert status({"host": "127.0.0.1:8521", "origin": "http://evil.example"}) == 403  # a page elsewhere
    assert status({"host": "127.0.0.1:8521", "origin": "null"}) == 403
    assert status({}) == 403
    public = allowed_hosts("0.0.0.0", 8521, ["workshop-laptop", "192.168.1.20"])
    assert {"workshop-laptop:8521", "192.168.1.20:8521", "127.0.0.1:8521"} <= public and "0.0.0.0:8521" not in public


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_running_app_refuses_cross_origin_http_and_websocket(tmp_path):
    pytest.importorskip("solara")
    import http.client
    import time

    port = _free_port()
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    server = subprocess.Popen(
        [*cmd, "app", "--port", str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def request(path: str, headers: dict[str, str]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("GET", path, skip_host=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        code = conn.getresponse().status
        conn.close()
        return code

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if request("/", {"Host": f"127.0.0.1:{port}"}) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.5)
        own = {"Host": f"127.0.0.1:{port}"}
        assert request("/", {"Host": f"localhost:{port}"}) == 200
        assert request("/", {"Host": f"attacker.example:{port}"}) == 403
        assert request("/", {**own, "Origin": "http://attacker.example"}) == 403
        upgrade = {
            **own,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }
        assert (
            request("/jupyter/api/kernels/k/channels?session_id=s", {**upgrade, "Origin": "http://attacker.example"})
            == 403
        )
        assert (
            request("/jupyter/api/kernels/k/channels?session_id=s", {**upgrade, "Origin": f"http://127.0.0.1:{port}"})
            != 403
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
