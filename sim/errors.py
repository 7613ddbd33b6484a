"""Errors a user can fix: reported as one line and exit code 2, never as a traceback."""

import argparse
import sys

MAX_SEED = 2**63 - 1


class UserError(Exception):
    """Bad input from the user: a file, a field or an override. The message says which and why."""


def fail(message: str) -> int:
    """Print a one-line error (``escalation: error: ...``) and return exit code 2."""
    print(f"escalation: error: {message}", file=sys.stderr)
    return 2


def read_bounded(
    path, limit: int, what: str, error: type[UserError] = UserError, missing: str = "no such file"
) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes; ``error`` (one line naming it) otherwise.

    Untrusted input is read this way: a device (``/dev/zero``), a pipe or a folder is refused
    before it is opened for reading, and never more than ``limit + 1`` bytes are read.
    """
    import stat
    from pathlib import Path

    path = Path(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file (a {what} is a file)")
        if info.st_size > limit:
            raise error(f"{path}: too large ({info.st_size:,} bytes; a {what} is at most {limit:,})")
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(raw) > limit:
        raise error(f"{path}: too large (a {what} is at most {limit:,} bytes)")
    return raw


def check_out_folder(path, flag: str = "--out") -> None:
    """Refuse, before any work, an output folder that cannot be one: a file, inside a file, or not writable."""
    import os
    from pathlib import Path

    for p in (Path(path), *Path(path).parents):
        if p.exists():
            if not p.is_dir():
                raise UserError(f"{flag} {path}: {p} is a file, not a folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise UserError(f"{flag} {path}: {p} is not writable")
            return


def check_whole(flag: str, value: int | None, lo: int, hi: int) -> None:
    """A whole-number option within ``[lo, hi]`` (``None``: not given); ``UserError`` naming it otherwise."""
    if value is not None and not lo <= value <= hi:
        shown = str(value) if abs(value) < 10**20 else "a number of more than 20 digits"
        raise UserError(f"{flag} must be a whole number from {lo:,} to {hi:,}, got {shown}")


def excerpt(text: str, limit: int = 40) -> str:
    """A user's text in a message: escaped (no control characters), at most ``limit`` characters."""
    shown = str(text).encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class OneLineParser(argparse.ArgumentParser):
    """argparse for a verb, whose errors are one ``UserError`` line (no usage dump), never echoing long input."""

    def error(self, message: str):  # noqa: D102
        verb = self.prog.removeprefix("escalation ")
        raise UserError(f"{verb}: {excerpt(message, 200)}")


def check_days_and_out(days: float | None, out) -> None:
    """The horizon flag (``--days``: in (0, 3660] or not given) and the output folder, before any run."""
    if days is not None and not 0 < days <= 3660:
        raise UserError(f"--days must be in (0, 3660], got {days:g}")
    check_out_folder(out)
