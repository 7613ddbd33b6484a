"""Plain data the core is built from: a scenario (theatre, forces, channels, injects) and parameters.

The core never reads files: loaders elsewhere turn YAML into these objects, validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property


class Side(str, Enum):
    """The two sides of the confrontation."""

    NATO = "nato"
    RUSSIA = "russia"

    @cached_property
    def other(self) -> Side:
        """The opposing side (kept on the member after the first call: the model asks it at every event)."""
        return Side.RUSSIA if self is Side.NATO else Side.NATO

    @cached_property
    def label(self) -> str:
        """Display name."""
        return "NATO" if self is Side.NATO else "Russia"


def forces_node(side: Side) -> str:
    """The on-scene node of a side's crews in the communication network."""
    return f"{side.value}_forces"


INCIDENT_TYPES = (
    "air_intercept",
    "at_sea_close_encounter",
    "airspace_violation",
    "exercise_near_border",
    "drone_shootdown",
    "collision",
    "weapons_lock",
    "electronic_interference",
    "warning_fire",
    "missile_release",
    "ramming",
    "shootdown",
)


@dataclass(frozen=True)
class Traits:
    """Behavioural traits of an actor, each on [0, 1] except the times (hours)."""

    aggressiveness: float = 0.5
    risk_tolerance: float = 0.5
    rule_adherence: float = 0.5
    reporting_delay_h: float = 1.0
    decision_time_h: float = 4.0


@dataclass(frozen=True)
class ZoneSpec:
    """A named zone of the theatre. ``owner`` is ``nato``, ``russia`` or ``international``."""

    id: str
    name: str
    lat: float
    lon: float
    owner: str
    domain: str  # "sea" or "land"
    radius_km: float = 0.0  # rough extent: distances to a border run edge to edge
    member: str = ""  # the NATO member whose territory this is (e.g. "ee"), if owner is nato


@dataclass(frozen=True)
class ForceSpec:
    """A platform or formation: where it operates and how often it is out."""

    id: str
    side: Side
    name: str
    kind: str
    domain: str  # "air", "sea" or "land"
    base: str
    patrol: dict[str, float]
    sorties_per_day: float
    sortie_hours: float
    traits: Traits = field(default_factory=Traits)
    member: str = ""  # the nation it belongs to: a NATO member id (sim.core.alliance), or "ru"
    air_defence_km: float = 0.0  # reach of its air defence against aircraft (0: none)


@dataclass(frozen=True)
class ActorSpec:
    """A command or a political leadership."""

    id: str
    side: Side
    name: str
    role: str  # "command" or "leadership"
    traits: Traits = field(default_factory=Traits)


@dataclass(frozen=True)
class ChannelSpec:
    """A communication channel between two actors (or a side's forces, ``<side>_forces``)."""

    a: str
    b: str
    kind: str
    latency_h: float
    availability: float
    quality: float
    member: str = ""  # a bilateral channel between Russia and this NATO member ("" = the alliance)


@dataclass(frozen=True)
class InjectSpec:
    """A scripted event of the master scenario events list."""

    id: str
    at_h: float
    type: str
    initiator: str  # a force id
    zone: str
    severity: float
    deliberate: bool
    text: str
    victim: str = ""  # a force id of the other side the act is done to ("" = the other side's forces)
    consequence: str = "none"  # what it does to the victim: none, hit, shot_down
    casualties: int = 0  # people of the victim killed


@dataclass(frozen=True)
class ExerciseSpec:
    """A large exercise held by one side in a zone for a period."""

    id: str
    name: str
    side: Side
    zone: str
    start_h: float
    duration_h: float
    troops: int
    snap: bool = False  # called at no notice: more surprise, and no notification to offer


@dataclass(frozen=True)
class BackgroundSpec:
    """Events of one type that one side produces at random, at a steady rate (e.g. GNSS jamming)."""

    id: str
    type: str
    side: Side
    actor: str  # display name of who does it
    zone: str
    rate_per_day: float
    severity: float
    deliberate_probability: float
    text: str


