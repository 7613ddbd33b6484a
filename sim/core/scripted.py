"""Scripted and scheduled acts: injects of the master scenario events list, exercises, background streams."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sim.core.activity import AIR_SEA_TYPES, FIRE_TYPES
from sim.core.agents import (
    Act,
    clip01,
)
from sim.core.ladder import ElnCategory
from sim.core.narrative import forces
from sim.core.spec import (
    BackgroundSpec,
    ExerciseSpec,
    InjectSpec,
    Side,
)

if TYPE_CHECKING:
    from sim.core.view import ModelView


class InjectRun:
    """A scripted inject fired at its time."""

    def __init__(self, model: ModelView, spec: InjectSpec):
        self.model, self.spec = model, spec

    def fire(self) -> None:
        """The inject's act happens: logged, and reported to the other side."""
        model, s = self.model, self.spec
        initiator = next(p for p in model.platforms if p.spec.id == s.initiator)
        victim = next((p for p in model.platforms if p.spec.id == s.victim), None) if s.victim else None
        category = model.categorise(s.severity)
        act = Act(
            time_h=model.time,
            side=initiator.side,
            actor=initiator.name,
            target=victim.name if victim is not None else forces(initiator.side.other),
            target_platform=victim,
            casualties=s.casualties if victim is not None else 0,
            zone=s.zone,
            type=s.type,
            rung=model.incident_rung(s.type, category),
            severity=s.severity,
            deliberate=s.deliberate,
            on_scene=s.type in AIR_SEA_TYPES,
            category=category,
            kind=initiator.spec.kind,
            actor_platform=initiator,
            member=initiator.member,
            public=category is not ElnCategory.NEAR_ROUTINE,  # a scripted inject is the story of the day
        )
        delay = model.commands[initiator.side.other].traits.reporting_delay_h
        model.record_incident(act, observer_delay_h=delay, text=f"[inject {s.id}] {s.text}")
        if act.type in FIRE_TYPES:
            model.uses_of_force += 1
            model.sides[act.side].fired = model.time
            if model.first_fire is None:
                model.first_fire = act.side
        if victim is None:
            return
        lost = s.consequence in ("hit", "shot_down") and not victim.lost
        if lost:
            victim.lose()
        if act.casualties:
            model._killed_at[act.side] = model.time
            model.mourn(victim.side, act.casualties)
        if lost or act.casualties:  # the same consequences as a spontaneous act: suspension, national decisions
            model.log(
                "force",
                act.side,
                actors=[act.actor, victim.name],
                zone=act.zone,
                rung=act.rung,
                answers=act.id,
                effect=s.consequence if lost else "casualties",
                casualties=act.casualties,
                text=f"{victim.name} is {s.consequence.replace('_', ' ') if lost else 'struck'}"
                + (
                    f"; {act.casualties} {'person' if act.casualties == 1 else 'people'} killed"
                    if act.casualties
                    else ""
                ),
            )
            model.after_losses(act, victim, act.casualties, "")


