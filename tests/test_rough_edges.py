"""Rough edges a new user meets first: a missing extra, --help on every verb, the game's own help.

A missing optional package is simulated in a real subprocess by an import hook that refuses it (as an
environment without the extra would), so the verb's own code path runs as a user's would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).with_name("escalation")
VERBS = ("run", "scenarios", "measures", "report", "compare", "calibrate", "validate", "discover", "card")
VERBS += ("variance", "study", "play", "app")

BLOCK = """
import sys
blocked = sys.argv[1].split(",")
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from sim.cli import main
sys.exit(main(sys.argv[2:]))
"""


def without(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK, module, *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("SALib", ["variance", "--samples", "8"], "sweep"),
        ("SALib", ["study", "--scale", "0.01"], "sweep"),
        ("ema_workbench", ["discover", "--samples", "10"], "analysis"),
        ("sklearn", ["discover", "--samples", "10"], "analysis"),
        ("pyabc", ["calibrate"], "calibrate"),
        ("solara", ["app"], "app"),
        ("hydra_plugins.hydra_joblib_launcher", ["run", "-m", "hydra/launcher=joblib", "replications=2"], "sweep"),
        ("joblib", ["run", "-m", "hydra/launcher=joblib", "replications=2"], "sweep"),
        ("ray", ["run", "-m", "hydra/launcher=ray_local", "replications=2"], "cluster"),
        ("submitit", ["run", "-m", "hydra/launcher=slurm", "replications=2"], "cluster"),
        ("optuna", ["run", "-m", "+experiment=cheapest_bundle"], "sweep"),
    ],
)
def test_a_missing_extra_is_one_line_naming_the_extra_with_exit_2_and_nothing_written(tmp_path, module, args, extra):
    proc = without(module, *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("escalation: error: "), proc.stderr[-2000:]
    assert f"needs the '{extra}' extra" in lines[0] and f"pip install 'nato-russia-escalation[{extra}]'" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no outputs/ folder, no half-written design.csv


def _options(help_text: str) -> dict[str, str]:
    """Each option or positional of an argparse help text with the help written beside or under it."""
    entries: dict[str, str] = {}
    current = None
    for line in help_text.splitlines():
        m = re.match(r"^  (\S.*?)(?:\s{2,}(\S.*))?$", line)
        if m and not line.startswith("   "):
            current = m.group(1).strip()
            entries[current] = m.group(2) or ""
        elif current and line.startswith("      ") and line.strip():
            entries[current] = (entries[current] + " " + line.strip()).strip()
        elif not line.strip():
            current = None
    return entries


@pytest.mark.parametrize("verb", VERBS)
def test_every_option_of_every_verb_has_help_text(tmp_path, verb):
    proc = subprocess.run([str(EXE), verb, "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: escalation") or verb == "run"  # run: Hydra's own help
    if verb == "run":
        assert "Configuration groups" in proc.stdout
        return
    entries = _options(proc.stdout)
    assert entries, proc.stdout
    bare = [k for k, v in entries.items() if not v]
    assert bare == [], f"escalation {verb}: no help for {bare}"


def test_card_help_describes_each_option(tmp_path):
    proc = subprocess.run([str(EXE), "card", "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    entries = _options(proc.stdout)
    assert "desync placebo always run" in entries["--bundles BUNDLES"]
    assert entries["--seed SEED"] == "seed of the replications (default 0)"


def test_play_help_works_and_lists_its_words_and_the_game_commands(tmp_path):
    proc = subprocess.run([str(EXE), "play", "--help"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: escalation play side=nato|russia|both")
    for word in ("side=", "scenario=", "load=", "save=", "log=", "debrief=", "c NUMBER", "q "):
        assert word in proc.stdout
