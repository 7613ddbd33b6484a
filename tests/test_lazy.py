"""Pandas imported on first use (``sim.run.lazy``): a run never imports it, and code that uses it gets it whole.

Each case runs in a fresh interpreter: deferring changes ``sys.modules`` and ``sys.meta_path`` for the
whole process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PACKAGE = {
    "__init__.py": "import builtins\nbuiltins.RUNS.append('pkg')\nfrom pkg import sub\nVALUE = sub.X + 1\n",
    "sub.py": "import builtins\nbuiltins.RUNS.append('pkg.sub')\nX = 41\n",
    "other.py": "import builtins\nbuiltins.RUNS.append('pkg.other')\nimport pkg\nY = pkg.VALUE\n",
    "deep/__init__.py": "import builtins\nbuiltins.RUNS.append('pkg.deep')\n",
    "deep/leaf.py": "import builtins\nbuiltins.RUNS.append('pkg.deep.leaf')\nimport pkg\nZ = pkg.VALUE * 2\n",
}


def _python(code: str, cwd: Path) -> list[str]:
    prelude = (
        "import builtins, sys\nbuiltins.RUNS = []\nsys.path.insert(0, '.')\n"
        "from sim.run.lazy import defer, is_deferred\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    for name, text in PACKAGE.items():
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text)
    return tmp_path


def test_a_deferred_module_runs_on_its_first_name_and_only_once(package):
    out = _python(
        """
        print(defer("pkg"))
        import pkg
        import pkg as again
        print(len(RUNS), is_deferred("pkg"), again is pkg, pkg.__name__)
        print(pkg.VALUE, RUNS, is_deferred("pkg"), pkg.VALUE, len(RUNS))
        """,
        package,
    )
    # deferred; the import statements ran nothing (``__name__`` is there already); VALUE ran it, once
    assert out == ["True", "0", "True", "True", "pkg", "42", "['pkg',", "'pkg.sub']", "False", "42", "2"]


def test_importing_a_submodule_first_runs_the_package_first_and_nothing_twice(package):
    out = _python(
        """
        defer("pkg")
        import pkg.sub            # the package's __init__ imports it: handed back, not run again
        import pkg.other          # not imported by __init__: found and run after it
        import pkg.deep.leaf      # two levels down
        import pkg
        print(RUNS)
        print(pkg.sub is sys.modules["pkg.sub"], pkg.other.Y, pkg.deep.leaf.Z, is_deferred("pkg"))
        """,
        package,
    )
    assert out[0] == "['pkg',"  # the package first, every module once
    runs = " ".join(out[:5])
    assert runs == "['pkg', 'pkg.sub', 'pkg.other', 'pkg.deep', 'pkg.deep.leaf']"
    assert out[5:] == ["True", "42", "84", "False"]


def test_submodules_keep_their_own_spec_and_loader_and_finding_one_changes_nothing(package):
    out = _python(
        """
        import importlib.util
        defer("pkg")
        found = importlib.util.find_spec("pkg.other")   # finding is not importing: nothing runs
        print(RUNS, found.origin.endswith("other.py"))
        import pkg.other, pkg.sub  # the first, not imported by the package's __init__, through the finder
        for m in (pkg.sub, pkg.other):
            print(type(m.__spec__.loader).__name__, type(m.__loader__).__name__, m.__spec__.origin == m.__file__)
        """,
        package,
    )
    assert out == ["[]", "True", *["SourceFileLoader", "SourceFileLoader", "True"] * 2]


def test_another_thread_waits_for_a_deferred_module_as_it_would_for_an_import(package):
    """While one thread runs the deferred package's code, another that asks it for a name waits (it does not see a
    half-made module), and the package's own code asking for a name it has not defined yet gets the usual error.
    """
    (package / "pkg" / "__init__.py").write_text(
        "import builtins, time\nbuiltins.RUNS.append('pkg')\nimport pkg\n"
        "try:\n    pkg.LATER\nexcept AttributeError as e:\n    SELF = 'partially' in str(e)\n"
        "time.sleep(0.4)\nLATER = 1\n"
    )
    out = _python(
        """
        import threading, time
        defer("pkg")
        import pkg
        seen = {}
        def use(k):
            try:
                seen[k] = pkg.LATER + pkg.SELF
            except Exception as e:
                seen[k] = type(e).__name__
        a = threading.Thread(target=use, args=("a",)); b = threading.Thread(target=use, args=("b",))
        a.start(); time.sleep(0.1); b.start(); a.join(); b.join()
        print(seen["a"], seen["b"], RUNS)
        """,
        package,
    )
    assert out == ["2", "2", "['pkg']"]


def test_a_package_that_fails_on_first_use_is_not_left_imported(package):
    (package / "pkg" / "__init__.py").write_text("raise RuntimeError('broken package')\n")
    out = _python(
        """
        defer("pkg")
        import pkg
        try:
            pkg.VALUE
        except RuntimeError as e:
            print("raised", str(e).replace(" ", "_"))
        print("pkg" in sys.modules)
        try:
            import pkg
        except RuntimeError:
            print("raised-again")
        """,
        package,
    )
    assert out == ["raised", "broken_package", "False", "raised-again"]


def test_defer_leaves_imported_missing_and_submodule_names_alone(package):
    out = _python(
        """
        import json
        print(defer("json"), defer("no_such_module_here"), "no_such_module_here" in sys.modules)
        try:
            defer("pkg.sub")
        except ValueError:
            print("submodule-refused")
        """,
        package,
    )
    assert out == ["False", "False", "False", "submodule-refused"]


def test_a_run_without_a_report_from_the_console_script_never_imports_pandas(tmp_path):
    """``escalation run ... output.report=false`` (the console entry, ``sim.cli.console``; a sweep's jobs write no
    report either): pandas stays deferred to the end, the outputs are complete, and the summary is the one pandas'
    table gives (``summarise`` on ``pd.read_csv``).
    """
    code = f"""
    import sys
    import sim.cli
    sys.argv = ["escalation", "run", "replications=40", "output.report=false", "hydra.run.dir={tmp_path / "run"}"]
    code = sim.cli.console()
    from sim.run.lazy import is_deferred
    print("EXIT", code, "PANDAS-DEFERRED", is_deferred("pandas"), "mesa.agent" in sys.modules)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[-5:] == ["EXIT", "0", "PANDAS-DEFERRED", "True", "True"], done.stdout[-500:]
    from sim.run.runner import SUMMARY_COLUMNS, summarise

    run = tmp_path / "run"
    written = json.loads((run / "summary.json").read_text())
    table = pd.read_csv(run / "replications.csv", usecols=list(SUMMARY_COLUMNS))
    expected = json.loads(json.dumps(summarise(table, written["scenario"], written["seed"], written["measures"])))
    for key in ("outcomes", "peak_rung_distribution", "replications"):
        assert written[key] == expected[key], key


