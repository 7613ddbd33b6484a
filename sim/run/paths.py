"""Where the project's data lives: the configs (experiments included) and the scenario library.

In a source checkout (and an editable install) they are the folders beside the package:
``conf/`` and ``scenarios/``. A wheel carries the same folders inside the package, under
``sim/_data/`` (pyproject.toml maps them there), so an installed ``escalation`` finds them wherever
it runs. ``DATA_ROOT`` is the folder that holds both; paths shown to users are relative to it
(``conf/measures/...``) either way.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # sim/ (this file is sim/run/paths.py)
REPO_ROOT = PACKAGE_DIR.parent  # the source checkout (docs/, tests/); not meaningful in a wheel
DATA_ROOT = PACKAGE_DIR / "_data" if (PACKAGE_DIR / "_data" / "conf").is_dir() else REPO_ROOT
CONF_DIR = DATA_ROOT / "conf"
SCENARIO_DIR = DATA_ROOT / "scenarios"
EXPERIMENTS_DIR = CONF_DIR / "experiment"
