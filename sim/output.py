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

from sim.runner import TIMESERIES_COLUMNS, Ensemble, Replication

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


def _cell(value: Any) -> str:
    """A CSV cell as pandas writes it with FLOAT_FORMAT: ints plain, floats %.6g, NaN empty."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if not math.isfinite(value) else FLOAT_FORMAT % value
    return str(value)


class RunWriter:
    """Streams a job's replications to disk as they finish; files get their final names on ``commit``.

    Memory stays flat however many replications a job runs: each replication is written and
    dropped. On ``abort`` (or an exception inside ``with``) the temporary files are removed.
    """

    def __init__(self, out: Path, seed: int, timeseries: bool = True, events: bool = True):
        self.out, self.seed = out, seed
        out.mkdir(parents=True, exist_ok=True)
        names = ["replications.csv"] + (["timeseries.csv"] if timeseries else []) + (["events.jsonl"] if events else [])
        self._files: dict[str, tuple[Path, IO[str]]] = {}
        for name in names:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
            self._files[name] = (Path(tmp), os.fdopen(fd, "w", encoding="utf-8", newline=""))
        self._header_written = False
        if timeseries:
            self._files["timeseries.csv"][1].write("replication,hour," + ",".join(TIMESERIES_COLUMNS) + "\n")

    def add(self, rep: Replication) -> int:
        """Append one replication to every file; return the number of characters written."""
        row = {"replication": rep.index, "seed": self.seed, **rep.outcome}
        f = self._files["replications.csv"][1]
        written = 0
        if not self._header_written:
            header = ",".join(row) + "\n"
            f.write(header)
            written += len(header)
            self._header_written = True
        line = ",".join(_cell(v) for v in row.values()) + "\n"
        f.write(line)
        written += len(line)
        if "timeseries.csv" in self._files and rep.timeseries is not None:
            cols = [rep.timeseries[k] for k in TIMESERIES_COLUMNS]
            lines = [
                f"{rep.index},{hour}," + ",".join(_cell(float(c[hour]) if k else int(c[hour])) for k, c in enumerate(cols)) + "\n"
                for hour in range(len(cols[0]))
            ]
            self._files["timeseries.csv"][1].writelines(lines)
            written += sum(map(len, lines))
        if "events.jsonl" in self._files:
            lines = [json.dumps({"replication": rep.index, **_clean(e)}, ensure_ascii=False) + "\n" for e in rep.events]
            self._files["events.jsonl"][1].writelines(lines)
            written += sum(map(len, lines))
        return written

    def commit(self) -> None:
        """Close the files and give them their final names."""
        umask = os.umask(0)
        os.umask(umask)
        try:
            for _name, (_tmp, handle) in self._files.items():
                handle.close()  # a full disk shows here: then no file gets its final name
        except BaseException:
            self.abort()
            raise
        for name, (tmp, _handle) in self._files.items():
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, self.out / name)
        self._files = {}

    def abort(self) -> None:
        """Close and remove the temporary files (also when closing fails, e.g. on a full disk)."""
        for tmp, handle in self._files.values():
            try:
                handle.close()
            except OSError:
                pass
            tmp.unlink(missing_ok=True)
        self._files = {}

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif self._files:
            self.commit()
