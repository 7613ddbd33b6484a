"""The app's work is bounded, cancellable and shared fairly between participants (no browser needed)."""

from __future__ import annotations

import threading
import time

import pytest

from sim.app.work import Cancelled, FairShare, check_request, run_bounded
from sim.play.saves import compose_settings
from sim.run.errors import UserError


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
    held, gate = threading.Event(), threading.Event()

    def busy():  # a third run holds the only slot until both participants are waiting
        with share.turn("gate"):
            held.set()
            gate.wait(30)

    def participant(name):
        results[name] = run_bounded(settings, 12, who=name, share=share, record_events=False, limit=100)

    threading.Thread(target=busy).start()
    held.wait(30)
    threads = [threading.Thread(target=participant, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(share._queue) < 2:  # both have asked for their first turn
        assert time.monotonic() < deadline
        time.sleep(0.01)
    gate.set()
    for t in threads:
        t.join(timeout=120)
    order = share.granted[1:]
    assert sorted(order) == ["alice"] * 12 + ["bob"] * 12
    first = {n: order.index(n) for n in ("alice", "bob")}
    last = {n: len(order) - 1 - order[::-1].index(n) for n in ("alice", "bob")}
    assert max(first.values()) == 1 and min(last.values()) >= 21  # both start at once and finish together
    repeats = sum(a == b for a, b in zip(order, order[1:], strict=False))
    assert repeats <= 2  # alternating turns (a run asks again while the other runs), not one block each (22)
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


def test_the_page_offers_eras_and_bundles_and_passes_them_to_the_run():
    """The Run tab's era and bundle choices reach the composed settings: a bundle switches its measures on."""
    pytest.importorskip("solara")
    from sim.app import page
    from sim.play.saves import bundle_members, compose_settings

    assert {"cooperative_2004", "confrontation_2014", "crisis_2022"} <= set(page.ERAS)
    assert {"none", "eln_seven", "all"} <= set(page.BUNDLES)
    try:
        page.choose_bundle("eln_seven")
        assert set(page.enabled.value) == set(bundle_members("eln_seven")) and len(page.enabled.value) >= 5
        page.era.set("crisis_2022")
        overrides = page.overrides_for(page.enabled.value)
        assert "era=crisis_2022" in overrides
        s = compose_settings(overrides, "nato")
        assert s.era == "crisis_2022"
        assert {m for m, v in s.measures.items() if v["enabled"]} == set(bundle_members("eln_seven"))
    finally:
        page.era.set(page.OWN_ERA)
        page.choose_bundle("none")
    assert page.enabled.value == () and not any(o.startswith("era=") for o in page.overrides_for(()))


def test_a_report_card_request_is_bounded_by_its_whole_size():
    """Replications x (bundles + baseline + placebo) x eras must fit the facilitator's limit."""
    pytest.importorskip("solara")
    from sim.app import page

    # 3 bundles + none + placebo = 5, x 3 eras = 15 bundle-era pairs
    assert page.card_request(40, ["eln_seven", "hotline", "eln_riac_basic"], limit=600) == 40
    with pytest.raises(UserError, match=r"41 replications x 15 bundle-era pairs = 615 runs, above .* 600"):
        page.card_request(41, ["eln_seven", "hotline", "eln_riac_basic"], limit=600)
    with pytest.raises(UserError, match="at least 10"):
        page.card_request(5, ["eln_seven"], limit=600)
    # the default request fits the default limit
    assert page.card_request(page.card_replications.value, page.card_bundles.value) == page.card_replications.value


def test_the_app_card_runs_the_same_pairs_as_the_command(tmp_path):
    """The app's runner (fair turns) gives the card the same replications as escalation card's own."""
    from types import SimpleNamespace

    from sim.studies.card import run_card

    def bounded(spec, params, measures, n, seed):
        return run_bounded(
            SimpleNamespace(scenario=spec, params=params, measures=measures, seed=seed),
            n,
            who="t",
            record_events=False,
            share=FairShare(),
        )

    a = run_card(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 10, 4, "posterior")
    b = run_card(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 10, 4, "posterior", runner=bounded)
    cols = ["bundle", "replication", "peak_rung", "reached_rung_4", "crisis_days"]
    assert a.outcomes[cols].equals(b.outcomes[cols])


def test_the_report_cards_estimated_time_is_the_time_it_takes(monkeypatch):
    """The Report card tab shows an estimate before it starts: a small card timed on this machine, scaled to the
    requested one. Here 3 bundle-era pairs x 20 replications (no measures, the placebo, the hotline; crisis
    era): the estimate is within a factor of 3 of the card's own time. The arithmetic: 3 pairs x (0.5 s + 20 x
    0.01 s) + 1 s for the tables = 3.1 s.
    """
    from sim.app.work import CARD_TABLES_S, card_estimate, card_timing, duration_text
    from sim.studies.card import card_tables, run_card

    assert card_estimate(3, 20, 0.5, 0.01) == pytest.approx(3 * (0.5 + 0.2) + CARD_TABLES_S)
    assert duration_text(3.1) == "about 3 s" and duration_text(240) == "about 4 min"
    setup, per_rep = card_timing("baltic_air_policing", ["crisis_2022"])
    assert setup > 0 and per_rep > 0
    estimate = card_estimate(3, 20, setup, per_rep)
    start = time.perf_counter()
    card_tables(run_card(["hotline"], ["baltic_air_policing"], ["crisis_2022"], 20, 0, "posterior"))
    took = time.perf_counter() - start
    assert took / 3 < estimate < took * 3, (estimate, took)
