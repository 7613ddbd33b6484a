"""Channels and statements: calls between the sides, what is said over them, meetings and signals."""

from __future__ import annotations

import zlib

from sim.core.agents import (
    Act,
    DecisionMaker,
    Deliberation,
    Statement,
    clip01,
    logistic,
    logit,
)
from sim.core.comms import Route
from sim.core.narrative import short
from sim.core.spec import (
    Side,
)

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


def _act_key(act: Act) -> str:
    """A name for an act that is the same in every configuration where the act happens."""
    return f"{act.time_h:.6f}|{act.actor}|{act.type}|{act.rung}"


class ChannelsMixin:
    """Calls, stated intent, bluffs found out, signals and meetings."""

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
        self.sides[side].last_contact = self.time
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

    def signal(self, side: Side, kind: str, text: str | None, benign: float | None) -> None:
        """``side`` sends a signal (protest, stand-down, suspension, restoration, an announcement).

        The other side's leadership perceives it after ``signal_delay_h``. Trust moves only on what it
        can observe: an act (a protest, a stand-down, contacts cut or restored: ``benign`` is what it
        shows); an announcement of what will be done (``benign=None``) earns nothing until checked
        against what is seen later. ``text`` is logged (``None`` when the decision's own log line says it).
        """
        if text is not None:
            self.log("signal", side, actors=[self.leadership[side].name], text=text)
        if benign is None:
            return
        other = side.other
        self.later(self.params.signal_delay_h, lambda: self._signal_seen(other, kind, benign))

    def _signal_seen(self, side: Side, kind: str, benign: float) -> None:
        """``side`` sees the other's signal: it learns from it; a stand-down is a reason to step down too."""
        self.learn(side, benign, self.params.signal_weight)
        if kind == "stand-down":
            self.sides[side].standdown_seen = self.time

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
                self.sides[side].last_contact = self.time
                after = self.weigh(side, statement, quality, hostility)
                # Trust moves by what the account changed about the act (it was absorbed once already).
                s = self.sides[side]
                s.trust = clip01(s.trust + min(p.trust_learning * severity, 1.0) * (hostility - after))
                if not statement.truthful and self.draw("exposed", _act_key(act), label) < p.lie_detection:
                    self.later(p.lie_detection_h, lambda s=side, a=act: self._lie_found_out(s, a))
            self.unexplained[side] = []
        return n
