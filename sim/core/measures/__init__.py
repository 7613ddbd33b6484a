"""Risk-reduction measures: one interface, one registry, one module per measure.

A measure subclasses :class:`Measure`, sets its catalogue facts (``name``, ``title``, ``source``,
``mechanism``, ``passage``), declares its parameters in a ``Params`` dataclass (types only:
values, units and bases live in ``conf/measures/catalogue/<name>.yaml``), overrides the hooks it
acts through and is registered with :func:`register`. Every module in this package is imported
by :func:`registry`, so adding a measure means adding one module here and one config file.

A measure acts only through mechanisms, and the hooks are the mechanisms:

- **channels** — who can call whom, how fast, how reliably, how clearly (``channels``);
- **activity** — who goes where, how often, how close (``sortie_rate_factor``,
  ``encounter_rate_factor``, ``violation_rate_factor``, ``exercise_zone``, ``exercise_scale``,
  ``withdraws``);
- **rules** — what crews may do (``rules_reduction``: the share of unsafe conduct agreed rules remove);
- **information** — who learns what, how reliably (``perception_noise_factor``,
  ``exercise_transparency``, meetings through ``EscalationModel.hold_meeting``).

There is no hook that adds to a decision index, to trust or to tension: a measure changes what
happens and what is known, and the model's agents do the rest. So a measure's effect can be zero
(no channel for it in the scenario) or negative (a call that carries a threat or a bluff).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from sim.core.spec import ChannelSpec, ForceSpec, ScenarioSpec, Side

if TYPE_CHECKING:
    from sim.core.agents import Act, Platform
    from sim.core.spec import ExerciseSpec
    from sim.core.view import ModelView


@dataclass(frozen=True)
class NoParams:
    """For a measure without parameters beyond its on/off switch."""


class Measure:
    """Base class: every hook is neutral, so a measure overrides only what it acts through."""

    name: ClassVar[str]
    title: ClassVar[str]
    source: ClassVar[str]  # e.g. "000 rec. 2; 001 basic menu" (the seed documents, see docs/MEASURES.md)
    mechanism: ClassVar[str]  # which mechanism carries it, in a few sentences
    limits: ClassVar[str] = ""  # when its effect is zero, and how it can be negative
    passage: ClassVar[str] = ""  # the source text it implements, quoted
    control: ClassVar[bool] = False  # a control for comparisons (the placebo), not a recommendation
    Params: ClassVar[type] = NoParams

    def __init__(self, params: Any):
        self.params = params

    # -- structure -------------------------------------------------------------------------
    def channels(self, spec: ScenarioSpec) -> list[ChannelSpec]:
        """Channels this measure adds to the communication network."""
        return []

    def setup(self, model: ModelView) -> None:
        """Schedule the measure's own events (meetings, ...) once the model is built."""

    # -- activity ---------------------------------------------------------------------------
    def withdraws(self, model: ModelView, force: ForceSpec) -> bool:
        """Whether this measure removes a force from the theatre (e.g. missiles withdrawn)."""
        return False

    def sortie_rate_factor(self, model: ModelView, platform: Platform) -> float:
        """Multiplier on how often a platform goes out (restraint, reduced activity).

        A platform keeps its rate until its side's rates change: a measure whose factor changes
        calls ``model.rates_changed(side)`` (as unilateral restraint does at each step).
        """
        return 1.0

    def encounter_rate_factor(self, model: ModelView, a: Platform, b: Platform) -> float:
        """Multiplier on the encounter rate between two active opposing platforms."""
        return 1.0

    def violation_rate_factor(self, model: ModelView, platform: Platform) -> float:
        """Multiplier on an aircraft's hazard of straying into the other side's airspace."""
        return 1.0

    def exercise_zone(self, model: ModelView, exercise: ExerciseSpec, zone: str) -> str:
        """Where an exercise is held (a rule may move it away from the border)."""
        return zone

    def exercise_scale(self, model: ModelView, exercise: ExerciseSpec, distance_km: float) -> tuple[float, float]:
        """Multipliers on an exercise's troops and duration, given its distance to the border."""
        return 1.0, 1.0

    # -- rules ------------------------------------------------------------------------------
    def rules_reduction(self, model: ModelView, incident_type: str, a: Platform, b: Platform | None) -> float:
        """Share of unsafe conduct in this encounter that rules agreed under this measure remove."""
        return 0.0

    # -- information --------------------------------------------------------------------------
    def perception_noise_factor(self, model: ModelView, side: Side, act: Act | None) -> float:
        """Multiplier on the noise with which ``side`` reads ``act`` (shared understanding)."""
        return 1.0

    def exercise_transparency(self, model: ModelView, exercise: ExerciseSpec, troops: int) -> tuple[bool, bool]:
        """Whether this measure has the exercise (notified in advance, open to observers)."""
        return False, False


def cross_channel(spec: ScenarioSpec, role: str, kind: str, params: Any) -> ChannelSpec:
    """A channel of ``kind`` between the two sides' actors of ``role`` ("command" or "leadership").

    It has ``params.latency_h``, ``params.availability`` and ``params.quality``.
    """
    nato, russia = spec.actor(Side.NATO, role), spec.actor(Side.RUSSIA, role)
    return ChannelSpec(nato.id, russia.id, kind, params.latency_h, params.availability, params.quality)


_REGISTRY: dict[str, type[Measure]] = {}
_DISCOVERED = False


def register(cls: type[Measure]) -> type[Measure]:
    """Class decorator adding a measure to the registry under ``cls.name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two measures are registered as {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def registry() -> dict[str, type[Measure]]:
    """All measures, by name, in catalogue order (importing every module of this package once)."""
    global _DISCOVERED
    if not _DISCOVERED:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
        _DISCOVERED = True
    return dict(sorted(_REGISTRY.items()))


def param_names(cls: type[Measure]) -> list[str]:
    """Parameter names of a measure (``enabled`` excluded)."""
    return [f.name for f in fields(cls.Params)]


def build(settings: dict[str, dict[str, Any]]) -> list[Measure]:
    """Instantiate the enabled measures from ``{name: {"enabled": bool, **params}}``."""
    measures = []
    for name, cls in registry().items():
        conf = settings.get(name)
        if not conf or not conf.get("enabled", False):
            continue
        measures.append(cls(cls.Params(**{k: conf[k] for k in param_names(cls)})))
    return measures
