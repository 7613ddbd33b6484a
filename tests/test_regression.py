"""Fixed-seed runs that cover the model's regimes, to the ninth decimal: any unintended change to the model fails here.

Everything expected is read from tests/data/regression_summary.json, written only by
``python experiments/refresh_regression.py`` (run it when a change is meant to move the numbers, and say so in
the commit). The comparison is the script's own, so ``refresh_regression.py --check`` and this test agree.
"""

from __future__ import annotations

import copy
import math
import sys

from sim.run.paths import CONF_DIR, REPO_ROOT
from sim.run.scenario_io import library

sys.path.insert(0, str(REPO_ROOT / "experiments"))

import refresh_regression  # noqa: E402


def test_fixed_seed_summary_is_reproduced_and_check_agrees(monkeypatch, capsys):
    """Every case's outcome means, regime counts and definition, and the list of outcome columns, are what the file
    says. --check (the same comparison, fed the same run) passes on them, NaN means comparing equal, and fails,
    naming the column, when an outcome column is added or removed. One test, so the cases run once under xdist.
    """
    got = refresh_regression.summary()
    diff = refresh_regression.differences(refresh_regression.read(), got)
    assert not diff, "\n".join(diff[:30])

    monkeypatch.setattr(refresh_regression, "summary", lambda: got)
    assert refresh_regression.main(["--check"]) == 0
    assert any(math.isnan(v) for case in got["cases"].values() for v in case["means"].values())

    added = copy.deepcopy(got)
    added["columns"].append("new_outcome")
    next(iter(added["cases"].values()))["means"]["new_outcome"] = 1.0
    monkeypatch.setattr(refresh_regression, "summary", lambda: added)
    assert refresh_regression.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "new_outcome: new (not in the file: 1.0)" in err and "columns: [" in err

    removed = copy.deepcopy(got)
    removed["columns"].remove("crisis_days")
    for case in removed["cases"].values():
        del case["means"]["crisis_days"]
    monkeypatch.setattr(refresh_regression, "summary", lambda: removed)
    assert refresh_regression.main(["--check"]) == 1
    assert "means / crisis_days: missing" in capsys.readouterr().err


def test_differences_compare_nan_equal_and_see_every_change():
    nan = math.nan
    assert refresh_regression.differences({"a": {"x": nan, "y": [nan, 1]}}, {"a": {"x": nan, "y": [nan, 1]}}) == []
    assert refresh_regression.differences({"x": nan}, {"x": 0.0}) == ["x: 0.0 != nan"]
    assert refresh_regression.differences({"x": 1.0}, {"x": 1.000000001}) == ["x: 1.000000001 != 1.0"]
    assert refresh_regression.differences({"x": 1}, {}) == ["x: missing (expected 1)"]
    assert refresh_regression.differences({"l": [1, 2]}, {"l": [1, 2, 3]}) == ["l: [1, 2, 3] != [1, 2]"]


def test_the_cases_cover_the_regimes():
    """Read from the data file: every library scenario, era and catalogue measure runs in some case, and so do the
    posterior parameters; some case de-escalates, suspends and restores contacts, and reaches the top rungs.
    """
    cases = refresh_regression.read()["cases"]
    overrides = {o for case in cases.values() for o in case["overrides"]}
    assert {f"scenario={s}" for s in library()} <= overrides
    assert {f"era={p.stem}" for p in (CONF_DIR / "era").glob("*.yaml")} <= overrides
    measures = {p.stem for p in (CONF_DIR / "measures" / "catalogue").glob("*.yaml")}
    assert {f"measures.{m}.enabled=true" for m in measures} <= overrides
    assert "parameters=posterior" in overrides
    regimes = [case["regimes"] for case in cases.values()]
    assert max(r["max_peak_rung"] for r in regimes) >= 6
    for counted in ("de_escalations", "suspensions", "restorations"):
        assert sum(r[counted] for r in regimes) > 0, counted
