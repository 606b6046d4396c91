"""Measurement (DESIGN.md §5): one row of metrics per contract and replication, and one row per month.

Pure functions of the simulated log and the ledger; the warm-up months are cut here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .base.calendar import HOURS_PER_MONTH
from .base.records import BillingContext, Handling, PreventionLog, TicketLog, field_names, stacked
from .config import Overhead, Provider, Scenario
from .contracts import Contract
from .contracts.billing import bill
from .contracts.ledger import Account, Ledger, Party, to_cents
from .engine.replication import ContractRun

__all__ = [
    "METRICS",
    "MONTHLY_METRICS",
    "Bills",
    "Measured",
    "RunFacts",
    "Unstable",
    "bill_runs",
    "cost_ledger",
    "measure",
    "measure_levels",
    "measure_runs",
    "percentile",
    "productive_hours_per_month",
    "run_facts",
    "segment_percentiles",
    "sla_clock",
    "ticket_time_counts",
    "time_edges",
    "unstable_contracts",
]

METRICS: dict[str, str] = {
    "provider_revenue": "All the client pays the provider, net of SLA credits [currency]",
    "provider_labour_cost": "Technician labour cost (paid or worked hours) [currency]",
    "provider_tools_cost": "Monitoring/PSA tooling and security stack cost [currency]",
    "provider_parts_cost": "Parts at cost [currency]",
    "provider_cost": "Service delivery cost: labour + tools + parts [currency]",
    "provider_gross_profit": "Revenue − service delivery cost [currency]",
    "provider_gross_margin": "Gross profit / revenue [share]",
    "provider_overhead": "Overhead beyond service delivery: fixed per month + a share of revenue [currency]",
    "provider_net_profit": "Gross profit − overhead [currency]",
    "provider_net_margin": "Net profit / revenue [share]",
    "revenue_monthly_mean": "Mean monthly revenue [currency/month]",
    "revenue_monthly_cv": "Coefficient of variation of monthly revenue (lower = more predictable) [ratio]",
    "client_fees": "All the client pays the provider (= provider_revenue) [currency]",
    "client_downtime_cost": "Lost productivity, staff time on incidents not called in, site outages [currency]",
    "client_it_cost": "The client's own IT's time on the tickets it takes under co-management [currency]",
    "client_total_cost": "Fees + downtime cost + own IT cost [currency]",
    "client_monthly_cost_cv": "Coefficient of variation of the client's monthly total cost [ratio]",
    "client_monthly_cost_p95": "95th-percentile month of the client's total cost [currency/month]",
    "social_cost": "Provider's service delivery cost + client downtime and own IT cost (payments cancel; overhead "
    "left out) [currency]",
    "incidents": "Incidents that occurred (after prevention, with recurrences) [count]",
    "tickets": "Incidents that reached a technician [count]",
    "onsite_tickets": "Tickets with an on-site visit [count]",
    "self_handled": "Incidents the client's staff worked around without calling [count]",
    "auto_remediated": "Incidents fixed by monitoring without a technician [count]",
    "client_it_handled": "Tickets the client's own IT took under co-management, never reaching the provider "
    "[count]",
    "client_it_hours": "The client's own IT's hands-on hours on them [hours]",
    "recurrences": "Incidents that were recurrences of a fix that did not hold [count]",
    "prevented": "Incidents removed by prevention [count]",
    "stopped_by_security": "Incidents a security stack stopped (those prevention did not remove first) [count]",
    "downtime_user_hours": "Blocked user-hours (partial loss weighted) [user-hours]",
    "downtime_hours_per_user_year": "Downtime user-hours per user and year [hours/user-year]",
    "mean_response_hours": "Ticket created to technician starts, mean [business hours]",
    "p90_response_hours": "Ticket created to technician starts, 90th percentile [business hours]",
    "mean_resolution_hours": "Ticket created to resolved, mean [business hours]",
    "p90_resolution_hours": "Ticket created to resolved, 90th percentile [business hours]",
    "sla_breaches": "In-scope tickets that missed a response or resolution target [count]",
    "sla_compliance": "Share of in-scope tickets meeting both targets [share]",
    "sla_credits": "Credits paid to clients [currency]",
    "technician_utilization": "Hours worked / productive hours of the pool (its on-duty hours × productive / paid "
    "hours per technician) [share]",
    "technician_hours_worked": "Hands-on, travel and prevention hours [hours]",
    "prevention_hours": "Prevention hours worked [hours]",
    "offered_load": "Technician work arriving (tickets' hands-on and travel hours, prevention hours) / productive "
    "hours of the pool; 1 or more: work comes in at least as fast as the pool can do it and the queue grows "
    "without bound [ratio]",
    "backlog_hours_at_end": "Work still queued or in progress at the end of the horizon (done after it) [hours]",
    "marginal_profit_per_incident": "Revenue an incident brings (its invoice lines, less the average SLA credit per "
    "incident) minus its direct cost (hands-on and travel hours at the technician hour cost, parts) [currency]",
}

MONTHLY_METRICS = (
    "provider_revenue",
    "provider_cost",
    "provider_gross_profit",
    "provider_overhead",
    "provider_net_profit",
    "client_fees",
    "client_downtime_cost",
    "client_it_cost",
    "client_total_cost",
    "sla_credits",
    "incidents",
    "tickets",
    "downtime_user_hours",
)


def billing_context(scenario: Scenario, clients: Any) -> BillingContext:
    """The billing inputs of a scenario's client table."""
    return BillingContext(
        months=scenario.horizon_months,
        users=clients.users,
        endpoints=clients.endpoints,
        servers=clients.servers,
        category_names=(*(c.name for c in scenario.incidents.categories), "major"),
        calendar=scenario.calendar.users(),
    )


