"""``msp-sim sweep`` and ``analyze``: parameter sweeps on local processes or Dask, and what drives their outcomes."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import TextColumn
from rich.table import Table

from .common import (
    claim,
    console,
    err,
    fail,
    force_option,
    progress_bar,
    sized,
    written,
)


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


@click.command("sweep")
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
@force_option
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
    from simulator.base.files import default_out
    from simulator.config import ScenarioError
    from simulator.studies.sweep import load_sweep

    try:
        plan = load_sweep(sweep_file)
    except ScenarioError as exc:
        fail(str(exc))
        raise  # unreachable
    _check_scheduler(scheduler, workers)
    folder = out or default_out(plan.name)
    n_workers = workers or 0
    if scheduler in (None, "local"):
        from simulator.studies.estimate import estimate_sweep

        sized(
            estimate_sweep(plan.base, len(plan.point_ids), plan.replications, n_workers),
            "fewer points or replications in the sweep file, or a Dask cluster (--scheduler ADDRESS)",
            force,
        )
    design = plan.spec.design
    console.print(
        f"Sweep [bold]{escape(plan.name)}[/]: {len(plan.point_ids):,} points ({design.kind} over "
        f"{', '.join(escape(p) for p in plan.parameters)}) × {plan.replications} replications, seed "
        f"{plan.seed} (the same for every point), {escape(_where(scheduler, n_workers))}, into "
        f"[cyan]{escape(str(folder))}[/]."
    )
    run = _run_with_bar(plan, sweep_file, folder, n_workers, scheduler, resume, chunk)
    console.print(_sweep_table(run))
    _print_shares(run)
    console.print(
        f"Results in [cyan]{escape(str(folder))}[/]: points.parquet (one row per point × replication × "
        "contract), summary.csv, differences.csv, design.csv, sweep.resolved.yaml, base.resolved.yaml, "
        f"parts/. Next: msp-sim analyze {escape(str(folder))}"
    )


def _check_scheduler(scheduler: str | None, workers: int | None) -> None:
    """--scheduler must be an address or 'local'; --workers goes with local processes only."""
    if scheduler is not None and not _scheduler_ok(scheduler):
        fail(
            f"--scheduler '{scheduler}': expected the address of a Dask scheduler, e.g. tcp://10.0.0.5:8786, "
            "or 'local' to start a LocalCluster."
        )
    if scheduler not in (None, "local") and workers is not None:
        fail(
            "--workers applies to local processes and to --scheduler local; a remote Dask cluster has its "
            "own workers (start more with `dask worker ADDRESS`)."
        )


def _where(scheduler: str | None, workers: int) -> str:
    """Where the points run, in words."""
    cores = workers or os.cpu_count() or 1
    if scheduler is None:
        return "in this process" if cores == 1 else f"on {cores} local processes"
    if scheduler == "local":
        return f"on a Dask LocalCluster of {cores} workers"
    return f"on the Dask cluster at {scheduler}"


def _run_with_bar(
    plan: Any, sweep_file: str, folder: Path, workers: int, scheduler: str | None, resume: bool, chunk: int
) -> Any:
    """Run the sweep behind a progress bar (points done, points per second, time left); a failure or Ctrl-C
    ends the command with what happened and how to go on (the finished points are kept)."""
    import time

    from rich.progress import TimeElapsedColumn

    from simulator.studies.sweep import SweepError, SweepRunError, run_sweep

    started = time.perf_counter()
    state: dict[str, Any] = {}
    try:
        with progress_bar(_rate_column(), TimeElapsedColumn(), TextColumn("left")) as bar:

            def progress(done: int, total: int) -> None:
                if "task" not in state:  # the points already done are not part of the rate
                    state["skipped"] = done
                    state["task"] = bar.add_task("points", total=total, completed=done)
                else:
                    bar.update(state["task"], completed=done)

            return run_sweep(
                plan,
                folder,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                chunk_points=chunk,
                progress=progress,
            )
    except SweepError as exc:
        fail(str(exc))
    except SweepRunError as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        fail(
            f"interrupted after {time.perf_counter() - started:,.0f} s. The finished points are saved in "
            f"{folder}; run `msp-sim sweep {sweep_file} --out {folder} --resume` to complete the sweep.",
            code=130,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _print_shares(run: Any) -> None:
    """How often the contract is cheaper for the client and more profitable for the provider."""
    if run.results is None or run.results.contract is None:
        return
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


@click.command()
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
    from simulator.config import ScenarioError
    from simulator.outputs.folders import write_analysis
    from simulator.studies.analysis import analyze_sweep
    from simulator.studies.sweep import load_results

    target = out or folder / "analysis"
    claim(target)
    try:
        results = load_results(folder)
    except ScenarioError as exc:
        fail(str(exc))
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
        fail(f"{folder}: {exc}")
        raise  # unreachable
    written(target, lambda: write_analysis(analysis, results.currency, target, results.locale))
    _print_analysis(analysis, results.currency, results.locale, target)


def _print_analysis(analysis: Any, currency: str, locale: str, target: Path) -> None:
    """What drives each outcome, the largest driver, how often the contract wins, and the files written."""
    from simulator.outputs.money import money_labels
    from simulator.studies.analysis import OUTCOMES, win_shares

    sens, tor, be = analysis.sensitivity, analysis.tornado, analysis.break_even
    c, ref = analysis.contract, analysis.reference
    for outcome in OUTCOMES:
        console.print(_sensitivity_table(sens[sens["outcome"] == outcome], outcome, c, ref))
    shares = win_shares(analysis.outcomes)
    s, g = shares["client_saving"], shares["provider_gain"]
    top = tor[tor["outcome"] == "client_saving"]
    if not top.empty:
        t = top.iloc[0]
        at_low, at_high = money_labels([float(t["at_low"]), float(t["at_high"])], currency, locale)
        console.print(
            f"Largest driver of the client's saving: [bold]{escape(str(t['parameter']))}[/] "
            f"({t['low_value']:,.4g} → {t['high_value']:,.4g}: {at_low} → {at_high} a month)."
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
