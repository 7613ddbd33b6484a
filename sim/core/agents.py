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

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa

from sim.core.comms import Route
from sim.core.ladder import Choice, ElnCategory, Response, Rung, response_for
from sim.core.platforms import CREW, INTERCEPTOR_KINDS, SHIP_PASS_KINDS, WEAPONS, Platform  # noqa: F401 (re-exported)
from sim.core.spec import ActorSpec, Side, Traits

if TYPE_CHECKING:
    from sim.core.view import ModelView

POSTURES = ("calm", "firm", "robust", "coercive", "combat", "war footing")


@dataclass(slots=True)
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
            novelty = model.novelty(side, self.act)  # read once: perceiving does not change it
            self.perceived_severity, self.perceived_hostility = model.perceive(side, self.act, novelty)
            model.absorb_act(side, self.act, self.perceived_severity, self.perceived_hostility, novelty)
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
    restraint_trust: float = 0.0  # the part of trust earned by the other side's restraint, as it stands now

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
