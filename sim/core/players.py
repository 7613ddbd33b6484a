"""Sides played by people: the model stops at each decision the player's side has to take.

When a report reaches a player-controlled side, the model perceives it as usual (noise,
ambiguity, tension) and then, instead of letting the command's ordered logit decide, opens a
:class:`DecisionPoint` and stops its event loop (:class:`PlayerTurn`). The player may first use a
channel — the call takes the channel's latency and gets through with the channel's availability,
drawn from the model's own "channels" stream — and then chooses a response from the ladder's
options. The model plays the other side and the world; the same seed and the same choices give
the same game.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim.core.comms import Route
from sim.core.ladder import Choice, Response, Rung, response_for

if TYPE_CHECKING:
    from sim.core.agents import Deliberation

CHOICE_HELP = {
    Choice.DE_ESCALATE: "stand down to vigilance and signal restraint",
    Choice.HOLD: "take note, do nothing visible",
    Choice.PROTEST: "diplomatic protest, no military act",
    Choice.MATCH: "answer at the same rung",
    Choice.ESCALATE: "answer one rung higher",
}


class PlayerTurn(Exception):
    """Raised inside the event loop to stop it at a player's decision point (not an error)."""


@dataclass
class DecisionPoint:
    """One decision a player's side has to take: an act of the other side, as perceived."""

    number: int
    opened_h: float
    deliberation: Deliberation
    routes: list[Route]
    tried: dict[str, bool] = field(default_factory=dict)  # channel label -> got through

    @property
    def side(self):  # noqa: D102
        return self.deliberation.decider.side

    @property
    def act(self):  # noqa: D102
        return self.deliberation.act

    def options(self) -> list[tuple[Choice, Response]]:
        """The ladder's answers to this act, lowest first, without duplicates."""
        seen, out = set(), []
        for choice in Choice:
            response = response_for(choice, self.act.rung)
            if response not in seen:
                seen.add(response)
                out.append((choice, response))
        return out

    def channels(self) -> list[Route]:
        """Channels not tried yet for this decision."""
        return [r for r in self.routes if r.label not in self.tried]

    def briefing(self, zone_name: str, noise_sd: float) -> dict[str, Any]:
        """What the player knows and does not know, as plain data."""
        d, act = self.deliberation, self.act
        return {
            "number": self.number,
            "time_h": round(self.opened_h, 2),
            "side": self.side.value,
            "decider": d.decider.name,
            "what": {
                "type": act.type,
                "by": act.actor,
                "against": act.target,
                "zone": zone_name,
                "reported_rung": act.rung,
                "reported_rung_label": Rung(act.rung).label,
            },
            "known": {
                "perceived_severity": round(d.perceived_severity, 2),
                "severity_uncertainty": round(noise_sd, 2),
                "assessed_hostile_intent": round(d.perceived_hostility, 2),
                "clarified_by": list(d.clarified_by),
            },
            "channels": [
                {
                    "label": r.label,
                    "latency_h": round(r.latency_h, 2),
                    "availability": round(r.availability, 2),
                    "quality": round(r.quality, 2),
                }
                for r in self.channels()
            ],
            "tried": dict(self.tried),
            "options": [
                {"choice": c.name.lower(), "response": r.value, "rung": r.rung, "help": CHOICE_HELP[c]}
                for c, r in self.options()
            ],
        }
