"""The escalation model: a Mesa model of NATO and Russian actors meeting in incidents.

Time unit: one hour. ``step`` (one hour) relaxes tension, samples encounters and airspace
violations from current activity, and collects data. Everything finer happens as Mesa events at
exact times: sorties start and end, reports arrive after reporting delays, calls arrive after the
channel's latency, decisions fall when the decision time is up, injects and exercises fire on
schedule. An hour is short against the delays that matter (a hotline call takes ~0.5 h, a
command decides in ~2-6 h, a leadership in ~6-24 h), so an hourly step resolves "the call got
through before the retaliation decision" while a daily step would collapse the whole
report-clarify-decide sequence into one instant.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import mesa
import numpy as np

from sim.core.agents import (
    Act,
    Command,
    DecisionMaker,
    Deliberation,
    Leadership,
    Platform,
    SideState,
    clip01,
)
from sim.core.comms import CommsNetwork, Route
from sim.core.ladder import Choice, ElnCategory, Response, Rung, response_for
from sim.core.measures import Measure
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
from sim.core.theatre import Theatre

# Appending a stream never changes the others: each is keyed by its position.
STREAMS = ("mesa", "activity", "incidents", "perception", "decisions", "channels", "traits", "measures", "background")
AIR_SEA_TYPES = frozenset({"air_intercept", "at_sea_close_encounter", "collision", "weapons_lock", "drone_shootdown"})
# Types whose ladder rung is fixed by what happened rather than by severity (PRODUCT.md ladder).
FIXED_RUNG = {"drone_shootdown": int(Rung.LIMITED_FORCE)}


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
    """

    def __init__(
        self,
        scenario: ScenarioSpec,
        params: ModelParams,
        measures: Sequence[Measure] = (),
        seed: np.random.SeedSequence | int = 0,
        record_events: bool = True,
        players: Iterable[Side] = (),
    ):
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        seqs = {
            name: np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, k))
            for k, name in enumerate(STREAMS)
        }
        super().__init__(rng=np.random.default_rng(seqs["mesa"]))
        # One generator per mechanism: a measure that changes how often one mechanism draws does
        # not shift the draws of the others (better common random numbers between configurations).
        self.streams = {name: np.random.default_rng(s) for name, s in seqs.items() if name != "mesa"}
        self.spec = scenario
        self.params = params
        self.measures = list(measures)
        self.record_events = record_events
        self.horizon_h = scenario.horizon_h
        self.theatre = Theatre(scenario.zones, scenario.links)
        extra = [ch for m in self.measures for ch in m.channels(scenario)]
        self.comms = CommsNetwork(scenario, extra, params.internal_relay_h)

        self.sides = {
            side: SideState(
                tension=scenario.baseline_tension[side.value],
                trust=scenario.baseline_trust[side.value],
                opponent_hostility=scenario.baseline_tension[side.value],
            )
            for side in Side
        }
        self._relaxing = [(self.sides[s], scenario.baseline_tension[s.value]) for s in Side]
        self._level_until = dict.fromkeys(Side, 0.0)
        self._relax = math.exp(-1.0 / params.tension_relax_h)
        p, th = params, self.theatre
        # Encounter rate of a co-located pair falls off with the distance between their zones;
        # the violation hazard with the distance from the zone to the other side's territory.
        self._proximity = {
            (a.id, b.id): p.encounter_rate_per_h * math.exp(-th.distance(a.id, b.id) / p.encounter_range_km)
            for a in scenario.zones for b in scenario.zones
        }
        self._exposure = {
            side: {
                z.id: p.violation_rate_per_h * math.exp(-th.distance_to_territory(z.id, side.other) / p.violation_range_km)
                for z in scenario.zones
            }
            for side in Side
        }
        self.open_deliberations: set[Deliberation] = set()
        self.players = frozenset(players)
        self.decision_points: list[DecisionPoint] = []
        self._decisions_opened = 0
        self._pending: list[Any] = []  # scheduled injects/exercises/decays, kept alive for Mesa's weak refs
        self.events: list[dict[str, Any]] = []
        self.incident_counts: Counter[str] = Counter()
        self.channel_uses: Counter[str] = Counter()
        self.referrals = 0
        self.peak_rung = 0
        self._peak_time: float | None = None
        self._back_time: float | None = None
        self.crisis_hours = 0
        self.exercise_boost = dict.fromkeys(Side, 0.0)

        self.platforms = [Platform(self, f, self._jitter(f.traits)) for f in scenario.forces]
        self.commands: dict[Side, Command] = {}
        self.leadership: dict[Side, Leadership] = {}
        for a in scenario.actors:
            if a.role == "command":
                self.commands.setdefault(a.side, Command(self, a, self._jitter(a.traits)))
            else:
                self.leadership.setdefault(a.side, Leadership(self, a, self._jitter(a.traits)))
        self._active: list[Platform] = []
        self._hazards: list[tuple[str, Platform, Platform | None, float]] | None = None
        self._hazard_total = 0.0

        for inject in scenario.injects:
            self._at(inject.at_h, InjectRun(self, inject).fire)
        for exercise in scenario.exercises:
            run = ExerciseRun(self, exercise)
            self._at(exercise.start_h, run.start)
        for background in scenario.background:
            BackgroundRun(self, background).schedule_next()
        for m in self.measures:
            m.setup(self)
        for p in self.platforms:
            p.schedule_next_sortie()

        # One reporter returning a tuple: DataCollector deep-copies each value on every collect,
        # so one small tuple an hour costs a fifth of five separate reporters.
        self.datacollector = mesa.DataCollector(model_reporters={"state": "state"})
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ state read-outs
    @property
    def rung(self) -> int:
        """The confrontation's current rung: the higher of the two sides' levels."""
        return max(self.sides[Side.NATO].level, self.sides[Side.RUSSIA].level)

    @property
    def state(self) -> HourlyRecord:
        """(rung, tension NATO, tension Russia, trust NATO, trust Russia): the hourly record."""
        nato, russia = self.sides[Side.NATO], self.sides[Side.RUSSIA]
        return HourlyRecord((max(nato.level, russia.level), nato.tension, russia.tension, nato.trust, russia.trust))

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
    def step(self) -> None:
        """One hour: relax tension, sample incidents from activity, record the state."""
        for state, baseline in self._relaxing:
            state.relax(baseline, self._relax)
        self._sample_activity_incidents()
        rung = self.rung
        if rung >= Rung.SHOW_OF_FORCE:
            self.crisis_hours += 1
        if self._peak_time is not None and self._back_time is None and rung <= Rung.HEIGHTENED_VIGILANCE:
            self._back_time = self.time
        self.datacollector.collect(self)

    def run(self) -> None:
        """Run to the scenario's horizon."""
        self.run_until(self.horizon_h)

    def _at(self, time_h: float, fn) -> None:
        self._pending.append(fn.__self__)
        self.schedule_event(fn, at=time_h)

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
            self.log("decision point", d.decider.side, actors=[d.decider.name], zone=d.act.zone, type=d.act.type,
                     perceived_severity=d.perceived_severity, rung=d.act.rung,
                     text=f"Decision {point.number} for {d.decider.side.label}: {d.act.actor} - {d.act.type.replace('_', ' ')}")
        self.decision_points.append(point)
        raise PlayerTurn

    def player_routes(self, d: Deliberation) -> list[Route]:
        """Every channel the player's side can use about ``d.act``: the command's and the leadership's."""
        side = d.decider.side
        routes: dict[str, Route] = {}
        for actor in (self.commands[side], self.leadership[side]):
            for route in self.comms.routes[actor.spec.id]:
                if route.on_scene and not d.act.on_scene:
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
        up = bool(self.streams["channels"].random() < route.availability)
        point.tried[label] = up
        if not up:
            self.log("clarification", d.decider.side, actors=[d.decider.name], zone=d.act.zone, channel=label,
                     text=f"{label} call by {d.decider.name} does not get through")
            return False
        d.route = route  # type: ignore[attr-defined]
        self.decision_points.remove(point)
        self.schedule_event(d.clarify_for_player, after=route.latency_h)
        return True

    def player_decide(self, choice: Choice) -> Response:
        """The player answers the current decision point with ``choice``."""
        point = self._current_point()
        d = point.deliberation
        response = response_for(choice, d.act.rung)
        self.decision_points.remove(point)
        d.decided = True
        self.open_deliberations.discard(d)
        self.execute_response(d.decider, d, response)
        return response

    def inject_now(self, spec: InjectSpec) -> None:
        """A facilitator's inject: it happens now (``spec.at_h`` is ignored)."""
        if spec.initiator not in {p.spec.id for p in self.platforms}:
            raise ValueError(f"inject initiator {spec.initiator!r} is not a force of this scenario")
        if spec.zone not in {z.id for z in self.spec.zones}:
            raise ValueError(f"inject zone {spec.zone!r} is not a zone of this scenario")
        if spec.type not in INCIDENT_TYPES:
            raise ValueError(f"inject type {spec.type!r}: must be one of {', '.join(INCIDENT_TYPES)}")
        run = InjectRun(self, spec)
        self._pending.append(run)
        run.fire()

    def _current_point(self) -> DecisionPoint:
        if not self.decision_points:
            raise ValueError("no decision is waiting for a player")
        return self.decision_points[0]

    # ------------------------------------------------------------------ activity
    def activity_multiplier(self, side: Side) -> float:
        """How much more often a side's platforms go out: posture above vigilance, exercises."""
        level = self.sides[side].level
        return 1.0 + self.params.posture_activity_gain * max(0, level - 1) + self.exercise_boost[side]

    def activity_changed(self) -> None:
        """A platform went out or came back: the hazards must be recomputed."""
        self._hazards = None

    def _compute_hazards(self) -> None:
        active = [pl for pl in self.platforms if pl.on_sortie]
        hazards: list[tuple[str, Platform, Platform | None, float]] = []
        proximity, exposure = self._proximity, self._exposure
        for a in active:
            if a.side is not Side.NATO or a.spec.domain == "land":
                continue
            for b in active:
                if b.side is Side.NATO or b.spec.domain == "land":
                    continue  # land formations do not meet at random
                rate = proximity[a.zone, b.zone]
                if a.spec.domain != b.spec.domain:
                    rate *= self.params.air_sea_factor  # aircraft watch ships far more often than they buzz them
                for m in self.measures:
                    rate *= m.encounter_rate_factor(self, a, b)
                if rate > 0:
                    hazards.append(("encounter", a, b, rate))
        for a in active:
            if a.spec.domain != "air":
                continue  # ships enter claimed waters by inject (e.g. a transit), not at random
            rate = exposure[a.side][a.zone] * 2 * (1 - a.traits.rule_adherence)
            for m in self.measures:
                rate *= m.violation_rate_factor(self, a)
            if rate > 0:
                hazards.append(("violation", a, None, rate))
        self._hazards = hazards
        self._hazard_total = sum(h[3] for h in hazards)

    def _sample_activity_incidents(self) -> None:
        if self._hazards is None:
            self._compute_hazards()
        hazards, total = self._hazards, self._hazard_total  # incidents below may invalidate the cache
        if total <= 0:
            return
        rng = self.streams["activity"]
        # Poisson count by inversion of one uniform: cheap in the many hours with no incident.
        u, p = rng.random(), math.exp(-total)
        n, cdf = 0, p
        while u > cdf and p > 0:
            n += 1
            p *= total / n
            cdf += p
        for _ in range(n):
            u = rng.random() * total
            for kind, a, b, rate in hazards:  # type: ignore[union-attr]
                u -= rate
                if u <= 0:
                    break
            if kind == "encounter":
                self._encounter(a, b)  # type: ignore[arg-type]
            else:
                self._violation(a)

    def _encounter(self, a: Platform, b: Platform) -> None:
        rng = self.streams["incidents"]
        wa = a.traits.aggressiveness * (1 - a.traits.rule_adherence) + 0.05
        wb = b.traits.aggressiveness * (1 - b.traits.rule_adherence) + 0.05
        initiator, other = (a, b) if rng.random() * (wa + wb) < wa else (b, a)
        if a.spec.domain != b.spec.domain:  # aircraft buzz ships, not the other way round
            initiator, other = (a, b) if a.spec.domain == "air" else (b, a)
        itype = "air_intercept" if a.spec.domain == b.spec.domain == "air" else "at_sea_close_encounter"
        zone = initiator.zone if initiator.spec.domain == "air" or other.spec.domain != "sea" else other.zone
        act = self._incident_act(initiator, other.name, itype, zone, on_scene=True)
        self.record_incident(act, observer_delay_h=other.traits.reporting_delay_h)

    def _violation(self, a: Platform) -> None:
        target = a.side.other
        zone = a.zone
        act = self._incident_act(a, f"{target.label} airspace", "airspace_violation", zone, on_scene=False)
        self.record_incident(act, observer_delay_h=self.commands[target].traits.reporting_delay_h)

    def _incident_act(self, initiator: Platform, target: str, itype: str, zone: str, on_scene: bool) -> Act:
        """Draw severity and intent of an activity incident from the initiator's traits."""
        p, rng = self.params, self.streams["incidents"]
        t = initiator.traits
        unsafe = 0.5 * (t.aggressiveness + (1 - t.rule_adherence)) * self.measure_unsafe_factor(itype)
        severity = clip01(
            p.severity_base[itype] + p.severity_unsafe_gain * unsafe * rng.exponential() + p.severity_sd * rng.normal()
        )
        deliberate = rng.random() < p.deliberate_gain * t.aggressiveness
        category = self.categorise(severity)
        return Act(
            time_h=self.time, side=initiator.side, actor=initiator.name, target=target, zone=zone,
            type=itype, rung=self.incident_rung(itype, category), severity=severity,
            deliberate=deliberate, on_scene=on_scene, category=category, kind=initiator.spec.kind,
        )

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
        """Log an incident, raise the initiator's level and send the report to the other side."""
        self.incident_counts[act.category.value] += 1  # type: ignore[union-attr]
        self.incident_counts[act.type] += 1
        self.log(
            "incident", act.side, actors=[act.actor, act.target], zone=act.zone, type=act.type,
            severity=act.severity, category=act.category.value, rung=act.rung,  # type: ignore[union-attr]
            text=text or incident_text(act, self.theatre.zone(act.zone).name),
        )
        self.raise_level(act.side, act.rung)
        self.send_report(act, delay_h=observer_delay_h)

    def send_report(self, act: Act, delay_h: float) -> None:
        """The other side's command learns of ``act`` after ``delay_h`` hours."""
        deliberation = Deliberation(self, self.commands[act.side.other], act)
        self.schedule_event(deliberation.open, after=delay_h)

    # ------------------------------------------------------------------ perception & channels
    def perceive(self, side: Side, act: Act) -> tuple[float, float]:
        """Noisy perceived severity and hostility of the other side's act."""
        p, rng, state = self.params, self.streams["perception"], self.sides[side]
        noise = self.measure_noise_factor(side)
        severity = clip01(act.severity + p.perception_noise_sd * noise * rng.normal())
        hostility = clip01(
            p.hostility_prior
            + p.hostility_tension_weight * (state.tension - 0.5)
            - p.hostility_trust_weight * (state.trust - 0.5)
            + p.hostility_signal * (1.0 if act.deliberate else -1.0)
            + p.hostility_noise_sd * noise * rng.normal()
            + sum(m.hostility_shift(self, side, act) for m in self.measures)
        )
        return severity, hostility

    def absorb_act(self, side: Side, act: Act, severity: float, hostility: float) -> None:
        """A perceived act raises tension, erodes trust and colours the memory of the other side."""
        p, s = self.params, self.sides[side]
        s.tension = clip01(s.tension + p.tension_gain * severity * (0.5 + hostility) * (1 - s.tension))
        s.trust = clip01(s.trust - p.trust_loss * severity * hostility)
        s.opponent_hostility += p.reciprocity_memory * (hostility - s.opponent_hostility)

    def try_channel(self, decider: DecisionMaker, act: Act) -> Route | None:
        """Place a call on the fastest route to the other side that is up; ``None`` if none is."""
        rng = self.streams["channels"]
        for route in self.comms.routes[decider.spec.id]:
            if route.on_scene and not act.on_scene:
                continue
            if rng.random() < route.availability:
                return route
        return None

    def clarified(self, side: Side, act: Act, route: Route) -> None:
        """A clarification got through in time."""
        self.channel_uses[route.label] += 1
        if not act.deliberate:
            s = self.sides[side]
            s.trust = clip01(s.trust + self.params.trust_gain_clarification)

    # ------------------------------------------------------------------ responses
    def firebreak(self, rung: int) -> float:
        """Resistance against a reply at ``rung``: grows per rung, jumps at armed clash."""
        p = self.params
        value = p.rung_firebreak * max(0, rung - 2) + (p.war_firebreak if rung >= Rung.ARMED_CLASH else 0.0)
        for m in self.measures:
            value += m.firebreak_shift(self, rung)
        return value

    def execute_response(self, decider: DecisionMaker, d: Deliberation, response: Response) -> None:
        """Carry out a decided response: log it, move levels, and send any military act across."""
        side, act = decider.side, d.act
        if d.parent is not None:
            self.referrals += 1
        channels = list(dict.fromkeys(d.clarified_by))
        via = f" after {' and '.join(channels)} contact" if channels else ""
        self.log(
            "response", side, actors=[decider.name], zone=act.zone, type=act.type,
            severity=act.severity, perceived_severity=d.perceived_severity,
            channel=",".join(channels) or None, response=response.value, rung=response.rung,
            text=f"{decider.name} decides{via}: {side.label} {response.value} (answering {act.actor})",
        )
        if response is Response.DE_ESCALATE:
            self.lower_level(side, int(Rung.HEIGHTENED_VIGILANCE))
        elif response is not Response.HOLD:
            self.raise_level(side, response.rung)
        if response in (Response.DE_ESCALATE, Response.HOLD) and act.type == "response":
            other = self.sides[side.other]  # the other side sees its act go unanswered
            other.trust = clip01(other.trust + self.params.trust_gain_restraint)
            other.opponent_hostility *= 1 - self.params.reciprocity_memory
        if response.is_military_act:
            new_act = Act(
                time_h=self.time, side=side, actor=decider.name, target=act.actor, zone=act.zone,
                type="response", rung=response.rung,
                severity=clip01(self.params.act_severity_per_rung * response.rung),
                deliberate=response.rung > act.rung, on_scene=act.on_scene and response.rung <= Rung.SHOW_OF_FORCE,
                kind="response",
            )
            self.send_report(new_act, delay_h=self.commands[side.other].traits.reporting_delay_h)

    def raise_level(self, side: Side, rung: int) -> None:
        """Set a side's level to at least ``rung`` and hold it for ``rung_hold_h`` hours."""
        state = self.sides[side]
        if rung < state.level or rung <= 0:
            return
        if rung > state.level:
            state.level = rung
            self.activity_changed()
        self._level_until[side] = self.time + self.params.rung_hold_h
        decay = LevelDecay(self, side)
        self._pending.append(decay)
        self.schedule_event(decay.fire, at=self._level_until[side])
        if rung > self.peak_rung:
            self.peak_rung = rung
            self._peak_time, self._back_time = self.time, None

    def lower_level(self, side: Side, rung: int) -> None:
        """A side stands down to at most ``rung``."""
        state = self.sides[side]
        state.level = min(state.level, rung)

    # ------------------------------------------------------------------ measure hooks
    def measure_unsafe_factor(self, itype: str) -> float:  # noqa: D102
        f = 1.0
        for m in self.measures:
            f *= m.unsafe_factor(self, itype)
        return f

    def measure_noise_factor(self, side: Side) -> float:  # noqa: D102
        f = 1.0
        for m in self.measures:
            f *= m.perception_noise_factor(self, side)
        return f

    def measure_decision_shift(self, d: Deliberation) -> float:  # noqa: D102
        return sum(m.decision_shift(self, d) for m in self.measures)

    def measure_decision_time_factor(self, decider: DecisionMaker) -> float:  # noqa: D102
        f = 1.0
        for m in self.measures:
            f *= m.decision_time_factor(self, decider)
        return f

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
            "incidents": sum(self.incident_counts[c.value] for c in ElnCategory),
            **{f"incidents_{c.value}": self.incident_counts[c.value] for c in ElnCategory},
            **{f"incidents_{t}": self.incident_counts[t] for t in INCIDENT_TYPES},
            "clarifications": sum(self.channel_uses.values()),
            "hotline_contacts": sum(v for k, v in self.channel_uses.items() if "hotline" in k),
            "referrals_to_leadership": self.referrals,
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


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


