"""Decisions and posture: standing rules, the leaderships' crisis posture, suspending and restoring contacts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.core.agents import (
    POSTURES,
    Act,
    SideState,
)
from sim.core.alliance import MEMBERS
from sim.core.ladder import Rung
from sim.core.narrative import short
from sim.core.spec import (
    Side,
)

if TYPE_CHECKING:
    from sim.core.view import ModelView


INF_KIND = "intermediate_range_missile"


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

    def __init__(self, model: ModelView):
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


class PostureMixin:
    """Standing rules, posture reviews, suspension and restoration of contacts."""

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
        parts = {
            "felt tension": p.posture_w_tension * s.tension,
            "public pressure": p.posture_w_audience * s.audience,
            "the threat perceived": p.posture_w_threat * threat,
        }
        x = (
            sum(parts.values())
            + p.posture_w_aggressiveness * (leader.traits.aggressiveness - 0.5)
            - p.posture_w_brink * max(0, self.rung - int(Rung.SHOW_OF_FORCE))
            - self.caution(side)
            + p.posture_noise_sd * self.streams["posture"].normal()
        )
        cuts = [self.posture_cut(k) for k in range(1, len(POSTURES))]
        target = sum(x > c for c in cuts)
        if side is Side.NATO:  # the North Atlantic Council: consensus, so its most cautious member decides force
            while (
                target > 0
                and self.allowed_rung_at(target) >= Rung.LIMITED_FORCE
                and (x <= cuts[target - 1] + p.nac_consensus_margin)
            ):
                target -= 1
        old, reason = s.posture, ""
        if target > old:
            s.posture, s.raised_at = target, self.time
            reason = f"after {short(about)}" if about is not None else f"driven by {max(parts, key=parts.get)}"
        elif old > 0 and x < cuts[old - 1] - p.posture_hysteresis - p.backdown_cost * s.audience:
            reason = self.termination_reason(side)  # a crisis is called off for a reason, not by decay alone
            if reason:
                s.posture = old - 1
        if s.posture != old:
            self.rates_changed(side)
            if s.posture > 0:
                self._review.wake()
            self.log(
                "posture",
                side,
                actors=[leader.name],
                text=f"{leader.name} sets a {POSTURES[s.posture]} posture {reason}: replies up to "
                f"{Rung(self.allowed_rung(side)).label} are authorised",
                reason=reason,
                answers=about.id if about is not None else None,
            )
        if s.posture >= p.sanction_posture and "" not in s.suspended:
            self.suspend(side, "", "as a sanction")
        elif s.posture <= 1 and s.suspended:
            for member_id, since in list(s.suspended.items()):
                if self.time - since >= p.suspension_days * 24:
                    self.restore(side, member_id)

    def termination_reason(self, side: Side) -> str:
        """Why ``side`` may step its posture down now, or "" (no reason: the posture holds).

        The other side's stand-down, a channel contact that conveyed its account, or a pause of
        ``termination_pause_h`` without a dangerous act from the other side, each since the posture rose.
        """
        s, other = self.sides[side], side.other.label
        if s.standdown_seen >= s.raised_at:
            return f"after {other}'s stand-down"
        if s.last_contact >= s.raised_at:
            return f"after contact with {other}"
        quiet = self.time - max(s.last_dangerous, s.raised_at)
        if quiet >= self.params.termination_pause_h:
            return f"after {quiet / 24:.0f} days without a dangerous act by {other}"
        return ""

    def caution(self, side: Side) -> float:
        """Risk aversion near the brink: grows with the rung, the recent dead, and the nuclear shadow.

        It raises a command's cuts for military replies and lowers a leadership's assessment.
        """
        p, rung = self.params, self.rung
        dead = self.recent_deaths()
        return (
            p.caution_w_rung * max(0, rung - int(Rung.DANGEROUS_INCIDENT))
            + p.caution_w_deaths * math.log1p(dead)
            + p.caution_nuclear_shadow * max(0, rung - int(Rung.SHOW_OF_FORCE))
        )

    def first_use_cost(self, side: Side, rung: int) -> float:
        """The reputation cost of being seen to fire first: a use of force while the other side has not."""
        if rung < Rung.LIMITED_FORCE:
            return 0.0
        if self.time - self.sides[side.other].fired <= self.params.caution_memory_h:
            return 0.0  # firing back is not first use
        return self.params.first_use_cost

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
        who, whom = _parties(side, member_id)
        self.signal(side, "suspension", f"{who} suspends military contacts with {whom} {why}", benign=0.0)

    def restore(self, side: Side, member_id: str) -> None:
        """``side`` restores the military contacts it had suspended."""
        del self.sides[side].suspended[member_id]
        who, whom = _parties(side, member_id)
        self.signal(side, "restoration", f"{who} restores military contacts with {whom}", benign=1.0)

    def missiles_facing(self, side: Side) -> bool:
        """Whether the other side has intermediate-range missiles in the theatre (minutes of warning)."""
        return any(pl.side is side.other and pl.spec.kind == INF_KIND for pl in self.platforms)

    def firebreak(self, rung: int) -> float:
        """Resistance against a reply at ``rung``: grows per rung, jumps at armed clash."""
        p = self.params
        return p.rung_firebreak * max(0, rung - 2) + (p.war_firebreak if rung >= Rung.ARMED_CLASH else 0.0)


def _parties(side: Side, member_id: str) -> tuple[str, str]:
    """Who decides a suspension (or its end) and with whom: the level that decided it.

    NATO's alliance-wide suspension is the North Atlantic Council's; one member's, of its own bilateral
    contacts, is that member's; Russia's is the Kremlin's, with the alliance or one member.
    """
    member = MEMBERS[member_id].name if member_id else ""
    if side is Side.NATO:
        who = (member[0].upper() + member[1:]) if member_id else "The North Atlantic Council"
        return who, "Russia"
    return "Russia", (member or "NATO")
