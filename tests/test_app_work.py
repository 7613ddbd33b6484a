"""The app's work is bounded, cancellable and shared fairly between participants (no browser needed)."""

from __future__ import annotations

import threading
import time

import pytest

from sim.app.work import Cancelled, FairShare, check_request, run_bounded
from sim.errors import UserError
from sim.saves import compose_settings


@pytest.fixture(scope="module")
def settings():
    return compose_settings(["scenario=black_sea_transit"], "nato", seed=1)


def test_requests_beyond_the_facilitators_bound_are_refused():
    assert check_request(100, 2000) == 100
    for n in (0, -1, 2001, 10**9):
        with pytest.raises(UserError, match="between 1 and 2,000"):
            check_request(n, 2000)


def test_a_cancelled_run_stops_at_its_next_replication(settings):
    done = []
    flag = threading.Event()

    def progress(k):
        done.append(k)
        if len(done) == 3:
            flag.set()  # Cancel pressed (or the page closed) after the third replication

    with pytest.raises(Cancelled):
        run_bounded(settings, 1000, who="a", cancelled=flag.is_set, progress=progress, limit=1000, share=FairShare())
    assert len(done) == 3


def test_runs_started_together_advance_together(settings):
    """Two participants' runs alternate turns instead of the second waiting for the first to finish."""
    share = FairShare(slots=1)
    results = {}
    together = threading.Barrier(2)

    def participant(name):
        together.wait()  # both press Run at the same moment
        results[name] = run_bounded(settings, 12, who=name, share=share, record_events=False, limit=100)

    threads = [threading.Thread(target=participant, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    order = share.granted
    assert sorted(order) == ["alice"] * 12 + ["bob"] * 12
    first = {n: order.index(n) for n in ("alice", "bob")}
    last = {n: len(order) - 1 - order[::-1].index(n) for n in ("alice", "bob")}
    assert max(first.values()) <= 2 and min(last.values()) >= 21  # both start at once and finish together
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches >= 15  # close to strict alternation (23 switches), far from one block each (1 switch)
    assert [r.outcome for r in results["alice"].replications] == [r.outcome for r in results["bob"].replications]


def test_a_waiting_turn_gives_up_when_cancelled():
    share = FairShare(slots=1)
    release = threading.Event()
    holding = threading.Event()

    def hold():
        with share.turn("first"):
            holding.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    holding.wait(10)
    start = time.monotonic()
    with pytest.raises(Cancelled):
        with share.turn("second", cancelled=lambda: time.monotonic() - start > 0.3):
            pass
    assert time.monotonic() - start < 2
    release.set()
    t.join()


def test_closing_a_session_stops_its_running_work(settings):
    """The page's session-end hook (Solara's on_kernel_start cleanup) cancels the work that session started."""
    pytest.importorskip("solara")
    from sim.app import page

    class Task:  # the page's task object: current until cancelled
        progress = 0.0

        @staticmethod
        def is_current() -> bool:
            return True

    cleanup = page._track_session()
    threading.Timer(0.3, cleanup).start()  # the participant closes the tab while the run goes on
    start = time.monotonic()
    with pytest.raises(Cancelled):
        page._work(Task, 1000, settings, record_events=False)
    assert time.monotonic() - start < 5  # 1,000 replications would take far longer
