"""The command line: ``msp-sim run | validate | schema`` (also ``python -m simulator``)."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from simulator.base.files import default_out
from simulator.config import Scenario, ScenarioError, load_scenario
from simulator.outputs.tables import RUN_ROWS, TRANSITION_ROWS, format_number

__all__ = ["main"]

PIPED_WIDTH = 120
"""Line width when the output is not a terminal (a file, a pipe, a CI log) and COLUMNS is not set."""

err = Console(stderr=True, highlight=False)
console = Console(highlight=False)

def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


def _load(path: str, overrides: tuple[str, ...]) -> Scenario:
    try:
        return load_scenario(path, list(overrides))
    except ScenarioError as exc:
        _fail(str(exc))
        raise  # unreachable


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
    for metric, label, unit in RUN_ROWS:
        t = results.table(metric)
        cells = []
        for name in results.contracts:
            r = t.loc[name]
            if isinstance(r["mean"], float) and math.isnan(r["mean"]):
                cells.append("–")
            else:
                half = (r["ci_high"] - r["ci_low"]) / 2
                cells.append(f"{format_number(r['mean'], unit)} ± {format_number(half, unit)}")
        table.add_row(label, *cells)
    return table


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="msp-sim")
def main() -> None:
    """Simulate IT-support economics: break/fix time and materials, fixed price per job, managed services."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # charts are written to files, never shown
    if "COLUMNS" not in os.environ:  # into a file or a log: tables as wide as they need, not rich's 80 columns
        for c in (console, err):
            if not c.is_terminal:
                c.width = PIPED_WIDTH


_set = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set contracts.managed-services.fee_per_user_month=120 "
    "(list items by index or name). Repeatable.",
)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

_seed = click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Seed (default: the scenario's)."
)


def _workers(default: int) -> Decorator:
    """The --workers option; results never depend on it."""
    return click.option(
        "--workers",
        "-w",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        help="Worker processes; 0 = all cores. Results do not depend on it.",
    )


def _out(suffix: str) -> Decorator:
    """The --out option of a command whose default folder is results/<scenario name><suffix>."""
    return click.option(
        "--out",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Results folder (default: results/<scenario name>{suffix}).",
    )


def _resolved(sc: Scenario, replications: int | None, seed: int | None) -> Scenario:
    """The scenario with --replications and --seed written in, so that scenario.resolved.yaml reruns the run."""
    update: dict[str, int] = {}
    if replications is not None:
        update["replications"] = replications
    if seed is not None:
        update["seed"] = seed
    return sc.model_copy(update=update) if update else sc


_force = click.option(
    "--force",
    is_flag=True,
    help="Start even if the job's estimated peak memory is more than this machine has available.",
)


def _sized(estimate: Any, shrink: str, force: bool) -> None:
    """Say how big a long job is before it starts; refuse one whose peak memory would not fit (exit 2, nothing
    written) unless --force."""
    if not estimate.fits():
        if not force:
            _fail(estimate.refusal(shrink))
        err.print(f"[yellow]warning:[/] {escape(estimate.describe())}; started anyway (--force).", soft_wrap=True)
    elif estimate.announce:
        err.print(f"{escape(estimate.describe())}.", soft_wrap=True)


def _claim(folder: Path) -> None:
    """Claim the results folder for this command before any work starts: refuse a folder the tool may not
    replace (exit 2, nothing touched), turn away a second writer (exit 1), hold the lock until the command ends."""
    from simulator.base.files import OutputError, claim_folder

    try:
        click.get_current_context().with_resource(claim_folder(folder))
    except OutputError as exc:
        _fail(str(exc), exc.exit_code)


