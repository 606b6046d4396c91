"""An Excel workbook of a results folder: summary, replications, differences, assumptions, for spreadsheet users."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.utils.cell import coordinate_from_string  # type: ignore[import-untyped]

from simulator.base.files import atomic_file, read_csv
from simulator.config import Scenario, load_scenario
from simulator.metrics import METRICS, Unstable, unstable_contracts

from .assumptions import assumptions, key_assumptions

__all__ = ["write_workbook"]

OPTIONAL = (
    ("Benchmarks", "benchmarks.csv"),
    ("Incentives", "misalignment.csv"),
    ("Best response", "best_response.csv"),
    ("Transition", "transition_summary.csv"),
)
"""Sheets written when their file is in the folder (incentives and transition folders), in this order."""

FORMATS = {"money": "#,##0", "share": "0.0%", "ratio": "0.000", "hours": "#,##0.0", "count": "#,##0"}
"""Excel number format of each kind of metric."""

_BOLD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_UNIT = re.compile(r"\[([^\]]+)\]\s*$")
_STATS = ("mean", "std", "ci_low", "ci_high")


def write_workbook(folder: Path | str, target: Path | str) -> Path:
    """Write the results in ``folder`` (from ``msp-sim run``, ``incentives`` or ``transition``) as an Excel
    workbook at ``target``, atomically: the file appears complete or not at all."""
    folder, target = Path(folder), Path(target)
    has_run = (folder / "summary.csv").is_file()
    optional = [(sheet, folder / name) for sheet, name in OPTIONAL if (folder / name).is_file()]
    if not (has_run or optional) or not (folder / "scenario.resolved.yaml").is_file():
        raise FileNotFoundError(
            f"{folder} is not a results folder (no summary.csv, incentive or transition tables with "
            "scenario.resolved.yaml); `msp-sim run SCENARIO` writes one."
        )
    scenario = load_scenario(folder / "scenario.resolved.yaml")
    replications, seed = _replications_and_seed(folder, scenario)
    wb = Workbook()
    wb.remove(wb.active)
    unstable: list[Unstable] | None = None
    if has_run:
        summary = read_csv(folder / "summary.csv")
        unstable = unstable_contracts(scenario, summary)
        _summary(wb, summary, scenario, replications, seed, unstable)
        for sheet, name in (("Replications", "replications.csv"), ("Differences", "differences.csv")):
            if (folder / name).is_file():
                frame = read_csv(folder / name)
                if sheet == "Differences":
                    frame["significant"] = [
                        _significant(lo, hi) for lo, hi in zip(frame.ci_low, frame.ci_high, strict=True)
                    ]
                _table(wb.create_sheet(sheet), frame, freeze="B2")
    for sheet, path in optional:
        _table(wb.create_sheet(sheet), read_csv(path), freeze="B2")
    _table(
        wb.create_sheet("Key assumptions"),
        key_assumptions(scenario),
        freeze="B2",
        wrap=("assumption",),
        wrap_width=110,
    )
    _table(wb.create_sheet("Assumptions"), assumptions(scenario), freeze="C2", wrap=("meaning", "value"))
    _about(wb, folder, target, scenario, replications, seed, unstable)
    for ws in wb.worksheets:
        _row_heights(ws)
        _print_setup(ws)
    return _save(wb, target)


PRINT_FIT_COLUMNS = 14
"""Sheets with at most this many columns print one page wide; wider ones (Replications) keep their size."""


def _print_setup(ws: Any) -> None:
    """Print on A4 landscape with the header rows (and first column) repeated on every page; narrow sheets are
    fitted to one page wide so a printed table is never cut between columns."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    if ws.max_column <= PRINT_FIT_COLUMNS:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    if ws.freeze_panes:
        column, row = coordinate_from_string(ws.freeze_panes)
        if row > 1:
            ws.print_title_rows = f"1:{row - 1}"
        if column != "A":
            ws.print_title_cols = "A:A"
    ws.print_options.gridLines = False
    ws.oddFooter.center.text = "&A, page &P of &N"


def _save(wb: Any, target: Path) -> Path:
    """Save atomically (a temporary file beside ``target``, then renamed), marked as the tool's and with every
    user text stored as text: a name such as ``=1+1`` is never a formula."""
    wb.properties.creator = "msp-sim"
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":  # openpyxl reads any text starting with "=" as a formula
                    cell.data_type = "s"
    return atomic_file(target, wb.save, sync=False)


