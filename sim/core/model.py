"""The escalation model: a Mesa model of NATO members and Russia meeting in incidents.

Time unit: one hour, but nothing happens by the hour. The model moves from event to event
(docs/ENGINE.md): sorties start and end, quick-reaction pairs scramble against flights near their
airspace, encounters and airspace violations arrive as the next events of a Poisson process whose
rate is the current activity's (redrawn whenever activity changes: exact for piecewise-constant
rates), reports arrive after reporting delays, calls after the channel's latency, decisions fall
when the decision time is up, signals reach the other side, injects and exercises fire on schedule,
levels step down when their hold time is up. Between events tension and public pressure relax
analytically toward their baselines.

The event list is a plain priority queue inside the model (``heapq`` of time, sequence number,
callback): it holds every callback strongly until it fires, costs about a tenth of Mesa's event
machinery per event, and keeps Mesa's order (time, then first scheduled first). Mesa's Model and
agents are kept; Mesa's hourly step and its weakly-held event list are not used.

The state is recorded only when an event changes it (:attr:`changes`): time, rung, tension and
trust per side. ``sim.series`` resamples it to hours when asked.
"""

from __future__ import annotations

import heapq
import math
import operator
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import mesa
import numpy as np

from sim.core.agents import (
    INTERCEPTOR_KINDS,
    POSTURES,
    SHIP_PASS_KINDS,
    Act,
    Command,
    DecisionMaker,
    Deliberation,
    Leadership,
    Platform,
    SideState,
    Statement,
    clip01,
    logistic,
    logit,
)
from sim.core.alliance import MEMBERS
from sim.core.budget import EventBudgetExceeded
from sim.core.comms import Route, shared_network
from sim.core.ladder import Choice, ElnCategory, Response, Rung, response_for
from sim.core.measures import Measure
from sim.core.narrative import RESPONSE_PHRASE, forces, incident_text, military_text, short
from sim.core.players import DecisionPoint, PlayerTurn
from sim.core.spec import (
    INCIDENT_TYPES,
    BackgroundSpec,
    ExerciseSpec,
    InjectSpec,
    ModelParams,
    ScenarioSpec,
    Side,
    Traits,
)
from sim.core.theatre import shared_theatre

# Appending a stream never changes the others: each is keyed by its position.
MASK64 = (1 << 64) - 1


def keyed_uniform(base: int, key: str) -> float:
    """A uniform draw on [0, 1) fixed by the replication's seed and a key naming the occasion.

    Calls and statements draw this way (splitmix64 of the seed and a CRC of the key) rather than
    from a shared sequence, so whether a given call about a given act gets through, and what the
    other side says, is the same in every configuration that makes that call: adding or removing
    a channel does not shift the draws of other calls (common random numbers per decision).
    """
    z = (base ^ (zlib.crc32(key.encode()) * 0x9E3779B97F4A7C15)) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return ((z ^ (z >> 31)) >> 11) * 2.0**-53


STREAMS = (
    "mesa",
    "activity",
    "incidents",
    "perception",
    "decisions",
    "channels",
    "traits",
    "measures",
    "background",
    "statements",
    "consequences",
    "posture",
)  # "channels" and "statements" are kept for positions; calls draw by key
AIR_SEA_TYPES = frozenset({"air_intercept", "at_sea_close_encounter", "collision", "weapons_lock", "drone_shootdown"})
# Types whose ladder rung is fixed by what happened rather than by severity (PRODUCT.md ladder).
FIXED_RUNG = {"drone_shootdown": int(Rung.LIMITED_FORCE)}
INF_KIND = "intermediate_range_missile"


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``i``: child ``i`` of ``SeedSequence(seed)``, whoever runs it."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def clock(time_h: float) -> str:
    """``day D HH:MM`` for a model time in hours (day 1 starts at time 0)."""
    minutes = int(round(time_h * 60))
    day, rem = divmod(minutes, 24 * 60)
    return f"day {day + 1} {rem // 60:02d}:{rem % 60:02d}"


