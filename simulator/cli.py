"""The command line: ``msp-sim run | validate | schema`` (also ``python -m simulator``)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
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
@click.option(
    "--levers",
    default=None,
    metavar="LIST",
    help="Comma-separated levers to search (default: all): prevention_hours_per_endpoint_month, "
    "technicians, monitoring, thoroughness. The others stay at each contract's policy value.",
)
@click.option(
    "--replications",
    "-r",
    type=click.IntRange(min=2),
    default=None,
    help="Replications per lever setting (default: incentives.replications, else the scenario's).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's).")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker processes; 0 = all cores. Results do not depend on it.",
)
@_set
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: results/<scenario name>-incentives).",
)
def incentives(
    scenario: str,
    levers: str | None,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
) -> None:
    """Find what each contract makes the provider do (its best response), what the client and society would
    prefer, and the cost of the gap."""
    from .incentives import LEVERS, analyze_incentives
    from .outputs import write_incentives

    sc = _load(scenario, overrides)
    chosen = None
    if levers:
        chosen = tuple(x.strip() for x in levers.split(",") if x.strip())
        unknown = [x for x in chosen if x not in LEVERS]
        if unknown:
            _fail(f"--levers: unknown lever(s) {', '.join(unknown)}; choose from {', '.join(LEVERS)}.")
    folder = out or Path("results") / f"{sc.name}-incentives"
    with err.status("searching levers...") as status:
        result = analyze_incentives(
            sc,
            replications=replications,
            seed=seed,
            workers=workers,
            levers=chosen,
            progress=lambda msg: status.update(msg),
        )
    try:
        write_incentives(result, folder)
    except OSError as exc:
        _fail(
            f"could not write results to {folder}: {exc.strerror or exc}. Nothing was written; "
            "choose another --out folder or free some space.",
            code=1,
        )
    console.print(_incentive_table(result))
    design = result.design
    if not design.empty:
        for name, group in design.groupby("contract", sort=False):
            rec = group[group["recommended"]]
            if rec.empty:
                console.print(
                    f"[bold]{name}[/]: no credit level tried gives a fee both sides prefer to break/fix."
                )
            else:
                r = rec.iloc[0]
                console.print(
                    f"[bold]{name}[/]: closest to the social optimum with both sides better off than break/fix: "
                    f"{r['scheme']} credit {r['credit']:g}, fee {r['fee_min']:.0f}–{r['fee_max']:.0f} per user-month "
                    f"(provider then picks {r['prevention_hours_per_endpoint_month']:.2f} h prevention, "
                    f"{r['technicians']} technicians)."
                )
    console.print(
        f"{result.incidents_simulated:,} incidents simulated. Results written to [cyan]{folder}[/]: "
        "best_response.csv, misalignment.csv, curves.csv, design.csv, evaluations.parquet, "
        "incentives.png/.svg, scenario.resolved.yaml"
    )


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--strategies",
    default=None,
    metavar="LIST",
    help="Comma-separated strategy names from the scenario's portfolio (default: all).",
)
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
    default=0,
    show_default=True,
    help="Worker processes; 0 = all cores. Results do not depend on it.",
)
@_set
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: results/<scenario name>-transition).",
)
def transition(
    scenario: str,
    strategies: str | None,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
) -> None:
    """Follow the provider's portfolio month by month under each migration strategy (break/fix to managed)."""
    from .outputs import write_transition
    from .transition import simulate_transition

    sc = _load(scenario, overrides)
    if sc.portfolio is None:
        _fail(
            f"{scenario}: no `portfolio:` section; add one (starting clients, strategies, churn, sales, hiring) "
            "to run a transition — see scenarios/transition.yaml and `msp-sim schema`."
        )
    assert sc.portfolio is not None
    known = [s.name for s in sc.portfolio.strategies]
    chosen = [x.strip() for x in strategies.split(",") if x.strip()] if strategies else None
    unknown = [x for x in chosen or [] if x not in known]
    if unknown:
        _fail(
            f"--strategies: unknown strategy {', '.join(unknown)}; the scenario defines {', '.join(known)}."
        )
    n = replications or sc.replications
    folder = out or Path("results") / f"{sc.name}-transition"
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(f"portfolio {sc.name}", total=n)
        result = simulate_transition(
            sc, chosen, replications=n, seed=seed, workers=workers, progress=lambda: progress.advance(task)
        )
    try:
        write_transition(result, folder)
    except OSError as exc:
        _fail(
            f"could not write results to {folder}: {exc.strerror or exc}. Nothing was written; "
            "choose another --out folder or free some space.",
            code=1,
        )
    console.print(_transition_table(result))
    console.print(
        f"Results written to [cyan]{folder}[/]: transition_monthly.csv, transition_summary.csv, "
        "transition.png/.svg, scenario.resolved.yaml"
    )


