"""Mesa agents: platforms that sortie, scramble and meet; the commands and leaderships who decide.

Platforms act through their own scheduled events (sortie start and end, quick-reaction
scrambles). Commands handle the other side's acts: the report arrives after a delay, they perceive
it with noise, and routine incidents are handled by standing rules (triage) without a fresh
decision. A serious act opens a :class:`Deliberation`: the command may call the other side (the
call carries the other side's *stated* intent, which may be true, a bluff, a warning or a threat)
and, when its decision time is up, chooses a reply given what it perceives and its side's crisis
posture. A reply that needs political approval goes to the leadership, which manages the crisis:
it reviews the side's posture (its policy) and approves what the posture allows. Messages and
decisions are Mesa events, so a call that arrives before the decision changes it and one that
arrives later does not.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.core.alliance import MEMBERS
from sim.core.comms import Route
from sim.core.ladder import Choice, ElnCategory, Response, Rung, response_for
from sim.core.spec import ActorSpec, ForceSpec, Side, Traits

if TYPE_CHECKING:
    from sim.core.view import ModelView

# Who can do what: fighters intercept; reconnaissance, patrol and transport aircraft are
# intercepted, they do not intercept; aircraft that make passes at ships; crew sizes by kind.
INTERCEPTOR_KINDS = frozenset({"fighter"})
SHIP_PASS_KINDS = frozenset({"fighter", "bomber", "maritime_patrol", "attack"})
CREW = {
    "fighter": 2,
    "bomber": 2,
    "reconnaissance": 10,
    "maritime_patrol": 9,
    "transport": 5,
    "drone": 0,
    "electronic_warfare": 4,
    "warship": 30,
    "ground_formation": 20,
}
# Weapons by kind: the reach (km, zone centre to zone centre) against each domain. Ships and ground
# formations reach aircraft only with the air defence their force declares (``air_defence_km``); fighters
# on the ground can be sent, so their reach counts from their base. Unarmed kinds fire on nothing.
WEAPONS: dict[str, dict[str, float]] = {
    "fighter": {"air": 400.0},
    "attack": {"sea": 300.0},
    "bomber": {"sea": 400.0},
    "warship": {"sea": 150.0},
    "patrol_boat": {"sea": 40.0},
}
POSTURES = ("calm", "firm", "robust", "coercive", "combat", "war footing")


@dataclass
class Act:
    """Something one side did that the other side perceives: an incident, an exercise or a reply."""

    time_h: float
    side: Side  # who acted
    actor: str  # display name of who acted
    target: str  # display name of who it was done to
    zone: str  # zone id
    type: str  # incident type, or "response"
    rung: int
    severity: float  # true severity on [0, 1]
    deliberate: bool
    on_scene: bool  # crews of both sides were there (crew-to-crew channels apply)
    category: ElnCategory | None = None  # for incidents
    kind: str = ""  # the acting platform's kind (fighter, bomber, ...), "exercise" or "response"
    actor_platform: Platform | None = None
    target_platform: Platform | None = None
    member: str = ""  # the nation of whoever acted
    public: bool = False  # made public (audience costs for the side it was done to)
    casualties: int = 0
    notified: bool = False  # an exercise announced in advance (a stated intent)
    observed: bool = False  # an exercise with the other side's observers present (verification)
    id: int = 0  # the act's number in the replication (the log's responses cite it)
    answers: int = 0  # the id of the act this reply answers (0: none)


@dataclass(frozen=True)
class Statement:
    """What a sender says about its own act: ``reassurance``, ``warning`` or ``threat``."""

    kind: str
    truthful: bool


class Platform(mesa.Agent):
    """A platform or formation: goes out on sorties to its patrol zones, at a rate set by posture."""

    model: ModelView

    def __init__(self, model: ModelView, spec: ForceSpec, traits: Traits):
        super().__init__(model)
        self.spec = spec
        self.side = spec.side
        self.domain = spec.domain
        self.traits = traits
        self._on_sortie = False
        self.scrambled = False
        self.lost = False  # shot down or disabled: out until replaced
        self.losses = 0  # times lost (platforms lost: an outcome)
        self.zone = spec.base
        self._sortie_clock = 0  # only the latest drawn sortie start fires
        self.sorties_flown = 0  # patrols started (scrambles not counted)
        self._sortie_pending = False
        total = sum(spec.patrol.values())
        self._patrol_zones = list(spec.patrol)
        self._patrol_cdf = np.cumsum([w / total for w in spec.patrol.values()]).tolist()
        self._per_h = spec.sorties_per_day / 24.0  # sorties an hour before posture and measures
        m = MEMBERS.get(spec.member or ("ru" if spec.side is Side.RUSSIA else "allied"))
        adjective = m.adjective if m else ""
        self.member = m.id if m else ""
        self.display = spec.name if not adjective or spec.name.startswith(adjective) else f"{adjective} {spec.name}"

    @property
    def on_sortie(self) -> bool:
        """Out on a sortie or a scramble (the model keeps the set of those at sea or in the air)."""
        return self._on_sortie

    @on_sortie.setter
    def on_sortie(self, out: bool) -> None:
        self._on_sortie = out
        if self.domain != "land":
            (self.model.airborne_or_at_sea.add if out else self.model.airborne_or_at_sea.discard)(self)

    @property
    def name(self) -> str:
        """Display name, with the nation (e.g. ``Turkish F-16 pair``)."""
        return self.display

    @property
    def crew(self) -> int:
        """People aboard, for casualties (by kind; a pair counts both aircraft)."""
        return CREW.get(self.spec.kind, 2)

    def schedule_next_sortie(self) -> None:
        """Draw the gap to the next sortie (Poisson process whose rate rises with posture)."""
        if self.lost:
            return
        self._sortie_clock += 1
        self._sortie_pending = True  # waiting for the next sortie, even if none falls within the horizon
        model = self.model
        rate_per_h = self._per_h * model.activity_multiplier(self.side)
        for m in model.measures:
            rate_per_h *= m.sortie_rate_factor(model, self)
        if rate_per_h <= 0:
            return
        at = model.time + model.streams["activity"].exponential(1.0 / rate_per_h)
        if at <= model.horizon_h:
            model.at(at, _SortieDue(self, self._sortie_clock).fire)

    def redraw_sortie(self) -> None:
        """The sortie rate changed: draw the wait for the next sortie again (memoryless, so exact)."""
        if self._sortie_pending:
            self.schedule_next_sortie()

    def start_sortie(self) -> None:
        """Go out to a patrol zone drawn by its weight; a flight near the other side draws a scramble."""
        self._sortie_pending = False
        model = self.model
        u = model.streams["activity"].random()
        if self.lost:
            return
        if self._on_sortie:  # still out on a scramble: this patrol is skipped
            self.schedule_next_sortie()
            return
        zones = self._patrol_zones
        self.zone = zones[min(bisect.bisect_left(self._patrol_cdf, u), len(zones) - 1)]
        self.on_sortie = True
        self.sorties_flown += 1
        model.sortie_seen(self)
        model.activity_changed()
        model.at(model.time + self.spec.sortie_hours, self.end_sortie)
        if self.domain == "air":
            model.flight_near_border(self)

    def end_sortie(self) -> None:
        """Return to base and plan the next sortie."""
        if self.lost:
            return
        self.on_sortie = False
        self.zone = self.spec.base
        self.model.activity_changed()
        self.schedule_next_sortie()

    def lose(self) -> None:
        """Shot down or disabled: out until a replacement arrives (``replacement_days``; 0: never)."""
        self.lost, self.on_sortie, self.scrambled = True, False, False
        self.losses += 1
        self.model.activity_changed()
        days = self.model.params.replacement_days
        if days > 0:
            self.model.later(days * 24.0, self.replace)

    def replace(self) -> None:
        """A replacement (the next rotation) arrives at the base and takes up the patrols."""
        self.lost, self.zone = False, self.spec.base
        self.model.log("rotation", self.side, actors=[self.name], text=f"A replacement {self.name} arrives")
        self.schedule_next_sortie()

    def scramble(self, zone: str, target: Platform, violation: Act | None) -> None:
        """Quick-reaction launch against ``target``: fly to its zone and intercept on arrival."""
        self.on_sortie, self.scrambled, self.zone = True, True, zone
        self.model.activity_changed()
        self._target, self._violation = target, violation
        self.model.later(self.model.params.qra_delay_h, self.arrive)

    def arrive(self) -> None:
        """The scrambled pair reaches its target (if it is still out) and intercepts it."""
        target, violation = self._target, self._violation
        self._target = self._violation = None
        if self.lost:
            return
        if target.on_sortie and not target.lost:
            self.model.qra_intercept(self, target, violation)
        self.model.later(1.0, self.land)

    def land(self) -> None:
        """Back from a scramble (the regular sortie plan was never interrupted)."""
        if self.lost:
            return
        self.on_sortie, self.scrambled = False, False
        self.zone = self.spec.base
        self.model.activity_changed()


class _SortieDue:
    """A platform's next sortie, unless its rate changed since it was drawn."""

    __slots__ = ("platform", "clock")

    def __init__(self, platform: Platform, clock: int):
        self.platform, self.clock = platform, clock

    def fire(self) -> None:
        if self.clock == self.platform._sortie_clock:
            self.platform.start_sortie()