class EscalationModel(mesa.Model):
    """NATO-Russia incident escalation in one scenario, with a set of risk-reduction measures.

    Args:
        scenario: theatre, forces, actors, channels, injects and exercises.
        params: model parameters (see ``conf/model/default.yaml`` for units and bases).
        measures: enabled measures (``sim.core.measures.build``).
        seed: a ``SeedSequence`` (one per replication) or an int.
        record_events: keep the narrative event log (off for speed when not needed).
        players: sides played by people (``sim.core.players``): their decisions stop the model.
        record_changes: keep the change points of the state (:attr:`changes`).
    """

    # Mesa's ``time`` is an observable: every read and write goes through a signal descriptor.
    # Nothing observes this model's clock, so it is a plain attribute here.
    time: float = 0.0
    # Events a run may fire before ``run_until`` raises ``EventBudgetExceeded`` (set by the caller).
    event_budget: float = math.inf

    def __init__(
        self,
        scenario: ScenarioSpec,
        params: ModelParams,
        measures: Sequence[Measure] = (),
        seed: np.random.SeedSequence | int = 0,
        record_events: bool = True,
        players: Iterable[Side] = (),
        record_changes: bool = True,
    ):
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        seqs = {
            name: np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, k)) for k, name in enumerate(STREAMS)
        }
        super().__init__(rng=np.random.default_rng(seqs["mesa"]))
        self._default_schedule.stop()  # no hourly step: time moves from event to event
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self._incidents_fired = 0  # encounters and violations, held apart from the list
        # One generator per mechanism: a measure that changes how often one mechanism draws does
        # not shift the draws of the others (better common random numbers between configurations).
        self.streams = {name: np.random.default_rng(s) for name, s in seqs.items() if name != "mesa"}
        self._key_base = int(
            np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, len(STREAMS))).generate_state(1, np.uint64)[0]
        )
        self.spec = scenario
        self.params = params
        self.measures = list(measures)
        self.record_events = record_events
        self.horizon_h = scenario.horizon_h
        self.agreements = frozenset(scenario.agreements)
        self.theatre = shared_theatre(scenario.zones, scenario.links)
        extra = [ch for m in self.measures for ch in m.channels(scenario)]
        self.comms = shared_network(scenario, extra, params.internal_relay_h)

        self.sides = {
            side: SideState(tension=scenario.baseline_tension[side.value], trust=scenario.baseline_trust[side.value])
            for side in Side
        }
        self._relaxing = [(self.sides[s], scenario.baseline_tension[s.value]) for s in (Side.NATO, Side.RUSSIA)]
        self._level_until = dict.fromkeys(Side, 0.0)
        self._incident_until = 0.0
        self._relax_h = params.tension_relax_h
        p, th = params, self.theatre
        # Encounter rate of a co-located pair falls off with the distance between their zones;
        # the violation hazard with the distance from the zone to the other side's territory.
        self._proximity = {
            (a.id, b.id): p.encounter_rate_per_h * math.exp(-th.distance(a.id, b.id) / p.encounter_range_km)
            for a in scenario.zones
            for b in scenario.zones
        }
        self._exposure = {
            side: {
                z.id: p.violation_rate_per_h
                * math.exp(-th.distance_to_territory(z.id, side.other) / p.violation_range_km)
                for z in scenario.zones
            }
            for side in Side
        }
        self.players = frozenset(players)
        self.decision_points: list[DecisionPoint] = []
        self._decisions_opened = 0
        self.events: list[dict[str, Any]] = []
        self.incident_counts: Counter[str] = Counter()
        self.channel_uses: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()
        self.decision_record: list[tuple[float, float]] = []  # (known, disturbance) of each command reply
        self.unexplained: dict[Side, list[tuple[Act, float, float]]] = {s: [] for s in Side}
        self.referrals = 0
        self.triaged = 0
        self.calls_too_late = 0
        self.lies_found_out = 0
        self.casualties = 0
        self.suspensions = 0
        self.uses_of_force = 0
        self.peak_rung = 0
        self.first_reached: dict[int, float] = {}
        self._peak_time: float | None = None
        self._back_time: float | None = None
        self.crisis_hours = 0.0
        self.exercise_boost = dict.fromkeys(Side, 0.0)
        self.scrambles = dict.fromkeys(Side, 0)  # quick-reaction launches, by the scrambling side
        # Russian flight activity of the scenario's era (fitted to Baltic Air Policing scrambles).
        self.era_activity = {Side.NATO: 1.0, Side.RUSSIA: params.russian_activity_by_era.get(scenario.era, 1.0)}

        forces = [f for f in scenario.forces if not any(m.withdraws(self, f) for m in self.measures)]
        self.airborne_or_at_sea: set[Platform] = set()
        self.platforms = [Platform(self, f, self._jitter(f.traits)) for f in forces]
        self.commands: dict[Side, Command] = {}
        self.leadership: dict[Side, Leadership] = {}
        for a in scenario.actors:
            if a.role == "command":
                self.commands.setdefault(a.side, Command(self, a, self._jitter(a.traits)))
            else:
                self.leadership.setdefault(a.side, Leadership(self, a, self._jitter(a.traits)))
        self._hazards: list[tuple[str, Platform, Platform | None, float]] | None = None
        self._hazard_total = 0.0
        self._pair_rate: dict[tuple[Platform, Platform, str, str], float] = {}
        self._air_rate: dict[tuple[Platform, str], float] = {}
        self._hazard_memo: dict[frozenset, tuple[list, float]] = {}  # hazards by who is out where
        self._redraw = False  # the activity changed: draw the next encounter or violation again
        self._incident_at = math.inf  # when the next encounter or violation is due

        for inject in scenario.injects:
            self.at(inject.at_h, InjectRun(self, inject).fire)
        for exercise in scenario.exercises:
            self.at(exercise.start_h, ExerciseRun(self, exercise).start)
        for background in scenario.background:
            BackgroundRun(self, background).schedule_next()
        self._review = PostureReview(self)
        for m in self.measures:
            m.setup(self)
        for pl in self.platforms:
            pl.schedule_next_sortie()

        self.record_changes = record_changes
        self._last = self.state
        self.changes: list[tuple[float, int, float, float, float, float]] = (
            [(0.0, *self._last)] if record_changes else []
        )

    # ------------------------------------------------------------------ state read-outs
    @property
    def rung(self) -> int:
        """The confrontation's current rung: the higher side's level, or a recent dangerous incident."""
        incident = int(Rung.DANGEROUS_INCIDENT) if self.time < self._incident_until else 0
        return max(self.sides[Side.NATO].level, self.sides[Side.RUSSIA].level, incident)

    @property
    def state(self) -> tuple[int, float, float, float, float]:
        """(rung, tension NATO, tension Russia, trust NATO, trust Russia): what :attr:`changes` records."""
        nato, russia = self.sides[Side.NATO], self.sides[Side.RUSSIA]
        return (self.rung, nato.tension, russia.tension, nato.trust, russia.trust)

    @property
    def tension_nato(self) -> float:  # noqa: D102
        return self.sides[Side.NATO].tension

    @property
    def tension_russia(self) -> float:  # noqa: D102
        return self.sides[Side.RUSSIA].tension

    @property
    def trust_nato(self) -> float:  # noqa: D102
        return self.sides[Side.NATO].trust

    @property
    def trust_russia(self) -> float:  # noqa: D102
        return self.sides[Side.RUSSIA].trust

    # ------------------------------------------------------------------ time
    def run(self) -> None:
        """Run to the scenario's horizon."""
        self.run_until(self.horizon_h)

    def run_until(self, end_time: float) -> None:
        """Fire every event due up to ``end_time`` in time order, then move the clock to ``end_time``.

        A player's decision point stops the loop (``PlayerTurn``) at its event's time; the events
        still due stay queued, and the next call goes on from there.
        """
        queue = self._queue
        self._note_state()  # what a player did since the last call
        while True:
            if self._redraw:
                self._draw_next_incident()
            t = queue[0][0] if queue else math.inf
            if self._incident_at < t:  # the next encounter or violation is held apart: it is redrawn often
                t, fn = self._incident_at, self._activity_incident
            else:
                fn = None
            if t > end_time:
                break
            if fn is None:
                fn = heapq.heappop(queue)[2]
            if t > self.time:
                self._pass_time(t)
            fn()
            self._note_state()
            if self.events_fired > self.event_budget:
                raise EventBudgetExceeded(self.events_fired, self.time, self.event_budget)
        if end_time > self.time:
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
        heapq.heappush(self._queue, (time_h, self._seq, fn))

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
        dt, rung = t - self.time, last[0]
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
        self.time = t
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

    # ------------------------------------------------------------------ played sides
    def advance(self, until: float) -> DecisionPoint | None:
        """Run toward ``until``; stop early at a player's decision point and return it."""
        if self.decision_points:
            return self.decision_points[0]
        until = min(until, self.horizon_h)
        if until > self.time:
            try:
                self.run_until(until)
            except PlayerTurn:
                pass
        return self.decision_points[0] if self.decision_points else None

    def await_player(self, d: Deliberation) -> None:
        """Open (or re-open after a call) the player's decision on ``d`` and stop the event loop."""
        point = getattr(d, "point", None)  # set when a call re-opens the same decision
        if point is None:
            self._decisions_opened += 1
            point = DecisionPoint(self._decisions_opened, self.time, d, self.player_routes(d))
            d.point = point  # type: ignore[attr-defined]
            self.log(
                "decision point",
                d.decider.side,
                actors=[d.decider.name],
                zone=d.act.zone,
                type=d.act.type,
                perceived_severity=d.perceived_severity,
                rung=d.act.rung,
                text=f"Decision {point.number} for {d.decider.side.label}: "
                f"{d.act.actor} - {d.act.type.replace('_', ' ')}",
            )
        self.decision_points.append(point)
        raise PlayerTurn

    def player_routes(self, d: Deliberation) -> list[Route]:
        """Every channel the player's side can use about ``d.act``: the command's and the leadership's."""
        side = d.decider.side
        routes: dict[str, Route] = {}
        for actor in (self.commands[side], self.leadership[side]):
            for route in self.comms.routes[actor.spec.id]:
                if (route.on_scene and not d.act.on_scene) or not self.route_open(route) or route.availability <= 0:
                    continue
                if route.label not in routes or route.latency_h < routes[route.label].latency_h:
                    routes[route.label] = route
        return sorted(routes.values(), key=lambda r: r.latency_h)

    def player_channel(self, label: str) -> bool:
        """The player calls over ``label`` first; returns whether the call got through."""
        point = self._current_point()
        route = next((r for r in point.channels() if r.label == label), None)
        if route is None:
            raise ValueError(f"channel {label!r} is not available for decision {point.number}")
        d = point.deliberation
        up = self.draw("call", d.decider.spec.id, _act_key(d.act), route.label, "player") < route.availability
        point.tried[label] = up
        if not up:
            self.log(
                "clarification",
                d.decider.side,
                actors=[d.decider.name],
                zone=d.act.zone,
                channel=label,
                text=f"{label} call by {d.decider.name} does not get through",
            )
            return False
        d.route = route
        self.decision_points.remove(point)
        self.later(route.latency_h, d.call_for_player)
        return True

    def player_decide(self, choice: Choice) -> Response:
        """The player answers the current decision point with ``choice``."""
        point = self._current_point()
        d = point.deliberation
        response = response_for(choice, d.act.rung)
        self.decision_points.remove(point)
        d.decided = True
        self.execute_response(d.decider, d, response)
        return response

    def inject_now(self, spec: InjectSpec) -> None:
        """A facilitator's inject: it happens now (``spec.at_h`` is ignored)."""
        if spec.initiator not in {p.spec.id for p in self.platforms}:
            forces = ", ".join(sorted(p.spec.id for p in self.platforms))
            raise ValueError(f"inject force {spec.initiator!r} is not a force of this scenario (forces: {forces})")
        if spec.zone not in {z.id for z in self.spec.zones}:
            zones = ", ".join(z.id for z in self.spec.zones)
            raise ValueError(f"inject zone {spec.zone!r} is not a zone of this scenario (zones: {zones})")
        if spec.type not in INCIDENT_TYPES:
            raise ValueError(f"inject type {spec.type!r}: must be one of {', '.join(INCIDENT_TYPES)}")
        InjectRun(self, spec).fire()

    def _current_point(self) -> DecisionPoint:
        if not self.decision_points:
            raise ValueError("no decision is waiting for a player")
        return self.decision_points[0]

    # ------------------------------------------------------------------ activity
    def activity_multiplier(self, side: Side) -> float:
        """How much more often a side's platforms go out: its crisis posture, exercises."""
        return self.era_activity[side] * (
            1.0 + self.params.posture_activity_gain * self.sides[side].posture + self.exercise_boost[side]
        )

    def activity_changed(self) -> None:
        """Note that a platform went out, came back or moved.

        The hazards must be recomputed and the next encounter or violation drawn again (memoryless,
        so exact).
        """
        self._hazards = None
        self._redraw = True

    def rates_changed(self, side: Side) -> None:
        """``side``'s sortie rate changed (posture, exercise, restraint): redraw its pending sorties."""
        for pl in self.platforms:
            if pl.side is side:
                pl.redraw_sortie()

    def _compute_hazards(self) -> None:
        """Find the pairs that can meet, and the aircraft that can stray, with their hazards.

        Who does what: fighters intercept aircraft; ships meet ships; fighters, bombers and patrol
        aircraft make passes at ships. Reconnaissance and transport aircraft are met, they do not
        meet anyone on their own.
        """
        out = self.airborne_or_at_sea
        hazards: list[tuple[str, Platform, Platform | None, float]] = []
        self._hazards = hazards
        if not out:
            self._hazard_total = 0
            return
        # the same platforms in the same zones have the same hazards (the rates are cached per zones)
        who_where = frozenset([(pl, pl.zone, pl.scrambled) for pl in out])
        known = self._hazard_memo.get(who_where)
        if known is not None:
            self._hazards, self._hazard_total = known
            return
        active = sorted(out, key=_creation_order)
        nato = [pl for pl in active if pl.side is Side.NATO]
        if nato and len(nato) < len(active):
            russia = [pl for pl in active if pl.side is not Side.NATO]
            pair_rate = self._pair_rate
            for a in nato:
                for b in russia:
                    key = (a, b, a.zone, b.zone)
                    rate = pair_rate.get(key)
                    if rate is None:
                        rate = pair_rate[key] = self._encounter_rate(a, b)
                    if rate > 0:
                        hazards.append(("encounter", a, b, rate))
        air_rate = self._air_rate
        for a in active:
            if a.domain != "air" or a.scrambled:
                continue  # ships enter claimed waters by inject (e.g. a transit), not at random
            key2 = (a, a.zone)
            rate = air_rate.get(key2)
            if rate is None:
                rate = air_rate[key2] = self._violation_rate(a)
            if rate > 0:
                hazards.append(("violation", a, None, rate))
        self._hazard_total = sum([h[3] for h in hazards])
        self._hazard_memo[who_where] = (hazards, self._hazard_total)

    def _encounter_rate(self, a: Platform, b: Platform) -> float:
        """Hazard (per hour) of an encounter between ``a`` (NATO) and ``b`` where they now are.

        Cached per pair and zones: a measure's factors depend on the platforms and their zones only.
        """
        if not _can_meet(a, b):
            return 0.0
        rate = self._proximity[a.zone, b.zone]
        if a.domain != b.domain:
            rate *= self.params.air_sea_factor  # aircraft watch ships far more often than they buzz them
        for m in self.measures:
            rate *= m.encounter_rate_factor(self, a, b)
        return rate

    def _violation_rate(self, a: Platform) -> float:
        """Hazard (per hour) of aircraft ``a`` straying into the other side's airspace from its zone."""
        rate = self._exposure[a.side][a.zone] * 2 * (1 - a.traits.rule_adherence)
        for m in self.measures:
            rate *= m.violation_rate_factor(self, a)
        return rate

    def _draw_next_incident(self) -> None:
        """Draw when the next encounter or violation happens, from the current total hazard."""
        self._redraw = False
        if self._hazards is None:
            self._compute_hazards()
        self._incident_at = math.inf
        total = self._hazard_total
        if total <= 0:
            return
        t = self.time + self.streams["activity"].exponential(1.0 / total)
        if t <= self.horizon_h:
            self._incident_at = t

    def _activity_incident(self) -> None:
        """An encounter or violation is due: which pair or aircraft, in proportion to its hazard."""
        self._redraw = True  # the next one is drawn afresh after this event
        self._incident_at = math.inf
        self._incidents_fired += 1
        u = self.streams["activity"].random() * self._hazard_total
        for hazard in self._hazards:  # type: ignore[union-attr]
            u -= hazard[3]
            if u <= 0:
                break
        kind, a, b, _ = hazard
        if kind == "encounter":
            self._encounter(a, b)  # type: ignore[arg-type]
        else:
            self._violation(a)

    def flight_near_border(self, aircraft: Platform) -> None:
        """A flight close to the other side's airspace draws a quick-reaction scramble, or not."""
        p = self.params
        if self.theatre.distance_to_territory(aircraft.zone, aircraft.side.other) > p.qra_range_km:
            return
        if self.streams["activity"].random() < p.qra_scramble_probability:
            self.scramble_against(aircraft, None)

    def scramble_against(self, target: Platform, violation: Act | None) -> Platform | None:
        """Launch the other side's nearest grounded fighter pair (the airspace owner's first)."""
        th = self.theatre
        owner = th.zone(th.nearest_territory(target.zone, target.side.other)).member
        ready = [
            pl
            for pl in self.platforms
            if pl.side is target.side.other and pl.spec.kind in INTERCEPTOR_KINDS and not pl.on_sortie and not pl.lost
        ]
        if not ready:
            return None
        fighter = min(ready, key=lambda pl: (pl.member != owner, th.distance(pl.spec.base, target.zone), pl.spec.id))
        fighter.scramble(target.zone, target, violation)
        self.scrambles[fighter.side] += 1
        return fighter

    def qra_intercept(self, fighter: Platform, target: Platform, violation: Act | None) -> None:
        """The scrambled pair intercepts a flight: the act is the intercepted aircraft's conduct."""
        if violation is not None:
            self.engage_violator(fighter, target, violation)
            return
        act = self._incident_act(target, fighter, "air_intercept", target.zone, on_scene=True)
        self.record_incident(
            act,
            observer_delay_h=fighter.traits.reporting_delay_h,
            text=incident_text(act, self.theatre.zone(act.zone).name, scrambled=True) if self.record_events else None,
        )

    def engage_violator(self, fighter: Platform, violator: Platform, violation: Act) -> None:
        """A member whose national rules allow it fires on a violator that ignores warnings."""
        member = MEMBERS.get(fighter.member)
        if member is None or not member.engage_violators:
            return
        if self.streams["consequences"].random() < self.params.warning_compliance:
            self.log(
                "incident",
                fighter.side,
                actors=[fighter.name, violator.name],
                zone=violator.zone,
                type="airspace_violation",
                text=f"{fighter.name} warns {violator.name}, which turns away",
            )
            return
        self.log(
            "rules of engagement",
            fighter.side,
            actors=[fighter.name],
            zone=violator.zone,
            text=f"Under {member.adjective} rules of engagement, {fighter.name} is cleared to fire "
            "after repeated warnings",
        )
        stimulus = Act(
            self.time,
            violator.side,
            violator.name,
            fighter.name,
            violator.zone,
            "airspace_violation",
            int(Rung.DANGEROUS_INCIDENT),
            violation.severity,
            violation.deliberate,
            True,
            actor_platform=violator,
            target_platform=fighter,
            member=violator.member,
        )
        self.military_act(fighter.side, Response.LIMITED_FORCE, stimulus, decider=None, unit=fighter)

    def _encounter(self, a: Platform, b: Platform) -> None:
        rng = self.streams["incidents"]
        initiator, other = _initiator(a, b, rng)
        itype = "air_intercept" if a.spec.domain == b.spec.domain == "air" else "at_sea_close_encounter"
        zone = initiator.zone if initiator.spec.domain == "air" or other.spec.domain != "sea" else other.zone
        act = self._incident_act(initiator, other, itype, zone, on_scene=True)
        self.record_incident(act, observer_delay_h=other.traits.reporting_delay_h)

    def _violation(self, a: Platform) -> None:
        target = a.side.other
        act = self._incident_act(a, None, "airspace_violation", a.zone, on_scene=False)
        self.record_incident(act, observer_delay_h=self.commands[target].traits.reporting_delay_h)
        self.scramble_against(a, act)

    def rules_reduction(self, itype: str, a: Platform, b: Platform | None) -> float:
        """How much agreed rules of conduct cut unsafe behaviour in this encounter (0 = no rules).

        The bilateral incidents-at-sea agreements in force (era ``incsea_bilateral``) cover
        encounters at sea between Russia and a member that signed one; a measure may extend the
        rules; the widest applicable rule counts, so a measure adds only its step beyond.
        """
        best = 0.0
        if "incsea_bilateral" in self.agreements and itype == "at_sea_close_encounter" and b is not None:
            nato = a if a.side is Side.NATO else b
            if MEMBERS.get(nato.member) is not None and MEMBERS[nato.member].incsea:
                best = self.params.incsea_unsafe_reduction
        for m in self.measures:
            best = max(best, m.rules_reduction(self, itype, a, b))
        return best

    def _incident_act(self, initiator: Platform, other: Platform | None, itype: str, zone: str, on_scene: bool) -> Act:
        """Draw severity and intent of an activity incident from the initiator's conduct."""
        p, rng = self.params, self.streams["incidents"]
        t = initiator.traits
        unsafe = 0.5 * (t.aggressiveness + (1 - t.rule_adherence)) * (1 - self.rules_reduction(itype, initiator, other))
        severity = clip01(
            p.severity_base[itype] + p.severity_unsafe_gain * unsafe * rng.exponential() + p.severity_sd * rng.normal()
        )
        deliberate = rng.random() < p.deliberate_gain * t.aggressiveness
        category = self.categorise(severity)
        target = other.name if other is not None else self._airspace(zone, initiator.side.other)
        return Act(
            time_h=self.time,
            side=initiator.side,
            actor=initiator.name,
            target=target,
            zone=zone,
            type=itype,
            rung=self.incident_rung(itype, category),
            severity=severity,
            deliberate=deliberate,
            on_scene=on_scene,
            category=category,
            kind=initiator.spec.kind,
            actor_platform=initiator,
            target_platform=other,
            member=initiator.member,
            public=rng.random() < p.publicity[category.value],
        )

    def _airspace(self, zone: str, side: Side) -> str:
        """Whose airspace a flight from ``zone`` strays into: the nearest member's, or the side's."""
        owner = self.theatre.zone(self.theatre.nearest_territory(zone, side))
        m = MEMBERS.get(owner.member) if side is Side.NATO else MEMBERS["ru"]
        return f"{m.adjective} airspace" if m is not None else f"{side.label} airspace"

    def categorise(self, severity: float) -> ElnCategory:
        """ELN incident category for a true severity."""
        if severity >= self.params.high_risk_threshold:
            return ElnCategory.HIGH_RISK
        if severity >= self.params.serious_threshold:
            return ElnCategory.SERIOUS
        return ElnCategory.NEAR_ROUTINE

    @staticmethod
    def incident_rung(itype: str, category: ElnCategory) -> int:
        """Ladder rung an incident signals: vigilance if near-routine, else dangerous incident."""
        if itype in FIXED_RUNG:
            return FIXED_RUNG[itype]
        return int(Rung.HEIGHTENED_VIGILANCE if category is ElnCategory.NEAR_ROUTINE else Rung.DANGEROUS_INCIDENT)

    def record_incident(self, act: Act, observer_delay_h: float, text: str | None = None) -> None:
        """Log an incident and send the report to the other side.

        An incident does not move the initiator's own level (its posture is a leadership's
        decision); a dangerous one shows on the ladder for the hold time.
        """
        self.incident_counts[act.category.value] += 1  # type: ignore[union-attr]
        self.incident_counts[act.type] += 1
        self.incident_counts[f"{act.type}_by_{act.side.value}"] += 1
        if act.public:  # the incident becomes known: what the ELN studies could count
            self.incident_counts[f"reported_{act.category.value}"] += 1  # type: ignore[union-attr]
        if self.record_events:
            made_public = "; it is made public" if act.public and act.rung >= Rung.DANGEROUS_INCIDENT else ""
            self.log(
                "incident",
                act.side,
                actors=[act.actor, act.target],
                zone=act.zone,
                type=act.type,
                severity=act.severity,
                category=act.category.value,
                rung=act.rung,  # type: ignore[union-attr]
                text=(text or incident_text(act, self.theatre.zone(act.zone).name)) + made_public,
            )
        if act.rung >= Rung.DANGEROUS_INCIDENT:
            if self.time + self.params.rung_hold_h > self._incident_until:
                self._incident_until = self.time + self.params.rung_hold_h
                self.at(self._incident_until, _nothing)  # the rung may fall then: a change point
            self._note_rung(int(Rung.DANGEROUS_INCIDENT) if act.rung < Rung.LIMITED_FORCE else act.rung)
        self.send_report(act, delay_h=observer_delay_h)

    def send_report(self, act: Act, delay_h: float) -> None:
        """The other side's command learns of ``act`` after ``delay_h`` hours."""
        self.later(delay_h, Deliberation(self, self.commands[act.side.other], act).open)

    # ------------------------------------------------------------------ perception & beliefs
    def measure_noise_factor(self, side: Side, act: Act | None = None) -> float:
        """Product of the measures' factors on how noisily ``side`` reads ``act``."""
        f = 1.0
        for m in self.measures:
            f *= m.perception_noise_factor(self, side, act)
        return f

    def perceive(self, side: Side, act: Act) -> tuple[float, float]:
        """Noisy perceived severity, and the posterior probability that ``act`` was hostile.

        Prior: the belief that the other side is not benign (1 - trust). Evidence: how the act
        looks (a weak, noisy signal of its true intent); for an exercise, an advance notification
        (the other side's stated intent, credible as far as it is trusted) and observers on site
        (a direct, truthful look).
        """
        p, rng, state = self.params, self.streams["perception"], self.sides[side]
        noise = self.measure_noise_factor(side, act)
        severity = clip01(act.severity + p.perception_noise_sd * noise * rng.normal())
        truth = 1.0 if act.deliberate else -1.0
        x = logit(1.0 - state.trust) + p.hostility_signal * truth + p.hostility_noise_sd * noise * rng.normal()
        if act.notified:
            x -= state.trust * p.statement_weight
        if act.observed:
            x += p.observer_quality * p.statement_weight * truth
        return severity, logistic(x)

    def absorb_act(self, side: Side, act: Act, severity: float, hostility: float) -> None:
        """A perceived act raises tension, moves trust toward what it showed, and may weigh in public."""
        p, s = self.params, self.sides[side]
        s.tension = clip01(s.tension + p.tension_gain * severity * hostility * (1 - s.tension))
        s.threat = max(s.threat, severity * hostility)
        self.learn(side, 1.0 - hostility, p.trust_learning * severity)
        if act.public:
            s.audience = clip01(s.audience + severity * (1 - s.audience))
        if act.rung >= Rung.DANGEROUS_INCIDENT:
            self.unexplained[side].append((act, severity, hostility))

    def learn(self, side: Side, benign: float, weight: float) -> None:
        """Trust moves a fraction ``weight`` of the way toward evidence that the other side is ``benign``."""
        s = self.sides[side]
        s.trust = clip01(s.trust + min(weight, 1.0) * (benign - s.trust))

    # ------------------------------------------------------------------ channels and statements
    def route_open(self, route: Route) -> bool:
        """Whether ``route`` is open: a suspendable channel is cut while either side suspends it."""
        if not route.suspendable:
            return True
        for s in self.sides.values():
            if "" in s.suspended or (route.member and route.member in s.suspended):
                return False
        return True

    def try_channel(self, decider: DecisionMaker, act: Act) -> Route | None:
        """Place a call on the fastest open route to the other side that is up; ``None`` if none is.

        A channel that never connects (availability 0) is skipped without a draw, so it changes
        nothing at all.
        """
        for route in self.comms.routes[decider.spec.id]:
            if (route.on_scene and not act.on_scene) or route.availability <= 0 or not self.route_open(route):
                continue
            if self.draw("call", decider.spec.id, _act_key(act), route.label) < route.availability:
                return route
        return None

    def draw(self, *key: str) -> float:
        """The uniform draw for an occasion named by ``key`` (see :func:`keyed_uniform`)."""
        return keyed_uniform(self._key_base, "|".join(key))

    def state_intent(self, act: Act, route: Route) -> Statement:
        """What the other side says about its act when called.

        An act that was not meant says so (truthfully). A deliberate act's author may deny it (a
        bluff, more likely from an actor with little regard for rules), threaten (when its
        posture is at or above ``threat_posture``) or warn.
        """
        p = self.params
        if not act.deliberate:
            return Statement("reassurance", True)
        speaker = self._speaker(act.side, route.target)
        if self.draw("bluff", _act_key(act), route.label) < p.bluff_propensity * (1 - speaker.traits.rule_adherence):
            return Statement("reassurance", False)
        return Statement("threat" if self.sides[act.side].posture >= p.threat_posture else "warning", True)

    def _speaker(self, side: Side, node: str) -> DecisionMaker:
        leader = self.leadership[side]
        return leader if node == leader.spec.id else self.commands[side]

    def hear_statement(self, d: Deliberation, route: Route) -> None:
        """A call gets through: the receiver weighs the stated intent by its trust and the line's quality.

        A reassurance counts as far as the sender is trusted; a warning or a threat costs the
        sender nothing to make credible, so it counts in full: both raise the hostility read into
        the act, and a threat also deters (the cuts for military replies rise). A bluff may later
        be found out, and then trust falls. So a channel can make things worse.
        """
        p, side = self.params, d.decider.side
        self.channel_uses[route.label] += 1
        if route.quality <= 0:
            d.clarified_by.append(route.label)
            self.log(
                "clarification",
                side,
                actors=[d.decider.name],
                zone=d.act.zone,
                channel=route.label,
                text=f"A call over the {route.label.replace('_', ' ')} gets through but conveys nothing",
            )
            return
        statement = self.state_intent(d.act, route)
        d.perceived_hostility = self.weigh(side, statement, route.quality, d.perceived_hostility)
        if statement.kind == "threat":
            d.deterrence += p.threat_deterrence * route.quality
        d.clarified_by.append(route.label)
        other = d.act.side
        said = {
            # A denial reads like the truth at the time (players see this line); an exposed lie is logged later.
            "reassurance": f"says {short(d.act)} was not meant as hostile",
            "warning": f"says {short(d.act)} was a deliberate warning",
            "threat": f"says {short(d.act)} was deliberate and threatens force if it is answered",
        }[statement.kind]
        self.log(
            "clarification",
            side,
            actors=[d.decider.name],
            zone=d.act.zone,
            channel=route.label,
            text=f"Over the {route.label.replace('_', ' ')}, {other.label} {said}",
        )
        if not statement.truthful and self.draw("exposed", _act_key(d.act), route.label) < p.lie_detection:
            self.later(p.lie_detection_h, lambda: self._lie_found_out(side, d.act))

    def weigh(self, side: Side, statement: Statement, quality: float, hostility: float) -> float:
        """The hostility ``side`` reads into an act after hearing ``statement`` about it (and count it).

        A reassurance counts as far as the sender is trusted; a warning or a threat in full.
        """
        self.statements[statement.kind if statement.truthful else "bluff"] += 1
        credibility = self.sides[side].trust if statement.kind == "reassurance" else 1.0
        direction = -1.0 if statement.kind == "reassurance" else 1.0
        return logistic(logit(hostility) + direction * credibility * quality * self.params.statement_weight)

    def _lie_found_out(self, side: Side, act: Act) -> None:
        self.lies_found_out += 1
        self.learn(side, 0.0, self.params.signal_weight)
        self.log(
            "signal",
            side,
            actors=[],
            zone=act.zone,
            text=f"{side.label} establishes that {side.other.label}'s account of {short(act)} was false; trust falls",
        )

    def signal(self, side: Side, kind: str, text: str | None, benign: float) -> None:
        """``side`` sends a signal (protest, stand-down, suspension, restoration, restraint).

        The other side's leadership perceives it after ``signal_delay_h`` and learns from it.
        ``text`` is logged (``None`` when the decision's own log line already says it).
        """
        if text is not None:
            self.log("signal", side, actors=[self.leadership[side].name], text=text)
        other = side.other
        self.later(self.params.signal_delay_h, lambda: self.learn(other, benign, self.params.signal_weight))

    def hold_meeting(self, label: str, quality: float) -> int:
        """A scheduled meeting: each side asks about the other's dangerous acts since the last one.

        Each account is a stated intent like a call's (true, a bluff, a warning or a threat),
        weighed by trust and the meeting's ``quality``; trust moves by what the account changed.
        Returns how many acts were discussed.
        """
        p, n = self.params, 0
        for side in Side:
            for act, severity, hostility in self.unexplained[side]:
                n += 1
                if quality <= 0:
                    continue  # nothing gets across
                route = Route(self.leadership[side.other].spec.id, 0.0, 1.0, quality, (label,), False)
                statement = self.state_intent(act, route)
                after = self.weigh(side, statement, quality, hostility)
                # Trust moves by what the account changed about the act (it was absorbed once already).
                s = self.sides[side]
                s.trust = clip01(s.trust + min(p.trust_learning * severity, 1.0) * (hostility - after))
                if not statement.truthful and self.draw("exposed", _act_key(act), label) < p.lie_detection:
                    self.later(p.lie_detection_h, lambda s=side, a=act: self._lie_found_out(s, a))
            self.unexplained[side] = []
        return n

    # ------------------------------------------------------------------ standing rules and posture
    def standing_rules_apply(self, side: Side, act: Act, perceived_severity: float) -> bool:
        """Triage: a routine act in calm times is handled by standing rules, without a decision."""
        return (
            self.sides[side].posture == 0
            and perceived_severity < self.params.triage_threshold
            and act.rung < Rung.LIMITED_FORCE
        )

    def allowed_rung(self, side: Side) -> int:
        """The highest rung a side's posture authorises: two plus the posture."""
        return self.allowed_rung_at(self.sides[side].posture)

    def review_posture(self, side: Side, threat: float = 0.0, about: Act | None = None) -> None:
        """The leadership sets its side's crisis policy from felt threat, public pressure and the act at hand.

        The assessment weighs felt tension, public pressure and the worst recent act, and is held
        back by the brink: the higher the confrontation already stands above a show of force, the
        more a leadership looks for a way out. The posture rises at once to what the assessment
        calls for, and falls one step at a time
        once the assessment is below the lower cut by a margin (crises are not called off lightly).
        Reaching ``sanction_posture`` suspends military contacts; a calm posture after
        ``suspension_days`` restores them.
        """
        p, s = self.params, self.sides[side]
        leader = self.leadership[side]
        threat = max(threat, s.threat)  # the worst recent act still weighs until it fades
        x = (
            p.posture_w_tension * s.tension
            + p.posture_w_audience * s.audience
            + p.posture_w_threat * threat
            + p.posture_w_aggressiveness * (leader.traits.aggressiveness - 0.5)
            - p.posture_w_brink * max(0, self.rung - int(Rung.SHOW_OF_FORCE))
            + p.posture_noise_sd * self.streams["posture"].normal()
        )
        cuts = [self.posture_cut(k) for k in range(1, len(POSTURES))]
        target = sum(x > c for c in cuts)
        old = s.posture
        if target > old:
            s.posture = target
        elif old > 0 and x < cuts[old - 1] - p.posture_hysteresis:
            s.posture = old - 1
        if s.posture != old:
            self.rates_changed(side)
            if s.posture > 0:
                self._review.wake()
            why = f" after {short(about)}" if about is not None else ""
            self.log(
                "posture",
                side,
                actors=[leader.name],
                text=f"{leader.name} sets a {POSTURES[s.posture]} posture{why}: replies up to "
                f"{Rung(self.allowed_rung(side)).label} are authorised",
            )
        if s.posture >= p.sanction_posture and "" not in s.suspended:
            self.suspend(side, "", "as a sanction")
        elif s.posture <= 1 and s.suspended:
            for member_id, since in list(s.suspended.items()):
                if self.time - since >= p.suspension_days * 24:
                    self.restore(side, member_id)

    def posture_cut(self, posture: int) -> float:
        """The assessment above which a leadership takes ``posture``.

        Evenly spaced cuts, plus the war firebreak for a posture that authorises armed clash or more.
        """
        p = self.params
        lethal = self.allowed_rung_at(posture) >= Rung.ARMED_CLASH
        return p.posture_cut_first + (posture - 1) * p.posture_cut_step + (p.war_firebreak if lethal else 0.0)

    @staticmethod
    def allowed_rung_at(posture: int) -> int:
        """The highest rung ``posture`` authorises: two plus the posture."""
        return min(int(Rung.DANGEROUS_INCIDENT) + posture, int(Rung.NUCLEAR_THRESHOLD))

    def suspend(self, side: Side, member_id: str, why: str) -> None:
        """``side`` suspends military contacts with the other side (or one NATO member)."""
        s = self.sides[side]
        if member_id in s.suspended:
            return
        s.suspended[member_id] = self.time
        self.suspensions += 1
        self._review.wake()
        whom = MEMBERS[member_id].name if member_id else side.other.label
        whom = whom[0].upper() + whom[1:]
        self.signal(side, "suspension", f"{side.label} suspends military contacts with {whom} {why}", benign=0.0)

    def restore(self, side: Side, member_id: str) -> None:
        """``side`` restores the military contacts it had suspended."""
        del self.sides[side].suspended[member_id]
        whom = MEMBERS[member_id].name if member_id else side.other.label
        whom = whom[0].upper() + whom[1:]
        self.signal(side, "restoration", f"{side.label} restores military contacts with {whom}", benign=1.0)

    def missiles_facing(self, side: Side) -> bool:
        """Whether the other side has intermediate-range missiles in the theatre (minutes of warning)."""
        return any(pl.side is side.other and pl.spec.kind == INF_KIND for pl in self.platforms)

    # ------------------------------------------------------------------ responses
    def firebreak(self, rung: int) -> float:
        """Resistance against a reply at ``rung``: grows per rung, jumps at armed clash."""
        p = self.params
        return p.rung_firebreak * max(0, rung - 2) + (p.war_firebreak if rung >= Rung.ARMED_CLASH else 0.0)

    def execute_response(self, decider: DecisionMaker, d: Deliberation, response: Response) -> None:
        """Carry out a decided reply: a signal (protest, stand-down) or a military act with a target."""
        side, act = decider.side, d.act
        if d.parent is not None:
            self.referrals += 1
        channels = list(dict.fromkeys(d.clarified_by))
        via = f" after {' and '.join(c.replace('_', ' ') for c in channels)} contact" if channels else ""
        verb = "decides"
        if d.parent is not None and d.cap is not None and response is not d.cap:
            verb = f"declines the proposal ({RESPONSE_PHRASE[d.cap]}) and decides"
        elif d.parent is not None:
            verb = "approves"
        self.log(
            "response",
            side,
            actors=[decider.name],
            zone=act.zone,
            type=act.type,
            severity=act.severity,
            perceived_severity=d.perceived_severity,
            channel=",".join(channels) or None,
            response=response.value,
            rung=response.rung,
            text=f"{decider.name} {verb}{via}: {RESPONSE_PHRASE[response]} (answering {short(act)})",
        )
        if response is Response.DE_ESCALATE:
            self.lower_level(side, int(Rung.HEIGHTENED_VIGILANCE))
            self.signal(side, "stand-down", None, benign=1.0)
        elif response is Response.PROTEST:
            self.signal(side, "protest", None, benign=0.0)
        elif response.is_military_act:
            self.military_act(side, response, act, decider)
        elif response is not Response.HOLD:
            self.raise_level(side, response.rung)

    def military_act(
        self, side: Side, response: Response, stimulus: Act, decider: DecisionMaker | None, unit: Platform | None = None
    ) -> None:
        """A military reply: who does it, to whom, with what consequence; the other side learns of it."""
        p, rng = self.params, self.streams["consequences"]
        if unit is None and response.rung in (Rung.DANGEROUS_INCIDENT, Rung.LIMITED_FORCE):
            # Shadowing and a limited use of force are done by a unit on the spot: the one the act
            # was done to, else one already out there, else the nearest that can go.
            own = stimulus.target_platform
            unit = own if own is not None and own.side is side and not own.lost else self._unit_for(side, stimulus.zone)
        target = stimulus.actor_platform
        if target is None or target.side is side or target.lost or not target.on_sortie:
            target = self._target_for(side, stimulus.zone)
        if response is Response.LIMITED_FORCE and target is None:
            # A limited use of force needs a unit of the other side within reach; without one
            # the order becomes a show of force.
            response = Response.SHOW_OF_FORCE
            outcome_note = "No unit of the other side is within reach to fire on; instead "
        else:
            outcome_note = ""
        if response.rung == Rung.SHOW_OF_FORCE:
            unit = None  # alerts and shows of force are the side's, not one unit's
        who = unit.name if unit is not None else forces(side)
        whom = target.name if target is not None else forces(side.other)
        rung = response.rung
        casualties, outcome, effect = 0, "", ""
        if rung >= Rung.LIMITED_FORCE:
            self.uses_of_force += 1
            hit = rng.random() < p.hit_probability
            if rung == Rung.LIMITED_FORCE:
                crew = target.crew if target is not None else 4
                casualties = int(rng.binomial(crew, p.casualty_probability)) if hit else 0
                lost = "shot down" if target is not None and target.spec.domain == "air" else "hit"
                outcome = f"{whom} is {lost}" if hit else "warning fire; no damage"
                effect = lost.replace(" ", "_") if hit else "warning_fire"
                if hit and target is not None:
                    target.lose()
            else:
                casualties = int(rng.poisson(5 * 4 ** (rung - Rung.ARMED_CLASH))) if hit else 0
                outcome = "fire is exchanged" if hit else "fire is exchanged without losses"
                effect = "exchange_of_fire"
            if casualties:
                outcome += f"; {casualties} {'person' if casualties == 1 else 'people'} killed"
            self.casualties += casualties
        text = outcome_note + military_text(response, who, whom, side, outcome, self.theatre.zone(stimulus.zone).name)
        severity = clip01(p.act_severity_per_rung * rung + p.casualty_severity * casualties)
        member = unit.member if unit is not None else ""
        act = Act(
            time_h=self.time,
            side=side,
            actor=who,
            target=whom,
            zone=stimulus.zone,
            type="response",
            rung=rung,
            severity=severity,
            deliberate=rung > stimulus.rung or rung >= Rung.LIMITED_FORCE,
            on_scene=stimulus.on_scene and rung <= Rung.SHOW_OF_FORCE,
            kind="response",
            actor_platform=unit,
            target_platform=target,
            member=member,
            public=rung >= Rung.LIMITED_FORCE,
            casualties=casualties,
        )
        self.log(
            "force" if rung >= Rung.LIMITED_FORCE else "military act",
            side,
            actors=[who, whom],
            zone=stimulus.zone,
            severity=severity,
            rung=rung,
            response=response.value,
            text=text,
            **({"effect": effect, "casualties": casualties} if effect else {}),
        )
        self.raise_level(side, rung)
        self.send_report(act, delay_h=self.commands[side.other].traits.reporting_delay_h)
        if casualties:
            # The victim side cuts military contacts with whoever did it: one member, or the alliance.
            victim = side.other
            # A member acting on its own national rules (no alliance decision) is answered alone.
            national = decider is None and side is Side.NATO and member not in ("", "allied")
            member_id = member if national else ""
            self.at(self.time + p.signal_delay_h, lambda: self.suspend(victim, member_id, "after the deaths"))

    def _target_for(self, side: Side, zone: str) -> Platform | None:
        """A unit of the other side out in ``zone`` that ``side`` could fire on, if any."""
        return next(
            (
                pl
                for pl in self.platforms
                if pl.side is not side and pl.on_sortie and not pl.lost and pl.zone == zone and pl.spec.domain != "land"
            ),
            None,
        )

    def _unit_for(self, side: Side, zone: str) -> Platform | None:
        """The own platform to send: one already out in the zone, else the nearest fighter or warship."""
        th = self.theatre
        out = [
            pl
            for pl in self.platforms
            if pl.side is side and pl.on_sortie and pl.zone == zone and pl.spec.domain != "land"
        ]
        if out:
            return out[0]
        able = [
            pl for pl in self.platforms if pl.side is side and pl.spec.kind in ("fighter", "warship") and not pl.lost
        ]
        return min(able, key=lambda pl: (th.distance(pl.spec.base, zone), pl.spec.id)) if able else None

    def raise_level(self, side: Side, rung: int) -> None:
        """Set a side's level to at least ``rung`` and hold it for ``rung_hold_h`` hours."""
        state = self.sides[side]
        if rung < state.level or rung <= 0:
            return
        state.level = rung
        self._level_until[side] = self.time + self.params.rung_hold_h
        self.at(self._level_until[side], LevelDecay(self, side).fire)
        self._note_rung(self.rung)

    def lower_level(self, side: Side, rung: int) -> None:
        """A side stands down to at most ``rung``."""
        state = self.sides[side]
        state.level = min(state.level, rung)

    # ------------------------------------------------------------------ record
    def log(self, kind: str, side: Side, *, text: str, **fields: Any) -> None:
        """Append one event to the narrative log (if recording)."""
        if not self.record_events:
            return
        zone = fields.pop("zone", None)
        self.events.append(
            {
                "time_h": round(self.time, 4),
                "clock": clock(self.time),
                "kind": kind,
                "side": side.value,
                "actors": fields.pop("actors", []),
                "zone": self.theatre.zone(zone).name if zone else None,
                "type": fields.pop("type", None),
                "severity": _round(fields.pop("severity", None)),
                "perceived_severity": _round(fields.pop("perceived_severity", None)),
                "category": fields.pop("category", None),
                "channel": fields.pop("channel", None),
                "response": fields.pop("response", None),
                "rung": fields.pop("rung", None),
                "text": text,
                **{k: fields[k] for k in ("effect", "casualties") if k in fields},  # what a use of force did
            }
        )

    def outcome(self) -> dict[str, Any]:
        """Headline outcomes of this replication (PRODUCT.md)."""
        if self._peak_time is None or self.peak_rung <= Rung.HEIGHTENED_VIGILANCE:
            back = 0.0 if self._peak_time is not None else math.nan
        else:
            back = (self._back_time - self._peak_time) / 24 if self._back_time is not None else math.nan
        return {
            "peak_rung": self.peak_rung,
            "reached_rung_4": int(self.peak_rung >= Rung.LIMITED_FORCE),
            "reached_rung_5": int(self.peak_rung >= Rung.ARMED_CLASH),
            "crisis_days": self.crisis_hours / 24,
            "days_back_to_vigilance": back,
            # not back by the horizon: how long it was watched (a censored time; NaN if back or no crisis)
            "days_back_censored": (self.horizon_h - self._peak_time) / 24
            if self._peak_time is not None and self.peak_rung > Rung.HEIGHTENED_VIGILANCE and math.isnan(back)
            else math.nan,
            "horizon_days": self.horizon_h / 24,
            **{
                f"days_to_rung_{r}": self.first_reached[r] / 24 if r in self.first_reached else math.nan
                for r in (2, 3, 4, 5)
            },
            "incidents": sum(self.incident_counts[c.value] for c in ElnCategory),
            **{f"incidents_{c.value}": self.incident_counts[c.value] for c in ElnCategory},
            **{f"incidents_{t}": self.incident_counts[t] for t in INCIDENT_TYPES},
            "reported_incidents": sum(self.incident_counts[f"reported_{c.value}"] for c in ElnCategory),
            **{f"reported_{c.value}": self.incident_counts[f"reported_{c.value}"] for c in ElnCategory},
            "scrambles_nato": self.scrambles[Side.NATO],
            "scrambles_russia": self.scrambles[Side.RUSSIA],
            "violations_by_russia": self.incident_counts["airspace_violation_by_russia"],
            "violations_by_nato": self.incident_counts["airspace_violation_by_nato"],
            "triaged": self.triaged,
            "clarifications": sum(self.channel_uses.values()),
            "hotline_contacts": sum(v for k, v in self.channel_uses.items() if "hotline" in k),
            "calls_too_late": self.calls_too_late,
            "bluffs": self.statements["bluff"],
            "threats": self.statements["threat"],
            "lies_found_out": self.lies_found_out,
            "referrals_to_leadership": self.referrals,
            "uses_of_force": self.uses_of_force,
            "casualties": self.casualties,
            "suspensions": self.suspensions,
            "final_tension_nato": self.tension_nato,
            "final_tension_russia": self.tension_russia,
            "final_trust_nato": self.trust_nato,
            "final_trust_russia": self.trust_russia,
        }

    def _jitter(self, t: Traits) -> Traits:
        rng, sd = self.streams["traits"], self.params.trait_jitter_sd
        return Traits(
            aggressiveness=clip01(t.aggressiveness + sd * rng.normal()),
            risk_tolerance=clip01(t.risk_tolerance + sd * rng.normal()),
            rule_adherence=clip01(t.rule_adherence + sd * rng.normal()),
            reporting_delay_h=t.reporting_delay_h,
            decision_time_h=t.decision_time_h,
        )


