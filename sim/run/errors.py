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


# The optional packages and the extra of pyproject.toml that installs each (the longest matching prefix wins).
EXTRAS = {
    "SALib": "sweep",
    "optuna": "sweep",
    "joblib": "sweep",
    "hydra_plugins.hydra_joblib_launcher": "sweep",
    "hydra_plugins.hydra_optuna_sweeper": "sweep",
    "ray": "cluster",
    "submitit": "cluster",
    "psutil": "cluster",
    "hydra_plugins.hydra_ray_launcher": "cluster",
    "hydra_plugins.hydra_submitit_launcher": "cluster",
    "pyabc": "calibrate",
    "distributed": "calibrate",
    "dask": "calibrate",
    "ema_workbench": "analysis",
    "sklearn": "analysis",
    "solara": "app",
    "ipyvue": "app",
    "ipyvuetify": "app",
}
# What each verb needs beyond the core install, checked before it starts (so nothing is half-written).
VERB_NEEDS = {
    "variance": ("SALib",),
    "discover": ("ema_workbench", "sklearn"),
    "calibrate": ("pyabc",),
    "study": ("SALib", "ema_workbench", "sklearn"),
    "app": ("solara",),
}
# Hydra launchers and sweepers by the name given on the command line (ours in conf/hydra/launcher, and the
# plugins' own), and the module each needs.
PLUGINS = {
    ("launcher", "joblib"): ("hydra_plugins.hydra_joblib_launcher.joblib_launcher", "joblib"),
    ("launcher", "ray"): ("hydra_plugins.hydra_ray_launcher.ray_launcher", "ray"),
    ("launcher", "ray_local"): ("hydra_plugins.hydra_ray_launcher.ray_launcher", "ray"),
    ("launcher", "ray_aws"): ("hydra_plugins.hydra_ray_launcher.ray_aws_launcher", "ray"),
    ("launcher", "slurm"): ("hydra_plugins.hydra_submitit_launcher.submitit_launcher", "submitit"),
    ("launcher", "submitit_local"): ("hydra_plugins.hydra_submitit_launcher.submitit_launcher", "submitit"),
    ("launcher", "submitit_slurm"): ("hydra_plugins.hydra_submitit_launcher.submitit_launcher", "submitit"),
    ("sweeper", "optuna"): ("hydra_plugins.hydra_optuna_sweeper.optuna_sweeper", "optuna"),
}


def extra_for(module: str | None) -> str | None:
    """The extra that installs ``module`` (or a package it is part of), or None if it is not an optional one."""
    if not module:
        return None
    hits = [k for k in EXTRAS if module == k or module.startswith(k + ".")]
    return EXTRAS[max(hits, key=len)] if hits else None


def missing_extra(what: str, module: str, extra: str) -> str:
    """The one line for a missing optional package: what needs it, which module, the extra to install."""
    return (
        f"{what} needs the '{extra}' extra ({module} is not installed): pip install 'nato-russia-escalation[{extra}]'"
    )


def require(what: str, modules: tuple[str, ...] | list[str]) -> None:
    """Import each module; raise ``UserError`` naming the extra to install on the first that is missing."""
    import importlib
    import warnings

    for module in modules:
        try:
            with warnings.catch_warnings():  # an optional package's own notices (ema_workbench: ipyparallel)
                warnings.simplefilter("ignore")
                importlib.import_module(module)
        except ImportError as exc:
            missing = getattr(exc, "name", None) or module
            extra = extra_for(module) or extra_for(missing) or "the optional"
            raise UserError(missing_extra(what, missing, extra)) from None
