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
trust per side. ``sim.analysis.series`` resamples it to hours when asked.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import mesa
import numpy as np

from sim.core.activity import ActivityMixin, _can_meet  # noqa: F401 (re-exported)
from sim.core.agents import (
    Act,
    Command,
    Leadership,
    Platform,
    SideState,
    clip01,
)
from sim.core.channels import ChannelsMixin, keyed_uniform  # noqa: F401 (re-exported)
from sim.core.comms import shared_network
from sim.core.engine import Draws, EngineMixin
from sim.core.force import ForceMixin
from sim.core.ladder import Rung
from sim.core.measures import Measure
from sim.core.perception import PerceptionMixin
from sim.core.players import DecisionPoint
from sim.core.playing import PlayingMixin
from sim.core.posture import PostureMixin, PostureReview
from sim.core.record import RecordMixin, clock  # noqa: F401 (re-exported)
from sim.core.scripted import BackgroundRun, ExerciseRun, InjectRun
from sim.core.spec import (
    ModelParams,
    ScenarioSpec,
    Side,
    Traits,
)
from sim.core.theatre import shared_theatre

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


def child_seed(seed: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """``seed``'s child ``k``, as ``seed.spawn`` would make it, without spawning the ones before."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, k))


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``i``: child ``i`` of ``SeedSequence(seed)``, whoever runs it."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


class Streams(dict):
    """The model's random streams by mechanism: ``SeedSequence(seed)`` child ``k`` of ``names`` (k >= 1; 0 is Mesa's).

    Each generator is made the first time it is asked for, from the same seed it always had, so the
    numbers are the same; a model that never draws from a mechanism (a quiet year has no
    incidents, perceptions or decisions) does not pay the 20 us a generator costs to make, a
    third of a quiet year's set-up (issue 29). As a mapping it holds every stream: ``len``, ``in``,
    ``get``, iteration, ``values()`` and ``items()`` see them all (the last three make them).
    """

    def __init__(self, seed: np.random.SeedSequence, names: Sequence[str]):
        super().__init__()
        self._seed = seed
        self._child = {name: k for k, name in enumerate(names) if k > 0}

    def __missing__(self, name: str) -> np.random.Generator:
        k = self._child[name]  # an unknown name is a KeyError, as in a plain dict
        made = self[name] = np.random.default_rng(child_seed(self._seed, k))
        return made

    # A mapping of every stream, made or not: its names, length, membership, get, values and items.
    def __iter__(self):  # noqa: D105
        return iter(self._child)

    def __len__(self) -> int:  # noqa: D105
        return len(self._child)

    def __contains__(self, name: object) -> bool:  # noqa: D105
        return name in self._child

    def keys(self):  # noqa: D102
        return list(self._child)

    def get(self, name: str, default: Any = None) -> Any:  # noqa: D102
        return self[name] if name in self._child else default

    def values(self):  # noqa: D102  # every stream made, in the order of their children
        return [self[name] for name in self._child]

    def items(self):  # noqa: D102
        return [(name, self[name]) for name in self._child]

    def made(self) -> list[str]:
        """The streams made so far."""
        return list(dict.keys(self))


class EscalationModel(
    EngineMixin,
    PlayingMixin,
    ActivityMixin,
    PerceptionMixin,
    ChannelsMixin,
    PostureMixin,
    ForceMixin,
    RecordMixin,
    mesa.Model,
):
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
        super().__init__(rng=np.random.default_rng(child_seed(ss, 0)))
        self._default_schedule.stop()  # no hourly step: time moves from event to event
        self._queue: list[tuple[float, int, Callable[[], None], bool]] = []  # time, order, call, routine
        self._seq = 0
        self._settled = 0.0  # the time tension and pressure were last relaxed to (``_pass_time``)
        self._incidents_fired = 0  # encounters and violations, held apart from the list
        # One generator per mechanism: a measure that changes how often one mechanism draws does
        # not shift the draws of the others (better common random numbers between configurations).
        self.streams = Streams(ss, STREAMS)
        self._key_base = int(child_seed(ss, len(STREAMS)).generate_state(1, np.uint64)[0])
        self.spec = scenario
        self.params = params
        self.measures = list(measures)
        self.record_events = record_events
        self.horizon_h = scenario.horizon_h
        self.agreements = frozenset(scenario.agreements)
        self.theatre = shared_theatre(scenario.zones, scenario.links)
        extra = [ch for m in self.measures for ch in m.channels(scenario)]
        self.comms = shared_network(scenario, extra, params.internal_relay_h)

        # The era's baselines, moved by the era's fitted shifts (0 unless a fit sets them), within [0, 1].
        dt, dr = params.tension_shift_by_era.get(scenario.era, 0.0), params.trust_shift_by_era.get(scenario.era, 0.0)
        self.baseline_tension = {s: min(1.0, max(0.0, scenario.baseline_tension[s.value] + dt)) for s in Side}
        baseline_trust = {s: min(1.0, max(0.0, scenario.baseline_trust[s.value] + dr)) for s in Side}
        self.sides = {side: SideState(tension=self.baseline_tension[side], trust=baseline_trust[side]) for side in Side}
        self._relaxing = [(self.sides[s], self.baseline_tension[s]) for s in (Side.NATO, Side.RUSSIA)]
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
        self.deaths = dict.fromkeys(Side, 0)  # people of each side killed by the other side's fire
        self.first_fire: Side | None = None  # the side that used force first
        self._killed_at = dict.fromkeys(Side, -math.inf)  # when each side's fire last killed
        self._dead_weight, self._dead_since = 0.0, 0.0  # the recent dead, with caution's memory
        self.seen_sorties: dict[Side, list[float]] = {s: [] for s in Side}  # the other side's sorties seen
        self.acts_numbered = 0
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
        self.era_activity = {
            Side.NATO: params.nato_activity_by_era.get(scenario.era, 1.0),
            Side.RUSSIA: params.russian_activity_by_era.get(scenario.era, 1.0),
        }

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
        self._hazard_total = 0.0  # of encounters and violations, per hour, with who is out where now
        self._counted_zone: dict[Side, dict[Platform, str]] = {side: {} for side in Side}  # who it counts out: zone
        self._pair_rate: dict[tuple[Platform, Platform, str, str], float] = {}
        self._reaches: dict[tuple[Side, str], tuple[bool, bool]] = {}  # seen by radar, answered by QRA
        self._qra_order: dict[tuple[Side, str], list[Platform]] = {}  # fighters to send, first first
        self.activity_draws = Draws(self.streams, "activity")  # sortie waits, patrol zones, scrambles: in blocks
        self.incident_draws = Draws(self.streams, "incidents")  # each incident's conduct, severity and intent
        self.perception_draws = Draws(self.streams, "perception")  # how each act is read
        self._hazard_left = self.activity_draws.exponential()  # integrated hazard to the next
        self._hazard_since = 0.0  # the time the total hazard last changed
        self._redraw = False  # the activity changed: place the next encounter or violation again
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

    def recent_deaths(self) -> float:
        """People killed by either side's fire, each weighted by exp(-age / ``caution_memory_h``)."""
        return self._dead_weight * math.exp(-(self.time - self._dead_since) / self.params.caution_memory_h)

    def mourn(self, victim: Side, dead: int) -> None:
        """Count ``dead`` people of ``victim`` killed now (they weigh in both sides' caution)."""
        self.deaths[victim] += dead
        self.casualties += dead
        self._dead_weight, self._dead_since = self.recent_deaths() + dead, self.time

    def _jitter(self, t: Traits) -> Traits:
        rng, sd = self.streams["traits"], self.params.trait_jitter_sd
        return Traits(
            aggressiveness=clip01(t.aggressiveness + sd * rng.normal()),
            risk_tolerance=clip01(t.risk_tolerance + sd * rng.normal()),
            rule_adherence=clip01(t.rule_adherence + sd * rng.normal()),
            reporting_delay_h=t.reporting_delay_h,
            decision_time_h=t.decision_time_h,
        )