class DecisionMaker(mesa.Agent):
    """A command or a political leadership that answers the other side's acts."""

    model: ModelView
    role = "decision-maker"

    def __init__(self, model: ModelView, spec: ActorSpec, traits: Traits):
        super().__init__(model)
        self.spec = spec
        self.side = spec.side
        self.traits = traits

    @property
    def name(self) -> str:
        """Display name."""
        return self.spec.name

    def decide(self, d: Deliberation) -> None:  # pragma: no cover - overridden
        """Take the decision ``d`` asks for (a command and a leadership do it differently)."""
        raise NotImplementedError


class Command(DecisionMaker):
    """A military command (e.g. Allied Air Command, a Russian fleet or military district).

    Its reply to an act it did not handle by standing rules: an index of what it perceives
    (severity, hostility) and of its side's posture, plus a small disturbance, cut into the
    ordered options; the cuts for military replies rise with the rung (firebreaks) and with a
    credible threat heard over a channel (deterrence). Replies at or above the political-approval
    rung are proposals to the leadership.
    """

    role = "command"

    def index(self, d: Deliberation) -> tuple[float, float]:
        """(what the decision-maker knows, its disturbance): the reply index is their sum."""
        p, state = self.model.params, self.model.sides[self.side]
        known = (
            p.w_severity * d.perceived_severity + p.w_hostility * d.perceived_hostility + p.w_posture * state.posture
        )
        return known, p.decision_noise_sd * self.model.streams["decisions"].normal()

    def choose(self, d: Deliberation) -> Response:
        """The ordered choice for ``d``; records the index parts for the decision-noise test."""
        p, model = self.model.params, self.model
        known, noise = self.index(d)
        model.decision_record.append((known, noise))
        z = known + noise
        stimulus = d.act.rung
        match_rung = response_for(Choice.MATCH, stimulus).rung
        escalate_rung = response_for(Choice.ESCALATE, stimulus).rung
        # Deterrence by a threat heard, risk tolerance, and caution near the brink (rung, deaths, nuclear shadow).
        shift = d.deterrence - p.w_risk * (self.traits.risk_tolerance - 0.5) + model.caution(self.side)
        match_cut = p.cut_match + model.firebreak(match_rung) + model.first_use_cost(self.side, match_rung)
        escalate_cut = p.cut_escalate + model.firebreak(escalate_rung) + model.first_use_cost(self.side, escalate_rung)
        if z < p.cut_hold:
            choice = Choice.DE_ESCALATE if model.sides[self.side].level >= Rung.DANGEROUS_INCIDENT else Choice.HOLD
        elif z < p.cut_protest:
            choice = Choice.HOLD
        elif z < match_cut + shift:
            choice = Choice.PROTEST
        elif z < escalate_cut + shift:
            choice = Choice.MATCH
        else:
            choice = Choice.ESCALATE
        return response_for(choice, stimulus)

    def decide(self, d: Deliberation) -> None:
        """Replies at or above the political-approval rung go up to the leadership."""
        response = self.choose(d)
        if response.rung >= self.model.params.political_approval_rung:
            leader, p = self.model.leadership[self.side], self.model.params
            relay, via = p.internal_relay_h, ""
            if self.side is Side.RUSSIA:  # the General Staff stands between the commands and the Kremlin
                relay, via = relay + p.general_staff_relay_h, " through the General Staff"
            self.model.log(
                "referral",
                self.side,
                actors=[self.name, leader.name],
                zone=d.act.zone,
                text=f"{self.name} proposes: {response.value}; the decision goes{via} to {leader.name} "
                f"(act {d.act.id})",
                response=response.value,
                rung=response.rung,
                answers=d.act.id,
            )
            referred = Deliberation(self.model, leader, d.act, cap=response, parent=d)
            self.model.later(relay, referred.open)
            return
        self.model.execute_response(self, d, response)


