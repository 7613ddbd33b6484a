"""Encounters: who is out where, the hazards of meeting and straying, and the incidents they make."""

from __future__ import annotations

import math
import operator

from sim.core.agents import (
    INTERCEPTOR_KINDS,
    SHIP_PASS_KINDS,
    Act,
    Deliberation,
    Platform,
    clip01,
)
from sim.core.alliance import MEMBERS
from sim.core.engine import Draws, _nothing
from sim.core.ladder import ElnCategory, Rung
from sim.core.narrative import incident_text
from sim.core.spec import INCIDENT_TYPES, Side

AIR_SEA_TYPES = frozenset({"air_intercept", "at_sea_close_encounter", "collision", "weapons_lock", "drone_shootdown"})


# Types whose ladder rung is fixed by what happened rather than by severity (PRODUCT.md ladder).
FIXED_RUNG = {
    "drone_shootdown": int(Rung.LIMITED_FORCE),
    "warning_fire": int(Rung.SHOW_OF_FORCE),  # shots across the bow: force shown, not used on a target
    "missile_release": int(Rung.LIMITED_FORCE),  # a weapon released at or near an aircraft
    "ramming": int(Rung.LIMITED_FORCE),  # deliberate contact that damages a platform
    "shootdown": int(Rung.LIMITED_FORCE),
}
FIRE_TYPES = frozenset({"drone_shootdown", "missile_release", "ramming", "shootdown"})  # force used on a target


def _can_meet(a: Platform, b: Platform) -> bool:
    """Whether two opposing platforms on sortie can have an encounter at all (who meets whom)."""
    da, db = a.spec.domain, b.spec.domain
    if da == db == "air":
        return a.spec.kind in INTERCEPTOR_KINDS or b.spec.kind in INTERCEPTOR_KINDS
    if da == db == "sea":
        return True
    air = a if da == "air" else b
    return air.spec.kind in SHIP_PASS_KINDS


def _initiator(a: Platform, b: Platform, rng: Draws) -> tuple[Platform, Platform]:
    """Whose conduct makes the encounter: the interceptor or the aircraft over a ship; else by conduct."""
    ia = a.spec.domain == "air" and (b.spec.domain == "sea" or a.spec.kind in INTERCEPTOR_KINDS)
    ib = b.spec.domain == "air" and (a.spec.domain == "sea" or b.spec.kind in INTERCEPTOR_KINDS)
    if ia != ib:
        return (a, b) if ia else (b, a)
    wa = a.traits.aggressiveness * (1 - a.traits.rule_adherence) + 0.05
    wb = b.traits.aggressiveness * (1 - b.traits.rule_adherence) + 0.05
    return (a, b) if rng.random() * (wa + wb) < wa else (b, a)


def _escort(a: Platform, b: Platform) -> tuple[str, float | None] | None:
    """A quick-reaction pair and the flight it was sent against: (the pair's name, when it intercepted)."""
    for fighter, other in ((a, b), (b, a)):
        if fighter.scrambled and fighter.quarry is other:
            return fighter.name, fighter.intercepted_at
    return None


_creation_order = operator.attrgetter("unique_id")
_COUNTED = {c: (c.value, f"reported_{c.value}") for c in ElnCategory}  # an incident's counter keys, by category
_BY_SIDE = {(t, side): f"{t}_by_{side.value}" for t in INCIDENT_TYPES for side in Side}  # its counter key by side


