"""NATO as an alliance of members, and the bilateral agreements already in force with Russia.

A force belongs to a nation (``ForceSpec.member``): a NATO member's id below, or ``"ru"``. A
member's own rules of engagement can let its crews act alone (a standing national rule, not an
alliance decision); the alliance's command and the North Atlantic Council decide collective steps.

Facts and their sources:

- Bilateral incidents-at-sea agreements with the USSR/Russia (``incsea``): United States 1972,
  United Kingdom 1986, Federal Republic of Germany 1988, France 1989, Italy 1989, Canada 1989,
  Netherlands 1990, Norway 1990, Spain 1990, Greece 1991, Portugal 1994. Source: D. Winkler,
  *Incidents at Sea: American Confrontation and Cooperation with Russia and China, 1945-2016*
  (Naval Institute Press, 2017).
- Turkey's rules of engagement after Syria shot down a Turkish RF-4E (June 2012): aircraft
  approaching the Syrian border are treated as a threat and may be engaged after warnings; under
  them a Turkish F-16 pair shot down a Russian Su-24 on 24 November 2015 (NATO statement of
  24 November 2015; Turkey's letter to the UN Security Council of the same day). ``engage_violators``.

Members without an entry here may still be named in a scenario by these ids only; an unknown id
is refused when the scenario is read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """A nation: how it is named in the log and what rules and agreements bind its forces."""

    id: str
    name: str
    adjective: str
    incsea: bool = False  # a bilateral incidents-at-sea agreement with Russia is in force
    engage_violators: bool = False  # national rules allow firing on an airspace violator after warnings


MEMBERS: dict[str, Member] = {
    m.id: m
    for m in (
        Member("us", "the United States", "US", incsea=True),
        Member("uk", "the United Kingdom", "British", incsea=True),
        Member("de", "Germany", "German", incsea=True),
        Member("fr", "France", "French", incsea=True),
        Member("it", "Italy", "Italian", incsea=True),
        Member("ca", "Canada", "Canadian", incsea=True),
        Member("nl", "the Netherlands", "Dutch", incsea=True),
        Member("no", "Norway", "Norwegian", incsea=True),
        Member("es", "Spain", "Spanish", incsea=True),
        Member("gr", "Greece", "Greek", incsea=True),
        Member("pt", "Portugal", "Portuguese", incsea=True),
        Member("tr", "Turkey", "Turkish", engage_violators=True),
        Member("pl", "Poland", "Polish"),
        Member("ro", "Romania", "Romanian"),
        Member("bg", "Bulgaria", "Bulgarian"),
        Member("ee", "Estonia", "Estonian"),
        Member("lv", "Latvia", "Latvian"),
        Member("lt", "Lithuania", "Lithuanian"),
        Member("dk", "Denmark", "Danish"),
        Member("be", "Belgium", "Belgian"),
        Member("fi", "Finland", "Finnish"),
        Member("se", "Sweden", "Swedish"),
        Member("cz", "Czechia", "Czech"),
        Member("hu", "Hungary", "Hungarian"),
        # A NATO force whose nation the scenario does not say (files of the first format).
        Member("allied", "an allied nation", "Allied"),
        Member("ru", "Russia", "Russian"),
    )
}
NATO_MEMBERS = tuple(k for k in MEMBERS if k != "ru")


def member(member_id: str) -> Member:
    """The member with ``member_id`` (``KeyError`` if unknown)."""
    return MEMBERS[member_id]
