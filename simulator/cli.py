"""The command line: ``msp-sim run | validate | schema`` (also ``python -m simulator``)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .config import Scenario, ScenarioError, load_scenario

__all__ = ["main"]

err = Console(stderr=True, highlight=False)
console = Console(highlight=False)

TABLE_ROWS = (
    ("client_fees", "Client fees", "money"),
    ("client_downtime_cost", "Client downtime cost", "money"),
    ("client_total_cost", "Client total cost", "money"),
    ("provider_revenue", "Provider revenue", "money"),
    ("provider_cost", "Provider cost", "money"),
    ("provider_profit", "Provider profit", "money"),
    ("revenue_monthly_cv", "Revenue CV (monthly)", "ratio"),
    ("downtime_hours_per_user_year", "Downtime h/user-year", "hours"),
    ("incidents", "Incidents", "count"),
    ("tickets", "Tickets", "count"),
    ("mean_response_hours", "Mean response (bh)", "hours"),
    ("mean_resolution_hours", "Mean resolution (bh)", "hours"),
    ("sla_compliance", "SLA compliance", "share"),
    ("sla_credits", "SLA credits", "money"),
    ("technician_utilization", "Technician utilisation", "share"),
)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def _load(path: str, overrides: tuple[str, ...]) -> Scenario:
    try:
        return load_scenario(path, list(overrides))
    except ScenarioError as exc:
        _fail(str(exc))
        raise  # unreachable


def _fmt(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "money":
        size = abs(value)
        if size >= 1e6:
            return f"{value / 1e6:,.2f}M"
        if size >= 1e4:
            return f"{value / 1e3:,.1f}k"
        return f"{value:,.0f}"
    if unit in ("share", "ratio"):
        return f"{value:.1%}" if unit == "share" else f"{value:.3f}"
    if unit == "hours":
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _table(results: Any) -> Table:
    s = results.scenario
    table = Table(
        title=f"{s.name}: {results.table('incidents')['n'].iloc[0]} replications × {s.measured_months} months "
        f"(totals in {s.currency}; mean ± 95% CI half-width)",
        title_justify="left",
    )
    table.add_column("metric")
    for name in results.contracts:
        table.add_column(name, justify="right")
    for metric, label, unit in TABLE_ROWS:
        t = results.table(metric)
        cells = []
        for name in results.contracts:
            r = t.loc[name]
            if isinstance(r["mean"], float) and math.isnan(r["mean"]):
                cells.append("–")
            else:
                half = (r["ci_high"] - r["ci_low"]) / 2
                cells.append(f"{_fmt(r['mean'], unit)} ± {_fmt(half, unit)}")
        table.add_row(label, *cells)
    return table


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="msp-sim")
def main() -> None:
    """Simulate IT-support economics: break/fix time and materials, fixed price per job, managed services."""


_set = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set contracts.managed-services.fee_per_user_month=120 "
    "(list items by index or name). Repeatable.",
)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--replications",
    "-r",
    type=click.IntRange(min=2),
    default=None,
    help="Replications (default: the scenario's).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's).")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Worker processes; 0 = all cores. Results do not depend on it.",
)
@_set
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: results/<scenario name>).",
)
@click.option("--tickets", is_flag=True, help="Also write the full ticket log as tickets.parquet.")
def run(
    scenario: str,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
    tickets: bool,
) -> None:
    """Run SCENARIO: compare its contracts over replications and write results, charts and tables."""
    from .outputs import write_results
    from .runner import simulate

    sc = _load(scenario, overrides)
    n = replications or sc.replications
    folder = out or Path("results") / sc.name
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(f"simulating {sc.name}", total=n)
        results = simulate(
            sc,
            replications=n,
            seed=seed,
            workers=workers,
            tickets=tickets,
            progress=lambda: progress.advance(task),
        )
    try:
        write_results(results, folder, tickets=tickets)
    except OSError as exc:
        _fail(
            f"could not write results to {folder}: {exc.strerror or exc}. Nothing was written; "
            "choose another --out folder or free some space.",
            code=1,
        )
    console.print(_table(results))
    from .report import headline

    console.print(f"[bold]{headline(results)}.[/]")
    console.print(
        f"Results written to [cyan]{folder}[/]: summary.csv, replications.csv, differences.csv, monthly.csv, "
        f"scenario.resolved.yaml, comparison.png/.svg{', tickets.parquet' if tickets else ''}"
    )


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@_set
def validate(scenario: str, overrides: tuple[str, ...]) -> None:
    """Check SCENARIO without running it."""
    sc = _load(scenario, overrides)
    clients = sum(c.count for c in sc.clients)
    users = sum(c.count * c.users for c in sc.clients)
    console.print(
        f"{scenario}: valid. '{sc.name}': {clients} clients, {users} users, "
        f"{len(sc.incidents.categories)} incident categories, contracts: "
        f"{', '.join(c.name for c in sc.contracts)}."
    )


@main.command()
@click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON Schema instead of the readable reference."
)
def schema(as_json: bool) -> None:
    """Print the scenario file reference (every field, its unit and default)."""
    from .schema import json_schema, reference

    click.echo(json_schema() if as_json else reference())
