"""The workshop web app in a real browser: Debian's Chromium, driven by Playwright, network closed.

The app is started with ``escalation app`` on 127.0.0.1. The browser may reach nothing but
127.0.0.1 (every other request is aborted and recorded) and the server runs with its proxies
pointed at a closed port, so a page that needs the internet fails here. Screenshots go to
``test-artifacts/`` (or ``$ESCALATION_ARTIFACTS``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path(os.environ.get("ESCALATION_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("ESCALATION_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))
EXE = Path(sys.executable).with_name("escalation")
WAIT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    pytest.importorskip("solara")
    pytest.importorskip("playwright")
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found (apt-get install -y chromium)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    port = _free_port()
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there: any outside request fails
    env = {
        **os.environ,
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    log = tmp_path_factory.mktemp("app") / "server.log"
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "sim.cli"]
    with log.open("w") as handle:
        server = subprocess.Popen(
            [*cmd, "app", "--port", str(port)], stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=log.parent
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
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


@pytest.fixture
def page(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1")):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        pg.route("**/*", route)
        pg.on("response", lambda resp: failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)
        pg.goto(app_url)
        pg.get_by_role("button", name="Run", exact=True).wait_for(timeout=WAIT_MS)
        yield pg
        browser.close()
    assert outside == [], f"the page asked for outside resources: {outside}"
    assert failed == [], f"requests failed: {failed}"


def _run_and_read(pg) -> tuple[str, str, str]:
    """Click Run; wait for a new verdict; return (verdict, curve image, event log)."""
    old = pg.locator(".verdict").inner_text() if pg.locator(".verdict").count() else ""
    pg.get_by_role("button", name="Run", exact=True).click()
    pg.wait_for_function(
        "old => { const v = document.querySelector('.verdict'); return v && v.innerText !== old; }",
        arg=old,
        timeout=WAIT_MS,
    )
    pg.locator(".escalation-curve img").wait_for(timeout=WAIT_MS)
    return (
        pg.locator(".verdict").inner_text(),
        _image_digest(pg, ".escalation-curve img"),
        pg.locator(".event-log").inner_text(),
    )


def _image_digest(pg, selector: str) -> str:
    """SHA-256 of the PNG an <img> shows (its src is a blob URL), prefixed 'png:' if it is a PNG."""
    return pg.locator(selector).evaluate(
        """async img => {
            const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
            const png = bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
            return (png ? 'png:' : 'other:') + Array.from(digest, b => b.toString(16).padStart(2, '0')).join('');
        }"""
    )


def test_run_toggle_a_measure_and_see_curve_and_log_change(page):
    verdict0, curve0, log0 = _run_and_read(page)
    assert "measures: none" in verdict0 and "P(peak rung >= 4" in verdict0
    assert curve0.startswith("png:") and "day 1" in log0
    # the after-action report of replication 0 beside its log: a summary, quiet stretches, routine counted
    report = page.locator(".after-action").inner_text()
    assert report.startswith("Replication 0") and re.search(r"\d+ incidents? \(\d+ serious or worse\)", report)
    assert re.search(r"Days? \d+(-\d+)?: quiet", report) and "near-routine encounter" in report
    page.screenshot(path=str(ARTIFACTS / "app_run_none.png"), full_page=True)

    page.locator("label").filter(has_text="mil_to_mil_meetings").first.click()
    page.locator("label").filter(has_text="hotline").first.click()
    verdict1, curve1, log1 = _run_and_read(page)
    assert "measures: hotline, mil_to_mil_meetings" in verdict1
    assert curve1 != curve0 and log1 != log0
    assert "meeting" in log1.lower()  # the meetings now happen in the log
    page.screenshot(path=str(ARTIFACTS / "app_run_measures.png"), full_page=True)
    assert page.get_by_role("button", name="Download outputs (zip)").is_visible()


def test_compare_two_measure_sets_side_by_side(page):
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Compare A and B").click()
    page.get_by_text("Paired difference B − A").wait_for(timeout=WAIT_MS)
    assert page.get_by_text("A: no measures").is_visible()
    # the tab names the project; nothing sits over the result's last line (Solara's "runs on Solara" badge did)
    assert page.title() == "NATO–Russia escalation workshop"
    assert page.get_by_text("runs on Solara").count() == 0
    result = page.get_by_text("Paired difference B − A")
    result.scroll_into_view_if_needed()
    covered = result.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   const top = document.elementFromPoint(r.right - 4, r.bottom - 4);
                   return !(el === top || el.contains(top)); }"""
    )
    assert not covered
    page.screenshot(path=str(ARTIFACTS / "app_compare.png"), full_page=True)


