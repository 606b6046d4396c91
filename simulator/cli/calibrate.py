"""``msp-sim calibrate``: a scenario from a client's ticket history (a help desk's or PSA's CSV export)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from .common import claim, console, err, fail, progress_bar, workers_option, written


def _g(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "–"


def _with_ci(mean: float, low: float, high: float) -> str:
    return f"{_g(mean)} [{_g(low)}–{_g(high)}]" if math.isfinite(low) and math.isfinite(high) else _g(mean)


def _date(value: str | None, option: str) -> Any:
    import pandas as pd

    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except ValueError:
        fail(f"{option} '{value}' is not a date; give it as YYYY-MM-DD (e.g. {option} 2025-01-01).")


@click.command()
@click.argument("tickets", type=click.Path(path_type=Path))
@click.option(
    "--map",
    "map_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The map of the export's columns and values (YAML; examples in examples/maps/).",
)
@click.option("--users", type=click.IntRange(1), default=None, help="The client's users (one client).")
@click.option(
    "--endpoints", type=click.IntRange(0), default=None, help="The client's endpoints (one client)."
)
@click.option("--servers", type=click.IntRange(0), default=0, show_default=True, help="The client's servers.")
@click.option("--sites", type=click.IntRange(1), default=1, show_default=True, help="The client's sites.")
@click.option(
    "--clients",
    "clients_path",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV of the export's clients: client, users, endpoints (servers, sites, start, end optional).",
)
@click.option(
    "--base",
    type=click.Path(path_type=Path),
    default=Path("scenarios/baseline.yaml"),
    show_default=True,
    help="The scenario whose fitted sections are replaced (contracts, costs, behaviours are kept).",
)
@click.option(
    "--recorded-under",
    "recorded",
    default=None,
    metavar="CONTRACT",
    help="The base's contract the history was recorded under (default: its reference contract).",
)
@click.option(
    "--start",
    default=None,
    metavar="DATE",
    help="Start of the export's window (default: first ticket's day).",
)
@click.option(
    "--end",
    default=None,
    metavar="DATE",
    help="End of the window, exclusive (default: the day after the last ticket's).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the calibrated scenario here (a YAML file; never over a file msp-sim did not write).",
)
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    default=None,
    help="Results folder (default: results/<export name>-calibration).",
)
@click.option(
    "--check-replications",
    type=click.IntRange(0, 1000),
    default=20,
    show_default=True,
    help="Simulated histories the model is checked against the history on (0: no check).",
)
@workers_option(1)
def calibrate(
    tickets: Path,
    map_path: Path,
    users: int | None,
    endpoints: int | None,
    servers: int,
    sites: int,
    clients_path: Path | None,
    base: Path,
    recorded: str | None,
    start: str | None,
    end: str | None,
    out: Path | None,
    results: Path | None,
    check_replications: int,
    workers: int,
) -> None:
    """Calibrate a scenario from a client's ticket history: rates, effort, priorities, on-site share, parts and
    reopens, with intervals; a scenario file, tables, charts and a report that sets the model beside the
    history."""
    from simulator.base.files import FolderRefused, check_file_target, default_out, slug, write_text
    from simulator.config import ScenarioError
    from simulator.outputs.folders import write_calibration
    from simulator.outputs.report import write_report
    from simulator.studies.calibration.check import check_model
    from simulator.studies.calibration.export import ClientSize, ExportError
    from simulator.studies.calibration.files import calibrate_files
    from simulator.studies.calibration.fit import CalibrationError
    from simulator.studies.calibration.results import results_of

    if clients_path is not None and (users is not None or endpoints is not None):
        fail("give the clients either with --clients CLIENTS.csv or with --users and --endpoints, not both.")
    if clients_path is None and (users is None or endpoints is None):
        fail(
            "the rates are per user and per endpoint, so the history's clients need their sizes: give --users N "
            "--endpoints N (one client), or --clients CLIENTS.csv (columns client, users, endpoints)."
        )
    if out is not None:
        try:
            check_file_target(out)
        except FolderRefused as exc:
            fail(str(exc))
        if out.suffix.lower() not in (".yaml", ".yml"):
            fail(f"--out {out}: give a YAML file name for the calibrated scenario, e.g. calibrated.yaml.")
    try:
        cal, text, scenario = calibrate_files(
            tickets,
            map_path,
            base,
            clients_path or ClientSize("client", users or 1, endpoints or 0, servers, sites),
            recorded,
            _date(start, "--start"),
            _date(end, "--end"),
        )
    except (ExportError, CalibrationError) as exc:
        fail(str(exc))
    except ScenarioError as exc:
        text = str(exc)
        if text.startswith("<dict>"):  # the calibrated scenario, not a file of the user's
            fail(
                f"the calibrated scenario is not valid ({text.removeprefix('<dict>: ')}). The history gives a value "
                "outside a field's range; check the map's values and the clients' sizes."
            )
        fail(text)
    folder = results if results is not None else default_out(slug(tickets.stem), "-calibration")
    claim(folder)
    import pandas as pd

    check = pd.DataFrame()
    if check_replications:
        with progress_bar() as progress:
            task = progress.add_task("checking the model against the history", total=check_replications)
            check = check_model(cal, scenario, check_replications, workers, lambda: progress.advance(task))
    res = results_of(cal, scenario, check, {"export": str(tickets), "map": str(map_path), "base": str(base)})
    written(folder, lambda: write_calibration(res, text, folder, lambda tmp: write_report(tmp)))
    if out is not None:
        write_text(out, text)
    _print(res)
    where = f" and [cyan]{escape(str(out))}[/]" if out is not None else ""
    charts = [stem for stem in ("effort", "rates", "arrival", "check") if (folder / f"{stem}.png").is_file()]
    console.print(
        f"Calibrated scenario written to [cyan]{escape(str(folder / 'calibrated.yaml'))}[/]{where}; tables, charts "
        f"({', '.join(charts)}) and report.html in [cyan]{escape(str(folder))}[/]."
    )


def _print(res: Any) -> None:
    m = res.meta
    unused = res.unusable[~res.unusable["used"].astype(bool)] if len(res.unusable) else res.unusable
    dropped = "".join(
        f", {n:,} {what}"
        for n, what in ((m["unusable_rows"], "not usable"), (m["left_out_rows"], "left out"))
        if n
    )
    console.print(
        f"{m['tickets']:,} usable tickets of {m['rows']:,} rows{dropped}; {len(res.clients)} client(s), "
        f"{m['start'][:10]} to {m['end'][:10]} ({m['months']:.1f} months), recorded under {escape(m['recorded'])}."
    )
    for r in unused.itertuples():
        err.print(
            f"  not usable: {r.rows:,} rows, {escape(str(r.reason))} (first rows {escape(str(r.first_rows))})"
        )
    for r in res.left_out.itertuples():
        err.print(f"  left out by the map: {r.rows:,} rows with {r.column} '{escape(str(r.value))}'")
    table = Table(
        title="Incident rates (95% CI): tickets seen ÷ the share of incidents ticketed", title_justify="left"
    )
    for column, justify in (
        ("category", "left"),
        ("tickets", "right"),
        ("ticket rate", "right"),
        ("share ticketed", "right"),
        ("incident rate", "right"),
        ("base", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in res.rates.itertuples():
        table.add_row(
            f"{escape(r.category)} (per {r.unit})",
            f"{r.tickets:,}",
            _g(r.ticket_rate),
            _g(r.report_share),
            _with_ci(r.rate, r.rate_low, r.rate_high),
            _g(r.base_rate),
        )
    console.print(table)
    effort = Table(title="Hands-on hours per ticket (at thoroughness 1, no tooling)", title_justify="left")
    for column in ("category", "n", "mean [95% CI]", "family", "KS distance", "base mean"):
        effort.add_column(column, justify="left" if column in ("category", "family") else "right")
    for r in res.effort.itertuples():
        effort.add_row(
            escape(r.category),
            f"{r.n:,}",
            _with_ci(r.mean, r.mean_low, r.mean_high),
            str(r.family),
            _g(r.ks),
            _g(r.base_mean),
        )
    console.print(effort)
    rec = m["recurrence"]
    if rec.get("observed"):
        console.print(
            f"Reopens: {int(rec['recurrences'])} of {int(rec['fixes'])} fixes, probability {_g(rec['probability'])} "
            f"(95% CI {_g(rec['low'])}–{_g(rec['high'])}; base {_g(rec['base'])})."
        )
    c = res.check
    if len(c):
        inside = int(c["within"].sum())
        outside = ", ".join(escape(str(f)) for f in c.loc[~c["within"], "figure"])
        console.print(
            f"The calibrated model reproduces {inside} of {len(c)} figures of the history within its 95% range"
            + (f"; outside: {outside}." if outside else ".")
        )
    for note in m["notes"]:
        console.print(f"Note: {escape(note)}.")