def _written(folder: Path, write: Callable[[], object]) -> None:
    """Run an atomic write; a failure leaves nothing behind and ends the command with a clear message. Charts
    that could not be drawn are reported; their tables are written."""
    import warnings

    from simulator.base.files import OutputError
    from simulator.outputs.folders import ChartWarning

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ChartWarning)
            write()
    except OutputError as exc:
        _fail(str(exc), exc.exit_code)
    except OSError as exc:
        _fail(
            f"could not write results to {folder}: {exc.strerror or exc}. Nothing was written; "
            "choose another --out folder or free some space.",
            code=1,
        )
    for warning in caught:
        if issubclass(warning.category, ChartWarning):
            err.print(f"[yellow]warning:[/] {escape(str(warning.message))}", soft_wrap=True)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--replications",
    "-r",
    type=click.IntRange(min=2, max=100_000),
    default=None,
    help="Replications (default: the scenario's).",
)
@_seed
@_workers(1)
@_set
@_out("")
@click.option("--tickets", is_flag=True, help="Also write the full ticket log as tickets.parquet.")
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write report.html (one self-contained file for the client) and results.xlsx.",
)
@_force
def run(
    scenario: str,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
    tickets: bool,
    with_report: bool,
    force: bool,
) -> None:
    """Run SCENARIO: compare its contracts over replications and write results, charts and tables."""
    from simulator.outputs.folders import write_results
    from simulator.studies.estimate import estimate_run
    from simulator.studies.run import simulate

    sc = _resolved(_load(scenario, overrides), replications, seed)
    n = sc.replications
    _sized(
        estimate_run(sc, n, workers, tickets),
        "fewer replications (--replications), a shorter horizon (--set horizon_months=N), fewer clients"
        + (", or one worker process (--workers 1)" if workers != 1 else "")
        + (", or leave out --tickets" if tickets else ""),
        force,
    )
    folder = out or default_out(sc.name)
    _claim(folder)
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
    extra = None
    if with_report:
        from simulator.outputs.report import write_report
        from simulator.outputs.workbook import write_workbook

        def extra(tmp: Path) -> None:
            write_report(tmp, tmp / "report.html")
            write_workbook(tmp, tmp / "results.xlsx")

    _written(folder, lambda: write_results(results, folder, tickets=tickets, extra=extra))
    console.print(_table(results))
    from simulator.metrics import unstable_contracts

    for unstable in unstable_contracts(results.scenario, results.summary):
        console.print(f"[bold yellow]{escape(unstable.note)}[/]", soft_wrap=True)  # one line each
    from simulator.outputs.charts import headline

    console.print(f"[bold]{headline(results)}.[/]")
    console.print(
        f"Results written to [cyan]{folder}[/]: summary.csv, replications.csv, differences.csv, monthly.csv, "
        "scenario.resolved.yaml, ticket_times.csv, comparison/revenue/service.png/.svg"
        f"{', tickets.parquet' if tickets else ''}{', report.html, results.xlsx' if with_report else ''}"
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
    type=click.IntRange(min=2, max=100_000),
    default=None,
    help="Replications per lever setting (default: incentives.replications, else the scenario's).",
)
@_seed
@_workers(0)
@_set
@_out("-incentives")
@_force
def incentives(
    scenario: str,
    levers: str | None,
    replications: int | None,
    seed: int | None,
    workers: int,
    overrides: tuple[str, ...],
    out: Path | None,
    force: bool,
) -> None:
    """Find what each contract makes the provider do (its best response), what the client and society would
    prefer, and the cost of the gap."""
    from simulator.outputs.folders import write_incentives
    from simulator.studies.estimate import estimate_incentives
    from simulator.studies.incentives import LEVERS, analyze_incentives

    sc = _load(scenario, overrides)
    chosen = None
    if levers:
        chosen = tuple(x.strip() for x in levers.split(",") if x.strip())
        unknown = [x for x in chosen if x not in LEVERS]
        if unknown:
            _fail(f"--levers: unknown lever(s) {', '.join(unknown)}; choose from {', '.join(LEVERS)}.")
    n = replications or sc.incentives.replications or sc.replications
    _sized(
        estimate_incentives(sc, n, workers, chosen),
        "search fewer lever settings (fewer `points` or a narrower technician range under incentives.levers, "
        "or --levers), fewer replications (--replications) or a shorter horizon (--set horizon_months=N)",
        force,
    )
    folder = out or default_out(sc.name, "-incentives")
    _claim(folder)
    with err.status("searching levers...") as status:
        result = analyze_incentives(
            sc,
            replications=replications,
            seed=seed,
            workers=workers,
            levers=chosen,
            progress=lambda msg: status.update(msg),
        )
    _written(folder, lambda: write_incentives(result, folder))
    for table in _incentive_tables(result):
        console.print(table)
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
    type=click.IntRange(min=2, max=100_000),
    default=None,
    help="Replications (default: the scenario's).",
)
@_seed
@_workers(0)
@_set
@_out("-transition")
@_force
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
    sc = _resolved(sc, replications, seed)
    n = sc.replications
    _sized(
        estimate_transition(sc, len(chosen or known), n, workers),
        "fewer replications (--replications), fewer strategies (--strategies) or a shorter horizon "
        "(--set horizon_months=N)",
        force,
    )
    folder = out or default_out(sc.name, "-transition")
    _claim(folder)
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
    _written(folder, lambda: write_transition(result, folder))
    console.print(_transition_table(result))
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
                half = (r["ci_high"] - r["ci_low"]) / 2
                cells.append(f"{format_number(r['mean'], unit)} ± {format_number(half, unit)}")
            else:
                cells.append(format_number(r["mean"], unit))
        table.add_row(label, *cells)
    return table


