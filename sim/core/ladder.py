"""The escalation ladder, response options and ELN incident categories (PRODUCT.md)."""

from __future__ import annotations

from enum import Enum, IntEnum


class Rung(IntEnum):
    """Rungs of the escalation ladder, the shared vocabulary of every output."""

    ROUTINE = 0
    HEIGHTENED_VIGILANCE = 1
    DANGEROUS_INCIDENT = 2
    SHOW_OF_FORCE = 3
    LIMITED_FORCE = 4
    ARMED_CLASH = 5
    REGIONAL_WAR = 6
    NUCLEAR_THRESHOLD = 7

    @property
    def label(self) -> str:
        """Human-readable rung name, e.g. ``"show of force"``."""
        return RUNG_LABELS[self]


RUNG_LABELS: dict[Rung, str] = {
    Rung.ROUTINE: "routine",
    Rung.HEIGHTENED_VIGILANCE: "heightened vigilance",
    Rung.DANGEROUS_INCIDENT: "dangerous incident",
    Rung.SHOW_OF_FORCE: "show of force",
    Rung.LIMITED_FORCE: "use of force, limited",
    Rung.ARMED_CLASH: "armed clash",
    Rung.REGIONAL_WAR: "regional war",
    Rung.NUCLEAR_THRESHOLD: "nuclear threshold",
}
TOP_RUNG = int(Rung.NUCLEAR_THRESHOLD)


class ElnCategory(str, Enum):
    """Incident categories of the ELN incident studies (near-routine / serious / high risk)."""

    NEAR_ROUTINE = "near_routine"
    SERIOUS = "serious"
    HIGH_RISK = "high_risk"


class Choice(IntEnum):
    """The ordered response options a decision-maker chooses between (ordered-logit categories)."""

    DE_ESCALATE = 0
    HOLD = 1
    PROTEST = 2
    MATCH = 3
    ESCALATE = 4


class Response(str, Enum):
    """A concrete response on the ladder; ``rung`` is the rung the act signals."""

    DE_ESCALATE = "de-escalate"
    HOLD = "hold"
    PROTEST = "protest"
    SHADOW = "shadow / intercept"
    RAISE_ALERT = "reinforce / raise alert"
    SHOW_OF_FORCE = "show of force"
    LIMITED_FORCE = "use of force (limited)"
    ARMED_CLASH = "armed clash"
    REGIONAL_WAR = "regional war"
    NUCLEAR_SIGNAL = "nuclear signalling"

    @property
    def rung(self) -> int:
        """Ladder rung this response signals."""
        return _RESPONSE_RUNG[self]

    @property
    def is_military_act(self) -> bool:
        """Whether the other side perceives this as a military act that calls for a reply."""
        return self.rung >= Rung.DANGEROUS_INCIDENT and self is not Response.PROTEST


_RESPONSE_RUNG = {
    Response.DE_ESCALATE: 1,  # stand down to vigilance
    Response.HOLD: 1,
    Response.PROTEST: 2,
    Response.SHADOW: 2,
    Response.RAISE_ALERT: 3,
    Response.SHOW_OF_FORCE: 3,
    Response.LIMITED_FORCE: 4,
    Response.ARMED_CLASH: 5,
    Response.REGIONAL_WAR: 6,
    Response.NUCLEAR_SIGNAL: 7,
}

# The military act that answers a stimulus at a given rung ("match"); escalation picks rung + 1.
MILITARY_ACT_AT_RUNG: dict[int, Response] = {
    2: Response.SHADOW,
    3: Response.SHOW_OF_FORCE,
    4: Response.LIMITED_FORCE,
    5: Response.ARMED_CLASH,
    6: Response.REGIONAL_WAR,
    7: Response.NUCLEAR_SIGNAL,
}


def response_for(choice: Choice, stimulus_rung: int) -> Response:
    """Translate an ordered choice into a concrete response to a stimulus at ``stimulus_rung``."""
    if choice is Choice.DE_ESCALATE:
        return Response.DE_ESCALATE
    if choice is Choice.HOLD:
        return Response.HOLD
    if choice is Choice.PROTEST:
        return Response.PROTEST
    if choice is Choice.ESCALATE and stimulus_rung <= 2:
        return Response.RAISE_ALERT  # answering an incident by raising alert, not yet a show of force
    rung = max(stimulus_rung, 2) + (1 if choice is Choice.ESCALATE else 0)
    return MILITARY_ACT_AT_RUNG[min(rung, TOP_RUNG)]
