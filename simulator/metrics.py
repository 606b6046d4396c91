"""Measurement (DESIGN.md §5): one row of metrics per contract and replication, and one row per month.

Pure functions of the simulated log and the ledger; the warm-up months are cut here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .base.calendar import HOURS_PER_MONTH
from .base.records import BillingContext, Handling, PreventionLog, TicketLog, field_names, stacked
from .config import Overhead, Provider, Scenario
from .contracts import Contract
from .contracts.billing import bill
from .contracts.ledger import Account, Ledger, Party
from .engine.replication import ContractRun

__all__ = [
    "METRICS",
    "MONTHLY_METRICS",
    "Unstable",
    "bills",
    "cost_ledger",
    "measure",
    "productive_hours_per_month",
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


def labour_hours(provider: Provider, run: ContractRun) -> np.ndarray:
    """Technician hours the provider pays for, by month, in straight-time hours [hours].

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
        labour[-1] += run.overtime_hours * provider.overtime_premium
        return labour
    # capacity: idle productive hours sold elsewhere; growth of the queue beyond the threshold bought at the premium;
    # what is queued at the end, up to the threshold, cleared with overtime as under ``paid``.
    cap = provider.capacity
    idle = np.maximum(run.productive_hours_by_month - run.busy_hours_by_month, 0.0)
    backlog = np.maximum(np.cumsum(run.offered_hours_by_month - run.busy_hours_by_month), 0.0)
    beyond = np.maximum(backlog - cap.backlog_threshold_hours, 0.0)
    bought = np.maximum(np.diff(beyond, prepend=0.0), 0.0)
    labour = labour - cap.idle_hour_value_share * idle + provider.overtime_premium * bought
    labour[-1] += min(run.overtime_hours, cap.backlog_threshold_hours) * provider.overtime_premium
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
    ranked = np.sort(x)
    n = len(ranked)
    if math.isnan(ranked[-1]):
        return float("nan")
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:  # NumPy takes the last value twice, its weight measured from index −1
        below = above = n - 1
        gamma = virtual + 1.0
    else:
        below = math.floor(virtual)
        above = below + 1
        gamma = virtual - below
    a, b = float(ranked[below]), float(ranked[above])
    step = b - a
    return b - step * (1 - gamma) if gamma >= 0.5 else a + step * gamma


def _cv(x: np.ndarray) -> float:
    mean = float(np.mean(x)) if len(x) else 0.0
    return float(np.std(x, ddof=1) / mean) if len(x) > 1 and mean > 0 else float("nan")


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


def money_totals(flows: MonthlyFlows, measured: np.ndarray) -> dict[str, float]:
    """The provider's and the client's money over the measured months [currency], with the margins [share], the
    monthly revenue's mean [currency/month] and the variability of monthly revenue and client cost."""

    def total(x: np.ndarray) -> float:
        return float(x[measured].sum())

    revenue, cost = flows.revenue, flows.cost
    row: dict[str, float] = {
        "provider_revenue": total(revenue),
        "provider_labour_cost": total(flows.labour),
        "provider_tools_cost": total(flows.tools),
        "provider_parts_cost": total(flows.parts),
        "provider_cost": total(cost),
    }

    def share(amount: float) -> float:
        return amount / row["provider_revenue"] if row["provider_revenue"] else float("nan")

    gross = total(revenue - cost)
    net = total(revenue - cost - flows.overhead)
    row["provider_gross_profit"] = gross
    row["provider_gross_margin"] = share(gross)
    row["provider_overhead"] = total(flows.overhead)
    row["provider_net_profit"] = net
    row["provider_net_margin"] = share(net)
    row["revenue_monthly_mean"] = float(revenue[measured].mean())
    row["revenue_monthly_cv"] = _cv(revenue[measured])
    row["client_fees"] = row["provider_revenue"]
    row["client_downtime_cost"] = total(flows.downtime_cost)
    row["client_it_cost"] = total(flows.client_it_cost)
    row["client_total_cost"] = row["client_fees"] + row["client_downtime_cost"] + row["client_it_cost"]
    client_monthly = (revenue + flows.downtime_cost + flows.client_it_cost)[measured]
    row["client_monthly_cost_cv"] = _cv(client_monthly)
    row["client_monthly_cost_p95"] = percentile(client_monthly, 95)
    row["social_cost"] = row["provider_cost"] + row["client_downtime_cost"] + row["client_it_cost"]
    return row