def labour_hours(provider: Provider, run: ContractRun | _PoolMonths) -> np.ndarray:
    """Technician hours the provider pays for, by month, in straight-time hours [hours] (``run``: one run, or
    several runs' pools with one row each).

    ``paid``: each slot of the pool is paid one technician's paid hours, and its on-duty hours beyond those at the
    overtime premium (a 50-hour business week is more than a 40-hour contract; 24x7 needs shift premiums); clearing
    the backlog left at the horizon is overtime in the last month. ``worked``: each hour worked carries its share
    of the paid but unproductive hours (leave, training, admin) and of the shared technicians' idle time:
    hours worked × paid / productive hours / shared utilisation.
    """
    if provider.labour_cost_basis == "worked":
        return run.busy_hours_by_month * provider.worked_hour_gross_up
    techs = run.technicians_by_month
    paid = provider.paid_hours_per_technician_month
    slot_hours = run.coverage_hours_by_month / np.maximum(techs, 1)
    labour = techs * (paid + np.maximum(slot_hours - paid, 0.0) * provider.overtime_premium)
    if provider.labour_cost_basis == "paid":
        labour[..., -1] += run.overtime_hours * provider.overtime_premium
        return labour
    # capacity: idle productive hours sold elsewhere; growth of the queue beyond the threshold bought at the premium;
    # what is queued at the end, up to the threshold, cleared with overtime as under ``paid``.
    cap = provider.capacity
    idle = np.maximum(run.productive_hours_by_month - run.busy_hours_by_month, 0.0)
    backlog = np.maximum(np.cumsum(run.offered_hours_by_month - run.busy_hours_by_month, axis=-1), 0.0)
    beyond = np.maximum(backlog - cap.backlog_threshold_hours, 0.0)
    bought = np.maximum(np.diff(beyond, prepend=0.0, axis=-1), 0.0)
    labour = labour - cap.idle_hour_value_share * idle + provider.overtime_premium * bought
    labour[..., -1] += np.minimum(run.overtime_hours, cap.backlog_threshold_hours) * provider.overtime_premium
    return labour


def cost_ledger(scenario: Scenario, run: ContractRun, ctx: BillingContext) -> Ledger:
    """The provider's real costs as ledger entries: labour (per month), tools (per month; the security stacks in
    lines of their own), parts."""
    provider = scenario.provider
    months = np.arange(ctx.months)
    labour = labour_hours(provider, run)
    lines: list[Any] = [
        (
            months,
            Party.PROVIDER,
            Party.STAFF,
            Account.COST_LABOUR,
            labour * provider.cost_per_technician_hour,
            None,
        )
    ]
    tools = run.monitored_endpoints_by_month * provider.tools_cost_per_endpoint_month
    lines.append((months, Party.PROVIDER, Party.VENDOR, Account.COST_TOOLS, tools, None))
    if run.security_cost_by_month.any():
        security = run.security_cost_by_month
        lines.append((months, Party.PROVIDER, Party.VENDOR, Account.COST_TOOLS, security, None))
    log = run.tickets
    t = log.handling == Handling.TICKET
    lines.append(
        (log.month[t], Party.PROVIDER, Party.SUPPLIER, Account.COST_PARTS, log.parts_cost[t], log.incident[t])
    )
    return Ledger.build(lines)


def _by_month(month: np.ndarray, weights: np.ndarray | None, months: int) -> np.ndarray:
    return np.bincount(month, weights=weights, minlength=months).astype(float)


def percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (its default, linear interpolation between the two nearest ranks, as NumPy
    computes it, NaN when ``x`` holds one) for a non-empty 1-d array, without the general function's set-up, which
    outweighs the work on the short arrays of a replication."""
    return float(segment_percentiles(x, np.array([len(x)]), q)[0])


def segment_percentiles(values: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """:func:`percentile` of each consecutive segment of ``values`` (``counts[k]`` values in the k-th; NaN for an
    empty one), all at once."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    run = np.repeat(np.arange(len(counts)), counts)
    ranked = (
        np.sort(values) if len(counts) == 1 else values[np.lexsort((values, run))]
    )  # NaN last, as np.sort
    n = counts.astype(float)
    virtual = (n - 1) * (q / 100)
    last = virtual >= n - 1  # NumPy takes the last value twice, its weight measured from index −1
    below = np.where(last, n - 1, np.floor(virtual))
    above = np.where(last, n - 1, below + 1)
    gamma = np.where(last, virtual + 1.0, virtual - below)
    full = counts > 0
    starts = (ends - counts)[full]
    a = np.full(len(counts), np.nan)
    b = np.full(len(counts), np.nan)
    a[full] = ranked[starts + below[full].astype(np.int64)]
    b[full] = ranked[starts + above[full].astype(np.int64)]
    with np.errstate(invalid="ignore"):
        step = b - a
        out = np.where(gamma >= 0.5, b - step * (1 - gamma), a + step * gamma)
    out[~full] = np.nan
    out[full] = np.where(np.isnan(ranked[ends[full] - 1]), np.nan, out[full])
    return out