def _can_meet(a: Platform, b: Platform) -> bool:
    """Whether two opposing platforms on sortie can have an encounter at all (who meets whom)."""
    da, db = a.spec.domain, b.spec.domain
    if da == db == "air":
        return a.spec.kind in INTERCEPTOR_KINDS or b.spec.kind in INTERCEPTOR_KINDS
    if da == db == "sea":
        return True
    air = a if da == "air" else b
    return air.spec.kind in SHIP_PASS_KINDS


def _initiator(a: Platform, b: Platform, rng: np.random.Generator) -> tuple[Platform, Platform]:
    """Whose conduct makes the encounter: the interceptor or the aircraft over a ship; else by conduct."""
    ia = a.spec.domain == "air" and (b.spec.domain == "sea" or a.spec.kind in INTERCEPTOR_KINDS)
    ib = b.spec.domain == "air" and (a.spec.domain == "sea" or b.spec.kind in INTERCEPTOR_KINDS)
    if ia != ib:
        return (a, b) if ia else (b, a)
    wa = a.traits.aggressiveness * (1 - a.traits.rule_adherence) + 0.05
    wb = b.traits.aggressiveness * (1 - b.traits.rule_adherence) + 0.05
    return (a, b) if rng.random() * (wa + wb) < wa else (b, a)


