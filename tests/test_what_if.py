"""What-if runs: the changes a scenario carries are recorded, a run with ``--set`` gets its own results folder
(never the scenario's own), replacing a folder that held a report says so, and charts and the report list the
changes."""

from __future__ import annotations

from pathlib import Path

from helpers import ROOT, msp_sim, scenario

from simulator import load_scenario
from simulator.cli.common import results_folder
from simulator.outputs.charts.style import source_line

SMALL = ROOT / "scenarios" / "small-office.yaml"


def test_a_scenario_records_the_changes_it_was_loaded_with() -> None:
    assert load_scenario(scenario()).what_if == []
    sc = load_scenario(scenario(), ["horizon_months=3", "seed=5"])
    assert sc.what_if == ["horizon_months=3", "seed=5"]
    assert load_scenario(scenario(), {"seed": 9}).what_if == ["seed=9"]
    again = load_scenario(
        sc.model_dump(mode="json", by_alias=True), ["seed=6"]
    )  # a resolved file, changed again
    assert again.what_if == ["horizon_months=3", "seed=5", "seed=6"]
    assert "what-if: horizon_months=3, seed=5" in source_line(sc)
    assert "what-if" not in source_line(load_scenario(scenario()))


def _short_small_office(folder: Path) -> Path:
    """The small office over two months, as a file of its own (so that a run of it is not a what-if run)."""
    text = SMALL.read_text(encoding="utf-8")
    text = text.replace("horizon_months: 24", "horizon_months: 2").replace(
        "warmup_months: 1", "warmup_months: 0"
    )
    path = folder / "small-office.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_what_if_run_gets_its_own_folder_lists_its_changes_and_says_what_it_replaced(
    tmp_path: Path,
) -> None:
    short = _short_small_office(tmp_path)
    base = msp_sim("run", short, "-r", "2", "--report", cwd=tmp_path)
    assert base.returncode == 0, base.stderr
    own = tmp_path / "results" / "small-office"
    before = {p.name: p.read_bytes() for p in own.iterdir()}
    what_if = msp_sim(
        "run", short, "-r", "2", "--set", "seed=3", "--report", "--title", "Option B", cwd=tmp_path
    )
    assert what_if.returncode == 0, what_if.stderr
    assert {p.name: p.read_bytes() for p in own.iterdir()} == before  # the plain run's report is still there
    folders = sorted(p.name for p in (tmp_path / "results").iterdir() if not p.name.startswith("."))
    assert len(folders) == 2 and folders[0] == "small-office"
    assert (
        folders[1].startswith("small-office-what-if-") and len(folders[1]) == len("small-office-what-if-") + 8
    )
    assert f"what-if run (seed=3): writing to results/{folders[1]}" in what_if.stderr
    folder = tmp_path / "results" / folders[1]
    assert load_scenario(folder / "scenario.resolved.yaml").what_if == ["seed=3"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<h1>Option B</h1>" in html
    assert 'class="note what-if"' in html and "<code>seed=3</code>" in html
    assert "what-if: seed=3" in html  # the charts' source line
    # The same changes go to the same folder; replacing the report there says so.
    again = msp_sim("run", short, "-r", "2", "--set", "seed=3", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"writing to results/{folders[1]}" in again.stderr
    assert f"note: results/{folders[1]} held report.html and results.xlsx from an earlier run" in again.stderr
    assert "this run wrote none" in again.stderr
    assert not (folder / "report.html").exists()


def test_the_what_if_folder_depends_on_the_changes_in_their_order() -> None:
    def folder(*changes: str) -> Path:
        return results_folder(None, load_scenario(scenario(), list(changes)))

    assert folder() == Path("results/test")
    assert folder("seed=3") == folder("seed=3") != folder("seed=4")
    assert folder("seed=3", "horizon_months=2") != folder("horizon_months=2", "seed=3")
    assert results_folder(Path("mine"), load_scenario(scenario(), ["seed=3"])) == Path("mine")