class ActivityMixin:
    """Sorties, scrambles, encounters and airspace violations, and the acts they make."""

    def activity_multiplier(self, side: Side) -> float:
        """How much more often a side's platforms go out: its crisis posture, exercises."""
        return self.era_activity[side] * (
            1.0 + self.params.posture_activity_gain * self.sides[side].posture + self.exercise_boost[side]
        )

    def activity_changed(self) -> None:
        """Note that something changed the hazards: the next encounter or violation is placed again.

        A platform going out or coming back notes it itself (its ``on_sortie``, ``moved``): the
        total hazard follows it before the next encounter is placed.
        """
        self._redraw = True

    def moved(self, platform: Platform) -> None:
        """``platform`` went out or came back (its ``on_sortie`` changed): the total hazard follows it at once.

        The hazard integrated since the last change is spent at the old total first
        (``_spend_hazard``); then what ``platform`` added where it was is taken out, and what it adds where
        it is now is added: its violation hazard and its pairs with the other side's platforms out.
        Exact but for rounding (sums of the cached rates); when nobody is out the total is zero.
        Ships and aircraft only (a formation on land meets no one at random).
        """
        pl, now_t = platform, self.time
        if now_t != self._hazard_since:
            self._spend_hazard(now_t)
        was = pl._counted
        now = (pl.zone, pl.scrambled) if pl._on_sortie else None
        if was == now:
            self._place_next_incident(now_t, self._hazard_total)
            return
        by_side = self._counted_zone
        own, others = by_side[pl.side], by_side[pl.side.other]
        total = self._hazard_total
        if was is not None:  # take out what it added where it was
            total -= self._hazard_of(pl, was, others)
        if now is not None:  # add what it adds where it is now
            total += self._hazard_of(pl, now, others)
        own.pop(pl, None)
        pl._counted = now
        if now is not None:
            own[pl] = now[0]
        self._hazard_total = total = total if own or others else 0.0
        self._place_next_incident(now_t, total)  # the next encounter or violation is placed again

    def _hazard_of(self, pl: Platform, state: tuple[str, bool], others: dict[Platform, str]) -> float:
        """What ``pl`` adds to the total hazard out in ``state`` (zone, scrambled) with ``others`` out.

        Its violation hazard, and its pairs with the other side's platforms out (``others``: platform
        -> zone), from the caches (``_air_hazard``, ``_pair_hazard``, inlined: this runs at every move).
        """
        zone, scrambled = state
        if scrambled or pl.domain != "air":
            rate = 0.0
        else:
            rate = pl.violation_rates.get(zone)
            if rate is None:
                rate = self._air_hazard(pl, zone)
        if others:
            pair_rate, nato = self._pair_rate, pl.side is Side.NATO
            for b, zone_b in others.items():
                key = (pl, b, zone, zone_b) if nato else (b, pl, zone_b, zone)
                r = pair_rate.get(key)
                rate += r if r is not None else self._pair_hazard(*key)
        return rate

    def _place_next_incident(self, now: float, total: float) -> None:
        """Place the next encounter or violation where the hazard left is spent at ``total`` from ``now``."""
        if total > 0.0:
            t = now + self._hazard_left / total
            self._incident_at = t if t <= self.horizon_h else math.inf
        else:
            self._incident_at = math.inf

    def _spend_hazard(self, now: float) -> None:
        """Spend the hazard integrated at the current total since it last changed (never below zero)."""
        left = self._hazard_left - self._hazard_total * (now - self._hazard_since)
        self._hazard_since = now
        self._hazard_left = left if left > 0.0 else 0.0

    def rates_changed(self, side: Side) -> None:
        """``side``'s sortie rate changed (posture, exercise, restraint): redraw its pending sorties."""
        for pl in self.platforms:
            if pl.side is side:
                pl._rate_per_h = None  # worked out again at its next draw
                pl.redraw_sortie()

    def _compute_hazards(self) -> tuple[list[tuple[str, Platform, Platform | None, float]], float]:
        """The pairs that can meet, and the aircraft that can stray, with their hazards, and their total.

        Who does what: fighters intercept aircraft; ships meet ships; fighters, bombers and patrol
        aircraft make passes at ships. Reconnaissance and transport aircraft are met, they do not
        meet anyone on their own. Computed afresh from who is out where (at an encounter or
        violation, to choose which; between them only the total is kept, ``moved``).
        """
        hazards: list[tuple[str, Platform, Platform | None, float]] = []
        active = sorted(self.airborne_or_at_sea, key=_creation_order)
        nato = [pl for pl in active if pl.side is Side.NATO]
        if nato and len(nato) < len(active):
            russia = [pl for pl in active if pl.side is not Side.NATO]
            for a in nato:
                for b in russia:
                    rate = self._pair_hazard(a, b, a.zone, b.zone)
                    if rate > 0:
                        hazards.append(("encounter", a, b, rate))
        for a in active:
            if a.domain != "air" or a.scrambled:
                continue  # ships enter claimed waters by inject (e.g. a transit), not at random
            rate = self._air_hazard(a, a.zone)
            if rate > 0:
                hazards.append(("violation", a, None, rate))
        return hazards, sum([h[3] for h in hazards])

    def _pair_hazard(self, a: Platform, b: Platform, zone_a: str, zone_b: str) -> float:
        """The encounter hazard of ``a`` (NATO) and ``b`` in these zones (cached per pair and zones)."""
        key = (a, b, zone_a, zone_b)
        rate = self._pair_rate.get(key)
        if rate is None:
            rate = self._pair_rate[key] = self._encounter_rate(a, b)
        return rate

    def _air_hazard(self, a: Platform, zone: str) -> float:
        """The violation hazard of aircraft ``a`` out in ``zone`` (cached on the aircraft, per zone)."""
        rate = a.violation_rates.get(zone)
        if rate is None:
            rate = a.violation_rates[zone] = self._violation_rate(a)
        return rate

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
        """When the next encounter or violation happens: where the integrated total hazard reaches its draw.

        One unit exponential is drawn per encounter or violation (``_hazard_left``); each change of
        who is out where spends the hazard integrated since the last one and places the next at
        ``now + left / total`` (an inhomogeneous Poisson process by its integrated hazard: exact).
        """
        self._redraw = False
        now = self.time
        self._spend_hazard(now)
        self._place_next_incident(now, self._hazard_total)

    def _activity_incident(self) -> None:
        """An encounter or violation is due: which pair or aircraft, in proportion to its hazard."""
        self._redraw = True  # the next one is placed afresh after this event
        self._incident_at = math.inf
        self._incidents_fired += 1
        draws = self.activity_draws
        self._hazard_left, self._hazard_since = draws.exponential(), self.time
        hazards, total = self._compute_hazards()
        u = draws.random() * total
        for hazard in hazards:
            u -= hazard[3]
            if u <= 0:
                break
        kind, a, b, _ = hazard
        if kind == "encounter":
            self._encounter(a, b)  # type: ignore[arg-type]
        else:
            self._violation(a)

    def reach(self, side: Side, zone: str) -> tuple[bool, bool]:
        """Whether the other side's radar sees ``side``'s sorties to ``zone``, and whether its alert answers.

        Within ``radar_range_km`` and ``qra_range_km`` of its territory; memoised: the theatre and
        the parameters do not change in a run.
        """
        key = (side, zone)
        reach = self._reaches.get(key)
        if reach is None:
            km = self.theatre.distance_to_territory(zone, side.other)
            reach = self._reaches[key] = (km <= self.params.radar_range_km, km <= self.params.qra_range_km)
        return reach

    def number(self, act: Act) -> None:
        """Give ``act`` its number in the replication (the log's replies cite it)."""
        if not act.id:
            self.acts_numbered += 1
            act.id = self.acts_numbered

    def quick_reaction(self, aircraft: Platform) -> None:
        """The other side's quick-reaction alert, watching a flight near its airspace, scrambles or not."""
        if self.activity_draws.random() < self.params.qra_scramble_probability:
            self.scramble_against(aircraft, None)

    def scramble_against(self, target: Platform, violation: Act | None) -> Platform | None:
        """Launch the other side's nearest grounded fighter pair (the airspace owner's first)."""
        key = (target.side, target.zone)
        order = self._qra_order.get(key)
        if order is None:  # the other side's fighters, the owner's first, then the nearest (fixed in a run)
            th = self.theatre
            owner = th.zone(th.nearest_territory(target.zone, target.side.other)).member
            order = self._qra_order[key] = sorted(
                (pl for pl in self.platforms if pl.side is target.side.other and pl.spec.kind in INTERCEPTOR_KINDS),
                key=lambda pl: (pl.member != owner, th.distance(pl.spec.base, target.zone), pl.spec.id),
            )
        for fighter in order:
            if not fighter._on_sortie and not fighter.lost:
                break
        else:
            return None
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

    def _encounter(self, a: Platform, b: Platform) -> None:
        initiator, other = _initiator(a, b, self.incident_draws)
        itype = "air_intercept" if a.spec.domain == b.spec.domain == "air" else "at_sea_close_encounter"
        zone = initiator.zone if initiator.spec.domain == "air" or other.spec.domain != "sea" else other.zone
        act = self._incident_act(initiator, other, itype, zone, on_scene=True)
        text = None
        if self.record_events:  # a quick-reaction pair meeting the flight it was sent against: one episode
            text = incident_text(act, self.theatre.zone(act.zone).name, escort=_escort(a, b))
        self.record_incident(act, observer_delay_h=other.traits.reporting_delay_h, text=text)

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
        p, rng = self.params, self.incident_draws
        t = initiator.traits
        tail, noise = rng.exponential(), rng.normal()
        deliberate = rng.random() < p.deliberate_gain * t.aggressiveness
        # Rules of conduct govern professional conduct, not deliberate coercion: a deliberate act keeps its conduct.
        rules = 0.0 if deliberate else self.rules_reduction(itype, initiator, other)
        unsafe = 0.5 * (t.aggressiveness + (1 - t.rule_adherence)) * (1 - rules)
        severity = clip01(p.severity_base[itype] + p.severity_unsafe_gain * unsafe * tail + p.severity_sd * noise)
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
        self.number(act)
        counts, (category, reported) = self.incident_counts, _COUNTED[act.category]  # type: ignore[index]
        by_side = _BY_SIDE.get((act.type, act.side)) or f"{act.type}_by_{act.side.value}"
        counts[category] += 1
        counts[act.type] += 1
        counts[by_side] += 1
        if act.public:  # the incident becomes known: what the ELN studies could count
            counts[reported] += 1
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
                act=act.id,
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
