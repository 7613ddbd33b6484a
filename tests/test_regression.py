"""A fixed-seed summary of four runs, to the ninth decimal: any unintended change to the model fails here.

The expected numbers are written only by ``python experiments/refresh_regression.py`` (run it when a
change is meant to move the numbers, and say so in the commit).
"""

from __future__ import annotations

import json
import math
import sys

from sim.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "experiments"))

import refresh_regression  # noqa: E402


def test_fixed_seed_summary_is_reproduced():
    expected = json.loads(refresh_regression.FILE.read_text(encoding="utf-8"))
    got = refresh_regression.summary()
    assert set(got) == set(expected)
    for case, values in expected.items():
        for key, value in values.items():
            now = got[case][key]
            assert (math.isnan(value) and math.isnan(now)) or now == value, f"{case} {key}: {now} != {value}"
