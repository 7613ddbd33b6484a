"""Where the project's data lives: configs, scenario library, experiments (beside the package)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"
SCENARIO_DIR = REPO_ROOT / "scenarios"
EXPERIMENTS_DIR = REPO_ROOT / "experiments"
