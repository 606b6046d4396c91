"""An unstable queue is a result, not a crash: an overloaded portfolio runs to the end, every output is written,
and the contracts whose queue does not keep up are named, with the numbers that say so; every chart copes with
empty or unresolved groups (no tickets, every ticket beyond the last time bin, NaN metrics, zero revenue).

Tolerances come from the estimate's own standard error (STYLE.md), as in test_statistics.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import openpyxl
import pandas as pd
import pytest
from helpers import (
    ROOT,
    category,
    fixed_price_contract,
    managed_contract,
    mmc_scenario,
    msp_sim,
    scenario,
    tm_contract,
)
from markupsafe import escape
from scipy import stats

from simulator import Results, charts, load_scenario, simulate
from simulator.base.calendar import HOURS_PER_MONTH
from simulator.metrics import METRICS, Unstable, productive_hours_per_month, unstable_contracts
from simulator.outputs.folders import write_incentives, write_results
from simulator.outputs.report import render_report
from simulator.outputs.workbook import write_workbook
from simulator.studies.analysis import BreakEvenMap
from simulator.studies.incentives import IncentiveResults, analyze_incentives
from simulator.studies.transition import TransitionResults, simulate_transition

SMALL = ROOT / "scenarios" / "small-office.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
# 3,000 eight-user offices on the small office's one technician: a valid scenario whose queue cannot keep up.
OVERLOAD = ["clients.accounting-office.count=3000", "horizon_months=2"]
LEVEL = 0.999


def t_half_width(x: np.ndarray, level: float = LEVEL) -> float:
    """Half-width of the two-sided t-interval of the mean of independent samples ``x``."""
    return float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))


def drawn(fig: Any) -> None:
    """Draw a figure completely (most plotting errors only show when drawing) and free it."""
    fig.savefig(io.BytesIO(), format="svg")
    plt.close(fig)


def mean(results: Results, contract: str, metric: str) -> float:
    return float(results.table(metric).loc[contract, "mean"])


# ----------------------------------------------------------------------------------------------- overload


@pytest.fixture(scope="module")
def overload() -> Results:
    return simulate(load_scenario(SMALL, OVERLOAD), replications=2)


def test_new_metrics_are_described_with_units() -> None:
    assert METRICS["offered_load"].endswith("[ratio]")
    assert METRICS["backlog_hours_at_end"].endswith("[hours]")


def test_overloaded_portfolio_simulates_and_every_contract_is_unstable(overload: Results) -> None:
    sc = overload.scenario
    unstable = unstable_contracts(sc, overload.summary)
    assert [u.contract for u in unstable] == overload.contracts
    reps = overload.replications
    coverage = sc.calendar.coverage()
    horizon_on_duty = float(coverage.business_time(np.array([sc.horizon_months * HOURS_PER_MONTH]))[0])
    for u in unstable:
        contract = next(c for c in sc.contracts if c.name == u.contract)
        assert u.offered_load == mean(overload, u.contract, "offered_load") >= 1.0 and u.grows
        assert u.backlog_hours == mean(overload, u.contract, "backlog_hours_at_end") > u.month_hours > 0
        assert u.month_hours == productive_hours_per_month(sc, contract)
        # The backlog is at least the measured months' work less every on-duty hour of the horizon: the pool
        # cannot do more than it is on duty for.
        rows = reps[reps["contract"] == u.contract]
        measured_work = rows["offered_load"] * u.month_hours * sc.measured_months
        technicians = contract.policy.technicians
        assert (rows["backlog_hours_at_end"] >= measured_work - technicians * horizon_on_duty - 1e-6).all()
        assert u.contract in u.note and f"{u.offered_load:.2f}" in u.note
        assert f"{u.backlog_hours:,.0f} h" in u.note and "add technicians or lower the load" in u.note
    # The headline names the cheapest contract and says it does not keep up.
    text = charts.headline(overload)
    best = str((overload.table("client_total_cost")["mean"]).idxmin())
    assert text.startswith(best) and "keeps up" in text and "falling ever further behind" in text
    assert "keeps up" in charts.provider_headline(overload)


def test_overloaded_portfolio_through_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "overload"
    args = [f"--set={o}" for o in OVERLOAD]
    done = msp_sim("run", SMALL, "-r", "2", *args, "--out", out, "--report")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    names = {p.name for p in out.iterdir()}
    assert names >= {
        "replications.csv", "summary.csv", "differences.csv", "monthly.csv", "scenario.resolved.yaml",
        "ticket_times.csv", "comparison.png", "comparison.svg", "revenue.png", "revenue.svg", "service.png",
        "service.svg", "report.html", "results.xlsx",
    }  # fmt: skip
    summary = pd.read_csv(out / "summary.csv")
    sc = load_scenario(out / "scenario.resolved.yaml")
    unstable = unstable_contracts(sc, summary)
    assert [u.contract for u in unstable] == [c.name for c in sc.contracts]
    # One line per contract that does not keep up, after the table, exactly as the rule words it.
    lines = done.stdout.splitlines()
    table_end = max(i for i, line in enumerate(lines) if line.startswith("└"))
    for u in unstable:
        assert u.note in lines, u.contract
        assert lines.index(u.note) > table_end
    # The report says the same near its headline, and the workbook in its summary and about sheets.
    html = (out / "report.html").read_text(encoding="utf-8")
    note = html.index('id="unstable-note"')
    assert html.index('id="headline-client"') < note < html.index("<nav")
    for u in unstable:
        assert str(escape(u.note)) in html
    assert "keeps up" in html[html.index('id="headline-client"') : note]
    book = openpyxl.load_workbook(out / "results.xlsx")
    queues = next(row[1] for row in book["About"].iter_rows(values_only=True) if row[0] == "Queues")
    assert queues == "\n".join(u.note for u in unstable)
    assert all(u.contract in str(book["Summary"]["A2"].value) for u in unstable)


# ----------------------------------------------------------------------------------------------- stable


def test_stable_baseline_reports_no_unstable_contract() -> None:
    """(The command line's baseline run in test_cli checks that it prints no such note.)"""
    results = simulate(load_scenario(BASELINE, ["horizon_months=2", "warmup_months=0"]), replications=2)
    assert unstable_contracts(results.scenario, results.summary) == []
    for name in results.contracts:
        assert 0 < mean(results, name, "offered_load") < 1
        assert mean(results, name, "backlog_hours_at_end") < productive_hours_per_month(
            results.scenario, next(c for c in results.scenario.contracts if c.name == name)
        )
    assert "keep" not in charts.headline(results) and "keep" not in charts.provider_headline(results)


def test_a_summary_without_the_new_metrics_names_no_contract(overload: Results) -> None:
    """Results folders written before these metrics existed: nothing to judge, nothing claimed."""
    old = overload.summary[~overload.summary["metric"].isin(["offered_load", "backlog_hours_at_end"])]
    assert unstable_contracts(overload.scenario, old) == []


def test_backlog_alone_marks_a_contract_that_ended_over_a_month_behind() -> None:
    u = Unstable("c", offered_load=0.98, backlog_hours=500.0, month_hours=217.0)
    assert not u.grows
    assert "0.98" in u.note and "500 h" in u.note and "not a steady state" in u.note
    assert "ever further" not in u.note


# ----------------------------------------------------------------------------------------------- M/M/c

MMC_SERVICE = 1.0  # E[S] [hours]
MMC_SERVERS = 2
MMC_MONTHS = 2


@pytest.mark.parametrize("rate", [1.5, 3.0])  # ρ = 0.75 (stable) and 1.5 (unstable)
def test_offered_load_is_lambda_es_over_c(rate: float) -> None:
    """M/M/c: the offered load's mean is λ·E[S]/c within its 99.9% t-interval over replications, whether the
    queue is stable or not (it counts the work arriving, not the work done)."""
    sc = load_scenario(
        mmc_scenario(MMC_SERVERS, rate, MMC_SERVICE, horizon_months=MMC_MONTHS, replications=40)
    )
    results = simulate(sc, workers=1)
    load = results.replications["offered_load"].to_numpy()
    rho = rate * MMC_SERVICE / MMC_SERVERS
    half = t_half_width(load)
    assert abs(load.mean() - rho) <= half, (load.mean(), rho, half)
    assert half < 0.05 * rho  # narrow enough for the comparison to mean something
    # Backlog = work offered − work done, and the pool does at most c·T hours: backlog ≥ (load − 1)·c·T.
    capacity = MMC_SERVERS * MMC_MONTHS * HOURS_PER_MONTH
    backlog = results.replications["backlog_hours_at_end"].to_numpy()
    assert np.all(backlog >= (load - 1.0) * capacity - 1e-6)
    flagged = [u.contract for u in unstable_contracts(sc, results.summary)]
    assert flagged == ([] if rho < 1 else ["mmc"])


# ----------------------------------------------------------------------------------------------- charts

RUN_PLOTS = (
    charts.plot_client_cost,
    charts.plot_provider_profit,
    charts.plot_downtime,
    charts.plot_revenue_band,
    charts.plot_ticket_times,
)


def three_contracts(**fields: Any) -> Any:
    return load_scenario(
        scenario(
            contracts=[tm_contract("tm"), fixed_price_contract("fixed"), managed_contract("managed")],
            **fields,
        )
    )


@pytest.fixture(scope="module")
def no_tickets() -> Results:
    """No incident at all: no tickets, NaN response times, zero revenue under break/fix (NaN margin)."""
    return simulate(three_contracts(categories=[category("cat", rate_per_user_month=0.0)]), replications=2)


@pytest.fixture(scope="module")
def unresolved() -> Results:
    """Every fix takes 20,000 hours: no ticket is resolved within the last finite time bin (8,760 h)."""
    effort = {"dist": "fixed", "mean": 20000.0}
    cat = category("cat", rate_per_user_month=2.0, effort_hours=effort)
    return simulate(three_contracts(categories=[cat], horizon_months=2), replications=2)


def every_run_chart(results: Results) -> None:
    for plot in RUN_PLOTS:
        fig, ax = plt.subplots()
        assert plot(results, ax=ax) is ax
        drawn(fig)
        drawn(plot(results).figure)
    for figure in (charts.comparison_figure, charts.revenue_figure, charts.service_figure):
        drawn(figure(results))
    for sentence in (
        charts.headline(results),
        charts.provider_headline(results),
        charts.service_headline(results),
    ):
        assert "nan" not in sentence.lower(), sentence


def test_charts_with_no_tickets(no_tickets: Results) -> None:
    assert no_tickets.times is not None and no_tickets.times.empty
    assert math.isnan(mean(no_tickets, "tm", "mean_response_hours"))
    assert math.isnan(mean(no_tickets, "tm", "provider_net_margin"))  # no revenue
    assert mean(no_tickets, "tm", "incidents") == 0
    every_run_chart(no_tickets)
    ax = charts.plot_ticket_times(no_tickets, "response", "P3")
    assert "no P3 tickets" in [t.get_text() for t in ax.texts]
    plt.close(ax.figure)
    assert charts.service_headline(no_tickets) == "No tickets in the measured months"
    ax = charts.plot_provider_profit(no_tickets)
    assert "nan" not in ax.get_title().lower()
    plt.close(ax.figure)


def test_charts_with_every_ticket_unresolved(unresolved: Results) -> None:
    t = unresolved.times
    assert t is not None
    resolution = t[t["measure"] == "resolution"]
    assert len(resolution) and np.isinf(resolution["upper_hours"]).all()
    every_run_chart(unresolved)
    ax = charts.plot_ticket_times(unresolved, "resolution", "P3")
    assert "no P3 ticket resolved within 8,760 h" in [t.get_text() for t in ax.texts]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [f"{name}: none resolved within 8,760 h" for name in unresolved.contracts]
    plt.close(ax.figure)
    # So much work is an unstable queue, and the headlines say so.
    assert [
        u.contract for u in unstable_contracts(unresolved.scenario, unresolved.summary)
    ] == unresolved.contracts
    assert "keep" in charts.headline(unresolved)


def test_charts_with_one_replication_have_no_intervals_but_draw() -> None:
    results = simulate(three_contracts(), replications=1)
    assert math.isnan(float(results.table("client_total_cost")["ci_low"].iloc[0]))
    every_run_chart(results)
    assert "no interval" in charts.headline(results)


def test_report_and_workbook_of_a_folder_without_tickets(no_tickets: Results, tmp_path: Path) -> None:
    folder = write_results(no_tickets, tmp_path / "empty")
    html = render_report(folder)
    assert 'id="unstable-note"' not in html and "nan%" not in html.lower()
    book = openpyxl.load_workbook(write_workbook(folder, tmp_path / "empty.xlsx"))
    queues = next(row[1] for row in book["About"].iter_rows(values_only=True) if row[0] == "Queues")
    assert str(queues).startswith("Every contract keeps up")


def test_transition_chart_with_no_clients_and_no_numbers() -> None:
    sc = load_scenario(ROOT / "scenarios" / "transition.yaml", ["horizon_months=3"])
    tr = simulate_transition(sc, replications=2)
    monthly = tr.monthly.copy()
    for column in monthly.columns:
        if column.startswith("clients_"):
            monthly[column] = 0
    monthly["revenue"] = 0.0
    monthly[["mrr_share", "cash"]] = np.nan
    summary = tr.summary.assign(mean=np.nan, ci_low=np.nan, ci_high=np.nan)
    fig = charts.transition_figure(TransitionResults(tr.scenario, monthly, summary))
    assert "nan" not in fig.get_suptitle().lower()
    drawn(fig)
    one = TransitionResults(tr.scenario, tr.monthly[tr.monthly["replication"] == 0], tr.summary)
    drawn(charts.transition_figure(one))


def test_incentive_charts_and_report_with_zero_incidents(tmp_path: Path) -> None:
    overrides = [
        "horizon_months=1",
        "warmup_months=0",
        "replications=2",
        "incidents.categories.*.rate_per_user_month=0",
        "incidents.categories.*.rate_per_site_month=0",
        "incidents.major.annual_probability=0",
        "incentives.refine=false",
        "incentives.levers.prevention_hours_per_endpoint_month.points=2",
        "incentives.design.per_downtime_hour=[0]",
        "incentives.design.per_breach=[0]",
    ]
    sc = load_scenario(ROOT / "scenarios" / "incentives.yaml", overrides)
    inc = analyze_incentives(sc, levers=("prevention_hours_per_endpoint_month",), workers=1)
    assert inc.misalignment["marginal_profit_per_incident"].isna().all()  # no incident: nothing to divide by
    drawn(charts.incentives_figure(inc))
    misalignment = inc.misalignment.copy()
    for column in misalignment.columns:
        if misalignment[column].dtype.kind == "f":
            misalignment[column] = np.nan
    unknown = IncentiveResults(
        sc, inc.evaluations, inc.best_response, misalignment, inc.curves.iloc[0:0], inc.design
    )
    assert "nan" not in charts.incentives_headline(unknown).lower()
    drawn(charts.incentives_figure(unknown))
    html = render_report(write_incentives(unknown, tmp_path / "incentives"))
    assert "$nan" not in html and "could be measured" in html


TORNADO_COLUMNS = [
    "parameter", "low_value", "high_value", "at_low", "at_low_se", "at_high", "at_high_se", "swing", "baseline",
    "outcome",
]  # fmt: skip


def test_tornado_with_no_rows_or_no_numbers() -> None:
    drawn(charts.tornado_figure(pd.DataFrame(columns=TORNADO_COLUMNS), "USD", "a", "b"))
    drawn(charts.tornado_figure(pd.DataFrame(), "USD", "a", "b"))
    row = dict.fromkeys(TORNADO_COLUMNS, np.nan) | {"parameter": "p", "low_value": 1.0, "high_value": 2.0}
    drawn(charts.tornado_figure(pd.DataFrame([row | {"outcome": "client_saving"}]), "USD", "a", "b"))
    zeros = row | {"outcome": "client_saving", "at_low": 0.0, "at_high": 0.0, "baseline": 0.0}
    drawn(charts.tornado_figure(pd.DataFrame([zeros]), "USD", "a", "b"))


def break_even_map(values: np.ndarray, prob: np.ndarray) -> BreakEvenMap:
    ny, nx = values.shape
    iy, ix = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    cells = pd.DataFrame(
        {
            "iy": iy.ravel(),
            "ix": ix.ravel(),
            "client_saving": values.ravel(),
            "client_saving_p": prob.ravel(),
            "provider_gain": values.ravel(),
            "provider_gain_p": prob.ravel(),
        }
    )
    x, y = np.arange(nx + 1.0), np.arange(ny + 1.0)
    return BreakEvenMap("x", "y", x, y, x[:-1] + 0.5, y[:-1] + 0.5, cells, "a", "b", "USD")


@pytest.mark.parametrize(
    ("values", "prob"),
    [
        (np.full((3, 3), np.nan), np.full((3, 3), np.nan)),  # no cell measured
        (np.zeros((3, 3)), np.full((3, 3), 0.5)),  # every cell at break-even
        (np.zeros((1, 1)), np.full((1, 1), 0.5)),
        (np.zeros((0, 0)), np.zeros((0, 0))),
    ],
)
def test_break_even_with_empty_or_flat_maps(values: np.ndarray, prob: np.ndarray) -> None:
    fig = charts.break_even_figure(break_even_map(values, prob))
    fig.savefig(io.BytesIO(), format="svg")
