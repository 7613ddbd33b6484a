"""The event engine: a priority queue of callbacks, the clock, and the record of state changes.

The model moves from event to event (docs/ENGINE.md). Between events tension and public pressure
relax analytically toward their baselines.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.core.budget import EventBudgetExceeded
from sim.core.ladder import Rung

if TYPE_CHECKING:
    from sim.core.view import ModelView


class Recurring:
    """A callback repeated on a ``mesa.time.Schedule`` (interval, start, end, count), up to the horizon."""

    def __init__(self, model: ModelView, fn: Callable[[], None], schedule: Any):
        self.model, self.fn, self.schedule, self.done = model, fn, schedule, 0

    def interval(self) -> float:
        """Hours to the next call (a schedule's interval may be a function of the model)."""
        i = self.schedule.interval
        return float(i(self.model) if callable(i) else i)

    def next(self, at: float | None = None) -> None:
        """Schedule the next call (at ``at``, else one interval on), unless the schedule is over."""
        s, model = self.schedule, self.model
        t = model.time + self.interval() if at is None else at
        if (s.count is not None and self.done >= s.count) or (s.end is not None and t > s.end) or t > model.horizon_h:
            return
        model.at(t, self.fire)

    def fire(self) -> None:
        """Call, then schedule the next."""
        self.done += 1
        self.fn()
        self.next()


class Draws:
    """Scalar draws from one stream, made a block at a time with numpy (the same distributions, in numpy's order).

    For the frequent draws of the activity layer (sortie waits, patrol zones, scrambles), and of the
    incidents and their perception: a scalar call into numpy costs about as much as a whole
    event's bookkeeping. Each kind of draw has its own block, so a change in how many draws of one
    kind a run makes does not shift the others (common random numbers between configurations).
    """

    __slots__ = ("_exponential", "_name", "_normal", "_random", "_rng", "_streams")
    BLOCK = 256

    def __init__(self, rng: Any, name: str | None = None):
        """Draw from ``rng``, a numpy Generator; or, with ``name``, from ``rng[name]`` taken at the first block.

        A model's streams are made on first use (``sim.core.model.Streams``): the stream is looked up
        by name, not held as a bound method, so a copy of the model (``copy.deepcopy``) draws from its
        own copy of the streams.
        """
        self._rng, self._streams, self._name = (rng, None, None) if name is None else (None, rng, name)
        self._exponential: list[float] = []
        self._random: list[float] = []
        self._normal: list[float] = []

    @property
    def rng(self) -> Any:
        """The stream the blocks come from."""
        if self._rng is None:
            self._rng = self._streams[self._name]
        return self._rng

    @rng.setter
    def rng(self, stream: Any) -> None:  # the blocks already drawn are kept (the benchmark counts draws so)
        self._rng = stream

    def exponential(self) -> float:
        """A unit exponential (scale it by the mean)."""
        if not self._exponential:
            self._exponential = self.rng.standard_exponential(self.BLOCK).tolist()[::-1]
        return self._exponential.pop()

    def random(self) -> float:
        """A uniform on [0, 1)."""
        if not self._random:
            self._random = self.rng.random(self.BLOCK).tolist()[::-1]
        return self._random.pop()

    def normal(self) -> float:
        """A standard normal."""
        if not self._normal:
            self._normal = self.rng.standard_normal(self.BLOCK).tolist()[::-1]
        return self._normal.pop()


def _nothing() -> None:
    """An event that only marks a time (a dangerous incident leaves the ladder then)."""


class EngineMixin:
    """Time: the event list, the clock, the change points of the state."""

    def run(self) -> None:
        """Run to the scenario's horizon."""
        self.run_until(self.horizon_h)

    def run_until(self, end_time: float) -> None:
        """Fire every event due up to ``end_time`` in time order, then move the clock to ``end_time``.

        A routine event (``at_routine``: a platform going out or coming back) only moves the clock:
        tension and pressure are relaxed, and the state checked for a change point, at the next
        event that may read or change them (relaxing is exponential, so one step over the routine
        events' times equals one step at each of them, to rounding).

        A player's decision point stops the loop (``PlayerTurn``) at its event's time; the events
        still due stay queued, and the next call goes on from there.
        """
        queue, budget = self._queue, self.event_budget
        left = budget - self.events_fired  # each pass of the loop fires one event
        self._note_state()  # what a player did since the last call
        while True:
            if self._redraw:
                self._draw_next_incident()
            if queue:
                entry = queue[0]
                t = entry[0]
            else:
                t = math.inf
            if self._incident_at < t:  # the next encounter or violation is held apart: it is redrawn often
                t = self._incident_at
                if t > end_time:
                    break
                fn, routine = self._activity_incident, False
            else:
                if t > end_time:
                    break
                _, _, fn, routine = heapq.heappop(queue)
            if routine:
                self.time = t
                fn()
            else:
                if t > self._settled:
                    self._pass_time(t)
                fn()
                self._note_state()
            left -= 1
            if left < 0:
                raise EventBudgetExceeded(self.events_fired, self.time, budget)
        if end_time > self._settled:
            self._pass_time(end_time)

    @property
    def events_fired(self) -> int:
        """Events fired so far: calls taken off the event list, and encounters or violations."""
        return self._seq - len(self._queue) + self._incidents_fired

    def step(self) -> None:
        """Mesa's step: one hour of model time, event by event."""
        self.run_until(self.time + 1.0)

    def later(self, delay_h: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` after ``delay_h`` hours (the model holds it until then)."""
        self.at(self.time + delay_h, fn)

    def at(self, time_h: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` at model time ``time_h`` (after the calls already due then)."""
        if time_h < self.time:
            raise ValueError(f"cannot schedule at {time_h} h: the model is at {self.time} h")
        self._seq += 1
        heapq.heappush(self._queue, (time_h, self._seq, fn, False))

    def at_routine(self, time_h: float, fn: Callable[[], None]) -> None:
        """Call ``fn`` at ``time_h`` as a routine event, for which the clock alone moves (``run_until``).

        Routine: it moves platforms only, reading no tension, trust or pressure and changing no rung.
        """
        self._seq += 1
        heapq.heappush(self._queue, (time_h, self._seq, fn, True))

    def schedule_event(
        self, function: Callable, *, at: float | None = None, after: float | None = None, priority: Any = None
    ) -> None:
        """Mesa's one-off event, on this model's event list (held strongly; ``priority`` is not used)."""
        if (at is None) == (after is None):
            raise ValueError("Specify exactly one of 'at' or 'after'")
        self.at(at if at is not None else self.time + after, function)  # type: ignore[operator]

    def schedule_recurring(self, function: Callable, schedule: Any, priority: Any = None) -> None:
        """Mesa's recurring event (a ``mesa.time.Schedule``), on this model's event list."""
        Recurring(self, function, schedule).next(schedule.start if schedule.start is not None else None)

    def _pass_time(self, t: float) -> None:
        """Move the clock to ``t``: tension and pressure relax analytically, crisis time accrues."""
        last = self._last
        dt, rung = t - self._settled, last[0]
        if rung >= Rung.SHOW_OF_FORCE:
            self.crisis_hours += dt
        factor = math.exp(-dt / self._relax_h)
        (nato, nato_base), (russia, russia_base) = self._relaxing
        nato.tension = nato_base + (nato.tension - nato_base) * factor
        nato.audience *= factor
        nato.threat *= factor
        russia.tension = russia_base + (russia.tension - russia_base) * factor
        russia.audience *= factor
        russia.threat *= factor
        self.time = self._settled = t
        self._last = (rung, nato.tension, russia.tension, last[3], last[4])  # relaxing is not a change

    def _note_state(self) -> None:
        """Record a change point if an event changed the state; follow the rung's peak and return."""
        (nato, _), (russia, _) = self._relaxing
        rung = nato.level if nato.level > russia.level else russia.level
        if rung < Rung.DANGEROUS_INCIDENT and self.time < self._incident_until:
            rung = int(Rung.DANGEROUS_INCIDENT)
        now = (rung, nato.tension, russia.tension, nato.trust, russia.trust)
        if now == self._last:
            return
        rung = now[0]
        if rung != self._last[0]:
            self._note_rung(rung)
            if self._peak_time is not None and self._back_time is None and rung <= Rung.HEIGHTENED_VIGILANCE:
                self._back_time = self.time
        self._last = now
        if self.record_changes:
            if self.changes[-1][0] == self.time:
                self.changes[-1] = (self.time, *now)
            else:
                self.changes.append((self.time, *now))

    def _note_rung(self, rung: int) -> None:
        if rung > self.peak_rung:
            for r in range(self.peak_rung + 1, rung + 1):
                self.first_reached[r] = self.time  # time to each rung: what survival curves read
            self.peak_rung = rung
            self._peak_time, self._back_time = self.time, None
