"""Writing a run's files: tidy tables that pandas, R or a spreadsheet read directly.

Every file is written to a temporary name in the same folder and renamed into place, so a
crash never leaves a half-written file under a final name; the temporary name carries this
process's marker (``sim.run.folder.RUN_MARK``), so cleanup never mistakes a user's file for one of ours.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.series import CHANGE_COLUMNS, TIMESERIES_COLUMNS, Relaxation, hourly
from sim.run.folder import temp_prefix
from sim.run.runner import Ensemble, Replication, event_text

ROW_GROUP_ROWS = 100_000  # change points buffered before a Parquet row group is written

FLOAT_FORMAT = "%.6g"


def atomic_write(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write through ``write(handle)`` into a temp file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=".tmp")
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


def write_ensemble(
    ensemble: Ensemble, out: Path, timeseries: bool = True, events: bool = True, hourly_csv: bool = False
) -> None:
    """An ensemble's files in ``out``, written by :class:`RunWriter` as a job writes them."""
    with RunWriter(out, ensemble.seed, timeseries=timeseries, events=events, hourly_csv=hourly_csv) as writer:
        for rep in ensemble.replications:
            writer.add(rep)


def write_summary(summary: dict[str, Any], path: Path) -> None:
    """``summary.json``: headline outcomes with 95% intervals and the run's settings."""
    atomic_write(path, lambda f: f.write(json.dumps(_clean(summary), indent=2, ensure_ascii=False) + "\n"))


def read_summary_columns(path: Path, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns of a ``replications.csv`` as numpy arrays, for the run's summary (pyarrow's reader, not pandas).

    For the cells the run's writer writes (``_cell``: integers, numbers, empty), integers come back
    as int64 and numbers as float64, an empty cell as NaN (a column with only empty cells too), as
    ``pandas.read_csv`` gives them; a run that writes no report never imports pandas (about 0.3 s
    of CPU: issue 29). Other spellings (``0x10``, ``None``, ``+1``) pandas may read otherwise.
    """
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False),
        convert_options=pacsv.ConvertOptions(include_columns=list(columns)),
    )
    return {name: _numpy(table.column(name).combine_chunks()) for name in columns}


def _numpy(values: pa.Array) -> np.ndarray:
    """An Arrow column of a CSV (integers, numbers, booleans) as numpy, from its buffers: nulls as NaN.

    ``Array.to_numpy`` asks pyarrow's pandas shim first, which imports pandas.
    """
    if pa.types.is_null(values.type) or values.null_count:
        values = values.cast(pa.float64())
    if pa.types.is_boolean(values.type):
        out = _bits(values, 1)
    elif pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        dtype = np.dtype(values.type.to_pandas_dtype())
        out = np.frombuffer(values.buffers()[1], dtype=dtype, count=len(values), offset=values.offset * dtype.itemsize)
        out = out.copy()
    else:
        raise ValueError(f"a summary column of type {values.type}: only integers, numbers and booleans")
    if values.null_count:
        out[~_bits(values, 0)] = np.nan
    return out


def _bits(values: pa.Array, buffer: int) -> np.ndarray:
    """A bit-packed buffer of an Arrow array (0: validity, 1: a boolean's values) as numpy booleans."""
    bits = np.unpackbits(np.frombuffer(values.buffers()[buffer], dtype=np.uint8), bitorder="little")
    return bits[values.offset : values.offset + len(values)].astype(bool)


def read_changes(path: Path) -> tuple[pd.DataFrame, Relaxation | None]:
    """A ``timeseries.parquet`` table and how its state relaxes between change points."""
    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(b"relaxation")
    return table.to_pandas(), (Relaxation(**json.loads(meta)) if meta else None)


def hourly_from_changes(changes: pd.DataFrame, relax: Relaxation) -> pd.DataFrame:
    """The hourly table (``timeseries.csv``) from a change-point table."""
    frames = []
    for rep, part in changes.groupby("replication", sort=True):
        series = hourly(part[list(CHANGE_COLUMNS)].to_numpy(dtype=float), relax)
        frames.append(pd.DataFrame({"replication": rep, "hour": range(len(series["rung"])), **series}))
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["replication", "hour", *TIMESERIES_COLUMNS])
    )


def _cell(value: Any) -> str:
    """A CSV cell as pandas writes it with FLOAT_FORMAT: ints plain, floats %.6g, NaN empty."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if not math.isfinite(value) else FLOAT_FORMAT % value
    return str(value)


CHANGE_SCHEMA = pa.schema(
    [("replication", pa.int64()), ("time_h", pa.float64()), ("rung", pa.int8())]
    + [(c, pa.float64()) for c in CHANGE_COLUMNS[2:]]
)


def _arrow(values: np.ndarray) -> pa.Array:
    """A numpy column as an Arrow array, without pyarrow's check for pandas objects (which imports pandas)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


