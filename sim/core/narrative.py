"""The event log as a story: the sentences the model writes about what happened.

Every line should read as something an after-action report could say ("A Turkish F-16 pair fires
on Russian Su-24 strike aircraft in Central Black Sea: it is shot down; 1 person killed"), with
who did what to whom, where, and with what result; no model jargon.
"""

from __future__ import annotations

from sim.core.agents import INTERCEPTOR_KINDS, Act
from sim.core.ladder import ElnCategory, Response, Rung
from sim.core.record import clock
from sim.core.spec import Side


def forces(side: Side) -> str:
    """A side's forces, named in a sentence."""
    return "NATO forces" if side is Side.NATO else "Russian forces"


def short(act: Act | None) -> str:
    """A few words for an act, for log lines (``the air intercept by the Su-27 pair``)."""
    if act is None:
        return "the latest act"
    if act.type == "response":
        return f"the {RESPONSE_NOUN.get(act.rung, 'reply')} by {act.actor}"
    if act.type == "air_intercept" and act.kind not in INTERCEPTOR_KINDS:
        return f"the flight of {act.actor}"
    if act.type == "airspace_violation" and act.actor_platform is not None and act.actor_platform.domain == "sea":
        return f"the entry into claimed waters by {act.actor}"  # a ship enters territorial waters, not airspace
    if act.kind in ("exercise", "snap_exercise"):
        return act.actor
    return f"the {act.type.replace('_', ' ')} by {act.actor}"


RESPONSE_NOUN = {2: "shadowing", 3: "show of force", 4: "use of force", 5: "attack", 6: "strikes", 7: "nuclear alert"}
# What a decision reads as in the log: "Allied Air Command decides: protest through diplomatic channels".
RESPONSE_PHRASE = {
    Response.DE_ESCALATE: "stand its forces down to vigilance",
    Response.HOLD: "note it, with no visible reply",
    Response.PROTEST: "protest through diplomatic channels",
    Response.SHADOW: "shadow the other side's unit closely",
    Response.RAISE_ALERT: "raise alert and reinforce",
    Response.SHOW_OF_FORCE: "a show of force",
    Response.LIMITED_FORCE: "a limited use of force",
    Response.ARMED_CLASH: "attack the other side's forces",
    Response.REGIONAL_WAR: "strikes across the region",
    Response.NUCLEAR_SIGNAL: "nuclear signalling",
}


INTERCEPT_VERBS = {
    "air_intercept": ("intercepts", "makes an unsafe intercept of", "makes a dangerous close pass at"),
    "at_sea_close_encounter": ("shadows", "makes an unsafe close approach to", "comes within metres of"),
    "airspace_violation": ("briefly enters", "violates", "violates, transponder off,"),
}


def incident_text(
    act: Act, zone_name: str, scrambled: bool = False, escort: tuple[str, float | None] | None = None
) -> str:
    """One readable sentence for an activity incident.

    ``escort``: the encounter is between a quick-reaction pair and the flight it was sent against
    (the pair's name and when it intercepted, None if on its way), which the log says, so it does not
    read as a second, separate intercept minutes from the first.
    """
    level = list(ElnCategory).index(act.category)  # type: ignore[arg-type]
    category = act.category.value.replace("_", "-")  # type: ignore[union-attr]
    where = {"air_intercept": "over", "airspace_violation": "near"}.get(act.type, "in")
    if scrambled:
        conduct = ("", "; it manoeuvres unsafely", "; it manoeuvres dangerously close")[level]
        return f"{act.target} scrambles and intercepts {act.actor} {where} {zone_name}{conduct} ({category})"
    verb = INTERCEPT_VERBS.get(act.type, ("meets",) * 3)[level]
    text = f"{act.actor} {verb} {act.target} {where} {zone_name} ({category})"
    if escort is not None:  # "X intercepts Y ..., which was scrambled against it": one episode, not two
        pair, at = escort
        fighter_acts = pair == act.actor
        if at is None:
            text += ", scrambled against it and closing in" if fighter_acts else ", which was scrambled against it"
        else:
            since = f"since its quick-reaction intercept at {clock(at)}"
            text += f", escorting it {since}" if fighter_acts else f", which has escorted it {since}"
    return text


def military_text(response: Response, who: str, whom: str, side: Side, outcome: str, zone: str) -> str:
    """The log sentence for a military reply: who does what to whom, where, and what came of it."""
    rung = response.rung
    if response is Response.SHADOW:
        return f"{who} shadows {whom} closely in {zone}"
    if response is Response.RAISE_ALERT:
        return f"{side.label} raises the alert of its forces in the region and reinforces {zone}"
    if response is Response.SHOW_OF_FORCE:
        return f"{side.label} stages a show of force in {zone}: armed aircraft and ships sent toward {whom}"
    if rung == Rung.LIMITED_FORCE:
        return f"{who} fires on {whom} in {zone}: {outcome}"
    if rung == Rung.ARMED_CLASH:
        return f"Armed clash in {zone}: {forces(side)} attack {whom}; {outcome}"
    if rung == Rung.REGIONAL_WAR:
        return f"{side.label} opens strikes across the region: regional war; {outcome}"
    return f"{side.label} signals nuclear readiness: nuclear forces put on alert"
