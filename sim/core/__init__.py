"""The simulator core: Mesa model, agents, theatre, channels, measures.

Nothing in here imports from the CLI, file output or plotting modules. The names below load on
first use, so that reading a scenario (``sim.core.spec``, ``sim.core.alliance``) does not import
Mesa, pandas and scipy (about 1.5 s) — ``escalation scenarios`` answers without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ElnCategory": "sim.core.ladder",
    "Response": "sim.core.ladder",
    "Rung": "sim.core.ladder",
    "EscalationModel": "sim.core.model",
    "ModelParams": "sim.core.spec",
    "ScenarioSpec": "sim.core.spec",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sim.core' has no attribute {name!r}")
