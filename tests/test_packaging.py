"""The package as users install it: a wheel that carries its configs, scenarios and style file."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_in_the_wheel_list():
    """pyproject.toml lists the packages explicitly (it maps the data folders into the package):
    a new subpackage under sim/ must be listed, or the wheel would leave it out.
    """
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {p.parent.relative_to(ROOT).as_posix().replace("/", ".") for p in (ROOT / "sim").rglob("__init__.py")}
    assert found <= listed, found - listed


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_runs_from_another_folder(tmp_path):
    """Build the wheel, install it (not editable) into a fresh virtual environment that borrows the
    test environment's libraries but not its copy of the project, and run the program from a folder
    with nothing of the project in it.
    """
    dist = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(dist.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "sim/_data/conf/config.yaml",
        "sim/_data/conf/model/default.yaml",
        "sim/_data/conf/experiment/eln_seven_factorial.yaml",
        "sim/_data/conf/measures/catalogue/hotline.yaml",
        "sim/_data/scenarios/baltic_air_policing.yaml",
        "sim/_data/calibration/targets.yaml",
        "sim/_data/calibration/posterior.csv",
        "sim/report/escalation.mplstyle",
    ):
        assert needed in names, needed

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The test environment's libraries, as a plain path: its .pth files (the editable project) are not read.
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    py = venv / "bin" / "python"
    proc = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    exe = str(venv / "bin" / "escalation")

    def escalation(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([exe, *args], cwd=elsewhere, capture_output=True, text=True, timeout=600, env=env)

    where = subprocess.run(
        [str(py), "-c", "import sim; print(sim.__file__)"], cwd=elsewhere, capture_output=True, text=True, env=env
    )
    assert str(venv) in where.stdout, where.stdout + where.stderr  # the installed copy, not the checkout
    run = escalation("run", "replications=3", "workers=1", "hydra.run.dir=out")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Verdict:" in run.stdout
    for name in ("replications.csv", "timeseries.parquet", "events.jsonl", "summary.json", "report/report.html"):
        assert (elsewhere / "out" / name).is_file(), name
    sweep = escalation(
        "run",
        "-m",
        "+experiment=era_comparison",
        "replications=2",
        "workers=1",
        "output.report=false",
        "output.plot=false",
        "hydra.sweep.dir=sweep",
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    compared = escalation("compare", "sweep")
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert (elsewhere / "sweep" / "comparison" / "comparison.md").is_file() or list(
        (elsewhere / "sweep").rglob("comparison.md")
    )
    assert escalation("app", "--help").returncode == 0
    listing = escalation("scenarios")
    assert listing.returncode == 0 and "baltic_air_policing" in listing.stdout
    version = escalation("--version")
    assert version.returncode == 0 and version.stdout.startswith("escalation 0.")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["out", "sweep"]  # nothing else written here


@pytest.mark.slow
def test_the_example_notebook_runs_top_to_bottom(tmp_path):
    """examples/quickstart.ipynb, executed as a reader would run it: no cell fails, the verdict, the
    paired comparison and the figure are in its outputs.
    """
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(
        str(o.get("data", {}).get("text/markdown", ""))
        + str(o.get("data", {}).get("text/plain", ""))
        + str(o.get("text", ""))
        for o in outputs
    )
    assert "Verdict:" in text and "diff_reached_rung_4" in text and "time_h" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
