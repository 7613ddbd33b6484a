"""The event budget of a replication: a run that fires more events than this is stopped."""

from __future__ import annotations


class EventBudgetExceeded(RuntimeError):
    """A replication fired more events than its budget (``EscalationModel.event_budget``).

    Raised from ``EscalationModel.run_until``; the layer that set the budget says which
    parameter is the likely cause.
    """

    def __init__(self, events: int, time_h: float, budget: float):
        super().__init__(events, time_h, budget)
        self.events, self.time_h, self.budget = events, time_h, budget

    def __str__(self) -> str:
        return f"{self.events:,} events by hour {self.time_h:.6g}, over the budget of {self.budget:,.0f}"