def incident_counts(
    scenario: Scenario,
    run: ContractRun,
    flows: MonthlyFlows,
    ctx: BillingContext,
    in_window: np.ndarray,
    measured: np.ndarray,
) -> dict[str, float]:
    """Incidents of the measured months by how they were handled [count], and the downtime they caused
    [user-hours, hours/user-year]."""
    log = run.tickets
    row = {
        "incidents": float(in_window.sum()),
        "tickets": float((in_window & (log.handling == Handling.TICKET)).sum()),
        "onsite_tickets": float((in_window & (log.handling == Handling.TICKET) & log.onsite).sum()),
        "self_handled": float((in_window & (log.handling == Handling.SELF)).sum()),
        "auto_remediated": float((in_window & (log.handling == Handling.AUTO)).sum()),
        "client_it_handled": float((in_window & (log.handling == Handling.CLIENT_IT)).sum()),
        "client_it_hours": float(log.client_it_hours[in_window].sum()),
        "recurrences": float((in_window & log.recurrence).sum()),
        "prevented": float(run.prevented_by_month[measured].sum()),
        "stopped_by_security": float(run.stopped_by_month[measured].sum()),
        "downtime_user_hours": float(flows.downtime_hours[measured].sum()),
    }
    user_years = float(ctx.users.sum()) * scenario.measured_months / 12.0
    row["downtime_hours_per_user_year"] = row["downtime_user_hours"] / user_years
    return row


def ticket_times(log: TicketLog, measured_tickets: np.ndarray, ctx: BillingContext) -> dict[str, float]:
    """Mean and 90th percentile of the measured tickets' response (created to started) and resolution (created to
    resolved) times [business hours]; NaN without tickets."""
    users_cal = ctx.calendar
    mt = measured_tickets
    response = users_cal.business_hours_between(log.created[mt], log.started[mt])
    resolution = users_cal.business_hours_between(log.created[mt], log.resolved[mt])
    return {
        "mean_response_hours": float(response.mean()) if len(response) else float("nan"),
        "p90_response_hours": percentile(response, 90) if len(response) else float("nan"),
        "mean_resolution_hours": float(resolution.mean()) if len(resolution) else float("nan"),
        "p90_resolution_hours": percentile(resolution, 90) if len(resolution) else float("nan"),
    }


def sla_figures(
    contract: Contract,
    log: TicketLog,
    ctx: BillingContext,
    flows: MonthlyFlows,
    in_window: np.ndarray,
    measured: np.ndarray,
) -> dict[str, float]:
    """Breaches [count] and compliance [share] of the measured in-scope tickets (NaN without an SLA), and the
    credits paid over the measured months [currency]."""
    sla = contract.sla_outcomes(log, ctx)
    if sla is not None:
        scope = sla["in_scope"] & in_window
        breaches = float((sla["breach"] & in_window).sum())
        compliance = 1.0 - breaches / scope.sum() if scope.sum() else float("nan")
    else:
        breaches = float("nan")
        compliance = float("nan")
    return {
        "sla_breaches": breaches,
        "sla_compliance": compliance,
        "sla_credits": float(flows.credits[measured].sum()),
    }


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