def _act_key(act: Act) -> str:
    """A name for an act that is the same in every configuration where the act happens."""
    return f"{act.time_h:.6f}|{act.actor}|{act.type}|{act.rung}"


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


class Recurring:
    """A callback repeated on a ``mesa.time.Schedule`` (interval, start, end, count), up to the horizon."""

    def __init__(self, model: EscalationModel, fn: Callable[[], None], schedule: Any):
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


_creation_order = operator.attrgetter("unique_id")


def _nothing() -> None:
    """An event that only marks a time (a dangerous incident leaves the ladder then)."""


class LevelDecay:
    """A scheduled check that lowers a side's level one rung when its hold time has passed."""

    def __init__(self, model: EscalationModel, side: Side):
        self.model, self.side = model, side

    def fire(self) -> None:
        """Lower the level one rung unless a later raise holds it; schedule the next step down."""
        model, state = self.model, self.model.sides[self.side]
        if model.time + 1e-9 < model._level_until[self.side] or state.level <= 0:
            return  # a later raise holds the level
        state.level -= 1
        if state.level > 0:
            model._level_until[self.side] = model.time + model.params.rung_hold_h
            model.at(model._level_until[self.side], self.fire)


def _under_review(state: SideState) -> bool:
    """A side's leadership reviews its posture while it is raised or contacts are suspended."""
    return state.posture > 0 or bool(state.suspended)


