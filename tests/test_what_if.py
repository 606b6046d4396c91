"""What-if runs: the changes a scenario carries are recorded, a run with ``--set`` gets its own results folder
(never the scenario's own), replacing a folder that held a report says so, and charts and the report list the
changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import ROOT, scenario

from simulator import load_scenario
from simulator.cli.common import results_folder
from simulator.outputs.charts.style import source_line

SMALL = ROOT / "scenarios" / "small-office.yaml"
QUICK = ["-r", "2", "--set", "horizon_months=2", "--set", "warmup_months=0"]


def _msp_sim(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)},
    )


def test_a_scenario_records_the_changes_it_was_loaded_with() -> None:
    assert load_scenario(scenario()).what_if == []
    sc = load_scenario(scenario(), ["horizon_months=3", "seed=5"])
    assert sc.what_if == ["horizon_months=3", "seed=5"]
    assert load_scenario(scenario(), {"seed": 9}).what_if == ["seed=9"]
    again = load_scenario(sc.model_dump(mode="json", by_alias=True), ["seed=6"])  # a resolved file, changed again
    assert again.what_if == ["horizon_months=3", "seed=5", "seed=6"]
    assert "what-if: horizon_months=3, seed=5" in source_line(sc)
    assert "what-if" not in source_line(load_scenario(scenario()))


def test_a_what_if_run_gets_its_own_folder_and_leaves_the_scenario_s_results_alone(tmp_path: Path) -> None:
    base = _msp_sim(tmp_path, "run", SMALL, "-r", "2", "--report")
    assert base.returncode == 0, base.stderr
    own = tmp_path / "results" / "small-office"
    before = {p.name: p.read_bytes() for p in own.iterdir()}
    what_if = _msp_sim(tmp_path, "run", SMALL, *QUICK)
    assert what_if.returncode == 0, what_if.stderr
    assert {p.name: p.read_bytes() for p in own.iterdir()} == before  # the report of the plain run is still there
    folders = sorted(p.name for p in (tmp_path / "results").iterdir() if not p.name.startswith("."))
    assert len(folders) == 2 and folders[0] == "small-office"
    assert folders[1].startswith("small-office-what-if-") and len(folders[1]) == len("small-office-what-if-") + 8
    assert f"writing to results/{folders[1]}" in what_if.stderr
    assert "horizon_months=2, warmup_months=0" in what_if.stderr
    resolved = load_scenario(tmp_path / "results" / folders[1] / "scenario.resolved.yaml")
    assert resolved.what_if == ["horizon_months=2", "warmup_months=0"]
    # The same changes go to the same folder; other changes to another.
    same = _msp_sim(tmp_path, "run", SMALL, *QUICK)
    assert f"writing to results/{folders[1]}" in same.stderr


def test_the_what_if_folder_depends_on_the_changes_in_their_order() -> None:
    def folder(*changes: str) -> Path:
        return results_folder(None, load_scenario(scenario(), list(changes)))

    assert folder() == Path("results/test")
    assert folder("seed=3") == folder("seed=3") != folder("seed=4")
    assert folder("seed=3", "horizon_months=2") != folder("horizon_months=2", "seed=3")
    assert results_folder(Path("mine"), load_scenario(scenario(), ["seed=3"])) == Path("mine")


def test_a_report_lists_the_changes_and_replacing_it_says_so(tmp_path: Path) -> None:
    out = tmp_path / "res"
    first = _msp_sim(tmp_path, "run", SMALL, *QUICK, "--report", "--title", "Option B for Acme", "--out", out)
    assert first.returncode == 0, first.stderr
    assert "note:" not in first.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<h1>Option B for Acme</h1>" in html
    assert 'class="note what-if"' in html
    assert "<code>horizon_months=2</code>, <code>warmup_months=0</code>" in html
    assert "what-if: horizon_months=2, warmup_months=0" in html  # the charts' source line
    second = _msp_sim(tmp_path, "run", SMALL, *QUICK, "--out", out)
    assert second.returncode == 0, second.stderr
    assert f"note: {out} held report.html and results.xlsx from an earlier run" in second.stderr
    assert "this run wrote none" in second.stderr
    assert not (out / "report.html").exists()
