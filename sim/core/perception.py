"""Perception: how a side reads the other's acts (severity, hostile intent) and what it learns from them."""

from __future__ import annotations

import math

from sim.core.agents import (
    Act,
    clip01,
    logistic,
    logit,
)
from sim.core.ladder import Rung
from sim.core.spec import (
    Side,
)


class PerceptionMixin:
    """Reading acts with noise, absorbing them into tension and trust."""

    def measure_noise_factor(self, side: Side, act: Act | None = None) -> float:
        """Product of the measures' factors on how noisily ``side`` reads ``act``."""
        f = 1.0
        for m in self.measures:
            f *= m.perception_noise_factor(self, side, act)
        return f

    def perceive(self, side: Side, act: Act, novelty: float | None = None) -> tuple[float, float]:
        """Noisy perceived severity, and the posterior probability that ``act`` was hostile.

        Prior: the belief that the other side is not benign (1 - trust). Evidence: how the act
        looks (a weak, noisy signal of its true intent); for an exercise, an advance notification
        (the other side's stated intent, credible as far as it is trusted) and observers on site
        (a direct, truthful look). ``novelty``: ``self.novelty(side, act)``, if the caller has it.
        """
        p, rng, state = self.params, self.perception_draws, self.sides[side]
        noise = self.measure_noise_factor(side, act)
        severity = clip01(act.severity + p.perception_noise_sd * noise * rng.normal())
        truth = 1.0 if act.deliberate else -1.0
        x = logit(1.0 - state.trust) + p.hostility_signal * truth + p.hostility_noise_sd * noise * rng.normal()
        if novelty is None:
            novelty = self.novelty(side, act)
        x -= p.habituation_hostility * (1.0 - novelty)  # the familiar reads as less hostile
        if act.notified:
            x -= state.trust * p.statement_weight
        if act.observed:
            x += p.observer_quality * p.statement_weight * truth
        return severity, logistic(x)

    def absorb_act(self, side: Side, act: Act, severity: float, hostility: float, novelty: float | None = None) -> None:
        """A perceived act raises tension, moves trust toward what it showed, and may weigh in public.

        ``novelty``: ``self.novelty(side, act)`` before the act is counted, if the caller has it.
        """
        p, s = self.params, self.sides[side]
        if novelty is None:
            novelty = self.novelty(side, act)
        s.tension = clip01(s.tension + p.tension_gain * novelty * severity * hostility * (1 - s.tension))
        s.threat = max(s.threat, novelty * severity * hostility)
        self.get_used_to(side, act)
        if act.rung >= Rung.DANGEROUS_INCIDENT:
            s.last_dangerous = self.time
        self.learn(side, 1.0 - hostility, p.trust_learning * severity)
        if act.public:
            s.audience = clip01(s.audience + severity * (1 - s.audience))
        if act.rung >= Rung.DANGEROUS_INCIDENT:
            self.unexplained[side].append((act, severity, hostility))

    def novelty(self, side: Side, act: Act) -> float:
        """How new ``act`` looks to ``side``: 1 / (1 + rate x the other side's recent acts of its kind).

        Habituation: the recent acts are counted with an exponential memory (``habituation_memory_h``).
        A use of force is never familiar.
        """
        p = self.params
        if p.habituation_rate <= 0 or act.rung >= Rung.LIMITED_FORCE:
            return 1.0
        n, since = self.sides[side].familiar.get(_kind(act), (0.0, self.time))
        return 1.0 / (1.0 + p.habituation_rate * n * math.exp(-(self.time - since) / p.habituation_memory_h))

    def get_used_to(self, side: Side, act: Act) -> None:
        """Count ``act`` among the recent acts of its kind that ``side`` has seen."""
        familiar, key = self.sides[side].familiar, _kind(act)
        n, since = familiar.get(key, (0.0, self.time))
        familiar[key] = (n * math.exp(-(self.time - since) / self.params.habituation_memory_h) + 1.0, self.time)

    def learn(self, side: Side, benign: float, weight: float) -> None:
        """Trust moves a fraction ``weight`` of the way toward evidence that the other side is ``benign``."""
        s = self.sides[side]
        s.trust = clip01(s.trust + min(weight, 1.0) * (benign - s.trust))
        s.restraint_trust *= 1.0 - min(weight, 1.0)  # the share of trust that restraint earned moves with it


def _kind(act: Act) -> str:
    """What kind of act this is, for habituation: its type, and a reply's rung."""
    return f"response_{act.rung}" if act.type == "response" else act.type