def _incentive_tables(result: Any) -> tuple[Table, Table]:
    """The levers each party would choose, and the misalignment at the provider's choice."""
    s = result.scenario
    levers = Table(title=f"{s.name}: levers chosen (provider = best response)", title_justify="left")
    for col in ("contract", "chosen by", "prevention h", "techs", "RMM", "thoroughness", "profit"):
        levers.add_column(col, justify="left" if col in ("contract", "chosen by") else "right")
    for _, r in result.best_response.iterrows():
        levers.add_row(
            r["contract"] if r["role"] == "provider" else "",
            r["role"],
            f"{r['prevention_hours_per_endpoint_month']:.2f}",
            f"{r['technicians']}",
            "on" if r["monitoring"] else "off",
            f"{r['thoroughness']:.2f}",
            format_number(r["provider_profit"], "money"),
        )
    gap = Table(
        title=f"Misalignment at the best response (totals over {s.measured_months} months, {s.currency})",
        title_justify="left",
    )
    for col in ("contract", "welfare loss [95% CI]", "extra downtime", "profit / incident"):
        gap.add_column(col, justify="left" if col == "contract" else "right")
    for _, m in result.misalignment.iterrows():
        loss = (
            f"{format_number(m['welfare_loss'], 'money')} [{format_number(m['welfare_loss_ci_low'], 'money')}, "
            f"{format_number(m['welfare_loss_ci_high'], 'money')}]"
        )
        gap.add_row(
            m["contract"],
            loss,
            f"{m['extra_downtime_user_hours']:,.0f} user-h",
            f"{m['marginal_profit_per_incident']:,.0f}",
        )
    return levers, gap


# ----------------------------------------------------------------------------------------------- sweeps