class PostureReview:
    """The leaderships' daily look at a raised posture (crises are called off, too).

    The reviews keep one rhythm from the start of the run (every ``posture_review_h`` hours),
    NATO's leadership first, then Russia's. A review is an event only while a side has something
    to review: a raised posture or suspended contacts. Otherwise the rhythm goes on without
    events, and ``wake`` plans the next review in it when a posture is raised or contacts are
    suspended; a quiet year costs no events.
    """

    def __init__(self, model: EscalationModel):
        self.model = model
        self.last = 0.0  # the latest time of the rhythm at or before the clock
        self.planned = False

    def wake(self) -> None:
        """Plan the next review in the rhythm (at the clock's time or later), unless one is planned."""
        if self.planned:
            return
        model, h = self.model, self.model.params.posture_review_h
        t = self.last
        while t + h < model.time:
            t += h  # the same additions as a review planned one interval after the last
        self.last = t
        if t + h < model.horizon_h:
            self.planned = True
            model.at(t + h, self.fire)

    def fire(self) -> None:
        """Each side reviews a raised posture (or suspended contacts); plan the next review while one is raised."""
        model = self.model
        self.last = model.time  # still planned: a raise during this review plans nothing yet
        for side in (Side.NATO, Side.RUSSIA):
            if _under_review(model.sides[side]):
                model.review_posture(side)
        self.planned = False
        if any(_under_review(s) for s in model.sides.values()):
            self.wake()  # after whatever the reviews scheduled, as it always was


