"""``msp-sim transition``: the provider's portfolio month by month under each migration strategy."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from simulator.outputs.tables import (
    TRANSITION_ROWS,
    format_number,
    strategy_differences,
    valuation_note,
)

from .common import (
    chosen,
    claim,
    console,
    earlier_reports,
    fail,
    force_option,
    load,
    out_option,
    progress_bar,
    replications_option,
    resolved,
    results_folder,
    say_replaced,
    seed_option,
    set_option,
    sized,
    workers_option,
    written,
)


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--strategies",
    default=None,
    metavar="LIST",
    help="Comma-separated strategy names from the scenario's portfolio (default: all).",
)
@replications_option()
@seed_option
@workers_option(0)
@set_option
@out_option("-transition")
@force_option
def transition(
    scenario: str,
    strategies: str | None,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
    force: bool,
) -> None:
    """Follow the provider's portfolio month by month under each migration strategy (break/fix to managed)."""
    from simulator.outputs.folders import write_transition
    from simulator.studies.estimate import estimate_transition
    from simulator.studies.transition import simulate_transition

    sc = load(scenario, overrides)
    if sc.portfolio is None:
        fail(
            f"{scenario}: no `portfolio:` section; add one (starting clients, strategies, churn, sales, hiring) "
            "to run a transition — see scenarios/transition.yaml and `msp-sim schema`."
        )
    assert sc.portfolio is not None
    known = [s.name for s in sc.portfolio.strategies]
    picked = chosen(strategies, known, "--strategies", "unknown strategy", "the scenario defines")
    sc = resolved(sc, replications, seed)
    n = sc.replications
    sized(
        estimate_transition(sc, len(picked or known), n, workers),
        "fewer replications (--replications), fewer strategies (--strategies) or a shorter horizon "
        "(--set horizon_months=N)",
        force,
    )
    folder = results_folder(out, sc, "-transition")
    claim(folder)
    with progress_bar() as progress:
        task = progress.add_task(f"portfolio {sc.name}", total=n)
        result = simulate_transition(
            sc,
            list(picked) if picked else None,
            replications=n,
            seed=seed,
            workers=workers,
            progress=lambda: progress.advance(task),
        )
    earlier = earlier_reports(folder)
    written(folder, lambda: write_transition(result, folder))
    say_replaced(folder, earlier, False)
    console.print(_transition_table(result))
    differences = strategy_differences(result.scenario)
    if differences:
        console.print(differences, markup=False)
    console.print(
        f"Results written to [cyan]{folder}[/]: transition_monthly.csv, transition_summary.csv, "
        "transition.png/.svg, scenario.resolved.yaml"
    )


def _transition_table(result: Any) -> Table:
    s = result.scenario
    n = int(result.monthly["replication"].nunique())
    table = Table(
        title=f"{s.name}: portfolio over {s.horizon_months} months, {n} replications "
        f"({s.currency}; mean ± 95% CI half-width)",
        title_justify="left",
        caption=valuation_note(s) or None,
        caption_justify="left",
    )
    table.add_column("metric")
    for name in result.strategies:
        table.add_column(name, justify="right")
    summary = result.summary.set_index(["strategy", "metric"])
    for metric, label, unit in TRANSITION_ROWS:
        if (result.strategies[0], metric) not in summary.index:
            continue
        cells = []
        for name in result.strategies:
            r = summary.loc[(name, metric)]
            if not math.isfinite(r["mean"]):
                cells.append("–")
            elif math.isfinite(r["ci_high"]):
                half = (r["ci_high"] - r["ci_low"]) / 2
                cells.append(f"{format_number(r['mean'], unit)} ± {format_number(half, unit)}")
            else:
                cells.append(format_number(r["mean"], unit))
        table.add_row(label, *cells)
    return table