def _cvs(x: np.ndarray) -> np.ndarray:
    """The coefficient of variation of each row of ``x``, ``np.std(row, ddof=1) / np.mean(row)`` as NumPy computes
    it for the row alone; NaN with fewer than two values or a mean not above 0."""
    k, n = x.shape
    if n < 2:
        return np.full(k, np.nan)
    mean = _sums(x) / n
    deviation = x - mean[:, None]
    std = np.sqrt(_sums(deviation * deviation) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, std / mean, np.nan)


@dataclass(frozen=True)
class MonthlyFlows:
    """Money and counts by month, every month of the horizon: money [currency/month], ``incidents`` and
    ``tickets`` [count/month], ``downtime_hours`` [user-hours/month]."""

    revenue: np.ndarray  # billed to the clients, net of SLA credits
    credits: np.ndarray  # SLA credits paid
    labour: np.ndarray
    tools: np.ndarray
    parts: np.ndarray
    cost: np.ndarray  # labour + tools + parts: service delivery
    overhead: np.ndarray  # beyond service delivery
    downtime_cost: np.ndarray
    downtime_hours: np.ndarray  # blocked user-hours
    incidents: np.ndarray
    tickets: np.ndarray
    client_it_cost: np.ndarray  # the client's own IT's time on the tickets it takes (co-managed)

    def series(self) -> dict[str, np.ndarray]:
        """The :data:`MONTHLY_METRICS` series."""
        return {
            "provider_revenue": self.revenue,
            "provider_cost": self.cost,
            "provider_gross_profit": self.revenue - self.cost,
            "provider_overhead": self.overhead,
            "provider_net_profit": self.revenue - self.cost - self.overhead,
            "client_fees": self.revenue,
            "client_downtime_cost": self.downtime_cost,
            "client_it_cost": self.client_it_cost,
            "client_total_cost": self.revenue + self.downtime_cost + self.client_it_cost,
            "sla_credits": self.credits,
            "incidents": self.incidents,
            "tickets": self.tickets,
            "downtime_user_hours": self.downtime_hours,
        }


def monthly_flows(ledger: Ledger, log: TicketLog, months: int, overhead: Overhead) -> MonthlyFlows:
    """The ledger's money flows by the month they are booked (in whole cents, shown in currency), the overhead on
    the month's revenue, and the log's downtime and counts by the month of each incident (of creation for a
    ticket)."""

    def flow(mask: np.ndarray) -> np.ndarray:
        return _by_month(ledger.month[mask], ledger.cents[mask].astype(float), months) / 100.0

    to_provider = (ledger.payer >= 0) & (ledger.payee == Party.PROVIDER)
    credit_mask = (ledger.payer == Party.PROVIDER) & (ledger.payee >= 0)
    billed = flow(to_provider)
    credits = flow(credit_mask)
    labour = flow(ledger.account == Account.COST_LABOUR)
    tools = flow(ledger.account == Account.COST_TOOLS)
    parts = flow(ledger.account == Account.COST_PARTS)
    ticket = log.handling == Handling.TICKET
    revenue = billed - credits
    return MonthlyFlows(
        revenue=revenue,
        credits=credits,
        labour=labour,
        tools=tools,
        parts=parts,
        cost=labour + tools + parts,
        overhead=overhead.fixed_per_month + overhead.share_of_revenue * np.maximum(revenue, 0.0),
        downtime_cost=_by_month(log.month, log.downtime_cost, months),
        downtime_hours=_by_month(log.month, log.downtime_user_hours, months),
        incidents=_by_month(log.month, None, months),
        tickets=_by_month(log.month[ticket], None, months),
        client_it_cost=_by_month(log.month, log.client_it_cost, months),
    )


def _sums(x: np.ndarray) -> np.ndarray:
    """Each row's sum, added as NumPy adds a 1-d array (pairwise): a 2-d array's sum along an axis may add in
    another order, and a run's figures must not depend on the runs measured beside it."""
    return np.array([np.add.reduce(row) for row in x], dtype=float).reshape(len(x))


