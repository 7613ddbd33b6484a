"""Mesa agents: platforms that sortie and meet, and the commands and leaders who decide.

Platforms act through their own scheduled events (sortie start and end). Commands and
leaderships deliberate over an act of the other side: the report arrives after a delay, they
perceive it with noise, try to clarify it over the fastest available channel, and decide when
their decision time is up. Messages and decisions are Mesa events, so a hotline call that
arrives before the decision changes it and one that arrives later does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.core.comms import Route
from sim.core.ladder import Choice, ElnCategory, Response, Rung, response_for
from sim.core.spec import ActorSpec, ForceSpec, Side, Traits

if TYPE_CHECKING:
    from sim.core.model import EscalationModel


@dataclass
class Act:
    """Something one side did that the other side perceives: an incident, an exercise or a response."""

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


class Platform(mesa.Agent):
    """A platform or formation: goes out on sorties to its patrol zones, at a rate set by posture."""

    model: EscalationModel

    def __init__(self, model: EscalationModel, spec: ForceSpec, traits: Traits):
        super().__init__(model)
        self.spec = spec
        self.side = spec.side
        self.traits = traits
        self.on_sortie = False
        self.zone = spec.base
        total = sum(spec.patrol.values())
        self._patrol_zones = list(spec.patrol)
        self._patrol_cdf = np.cumsum([w / total for w in spec.patrol.values()])

    @property
    def name(self) -> str:
        """Display name."""
        return self.spec.name

    def schedule_next_sortie(self) -> None:
        """Draw the gap to the next sortie (Poisson process whose rate rises with posture)."""
        rate_per_h = self.spec.sorties_per_day / 24.0 * self.model.activity_multiplier(self.side)
        for m in self.model.measures:
            rate_per_h *= m.sortie_rate_factor(self.model, self)
        if rate_per_h <= 0:
            return
        gap = self.model.streams["activity"].exponential(1.0 / rate_per_h)
        self.model.schedule_event(self.start_sortie, after=gap)

    def start_sortie(self) -> None:
        """Go out to a patrol zone drawn by its weight."""
        u = self.model.streams["activity"].random()
        self.zone = self._patrol_zones[min(int(np.searchsorted(self._patrol_cdf, u)), len(self._patrol_zones) - 1)]
        self.on_sortie = True
        self.model.activity_changed()
        self.model.schedule_event(self.end_sortie, after=self.spec.sortie_hours)

    def end_sortie(self) -> None:
        """Return to base and plan the next sortie."""
        self.on_sortie = False
        self.zone = self.spec.base
        self.model.activity_changed()
        self.schedule_next_sortie()


class DecisionMaker(mesa.Agent):
    """A command or a political leadership that answers the other side's acts."""

    model: EscalationModel
    role = "decision-maker"

    def __init__(self, model: EscalationModel, spec: ActorSpec, traits: Traits):
        super().__init__(model)
        self.spec = spec
        self.side = spec.side
        self.traits = traits

    @property
    def name(self) -> str:
        """Display name."""
        return self.spec.name

    def latent_propensity(self, d: Deliberation) -> float:
        """The ordered-logit index: how strongly this actor leans toward a forceful reply."""
        p, state = self.model.params, self.model.sides[self.side]
        return (
            p.w_severity * d.perceived_severity
            + p.w_hostility * d.perceived_hostility
            + p.w_tension * state.tension
            + p.w_aggressiveness * (self.traits.aggressiveness - 0.5)
            - p.w_trust * state.trust
            + p.w_reciprocity * state.opponent_hostility
            + self.model.measure_decision_shift(d)
        )

    def choose(self, d: Deliberation) -> Response:
        """Pick a response to ``d.act`` by an ordered logit whose upper cuts rise with the rung."""
        p = self.model.params
        z = self.latent_propensity(d) + self.model.streams["decisions"].logistic()
        stimulus = d.act.rung
        match_rung = response_for(Choice.MATCH, stimulus).rung
        escalate_rung = response_for(Choice.ESCALATE, stimulus).rung
        risk = p.w_risk * (self.traits.risk_tolerance - 0.5)
        if z < p.cut_hold:
            choice = Choice.DE_ESCALATE
        elif z < p.cut_protest:
            choice = Choice.HOLD
        elif z < p.cut_match + self.model.firebreak(match_rung) - risk:
            choice = Choice.PROTEST
        elif z < p.cut_escalate + self.model.firebreak(escalate_rung) - risk:
            choice = Choice.MATCH
        else:
            choice = Choice.ESCALATE
        response = response_for(choice, stimulus)
        if d.cap is not None and response.rung > d.cap.rung:
            response = d.cap
        return response

    def decide(self, d: Deliberation) -> None:
        """Choose and act (commands refer forceful replies to their leadership)."""
        self.model.execute_response(self, d, self.choose(d))