class ExerciseRun:
    """A large exercise: perceived by the other side at its start, raises activity while it lasts.

    Under the Vienna Document (when in force) an exercise of ``notification_troops`` or more is
    notified in advance and one of ``observation_troops`` or more is open to observers; snap
    exercises are not notified. A measure may notify and observe more.
    """

    def __init__(self, model: ModelView, spec: ExerciseSpec):
        self.model, self.spec = model, spec
        self.boost = 0.0

    def start(self) -> None:
        """The exercise begins: an act the other side perceives, more activity while it lasts."""
        model, s, p = self.model, self.spec, self.model.params
        zone = s.zone
        for m in model.measures:
            zone = m.exercise_zone(model, s, zone)
        distance = model.theatre.distance_to_territory(zone, s.side.other)
        troops_factor, duration_factor = 1.0, 1.0
        for m in model.measures:
            tf, df = m.exercise_scale(model, s, distance)
            troops_factor, duration_factor = troops_factor * tf, duration_factor * df
        troops = int(round(s.troops * troops_factor))
        vd = "vienna_document" in model.agreements and not s.snap
        notified = vd and troops >= p.notification_troops
        observed = vd and troops >= p.observation_troops
        for m in model.measures:
            n, o = m.exercise_transparency(model, s, troops)
            notified, observed = notified or n, observed or o
        proximity = math.exp(-distance / p.exercise_threat_range_km)
        severity = p.severity_base["exercise_near_border"] * min(2.0, troops / p.exercise_reference_troops) * proximity
        if s.snap:
            severity *= p.snap_surprise
        severity = clip01(severity)
        command = model.commands[s.side]
        deliberate = model.incident_draws.random() < p.deliberate_gain * command.traits.aggressiveness
        category = model.categorise(severity)
        act = Act(
            time_h=model.time,
            side=s.side,
            actor=s.name,
            target=f"{s.side.other.label}",
            zone=zone,
            type="exercise_near_border",
            rung=model.incident_rung("exercise_near_border", category),
            severity=severity,
            deliberate=deliberate,
            on_scene=False,
            category=category,
            kind="snap_exercise" if s.snap else "exercise",
            member="ru" if s.side is Side.RUSSIA else "",
            public=True,
            notified=notified,
            observed=observed,
        )
        moved = "" if zone == s.zone else f" (moved from {model.theatre.zone(s.zone).name} by rule)"
        shown = "; notified in advance" if notified else ""
        shown += " and open to observers" if observed else ""
        text = (
            f"{s.name} {'is called at no notice' if s.snap else 'begins'}: "
            f"{troops:,} troops in {model.theatre.zone(zone).name}{moved}, "
            f"{distance:.0f} km from {s.side.other.label} territory{shown}"
        )
        model.record_incident(act, observer_delay_h=model.commands[s.side.other].traits.reporting_delay_h, text=text)
        self.boost = p.exercise_activity_gain * proximity * min(1.0, troops_factor)
        model.exercise_boost[s.side] += self.boost
        model.rates_changed(s.side)
        model.later(s.duration_h * duration_factor, self.end)

    def end(self) -> None:
        """The exercise ends: activity returns to normal."""
        self.model.exercise_boost[self.spec.side] -= self.boost
        self.model.rates_changed(self.spec.side)
        self.model.log("exercise_end", self.spec.side, text=f"{self.spec.name} ends")


class BackgroundRun:
    """A steady random stream of one type of event from one side (a Poisson process)."""

    def __init__(self, model: ModelView, spec: BackgroundSpec):
        self.model, self.spec = model, spec

    def schedule_next(self) -> None:
        """Draw the wait to the next event of the stream (within the horizon)."""
        if self.spec.rate_per_day <= 0:
            return
        gap = self.model.streams["background"].exponential(24.0 / self.spec.rate_per_day)
        if self.model.time + gap < self.model.horizon_h:
            self.model.later(gap, self.fire)

    def fire(self) -> None:
        """One background event: an act with a drawn severity, reported to the other side."""
        model, s = self.model, self.spec
        rng = model.streams["background"]
        severity = clip01(s.severity + model.params.severity_sd * rng.normal())
        category = model.categorise(severity)
        act = Act(
            time_h=model.time,
            side=s.side,
            actor=s.actor,
            target=forces(s.side.other),
            zone=s.zone,
            type=s.type,
            rung=model.incident_rung(s.type, category),
            severity=severity,
            deliberate=rng.random() < s.deliberate_probability,
            on_scene=False,
            category=category,
            kind="background",
            member="ru" if s.side is Side.RUSSIA else "",
            public=rng.random() < model.params.publicity[category.value],
        )
        model.record_incident(
            act,
            observer_delay_h=model.commands[s.side.other].traits.reporting_delay_h,
            text=f"{s.text} ({category.value.replace('_', '-')})",
        )
        self.schedule_next()
