"""A workshop game as a workshop plays it: control, NATO and Russia in three browser contexts, offline.

Debian's Chromium, driven by Playwright; every request outside 127.0.0.1 is aborted and recorded
(and the server's proxies point at a closed port). Each team's page records the WebSocket frames
it receives, so what the other side perceives can be looked for where a participant could read
it: the page's DOM and its traffic. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re

import pytest
from test_app_browser import ARTIFACTS, CHROMIUM, EXE, WAIT_MS, _free_port  # noqa: F401 - shared setup

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def workshop_url(tmp_path_factory):
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    pytest.importorskip("solara")
    pytest.importorskip("playwright")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found (apt-get install -y chromium)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    port = _free_port()
    closed = f"http://127.0.0.1:{_free_port()}"
    env = {**os.environ, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed, "https_proxy": closed}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    folder = tmp_path_factory.mktemp("workshop")
    log = folder / "server.log"
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    with log.open("w") as handle:
        server = subprocess.Popen(
            [*cmd, "app", "--port", str(port), "--state-dir", str(folder / "games")],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback
                if r.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"the app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    yield url, folder / "games"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def test_two_teams_and_control_play_through_an_inject_calls_a_time_out_to_the_debrief_and_a_branch(workshop_url):
    from playwright.sync_api import sync_playwright

    url, games = workshop_url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    frames: dict[str, list[str]] = {"control": [], "nato": [], "russia": []}

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])

        def open_page(role: str):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            pg = context.new_page()

            def route(r):
                if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            pg.route("**/*", route)
            pg.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived",
                    lambda payload: frames[role].append(
                        payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
                    ),
                ),
            )
            return pg

        control = open_page("control")
        control.goto(url)
        control.get_by_role("tab", name="Workshop").click(timeout=WAIT_MS)
        control.get_by_role("button", name="Create a workshop game").click()
        control.locator(".join-codes").wait_for(timeout=WAIT_MS)
        codes = {r: control.locator(f".code-{r}").inner_text() for r in ("nato", "russia", "control", "observer")}
        assert all(re.fullmatch(r"[A-Z2-9]{6}", c) for c in codes.values()) and len(set(codes.values())) == 4

        teams = {}
        for side in ("nato", "russia"):
            teams[side] = open_page(side)
            teams[side].goto(f"{url}?join={codes[side]}")
            teams[side].locator(".room-status").wait_for(timeout=WAIT_MS)
        bad = open_page("control")
        bad.goto(f"{url}?join=QQQQQQ")
        bad.get_by_role("tab", name="Workshop").click(timeout=WAIT_MS)
        assert bad.locator(".join-error").inner_text().startswith("join code QQQQQQ: not a game on this server")

        # control: an inject, as a scenario's injects list would have it
        control.get_by_role("button", name="Inject now").click()
        control.locator(".truth-log", has_text="Facilitator inject").wait_for(timeout=WAIT_MS)

        # control runs the clock (2 game hours a real second), then pauses it; the teams' pages follow
        control.get_by_role("button", name="Start clock").click()
        control.locator(".room-status", has_text="clock running").wait_for(timeout=WAIT_MS)
        teams["russia"].locator(".room-status", has_text="clock running").wait_for(timeout=WAIT_MS)
        control.wait_for_function(
            "() => !document.querySelector('.room-status').innerText.startsWith('day 1 00:00')", timeout=WAIT_MS
        )
        control.get_by_role("button", name="Pause clock").click()
        control.locator(".room-status", has_text="clock paused").wait_for(timeout=WAIT_MS)
        teams["nato"].locator(".room-status", has_text="clock paused").wait_for(timeout=WAIT_MS)

        # play until each team has called over a channel once
        called: set[str] = set()
        decided = {"nato": 0, "russia": 0}
        for _ in range(60):
            if called == {"nato", "russia"}:
                break
            waiting = control.locator(".control-waiting")
            if not waiting.count():
                control.get_by_role("button", name="Run to next decision").click()
                waiting.wait_for(timeout=WAIT_MS)
            side = "nato" if "the nato team" in waiting.inner_text() else "russia"
            team = teams[side]
            card = team.locator(".decision-card")
            card.wait_for(timeout=WAIT_MS)
            calls = card.get_by_role("button", name=re.compile("^Call: "))
            if side not in called and calls.count():
                calls.first.click()
                team.locator(".room-note", has_text=re.compile("call got through|no answer")).wait_for(timeout=WAIT_MS)
                called.add(side)
                if "call got through" in team.locator(".room-note").inner_text():
                    waiting.wait_for(state="detached", timeout=WAIT_MS)
                continue
            card.get_by_role("button", name="hold (rung 1)").click()
            decided[side] += 1
            waiting.wait_for(state="detached", timeout=WAIT_MS)
        assert called == {"nato", "russia"}, f"only {called} called"
        team_shot = {s: teams[s].screenshot(path=str(ARTIFACTS / f"workshop_{s}.png"), full_page=True) for s in teams}
        assert all(team_shot.values())

        # a decision time limit, stated to both teams, and a time-out
        control.get_by_label("Decision time limit (s)").fill("5")
        control.get_by_label("Decision time limit (s)").press("Enter")
        control.get_by_role("button", name="Set limit").click()
        stated = "Decision time limit 5 s. A team that does not answer in time: hold (take note, do nothing visible)."
        for side in teams:
            teams[side].locator(".room-limit", has_text=stated).wait_for(timeout=WAIT_MS)
        if not control.locator(".control-waiting").count():
            control.get_by_role("button", name="Run to next decision").click()
        control.locator(".control-waiting").wait_for(timeout=WAIT_MS)
        side = "nato" if "the nato team" in control.locator(".control-waiting").inner_text() else "russia"
        teams[side].locator(".team-timeouts", has_text="time ran out; the default response, hold").wait_for(
            timeout=WAIT_MS
        )
        control.locator(".control-timeouts", has_text=f"({side}): time ran out").wait_for(timeout=WAIT_MS)

        # a team's page reloads (a dropped connection): it finds its place again
        before = teams["nato"].locator(".team-log").inner_text()
        teams["nato"].reload()
        teams["nato"].locator(".team-log").wait_for(timeout=WAIT_MS)
        assert teams["nato"].locator(".team-log").inner_text().startswith(before[: max(0, len(before) - 1)])

        # nothing of one side's view reached the other's page, in its DOM or its traffic
        truth = control.locator(".truth-decisions").inner_text()
        own = {
            "nato": sorted(set(re.findall(r"Decision \d+ for NATO", truth))),
            "russia": sorted(set(re.findall(r"Decision \d+ for Russia", truth))),
        }
        assert own["nato"] and own["russia"], truth
        for side, other in (("nato", "russia"), ("russia", "nato")):
            dom = teams[side].locator("body").inner_text()
            traffic = "\n".join(frames[side])
            assert own[side][0] in dom  # a team sees its own decisions...
            for marker in own[other]:  # ...and none of the other side's
                assert marker not in dom and marker not in traffic, (side, marker)
            assert "true severity" not in dom and "true severity" not in traffic
            assert "Truth:" not in traffic

        # control ends the game and reveals the truth: both teams see the debrief
        control.get_by_role("button", name="End the game (remaining decisions: default response)").click()
        control.get_by_role("button", name="Reveal the truth to all").click()
        for side in teams:
            teams[side].locator(".truth-log").wait_for(timeout=WAIT_MS)
            teams[side].locator(".debrief", has_text="runs peaked at rung").wait_for(timeout=WAIT_MS * 2)
        control.locator(".debrief-figure img").wait_for(timeout=WAIT_MS)
        control.screenshot(path=str(ARTIFACTS / "workshop_control_debrief.png"), full_page=True)

        # a branch from decision 2: replayed to it exactly, answered differently, shown beside the original
        control.get_by_label("Branch at decision").fill("2")
        control.get_by_label("Branch at decision").press("Enter")
        control.get_by_role("button", name="Branch: replay to that decision in a new game").click()
        control.locator(".control-waiting", has_text="decision 2").wait_for(timeout=WAIT_MS)
        assert "branch at decision 2" in control.locator("h2").inner_text()
        side = "nato" if "the nato team" in control.locator(".control-waiting").inner_text() else "russia"
        branch_code = control.locator(f".code-{side}").inner_text()
        assert branch_code != codes[side]
        teams[side].goto(f"{url}?join={branch_code}")
        teams[side].locator(".decision-card", has_text="Decision 2").wait_for(timeout=WAIT_MS)
        teams[side].get_by_role("button", name=re.compile(r"\(rung 3\)")).first.click()
        control.locator(".control-waiting").wait_for(state="detached", timeout=WAIT_MS)
        control.get_by_role("button", name="End the game (remaining decisions: default response)").click()
        peaks = control.locator(".branch-peaks")
        peaks.wait_for(timeout=WAIT_MS * 2)
        assert "table 1: peak rung" in peaks.inner_text() and "branch at decision 2: peak rung" in peaks.inner_text()
        control.screenshot(path=str(ARTIFACTS / "workshop_branch.png"), full_page=True)

        # a randomised workshop of two more tables: the plan with every role's code, printable
        control.goto(url)
        control.get_by_role("tab", name="Workshop").click(timeout=WAIT_MS)
        control.get_by_role("button", name="Create the tables").click()
        plan = control.locator(".workshop-plan")
        plan.wait_for(timeout=WAIT_MS)
        rows = [line for line in plan.inner_text().splitlines() if line.startswith("T")]
        assert len(rows) == 2 and {rows[0].split()[1], rows[1].split()[1]} == {"(none)", "(eln_seven)"}
        browser.close()

    assert outside == [], f"the pages asked for outside resources: {outside}"
    assert sorted(f.name for f in games.iterdir()) == ["table1.json", "table2.json", "table3.json", "table4.json"]

    # the games become the play dataset and its analysis
    import subprocess
    import sys

    import pandas as pd

    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    out = games.parent / "play.parquet"
    made = subprocess.run([*cmd, "workshop", "dataset", str(games), "--out", str(out)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    df = pd.read_parquet(out)
    assert set(df["table"]) == {"T1", "T2"} and set(df.loc[df["table"] == "T2", "branch_of"]) == {"T1"}
    assert df["timeout"].sum() == 1 and set(df["team"]) == {"nato", "russia"}
    analysis = subprocess.run([*cmd, "workshop", "analyse", str(out)], capture_output=True, text=True)
    assert analysis.returncode == 0 and "Time-outs (the stated default carried out): 1 of" in analysis.stdout
