"""Writing a command's results folder atomically (everything appears at once, or nothing does), and reading it
back. The folder rules (what may be replaced, locks, permissions) live in :mod:`simulator.base.files`."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.base.files import atomic_dir, read_csv, write_csv
from simulator.config import Scenario, dump_scenario, load_scenario
from simulator.studies.analysis import SweepAnalysis
from simulator.studies.benchmarks import benchmark_panel
from simulator.studies.calibration.results import TABLES, CalibrationResults
from simulator.studies.incentives import IncentiveResults
from simulator.studies.risk import risk_table
from simulator.studies.run import Results
from simulator.studies.transition import TransitionResults
from simulator.studies.verdict import Verdict

from .money import DEFAULT_LOCALE

__all__ = [
    "INVOICE_TEXT",
    "RUN_FILES",
    "ChartWarning",
    "atomic_dir",
    "draw_charts",
    "read_calibration",
    "read_incentives",
    "read_invoices",
    "read_results",
    "read_scenario",
    "read_transition",
    "read_verdict",
    "run_steps",
    "save_figure",
    "write_analysis",
    "write_calibration",
    "write_incentives",
    "write_results",
    "write_transition",
]

RUN_FILES = ("summary.csv", "replications.csv", "differences.csv", "monthly.csv", "scenario.resolved.yaml")
"""What ``msp-sim run`` writes besides charts: a folder holding these is a run's results folder."""


INVOICE_TEXT = ("contract", "item", "category", "unit")
"""The text columns of invoices.csv: an empty cell is empty text (a category named ``NA`` stays a name); the
quantity and unit price of a line without a quantity are NaN."""


class ChartWarning(UserWarning):
    """A chart could not be drawn; the folder holds every table, and the other charts."""


def save_figure(fig: Any, stem: Path, dpi: int) -> None:
    """Save a figure as ``stem``.png and ``stem``.svg, then free it."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(stem.with_suffix(".png"), dpi=dpi, bbox_inches="tight")
        fig.savefig(stem.with_suffix(".svg"), bbox_inches="tight")
    finally:
        plt.close(fig)


Chart = tuple[str, Callable[[], Any], int]
"""A chart to draw: file stem, a function making the figure, PNG resolution."""


Step = Callable[[str], None]
"""Told the name of each step of a long write as it starts (the command line shows it)."""


def draw_charts(folder: Path, charts: list[Chart], step: Step | None = None) -> list[str]:
    """Draw each chart into ``folder``. The tables are written first, so a chart that fails loses no numbers: it
    is left out with a :class:`ChartWarning` (its message says which and why) and the others are drawn. Returns
    the stems drawn."""
    import matplotlib.pyplot as plt

    drawn = []
    for stem, make, dpi in charts:
        if step is not None:
            step(f"the {stem} chart")
        try:
            save_figure(make(), folder / stem, dpi)
        except Exception as exc:
            plt.close("all")
            for suffix in (".png", ".svg"):
                (folder / stem).with_suffix(suffix).unlink(missing_ok=True)
            warnings.warn(
                f"the {stem} chart could not be drawn ({type(exc).__name__}: {exc}); every table is written",
                ChartWarning,
                stacklevel=2,
            )
        else:
            drawn.append(stem)
    return drawn


def write_results(
    results: Results,
    out: Path,
    tickets: bool = False,
    extra: Callable[[Path], None] | None = None,
    benchmarks: pd.DataFrame | None = None,
    verdict: Verdict | None = None,
    step: Step | None = None,
) -> Path:
    """Write CSVs, the resolved scenario, the charts and (optionally) the ticket log into ``out``; ``extra`` may
    add files (a report) to the folder before it appears; ``benchmarks`` is the run's benchmark panel when the
    caller has it already; ``verdict`` adds verdict.csv, pricing.csv and the verdict's tornado; ``step`` is told
    each step as it starts (see :func:`run_steps` for how many there are)."""
    from .charts import comparison_figure, revenue_figure, service_figure, verdict_figure
    from .charts.style import run_source

    with atomic_dir(Path(out), "run") as tmp:
        if step is not None:
            step("the tables")
        write_csv(results.replications, tmp / "replications.csv")
        write_csv(results.summary, tmp / "summary.csv")
        write_csv(results.differences, tmp / "differences.csv")
        write_csv(results.monthly, tmp / "monthly.csv")
        if results.times is not None:
            write_csv(results.times, tmp / "ticket_times.csv")
        if results.invoices is not None:
            write_csv(results.invoices, tmp / "invoices.csv")
        write_csv(benchmark_panel(results) if benchmarks is None else benchmarks, tmp / "benchmarks.csv")
        write_csv(risk_table(results), tmp / "risk.csv")
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(results.scenario), encoding="utf-8")
        if tickets and results.tickets is not None:
            results.tickets.to_parquet(tmp / "tickets.parquet", index=False)
        charts: list[Chart] = [
            ("comparison", lambda: comparison_figure(results), 130),
            ("revenue", lambda: revenue_figure(results), 130),
        ]
        if results.times is not None:
            charts.append(("service", lambda: service_figure(results), 110))
        if verdict is not None:
            write_csv(verdict.table, tmp / "verdict.csv")
            write_csv(verdict.pricing, tmp / "pricing.csv")
            charts.append(
                ("verdict", lambda: verdict_figure(verdict.table, results.scenario, run_source(results)), 130)
            )
        draw_charts(tmp, charts, step)
        if extra is not None:
            extra(tmp)
    return Path(out)


def run_steps(results: Results, verdict: Verdict | None) -> int:
    """How many steps :func:`write_results` tells: the tables and each chart."""
    return 1 + 2 + (results.times is not None) + (verdict is not None)


def write_incentives(incentives: IncentiveResults, out: Path) -> Path:
    """Write the incentive tables, every evaluation, the resolved scenario and the charts into ``out``."""
    from .charts import incentives_figure

    with atomic_dir(Path(out), "incentives") as tmp:
        write_csv(incentives.best_response, tmp / "best_response.csv")
        write_csv(incentives.misalignment, tmp / "misalignment.csv")
        write_csv(incentives.curves, tmp / "curves.csv")
        write_csv(incentives.design, tmp / "design.csv")
        if incentives.search is not None:
            write_csv(incentives.search, tmp / "search.csv")
        if incentives.cost_bases is not None:
            write_csv(incentives.cost_bases, tmp / "cost_bases.csv")
        incentives.evaluations.to_parquet(tmp / "evaluations.parquet", index=False)
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(incentives.scenario), encoding="utf-8")
        draw_charts(tmp, [("incentives", lambda: incentives_figure(incentives), 120)])
    return Path(out)


def write_transition(transition: TransitionResults, out: Path) -> Path:
    """Write the monthly table, the summary, the resolved scenario and the charts into ``out``."""
    from .charts import transition_figure

    with atomic_dir(Path(out), "transition") as tmp:
        write_csv(transition.monthly, tmp / "transition_monthly.csv")
        write_csv(transition.summary, tmp / "transition_summary.csv")
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(transition.scenario), encoding="utf-8")
        draw_charts(tmp, [("transition", lambda: transition_figure(transition), 110)])
    return Path(out)


def write_analysis(analysis: SweepAnalysis, currency: str, out: Path, locale: str = DEFAULT_LOCALE) -> Path:
    """Write a sweep's analysis (outcomes, sensitivity, tornado and break-even tables and charts) into ``out``."""
    from .charts import break_even_figure, tornado_figure

    be, tor = analysis.break_even, analysis.tornado
    with atomic_dir(Path(out), "analysis") as tmp:
        write_csv(analysis.outcomes, tmp / "outcomes.csv")
        write_csv(analysis.sensitivity, tmp / "sensitivity.csv")
        write_csv(tor, tmp / "tornado.csv")
        saving = tor[tor["outcome"] == "client_saving"]
        charts: list[Chart] = [
            (
                "tornado",
                lambda: tornado_figure(
                    saving, currency, analysis.contract, analysis.reference, analysis.source, locale
                ),
                130,
            )
        ]
        if be is not None:
            write_csv(be.to_df(), tmp / "break_even.csv")
            charts.append(("break_even", lambda: break_even_figure(be, source=analysis.source), 130))
        draw_charts(tmp, charts)
    return Path(out)


CALIBRATION_FILES = ("calibration.json", "rates.csv", "calibrated.yaml")
"""What ``msp-sim calibrate`` writes besides tables and charts: a folder holding these is a calibration."""


def write_calibration(
    results: CalibrationResults, scenario_text: str, out: Path, report: Callable[[Path], object] | None = None
) -> Path:
    """Write a calibration into ``out``: the calibrated scenario (``calibrated.yaml``, as written for the user,
    and resolved), every table, the facts (calibration.json), the charts and, with ``report``, its report
    (``report(tmp)`` writes it into the folder being built)."""
    import json

    from .charts import calibration_charts

    with atomic_dir(Path(out), "calibration") as tmp:
        (tmp / "calibrated.yaml").write_text(scenario_text, encoding="utf-8")
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(results.scenario), encoding="utf-8")
        for name in TABLES:
            write_csv(getattr(results, name), tmp / f"{name}.csv")
        (tmp / "calibration.json").write_text(
            json.dumps(results.meta, indent=2, default=str), encoding="utf-8"
        )
        draw_charts(tmp, calibration_charts(results))
        if report is not None:
            report(tmp)
    return Path(out)


def read_calibration(folder: Path) -> CalibrationResults:
    """A calibration's results read back from its folder."""
    import json

    folder = Path(folder)
    text = {
        "tickets": ("ticket", "client", "category", "parent"),
        "rates": ("note",),
        "parts_cost": ("family",),
    }
    tables = {}
    for name in TABLES:
        tables[name] = read_csv(
            folder / f"{name}.csv",
            keep_default_na=False,
            na_values=[""],
            dtype=dict.fromkeys(text.get(name, ()), str),
        )
        for column in text.get(name, ()):
            if column in tables[name]:
                tables[name][column] = (
                    tables[name][column].astype(object).where(tables[name][column].notna(), "")
                )
    t = tables["tickets"]
    for column in ("created", "resolved", "responded"):
        t[column] = pd.to_datetime(t[column])
    meta = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
    return CalibrationResults(scenario=read_scenario(folder), meta=meta, **tables)


def read_scenario(folder: Path) -> Scenario:
    """The resolved scenario stored in a results folder."""
    return load_scenario(Path(folder) / "scenario.resolved.yaml")


def read_results(folder: Path) -> Results:
    """A run's results folder as :class:`Results`; the summary is the stored one, number for number."""
    folder = Path(folder)
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a results folder of `msp-sim run` (missing {', '.join(missing)})"
        )
    times = folder / "ticket_times.csv"
    results = Results(
        scenario=read_scenario(folder),
        replications=read_csv(folder / "replications.csv"),
        monthly=read_csv(folder / "monthly.csv"),
        times=read_csv(times) if times.is_file() else None,
        invoices=read_invoices(folder),
    )
    results.summary = read_csv(folder / "summary.csv")
    results.differences = read_csv(folder / "differences.csv")
    return results


def read_invoices(folder: Path) -> pd.DataFrame | None:
    """The invoice lines of a run's results folder (invoices.csv), or None when it has none."""
    path = Path(folder) / "invoices.csv"
    if not path.is_file():
        return None
    return read_csv(
        path,
        keep_default_na=False,
        na_values={"quantity": [""], "unit_price": [""]},
        dtype={c: str for c in INVOICE_TEXT},
    )


def read_incentives(folder: Path) -> IncentiveResults:
    """An incentives results folder as :class:`IncentiveResults`."""
    folder = Path(folder)
    return IncentiveResults(
        scenario=read_scenario(folder),
        evaluations=pd.read_parquet(folder / "evaluations.parquet"),
        best_response=read_csv(folder / "best_response.csv"),
        misalignment=read_csv(folder / "misalignment.csv"),
        curves=read_csv(folder / "curves.csv"),
        design=read_csv(folder / "design.csv"),
        search=read_csv(folder / "search.csv") if (folder / "search.csv").is_file() else None,
        cost_bases=read_csv(folder / "cost_bases.csv") if (folder / "cost_bases.csv").is_file() else None,
    )


def read_transition(folder: Path) -> TransitionResults:
    """A transition results folder as :class:`TransitionResults`."""
    folder = Path(folder)
    return TransitionResults(
        scenario=read_scenario(folder),
        monthly=read_csv(folder / "transition_monthly.csv"),
        summary=read_csv(folder / "transition_summary.csv"),
    )


def read_verdict(folder: Path) -> Verdict | None:
    """A run folder's verdict (verdict.csv and pricing.csv), or None when the run has none."""
    folder = Path(folder)
    if not (folder / "verdict.csv").is_file():
        return None
    pricing = folder / "pricing.csv"
    return Verdict(
        scenario=read_scenario(folder),
        table=read_csv(folder / "verdict.csv"),
        pricing=read_csv(pricing) if pricing.is_file() else pd.DataFrame(),
    )
