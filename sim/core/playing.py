"""Played sides: decision points opened for people, their calls, choices and injects."""

from __future__ import annotations

from sim.core.agents import (
    Deliberation,
)
from sim.core.channels import _act_key
from sim.core.comms import Route
from sim.core.ladder import Choice, Response, response_for
from sim.core.players import DecisionPoint, PlayerTurn
from sim.core.scripted import InjectRun
from sim.core.spec import (
    INCIDENT_TYPES,
    InjectSpec,
)


class PlayingMixin:
    """A player's decision points, calls, choices and a facilitator's injects."""

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