class Command(DecisionMaker):
    """A military command (e.g. Allied Air Command, a Russian fleet or military district)."""

    role = "command"

    def decide(self, d: Deliberation) -> None:
        """Replies at or above the political-approval rung go up to the leadership."""
        response = self.choose(d)
        if response.rung >= self.model.params.political_approval_rung:
            leader = self.model.leadership[self.side]
            self.model.log(
                "referral", self.side, actors=[self.name, leader.name], zone=d.act.zone,
                text=f"{self.name} proposes: {response.value}; the decision goes to {leader.name}",
                response=response.value, rung=response.rung,
            )
            referred = Deliberation(self.model, leader, d.act, cap=response, parent=d)
            self.model.schedule_event(referred.open, after=self.model.params.internal_relay_h)
            return
        self.model.execute_response(self, d, response)


class Leadership(DecisionMaker):
    """Political leadership (North Atlantic Council / capitals, the Kremlin)."""

    role = "leadership"


class Deliberation:
    """One decision-maker's handling of one act: perceive, seek clarification, decide.

    Holds bound methods that Mesa schedules (report arrival, message arrival, decision), so the
    model keeps each open deliberation referenced until it is decided.
    """

    def __init__(
        self,
        model: EscalationModel,
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
        self.clarified_by: list[str] = list(parent.clarified_by) if parent else []
        self.decided = False
        model.open_deliberations.add(self)

    def open(self) -> None:
        """The report arrives: perceive (unless referred), try a channel, and set the decision time."""
        model, p = self.model, self.model.params
        if self.parent is None:
            self.perceived_severity, self.perceived_hostility = model.perceive(self.decider.side, self.act)
            model.absorb_act(self.decider.side, self.act, self.perceived_severity, self.perceived_hostility)
            if self.decider.side in model.players:
                model.await_player(self)  # raises PlayerTurn: the player decides, not the logit
        decision_time = (
            self.decider.traits.decision_time_h
            * (1.0 - p.time_pressure * model.sides[self.decider.side].tension)
            * model.measure_decision_time_factor(self.decider)
        )
        route = model.try_channel(self.decider, self.act)
        if route is not None:
            self.route = route
            model.schedule_event(self.clarification_arrives, after=route.latency_h)
        model.schedule_event(self.decide, after=max(decision_time, 0.0))

    def clarification_arrives(self) -> None:
        """A call over ``self.route`` gets through: intent becomes clearer, if still in time."""
        route: Route = self.route
        if self.decided:
            self.model.log(
                "clarification", self.decider.side, actors=[self.decider.name], zone=self.act.zone,
                channel=route.label, text=f"{route.label} contact comes too late for {self.decider.name}",
            )
            return
        q = route.quality
        self.perceived_hostility = (1 - q) * self.perceived_hostility + q * float(self.act.deliberate)
        self.clarified_by.append(route.label)
        self.model.clarified(self.decider.side, self.act, route)
        intent = "deliberate" if self.act.deliberate else "not intended as hostile"
        self.model.log(
            "clarification", self.decider.side, actors=[self.decider.name], zone=self.act.zone,
            channel=route.label,
            text=f"{route.label} contact clarifies intent for {self.decider.name}: {intent}",
        )

    def clarify_for_player(self) -> None:
        """A player's call arrives: clarify, then put the decision back before the player."""
        self.clarification_arrives()
        self.model.await_player(self)

    def decide(self) -> None:
        """Decision time is up."""
        self.decided = True
        self.model.open_deliberations.discard(self)
        self.decider.decide(self)


@dataclass
class SideState:
    """Tension, trust and memory of one side; ``level`` is its current rung on the ladder."""

    tension: float
    trust: float
    opponent_hostility: float
    level: int = int(Rung.ROUTINE)
    level_token: int = 0

    def relax(self, baseline: float, factor: float) -> None:
        """Exponential relaxation of tension toward its baseline over one step."""
        self.tension = baseline + (self.tension - baseline) * factor


def clip01(x: float) -> float:
    """Clip to [0, 1]."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def logistic(x: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))
