"""``msp-sim incentives``: what each contract makes the provider do, and the cost of the gap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from simulator.outputs.tables import client_prefers, format_number, incentive_notes, search_note

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
    "--levers",
    default=None,
    metavar="LIST",
    help="Comma-separated levers to search (default: all): prevention_hours_per_endpoint_month, "
    "technicians, monitoring, thoroughness. The others stay at each contract's policy value.",
)
@replications_option(
    "Replications per lever setting (default: incentives.replications, else the scenario's)."
)
@seed_option
@workers_option(0)
@click.option(
    "--cost-bases",
    is_flag=True,
    help="Also search under the other labour cost bases (paid, worked, capacity) and compare the misalignment "
    "side by side (cost_bases.csv): its ranking can depend on the basis. Three times the work.",
)
@click.option(
    "--exhaustive",
    is_flag=True,
    help="Simulate every lever setting on every replication instead of ranking them (incentives.search): the "
    "same optima, several times the work.",
)
@set_option
@out_option("-incentives")
@force_option
def incentives(
    scenario: str,
    levers: str | None,
    replications: int | None,
    seed: int | None,
    workers: int,
    cost_bases: bool,
    exhaustive: bool,
    overrides: tuple[str, ...],
    out: Path | None,
    force: bool,
) -> None:
    """Find what each contract makes the provider do (its best response), what the client and society would
    prefer, and the cost of the gap."""
    from simulator.outputs.folders import write_incentives
    from simulator.studies.checkpoints import Checkpoints
    from simulator.studies.estimate import estimate_incentives
    from simulator.studies.incentives import (
        COST_BASES,
        LEVERS,
        PER_CLIENT,
        analyze_incentives,
        compare_cost_bases,
        outside_contract,
    )

    sc = load(scenario, (*overrides, "incentives.search.method=exhaustive") if exhaustive else overrides)
    picked = chosen(levers, LEVERS, "--levers", "unknown lever(s)", "choose from")
    n = replications or sc.incentives.replications or sc.replications
    sized(
        estimate_incentives(sc, n, workers, picked, len(COST_BASES) if cost_bases else 1),
        "search fewer lever settings (fewer `points` or a narrower technician range under incentives.levers, "
        "or --levers), fewer replications (--replications) or a shorter horizon (--set horizon_months=N)",
        force,
    )
    folder = results_folder(out, sc, "-incentives")
    claim(folder)
    # Finished replications are kept beside the results folder until the results are written: a rerun of the same
    # command resumes from them.
    saved = Checkpoints(folder.parent / f".{folder.name}.partial", PER_CLIENT)
    try:
        with progress_bar() as bar:
            task = bar.add_task("searching levers", total=None)
            search: dict[str, Any] = {
                "replications": replications,
                "seed": seed,
                "workers": workers,
                "levers": picked,
                "steps": lambda done, total: bar.update(task, completed=done, total=total),
                "saved": saved,
            }
            result = analyze_incentives(sc, progress=lambda msg: bar.update(task, description=msg), **search)
            if cost_bases:
                result.cost_bases = compare_cost_bases(
                    sc,
                    result,
                    progress=lambda msg: bar.update(task, description=msg),
                    **search,
                )
    except KeyboardInterrupt:
        fail(
            f"interrupted. The replications finished so far are kept in {saved.folder}; run the same command "
            f"again (with the same --out) to resume from them.",
            code=130,
        )
    earlier = earlier_reports(folder)
    written(folder, lambda: write_incentives(result, folder))
    saved.remove()
    say_replaced(folder, earlier, False)
    for table in _incentive_tables(result):
        console.print(table)
    if result.cost_bases is not None:
        console.print(_cost_basis_table(result))
    design = result.design
    if not design.empty:
        for name, group in design.groupby("contract", sort=False):
            rec = group[group["recommended"]]
            other = escape(sc.label_of(outside_contract(sc)))
            if rec.empty:
                console.print(
                    f"[bold]{name}[/]: no credit level tried gives a fee both sides prefer to {other}."
                )
            else:
                r = rec.iloc[0]
                segments = str(r.get("window_segments") or "none")
                console.print(
                    f"[bold]{name}[/]: closest to the social optimum with both sides better off than {other}: "
                    f"{r['scheme']} credit {r['credit']:g}, "
                    f"fee {max(r['fee_min'], 0.0):.0f}–{r['fee_max']:.0f} per user-month "
                    f"(provider then picks {r['prevention_hours_per_endpoint_month']:.2f} h prevention, "
                    f"{r['technicians']} technicians); segments with a window of their own: {escape(segments)}."
                )
    if result.search is not None:
        console.print(escape(search_note(result.scenario, result.search)))
    console.print(
        f"{result.incidents_simulated:,} incidents simulated. Results written to [cyan]{folder}[/]: "
        "best_response.csv, misalignment.csv, curves.csv, design.csv, "
        + ("cost_bases.csv, " if result.cost_bases is not None else "")
        + "evaluations.parquet, search.csv, "
        "incentives.png/.svg, scenario.resolved.yaml"
    )


def _marginal(row: Any) -> str:
    """The marginal profit of an incident with its interval (results written before it had one: the value)."""
    value = f"{row['marginal_profit_per_incident']:,.0f}"
    if "marginal_profit_per_incident_ci_low" not in row:
        return value
    low, high = row["marginal_profit_per_incident_ci_low"], row["marginal_profit_per_incident_ci_high"]
    return f"{value} [{low:,.0f}, {high:,.0f}]"


def _cost_basis_table(result: Any) -> Table:
    """The welfare loss per month at the provider's choice under each labour cost basis, the scenario's marked."""
    s = result.scenario
    months = s.measured_months
    table = Table(
        title=f"Welfare loss per month at the provider's choice, by labour cost basis ({s.currency})",
        title_justify="left",
        caption="paid: every paid hour costs; worked: only hours worked, with their share of idle time; capacity: "
        "the salaried pool, idle hours sold elsewhere, a long queue bought off as overtime. ▲ the most, ▽ the "
        "least misaligned under that basis.",
    )
    table.add_column("contract")
    bases = list(dict.fromkeys(result.cost_bases["basis"]))
    for basis in bases:
        mark = " (scenario's)" if basis == s.provider.labour_cost_basis else ""
        table.add_column(f"{basis}{mark}", justify="right")
    frame = result.cost_bases.set_index(["contract", "basis"])
    for c in s.contracts:
        cells = []
        for basis in bases:
            r = frame.loc[(c.name, basis)]
            if isinstance(r["unstable"], str) and r["unstable"] and r["unstable"] != "nan":
                text = f"unstable ({escape(r['unstable'])})"
            else:
                text = format_number(r["welfare_loss"] / months, "money")
            text += " ▲" if bool(r["most_misaligned"]) else " ▽" if bool(r["least_misaligned"]) else ""
            cells.append(text)
        table.add_row(escape(s.label_of(c.name)), *cells)
    return table


def _incentive_tables(result: Any) -> tuple[Table, Table]:
    """The levers each party would choose, and the misalignment at the provider's choice; money per month."""
    import pandas as pd

    s = result.scenario
    months = s.measured_months
    levers = Table(
        title=f"{s.name}: levers chosen (provider = best response; net profit per month, {s.currency})",
        title_justify="left",
    )
    terms = s.incentives.relationship
    columns = ["contract", "chosen by", "prevention h", "techs", "RMM", "thoroughness", "profit / month"]
    columns += ["clients kept", "client prefers it"] if terms is not None else ["client prefers it"]
    for col in columns:
        levers.add_column(
            col, justify="left" if col in ("contract", "chosen by", "client prefers it") else "right"
        )
    for _, r in result.best_response.iterrows():
        edge = str(r.get("at_bound", "") or "").split(", ")

        def mark(lever: str, text: str, edge: list[str] = edge) -> str:
            return f"{text} ⟂" if lever in edge else text

        kept = [f"{r['clients_remaining']:.0%}"] if terms is not None else []
        levers.add_row(
            escape(s.label_of(r["contract"])) if r["role"] == "provider" else "",
            r["role"],
            mark("prevention_hours_per_endpoint_month", f"{r['prevention_hours_per_endpoint_month']:.2f}"),
            mark("technicians", f"{r['technicians']}"),
            "on" if r["monitoring"] else "off",
            mark("thoroughness", f"{r['thoroughness']:.2f}"),
            format_number(r["provider_net_profit"] / months, "money"),
            *kept,
            client_prefers(r),
        )
    notes = incentive_notes(s)
    if (result.best_response.get("at_bound", pd.Series(dtype=str)).fillna("") != "").any():
        notes.append(
            "⟂ at the edge of the range searched: the best value may lie beyond it (widen the range under "
            "incentives.levers)."
        )
    levers.caption = "\n".join(notes)
    gap = Table(
        title=f"Misalignment at the best response (per month, {s.currency})",
        title_justify="left",
    )
    for col in ("contract", "welfare loss / month [95% CI]", "extra downtime / month", "profit / incident"):
        gap.add_column(col, justify="left" if col == "contract" else "right")
    for _, m in result.misalignment.iterrows():

        def money(name: str, m: Any = m) -> str:
            return format_number(m[name] / months, "money")

        unstable = m.get("unstable")
        gap.add_row(
            escape(s.label_of(m["contract"])),
            f"unstable ({escape(str(unstable))})"
            if isinstance(unstable, str) and unstable
            else f"{money('welfare_loss')} [{money('welfare_loss_ci_low')}, {money('welfare_loss_ci_high')}]",
            f"{m['extra_downtime_user_hours'] / months:,.0f} user-h",
            _marginal(m),
        )
    return levers, gap


# ----------------------------------------------------------------------------------------------- sweeps
