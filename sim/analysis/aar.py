"""The after-action report of one replication: its phases and days, told as a reader would want them.

The event log is a chronicle: a crisis-era year writes about a thousand lines a replication, most of
them near-routine intercepts and calls that came after the decision. The after-action report reads
the same log with the replication's rung path and tells

- each **crisis phase** (a stretch above heightened vigilance, rung 2 and up): what started it, the
  days inside it with the moments that changed the course in bold, and what ended it (or that it
  was still on at the horizon);
- each **quiet stretch** between them in one paragraph: its meetings, signals and other told events
  (the first few, the rest counted by kind) and its routine traffic counted, not listed;
- **who decided what after which contact**: each decision with the channel it went through and the
  act it answers, with that act's time (a decision is tied to its act by the act's number, ``answers``).

Near-routine encounters, routine holds and calls heard after the decision (or conveying nothing)
are aggregated per day; nothing else is dropped. Every log line kind the model writes has a place
here (:data:`KINDS`); an event of a kind not listed is told as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sim.core.ladder import RUNG_LABELS, Rung
from sim.core.record import clock

ROUTINE_HOLD_SEVERITY = 0.4  # a hold on an act read as less severe than this is routine traffic
QUIET_LINES = 6  # told events listed per quiet stretch, turning points first (the rest counted by kind)
SERIOUS = ("serious", "high_risk")  # the ELN categories above near-routine
BLOCK_DAYS = 30  # a quiet stretch longer than this is summed up 30 days at a time
LONG_RUN_H = 60 * 24  # past this horizon a crisis phase is a show of force or above (the outcomes' crisis days)
PHASE_LINES = 60  # told events listed per crisis phase (turning points always; the rest counted by kind)
EPS_H = 1e-3  # events within this of a rung change are what changed it

# Every kind of log line the model writes, and how the report treats it: "told" (a line of its own),
# "counted" (aggregated per day), or by rule (incidents, responses and calls: see routine_kind).
KINDS: dict[str, str] = {
    "incident": "told unless near-routine",
    "military act": "told",
    "force": "told",
    "rules of engagement": "told",
    "national decision": "told",
    "posture": "told",
    "referral": "told",
    "response": "told unless a routine hold",
    "clarification": "told unless heard after the decision or conveying nothing",
    "signal": "told",
    "meeting": "told",
    "exercise_end": "told",
    "rotation": "told",
    "decision point": "counted (the decision itself is the response that follows)",
}

ROUTINE_NAMES = {  # the aggregate's words, singular and plural
    "near-routine": ("near-routine encounter", "near-routine encounters"),
    "hold": ("routine hold", "routine holds"),
    "late call": (
        "call heard after the decision or conveying nothing",
        "calls heard after the decision or conveying nothing",
    ),
    "decision point": ("decision put to the player", "decisions put to the player"),
}
KIND_NAMES = {  # told events past the list's length, counted by kind
    "incident": ("incident", "incidents"),
    "military act": ("military act", "military acts"),
    "response": ("decision", "decisions"),
    "clarification": ("call", "calls"),
    "signal": ("signal", "signals"),
    "meeting": ("meeting", "meetings"),
    "exercise_end": ("exercise end", "exercise ends"),
    "rotation": ("replacement", "replacements"),
    "posture": ("posture change", "posture changes"),
    "referral": ("referral", "referrals"),
}
TURNING_KINDS = frozenset({"signal", "meeting", "posture", "rules of engagement", "force", "national decision"})


def routine_kind(event: dict[str, Any]) -> str | None:
    """The aggregate an event is counted in (``near-routine``, ``hold``, ``late call``...), or None if told."""
    kind = event.get("kind")
    if kind == "incident" and event.get("category") == "near_routine":
        return "near-routine"
    if (
        kind == "response"
        and event.get("response") == "hold"
        and (_number(event.get("severity")) or 0) < ROUTINE_HOLD_SEVERITY
    ):
        return "hold"
    if kind == "clarification" and _late(event):
        return "late call"
    if kind == "decision point":
        return "decision point"
    return None


def _late(event: dict[str, Any]) -> bool:
    text = str(event.get("text", ""))
    return "after it has decided" in text or "conveys nothing" in text


def is_turning_point(event: dict[str, Any]) -> bool:
    """Whether an event is a moment that changed the course.

    Those are a call heard in time, a signal, a meeting, a change of posture, a use of force or a
    national decision, a reply taken after contact.
    """
    kind = event.get("kind")
    if kind == "clarification":
        return not _late(event) and "does not get through" not in str(event.get("text", ""))
    if kind in TURNING_KINDS:
        return True
    channel = event.get("channel")  # None in the log, NaN once read back into a table
    return kind == "response" and isinstance(channel, str) and bool(channel)


def _number(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v  # NaN (a table's empty cell) is no number


def _act(x: Any) -> int | None:
    v = _number(x)
    return int(v) if v is not None and v > 0 else None


def _plural(n: int, words: tuple[str, str]) -> str:
    return f"{n} {words[0] if n == 1 else words[1]}"


def _counts(counter: Counter, names: dict[str, tuple[str, str]]) -> str:
    return ", ".join(_plural(n, names.get(k, (k, k))) for k, n in counter.most_common())


def _span(hours: float) -> str:
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"
    return f"{hours / 24:.1f} days"


def end_clock(time_h: float) -> str:
    """A clock for an end: ``end of day 30`` rather than ``day 31 00:00`` at midnight."""
    return f"end of day {int(time_h // 24)}" if time_h > 0 and time_h % 24 == 0 else clock(time_h)


def _day(time_h: float) -> int:
    return int(time_h // 24) + 1


@dataclass
class Line:
    """One told line: its text and whether it is a turning point (bold)."""

    text: str
    turning: bool = False


@dataclass
class Section:
    """A phase (a crisis, or a quiet stretch): a heading and its lines."""

    heading: str
    lines: list[Line] = field(default_factory=list)
    crisis: bool = False


@dataclass
class AfterAction:
    """The after-action report of one replication."""

    title: str
    summary: str
    sections: list[Section]

    def markdown(self, escape=lambda s: s, level: int = 3) -> str:
        """Markdown: a heading per section, its lines as a list (turning points in bold)."""
        out = [f"{'#' * level} {escape(self.title)}", "", escape(self.summary), ""]
        for s in self.sections:
            out += [f"**{escape(s.heading)}**" if s.crisis else f"*{escape(s.heading)}*", ""]
            out += [f"- **{escape(x.text)}**" if x.turning else f"- {escape(x.text)}" for x in s.lines]
            out.append("")
        return "\n".join(out)

    def text(self) -> str:
        """Plain text (the terminal, the debrief): sections indented, turning points marked ``>>``."""
        out = [self.title, self.summary, ""]
        for s in self.sections:
            out.append(s.heading)
            out += [f"  {'>> ' if x.turning else ''}{x.text}" for x in s.lines]
            out.append("")
        return "\n".join(out).rstrip() + "\n"


def crisis_phases(
    changes: Iterable[Sequence[float]], horizon_h: float, rung: int = Rung.DANGEROUS_INCIDENT
) -> list[tuple[float, float | None, int, float]]:
    """Stretches at ``rung`` or above from the change points (time, rung, ...).

    Each is (start, end or None if still on at the horizon, peak rung, when the peak was first reached).
    """
    phases: list[tuple[float, float | None, int, float]] = []
    start: float | None = None
    peak, peak_t = 0, 0.0
    for row in changes:
        t, r = float(row[0]), int(row[1])
        if t > horizon_h:
            break
        if r >= rung:
            if start is None:
                start, peak, peak_t = t, r, t
            elif r > peak:
                peak, peak_t = r, t
        elif start is not None:
            phases.append((start, t, peak, peak_t))
            start = None
    if start is not None:
        phases.append((start, None, peak, peak_t))
    return phases


def after_action(
    events: Sequence[dict[str, Any]],
    changes: Iterable[Sequence[float]] | None,
    horizon_h: float,
    title: str = "After-action report",
    ongoing: bool = False,
    crisis_rung: int | None = None,
) -> AfterAction:
    """The after-action report of one replication from its events (in time order) and rung change points.

    ``changes``: rows of (time_h, rung, ...) as the model records them (``None``: the run kept no time
    series; the report is then a day summary without phases). ``ongoing``: a game still being played, read
    up to ``horizon_h`` (now), so a crisis still on is "still on now", not at the horizon. ``crisis_rung``:
    the rung a crisis phase starts at; by default a dangerous incident (2) in runs of up to 60 days, where
    every spell is told, and a show of force (3, the outcomes' crisis days) in longer runs, whose dangerous-
    incident spells are counted in the stretches between crises (a crisis-era year has dozens).
    """
    if crisis_rung is None:
        crisis_rung = Rung.DANGEROUS_INCIDENT if horizon_h <= LONG_RUN_H else Rung.SHOW_OF_FORCE
    events = [e for e in events if _number(e.get("time_h")) is not None]
    acts = {
        a: e
        for e in events
        if (a := _act(e.get("act"))) is not None and e.get("kind") in ("incident", "military act", "force")
    }
    changes = [(float(row[0]), int(row[1])) for row in changes] if changes is not None else None
    phases = crisis_phases(changes, horizon_h, crisis_rung) if changes is not None else []
    below = RUNG_LABELS[Rung(crisis_rung - 1)]
    sections: list[Section] = []
    used: set[int] = set()  # events told as what started or ended a crisis: told once, not again in the next section
    cursor = 0.0
    for k, (start, end, peak, peak_t) in enumerate(phases, 1):
        if start > cursor:
            sections.append(_quiet(events, acts, changes, below, cursor, start, used, first=not sections))
        sections.append(_crisis(k, events, acts, start, end, peak, peak_t, horizon_h, ongoing, crisis_rung, used))
        cursor = end if end is not None else horizon_h + 1
    left = [e for e in events if float(e["time_h"]) >= cursor - EPS_H and id(e) not in used]
    if cursor < horizon_h - EPS_H or (cursor <= horizon_h and left):
        sections.append(
            _quiet(events, acts, changes, below, cursor, horizon_h + 2 * EPS_H, used, first=not sections, last=True)
        )
    if changes is None and sections:
        d1 = _day(max(0.0, horizon_h - 3 * EPS_H))
        sections[0].heading = f"Days 1-{d1}: the log, without crisis phases (the run kept no time series)"
    incidents = [e for e in events if e.get("kind") == "incident"]
    serious = sum(1 for e in incidents if e.get("category") in SERIOUS)
    decisions = sum(1 for e in events if e.get("kind") == "response")
    peak = max((p[2] for p in phases), default=None)
    above = sum((e if e is not None else horizon_h) - s for s, e, *_ in phases)
    if changes is None:
        head = "No time series was kept: the days below are not split into crisis phases."
    elif peak is None:
        head = f"It never rose above {below}."
    else:
        head = (
            f"Peak: rung {peak} ({RUNG_LABELS[Rung(peak)]}); "
            f"{_plural(len(phases), ('crisis phase', 'crisis phases'))}, {_span(above)} above {below} in all."
        )
    summary = (
        f"{head} {_plural(len(incidents), ('incident', 'incidents'))} ({serious} serious or worse), "
        f"{_plural(decisions, ('decision', 'decisions'))}, over {_span(horizon_h)}."
    )
    return AfterAction(title, summary, sections)


def _between(events, lo: float, hi: float) -> list[dict[str, Any]]:
    return [e for e in events if lo - EPS_H <= float(e["time_h"]) < hi - EPS_H]


def _told(e: dict[str, Any], acts: dict[int, dict[str, Any]]) -> Line:
    """A told event's line: its clock and text; a decision also the time of the act it answers."""
    text = f"{e['clock']}: {e['text']}"
    answered = acts.get(_act(e.get("answers")) or 0)
    if e.get("kind") in ("response", "referral", "military act") and answered is not None:
        gap = float(e["time_h"]) - float(answered["time_h"])
        text += f" [act {_act(e.get('answers'))} was at {answered['clock']}, {_span(max(gap, 0.0))} earlier]"
    return Line(text, is_turning_point(e))


def _routine_line(counter: Counter) -> Line:
    return Line(f"also {_counts(counter, ROUTINE_NAMES)}")


def _quiet(
    events, acts, changes, below: str, lo: float, hi: float, used: set[int], first: bool, last: bool = False
) -> Section:
    inside = [e for e in _between(events, lo, hi) if id(e) not in used]
    d0, d1 = _day(lo), _day(max(lo, hi - 3 * EPS_H))
    days = f"day {d0}" if d0 == d1 else f"days {d0}-{d1}"
    where = "before any crisis" if first else ("after the last crisis" if last else "between crises")
    section = Section(f"{days[0].upper()}{days[1:]}: quiet ({where}, at or below {below})")
    told = [e for e in inside if routine_kind(e) is None]
    first_told = [e for e in told if is_turning_point(e)][:QUIET_LINES]
    first_told += [e for e in told if not is_turning_point(e)][: QUIET_LINES - len(first_told)]
    listed = {id(e) for e in first_told}
    section.lines += [_told(e, acts) for e in told if id(e) in listed]  # in time order
    rest = Counter(e.get("kind") for e in told if id(e) not in listed)
    if rest:
        section.lines.append(Line(f"and {_counts(rest, KIND_NAMES)} more"))
    routine = Counter(r for e in inside if (r := routine_kind(e)) is not None)
    if routine:
        section.lines.append(_routine_line(routine))
    spells = (
        _spells(changes, lo, hi) if changes is not None and below != RUNG_LABELS[Rung.HEIGHTENED_VIGILANCE] else None
    )
    if spells:
        section.lines.append(Line(_spell_text([h for _, h in spells])))
    if hi - lo > BLOCK_DAYS * 24 + 2 * EPS_H:  # a long stretch: what each 30 days held
        for b0 in range(int(lo // 24), int((hi - 3 * EPS_H) // 24) + 1, BLOCK_DAYS):
            b_lo, b_hi = max(lo, b0 * 24.0), min(hi, (b0 + BLOCK_DAYS) * 24.0)
            block = [e for e in _between(events, b_lo, b_hi) if id(e) not in used]
            told_kinds = Counter(e.get("kind") for e in block if routine_kind(e) is None)
            serious = sum(1 for e in block if e.get("kind") == "incident" and e.get("category") in SERIOUS)
            parts = [f"{_plural(serious, ('serious or worse incident', 'serious or worse incidents'))}"]
            told_kinds.pop("incident", None)
            if told_kinds:
                parts.append(_counts(told_kinds, KIND_NAMES))
            parts.append(_counts(Counter(r for e in block if (r := routine_kind(e)) is not None), ROUTINE_NAMES) or "")
            if spells is not None:  # each spell counted in the 30 days it starts in, whole
                here = [h for t, h in spells if b_lo - EPS_H <= t < b_hi - EPS_H]
                parts.append(_spell_text(here) if here else "")
            d0, d1 = _day(b_lo), _day(b_hi - 3 * EPS_H)
            section.lines.append(Line(f"days {d0}-{d1}: " + "; ".join(x for x in parts if x)))
    if not inside:
        section.lines.append(Line("nothing in the log"))
    return section


def _spells(changes, lo: float, hi: float) -> list[tuple[float, float]]:
    """The dangerous-incident spells (rung 2 and up) that start in [lo, hi): (start, length in h)."""
    return [
        (s, (e if e is not None else hi) - s)
        for s, e, *_ in crisis_phases(changes, hi - EPS_H, Rung.DANGEROUS_INCIDENT)
        if lo - EPS_H <= s < hi - EPS_H
    ]


def _spell_text(spells: list[float]) -> str:
    return (
        f"{_plural(len(spells), ('dangerous-incident spell', 'dangerous-incident spells'))} (rung 2), "
        f"{_span(sum(spells))} in all"
    )


def _crisis(
    k: int,
    events,
    acts,
    start: float,
    end: float | None,
    peak: int,
    peak_t: float,
    horizon_h: float,
    ongoing: bool,
    crisis_rung: int,
    used: set[int],
) -> Section:
    down = f"down to rung {crisis_rung - 1} ({RUNG_LABELS[Rung(crisis_rung - 1)]})"
    stop = end if end is not None else horizon_h + 2 * EPS_H  # an event at the horizon itself is inside
    until = clock(end) if end is not None else ("now" if ongoing else "the horizon")
    section = Section(
        f"Crisis {k}: {clock(start)} to {until} ({_span(stop - start)}), peak rung {peak} "
        f"({RUNG_LABELS[Rung(peak)]}) at {clock(peak_t)}",
        crisis=True,
    )
    at_start = [
        e for e in events if abs(float(e["time_h"]) - start) <= EPS_H and routine_kind(e) is None and id(e) not in used
    ]
    # what raised the rung: the first event of that moment at the crisis rung or above, else the first told one
    at_start.sort(key=lambda e: (_number(e.get("rung")) or 0) < crisis_rung)
    used.update(id(e) for e in at_start[:1])
    section.lines.append(
        Line(f"Started by: {at_start[0]['clock']}: {at_start[0]['text']}", True)
        if at_start
        else Line(f"Started at {clock(start)} with no event logged at that moment")
    )
    inside = [e for e in _between(events, start, stop) if id(e) not in used]
    told = [e for e in inside if routine_kind(e) is None]
    keep = {id(e) for e in told if is_turning_point(e)}
    keep |= {id(e) for e in told[: max(0, PHASE_LINES - len(keep))]}
    day = None
    dropped: Counter = Counter()
    routine: Counter = Counter()
    for e in inside:
        d = _day(float(e["time_h"]))
        if d != day:
            if routine:
                section.lines.append(_routine_line(routine))
                routine = Counter()
            day = d
            section.lines.append(Line(f"Day {d}"))
        r = routine_kind(e)
        if r is not None:
            routine[r] += 1
        elif id(e) in keep:
            section.lines.append(_told(e, acts))
        else:
            dropped[e.get("kind")] += 1
    if routine:
        section.lines.append(_routine_line(routine))
    if dropped:
        section.lines.append(Line(f"(not listed: {_counts(dropped, KIND_NAMES)})"))
    if end is None:
        when = "now" if ongoing else "at the horizon"
        section.lines.append(Line(f"Still in crisis {when} ({end_clock(horizon_h)})"))
    else:
        at_end = [
            e
            for e in events
            if abs(float(e["time_h"]) - end) <= EPS_H and routine_kind(e) is None and id(e) not in used
        ]
        last = [e for e in told if float(e["time_h"]) < end - EPS_H]
        used.update(id(e) for e in at_end[:1])
        if at_end:
            section.lines.append(Line(f"Ended: {at_end[0]['clock']}: {at_end[0]['text']}", True))
        elif last:
            gap = end - float(last[-1]["time_h"])
            section.lines.append(
                Line(f"Ended: {down} at {clock(end)}, {_span(gap)} after the last told event, with no new act")
            )
        else:
            section.lines.append(Line(f"Ended: {down} at {clock(end)}"))
    return section
