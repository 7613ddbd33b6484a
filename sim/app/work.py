"""Bounded, cancellable, fairly shared work for the web app (no Solara here, so it can be tested alone).

Several participants share one server. Each replication a page asks for is one *turn*; turns
are granted first come, first served, one at a time, and a run asks again for each
replication, so two runs started together advance together (round robin) instead of the
second waiting for the first. A run stops at its next turn when it is cancelled: the Cancel
button, or the participant's page closing (its session ends). What a page may ask for is
bounded by ``max_replications`` (``escalation app --max-replications``).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sim.run.errors import UserError
from sim.run.runner import Ensemble, run_replication

DEFAULT_MAX_REPLICATIONS = 2000


class Cancelled(Exception):
    """The work was cancelled (Cancel pressed, or the page that asked for it closed)."""


def max_replications() -> int:
    """The facilitator's bound on replications per request (``ESCALATION_MAX_REPLICATIONS``)."""
    try:
        value = int(os.environ.get("ESCALATION_MAX_REPLICATIONS", DEFAULT_MAX_REPLICATIONS))
    except ValueError:
        return DEFAULT_MAX_REPLICATIONS
    return value if value >= 1 else DEFAULT_MAX_REPLICATIONS


class FairShare:
    """Turns granted in arrival order, ``slots`` at a time; a waiting turn gives up when it is cancelled."""

    def __init__(self, slots: int = 1):
        self.slots = slots
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._running = 0
        self.granted: list[str] = []  # who got each turn, in order (kept short: for tests and diagnostics)

    @contextmanager
    def turn(self, who: str, cancelled: Callable[[], bool] = lambda: False) -> Iterator[None]:
        """Wait for ``who``'s turn (first come, first served), hold it while inside, then pass it on."""
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            while not (self._queue[0] is ticket and self._running < self.slots):
                if cancelled():
                    self._queue.remove(ticket)
                    self._cond.notify_all()
                    raise Cancelled
                self._cond.wait(0.1)
            self._queue.popleft()
            self._running += 1
            self.granted.append(who)
            del self.granted[:-1000]
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


SHARE = FairShare(slots=1)


def check_request(n: int, limit: int | None = None) -> int:
    """``n`` replications, if a page may ask for them; ``UserError`` otherwise."""
    limit = max_replications() if limit is None else limit
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limit:
        raise UserError(f"replications must be between 1 and {limit:,} (the facilitator's limit), got {n}")
    return n


def run_bounded(
    settings,
    n: int,
    *,
    who: str,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int], None] | None = None,
    record_events: bool = True,
    share: FairShare = SHARE,
    limit: int | None = None,
) -> Ensemble:
    """``n`` replications of ``settings`` (a ``GameSettings``), one fair turn each; ``Cancelled`` when cancelled."""
    check_request(n, limit)
    enabled = [k for k, v in settings.measures.items() if v.get("enabled")]
    ensemble = Ensemble(settings.scenario.name, settings.seed, enabled)
    for i in range(n):
        if cancelled():
            raise Cancelled
        with share.turn(who, cancelled):
            rep = run_replication(
                settings.scenario, settings.params, settings.measures, settings.seed, i, record_events
            )
        ensemble.replications.append(rep)
        if progress:
            progress(1)
    return ensemble


def card_timing(scenario: str, eras: list[str], seed: int = 0, reps: int = 2) -> tuple[float, float]:
    """Seconds a report card spends per bundle-era pair on its settings, and per replication.

    Timed here on a small card (no measures and the placebo, ``reps`` replications each per era); the first
    pair's settings are left out of the mean (they pay for loading the configuration once).
    """
    import time

    from sim.run.runner import run_replications
    from sim.studies.card import run_card

    marks: list[tuple[float, float]] = []  # (start, end) of each pair's replications
    reps_run = [0]

    def runner(spec, params, measures, n, seed_):
        start = time.perf_counter()
        ens = run_replications(
            spec, params, measures, n=n, seed=seed_, workers=1, record_events=False, record_timeseries=False
        )
        marks.append((start, time.perf_counter()))
        reps_run[0] += n
        return ens

    run_card([], [scenario], eras, reps, seed, "posterior", runner=runner)
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(marks)]
    setup = sum(gaps) / len(gaps) if gaps else 0.0
    return setup, sum(e - s for s, e in marks) / max(reps_run[0], 1)


CARD_TABLES_S = 1.0  # the card's tables and text after the runs (0.56 s measured for 6 bundles x 3 eras x 30)


def card_estimate(pairs: int, n: int, setup_s: float, per_replication_s: float) -> float:
    """Seconds a card of ``pairs`` bundle-era pairs of ``n`` replications should take, with nobody else running."""
    return pairs * (setup_s + n * per_replication_s) + CARD_TABLES_S


def duration_text(seconds: float) -> str:
    """The estimate in words: "about 40 s", "about 3 min"."""
    if seconds < 90:
        return f"about {max(round(seconds), 1)} s"
    return f"about {round(seconds / 60)} min"


REPLAY_SECONDS = 60.0  # the longest a dropped save file may take to replay


def replay_bounded(
    save: dict,
    where: str,
    *,
    who: str,
    cancelled: Callable[[], bool] = lambda: False,
    seconds: float = REPLAY_SECONDS,
    share: FairShare = SHARE,
):
    """Replay a checked save file (``saves.parse_save``) in one fair turn, stopping on cancel or after ``seconds``.

    The save's settings are checked by the same ranges as a run; each replayed step runs within
    the replication's event budget. Returns the ``Game``; ``Cancelled``, or a ``UserError`` naming
    the file when it runs over its time.
    """
    from sim.play.game import Game
    from sim.play.saves import settings_from_save

    settings = settings_from_save(save, where)
    with share.turn(who, cancelled):
        deadline = time.monotonic() + seconds

        def check() -> None:
            if cancelled():
                raise Cancelled
            if time.monotonic() > deadline:
                raise UserError(f"{where}: replaying its commands took over {seconds:g} s (the app's limit); stopped")

        return Game.replay(settings, save["commands"], check=check, where=where)