class Leadership(DecisionMaker):
    """Political leadership (North Atlantic Council and capitals, the Kremlin): it manages the crisis.

    It does not draw a second reply to each act: it sets the side's posture (the crisis policy
    that bounds what its commands may do) from what it perceives, and approves a command's
    proposal if the posture allows it, or orders the strongest reply the posture allows.
    """

    role = "leadership"

    def decide(self, d: Deliberation) -> None:
        """Review the posture in the light of ``d``; approve the proposal or cap it."""
        model = self.model
        model.review_posture(self.side, threat=d.perceived_severity * d.perceived_hostility, about=d.act)
        allowed = model.allowed_rung(self.side)
        proposal = d.cap or Response.HOLD
        if proposal.rung <= allowed:
            response = proposal
        else:
            match = response_for(Choice.MATCH, d.act.rung)
            response = match if Rung.DANGEROUS_INCIDENT <= match.rung <= allowed else Response.PROTEST
        model.execute_response(self, d, response)


class Deliberation:
    """One decision-maker's handling of one act: perceive, triage, seek clarification, decide."""

    def __init__(
        self,
        model: ModelView,
        decider: DecisionMaker,
        act: Act,
        cap: Response | None = None,
        parent: Deliberation | None = None,
    ):
        self.model = model
        self.decider = decider
        self.act = act
        self.cap = cap
        self.parent = parent
        self.perceived_severity = parent.perceived_severity if parent else 0.0
        self.perceived_hostility = parent.perceived_hostility if parent else 0.0
        self.deterrence = parent.deterrence if parent else 0.0
        self.clarified_by: list[str] = list(parent.clarified_by) if parent else []
        self.decided = False
        self.route: Route | None = None

    def open(self) -> None:
        """The report arrives: perceive (unless referred), triage, try a channel, set the decision time."""
        model, p = self.model, self.model.params
        side = self.decider.side
        if self.parent is None:
            self.perceived_severity, self.perceived_hostility = model.perceive(side, self.act)
            model.absorb_act(side, self.act, self.perceived_severity, self.perceived_hostility)
            if model.standing_rules_apply(side, self.act, self.perceived_severity):
                model.triaged += 1
                return
            if side in model.players:
                model.await_player(self)  # raises PlayerTurn: the player decides
        decision_time = self.decider.traits.decision_time_h * (1.0 - p.time_pressure * model.sides[side].tension)
        if self.decider.role == "leadership" and side is Side.NATO and self.cap is not None:
            if self.cap.rung >= Rung.LIMITED_FORCE:  # the North Atlantic Council decides force by consensus
                decision_time = max(decision_time, p.nac_consensus_h)
        if self.decider.role == "leadership" and self.act.rung >= Rung.LIMITED_FORCE and model.missiles_facing(side):
            decision_time = min(decision_time, p.missile_warning_h)
        route = model.try_channel(self.decider, self.act)
        if route is not None:
            self.route = route
            model.later(route.latency_h, self.call_arrives)
        model.later(max(decision_time, 0.0), self.decide)

    def call_arrives(self) -> None:
        """The call over ``self.route`` gets through: the other side states its intent, if in time."""
        route = self.route
        assert route is not None
        if self.decided:
            self.model.calls_too_late += 1
            self.model.log(
                "clarification",
                self.decider.side,
                actors=[self.decider.name],
                zone=self.act.zone,
                channel=route.label,
                text=f"The {route.label.replace('_', ' ')} call reaches {self.decider.name} after it has decided",
            )
            return
        self.model.hear_statement(self, route)

    def call_for_player(self) -> None:
        """A player's call arrives: hear the statement, then put the decision back before the player."""
        self.model.hear_statement(self, self.route)  # type: ignore[arg-type]
        self.model.await_player(self)

    def decide(self) -> None:
        """Decision time is up."""
        self.decided = True
        self.decider.decide(self)