TRANSITION_ROWS = (
    ("lowest_cash", "Lowest cumulative cash", "money"),
    ("lowest_cash_month", "… in month", "hours"),
    ("payback_month", "Catches up with stay (month)", "hours"),
    ("final_cash", "Cumulative cash at the end", "money"),
    ("profit_year_1", "Profit year 1", "money"),
    ("profit_year_2", "Profit year 2", "money"),
    ("profit_year_3", "Profit year 3", "money"),
    ("mrr_share_last_12", "Recurring share, last 12 m", "share"),
    ("revenue_cv_last_12", "Revenue CV, last 12 m", "ratio"),
    ("churned_clients", "Clients churned", "hours"),
    ("won_clients", "Clients won", "hours"),
    ("final_technicians", "Technicians at the end", "hours"),
    ("client_downtime_per_user_year", "Client downtime h/user-year", "hours"),
)


def _transition_table(result: Any) -> Table:
    s = result.scenario
    n = int(result.monthly["replication"].nunique())
    table = Table(
        title=f"{s.name}: portfolio over {s.horizon_months} months, {n} replications "
        f"({s.currency}; mean ± 95% CI half-width)",
        title_justify="left",
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
            if not np.isfinite(r["mean"]):
                cells.append("–")
            elif np.isfinite(r["ci_high"]):
                cells.append(f"{_fmt(r['mean'], unit)} ± {_fmt((r['ci_high'] - r['ci_low']) / 2, unit)}")
            else:
                cells.append(_fmt(r["mean"], unit))
        table.add_row(label, *cells)
    return table


def _incentive_table(result: Any) -> Table:
    s = result.scenario
    table = Table(
        title=f"{s.name}: incentives (totals over {s.measured_months} months, {s.currency})",
        title_justify="left",
    )
    for col in (
        "contract",
        "levers: provider's choice → social optimum",
        "welfare loss [95% CI]",
        "extra downtime",
        "profit / incident",
    ):
        table.add_column(col, justify="left" if col.startswith(("contract", "levers")) else "right")
    best = result.best_response.set_index(["contract", "role"])
    for _, m in result.misalignment.iterrows():
        br, so = best.loc[(m["contract"], "provider")], best.loc[(m["contract"], "social")]
        levers = (
            f"prev {br['prevention_hours_per_endpoint_month']:.2f}→{so['prevention_hours_per_endpoint_month']:.2f} h, "
            f"techs {br['technicians']}→{so['technicians']}, "
            f"RMM {'on' if br['monitoring'] else 'off'}→{'on' if so['monitoring'] else 'off'}, "
            f"k {br['thoroughness']:.2f}→{so['thoroughness']:.2f}"
        )
        loss = (
            f"{_fmt(m['welfare_loss'], 'money')} [{_fmt(m['welfare_loss_ci_low'], 'money')}, "
            f"{_fmt(m['welfare_loss_ci_high'], 'money')}]"
        )
        table.add_row(
            m["contract"],
            levers,
            loss,
            f"{m['extra_downtime_user_hours']:,.0f} user-h",
            f"{m['marginal_profit_per_incident']:,.0f}",
        )
    return table


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