def _rate_column() -> Any:
    """A progress column with the points finished per second."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f} points/s" if speed else "– points/s", style="progress.data.speed")

    return RateColumn()


def _scheduler_ok(address: str) -> bool:
    if address == "local":
        return True
    if "://" in address:
        scheme, rest = address.split("://", 1)
        return bool(scheme) and bool(rest)
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit()


@main.command("sweep")
@click.argument("sweep_file", metavar="SWEEP", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=0),
    default=None,
    help="Local worker processes; 0 = all cores (the default). With --scheduler local: the LocalCluster's "
    "workers. Results do not depend on it.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on a Dask cluster: the address of a running scheduler (tcp://host:8786), or 'local' to start a "
    "LocalCluster on this machine.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Results folder (default: results/<sweep name>).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the interrupted sweep in --out; finished points are kept and not recomputed (rerunning "
    "into the same folder does the same; --resume also insists that there is something to resume).",
)
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=25,
    show_default=True,
    help="Finished points per Parquet part (a part is also written at least every 10 seconds).",
)
@_force
def sweep_command(
    sweep_file: str,
    workers: int | None,
    scheduler: str | None,
    out: Path | None,
    resume: bool,
    chunk: int,
    force: bool,
) -> None:
    """Run the sweep in SWEEP: every point of its design, on local processes or a Dask cluster, into a
    resumable results folder (Parquet parts, then tidy tables, per-point summaries and paired differences)."""
    import os
    import time

    from rich.progress import TimeElapsedColumn

    from simulator.studies.sweep import SweepError, SweepRunError, load_sweep, run_sweep

    try:
        plan = load_sweep(sweep_file)
    except ScenarioError as exc:
        _fail(str(exc))
        raise  # unreachable
    if scheduler is not None and not _scheduler_ok(scheduler):
        _fail(
            f"--scheduler '{scheduler}': expected the address of a Dask scheduler, e.g. tcp://10.0.0.5:8786, "
            "or 'local' to start a LocalCluster."
        )
    if scheduler not in (None, "local") and workers is not None:
        _fail(
            "--workers applies to local processes and to --scheduler local; a remote Dask cluster has its "
            "own workers (start more with `dask worker ADDRESS`)."
        )
    folder = out or default_out(plan.name)
    n_workers = workers or 0
    if scheduler in (None, "local"):
        from simulator.studies.estimate import estimate_sweep

        _sized(
            estimate_sweep(plan.base, len(plan.point_ids), plan.replications, n_workers),
            "fewer points or replications in the sweep file, or a Dask cluster (--scheduler ADDRESS)",
            force,
        )
    cores = n_workers or os.cpu_count() or 1
    if scheduler is None:
        where = "in this process" if cores == 1 else f"on {cores} local processes"
    elif scheduler == "local":
        where = f"on a Dask LocalCluster of {cores} workers"
    else:
        where = f"on the Dask cluster at {scheduler}"
    design = plan.spec.design
    console.print(
        f"Sweep [bold]{escape(plan.name)}[/]: {len(plan.point_ids):,} points ({design.kind} over "
        f"{', '.join(escape(p) for p in plan.parameters)}) × {plan.replications} replications, seed "
        f"{plan.seed} (the same for every point), {escape(where)}, into [cyan]{escape(str(folder))}[/]."
    )
    started = time.perf_counter()
    state: dict[str, Any] = {}
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _rate_column(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:

            def progress(done: int, total: int) -> None:
                if "task" not in state:  # the points already done are not part of the rate
                    state["skipped"] = done
                    state["task"] = bar.add_task("points", total=total, completed=done)
                else:
                    bar.update(state["task"], completed=done)

            run = run_sweep(
                plan,
                folder,
                workers=n_workers,
                scheduler=scheduler,
                resume=resume,
                chunk_points=chunk,
                progress=progress,
            )
    except SweepError as exc:
        _fail(str(exc))
        raise  # unreachable
    except SweepRunError as exc:
        _fail(str(exc), code=1)
        raise  # unreachable
    except KeyboardInterrupt:
        _fail(
            f"interrupted after {time.perf_counter() - started:,.0f} s. The finished points are saved in "
            f"{folder}; run `msp-sim sweep {sweep_file} --out {folder} --resume` to complete the sweep.",
            code=130,
        )
        raise  # unreachable
    console.print(_sweep_table(run))
    if run.results is not None and run.results.contract is not None:
        from simulator.studies.analysis import point_outcomes, win_shares

        shares = win_shares(point_outcomes(run.results))
        c, ref = run.results.contract, run.results.reference
        s, g = shares["client_saving"], shares["provider_gain"]
        console.print(
            f"[bold]{escape(c)}[/] is cheaper for the client than {escape(ref)} at {s['positive']:,} of "
            f"{s['points']:,} points (significantly at {s['significant']:,}, significantly dearer at "
            f"{s['significant_negative']:,}), and more profitable for the provider at {g['positive']:,} "
            f"(significantly at {g['significant']:,}, significantly less at {g['significant_negative']:,})."
        )
    console.print(
        f"Results in [cyan]{escape(str(folder))}[/]: points.parquet (one row per point × replication × "
        "contract), summary.csv, differences.csv, design.csv, sweep.resolved.yaml, base.resolved.yaml, "
        f"parts/. Next: msp-sim analyze {escape(str(folder))}"
    )


def _sweep_table(run: Any) -> Table:
    table = Table(title="Sweep finished", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    per_point = run.compute_seconds / run.computed if run.computed else math.nan
    rows = [
        ("points", f"{run.total:,}"),
        ("already done (skipped)", f"{run.skipped:,}"),
        ("computed now", f"{run.computed:,}"),
        ("wall time", f"{run.elapsed_seconds:,.1f} s"),
        ("points per second", "–" if math.isnan(run.points_per_second) else f"{run.points_per_second:,.2f}"),
        ("simulation per point", "–" if math.isnan(per_point) else f"{per_point:,.2f} s"),
        ("Parquet parts written", f"{run.parts_written:,}"),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--contract", default=None, help="Contract compared with the reference (default: the sweep's).")
@click.option("--reference", default=None, help="Reference contract (default: the sweep's).")
@click.option(
    "-x",
    "x_param",
    default=None,
    metavar="PARAM",
    help="Swept parameter on the break-even map's x axis (default: the one that matters most).",
)
@click.option(
    "-y",
    "y_param",
    default=None,
    metavar="PARAM",
    help="Swept parameter on the y axis (default: the one that matters next most).",
)
@click.option("--bins", type=click.IntRange(min=2, max=50), default=None, help="Bins per continuous axis.")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the analysis (default: DIR/analysis).",
)
def analyze(
    folder: Path,
    contract: str | None,
    reference: str | None,
    x_param: str | None,
    y_param: str | None,
    bins: int | None,
    out: Path | None,
) -> None:
    """Analyse the sweep results in DIR: what drives the client's saving and the provider's gain from the
    contract (Sobol indices for a sobol design, else regression), a tornado chart and a break-even map."""

    from simulator.base.files import atomic_dir, write_csv
    from simulator.outputs.charts import break_even_figure, tornado_figure
    from simulator.outputs.folders import Chart, draw_charts
    from simulator.studies.analysis import OUTCOMES, analyze_sweep, win_shares
    from simulator.studies.sweep import load_results

    target = out or folder / "analysis"
    _claim(target)
    try:
        results = load_results(folder)
    except ScenarioError as exc:
        _fail(str(exc))
        raise  # unreachable
    done, total = results.rows["point_id"].nunique(), int(results.manifest["points"])
    if done < total:
        err.print(
            f"[yellow]warning:[/] the sweep is not finished ({done:,} of {total:,} points); analysing those. "
            "Complete it with `msp-sim sweep SWEEP --out DIR --resume`."
        )
    try:
        analysis = analyze_sweep(results, contract, reference, x_param, y_param, bins)
    except ValueError as exc:
        _fail(f"{folder}: {exc}")
        raise  # unreachable
    outcomes, sens, tor, be = analysis.outcomes, analysis.sensitivity, analysis.tornado, analysis.break_even
    c, ref = analysis.contract, analysis.reference

    def write() -> None:
        with atomic_dir(target, "analysis") as tmp:
            write_csv(outcomes, tmp / "outcomes.csv")
            write_csv(sens, tmp / "sensitivity.csv")
            write_csv(tor, tmp / "tornado.csv")
            if be is not None:
                write_csv(be.to_df(), tmp / "break_even.csv")
            charts: list[Chart] = [
                (
                    "tornado",
                    lambda: tornado_figure(
                        tor[tor["outcome"] == "client_saving"], results.currency, c, ref, analysis.source
                    ),
                    130,
                )
            ]
            if be is not None:
                charts.append(("break_even", lambda: break_even_figure(be, source=analysis.source), 130))
            draw_charts(tmp, charts)

    _written(target, write)
    for outcome in OUTCOMES:
        console.print(_sensitivity_table(sens[sens["outcome"] == outcome], outcome, c, ref))
    shares = win_shares(outcomes)
    s, g = shares["client_saving"], shares["provider_gain"]
    top = tor[tor["outcome"] == "client_saving"]
    if not top.empty:
        t = top.iloc[0]
        console.print(
            f"Largest driver of the client's saving: [bold]{escape(str(t['parameter']))}[/] "
            f"({t['low_value']:,.4g} → {t['high_value']:,.4g}: {t['at_low']:,.0f} → {t['at_high']:,.0f} "
            f"{results.currency}/month)."
        )
    console.print(
        f"{escape(c)} is cheaper for the client than {escape(ref)} at {s['positive']:,} of {s['points']:,} "
        f"points ({s['significant']:,} significantly); more profitable for the provider at {g['positive']:,} "
        f"({g['significant']:,} significantly)."
    )
    files = "outcomes.csv, sensitivity.csv, tornado.csv, tornado.png/.svg"
    if be is not None:
        files += ", break_even.csv, break_even.png/.svg"
        console.print(f"Break-even map over {escape(be.x)} (x) and {escape(be.y)} (y).")
    console.print(f"Analysis written to [cyan]{escape(str(target))}[/]: {files}")


def _sensitivity_table(sens: Any, outcome: str, contract: str, reference: str) -> Table:
    label = {"client_saving": "client's saving", "provider_gain": "provider's gain"}.get(outcome, outcome)
    sobol = bool((sens["method"] == "sobol").any())
    r2 = sens["r2"].iloc[0] if len(sens) else math.nan
    how = "Sobol indices (SALib), 95% bootstrap ±" if sobol else f"standardised regression, R² = {r2:.2f}"
    table = Table(title=f"What drives the {label} ({contract} vs {reference}): {how}", title_justify="left")
    table.add_column("rank", justify="right")
    table.add_column("parameter", overflow="fold")
    if sobol:
        for col in ("S1 (first order)", "ST (total)", "SRC"):
            table.add_column(col, justify="right")
    else:
        for col in ("share (SRC²)", "SRC", "SRRC (ranks)"):
            table.add_column(col, justify="right")

    def num(v: float, sign: bool = False) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
        return f"{v:+.3f}" if sign else f"{v:.3f}"

    for _, r in sens.iterrows():
        if sobol:
            cells = [
                f"{num(r['S1'])} ± {num(r['S1_conf'])}",
                f"{num(r['ST'])} ± {num(r['ST_conf'])}",
                num(r["src"], True),
            ]
        else:
            cells = [num(r["importance"]), num(r["src"], True), num(r["srrc"], True)]
        table.add_row(str(r["rank"]), escape(str(r["parameter"])), *cells)
    return table


@main.command()
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
def report(folder: Path, out: Path | None, xlsx: Path | None, title: str | None) -> None:
    """Write one self-contained HTML report (charts inline, prints to PDF) from RESULTS_DIR: a folder written by
    run, incentives, transition or sweep, or a folder holding several of them (e.g. results/)."""
    from simulator.base.files import OutputError, check_file_target
    from simulator.outputs.report import ReportError, find_results, write_report
    from simulator.outputs.workbook import write_workbook

    target = out or folder / "report.html"
    try:
        check_file_target(target, "--out")
        if xlsx is not None:
            check_file_target(xlsx, "--xlsx")
    except OutputError as exc:
        _fail(str(exc), exc.exit_code)
    try:
        found = find_results(folder)
    except ReportError as exc:
        _fail(str(exc))
        raise  # unreachable
    if xlsx is not None and not any(kind != "sweep" for kind, _ in found):
        _fail(f"--xlsx: {folder} holds only sweep results; the workbook is made from a run's results folder.")
    with err.status("rendering the report..."):
        _written(target.parent, lambda: write_report(folder, target, title))
        if xlsx is not None:
            source = next(path for kind, path in found if kind != "sweep")
            _written(xlsx.parent, lambda: write_workbook(source, xlsx))
    kinds = ", ".join(f"{kind} ({path.name})" for kind, path in found)
    console.print(f"Report written to [cyan]{escape(str(target))}[/] from {escape(kinds)}.")
    if xlsx is not None:
        console.print(f"Workbook written to [cyan]{escape(str(xlsx))}[/].")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@_set
def validate(scenario: str, overrides: tuple[str, ...]) -> None:
    """Check SCENARIO without running it."""
    sc = _load(scenario, overrides)
    clients = sum(c.count for c in sc.clients)
    users = sum(c.count * c.users for c in sc.clients)
    console.print(
        f"{escape(scenario)}: valid. '{escape(sc.name)}': {clients:,} clients, {users:,} users, "
        f"{len(sc.incidents.categories)} incident categories, contracts: "
        f"{escape(', '.join(c.name for c in sc.contracts))}.",
        soft_wrap=True,
    )
    from simulator.studies.estimate import estimate_run

    estimate = estimate_run(sc, sc.replications, 1)
    fits = "fits in" if estimate.fits() else "does not fit in"
    console.print(
        f"`msp-sim run` would take {escape(estimate.describe())}; that {fits} this machine's memory.", soft_wrap=True
    )


@main.command()
@click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON Schema instead of the readable reference."
)
def schema(as_json: bool) -> None:
    """Print the scenario file reference (every field, its unit and default)."""
    from simulator.config.schema import json_schema, reference

    click.echo(json_schema() if as_json else reference())
