"""Errors a user can fix: reported as one line and exit code 2, never as a traceback."""

import sys


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
    """Refuse, before any work, an output folder that cannot be one: a file, or inside a file."""
    from pathlib import Path

    for p in (Path(path), *Path(path).parents):
        if p.exists():
            if not p.is_dir():
                raise UserError(f"{flag} {path}: {p} is a file, not a folder")
            return


def check_days_and_out(days: float | None, out) -> None:
    """The horizon flag (``--days``: in (0, 3660] or not given) and the output folder, before any run."""
    if days is not None and not 0 < days <= 3660:
        raise UserError(f"--days must be in (0, 3660], got {days:g}")
    check_out_folder(out)