@dataclass(frozen=True)
class ScenarioSpec:
    """A whole scenario as the core sees it."""

    name: str
    title: str
    description: str
    horizon_h: float
    zones: tuple[ZoneSpec, ...]
    links: tuple[tuple[str, str], ...]
    forces: tuple[ForceSpec, ...]
    actors: tuple[ActorSpec, ...]
    channels: tuple[ChannelSpec, ...] = ()
    injects: tuple[InjectSpec, ...] = ()
    exercises: tuple[ExerciseSpec, ...] = ()
    background: tuple[BackgroundSpec, ...] = ()
    baseline_tension: dict[str, float] = field(default_factory=lambda: {"nato": 0.3, "russia": 0.3})
    baseline_trust: dict[str, float] = field(default_factory=lambda: {"nato": 0.3, "russia": 0.3})
    era: str = ""
    sources: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()  # the types the scenario is written to produce
    agreements: tuple[str, ...] = ()  # agreements in force (from the era): vienna_document, incsea_bilateral
    format_version: int = 3
    notices: tuple[str, ...] = ()  # what a conversion from an older format assumed
    max_horizon_h: float = 366 * 24.0  # the longest horizon the scenario is valid for
    valid_eras: tuple[str, ...] = ()  # the eras it is valid for (empty: any)

    def actor(self, side: Side, role: str) -> ActorSpec:
        """The (first) actor of ``side`` with ``role``."""
        return next(a for a in self.actors if a.side is side and a.role == role)


@dataclass(frozen=True)
class ModelParams:
    """Every model parameter. Values, units and bases live in ``conf/model/default.yaml``."""

    # activity and encounters
    encounter_rate_per_h: float
    encounter_range_km: float
    air_sea_factor: float
    violation_rate_per_h: float
    violation_range_km: float
    qra_range_km: float
    qra_scramble_probability: float
    qra_delay_h: float
    posture_activity_gain: float
    russian_activity_by_era: dict[str, float]
    nato_activity_by_era: dict[str, float]
    tension_shift_by_era: dict[str, float]
    trust_shift_by_era: dict[str, float]
    exercise_activity_gain: float
    exercise_threat_range_km: float
    exercise_reference_troops: float
    # incident severity and rules of conduct
    severity_base: dict[str, float]
    severity_unsafe_gain: float
    severity_sd: float
    serious_threshold: float
    high_risk_threshold: float
    deliberate_gain: float
    incsea_unsafe_reduction: float
    warning_compliance: float
    publicity: dict[str, float]
    # perception and statements
    perception_noise_sd: float
    hostility_signal: float
    hostility_noise_sd: float
    statement_weight: float
    bluff_propensity: float
    threat_posture: int
    threat_deterrence: float
    lie_detection: float
    lie_detection_h: float
    signal_delay_h: float
    signal_weight: float
    notification_troops: float
    observation_troops: float
    observer_quality: float
    # decisions: standing rules, command replies, leadership posture
    triage_threshold: float
    w_severity: float
    w_hostility: float
    w_posture: float
    w_risk: float
    decision_noise_sd: float
    cut_hold: float
    cut_protest: float
    cut_match: float
    cut_escalate: float
    rung_firebreak: float
    war_firebreak: float
    political_approval_rung: int
    time_pressure: float
    internal_relay_h: float
    missile_warning_h: float
    posture_review_h: float
    posture_w_tension: float
    posture_w_audience: float
    posture_w_threat: float
    posture_w_aggressiveness: float
    posture_w_brink: float
    posture_noise_sd: float
    posture_cut_first: float
    posture_cut_step: float
    posture_hysteresis: float
    sanction_posture: int
    suspension_days: float
    # consequences of force
    act_severity_per_rung: float
    hit_probability: float
    casualty_probability: float
    casualty_severity: float
    snap_surprise: float
    # tension, trust, memory
    tension_gain: float
    tension_relax_h: float
    trust_learning: float
    rung_hold_h: float
    trait_jitter_sd: float
    # near the brink: caution, habituation, reputation, reasons to end a crisis
    caution_w_rung: float
    caution_w_deaths: float
    caution_nuclear_shadow: float
    caution_memory_h: float
    habituation_rate: float
    habituation_memory_h: float
    habituation_hostility: float
    backdown_cost: float
    first_use_cost: float
    termination_pause_h: float
    # alliance and national decisions
    nac_consensus_h: float
    nac_consensus_margin: float
    general_staff_relay_h: float
    national_reply_cap: int
    # observation, verification, force
    radar_range_km: float
    restraint_verification_alpha: float
    exchange_window_h: float
    replacement_days: float