class RunWriter:
    """Streams a job's replications to disk as they finish; files get their final names on ``commit``.

    Files: ``replications.csv``; ``timeseries.parquet`` (the change points of the state, with how
    tension relaxes between them in the file's metadata); ``timeseries.csv`` only when asked
    (``hourly_csv``: the state at each whole hour, resampled from the change points);
    ``events.jsonl``. Memory stays flat however many replications a job runs: each replication is
    written and dropped (change points in Parquet row groups of ``ROW_GROUP_ROWS``). On ``abort``
    (or an exception inside ``with``) the temporary files are removed.
    """

    def __init__(self, out: Path, seed: int, timeseries: bool = True, events: bool = True, hourly_csv: bool = False):
        self.out, self.seed = out, seed
        out.mkdir(parents=True, exist_ok=True)
        wanted = ["replications.csv"] + (["timeseries.parquet"] if timeseries else [])
        wanted += (["timeseries.csv"] if hourly_csv else []) + (["events.jsonl"] if events else [])
        self._files: dict[str, tuple[Path, IO[str]]] = {}
        self._tmp: dict[str, Path] = {}
        for name in wanted:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=temp_prefix(name), suffix=".tmp")
            self._tmp[name] = Path(tmp)
            if name.endswith(".parquet"):
                os.close(fd)
            else:
                self._files[name] = (Path(tmp), os.fdopen(fd, "w", encoding="utf-8", newline=""))
        self._parquet: pq.ParquetWriter | None = None
        self._pending: list[np.ndarray] = []
        self._pending_index: list[int] = []
        self._pending_rows = 0
        self._header_written = False
        if hourly_csv:
            self._files["timeseries.csv"][1].write("replication,hour," + ",".join(TIMESERIES_COLUMNS) + "\n")

    def add(self, rep: Replication) -> int:
        """Append one replication to every file; return the number of bytes written (change points: as stored)."""
        written = 0
        row = {"replication": rep.index, "seed": self.seed, **rep.outcome}
        f = self._files["replications.csv"][1]
        if not self._header_written:
            header = ",".join(row) + "\n"
            f.write(header)
            written += len(header)
            self._header_written = True
        line = ",".join(_cell(v) for v in row.values()) + "\n"
        f.write(line)
        written += len(line)
        if "timeseries.parquet" in self._tmp and rep.changes is not None:
            if self._parquet is None:
                meta = {b"relaxation": json.dumps(rep.relaxation.to_dict() if rep.relaxation else None).encode()}
                self._parquet = pq.ParquetWriter(self._tmp["timeseries.parquet"], CHANGE_SCHEMA.with_metadata(meta))
            self._pending.append(rep.changes)
            self._pending_index.append(rep.index)
            self._pending_rows += len(rep.changes)
            written += rep.changes.nbytes // 3  # about what Parquet stores (compressed)
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush_changes()
        if "timeseries.csv" in self._files and rep.changes is not None and rep.relaxation is not None:
            series = hourly(rep.changes, rep.relaxation)
            cols = [series[k] for k in TIMESERIES_COLUMNS]
            lines = [
                f"{rep.index},{hour},"
                + ",".join(_cell(float(c[hour]) if k else int(c[hour])) for k, c in enumerate(cols))
                + "\n"
                for hour in range(len(cols[0]))
            ]
            self._files["timeseries.csv"][1].writelines(lines)
            written += sum(map(len, lines))
        if "events.jsonl" in self._files:
            text = rep.event_text if rep.event_text is not None else event_text(rep.index, rep.events)
            self._files["events.jsonl"][1].write(text)
            written += len(text)
        return written

    def _flush_changes(self) -> None:
        if not self._pending:
            return
        block = np.concatenate(self._pending)
        index = np.repeat(np.asarray(self._pending_index, dtype=np.int64), [len(c) for c in self._pending])
        arrays = [_arrow(index), _arrow(block[:, 0]), _arrow(block[:, 1].astype(np.int8))]
        arrays += [_arrow(block[:, k]) for k in range(2, block.shape[1])]
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._parquet.schema))  # type: ignore[union-attr]
        self._pending, self._pending_index, self._pending_rows = [], [], 0

    def commit(self) -> None:
        """Close the files and give them their final names."""
        umask = os.umask(0)
        os.umask(umask)
        try:
            if "timeseries.parquet" in self._tmp:
                if self._parquet is None:  # no replication: an empty table with the columns
                    self._parquet = pq.ParquetWriter(self._tmp["timeseries.parquet"], CHANGE_SCHEMA)
                self._flush_changes()
                self._parquet.close()
                self._parquet = None
            for _name, (_tmp, handle) in self._files.items():
                handle.close()  # a full disk shows here: then no file gets its final name
        except BaseException:
            self.abort()
            raise
        for name, tmp in self._tmp.items():
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, self.out / name)
        self._files, self._tmp = {}, {}

    def abort(self) -> None:
        """Close and remove the temporary files (also when closing fails, e.g. on a full disk)."""
        if self._parquet is not None:
            try:
                self._parquet.close()
            except OSError:
                pass
            self._parquet = None
        for _tmp, handle in self._files.values():
            try:
                handle.close()
            except OSError:
                pass
        for tmp in self._tmp.values():
            tmp.unlink(missing_ok=True)
        self._files, self._tmp = {}, {}

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        elif self._tmp:
            self.commit()
