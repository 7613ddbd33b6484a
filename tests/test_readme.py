"""Every number the README states comes from a script, and is current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme_numbers", ROOT / "experiments" / "readme_numbers.py")
readme_numbers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_numbers)


@pytest.mark.parametrize("path", readme_numbers.FILES, ids=lambda p: p.name)
def test_the_measured_figures_are_what_their_records_say(path):
    """Speed, profile, factorial and memory figures (docs/benchmarks/*.json), the validation and fit tables (the
    calibration's records) and the study's headlines (docs/analysis/study_run) are what those records say.
    """
    recorded = {"speed", "memory", "profile", "factorial", "validation", "calibration-fit", "study", "sbc"}
    text = path.read_text(encoding="utf-8")
    assert "<!-- numbers:" in text
    assert readme_numbers.render(text, recorded) == text, "run python experiments/readme_numbers.py --write"


@pytest.mark.slow
def test_the_readmes_example_comparison_is_what_the_model_gives_today():
    """The README's `measures=none,eln_seven` example, re-run with the same command and seeds."""
    text = readme_numbers.README.read_text(encoding="utf-8")
    assert readme_numbers.render(text, {"compare-example"}) == text, "run python experiments/readme_numbers.py --write"


def test_the_readme_cites_no_file_outside_the_repository():
    text = readme_numbers.README.read_text(encoding="utf-8")
    assert "../shared" not in text and "seeds/" not in text