def test_report_card_tab_shows_the_card_for_the_chosen_bundles(page):
    """The report card at its default settings: every bundle, the placebo and the ranking on one page."""
    page.get_by_role("tab", name="Report card").click()
    estimate = page.locator(".card-estimate")
    page.get_by_text("estimated time about").wait_for(timeout=WAIT_MS)  # shown before it starts
    assert "18 bundle-era pairs × 30 replications = 540 runs" in estimate.inner_text()
    page.get_by_role("button", name="Make the report card").click()
    card = page.locator(".report-card")
    card.wait_for(timeout=WAIT_MS * 2)
    text = card.inner_text()
    for bundle in ("eln_seven", "eln_riac_basic", "eln_riac_enhanced", "hotline", "desync_placebo"):
        assert bundle in text
    assert "Effects in each setting" in text and "Effects pooled over the settings" in text
    assert "Estimand: the paired effect in a setting drawn at random with equal weights" in text
    assert "Ranking" in text and "maximum regret" in text
    assert "30 replications of each" in text and "drawn from the calibration's posterior" in text
    assert "Time to escalation" in text and "Back to vigilance" in text
    # per setting (P(rung >= 4), crisis days), pooled effects, by era, ranking, regret, time to force, back to vigilance
    assert card.locator("table").count() == 8
    page.screenshot(path=str(ARTIFACTS / "app_report_card.png"), full_page=True)


def test_play_a_side_take_decisions_and_facilitate(page):
    page.get_by_role("tab", name="Play").click()
    page.get_by_role("button", name="New game").click()
    status = page.locator(".game-status")
    status.wait_for(timeout=WAIT_MS)
    assert "day 1 00:00" in status.inner_text()
    page.get_by_role("button", name="Run to next decision").click()
    card = page.locator(".decision-card")
    card.wait_for(timeout=WAIT_MS)
    assert "What happened" in card.inner_text() and "What is known" in card.inner_text()
    page.screenshot(path=str(ARTIFACTS / "app_play_decision.png"), full_page=True)
    first = card.inner_text()

    page.get_by_role("button", name="hold (rung 1)").click()
    page.get_by_text("You decided: hold").wait_for(timeout=WAIT_MS)
    # the log may re-render a moment after the status line: wait for the line, fail if it never comes
    page.locator(".event-log", has_text="decides: note it, with no visible reply").wait_for(timeout=WAIT_MS)

    # facilitator: an inject by hand, then the clock runs on to the next decision
    page.get_by_role("button", name="Inject now").click()
    page.get_by_text("Inject added").wait_for(timeout=WAIT_MS)
    page.locator(".event-log", has_text="Facilitator inject").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="Resume clock").click()
    page.wait_for_function(
        "old => { const c = document.querySelector('.decision-card'); return c && c.innerText !== old; }",
        arg=first,
        timeout=WAIT_MS,
    )
    assert (
        "Decision 2" in page.locator(".decision-card").inner_text()
        or "Decision 3" in page.locator(".decision-card").inner_text()
    )
    page.screenshot(path=str(ARTIFACTS / "app_play_facilitator.png"), full_page=True)


def test_play_a_whole_game_to_the_debrief(page):
    page.get_by_role("tab", name="Play").click()
    page.get_by_role("button", name="New game").click()
    page.locator(".game-status").wait_for(timeout=WAIT_MS)
    debrief_button = page.get_by_role("button", name="Debrief: compare with the model")
    decisions = 0
    for _ in range(200):
        if debrief_button.count():
            break
        if page.locator(".decision-card").count():
            title = page.locator(".decision-card").inner_text()
            page.get_by_role("button", name="hold (rung 1)").click()
            decisions += 1
            page.wait_for_function(
                "old => { const c = document.querySelector('.decision-card'); return !c || c.innerText !== old; }",
                arg=title,
                timeout=WAIT_MS,
            )
        else:
            page.get_by_role("button", name="Run to next decision").click()
            page.locator(".decision-card").or_(debrief_button).first.wait_for(timeout=WAIT_MS)
    assert decisions > 0 and debrief_button.count()
    assert "The game is over" in page.locator("body").inner_text()
    debrief_button.click()
    page.locator(".debrief").wait_for(timeout=WAIT_MS)
    text = page.locator(".debrief").inner_text()
    assert f"after {decisions} decisions" in text and "of 200 runs peaked at rung" in text
    report = page.locator(".after-action").inner_text()  # the game's after-action report, to its end
    assert report.startswith("Your game, to the end of day") and "Peak: rung" in report
    page.screenshot(path=str(ARTIFACTS / "app_play_debrief.png"), full_page=True)
