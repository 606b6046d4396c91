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
from .tables import RUN_ROWS

__all__ = ["metric_label", "per_month", "write_workbook"]

OPTIONAL = (
    ("Benchmarks", "benchmarks.csv"),
    ("Risk", "risk.csv"),
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


def write_workbook(folder: Path | str | list[Path], target: Path | str) -> Path:
    """Write the results in ``folder`` (from ``msp-sim run``, ``incentives`` or ``transition``), or in each of a
    list of such folders, as an Excel workbook at ``target``, atomically: the file appears complete or not at all.
    Several folders get one group of sheets each, named after the folder, and a Contents sheet first."""
    folders = [Path(f) for f in folder] if isinstance(folder, list) else [Path(folder)]
    target = Path(target)
    for f in folders:
        _check(f)
    wb = Workbook()
    wb.remove(wb.active)
    prefixes = _prefixes(folders) if len(folders) > 1 else [""]
    if len(folders) > 1:
        _contents(wb.create_sheet("Contents"), folders, prefixes)
    for f, prefix in zip(folders, prefixes, strict=True):
        _folder_sheets(wb, f, target, prefix)
    for ws in wb.worksheets:
        _row_heights(ws)
        _print_setup(ws)
    return _save(wb, target)


def _check(folder: Path) -> None:
    has_run = (folder / "summary.csv").is_file()
    optional = [name for _, name in OPTIONAL if (folder / name).is_file()]
    if not (has_run or optional) or not (folder / "scenario.resolved.yaml").is_file():
        raise FileNotFoundError(
            f"{folder} is not a results folder (no summary.csv, incentive or transition tables with "
            "scenario.resolved.yaml); `msp-sim run SCENARIO` writes one."
        )


_LONGEST_SHEET = max(
    len(n)
    for n in (
        "Summary",
        "Replications",
        "Differences",
        "Key assumptions",
        "Assumptions",
        "About",
        *(s for s, _ in OPTIONAL),
    )
)


def _prefixes(folders: list[Path]) -> list[str]:
    """A short, unique prefix per folder for its sheets: the folder's name without the characters Excel refuses
    in a sheet name, cut so that prefix and sheet name fit Excel's 31 characters."""
    room = 31 - _LONGEST_SHEET - 1
    out: list[str] = []
    for f in folders:
        base = re.sub(r"[\[\]:*?/\\']", "", f.name).strip() or "results"
        name, i = base[:room], 2
        while name in out:
            tail = f"~{i}"
            name, i = base[: room - len(tail)] + tail, i + 1
        out.append(name)
    return out


def _contents(ws: Any, folders: list[Path], prefixes: list[str]) -> None:
    """The Contents sheet of a workbook of several folders: each folder, its scenario and its sheets' prefix."""
    ws["A1"] = "Contents: one group of sheets per results folder"
    ws["A1"].font = Font(bold=True, size=13)
    _header(ws, 3, ["sheets starting with", "folder", "scenario"])
    for r, (f, prefix) in enumerate(zip(folders, prefixes, strict=True), 4):
        ws.cell(row=r, column=1, value=prefix)
        ws.cell(row=r, column=2, value=str(f.resolve()))
        ws.cell(row=r, column=3, value=load_scenario(f / "scenario.resolved.yaml").name)
    for col, width in zip("ABC", (24, 80, 30), strict=True):
        ws.column_dimensions[col].width = width


def _folder_sheets(wb: Any, folder: Path, target: Path, prefix: str) -> None:
    """One folder's sheets, each name after ``prefix``."""

    def sheet(name: str) -> Any:
        return wb.create_sheet(f"{prefix} {name}" if prefix else name)

    has_run = (folder / "summary.csv").is_file()
    optional = [(name, folder / file) for name, file in OPTIONAL if (folder / file).is_file()]
    scenario = load_scenario(folder / "scenario.resolved.yaml")
    replications, seed = _replications_and_seed(folder, scenario)
    unstable: list[Unstable] | None = None
    if has_run:
        summary = read_csv(folder / "summary.csv")
        unstable = unstable_contracts(scenario, summary)
        _summary(sheet("Summary"), summary, scenario, replications, seed, unstable)
        for name, file in (("Replications", "replications.csv"), ("Differences", "differences.csv")):
            if (folder / file).is_file():
                frame = read_csv(folder / file)
                if name == "Differences":
                    frame["significant"] = [
                        _significant(lo, hi) for lo, hi in zip(frame.ci_low, frame.ci_high, strict=True)
                    ]
                _table(sheet(name), frame, freeze="B2")
    for name, path in optional:
        _table(sheet(name), read_csv(path), freeze="B2")
    _table(
        sheet("Key assumptions"), key_assumptions(scenario), freeze="B2", wrap=("assumption",), wrap_width=110
    )
    _table(sheet("Assumptions"), assumptions(scenario), freeze="C2", wrap=("meaning", "value"))
    _about(sheet("About"), wb, folder, target, scenario, replications, seed, unstable, prefix)


def _print_setup(ws: Any) -> None:
    """Print on A4 landscape, one page wide (so a printed table is never cut between columns), with the header
    rows (and first column) repeated on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
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


_LABELS = {metric: label for metric, label, _ in RUN_ROWS}
_PER_MONTH_HOURS = ("downtime_user_hours", "technician_hours_worked", "prevention_hours")


def metric_label(metric: str) -> str:
    """A metric's name for people: the comparison table's label, else its id in words."""
    return _LABELS.get(metric) or metric.replace("_", " ").capitalize()


def per_month(metric: str) -> bool:
    """Whether a metric is a total over the measured months that the Summary shows per month: money, counts,
    and hours worked or lost (not a stock such as the backlog at the end, nor a figure already per month)."""
    unit = _unit(metric)
    return unit in ("currency", "count") or metric in _PER_MONTH_HOURS


def _summary(
    ws: Any,
    summary: pd.DataFrame,
    scenario: Scenario,
    replications: int | None,
    seed: int,
    unstable: list[Unstable],
) -> None:
    """The Summary sheet: one row per metric, its mean and 95% CI per contract from summary.csv, money, counts and
    hours worked or lost per month (the totals divided by the measured months), under readable names; the id of
    each metric in the last column; the note under the title names the contracts whose queue does not keep up."""
    months = scenario.measured_months
    ws["A1"] = (
        f"{scenario.name}: {replications} replications, {months} measured months, {scenario.currency}, seed {seed}"
    )
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        f"Money, counts and hours worked or lost are per month (the totals over the {months} measured months are "
        "in the Replications sheet and the CSV files); each value is the mean over replications with its 95% "
        "confidence interval."
        + (
            f" Not keeping up with their work (see About, Queues): "
            f"{', '.join(scenario.label_of(u.contract) for u in unstable)}."
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
    last = 4 + 3 * len(contracts)
    for i, contract in enumerate(contracts):
        col = 4 + 3 * i
        _header(ws, 3, [scenario.label_of(contract)], start=col)
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + 2)
        ws.cell(row=3, column=col).alignment = Alignment(horizontal="center")
        _header(ws, 4, ["mean", "95% CI low", "95% CI high"], start=col)
    _header(ws, 4, ["id"], start=last)
    for r, metric in enumerate(metrics, 5):
        monthly = per_month(metric)
        unit = _unit(metric).replace("currency", scenario.currency) + (" per month" if monthly else "")
        description = _UNIT.sub("", METRICS.get(metric, "")).strip()  # the unit has its own column
        label = metric_label(metric) + (" per month" if monthly else "")
        for c, text in enumerate((label, description, unit), 1):
            ws.cell(row=r, column=c, value=text)
        ws.cell(row=r, column=2).alignment = _WRAP
        scale = months if monthly else 1
        for i, contract in enumerate(contracts):
            found = rows.get((contract, metric))
            for j, stat in enumerate(("mean", "ci_low", "ci_high")):
                value = _value(getattr(found, stat, None))
                cell = ws.cell(
                    row=r, column=4 + 3 * i + j, value=value / scale if value is not None else None
                )
                cell.number_format = (
                    FORMATS["hours"] if monthly and _kind(metric) == "count" else _format(metric)
                )
        ws.cell(row=r, column=last, value=metric)
    label_width = max(len(metric_label(m)) + (10 if per_month(m) else 0) for m in [*metrics]) + 2
    widths = [max(label_width, 8), 60, 22] + [14] * (3 * len(contracts)) + [max(len(m) for m in metrics) + 2]
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "B5"
    ws.auto_filter.ref = f"A4:{get_column_letter(len(widths))}{4 + len(metrics)}"


def _about(
    ws: Any,
    wb: Any,
    folder: Path,
    target: Path,
    scenario: Scenario,
    replications: int | None,
    seed: int,
    unstable: list[Unstable] | None,
    prefix: str,
) -> None:
    """The About sheet: what the workbook is, the run it comes from, whether each contract's queue keeps up (for
    a run) and how to read the intervals."""
    # Inside the folder: say so, as `msp-sim run` writes the workbook while the folder still has a temporary name.
    inside = "the folder holding this workbook"
    lines = [
        (
            "What this is",
            f"Results of the msp-sim IT-support economics simulator, one sheet per table: "
            f"{', '.join(s for s in wb.sheetnames if s.startswith(prefix) and s != ws.title)}.",
        ),
        ("Scenario", f"{scenario.name}" + (f": {scenario.description}" if scenario.description else "")),
        ("Seed", seed),
        ("Replications", replications if replications is not None else "not recorded in the folder"),
        (
            "Measured months",
            f"{scenario.measured_months} (warm-up months left out: {scenario.warmup_months})",
        ),
        ("Currency", scenario.currency),
        (
            "Units",
            "The Summary sheet shows money, counts and hours worked or lost per month (each total over the measured "
            "months divided by their number, as the report does); the Replications and Differences sheets and "
            "the CSV files hold the totals over the measured months.",
        ),
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
