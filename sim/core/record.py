"""The record of a replication: the narrative log and the headline outcomes."""

from __future__ import annotations

import math
from typing import Any

from sim.core.ladder import ElnCategory, Rung
from sim.core.spec import (
    INCIDENT_TYPES,
    Side,
)


def clock(time_h: float) -> str:
    """``day D HH:MM`` for a model time in hours (day 1 starts at time 0)."""
    minutes = int(round(time_h * 60))
    day, rem = divmod(minutes, 24 * 60)
    return f"day {day + 1} {rem // 60:02d}:{rem % 60:02d}"


CITED = ("act", "answers", "perceived_hostility", "reason")


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


class RecordMixin:
    """The narrative log and the outcomes of a replication."""

    def log(self, kind: str, side: Side, *, text: str, **fields: Any) -> None:
        """Append one event to the narrative log (if recording)."""
        if not self.record_events:
            return
        zone = fields.pop("zone", None)
        self.events.append(
            {
                "time_h": round(self.time, 4),
                "clock": clock(self.time),
                "kind": kind,
                "side": side.value,
                "actors": fields.pop("actors", []),
                "zone": self.theatre.zone(zone).name if zone else None,
                "type": fields.pop("type", None),
                "severity": _round(fields.pop("severity", None)),
                "perceived_severity": _round(fields.pop("perceived_severity", None)),
                "category": fields.pop("category", None),
                "channel": fields.pop("channel", None),
                "response": fields.pop("response", None),
                "rung": fields.pop("rung", None),
                "text": text,
                **{k: fields[k] for k in ("effect", "casualties") if k in fields},  # what a use of force did
                # the act's number; the act a decision answers, as perceived; why a posture changed
                **{k: _round(v) if k == "perceived_hostility" else v for k, v in fields.items() if k in CITED and v},
            }
        )

    def outcome(self) -> dict[str, Any]:
        """Headline outcomes of this replication (PRODUCT.md)."""
        if self._peak_time is None or self.peak_rung <= Rung.HEIGHTENED_VIGILANCE:
            back = 0.0 if self._peak_time is not None else math.nan
        else:
            back = (self._back_time - self._peak_time) / 24 if self._back_time is not None else math.nan
        return {
            "peak_rung": self.peak_rung,
            "reached_rung_4": int(self.peak_rung >= Rung.LIMITED_FORCE),
            "reached_rung_5": int(self.peak_rung >= Rung.ARMED_CLASH),
            "crisis_days": self.crisis_hours / 24,
            "days_back_to_vigilance": back,
            # not back by the horizon: how long it was watched (a censored time; NaN if back or no crisis)
            "days_back_censored": (self.horizon_h - self._peak_time) / 24
            if self._peak_time is not None and self.peak_rung > Rung.HEIGHTENED_VIGILANCE and math.isnan(back)
            else math.nan,
            "horizon_days": self.horizon_h / 24,
            **{
                f"days_to_rung_{r}": self.first_reached[r] / 24 if r in self.first_reached else math.nan
                for r in (2, 3, 4, 5)
            },
            "incidents": sum(self.incident_counts[c.value] for c in ElnCategory),
            **{f"incidents_{c.value}": self.incident_counts[c.value] for c in ElnCategory},
            **{f"incidents_{t}": self.incident_counts[t] for t in INCIDENT_TYPES},
            "reported_incidents": sum(self.incident_counts[f"reported_{c.value}"] for c in ElnCategory),
            **{f"reported_{c.value}": self.incident_counts[f"reported_{c.value}"] for c in ElnCategory},
            "scrambles_nato": self.scrambles[Side.NATO],
            "scrambles_russia": self.scrambles[Side.RUSSIA],
            "violations_by_russia": self.incident_counts["airspace_violation_by_russia"],
            "violations_by_nato": self.incident_counts["airspace_violation_by_nato"],
            "triaged": self.triaged,
            "clarifications": sum(self.channel_uses.values()),
            "hotline_contacts": sum(v for k, v in self.channel_uses.items() if "hotline" in k),
            "calls_too_late": self.calls_too_late,
            "bluffs": self.statements["bluff"],
            "threats": self.statements["threat"],
            "lies_found_out": self.lies_found_out,
            "referrals_to_leadership": self.referrals,
            "uses_of_force": self.uses_of_force,
            "casualties": self.casualties,
            "deaths_nato": self.deaths[Side.NATO],
            "deaths_russia": self.deaths[Side.RUSSIA],
            "platforms_lost_nato": sum(pl.losses for pl in self.platforms if pl.side is Side.NATO),
            "platforms_lost_russia": sum(pl.losses for pl in self.platforms if pl.side is Side.RUSSIA),
            "first_fire_nato": int(self.first_fire is Side.NATO),
            "first_fire_russia": int(self.first_fire is Side.RUSSIA),
            "suspensions": self.suspensions,
            "final_tension_nato": self.tension_nato,
            "final_tension_russia": self.tension_russia,
            "final_trust_nato": self.trust_nato,
            "final_trust_russia": self.trust_russia,
        }