def _replications_and_seed(folder: Path, scenario: Scenario) -> tuple[int | None, int]:
    """Replications and seed actually used, read from the tables (command-line overrides are not in the YAML)."""
    reps = folder / "replications.csv"
    if reps.is_file():
        frame = read_csv(reps, usecols=["replication", "seed"])
        seeds = frame["seed"].unique()
        return int(frame["replication"].nunique()), int(seeds[0]) if len(seeds) == 1 else scenario.seed
    for name in ("summary.csv", "transition_summary.csv"):
        if (folder / name).is_file():
            return int(read_csv(folder / name, usecols=["n"])["n"].max()), scenario.seed
    if (folder / "evaluations.parquet").is_file():
        evaluations = pd.read_parquet(folder / "evaluations.parquet", columns=["replication"])
        return int(evaluations["replication"].nunique()), scenario.seed
    return None, scenario.seed


def _unit(metric: str) -> str:
    """The unit in brackets at the end of a metric's description ('' when unknown)."""
    match = _UNIT.search(METRICS.get(metric, ""))
    return match.group(1) if match else ""


def _kind(metric: str) -> str:
    """How a metric's numbers are written: money, share, ratio, hours, count or '' (general)."""
    unit = _unit(metric)
    if unit == "share" or metric.endswith(("_margin", "compliance", "utilization")):
        return "share"
    if unit == "ratio" or metric.endswith("_cv"):
        return "ratio"
    if unit.startswith("currency"):
        return "money"
    if "hours" in unit:
        return "hours"
    return "count" if unit == "count" else ""


def _format(metric: str) -> str:
    """The number format of a metric, or of a column named after one (``<metric>_ci_low`` and the like)."""
    return FORMATS.get(_kind(re.sub(r"(_ci)?_(low|high)$", "", metric)), "General")


def _significant(low: float, high: float) -> bool | None:
    """Whether a confidence interval excludes 0 (None when there is no interval)."""
    if math.isnan(low) or math.isnan(high):
        return None
    return bool(low > 0 or high < 0)


def _value(value: Any) -> Any:
    """A table value as Excel takes it: Python scalars, missing values as empty cells."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value


def _header(ws: Any, row: int, labels: list[str], start: int = 1) -> None:
    """Write a bold, filled header row."""
    for col, label in enumerate(labels, start):
        cell = ws.cell(row=row, column=col, value=label)
        cell.font, cell.fill = _BOLD, _FILL


def _widths(ws: Any, frame: pd.DataFrame, wrap: tuple[str, ...] = (), wrap_width: int = 60) -> None:
    """Set each column's width from its header and contents (wrapped columns get a fixed wide one)."""
    for col, name in enumerate(frame.columns, 1):
        shown = [f"{v:,.2f}" if isinstance(v, float) else str(v) for v in frame[name].head(200).dropna()]
        longest = max([len(str(name)), *map(len, shown)])
        width = wrap_width if name in wrap else min(max(longest + 2, 8), 45)
        ws.column_dimensions[get_column_letter(col)].width = width


LINE_HEIGHT = 15.0
"""Points per line of text; Excel's default row height."""


def _row_heights(ws: Any) -> None:
    """Give rows with wrapped text the height of their longest cell, as neither openpyxl nor every spreadsheet
    program sizes them on opening (LibreOffice draws the lines over the next row)."""
    for r in range(1, ws.max_row + 1):
        lines = 1
        for cell in ws[r]:
            if cell.value is None or not (cell.alignment and cell.alignment.wrap_text):
                continue
            width = ws.column_dimensions[cell.column_letter].width or 8.43
            # A unit of column width is one digit; running text fits about 1.15 characters into it.
            lines = max(lines, math.ceil(len(str(cell.value)) / max(width * 1.15 - 2, 1)))
        if lines > 1:
            ws.row_dimensions[r].height = LINE_HEIGHT * lines
            for cell in ws[r]:  # the row's other cells line up with the first line of the wrapped one
                if not (cell.alignment and cell.alignment.wrap_text):
                    cell.alignment = Alignment(vertical="top")


def _table(
    ws: Any, frame: pd.DataFrame, freeze: str, wrap: tuple[str, ...] = (), wrap_width: int = 60
) -> None:
    """Write a table as is: header, rows, number formats by metric, frozen header, autofilter."""
    columns = [str(c) for c in frame.columns]
    _header(ws, 1, columns)
    by_row = "metric" in columns
    for r, row in enumerate(frame.itertuples(index=False), 2):
        values = dict(zip(columns, row, strict=True))
        for c, name in enumerate(columns, 1):
            cell = ws.cell(row=r, column=c, value=_value(values[name]))
            if isinstance(cell.value, float | int) and not isinstance(cell.value, bool):
                metric = str(values["metric"]) if by_row and name in _STATS else name
                cell.number_format = _format(metric)
            if name in wrap:
                cell.alignment = _WRAP
    _widths(ws, frame, wrap, wrap_width)
    ws.freeze_panes = freeze
    ws.auto_filter.ref = ws.dimensions