def test_summary_columns_are_read_as_pandas_reads_them(tmp_path):
    """The reader (pyarrow's) on nulls, an empty column, integers, numbers, booleans: what ``pd.read_csv`` gives."""
    from sim.run.output import read_summary_columns

    path = tmp_path / "replications.csv"
    path.write_text(
        "peak_rung,crisis_days,days_back_to_vigilance,days_back_censored,flag,gappy\n"
        "2,0,3.27387,,True,1\n"
        "4,1.25,,,False,\n"
        "1,0.1,0.333333333333333314829616256247,,True,3\n"
    )
    columns = ["peak_rung", "crisis_days", "days_back_to_vigilance", "days_back_censored", "flag", "gappy"]
    ours = read_summary_columns(path, columns)
    theirs = pd.read_csv(path, usecols=columns)
    for name in columns:
        expected = theirs[name].to_numpy()
        assert ours[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(ours[name], expected)  # NaN equal to NaN, every bit of the numbers


def test_the_summary_of_columns_is_the_summary_of_the_data_frame():
    from sim.run.runner import SUMMARY_COLUMNS, summarise

    rng = np.random.default_rng(5)
    n = 200
    rows = {c: rng.poisson(0.5, n) for c in SUMMARY_COLUMNS}
    rows.update(peak_rung=rng.integers(0, 6, n), crisis_days=rng.exponential(1.0, n))
    back = np.where(rng.random(n) < 0.5, rng.exponential(2.0, n), np.nan)
    rows.update(days_back_to_vigilance=back, days_back_censored=np.where(np.isnan(back), 30.0, np.nan))
    rows["reached_rung_4"] = (rows["peak_rung"] >= 4).astype(int)
    frame = pd.DataFrame(rows)
    assert json.dumps(summarise(rows, "s", 0, [])) == json.dumps(summarise(frame, "s", 0, []))  # NaN as NaN
    # a missing value in a 0/1 column counts as no event (pandas' sum skips it), in a table or in columns
    rows["reached_rung_4"] = np.where(np.arange(n) < 10, np.nan, rows["reached_rung_4"])
    rows["first_fire_nato"] = np.where(np.arange(n) == 3, np.nan, 1.0)
    for table in (rows, pd.DataFrame(rows)):
        o = summarise(table, "s", 0, [])["outcomes"]
        assert o["p_peak_rung_ge_4"]["estimate"] == np.sum(rows["peak_rung"][10:] >= 4) / n
        assert o["first_fire"]["nato"] == n - 1


def test_pandas_deferred_then_a_submodule_imported_first_is_pandas_itself(tmp_path):
    out = _python(
        """
        defer("pandas")
        import pandas.core.frame
        import pandas as pd
        print(pandas.core.frame.DataFrame is pd.DataFrame, int(pd.DataFrame({"a": [1, 2]})["a"].sum()))
        """,
        tmp_path,
    )
    assert out == ["True", "3"]  # pandas.core.frame ran once: one DataFrame class
