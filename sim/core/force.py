"""Force and consequences: replies carried out, who fires on whom, what it costs, and the levels they hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.core.agents import (
    WEAPONS,
    Act,
    DecisionMaker,
    Deliberation,
    Platform,
    clip01,
)
from sim.core.alliance import MEMBERS
from sim.core.ladder import Response, Rung
from sim.core.narrative import RESPONSE_PHRASE, forces, military_text, short
from sim.core.spec import (
    Side,
)

if TYPE_CHECKING:
    from sim.core.view import ModelView


class LevelDecay:
    """A scheduled check that lowers a side's level one rung when its hold time has passed."""

    def __init__(self, model: ModelView, side: Side):
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


class ForceMixin:
    """Replies carried out: signals, military acts, fire and its consequences."""

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
            answers=act.id,
            perceived_hostility=d.perceived_hostility,
            text=f"{decider.name} {verb}{via}: {RESPONSE_PHRASE[response]} (answering {short(act)}, act {act.id}, "
            f"read as severity {d.perceived_severity:.2f}, {d.perceived_hostility:.0%} likely hostile)",
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
        """A military reply: who does it, to whom, with what consequence; the other side learns of it.

        Fire needs a weapon that reaches: the unit and its target are chosen by domain and reach
        (``can_engage``), the act's author first as target and the unit it was done to first as shooter.
        Fire that kills while the other side's fire has killed within ``exchange_window_h`` is an
        exchange of fire: an armed clash on the ladder.
        """
        p, rng = self.params, self.streams["consequences"]
        target = stimulus.actor_platform
        if target is None or target.side is side or target.lost or not target.on_sortie:
            target = None
        if response is Response.LIMITED_FORCE:
            unit, target = self._engagement(side, stimulus, unit)
        elif unit is None and response.rung == Rung.DANGEROUS_INCIDENT:
            # Shadowing is done by a unit on the spot: the one the act was done to, else one out there.
            own = stimulus.target_platform
            unit = own if own is not None and own.side is side and not own.lost else self._unit_for(side, stimulus.zone)
        if target is None:
            target = self._target_for(side, stimulus.zone)
        if response is Response.LIMITED_FORCE and (unit is None or target is None):
            # A limited use of force needs a weapon within reach of a unit of the other side;
            # without one the order becomes a show of force.
            response = Response.SHOW_OF_FORCE
            outcome_note = "No unit within reach of a weapon that can engage the other side's forces; instead "
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
            self.sides[side].fired = self.time
            if self.first_fire is None:
                self.first_fire = side
            hit = rng.random() < p.hit_probability
            if rung == Rung.LIMITED_FORCE:
                crew = target.crew if target is not None else 4
                casualties = int(rng.binomial(crew, p.casualty_probability)) if hit else 0
                lost = "shot down" if target is not None and target.spec.domain == "air" else "hit"
                outcome = f"{whom} is {lost}" if hit else "warning fire; no damage"
                effect = lost.replace(" ", "_") if hit else "warning_fire"
                if hit and target is not None:
                    target.lose()
                if casualties and self.time - self._killed_at[side.other] <= p.exchange_window_h:
                    rung, response, effect = int(Rung.ARMED_CLASH), Response.ARMED_CLASH, "exchange_of_fire"
                    outcome = f"{whom} is {lost} in an exchange of fire with losses on both sides"
            else:
                casualties = int(rng.poisson(5 * 4 ** (rung - Rung.ARMED_CLASH))) if hit else 0
                outcome = "fire is exchanged" if hit else "fire is exchanged without losses"
                effect = "exchange_of_fire"
            if casualties:
                outcome += f"; {casualties} {'person' if casualties == 1 else 'people'} killed"
                self._killed_at[side] = self.time
                self.mourn(side.other, casualties)
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
            answers=stimulus.id,
        )
        self.number(act)
        self.log(
            "force" if rung >= Rung.LIMITED_FORCE else "military act",
            side,
            actors=[who, whom],
            zone=stimulus.zone,
            severity=severity,
            rung=rung,
            response=response.value,
            text=text,
            act=act.id,
            answers=stimulus.id,
            **({"effect": effect, "casualties": casualties} if effect else {}),
        )
        self.raise_level(side, rung)
        self.send_report(act, delay_h=self.commands[side.other].traits.reporting_delay_h)
        if casualties or (effect in ("shot_down", "hit") and target is not None):
            # A member acting on its own national rules (no alliance decision) is answered alone.
            national = decider is None and side is Side.NATO and member not in ("", "allied")
            self.after_losses(act, target, casualties, member if national else "")

    def after_losses(self, act: Act, victim: Platform | None, dead: int, shooter_member: str) -> None:
        """What the side that lost people or a platform decides, at the level that decides it.

        Russia: the Kremlin cuts military contacts after deaths, with the member that fired on its own
        rules or with the alliance. NATO: the member whose forces were hit decides first, on its own
        authority: after deaths it cuts its own military contacts with Russia, it asks for consultations
        in the North Atlantic Council (which reviews the alliance's posture at once) and may raise its
        own forces' alert up to ``national_reply_cap`` (0: no national decisions; the alliance cuts contacts).
        """
        p, side = self.params, act.side.other
        if side is Side.RUSSIA:
            if dead:
                self.later(p.signal_delay_h, lambda: self.suspend(side, shooter_member, "after the deaths"))
            return
        if p.national_reply_cap <= 0:  # no national decisions: the alliance cuts contacts after deaths
            if dead:
                self.later(p.signal_delay_h, lambda: self.suspend(side, "", "after the deaths"))
            return
        member = victim.member if victim is not None and victim.member not in ("", "allied") else ""
        name = MEMBERS[member].name if member else "The allied nation"
        name = name[0].upper() + name[1:]
        if dead:
            self.later(p.signal_delay_h, lambda: self.suspend(side, member, "after the deaths"))
        self.log(
            "national decision",
            side,
            actors=[name],
            zone=act.zone,
            answers=act.id,
            text=f"{name} asks for consultations in the North Atlantic Council after {short(act)}"
            + (" and raises the alert of its forces on its own authority" if p.national_reply_cap >= 3 else ""),
        )
        if p.national_reply_cap >= Rung.SHOW_OF_FORCE:
            self.raise_level(side, min(int(p.national_reply_cap), int(Rung.SHOW_OF_FORCE)))
        self.later(p.signal_delay_h, lambda: self.review_posture(side, about=act))  # the NAC consults

    def can_engage(self, unit: Platform, target: Platform, where: str | None = None, at: str | None = None) -> bool:
        """Whether ``unit`` (at ``where``) has a weapon for ``target``'s domain that reaches it (at ``at``).

        Reach by kind and domain (``WEAPONS``); against aircraft, a ship's or formation's declared air
        defence. By default each is where it is: a unit out on its zone, a fighter or a formation at its base
        (a fighter can be sent), a ship in port nowhere (it fires on nothing).
        """
        reach = WEAPONS.get(unit.spec.kind, {}).get(target.spec.domain, 0.0)
        if target.spec.domain == "air":
            reach = max(reach, unit.spec.air_defence_km)
        if reach <= 0:
            return False
        where = where or self._position(unit)
        at = at or self._position(target)
        if where is None or at is None:
            return False
        return self.theatre.distance(where, at) <= reach

    @staticmethod
    def _position(pl: Platform) -> str | None:
        """Where a platform can fire from or be fired on: out on its zone; a fighter or formation at its base."""
        if pl.on_sortie:
            return pl.zone
        return pl.spec.base if pl.spec.domain != "sea" else None

    def _engagement(self, side: Side, stimulus: Act, unit: Platform | None) -> tuple[Platform | None, Platform | None]:
        """Who of ``side`` fires on whom: chosen by domain and reach, the act's author and victim first.

        The act's author and the unit it was done to are where the act happened for a sortie's length after
        it (a scripted act needs no sortie to have put them there).
        """
        th = self.theatre
        author, victim = stimulus.actor_platform, stimulus.target_platform

        def place(pl: Platform) -> str | None:
            if pl in (author, victim) and self.time - stimulus.time_h <= pl.spec.sortie_hours:
                return stimulus.zone
            return self._position(pl)

        targets = [pl for pl in self.platforms if pl.side is not side and not pl.lost and pl.spec.domain != "land"]
        units = [unit] if unit is not None else [pl for pl in self.platforms if pl.side is side and not pl.lost]
        best, best_key = (None, None), None
        for u in units:
            here = place(u)
            for t in targets:
                there = place(t) if (t.on_sortie or t is author) else None
                if there is None or here is None or not self.can_engage(u, t, here, there):
                    continue
                key = (
                    t is not author,
                    u is not victim,
                    there != stimulus.zone,
                    th.distance(here, there),
                    u.spec.id,
                    t.spec.id,
                )
                if best_key is None or key < best_key:
                    best, best_key = (u, t), key
        return best

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

    def _target_for(self, side: Side, zone: str) -> Platform | None:
        """A unit of the other side out in ``zone`` (whom a show of force or shadowing is aimed at), if any."""
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
