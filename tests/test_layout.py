"""The packages' layers: pyproject.toml's import-linter contracts hold, and each package says what it is."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(capsys):
    """The packages of sim import only downwards (cli : api : app > studies | play > calibration > report > run >
    analysis > core; every package of sim is in a layer), sim.core imports nothing of sim outside itself,
    and no package's modules import each other in a circle (type-checking imports included).
    """
    pytest.importorskip("importlinter")
    from importlinter import configuration
    from importlinter.application import use_cases

    configuration.configure()  # what the lint-imports command does first
    passed = use_cases.lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)
    out = capsys.readouterr().out
    assert passed, out
    assert "3 kept, 0 broken" in out, out


def test_every_package_of_sim_says_what_it_holds_and_what_it_may_import():
    for init in sorted((ROOT / "sim").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert doc, init
        if init.parent.name not in ("core", "app", "report"):
            assert "May import" in doc, init