class InjectRun:
    """A scripted inject fired at its time."""

    def __init__(self, model: EscalationModel, spec: InjectSpec):
        self.model, self.spec = model, spec

    def fire(self) -> None:
        """The inject's act happens: logged, and reported to the other side."""
        model, s = self.model, self.spec
        initiator = next(p for p in model.platforms if p.spec.id == s.initiator)
        category = model.categorise(s.severity)
        act = Act(
            time_h=model.time,
            side=initiator.side,
            actor=initiator.name,
            target=forces(initiator.side.other),
            zone=s.zone,
            type=s.type,
            rung=model.incident_rung(s.type, category),
            severity=s.severity,
            deliberate=s.deliberate,
            on_scene=s.type in AIR_SEA_TYPES,
            category=category,
            kind=initiator.spec.kind,
            actor_platform=initiator,
            member=initiator.member,
            public=category is not ElnCategory.NEAR_ROUTINE,  # a scripted inject is the story of the day
        )
        delay = model.commands[initiator.side.other].traits.reporting_delay_h
        model.record_incident(act, observer_delay_h=delay, text=f"[inject {s.id}] {s.text}")


class ExerciseRun:
    """A large exercise: perceived by the other side at its start, raises activity while it lasts.

    Under the Vienna Document (when in force) an exercise of ``notification_troops`` or more is
    notified in advance and one of ``observation_troops`` or more is open to observers; snap
    exercises are not notified. A measure may notify and observe more.
    """

    def __init__(self, model: EscalationModel, spec: ExerciseSpec):
        self.model, self.spec = model, spec
        self.boost = 0.0

    def start(self) -> None:
        """The exercise begins: an act the other side perceives, more activity while it lasts."""
        model, s, p = self.model, self.spec, self.model.params
        zone = s.zone
        for m in model.measures:
            zone = m.exercise_zone(model, s, zone)
        distance = model.theatre.distance_to_territory(zone, s.side.other)
        troops_factor, duration_factor = 1.0, 1.0
        for m in model.measures:
            tf, df = m.exercise_scale(model, s, distance)
            troops_factor, duration_factor = troops_factor * tf, duration_factor * df
        troops = int(round(s.troops * troops_factor))
        vd = "vienna_document" in model.agreements and not s.snap
        notified = vd and troops >= p.notification_troops
        observed = vd and troops >= p.observation_troops
        for m in model.measures:
            n, o = m.exercise_transparency(model, s, troops)
            notified, observed = notified or n, observed or o
        proximity = math.exp(-distance / p.exercise_threat_range_km)
        severity = p.severity_base["exercise_near_border"] * min(2.0, troops / p.exercise_reference_troops) * proximity
        if s.snap:
            severity *= p.snap_surprise
        severity = clip01(severity)
        command = model.commands[s.side]
        deliberate = model.streams["incidents"].random() < p.deliberate_gain * command.traits.aggressiveness
        category = model.categorise(severity)
        act = Act(
            time_h=model.time,
            side=s.side,
            actor=s.name,
            target=f"{s.side.other.label}",
            zone=zone,
            type="exercise_near_border",
            rung=model.incident_rung("exercise_near_border", category),
            severity=severity,
            deliberate=deliberate,
            on_scene=False,
            category=category,
            kind="snap_exercise" if s.snap else "exercise",
            member="ru" if s.side is Side.RUSSIA else "",
            public=True,
            notified=notified,
            observed=observed,
        )
        moved = "" if zone == s.zone else f" (moved from {model.theatre.zone(s.zone).name} by rule)"
        shown = "; notified in advance" if notified else ""
        shown += " and open to observers" if observed else ""
        text = (
            f"{s.name} {'is called at no notice' if s.snap else 'begins'}: "
            f"{troops:,} troops in {model.theatre.zone(zone).name}{moved}, "
            f"{distance:.0f} km from {s.side.other.label} territory{shown}"
        )
        model.record_incident(act, observer_delay_h=model.commands[s.side.other].traits.reporting_delay_h, text=text)
        self.boost = p.exercise_activity_gain * proximity * min(1.0, troops_factor)
        model.exercise_boost[s.side] += self.boost
        model.rates_changed(s.side)
        model.later(s.duration_h * duration_factor, self.end)

    def end(self) -> None:
        """The exercise ends: activity returns to normal."""
        self.model.exercise_boost[self.spec.side] -= self.boost
        self.model.rates_changed(self.spec.side)
        self.model.log("exercise_end", self.spec.side, text=f"{self.spec.name} ends")


