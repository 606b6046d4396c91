"""The layering in ``pyproject.toml`` ([tool.importlinter]) holds for the package, and an import that breaks it
fails the check: an upward import across layers, a kind importing a sibling kind, SimPy outside the engine,
matplotlib outside the outputs, YAML outside config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the import contracts on the package in ``project`` (that copy first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(LINT), "--no-logo", "--no-cache", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def checked() -> None:
    if not LINT.exists():
        pytest.skip("lint-imports is not installed (make test installs it with the dev extras)")


def test_the_package_keeps_its_layers(checked: None) -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "named"),
    [
        (
            "base/rng.py",
            "import simulator.cli.common",
            "The package's layers, top to bottom",
            "simulator.base.rng -> simulator.cli.common",
        ),
        (
            "config/sections.py",
            "from simulator.engine import pool",
            "The package's layers, top to bottom",
            "simulator.config.sections -> simulator.engine",
        ),
        (
            "contracts/time_and_materials.py",
            "from simulator.contracts import managed",
            "Contracts: one module per kind, over the shared terms",
            "simulator.contracts.time_and_materials -> simulator.contracts.managed",
        ),
        (
            "metrics/measurement.py",
            "import simpy",
            "SimPy only in the engine",
            "simulator.metrics.measurement -> simpy",
        ),
        (
            "studies/run.py",
            "import matplotlib",
            "matplotlib only in outputs",
            "simulator.studies.run -> matplotlib",
        ),
        ("outputs/tables.py", "import yaml", "YAML only in config", "simulator.outputs.tables -> yaml"),
    ],
)
def test_an_import_against_the_layers_fails(
    checked: None, tmp_path: Path, module: str, line: str, contract: str, named: str
) -> None:
    shutil.copytree(ROOT / "simulator", tmp_path / "simulator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "simulator" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberately against the layers\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert f"{contract} BROKEN" in done.stdout
    assert named in done.stdout, done.stdout


def test_the_command_line_starts_without_the_simulation_stack() -> None:
    """``msp-sim --help`` answers at once: importing the command line (and the package) loads none of numpy,
    pandas, scipy, pydantic or matplotlib; each command imports what it needs when it runs. (Its speed is measured
    by ``benchmarks/bench_startup.py``, not here.)"""
    heavy = ("numpy", "pandas", "scipy", "pydantic", "matplotlib", "simpy", "pyarrow")
    probe = f"import sys, simulator, simulator.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
