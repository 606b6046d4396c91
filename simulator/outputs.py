"""Writing a run's results folder atomically: everything appears at once, or nothing does."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import dump_scenario
from .incentives import IncentiveResults
from .runner import Results
from .transition import TransitionResults

__all__ = ["atomic_dir", "save_figure", "write_incentives", "write_results", "write_transition"]


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
    """Write CSVs, the resolved scenario, the comparison chart and (optionally) the ticket log into ``out``."""
    from .report import comparison_figure

    with atomic_dir(Path(out)) as tmp:
        results.replications.to_csv(tmp / "replications.csv", index=False)
        results.summary.to_csv(tmp / "summary.csv", index=False)
        results.differences.to_csv(tmp / "differences.csv", index=False)
        results.monthly.to_csv(tmp / "monthly.csv", index=False)
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(results.scenario), encoding="utf-8")
        fig = comparison_figure(results)
        save_figure(fig, tmp / "comparison", dpi=130)
        if tickets and results.tickets is not None:
            results.tickets.to_parquet(tmp / "tickets.parquet", index=False)
        if extra is not None:
            extra(tmp)
    return Path(out)


def write_incentives(incentives: IncentiveResults, out: Path) -> Path:
    """Write the incentive tables, every evaluation, the resolved scenario and the charts into ``out``."""
    from .report import incentives_figure

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
    from .report import transition_figure

    with atomic_dir(Path(out)) as tmp:
        transition.monthly.to_csv(tmp / "transition_monthly.csv", index=False)
        transition.summary.to_csv(tmp / "transition_summary.csv", index=False)
        (tmp / "scenario.resolved.yaml").write_text(dump_scenario(transition.scenario), encoding="utf-8")
        fig = transition_figure(transition)
        save_figure(fig, tmp / "transition", dpi=110)
    return Path(out)