def _summary(
    wb: Any,
    summary: pd.DataFrame,
    scenario: Scenario,
    replications: int | None,
    seed: int,
    unstable: list[Unstable],
) -> None:
    """The Summary sheet: one row per metric, mean and 95% CI per contract, as stored in summary.csv; the note
    under the title names the contracts whose queue does not keep up."""
    ws = wb.create_sheet("Summary")
    ws["A1"] = (
        f"{scenario.name}: {replications} replications, {scenario.measured_months} measured months, "
        f"{scenario.currency}, seed {seed}"
    )
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        "Money and count metrics are totals over the measured months unless the unit says per month; each "
        "value is the mean over replications with its 95% confidence interval."
        + (
            f" Not keeping up with their work (see About, Queues): {', '.join(u.contract for u in unstable)}."
            if unstable
            else ""
        )
    )
    present = list(dict.fromkeys(summary["contract"]))
    contracts = [c.name for c in scenario.contracts if c.name in present]
    contracts += [c for c in present if c not in contracts]
    listed = set(summary["metric"])
    metrics = [m for m in METRICS if m in listed] + [
        m for m in dict.fromkeys(summary["metric"]) if m not in METRICS
    ]
    rows = {(str(r.contract), str(r.metric)): r for r in summary.itertuples(index=False)}
    _header(ws, 4, ["metric", "description", "unit"])
    for i, contract in enumerate(contracts):
        col = 4 + 3 * i
        _header(ws, 3, [contract], start=col)
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + 2)
        ws.cell(row=3, column=col).alignment = Alignment(horizontal="center")
        _header(ws, 4, ["mean", "95% CI low", "95% CI high"], start=col)
    for r, metric in enumerate(metrics, 5):
        unit = _unit(metric).replace("currency", scenario.currency)
        description = _UNIT.sub("", METRICS.get(metric, "")).strip()  # the unit has its own column
        for c, text in enumerate((metric, description, unit), 1):
            ws.cell(row=r, column=c, value=text)
        ws.cell(row=r, column=2).alignment = _WRAP
        for i, contract in enumerate(contracts):
            found = rows.get((contract, metric))
            for j, stat in enumerate(("mean", "ci_low", "ci_high")):
                cell = ws.cell(row=r, column=4 + 3 * i + j, value=_value(getattr(found, stat, None)))
                cell.number_format = _format(metric)
    widths = [max(len(m) for m in [*metrics, "metric"]) + 2, 60, 18] + [14] * (3 * len(contracts))
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "B5"
    ws.auto_filter.ref = f"A4:{get_column_letter(len(widths))}{4 + len(metrics)}"


def _about(
    wb: Any,
    folder: Path,
    target: Path,
    scenario: Scenario,
    replications: int | None,
    seed: int,
    unstable: list[Unstable] | None,
) -> None:
    """The About sheet: what the workbook is, the run it comes from, whether each contract's queue keeps up (for
    a run) and how to read the intervals."""
    ws = wb.create_sheet("About")
    # Inside the folder: say so, as `msp-sim run` writes the workbook while the folder still has a temporary name.
    inside = "the folder holding this workbook"
    lines = [
        (
            "What this is",
            f"Results of the msp-sim IT-support economics simulator, one sheet per table: "
            f"{', '.join(s for s in wb.sheetnames if s != 'About')}.",
        ),
        ("Scenario", f"{scenario.name}" + (f": {scenario.description}" if scenario.description else "")),
        ("Seed", seed),
        ("Replications", replications if replications is not None else "not recorded in the folder"),
        (
            "Measured months",
            f"{scenario.measured_months} (warm-up months left out: {scenario.warmup_months})",
        ),
        ("Currency", scenario.currency),
        *(
            [
                (
                    "Queues",
                    "\n".join(u.note for u in unstable)
                    or "Every contract keeps up: its offered load (work arriving / on-duty hours of the pool) is "
                    "below 1 and it ends the horizon at most a month of on-duty hours behind.",
                )
            ]
            if unstable is not None
            else []
        ),
        (
            "95% confidence interval",
            "A Student-t interval over the independent replications: a range that would cover the long-run "
            "mean in 95% of such runs. It measures the simulation's randomness only, not uncertainty in the "
            "scenario's inputs. Contracts are simulated on common random numbers (the same incidents in each "
            f"replication), so the differences against {scenario.reference} are paired; a difference is "
            "significant when its interval excludes 0.",
        ),
        ("Source folder", inside if target.parent.resolve() == folder.resolve() else str(folder.resolve())),
    ]
    ws["A1"] = "About this workbook"
    ws["A1"].font = Font(bold=True, size=13)
    for r, (label, value) in enumerate(lines, 3):
        ws.cell(row=r, column=1, value=label).font = _BOLD
        ws.cell(row=r, column=2, value=value).alignment = Alignment(
            wrap_text=True, vertical="top", horizontal="left"
        )
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
