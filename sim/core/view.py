"""What agents and measures see of the model: a Protocol that ``EscalationModel`` implements.

Agents and measures take the model as a ``ModelView`` rather than importing ``EscalationModel``
(which imports them), so the core's modules import one way only. Types that live in
``sim.core.agents`` (acts, platforms, deliberations, decision makers) are ``Any`` here for the
same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from sim.core.comms import Route
from sim.core.ladder import Response
from sim.core.spec import ModelParams, Side
from sim.core.theatre import Theatre


class ModelView(Protocol):
    """The model's members that agents and measures use."""

    params: ModelParams
    time: float
    horizon_h: float
    theatre: Theatre
    streams: dict[str, np.random.Generator]
    activity_draws: Any  # engine.Draws
    seen_sorties: dict[Side, list[float]]
    sides: dict[Side, Any]  # SideState
    leadership: dict[Side, Any]  # Leadership
    players: frozenset[Side]
    measures: list[Any]  # Measure
    airborne_or_at_sea: set[Any]  # Platform
    triaged: int
    calls_too_late: int
    decision_record: list[tuple[float, float]]

    def log(self, kind: str, side: Side, *, text: str, **fields: Any) -> None: ...  # noqa: D102
    def later(self, delay_h: float, fn: Callable[[], None]) -> None: ...  # noqa: D102
    def at(self, time_h: float, fn: Callable[[], None]) -> None: ...  # noqa: D102
    def at_routine(self, time_h: float, fn: Callable[[], None]) -> None: ...  # noqa: D102
    def schedule_recurring(self, function: Callable, schedule: Any, priority: Any = None) -> None: ...  # noqa: D102
    def activity_changed(self) -> None: ...  # noqa: D102
    def moved(self, platform: Any) -> None: ...  # noqa: D102
    def activity_multiplier(self, side: Side) -> float: ...  # noqa: D102
    def rates_changed(self, side: Side) -> None: ...  # noqa: D102
    def reach(self, side: Side, zone: str) -> tuple[bool, bool]: ...  # noqa: D102
    def quick_reaction(self, aircraft: Any) -> None: ...  # noqa: D102
    def qra_intercept(self, fighter: Any, target: Any, violation: Any | None) -> None: ...  # noqa: D102
    def signal(self, side: Side, kind: str, text: str | None, benign: float) -> None: ...  # noqa: D102
    def hold_meeting(self, label: str, quality: float) -> int: ...  # noqa: D102
    def hear_statement(self, d: Any, route: Route) -> None: ...  # noqa: D102
    def firebreak(self, rung: int) -> float: ...  # noqa: D102
    def allowed_rung(self, side: Side) -> int: ...  # noqa: D102
    def missiles_facing(self, side: Side) -> bool: ...  # noqa: D102
    def novelty(self, side: Side, act: Any) -> float: ...  # noqa: D102
    def perceive(self, side: Side, act: Any, novelty: float | None = None) -> tuple[float, float]: ...  # noqa: D102
    def absorb_act(  # noqa: D102
        self, side: Side, act: Any, severity: float, hostility: float, novelty: float | None = None
    ) -> None: ...
    def standing_rules_apply(self, side: Side, act: Any, perceived_severity: float) -> bool: ...  # noqa: D102
    def try_channel(self, decider: Any, act: Any) -> Route | None: ...  # noqa: D102
    def review_posture(self, side: Side, threat: float = 0.0, about: Any | None = None) -> None: ...  # noqa: D102
    def execute_response(self, decider: Any, d: Any, response: Response) -> None: ...  # noqa: D102
    def await_player(self, d: Any) -> None: ...  # noqa: D102