@dataclass
class SideState:
    """What one side believes and does.

    ``tension`` is felt threat (rises with perceived hostile acts, relaxes to the baseline);
    ``trust`` is the belief that the other side's acts and words are benign and honest (moves
    toward what the evidence shows, both ways); ``audience`` is public pressure from incidents
    made public; ``threat`` is the worst recent act as perceived; ``posture`` is the crisis policy
    set by the leadership (0 calm ... 5 war footing); ``level`` is the rung of the side's latest
    military act, held for a while.
    """

    tension: float
    trust: float
    audience: float = 0.0
    threat: float = 0.0  # the worst recent act as perceived (severity x hostility), fading like tension
    posture: int = 0
    level: int = int(Rung.ROUTINE)
    suspended: dict[str, float] = field(default_factory=dict)  # member ("" = alliance) -> since (h)
    familiar: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind -> (recent acts, as of h)
    raised_at: float = 0.0  # when the posture last rose
    last_dangerous: float = -math.inf  # when a dangerous act of the other side was last perceived
    last_contact: float = -math.inf  # when a call or meeting last conveyed the other side's account
    standdown_seen: float = -math.inf  # when the other side's stand-down was last seen
    fired: float = -math.inf  # when this side last used force

    def relax(self, baseline: float, factor: float) -> None:
        """Exponential relaxation of tension toward its baseline and of public pressure toward zero."""
        self.tension = baseline + (self.tension - baseline) * factor
        self.audience *= factor
        self.threat *= factor


def clip01(x: float) -> float:
    """Clip to [0, 1]."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def logistic(x: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    """The log-odds of ``p`` (kept away from 0 and 1)."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))
