"""Risk-reduction measures: one interface, one registry, one module per measure.

A measure subclasses :class:`Measure`, sets its catalogue facts (``name``, ``title``, ``source``,
``mechanism``), declares its parameters in a ``Params`` dataclass (types only: values, units and
bases live in ``conf/measures/catalogue/<name>.yaml``), overrides the hooks it acts through and is
registered with :func:`register`. Every module in this package is imported by :func:`registry`, so
adding a measure means adding one module here and one config file; the model core is untouched.

The model calls each hook at a fixed point; factors multiply and shifts add across measures, so
bundles compose without double counting any one measure.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from sim.core.spec import ChannelSpec, ScenarioSpec, Side

if TYPE_CHECKING:
    from sim.core.agents import Act, DecisionMaker, Deliberation, Platform
    from sim.core.model import EscalationModel
    from sim.core.spec import ExerciseSpec


@dataclass(frozen=True)
class NoParams:
    """For a measure without parameters beyond its on/off switch."""


class Measure:
    """Base class: every hook is neutral, so a measure overrides only what it acts through."""

    name: ClassVar[str]
    title: ClassVar[str]
    source: ClassVar[str]  # e.g. "000 rec. 2; 001 basic menu"
    mechanism: ClassVar[str]  # one sentence
    passage: ClassVar[str] = ""  # the source text it implements, quoted
    Params: ClassVar[type] = NoParams

    def __init__(self, params: Any):
        self.params = params

    # -- structure -------------------------------------------------------------------------
    def channels(self, spec: ScenarioSpec) -> list[ChannelSpec]:
        """Channels this measure adds to the communication network."""
        return []

    def setup(self, model: EscalationModel) -> None:
        """Schedule the measure's own events (meetings, ...) once the model is built."""

    # -- activity and incidents ------------------------------------------------------------
    def sortie_rate_factor(self, model: EscalationModel, platform: Platform) -> float:
        """Multiplier on how often a platform goes out (restraint, reduced activity)."""
        return 1.0

    def encounter_rate_factor(self, model: EscalationModel, a: Platform, b: Platform) -> float:
        """Multiplier on the encounter rate between two active opposing platforms."""
        return 1.0

    def violation_rate_factor(self, model: EscalationModel, platform: Platform) -> float:
        """Multiplier on an aircraft's hazard of straying into the other side's airspace."""
        return 1.0

    def unsafe_factor(self, model: EscalationModel, incident_type: str) -> float:
        """Multiplier on the unsafe-behaviour index that drives an incident's severity."""
        return 1.0

    def exercise_zone(self, model: EscalationModel, exercise: ExerciseSpec, zone: str) -> str:
        """Where an exercise is held (a rule may move it away from the border)."""
        return zone

    def exercise_scale(self, model: EscalationModel, exercise: ExerciseSpec, distance_km: float) -> tuple[float, float]:
        """Multipliers on an exercise's troops and duration, given its distance to the border."""
        return 1.0, 1.0

    def exercise_severity_factor(self, model: EscalationModel, exercise: ExerciseSpec, troops: int) -> float:
        """Multiplier on how threatening an exercise is (notification, observers)."""
        return 1.0

    # -- perception and decisions ----------------------------------------------------------
    def perception_noise_factor(self, model: EscalationModel, side: Side) -> float:
        """Multiplier on the noise with which ``side`` perceives the other's acts."""
        return 1.0

    def hostility_shift(self, model: EscalationModel, side: Side, act: Act) -> float:
        """Additive shift of the perceived hostility of ``act`` as ``side`` reads it."""
        return 0.0

    def decision_shift(self, model: EscalationModel, deliberation: Deliberation) -> float:
        """Additive shift of the latent escalation propensity (negative restrains)."""
        return 0.0

    def decision_time_factor(self, model: EscalationModel, decider: DecisionMaker) -> float:
        """Multiplier on the time a decision-maker takes before responding."""
        return 1.0

    def firebreak_shift(self, model: EscalationModel, rung: int) -> float:
        """Extra resistance (logit units) against choosing a reply at ``rung``."""
        return 0.0


def cross_channel(spec: ScenarioSpec, role: str, kind: str, params: Any) -> ChannelSpec:
    """A channel of ``kind`` between the two sides' actors of ``role`` ("command" or "leadership"),
    with ``params.latency_h``, ``params.availability`` and ``params.quality``."""
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