def bills(contract: Contract, runs: Sequence[ContractRun], ctx: BillingContext) -> list[Ledger]:
    """The bill of each of ``runs`` (one contract's runs of several replications of the same clients): billed as
    one portfolio whose clients are theirs once per replication, the ledger then split by client. Every line, its
    amount and its place among the run's lines are those of billing the run alone (the kinds bill each client on
    its own); the fixed cost of a bill is paid once."""
    n = len(ctx.users)

    def alone() -> list[Ledger]:
        return [bill(contract, run.tickets, run.prevention, ctx) for run in runs]

    if len(runs) == 1 or n == 0:
        return alone()
    k = len(runs)

    def tiled(values: np.ndarray) -> np.ndarray:
        return np.tile(values, (k,) + (1,) * (values.ndim - 1))

    many = dataclasses.replace(
        ctx,
        users=tiled(ctx.users),
        endpoints=tiled(ctx.endpoints),
        servers=tiled(ctx.servers),
        active=None if ctx.active is None else tiled(ctx.active),
        onboarding_month=None if ctx.onboarding_month is None else tiled(ctx.onboarding_month),
        contract_start=None if ctx.contract_start is None else tiled(ctx.contract_start),
    )
    whole = bill(
        contract,
        stacked(TicketLog, [r.tickets for r in runs], n),
        stacked(PreventionLog, [r.prevention for r in runs], n),
        many,
    )
    who = np.where(whole.payer >= 0, whole.payer, whole.payee)
    if (who < 0).any():  # a line with no client on it cannot be told to a replication: bill each alone
        return alone()
    of = who // n
    out = []
    for i in range(k):
        mine = of == i
        fields = {name: getattr(whole, name)[mine] for name in field_names(Ledger)}
        for party in ("payer", "payee"):
            fields[party] = np.where(fields[party] >= 0, fields[party] - i * n, fields[party])
        out.append(Ledger(**fields))
    return out


@dataclass(frozen=True)
class RunFacts:
    """What the metrics of one run take from the run alone, whatever its prices: the provider's cost ledger, the
    measured months (``measured``, by month; ``in_window``, by log entry), the ticket times and the pool's
    figures. Computed once, they serve every price list the run is billed under (the incentive analysis's SLA
    credit levels)."""

    costs: Ledger
    measured: np.ndarray
    in_window: np.ndarray
    times: dict[str, float]
    pool: dict[str, float]


def run_facts(scenario: Scenario, run: ContractRun, ctx: BillingContext) -> RunFacts:
    """The price-independent facts of ``run`` (see :class:`RunFacts`)."""
    log = run.tickets
    measured = np.arange(ctx.months) >= scenario.warmup_months
    in_window = measured[log.month]
    measured_tickets = (log.handling == Handling.TICKET) & in_window
    return RunFacts(
        costs=cost_ledger(scenario, run, ctx),
        measured=measured,
        in_window=in_window,
        times=ticket_times(log, measured_tickets, ctx),
        pool=pool_figures(run, measured),
    )


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
    log = run.tickets
    if billed is None:
        billed = bill(contract, log, run.prevention, ctx)
    ledger = billed.concat(facts.costs)
    flows = monthly_flows(ledger, log, ctx.months, scenario.provider.overhead)
    measured, in_window = facts.measured, facts.in_window
    row: dict[str, float] = {
        **money_totals(flows, measured),
        **incident_counts(scenario, run, flows, ctx, in_window, measured),
        **facts.times,
        **sla_figures(contract, log, ctx, flows, in_window, measured),
        **facts.pool,
        "marginal_profit_per_incident": _marginal_profit(scenario, log, ledger, in_window, measured),
    }
    return row, flows, ledger


def _marginal_profit(
    scenario: Scenario, log: Any, ledger: Ledger, in_window: np.ndarray, measured: np.ndarray
) -> float:
    """Average profit one more incident brings the provider: what is billed for it, less the average credit per
    incident, less its direct cost (technician hours valued at the hour cost — the long-run view — and parts)."""
    n = int(in_window.sum())
    if n == 0:
        return float("nan")
    line = (
        (ledger.incident >= 0)
        & (ledger.payer >= 0)
        & (ledger.payee == Party.PROVIDER)
        & measured[ledger.month]
    )
    revenue = float(ledger.cents[line].sum()) / 100.0
    credit = (ledger.account == Account.SLA_CREDIT) & measured[ledger.month]
    credits = float(ledger.cents[credit].sum()) / 100.0
    hours = float((log.work_hours[in_window] + log.travel_hours[in_window]).sum())
    direct = hours * scenario.provider.cost_per_technician_hour + float(log.parts_cost[in_window].sum())
    return (revenue - credits - direct) / n


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
