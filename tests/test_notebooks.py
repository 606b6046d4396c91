"""The notebooks in notebooks/: committed without outputs, importing the public API only, and running clean."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "01_quickstart.ipynb",
    "02_contracts_in_depth.ipynb",
    "03_incentives.ipynb",
    "04_sweeps.ipynb",
    "05_transition.ipynb",
    "06_calibration.ipynb",
}
MODEL_INTERNALS = {"engine", "model", "provider", "incidents"}
"""Simulation internals a notebook must not reach into (it goes through simulate, analyze_incentives, ...)."""


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def forbidden_imports(source: str) -> list[str]:
    """The imports of a code cell (IPython magics allowed) that reach past the simulator's public API."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    bad: list[str] = []

    def check(module: str, text: str) -> None:
        parts = module.split(".")
        if parts[0] != "simulator" or len(parts) < 2:
            return
        if any(p.startswith("_") for p in parts[1:]) or parts[1] in MODEL_INTERNALS:
            bad.append(text)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check(alias.name, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            check(node.module, f"from {node.module} import ...")
            if node.module == "simulator":
                # `from simulator import model` imports a module, too.
                for alias in node.names:
                    check(f"simulator.{alias.name}", f"from simulator import {alias.name}")
    return bad


def test_the_six_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert not EXPECTED - names, f"missing notebooks: {sorted(EXPECTED - names)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name}: code cell {i} has outputs; strip them before committing"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_the_public_api(path: Path) -> None:
    cells = _code_cells(_read(path))
    assert any("simulator" in source for source in cells), f"{path.name} does not use the simulator"
    bad = [imp for source in cells for imp in forbidden_imports(source)]
    assert not bad, f"{path.name} imports simulator internals: {bad}"


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("from simulator import load_scenario, simulate\nfrom simulator import charts", False),
        ("%matplotlib inline\nfrom simulator.incentives import analyze_incentives", False),
        ("from simulator.sweep import load_sweep\nfrom simulator.analysis import analyze_sweep", False),
        ("import pandas as pd\nfrom collections import _chain", False),
        ("from simulator._private import x", True),
        ("import simulator._private.thing", True),
        ("from simulator.model import simulate_contract", True),
        ("import simulator.provider", True),
        ("from simulator.engine.replication import simulate_contract", True),
        ("import simulator.engine.pool", True),
        ("from simulator import incidents", True),
        ("def f():\n    from simulator.incidents import generate_incidents", True),
    ],
)
def test_import_check_flags_internals(source: str, flagged: bool) -> None:
    assert bool(forbidden_imports(source)) is flagged


def _execute(
    path: Path, monkeypatch: pytest.MonkeyPatch, extra: tuple[str, ...] = ()
) -> nbformat.NotebookNode:
    """The notebook executed in notebooks/ (with ``extra`` code cells run after its own); fails on an error."""
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits it: no display needed
    nb = _read(path)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the traceback without terminal colours
        pytest.fail(f"{path.name}: a cell raised an error:\n{message}", pytrace=False)
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute the notebook as a reader would (working directory notebooks/); no cell may raise, and nothing may
    be written next to the notebooks."""
    before = {p.name for p in NOTEBOOK_DIR.iterdir()}
    nb = _execute(path, monkeypatch)
    errors = [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors, f"{path.name}: {errors}"
    after = {p.name for p in NOTEBOOK_DIR.iterdir()}
    assert after <= before, f"{path.name} wrote into notebooks/: {sorted(after - before)}"


MOVE_THE_SLIDERS = """
fee, rate, downtime = explorer.children[:3]
fee.value, rate.value, downtime.value = 60.0, 2.0, 150.0  # each change redraws, as letting go of a slider does
expected = simulate(
    load_scenario(SCENARIO, explorer_overrides(60.0, 2.0, 150.0)), replications=REPLICATIONS, workers=1
)
print(charts.headline(expected))
print(charts.provider_headline(expected))
"""


@pytest.mark.slow
def test_explorer_sliders_rerun_the_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moving the explorer's sliders re-simulates with their values: its output (the Output widget's state, as a
    front end would receive it) ends with a chart and the headlines of a run made directly with those settings."""
    nb = _execute(NOTEBOOK_DIR / "02_contracts_in_depth.ipynb", monkeypatch, (MOVE_THE_SLIDERS,))
    expected = "".join(out.get("text", "") for out in nb.cells[-1].outputs if out.output_type == "stream")
    assert "cost" in expected and "earns the provider" in expected
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    outputs = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    assert len(outputs) == 1, "the explorer has one output area"
    shown = outputs[0]
    assert any("image/png" in out.get("data", {}) for out in shown), "the explorer drew no chart"
    printed = "".join(out.get("text", "") for out in shown if out.get("output_type") == "stream")
    assert printed == expected
