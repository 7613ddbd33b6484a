"""An output folder held by one run at a time, and the temporary names that say which run wrote them.

A run takes the folder's lock (``fcntl.flock`` on ``.escalation.lock`` in it) before it writes
anything there; the operating system releases the lock when the process ends, however it ends
(kill -9 included). A second run into a folder in use is refused at once, naming the run that
holds it (its pid and command, written into the lock file).

Every temporary file of this process carries ``RUN_MARK``, a marker unique to the process
(``.replications.csv.<mark>.XXXXXXXX.tmp``). Cleanup removes only names with a marker this
program wrote: its own, or the one a killed run left in the lock file of the folder it held.
A user's ``.notes.abcdefgh.tmp`` is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sys
from pathlib import Path

from sim.run.errors import UserError

LOCK_NAME = ".escalation.lock"
RUN_MARK = f"esc{os.getpid()}x{secrets.token_hex(4)}"  # in every temporary name this process writes
_HELD: dict[Path, int] = {}  # folder -> open file descriptor of its lock (this process holds it)


class FolderInUse(UserError):
    """Another run holds the folder's lock."""


def temp_prefix(name: str) -> str:
    """The prefix of a temporary file for final name ``name``: hidden, with this process's marker."""
    return f".{name}.{RUN_MARK}."


def hold(folder: Path) -> None:
    """Take ``folder``'s lock for this process (creating the folder); ``FolderInUse`` if another run has it.

    Taking it again in the same process does nothing. The temporaries a killed run left in the
    folder (those with the marker recorded in the lock file) are removed once the lock is ours.
    """
    folder = Path(folder).expanduser().resolve()
    if folder in _HELD:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe(os.read(fd, 4096))
        os.close(fd)
        raise FolderInUse(
            f"{folder}: in use by another run ({holder}); wait for it to end, or write to another folder"
        ) from None
    previous = _read(os.read(fd, 4096))
    record = {"pid": os.getpid(), "command": " ".join(sys.argv)[:300], "mark": RUN_MARK}
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, (json.dumps(record) + "\n").encode())
    _HELD[folder] = fd
    mark = previous.get("mark")
    if isinstance(mark, str) and mark.startswith("esc") and mark != RUN_MARK:
        remove_temporaries(folder, mark)


def release(folder: Path) -> None:
    """Give up ``folder``'s lock (the process's end does the same)."""
    fd = _HELD.pop(Path(folder).expanduser().resolve(), None)
    if fd is not None:
        os.close(fd)


def remove_temporaries(folder: Path, mark: str = RUN_MARK) -> None:
    """Remove the temporary files carrying ``mark`` in ``folder`` and its ``report/``."""
    for where in (folder, folder / "report"):
        if where.is_dir():
            for p in where.iterdir():
                if p.name.startswith(".") and p.name.endswith(".tmp") and f".{mark}." in p.name and p.is_file():
                    p.unlink(missing_ok=True)


def _read(raw: bytes) -> dict:
    try:
        data = json.loads(raw.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(raw: bytes) -> str:
    data = _read(raw)
    pid, command = data.get("pid"), data.get("command")
    if not isinstance(pid, int):
        return "a run that has not yet said which"
    text = f"pid {pid}"
    if isinstance(command, str) and command:
        shown = command if len(command) <= 120 else command[:117] + "..."
        text += f": {shown!r}"
    return text
