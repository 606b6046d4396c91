"""The Excel workbook: every number of the results folder, exactly; atomic writing; a clear error for no results."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import openpyxl
import pandas as pd
import pytest

from simulator import load_scenario, outputs, simulate
from simulator.outputs.assumptions import assumptions, key_assumptions
from simulator.outputs.folders import write_results
from simulator.outputs.workbook import metric_label, per_month, write_workbook

SMALL = Path(__file__).resolve().parents[1] / "scenarios" / "small-office.yaml"
SHEETS = [
    "Summary",
    "Replications",
    "Differences",
    "Benchmarks",
    "Risk",
    "Key assumptions",
    "Assumptions",
    "About",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sc = load_scenario(SMALL, ["horizon_months=4", "warmup_months=1"])
    out = tmp_path_factory.mktemp("workbook") / "results"
    results = simulate(sc, replications=3)
    with pytest.MonkeyPatch.context() as mp:  # the charts are not in the workbook; drawing them takes seconds
        mp.setattr(outputs, "save_figure", lambda fig, stem, dpi: plt.close(fig))
        write_results(results, out)
    return out


@pytest.fixture(scope="module")
def book(folder: Path) -> Any:
    target = write_workbook(folder, folder.parent / "results.xlsx")
    assert target == folder.parent / "results.xlsx"
    return openpyxl.load_workbook(target)


def rows(sheet: Any, first: int = 1) -> list[tuple[Any, ...]]:
    return list(sheet.iter_rows(min_row=first, values_only=True))


def stored(value: float) -> float:
    """A float as a workbook holds it: 16 significant digits (openpyxl's precision; Excel shows 15)."""
    return float(f"{value:.16g}")


def same(cell: Any, value: Any) -> bool:
    """A cell holds a table value: NaN is an empty cell, floats as stored, everything else exactly."""
    if isinstance(value, float) and math.isnan(value):
        return cell is None
    if isinstance(value, float):
        return bool(cell == stored(value))
    return bool(cell == value)


def test_sheets_and_summary_numbers_exact(folder: Path, book: Any) -> None:
    """The Summary holds summary.csv's numbers, money, counts and hours worked or lost per month (the total
    divided by the measured months), under readable names with the metric's id in the last column."""
    assert book.sheetnames == SHEETS
    months = load_scenario(folder / "scenario.resolved.yaml").measured_months
    sheet = rows(book["Summary"])
    header = next(i for i, row in enumerate(sheet) if row[0] == "metric")
    groups, labels = sheet[header - 1], sheet[header]
    assert labels[-1] == "id"
    columns = {name: col for col, name in enumerate(groups) if name}
    by_metric = {row[-1]: row for row in sheet[header + 1 :]}
    with (folder / "summary.csv").open(encoding="utf-8") as f:
        summary = list(csv.DictReader(f))
    assert set(columns) == {r["contract"] for r in summary}  # the small office's contracts have no labels
    assert set(by_metric) == {r["metric"] for r in summary}
    for r in summary:
        col = columns[r["contract"]]
        assert labels[col : col + 3] == ("mean", "95% CI low", "95% CI high")
        row = by_metric[r["metric"]]
        scale = months if per_month(r["metric"]) else 1
        assert row[0] == metric_label(r["metric"]) + (" per month" if scale > 1 else "")
        for cell, text in zip(row[col : col + 3], (r["mean"], r["ci_low"], r["ci_high"]), strict=True):
            assert cell == (stored(float(text) / scale) if text else None), (r["contract"], r["metric"])
    assert by_metric["client_total_cost"][0] == "Client total cost per month"
    assert by_metric["client_total_cost"][2] == "USD per month"
    assert by_metric["provider_gross_margin"][0] == "Gross margin" and per_month("tickets")
    assert not per_month("backlog_hours_at_end") and not per_month("revenue_monthly_mean")
    money = book["Summary"].cell(row=header + 2, column=columns[summary[0]["contract"]] + 1)
    assert money.number_format == "#,##0"  # provider_revenue comes first


def test_a_workbook_of_several_folders_holds_each(folder: Path, tmp_path: Path) -> None:
    """Two run folders: a Contents sheet, then one group of sheets per folder, named after it."""
    other = tmp_path / "a-folder-with-a-rather-long-name[2]"
    shutil.copytree(folder, other)
    book = openpyxl.load_workbook(write_workbook([folder, other], tmp_path / "both.xlsx"))
    assert book.sheetnames[0] == "Contents"
    prefixes = [row[0] for row in rows(book["Contents"], 4)]
    assert len(prefixes) == 2 and prefixes[0] == folder.name and "[" not in prefixes[1]
    for prefix in prefixes:
        assert [f"{prefix} {name}" for name in SHEETS] == [n for n in book.sheetnames if n.startswith(prefix)]
    assert all(len(name) <= 31 for name in book.sheetnames)
    assert rows(book[f"{prefixes[0]} Summary"]) == rows(book[f"{prefixes[1]} Summary"])


def test_replications_sheet_is_the_csv(folder: Path, book: Any) -> None:
    frame = pd.read_csv(folder / "replications.csv")
    sheet = rows(book["Replications"])
    assert sheet[0] == tuple(frame.columns)
    assert len(sheet) - 1 == len(frame)
    for cells, values in zip(sheet[1:], frame.itertuples(index=False), strict=True):
        assert len(cells) == len(values)
        assert all(same(c, v) for c, v in zip(cells, values, strict=True)), cells[:3]


def test_differences_significant_column(folder: Path, book: Any) -> None:
    frame = pd.read_csv(folder / "differences.csv")
    sheet = rows(book["Differences"])
    assert sheet[0] == (*frame.columns, "significant")
    assert len(sheet) - 1 == len(frame) > 0
    for cells, (_, r) in zip(sheet[1:], frame.iterrows(), strict=True):
        assert all(same(c, v) for c, v in zip(cells, r, strict=False))
        expected = None if pd.isna(r.ci_low) else bool(r.ci_low > 0 or r.ci_high < 0)
        assert cells[-1] is expected, (r.contract, r.metric)


def test_assumptions_and_about(folder: Path, book: Any) -> None:
    table = assumptions(load_scenario(folder / "scenario.resolved.yaml"))
    sheet = rows(book["Assumptions"])
    assert sheet[0] == ("section", "parameter", "meaning", "value", "unit")
    assert len(sheet) - 1 == len(table)
    key = rows(book["Key assumptions"])
    assert key[0] == ("topic", "assumption")
    assert key[1:] == list(
        key_assumptions(load_scenario(folder / "scenario.resolved.yaml")).itertuples(index=False)
    )
    about = " ".join(str(v) for row in rows(book["About"]) for v in row if v is not None)
    assert "95% confidence interval" in about and str(folder.resolve()) in about


def test_every_sheet_prints_on_a4_landscape_with_its_headers(book: Any) -> None:
    for ws in book.worksheets:
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 and ws.page_setup.orientation == "landscape"
        # Every table prints one page wide, so no column is cut off onto a page of its own.
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert book["Summary"].print_title_rows == "$1:$4" and book["Summary"].print_title_cols == "$A:$A"
    assert book["Replications"].print_title_rows == "$1:$1"
    assert book["Assumptions"].print_title_cols == "$A:$A"  # frozen at C2: the section column repeats


def test_wrapped_text_gets_rows_tall_enough(book: Any) -> None:
    about = book["About"]
    ci = next(r for r in range(1, about.max_row + 1) if about.cell(r, 1).value == "95% confidence interval")
    text = str(about.cell(ci, 2).value)
    # 100 characters wide: the note on intervals takes several lines, and its row is at least that tall.
    assert about.row_dimensions[ci].height >= 15 * (len(text) // 120 + 1)
    summary = book["Summary"]
    assert all("[" not in str(summary.cell(r, 2).value) for r in range(5, summary.max_row + 1))


def test_incentives_only_folder(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "scenario.resolved.yaml").write_text(
        (folder / "scenario.resolved.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    pd.DataFrame({"contract": ["a"], "welfare_loss": [1.5]}).to_csv(
        tmp_path / "misalignment.csv", index=False
    )
    book = openpyxl.load_workbook(write_workbook(tmp_path, tmp_path / "out.xlsx"))
    assert book.sheetnames == ["Incentives", "Key assumptions", "Assumptions", "About"]
    assert rows(book["Incentives"]) == [("contract", "welfare_loss"), ("a", 1.5)]


def test_no_results_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="msp-sim run SCENARIO") as info:
        write_workbook(tmp_path, tmp_path / "out.xlsx")
    assert str(tmp_path) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_leaves_nothing(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Any, filename: str) -> None:
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        write_workbook(folder, tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []
