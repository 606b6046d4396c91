"""Writing a run's results folder atomically: everything appears at once, or nothing does."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .config import Scenario, dump_scenario, load_scenario
from .incentives import IncentiveResults
from .runner import Results
from .transition import TransitionResults

__all__ = [
    "RUN_FILES",
    "atomic_dir",
    "read_incentives",
    "read_results",
    "read_scenario",
    "read_transition",
    "save_figure",
    "write_incentives",
    "write_results",
    "write_transition",
]

RUN_FILES = ("summary.csv", "replications.csv", "differences.csv", "monthly.csv", "scenario.resolved.yaml")
"""What ``msp-sim run`` writes besides charts: a folder holding these is a run's results folder."""


@contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out``, on any failure it is removed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_figure(fig: Any, stem: Path, dpi: int) -> None:
    """Save a figure as ``stem``.png and ``stem``.svg, then free it."""
    import matplotlib.pyplot as plt

    fig.savefig(stem.with_suffix(".png"), dpi=dpi, bbox_inches="tight")
    fig.savefig(stem.with_suffix(".svg"), bbox_inches="tight")
    plt.close(fig)


def write_results(
    results: Results, out: Path, tickets: bool = False, extra: Callable[[Path], None] | None = None
) -> Path:
    """Write CSVs, the resolved scenario, the charts and (optionally) the ticket log into ``out``; ``extra`` may
    add files (a report) to the folder before it appears."""
    from .charts import comparison_figure, revenue_figure, service_figure

    with atomic_dir(Path(out)) as tmp:
        results.replications.to_csv(tmp / "replications.csv", index=False)
        results.summary.to_csv(tmp / "summary.csv", index=False)
        results.differences.to_csv(tmp / "differences.csv", index=False)
        results.monthly.to_csv(tmp / "monthly.csv", index=False)
        if results.times is not None:
            results.times.to_csv(tmp / "ticket_times.csv", index=False)
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(results.scenario), encoding="utf-8")
        save_figure(comparison_figure(results), tmp / "comparison", dpi=130)
        save_figure(revenue_figure(results), tmp / "revenue", dpi=130)
        if results.times is not None:
            save_figure(service_figure(results), tmp / "service", dpi=110)
        if tickets and results.tickets is not None:
            results.tickets.to_parquet(tmp / "tickets.parquet", index=False)
        if extra is not None:
            extra(tmp)
    return Path(out)


def write_incentives(incentives: IncentiveResults, out: Path) -> Path:
    """Write the incentive tables, every evaluation, the resolved scenario and the charts into ``out``."""
    from .charts import incentives_figure

    with atomic_dir(Path(out)) as tmp:
        incentives.best_response.to_csv(tmp / "best_response.csv", index=False)
        incentives.misalignment.to_csv(tmp / "misalignment.csv", index=False)
        incentives.curves.to_csv(tmp / "curves.csv", index=False)
        incentives.design.to_csv(tmp / "design.csv", index=False)
        incentives.evaluations.to_parquet(tmp / "evaluations.parquet", index=False)
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(incentives.scenario), encoding="utf-8")
        fig = incentives_figure(incentives)
        save_figure(fig, tmp / "incentives", dpi=120)
    return Path(out)


def write_transition(transition: TransitionResults, out: Path) -> Path:
    """Write the monthly table, the summary, the resolved scenario and the charts into ``out``."""
    from .charts import transition_figure

    with atomic_dir(Path(out)) as tmp:
        transition.monthly.to_csv(tmp / "transition_monthly.csv", index=False)
        transition.summary.to_csv(tmp / "transition_summary.csv", index=False)
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(transition.scenario), encoding="utf-8")
        fig = transition_figure(transition)
        save_figure(fig, tmp / "transition", dpi=110)
    return Path(out)


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
        replications=pd.read_csv(folder / "replications.csv"),
        monthly=pd.read_csv(folder / "monthly.csv"),
        times=pd.read_csv(times) if times.is_file() else None,
    )
    results.summary = pd.read_csv(folder / "summary.csv")
    results.differences = pd.read_csv(folder / "differences.csv")
    return results


def read_incentives(folder: Path) -> IncentiveResults:
    """An incentives results folder as :class:`IncentiveResults`."""
    folder = Path(folder)
    return IncentiveResults(
        scenario=read_scenario(folder),
        evaluations=pd.read_parquet(folder / "evaluations.parquet"),
        best_response=pd.read_csv(folder / "best_response.csv"),
        misalignment=pd.read_csv(folder / "misalignment.csv"),
        curves=pd.read_csv(folder / "curves.csv"),
        design=pd.read_csv(folder / "design.csv"),
    )


def read_transition(folder: Path) -> TransitionResults:
    """A transition results folder as :class:`TransitionResults`."""
    folder = Path(folder)
    return TransitionResults(
        scenario=read_scenario(folder),
        monthly=pd.read_csv(folder / "transition_monthly.csv"),
        summary=pd.read_csv(folder / "transition_summary.csv"),
    )