INTERCEPT_VERBS = {
    "air_intercept": ("intercepts", "makes an unsafe intercept of", "makes a dangerous close pass at"),
    "at_sea_close_encounter": ("shadows", "makes an unsafe close approach to", "comes within metres of"),
    "airspace_violation": ("briefly enters", "violates", "violates, transponder off,"),
}


def incident_text(act: Act, zone_name: str) -> str:
    """One readable sentence for an activity incident."""
    level = list(ElnCategory).index(act.category)  # type: ignore[arg-type]
    verb = INTERCEPT_VERBS.get(act.type, ("meets",) * 3)[level]
    where = {"air_intercept": "over", "airspace_violation": "near"}.get(act.type, "in")
    where = f"{where} {zone_name}"
    category = act.category.value.replace("_", "-")  # type: ignore[union-attr]
    return f"{act.actor} {verb} {act.target} {where} ({category})"


class HourlyRecord(tuple):
    """An immutable hourly record; DataCollector's deep copy of it is the record itself."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> HourlyRecord:
        return self


class LevelDecay:
    """A scheduled check that lowers a side's level one rung when its hold time has passed."""

    def __init__(self, model: EscalationModel, side: Side):
        self.model, self.side = model, side

    def fire(self) -> None:
        model, state = self.model, self.model.sides[self.side]
        if model.time + 1e-9 < model._level_until[self.side] or state.level <= 0:
            return  # a later raise holds the level
        state.level -= 1
        model.activity_changed()
        if state.level > 0:
            model._level_until[self.side] = model.time + model.params.rung_hold_h
            self.model.schedule_event(self.fire, at=model._level_until[self.side])


