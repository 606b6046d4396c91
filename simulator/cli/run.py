"""``msp-sim run``, ``report``, ``validate`` and ``schema``: one scenario compared over replications, its report,
its check, and the file reference."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from simulator.outputs.tables import RISK_ROWS, RUN_ROWS, format_number, shown_per_month

from .common import (
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
    stepper,
    workers_option,
    written,
)


def _table(results: Any) -> Table:
    s = results.scenario
    table = Table(
        title=f"{s.name}: {results.table('incidents')['n'].iloc[0]} replications × {s.measured_months} months "
        f"(money, incidents and tickets per month, money in {s.currency}; mean ± 95% CI half-width)",
        title_justify="left",
    )
    table.add_column("metric")
    for name in results.contracts:
        table.add_column(escape(s.label_of(name)), justify="right")
    for metric, label, unit in RUN_ROWS:
        t = results.table(metric)
        shown_label, shown, scale = shown_per_month(metric, label, unit, s.measured_months)
        cells = []
        for name in results.contracts:
            r = t.loc[name]
            if isinstance(r["mean"], float) and math.isnan(r["mean"]):
                cells.append("–")
            else:
                half = (r["ci_high"] - r["ci_low"]) / 2 / scale
                cells.append(f"{format_number(r['mean'] / scale, shown)} ± {format_number(half, shown)}")
        table.add_row(shown_label, *cells)
    return table


def _risk_table(results: Any) -> Table:
    """How a year's client cost and provider profit spread under each contract (risk.csv), money per year."""
    from simulator.studies.risk import risk_table

    s = results.scenario
    risk = risk_table(results)
    years = int(risk["years"].min())
    table = Table(
        title=f"Risk in a year ({years} years of the replications; money per year in {s.currency}; the worst "
        "years are the dearest for the client, the least profitable for the provider)",
        title_justify="left",
    )
    table.add_column("figure")
    for name in results.contracts:
        table.add_column(escape(s.label_of(name)), justify="right")
    for _, group in risk.groupby("party", sort=False):
        rows = group.set_index("contract")
        for column, label in RISK_ROWS:
            if column == "certainty_equivalent" and rows[column].isna().all():
                continue
            table.add_row(
                f"{rows['measure'].iloc[0]}: {label}",
                *(format_number(float(rows.loc[name, column]), "money") for name in results.contracts),
            )
    return table


_MARK = {"below": "▼", "above": "▲", "within": "✓"}


