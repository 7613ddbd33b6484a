"""Platforms: the aircraft, ships and formations that go out on sorties, scramble and meet; what they carry.

Each platform acts through its own scheduled events (sortie start and end, quick-reaction scrambles);
the model keeps the set of those in the air or at sea, and draws encounters from who is out where.
"""

from __future__ import annotations

import bisect
from functools import partial
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.core.alliance import MEMBERS
from sim.core.spec import ForceSpec, Side, Traits

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
        self._counted: tuple[str, bool] | None = None  # where the model's total hazard counts it out (``moved``)
        self.scrambled = False
        self.quarry: Platform | None = None  # while scrambled: the flight it was sent against
        self.intercepted_at: float | None = None  # when it reached its quarry (None: on its way)
        self.lost = False  # shot down or disabled: out until replaced
        self.losses = 0  # times lost (platforms lost: an outcome)
        self.zone = spec.base
        self._sortie_clock = 0  # only the latest drawn sortie start fires
        self.sorties_flown = 0  # patrols started (scrambles not counted)
        self._sortie_pending = False
        self._rate_per_h: float | None = None  # sorties an hour now (None: to be worked out again)
        self.violation_rates: dict[str, float] = {}  # zone -> hazard of straying from it (the model's cache)
        self._reach: dict[str, tuple[bool, bool]] = {}  # zone -> the model's ``reach`` of this side's sorties there
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
            model = self.model
            if out:
                model.airborne_or_at_sea.add(self)
            else:
                model.airborne_or_at_sea.discard(self)
            model.moved(self)  # the hazards follow: the next encounter is placed again

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
        rate_per_h = self._rate_per_h
        if rate_per_h is None:  # the side's rates changed (``rates_changed``) since it was last worked out
            rate_per_h = self._per_h * model.activity_multiplier(self.side)
            for m in model.measures:
                rate_per_h *= m.sortie_rate_factor(model, self)
            self._rate_per_h = rate_per_h
        if rate_per_h <= 0:
            return
        at = model.time + model.activity_draws.exponential() / rate_per_h
        if at <= model.horizon_h:
            model.at_routine(at, partial(self.start_sortie, self._sortie_clock))

    def redraw_sortie(self) -> None:
        """The sortie rate changed: draw the wait for the next sortie again (memoryless, so exact)."""
        if self._sortie_pending:
            self.schedule_next_sortie()

    def start_sortie(self, clock: int) -> None:
        """Go out to a patrol zone drawn by its weight; a flight near the other side draws a scramble.

        ``clock``: the sortie drawn as the platform's ``clock``-th (``schedule_next_sortie``); one
        drawn before the latest (its rate changed since) does not fire.
        """
        if clock != self._sortie_clock:
            return
        self._sortie_pending = False
        model = self.model
        u = model.activity_draws.random()
        if self.lost:
            return
        if self._on_sortie:  # still out on a scramble: this patrol is skipped
            self.schedule_next_sortie()
            return
        zones = self._patrol_zones
        self.zone = zone = zones[min(bisect.bisect_left(self._patrol_cdf, u), len(zones) - 1)]
        self._on_sortie = True  # ``on_sortie = True``, inline: this runs at every sortie
        if self.domain != "land":
            model.airborne_or_at_sea.add(self)
            model.moved(self)
        self.sorties_flown += 1
        reach = self._reach.get(zone)
        if reach is None:
            reach = self._reach[zone] = model.reach(self.side, zone)
        seen, answered = reach
        if seen:  # the other side's radar sees it (``sortie_seen``)
            model.seen_sorties[self.side.other].append(model.time)
        model.at_routine(model.time + self.spec.sortie_hours, self.end_sortie)
        if answered and self.domain == "air":  # near the other side's airspace (``flight_near_border``)
            model.quick_reaction(self)

    def end_sortie(self) -> None:
        """Return to base and plan the next sortie."""
        if self.lost:
            return
        self._on_sortie = False  # ``on_sortie = False``, inline: this runs at every sortie
        if self.domain != "land":
            model = self.model
            model.airborne_or_at_sea.discard(self)
            model.moved(self)
        self.zone = self.spec.base
        self.schedule_next_sortie()

    def lose(self) -> None:
        """Shot down or disabled: out until a replacement arrives (``replacement_days``; 0: never)."""
        self.lost, self.on_sortie, self.scrambled, self.quarry = True, False, False, None
        self.losses += 1
        days = self.model.params.replacement_days
        if days > 0:
            self.model.later(days * 24.0, self.replace)

    def replace(self) -> None:
        """A replacement (the next rotation) arrives at the base and takes up the patrols."""
        self.lost, self.zone = False, self.spec.base
        self.model.log("rotation", self.side, actors=[self.name], text=f"A replacement {self.name} arrives")
        self.schedule_next_sortie()

    def scramble(self, zone: str, target: Platform, violation: object) -> None:
        """Quick-reaction launch against ``target``: fly to its zone and intercept on arrival.

        ``violation`` is the ``sim.core.agents.Act`` that set it off, or None; it is passed on to the model
        untouched (not named as a type here: agents imports this module).
        """
        self.zone, self.scrambled, self.on_sortie = zone, True, True  # out last: it is counted where it is
        self._target, self._violation = target, violation
        self.quarry, self.intercepted_at = target, None
        self.model.later(self.model.params.qra_delay_h, self.arrive)

    def arrive(self) -> None:
        """The scrambled pair reaches its target (if it is still out) and intercepts it."""
        target, violation = self._target, self._violation
        self._target = self._violation = None
        if self.lost:
            return
        if target.on_sortie and not target.lost:
            self.intercepted_at = self.model.time
            self.model.qra_intercept(self, target, violation)
        self.model.at_routine(self.model.time + 1.0, self.land)

    def land(self) -> None:
        """Back from a scramble (the regular sortie plan was never interrupted)."""
        if self.lost:
            return
        self.on_sortie, self.scrambled, self.quarry = False, False, None
        self.zone = self.spec.base