class BackgroundRun:
    """A steady random stream of one type of event from one side (a Poisson process)."""

    def __init__(self, model: EscalationModel, spec: BackgroundSpec):
        self.model, self.spec = model, spec

    def schedule_next(self) -> None:
        """Draw the wait to the next event of the stream (within the horizon)."""
        if self.spec.rate_per_day <= 0:
            return
        gap = self.model.streams["background"].exponential(24.0 / self.spec.rate_per_day)
        if self.model.time + gap < self.model.horizon_h:
            self.model.later(gap, self.fire)

    def fire(self) -> None:
        """One background event: an act with a drawn severity, reported to the other side."""
        model, s = self.model, self.spec
        rng = model.streams["background"]
        severity = clip01(s.severity + model.params.severity_sd * rng.normal())
        category = model.categorise(severity)
        act = Act(
            time_h=model.time,
            side=s.side,
            actor=s.actor,
            target=forces(s.side.other),
            zone=s.zone,
            type=s.type,
            rung=model.incident_rung(s.type, category),
            severity=severity,
            deliberate=rng.random() < s.deliberate_probability,
            on_scene=False,
            category=category,
            kind="background",
            member="ru" if s.side is Side.RUSSIA else "",
            public=rng.random() < model.params.publicity[category.value],
        )
        model.record_incident(
            act,
            observer_delay_h=model.commands[s.side.other].traits.reporting_delay_h,
            text=f"{s.text} ({category.value.replace('_', '-')})",
        )
        self.schedule_next()