def _benchmark_table(results: Any, panel: Any) -> Table:
    """The benchmark panel: each figure per contract with ✓ inside its industry range, ▼ below or ▲ above it (the
    range shown), no mark where the industry has no norm, – where the run has no value, "(assumed)" where the
    figure is an input."""
    table = Table(
        title="Industry benchmarks (means over replications; ✓ within the range, ▼ below, ▲ above; ranges and "
        "their sources in benchmarks.csv)",
        title_justify="left",
    )
    table.add_column("figure")
    for name in results.contracts:
        table.add_column(escape(results.scenario.label_of(name)), justify="right")
    for _, rows in panel.groupby("figure", sort=False):
        cells = []
        for name in results.contracts:
            r = rows[rows["contract"] == name].iloc[0]
            unit = str(r["unit"])
            if r["flag"] == "not measured":
                cells.append("–")
                continue
            cell = format_number(float(r["mean"]), unit)
            if r["flag"] == "within":
                cell += " [green]✓[/]"
            elif r["flag"] == "assumed":
                cell += " (assumed)"
            elif r["flag"] in _MARK:
                span = f"{format_number(float(r['low']), unit)}–{format_number(float(r['high']), unit)}"
                cell += f" [bold yellow]{_MARK[str(r['flag'])]}[/] ({span})"
            cells.append(cell)
        table.add_row(str(rows["label"].iloc[0]), *cells)
    return table


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@replications_option()
@seed_option
@workers_option(1)
@set_option
@out_option("")
@click.option("--tickets", is_flag=True, help="Also write the full ticket log as tickets.parquet.")
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write report.html (one self-contained file for the client) and results.xlsx.",
)
@click.option(
    "--title",
    default=None,
    help="Title of report.html with --report (default: 'IT support options: <scenario>').",
)
@click.option(
    "--no-verdict",
    is_flag=True,
    help="Skip the switching values, the fee window and the verdict's tornado (verdict.csv, pricing.csv): faster.",
)
@force_option
def run(
    scenario: str,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
    tickets: bool,
    with_report: bool,
    title: str | None,
    no_verdict: bool,
    force: bool,
) -> None:
    """Run SCENARIO: compare its contracts over replications, find how far the verdict holds (the switching
    values of its decisive inputs, the fee window) and write results, charts and tables."""
    from simulator.outputs.folders import write_results
    from simulator.studies.estimate import estimate_run
    from simulator.studies.run import simulate

    sc = resolved(load(scenario, overrides), replications, seed)
    n = sc.replications
    # One contract has no verdict to test: nothing to compare it with.
    with_verdict = sc.robustness.enabled and not no_verdict and len(sc.contracts) > 1
    sized(
        estimate_run(sc, n, workers, tickets, _verdict_size(sc, n) if with_verdict else (0, 0)),
        "fewer replications (--replications), a shorter horizon (--set horizon_months=N), fewer clients"
        + (", or one worker process (--workers 1)" if workers != 1 else "")
        + (", or leave out --tickets" if tickets else "")
        + (", or skip the verdict (--no-verdict)" if with_verdict else ""),
        force,
    )
    folder = results_folder(out, sc)
    claim(folder)
    with progress_bar() as progress:
        task = progress.add_task(f"simulating {sc.name}", total=n)
        results = simulate(
            sc,
            replications=n,
            seed=seed,
            workers=workers,
            tickets=tickets,
            progress=lambda: progress.advance(task),
            invoices=True,
        )
    verdict = None
    if with_verdict:
        from simulator.studies.verdict import analyze_verdict

        with progress_bar() as progress:
            task = progress.add_task("switching values", total=None)
            verdict = analyze_verdict(
                results,
                workers=workers,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    from simulator.outputs.folders import run_steps
    from simulator.studies.benchmarks import benchmark_panel

    panel = benchmark_panel(results)
    earlier = earlier_reports(folder)
    with progress_bar() as bar:
        total = run_steps(results, verdict) + (2 if with_report else 0)
        task = bar.add_task("writing", total=total)
        step = stepper(bar, task, "writing")

        extra = None
        if with_report:
            from simulator.outputs.report import write_report
            from simulator.outputs.workbook import write_workbook

            def extra(tmp: Path) -> None:
                step("the report")
                write_report(tmp, tmp / "report.html", title)
                step("the workbook")
                write_workbook(tmp, tmp / "results.xlsx")

        written(
            folder,
            lambda: write_results(
                results, folder, tickets=tickets, extra=extra, benchmarks=panel, verdict=verdict, step=step
            ),
        )
        bar.update(task, completed=total, description="writing")
    say_replaced(folder, earlier, with_report)
    console.print(_table(results))
    console.print(_benchmark_table(results, panel))
    console.print(_risk_table(results))
    from simulator.metrics import unstable_contracts

    for unstable in unstable_contracts(results.scenario, results.summary):
        console.print(f"[bold yellow]{escape(unstable.note)}[/]", soft_wrap=True)  # one line each
    _findings(results, verdict)
    console.print(
        f"Results written to [cyan]{folder}[/]: summary.csv, replications.csv, differences.csv, monthly.csv, "
        "benchmarks.csv, risk.csv, scenario.resolved.yaml, ticket_times.csv, invoices.csv"
        f"{', verdict.csv, pricing.csv' if verdict is not None else ''}, comparison/revenue/service"
        f"{'/verdict' if verdict is not None else ''}.png/.svg"
        f"{', tickets.parquet' if tickets else ''}{', report.html, results.xlsx' if with_report else ''}"
    )


def _verdict_size(scenario: Any, replications: int) -> tuple[int, int]:
    """The contract simulations the verdict adds (without a switch inside a re-simulated range, at most), its
    inputs checked first: a bad path or range ends the command
    (exit 2, nothing written)."""
    from simulator.config import ScenarioError
    from simulator.studies.verdict import verdict_simulations

    try:
        return verdict_simulations(scenario, replications)
    except ScenarioError as exc:
        fail(str(exc))
        raise  # unreachable


def _findings(results: Any, verdict: Any) -> None:
    """The findings in the order a reader weighs them: which contract uses the fewest real resources, the fee
    window of each managed contract, what the client saves at the quoted fees, and how far that holds."""
    from simulator.outputs.charts import (
        efficiency_headline,
        fee_window_sentence,
        headline,
        switching_sentence,
    )

    s = results.scenario
    console.print(f"[bold]{escape(efficiency_headline(results))}.[/]", soft_wrap=True)
    if verdict is not None:
        for row in verdict.pricing.to_dict("records"):
            console.print(f"{escape(fee_window_sentence(row, s))}.", soft_wrap=True)
    console.print(f"[bold]{escape(headline(results))}.[/]", soft_wrap=True)
    if verdict is not None and len(verdict.table):
        for question in ("client", "social"):
            console.print(
                f"{escape(switching_sentence(verdict.table, s, question, brief=True))}.", soft_wrap=True
            )


@click.command()
@click.argument("folder", metavar="RESULTS_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The HTML file to write (default: RESULTS_DIR/report.html).",
)
@click.option(
    "--xlsx",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write an Excel workbook (summary, replications, differences, assumptions) to this file.",
)
@click.option("--title", default=None, help="Report title (default: 'IT support options: <scenario>').")
@click.option(
    "--audience",
    type=click.Choice(["full", "client", "provider"]),
    default="full",
    show_default=True,
    help="client: the version to hand to the client, without the provider's revenue, costs, profit and margins; "
    "provider: everything, led by the provider's findings and the pricing.",
)
def report(folder: Path, out: Path | None, xlsx: Path | None, title: str | None, audience: str) -> None:
    """Write one self-contained HTML report (charts inline, prints to PDF) from RESULTS_DIR: a folder written by
    run, incentives, transition or sweep, or a folder holding several of them (e.g. results/)."""
    from simulator.base.files import OutputError, check_file_target
    from simulator.outputs.report import ReportError, find_results, write_report
    from simulator.outputs.workbook import write_workbook

    target = out or folder / "report.html"
    if audience == "client" and xlsx is not None:
        fail(
            "--xlsx with --audience client: the workbook holds every figure, the provider's included, so it is "
            "not made for the client; leave out --xlsx, or make it in a separate `msp-sim report` without "
            "--audience client."
        )
    try:
        check_file_target(target, "--out")
        if xlsx is not None:
            check_file_target(xlsx, "--xlsx")
    except OutputError as exc:
        fail(str(exc), exc.exit_code)
    try:
        found = find_results(folder)
    except ReportError as exc:
        fail(str(exc))
        raise  # unreachable
    if audience == "client" and not any(kind == "run" for kind, _ in found):
        fail(
            f"--audience client: {folder} holds no results of `msp-sim run`; the client's version of a report shows "
            "run comparisons only (incentives, transitions and sweeps are the provider's)."
        )
    if xlsx is not None and not any(kind != "sweep" for kind, _ in found):
        fail(f"--xlsx: {folder} holds only sweep results; the workbook is made from a run's results folder.")
    with progress_bar() as bar:
        total = len(found) + (xlsx is not None)
        task = bar.add_task("rendering", total=total)
        step = stepper(bar, task, "rendering")

        written(target.parent, lambda: write_report(folder, target, title, audience, step))
        if xlsx is not None:
            sources = [path for kind, path in found if kind != "sweep"]
            step("the workbook")
            written(xlsx.parent, lambda: write_workbook(sources, xlsx))
        bar.update(task, completed=total, description="rendering")
    kinds = ", ".join(f"{kind} ({path.name})" for kind, path in found)
    console.print(f"Report written to [cyan]{escape(str(target))}[/] from {escape(kinds)}.")
    if xlsx is not None:
        held = [f"{kind} ({path.name})" for kind, path in found if kind != "sweep"]
        left = [f"{kind} ({path.name})" for kind, path in found if kind == "sweep"]
        console.print(
            f"Workbook written to [cyan]{escape(str(xlsx))}[/] from {escape(', '.join(held))}"
            + (
                f"; left out: {escape(', '.join(left))} (the workbook holds runs, incentives and transitions)"
                if left
                else ""
            )
            + ".",
            soft_wrap=True,
        )


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@set_option
def validate(scenario: str, overrides: tuple[str, ...]) -> None:
    """Check SCENARIO without running it."""
    sc = load(scenario, overrides)
    clients = sum(c.count for c in sc.clients)
    users = sum(c.count * c.users for c in sc.clients)
    console.print(
        f"{escape(scenario)}: valid. '{escape(sc.name)}': {clients:,} clients, {users:,} users, "
        f"{len(sc.incidents.categories)} incident categories, contracts: "
        f"{escape(', '.join(c.name for c in sc.contracts))}.",
        soft_wrap=True,
    )
    from simulator.studies.estimate import estimate_run

    estimate = estimate_run(
        sc,
        sc.replications,
        1,
        verdict=_verdict_size(sc, sc.replications)
        if sc.robustness.enabled and len(sc.contracts) > 1
        else (0, 0),
    )
    fits = "fits in" if estimate.fits() else "does not fit in"
    console.print(
        f"`msp-sim run` would take {escape(estimate.describe())}; that {fits} this machine's memory.",
        soft_wrap=True,
    )


@click.command()
@click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON Schema instead of the readable reference."
)
def schema(as_json: bool) -> None:
    """Print the scenario file reference (every field, its unit and default)."""
    from simulator.config.schema import json_schema, reference

    click.echo(json_schema() if as_json else reference())
