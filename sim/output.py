"""Writing a run's files: tidy tables that pandas, R or a spreadsheet read directly.

Every file is written to a temporary name in the same folder and renamed into place, so a
crash never leaves a half-written file under a final name.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sim.runner import Ensemble

FLOAT_FORMAT = "%.6g"


def atomic_write(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write through ``write(handle)`` into a temp file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_replications(ensemble: Ensemble, path: Path) -> None:
    """``replications.csv``: one row per replication."""
    df = ensemble.outcomes()
    atomic_write(path, lambda f: df.to_csv(f, index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def write_timeseries(ensemble: Ensemble, path: Path) -> None:
    """``timeseries.csv``: one row per replication and hour."""
    df = ensemble.timeseries()
    atomic_write(path, lambda f: df.to_csv(f, index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def write_events(ensemble: Ensemble, path: Path) -> None:
    """``events.jsonl``: the narrative log, one JSON object per line, replications in order."""

    def write(f: IO[str]) -> None:
        for rep in ensemble.replications:
            for event in rep.events:
                f.write(json.dumps({"replication": rep.index, **_clean(event)}, ensure_ascii=False) + "\n")

    atomic_write(path, write)


def write_summary(summary: dict[str, Any], path: Path) -> None:
    """``summary.json``: headline outcomes with 95% intervals and the run's settings."""
    atomic_write(path, lambda f: f.write(json.dumps(_clean(summary), indent=2, ensure_ascii=False) + "\n"))