class InjectRun:
    """A scripted inject fired at its time."""

    def __init__(self, model: EscalationModel, spec: InjectSpec):
        self.model, self.spec = model, spec

    def fire(self) -> None:
        model, s = self.model, self.spec
        initiator = next(p for p in model.platforms if p.spec.id == s.initiator)
        category = model.categorise(s.severity)
        act = Act(
            time_h=model.time, side=initiator.side, actor=initiator.name,
            target=f"{initiator.side.other.label} forces", zone=s.zone, type=s.type,
            rung=model.incident_rung(s.type, category), severity=s.severity, deliberate=s.deliberate,
            on_scene=s.type in AIR_SEA_TYPES, category=category, kind=initiator.spec.kind,
        )
        delay = model.commands[initiator.side.other].traits.reporting_delay_h
        model.record_incident(act, observer_delay_h=delay, text=f"[inject {s.id}] {s.text}")


class ExerciseRun:
    """A large exercise: perceived by the other side at its start, raises activity while it lasts."""

    def __init__(self, model: EscalationModel, spec: ExerciseSpec):
        self.model, self.spec = model, spec
        self.boost = 0.0

    def start(self) -> None:
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
        proximity = math.exp(-distance / p.exercise_threat_range_km)
        severity = p.severity_base["exercise_near_border"] * min(2.0, troops / p.exercise_reference_troops) * proximity
        if s.snap:
            severity *= p.snap_surprise
        for m in model.measures:
            severity *= m.exercise_severity_factor(model, s, troops)
        severity = clip01(severity)
        command = model.commands[s.side]
        deliberate = model.streams["incidents"].random() < p.deliberate_gain * command.traits.aggressiveness
        category = model.categorise(severity)
        act = Act(
            time_h=model.time, side=s.side, actor=s.name, target=f"{s.side.other.label}",
            zone=zone, type="exercise_near_border", rung=model.incident_rung("exercise_near_border", category),
            severity=severity, deliberate=deliberate, on_scene=False, category=category,
            kind="snap_exercise" if s.snap else "exercise",
        )
        moved = "" if zone == s.zone else f" (moved from {model.theatre.zone(s.zone).name} by rule)"
        text = (
            f"{s.name} {'is called at no notice' if s.snap else 'begins'}: {troops:,} troops in {model.theatre.zone(zone).name}{moved}, "
            f"{distance:.0f} km from {s.side.other.label} territory"
        )
        model.record_incident(act, observer_delay_h=model.commands[s.side.other].traits.reporting_delay_h, text=text)
        self.boost = p.exercise_activity_gain * proximity * min(1.0, troops_factor)
        model.exercise_boost[s.side] += self.boost
        model.schedule_event(self.end, after=s.duration_h * duration_factor)

    def end(self) -> None:
        self.model.exercise_boost[self.spec.side] -= self.boost
        self.model.log("exercise_end", self.spec.side, text=f"{self.spec.name} ends")


class BackgroundRun:
    """A steady random stream of one type of event from one side (a Poisson process)."""

    def __init__(self, model: EscalationModel, spec: BackgroundSpec):
        self.model, self.spec = model, spec
        model._pending.append(self)

    def schedule_next(self) -> None:
        if self.spec.rate_per_day <= 0:
            return
        gap = self.model.streams["background"].exponential(24.0 / self.spec.rate_per_day)
        if self.model.time + gap < self.model.horizon_h:
            self.model.schedule_event(self.fire, after=gap)

    def fire(self) -> None:
        model, s = self.model, self.spec
        rng = model.streams["background"]
        severity = clip01(s.severity + model.params.severity_sd * rng.normal())
        category = model.categorise(severity)
        act = Act(
            time_h=model.time, side=s.side, actor=s.actor, target=f"{s.side.other.label} forces", zone=s.zone,
            type=s.type, rung=model.incident_rung(s.type, category), severity=severity,
            deliberate=rng.random() < s.deliberate_probability, on_scene=False, category=category, kind="background",
        )
        model.record_incident(act, observer_delay_h=model.commands[s.side.other].traits.reporting_delay_h, text=f"{s.text} ({category.value.replace('_', '-')})")
        self.schedule_next()
