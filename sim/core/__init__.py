"""The simulator core: Mesa model, agents, theatre, channels, measures.

Nothing in here imports from the CLI, file output or plotting modules.
"""

from sim.core.ladder import ElnCategory, Response, Rung
from sim.core.model import EscalationModel
from sim.core.spec import ModelParams, ScenarioSpec

__all__ = ["ElnCategory", "EscalationModel", "ModelParams", "Response", "Rung", "ScenarioSpec"]