def _segment_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The sums of consecutive segments of ``values`` (``counts[k]`` values in the k-th), each added as NumPy
    adds a 1-d array."""
    ends = np.cumsum(counts)
    return np.array(
        [np.add.reduce(values[end - count : end]) for end, count in zip(ends, counts, strict=True)],
        dtype=float,
    ).reshape(len(counts))


def money_totals(flows: MonthlyFlows, measured: np.ndarray) -> list[dict[str, float]]:
    """The provider's and the client's money over the measured months [currency], with the margins [share], the
    monthly revenue's mean [currency/month] and the variability of monthly revenue and client cost: one dict per
    row of ``flows`` (its series 2-d, one row per run or price list)."""

    def total(x: np.ndarray) -> np.ndarray:
        return _sums(x[:, measured])

    revenue, cost = flows.revenue, flows.cost
    revenues = total(revenue)
    labour, tools, parts, costs = total(flows.labour), total(flows.tools), total(flows.parts), total(cost)
    gross, net = total(revenue - cost), total(revenue - cost - flows.overhead)
    overhead = total(flows.overhead)
    downtime, own_it = total(flows.downtime_cost), total(flows.client_it_cost)
    months = int(measured.sum())
    revenue_cv = _cvs(revenue[:, measured])
    client_monthly = (revenue + flows.downtime_cost + flows.client_it_cost)[:, measured]
    client_cv = _cvs(client_monthly)
    client_p95 = segment_percentiles(client_monthly.ravel(), np.full(len(client_monthly), months), 95)
    rows = []
    for r, billed in enumerate(revenues.tolist()):

        def share(amount: float, billed: float = billed) -> float:
            return amount / billed if billed else float("nan")

        row: dict[str, float] = {
            "provider_revenue": billed,
            "provider_labour_cost": float(labour[r]),
            "provider_tools_cost": float(tools[r]),
            "provider_parts_cost": float(parts[r]),
            "provider_cost": float(costs[r]),
            "provider_gross_profit": float(gross[r]),
            "provider_gross_margin": share(float(gross[r])),
            "provider_overhead": float(overhead[r]),
            "provider_net_profit": float(net[r]),
            "provider_net_margin": share(float(net[r])),
            "revenue_monthly_mean": billed / months,
            "revenue_monthly_cv": float(revenue_cv[r]),
            "client_fees": billed,
            "client_downtime_cost": float(downtime[r]),
            "client_it_cost": float(own_it[r]),
        }
        row["client_total_cost"] = row["client_fees"] + row["client_downtime_cost"] + row["client_it_cost"]
        row["client_monthly_cost_cv"] = float(client_cv[r])
        row["client_monthly_cost_p95"] = float(client_p95[r])
        row["social_cost"] = row["provider_cost"] + row["client_downtime_cost"] + row["client_it_cost"]
        rows.append(row)
    return rows


@dataclass(frozen=True)
class _PoolMonths:
    """The technician pools of runs by month, one row per run (what :func:`labour_hours` takes)."""

    technicians_by_month: np.ndarray
    coverage_hours_by_month: np.ndarray
    productive_hours_by_month: np.ndarray
    busy_hours_by_month: np.ndarray
    offered_hours_by_month: np.ndarray
    overtime_hours: np.ndarray

    @staticmethod
    def of(runs: Sequence[ContractRun]) -> _PoolMonths:
        def rows(name: str) -> np.ndarray:
            return np.vstack([getattr(run, name) for run in runs])

        return _PoolMonths(
            technicians_by_month=rows("technicians_by_month"),
            coverage_hours_by_month=rows("coverage_hours_by_month"),
            productive_hours_by_month=rows("productive_hours_by_month"),
            busy_hours_by_month=rows("busy_hours_by_month"),
            offered_hours_by_month=rows("offered_hours_by_month"),
            overtime_hours=np.array([run.overtime_hours for run in runs], dtype=float),
        )


@dataclass(frozen=True)
class RunFacts:
    """What the metrics of runs take from the runs alone, whatever their prices: one run, or several (replications
    of the same clients) measured side by side. Computed once, they serve every price list the runs are billed
    under (the incentive analysis's SLA credit levels). Money and counts by month have one row per run."""

    scenario: Scenario
    runs: tuple[ContractRun, ...]
    ctx: BillingContext
    together: BillingContext
    """The billing context of the runs' clients together: the scenario's clients once per run (one run: ``ctx``)."""
    tickets: TicketLog
    """The runs' ticket logs one after the other, their clients numbered run by run (one run: its log)."""
    prevention: PreventionLog
    """Their prevention logs, likewise."""
    of: np.ndarray  # the run of each row of ``tickets``
    measured: np.ndarray  # by month: after the warm-up
    in_window: np.ndarray  # by row of ``tickets``: in a measured month
    labour: np.ndarray  # the provider's costs [currency/month], as its cost ledger books them
    tools: np.ndarray
    parts: np.ndarray
    downtime_cost: np.ndarray
    downtime_hours: np.ndarray
    incidents: np.ndarray
    tickets_by_month: np.ndarray
    client_it_cost: np.ndarray
    figures: tuple[dict[str, float], ...]
    """Per run: the incident counts and the ticket times over the measured months."""
    pool: tuple[dict[str, float], ...]
    """Per run: the technician pool's figures over the measured months."""
    windows: np.ndarray  # per run: incidents in the measured months
    direct: (
        np.ndarray
    )  # per run: their direct cost (hands-on and travel hours at the hour cost, parts) [currency]

    @cached_property
    def costs(self) -> Ledger:
        """The provider's cost ledger of the (one) run."""
        (run,) = self.runs
        return cost_ledger(self.scenario, run, self.ctx)


def _tiled(ctx: BillingContext, k: int) -> BillingContext:
    """``ctx`` for its clients ``k`` times over, numbered copy by copy."""

    def tiled(values: np.ndarray) -> np.ndarray:
        return np.tile(values, (k,) + (1,) * (values.ndim - 1))

    def maybe(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else tiled(values)

    return dataclasses.replace(
        ctx,
        users=tiled(ctx.users),
        endpoints=tiled(ctx.endpoints),
        servers=tiled(ctx.servers),
        active=maybe(ctx.active),
        onboarding_month=maybe(ctx.onboarding_month),
        contract_start=maybe(ctx.contract_start),
    )


def run_facts(scenario: Scenario, run: ContractRun | Sequence[ContractRun], ctx: BillingContext) -> RunFacts:
    """The price-independent facts of one run, or of several runs of the same clients side by side (see
    :class:`RunFacts`): every figure of a run is what measuring it alone gives, to the bit."""
    runs = (run,) if isinstance(run, ContractRun) else tuple(run)
    k, months, n = len(runs), ctx.months, len(ctx.users)
    if k == 1:
        log, prevention, together = runs[0].tickets, runs[0].prevention, ctx
        of = np.zeros(len(log), dtype=np.int64)
    else:
        batch = runs[0].batch
        if (
            batch is not None
            and batch.runs == k
            and all(r.batch is batch and r.place == i for i, r in enumerate(runs))
        ):
            log, prevention = batch.tickets, batch.prevention  # stacked already
        else:
            log = stacked(TicketLog, [r.tickets for r in runs], n)
            prevention = stacked(PreventionLog, [r.prevention for r in runs], n)
        together = _tiled(ctx, k)
        of = log.client // max(n, 1)
    measured = np.arange(months) >= scenario.warmup_months

    def by_month(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        # Per run and month: the rows' count, or the sum of their weights (in the rows' order).
        run, month = (of, log.month) if mask is None else (of[mask], log.month[mask])
        index = run * months + month
        return np.bincount(index, weights=weights, minlength=k * months).reshape(k, months).astype(float)

    def per_run(mask: np.ndarray) -> np.ndarray:
        return np.bincount(of[mask], minlength=k).astype(float)

    provider = scenario.provider
    pools = _PoolMonths.of(runs)
    # The cost ledger's lines by month, in whole cents: labour, tools (the security stacks in lines of their own,
    # added after the tools of their month), and parts.
    labour = to_cents(labour_hours(provider, pools) * provider.cost_per_technician_hour) / 100.0
    tools = to_cents(
        np.vstack([r.monitored_endpoints_by_month for r in runs]) * provider.tools_cost_per_endpoint_month
    )
    security = np.vstack(
        [
            to_cents(r.security_cost_by_month) if r.security_cost_by_month.any() else np.zeros(months)
            for r in runs
        ]
    )
    ticket = log.handling == Handling.TICKET
    parts = by_month(ticket, to_cents(log.parts_cost[ticket]).astype(float)) / 100.0
    in_window = measured[log.month]
    windows = per_run(in_window)
    counts = np.bincount(of[in_window], minlength=k)
    downtime_hours = by_month(None, log.downtime_user_hours)
    downtime = _sums(downtime_hours[:, measured])
    user_years = float(ctx.users.sum()) * scenario.measured_months / 12.0
    figures = {
        "incidents": windows,
        "tickets": per_run(in_window & ticket),
        "onsite_tickets": per_run(in_window & ticket & log.onsite),
        "self_handled": per_run(in_window & (log.handling == Handling.SELF)),
        "auto_remediated": per_run(in_window & (log.handling == Handling.AUTO)),
        "client_it_handled": per_run(in_window & (log.handling == Handling.CLIENT_IT)),
        "client_it_hours": _segment_sums(log.client_it_hours[in_window], counts),
        "recurrences": per_run(in_window & log.recurrence),
        "prevented": np.array([float(r.prevented_by_month[measured].sum()) for r in runs]),
        "stopped_by_security": np.array([float(r.stopped_by_month[measured].sum()) for r in runs]),
        "downtime_user_hours": downtime,
        "downtime_hours_per_user_year": downtime / user_years,
    }
    times = _ticket_times(log, of, k, ticket & in_window, ctx)
    hours = _segment_sums((log.work_hours + log.travel_hours)[in_window], counts)
    direct = hours * provider.cost_per_technician_hour + _segment_sums(log.parts_cost[in_window], counts)
    rows = tuple(
        {**{name: float(values[i]) for name, values in figures.items()}, **times[i]} for i in range(k)
    )
    return RunFacts(
        scenario=scenario,
        runs=runs,
        ctx=ctx,
        together=together,
        tickets=log,
        prevention=prevention,
        of=of,
        measured=measured,
        in_window=in_window,
        labour=labour,
        tools=(tools.astype(float) + security.astype(float)) / 100.0,
        parts=parts,
        downtime_cost=by_month(None, log.downtime_cost),
        downtime_hours=downtime_hours,
        incidents=by_month(),
        tickets_by_month=by_month(ticket),
        client_it_cost=by_month(None, log.client_it_cost),
        figures=rows,
        pool=tuple(pool_figures(run, measured) for run in runs),
        windows=windows,
        direct=direct,
    )


def _ticket_times(
    log: TicketLog, of: np.ndarray, k: int, measured_tickets: np.ndarray, ctx: BillingContext
) -> list[dict[str, float]]:
    """Per run (``of``: the run of each row of ``log``, ``k`` runs): mean and 90th percentile of the measured
    tickets' response (created to started) and resolution (created to resolved) times [business hours]; NaN
    without tickets."""
    mt = measured_tickets
    counts = np.bincount(of[mt], minlength=k)
    figures = {}
    for name, end in (("response", log.started[mt]), ("resolution", log.resolved[mt])):
        hours = ctx.calendar.business_hours_between(log.created[mt], end)
        with np.errstate(divide="ignore", invalid="ignore"):
            figures[f"mean_{name}_hours"] = np.where(
                counts > 0, _segment_sums(hours, counts) / counts, np.nan
            )
        figures[f"p90_{name}_hours"] = segment_percentiles(hours, counts, 90)
    order = ("mean_response_hours", "p90_response_hours", "mean_resolution_hours", "p90_resolution_hours")
    return [{name: float(figures[name][i]) for name in order} for i in range(k)]


def pool_figures(run: ContractRun, measured: np.ndarray) -> dict[str, float]:
    """The technician pool over the measured months: utilisation [share], hours worked and prevention hours
    [hours], offered load [ratio], and the backlog left at the end of the horizon [hours]."""
    m = measured
    productive = float(run.productive_hours_by_month[m].sum())
    return {
        "technician_utilization": float(run.busy_hours_by_month[m].sum()) / productive,
        "technician_hours_worked": float(run.busy_hours_by_month[m].sum()),
        "prevention_hours": float(run.prevention.hours[measured[run.prevention.month]].sum()),
        "offered_load": float(run.offered_hours_by_month[m].sum()) / productive
        if productive
        else float("nan"),
        "backlog_hours_at_end": run.overtime_hours,
    }


@dataclass(frozen=True)
class Bills:
    """One contract's bills of runs side by side: every line in one ledger, with the run each is on."""

    whole: Ledger
    run: np.ndarray  # the run of each line
    clients: int  # the scenario's clients
    together: bool  # the ledger's clients numbered run by run (else each run's own)

    def of(self, k: int) -> Ledger:
        """The bill of run ``k``, as billing it alone gives it."""
        mine = self.run == k
        fields = {name: getattr(self.whole, name)[mine] for name in field_names(Ledger)}
        if self.together:
            shift = k * self.clients
            for party in ("payer", "payee"):
                fields[party] = np.where(fields[party] >= 0, fields[party] - shift, fields[party])
        return Ledger(**fields)


def bill_runs(contract: Contract, facts: RunFacts) -> Bills:
    """The bills of the runs of ``facts`` (one contract's runs of several replications of the same clients):
    billed as one portfolio whose clients are theirs once per run. Every line, its amount and its place among the
    run's lines are those of billing the run alone (the kinds bill each client on its own); the fixed cost of a
    bill is paid once."""
    runs, n = facts.runs, len(facts.ctx.users)
    if len(runs) > 1 and n > 0:
        whole = bill(contract, facts.tickets, facts.prevention, facts.together)
        who = np.where(whole.payer >= 0, whole.payer, whole.payee)
        if not (who < 0).any():
            return Bills(whole, who // n, n, True)
        # A line with no client on it cannot be told to a run: each billed alone.
    alone = [bill(contract, run.tickets, run.prevention, facts.ctx) for run in runs]
    run_of = np.repeat(np.arange(len(alone)), [len(b) for b in alone])
    return Bills(alone[0] if len(alone) == 1 else Ledger.join(alone), run_of, n, False)


def _priced(
    facts: RunFacts, contracts: Sequence[Contract], ledger: Ledger, row_of: np.ndarray, run_of: np.ndarray
) -> tuple[list[dict[str, float]], MonthlyFlows]:
    """The metrics of rows of runs billed under price lists: row ``r`` is run ``run_of[r]`` of ``facts`` billed
    under ``contracts[r]``, its bill the lines of ``ledger`` where ``row_of`` is ``r``. One dict of metrics per
    row, and the money and counts by month with one row per row."""
    rows, months, measured = len(run_of), facts.ctx.months, facts.measured
    if np.isin(ledger.account, (Account.COST_LABOUR, Account.COST_TOOLS, Account.COST_PARTS)).any():
        raise ValueError("a bill holds a line of the provider's own costs")

    def flow(mask: np.ndarray) -> np.ndarray:
        index = row_of[mask] * months + ledger.month[mask]
        weights = ledger.cents[mask].astype(float)
        return np.bincount(index, weights=weights, minlength=rows * months).reshape(rows, months) / 100.0

    to_provider = (ledger.payer >= 0) & (ledger.payee == Party.PROVIDER)
    credits = flow((ledger.payer == Party.PROVIDER) & (ledger.payee >= 0))
    revenue = flow(to_provider) - credits
    j = run_of
    labour, tools, parts = facts.labour[j], facts.tools[j], facts.parts[j]
    overhead = facts.scenario.provider.overhead
    flows = MonthlyFlows(
        revenue=revenue,
        credits=credits,
        labour=labour,
        tools=tools,
        parts=parts,
        cost=labour + tools + parts,
        overhead=overhead.fixed_per_month + overhead.share_of_revenue * np.maximum(revenue, 0.0),
        downtime_cost=facts.downtime_cost[j],
        downtime_hours=facts.downtime_hours[j],
        incidents=facts.incidents[j],
        tickets=facts.tickets_by_month[j],
        client_it_cost=facts.client_it_cost[j],
    )
    money = money_totals(flows, measured)
    # What an incident brings: its invoice lines, less the average credit per incident [whole cents].
    in_month = measured[ledger.month]
    brought = np.zeros(rows, dtype=np.int64)
    line = (ledger.incident >= 0) & to_provider & in_month
    np.add.at(brought, row_of[line], ledger.cents[line])
    credited = np.zeros(rows, dtype=np.int64)
    credit = (ledger.account == Account.SLA_CREDIT) & in_month
    np.add.at(credited, row_of[credit], ledger.cents[credit])
    credits_measured = _sums(credits[:, measured])
    slas: dict[int, Any] = {}
    out = []
    for r, (contract, k) in enumerate(zip(contracts, run_of.tolist(), strict=True)):
        if id(contract) not in slas:
            slas[id(contract)] = _breaches(contract, facts)
        breaches = slas[id(contract)]
        n = float(facts.windows[k])
        out.append(
            {
                **money[r],
                **facts.figures[k],
                "sla_breaches": float("nan") if breaches is None else float(breaches[0][k]),
                "sla_compliance": float("nan") if breaches is None else float(breaches[1][k]),
                "sla_credits": float(credits_measured[r]),
                **facts.pool[k],
                "marginal_profit_per_incident": (
                    (float(brought[r]) / 100.0 - float(credited[r]) / 100.0 - float(facts.direct[k])) / n
                    if n
                    else float("nan")
                ),
            }
        )
    return out, flows


def _breaches(contract: Contract, facts: RunFacts) -> tuple[np.ndarray, np.ndarray] | None:
    """Per run of ``facts``: the measured in-scope tickets that breached the contract's SLA [count] and the
    compliance [share] (NaN without in-scope tickets); None without an SLA."""
    sla = contract.sla_outcomes(facts.tickets, facts.together)
    if sla is None:
        return None
    k = len(facts.runs)
    scope = np.bincount(facts.of[sla["in_scope"] & facts.in_window], minlength=k)
    breaches = np.bincount(facts.of[sla["breach"] & facts.in_window], minlength=k).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        compliance = np.where(scope > 0, 1.0 - breaches / np.maximum(scope, 1), np.nan)
    return breaches, compliance


@dataclass(frozen=True)
class Measured:
    """One contract's runs of several replications measured side by side (:func:`measure_runs`)."""

    rows: list[dict[str, float]]  # the metrics of each run
    flows: MonthlyFlows  # the money and counts by month, one row per run
    facts: RunFacts
    bills: Bills

    def monthly(self, k: int) -> MonthlyFlows:
        """Run ``k``'s money and counts by month."""
        return MonthlyFlows(**{name: getattr(self.flows, name)[k] for name in field_names(MonthlyFlows)})

    def ledger(self, k: int) -> Ledger:
        """Run ``k``'s full ledger: its bill and the provider's costs."""
        run = self.facts.runs[k]
        return self.bills.of(k).concat(cost_ledger(self.facts.scenario, run, self.facts.ctx))


def measure_runs(
    scenario: Scenario, contract: Contract, runs: Sequence[ContractRun], ctx: BillingContext
) -> Measured:
    """Every run of ``runs`` (one contract's runs of several replications of the same clients) billed and measured
    side by side: each run's metrics, money and counts by month and ledger are what :func:`measure` gives it
    alone, to the bit, at a fraction of the fixed cost of small runs."""
    facts = run_facts(scenario, runs, ctx)
    made = bill_runs(contract, facts)
    order = np.arange(len(runs))
    rows, flows = _priced(facts, [contract] * len(runs), made.whole, made.run, order)
    return Measured(rows, flows, facts, made)


def measure(
    scenario: Scenario,
    contract: Contract,
    run: ContractRun,
    ctx: BillingContext,
    facts: RunFacts | None = None,
    billed: Ledger | None = None,
) -> tuple[dict[str, float], MonthlyFlows, Ledger]:
    """Metrics over the measured months, the money and counts by month (all months), and the full ledger.
    ``facts``: the run's :func:`run_facts`, when several contracts (price lists) are measured on one run;
    ``billed``: the contract's bill of the run, when made already."""
    if facts is None:
        facts = run_facts(scenario, run, ctx)
    if billed is None:
        billed = bill(contract, run.tickets, run.prevention, ctx)
    return measure_levels(facts, [contract], [billed])[0]


def measure_levels(
    facts: RunFacts, contracts: Sequence[Contract], bills: Sequence[Ledger]
) -> list[tuple[dict[str, float], MonthlyFlows, Ledger]]:
    """:func:`measure` of the one run of ``facts`` under each of ``contracts`` (price lists differing in their
    SLA credits; ``bills``: each one's bill of the run), the price-independent work done once."""
    whole = bills[0] if len(bills) == 1 else Ledger.join(list(bills))
    row_of = np.repeat(np.arange(len(bills)), [len(b) for b in bills])
    rows, flows = _priced(facts, contracts, whole, row_of, np.zeros(len(bills), dtype=np.int64))
    names = field_names(MonthlyFlows)
    return [
        (row, MonthlyFlows(**{name: getattr(flows, name)[r] for name in names}), billed.concat(facts.costs))
        for r, (row, billed) in enumerate(zip(rows, bills, strict=True))
    ]


def sla_clock(scenario: Scenario) -> str:
    """The clock ticket times are shown on: the first SLA's clock (in the order of the contracts), else business
    hours."""
    slas = [c.sla_terms for c in scenario.contracts if c.sla_terms is not None]
    return slas[0].clock if slas else "business"


def time_edges(scenario: Scenario) -> np.ndarray:
    """Bin edges [hours] for ticket response and resolution times: one minute to a year on a log scale, plus
    every SLA target of the scenario (so the share within a target is exact, not interpolated)."""
    targets = [
        value + 1e-9
        for sla in (c.sla_terms for c in scenario.contracts)
        if sla is not None
        for t in sla.targets.values()
        for value in (t.response_hours, t.resolution_hours)
    ]
    return np.unique(np.r_[0.0, np.geomspace(1 / 60, 8760.0, 61), targets, np.inf])


def ticket_time_counts(
    scenario: Scenario, run: ContractRun, ctx: BillingContext, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Histograms of the measured tickets' response and resolution times on :func:`sla_clock`, one row per
    priority P1..P4: ``{"response": counts, "resolution": counts}``, each of shape (4, len(edges) − 1)."""
    log = run.tickets
    measured = np.arange(ctx.months) >= scenario.warmup_months
    mt = (log.handling == Handling.TICKET) & measured[log.month]
    created, started, resolved = log.created[mt], log.started[mt], log.resolved[mt]
    if sla_clock(scenario) == "business":
        times = {
            "response": ctx.calendar.business_hours_between(created, started),
            "resolution": ctx.calendar.business_hours_between(created, resolved),
        }
    else:
        times = {"response": started - created, "resolution": resolved - created}
    priority = np.clip(log.priority[mt], 1, 4)
    return {
        name: np.vstack([np.histogram(values[priority == p], bins=edges)[0] for p in (1, 2, 3, 4)])
        for name, values in times.items()
    }


# ----------------------------------------------------------------------------------------------- stability


def productive_hours_per_month(scenario: Scenario, contract: Contract) -> float:
    """Productive hours of a contract's technician pool in an average measured month [hours/month]: the pool's
    coverage calendar times its technicians times the productive share of paid hours, as the simulation counts
    them."""
    edges = scenario.calendar.coverage().business_time(
        np.arange(scenario.horizon_months + 1) * HOURS_PER_MONTH
    )
    per_month = np.diff(edges)[scenario.warmup_months :]
    return float(per_month.mean()) * contract.policy.technicians * scenario.provider.availability


@dataclass(frozen=True)
class Unstable:
    """A contract whose queue does not keep up (see :func:`unstable_contracts`), with the numbers that say so:
    means over replications."""

    contract: str
    offered_load: float
    """Work arriving / productive hours of the pool [ratio]."""
    backlog_hours: float
    """Work still queued or in progress at the end of the horizon [hours]."""
    month_hours: float
    """On-duty hours of the pool in a month [hours]."""
    label: str = ""
    """How sentences name the contract (its label; empty: its name)."""

    @property
    def grows(self) -> bool:
        """Whether the offered load is 1 or more: the queue grows without bound, however long the horizon."""
        return self.offered_load >= 1.0

    @property
    def reason(self) -> str:
        """What shows it, in a few words."""
        if self.grows:
            return f"offered load {self.offered_load:.2f}"
        return f"{self.backlog_hours:,.0f} h of work queued at the end"

    @property
    def meaning(self) -> str:
        """What its figures then describe."""
        if self.grows:
            return "a provider falling ever further behind"
        return "a provider that fell behind within the horizon, not a steady state"

    @property
    def note(self) -> str:
        """One sentence: which contract, its offered load, the backlog and what it means."""
        months = self.backlog_hours / self.month_hours if self.month_hours > 0 else float("nan")
        backlog = (
            f"{self.backlog_hours:,.0f} h of work still queued at the end "
            f"({months:.1f} months of productive hours)"
        )
        if self.grows:
            numbers = (
                f"offered load {self.offered_load:.2f} (1 or more: work comes in at least as fast as its technicians "
                f"can do it, so the queue grows without bound) and {backlog}"
            )
        else:
            numbers = (
                f"offered load {self.offered_load:.2f}, but {backlog}, more than a month of its pool's productive "
                f"hours ({self.month_hours:,.0f} h)"
            )
        return (
            f"{self.label or self.contract} does not keep up: {numbers}; its figures describe {self.meaning}; add "
            "technicians or lower the load."
        )


def unstable_contracts(scenario: Scenario, summary: pd.DataFrame) -> list[Unstable]:
    """The contracts whose queue does not keep up, in scenario order, from a run's summary (``contract, metric,
    mean``; a summary without the two metrics gives none).

    A queue keeps up when its offered load ρ (work arriving / productive hours) is below 1: a queue fed work at
    least as fast as its servers can do it (ρ ≥ 1) has no steady state, its backlog grows without bound (by
    (ρ − 1) × productive hours a month when ρ > 1). So a contract does not keep up when the mean offered load over
    replications is 1 or more, or when the mean backlog left at the end exceeds one month of the pool's productive
    hours: a stable queue's expected backlog is a fixed number of hours (λ·E[S²] / (2(1 − ρ)) for one server,
    Pollaczek–Khinchine), far below a month of productive hours unless ρ is close to 1, so a pool that ends more
    than a month behind is one whose queue did not settle within the horizon.
    """
    means = summary.set_index(["contract", "metric"])["mean"]
    out = []
    for contract in scenario.contracts:
        key_load, key_backlog = (contract.name, "offered_load"), (contract.name, "backlog_hours_at_end")
        if key_load not in means.index or key_backlog not in means.index:
            continue
        load, backlog = float(means[key_load]), float(means[key_backlog])
        month = productive_hours_per_month(scenario, contract)
        if load >= 1.0 or backlog > month:
            out.append(Unstable(contract.name, load, backlog, month, contract.shown))
    return out
