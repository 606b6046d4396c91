"""What the provider pays (labour, tools, parts) as ledger lines, and a ledger's money by month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.base.records import BillingContext, Handling, TicketLog, field_names
from simulator.config import Overhead, Provider, Scenario
from simulator.contracts.ledger import Account, Ledger, Party
from simulator.engine.replication import ContractRun

__all__ = ["MonthlyFlows", "PoolMonths", "billing_context", "cost_ledger", "labour_hours", "monthly_flows"]


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


@dataclass(frozen=True)
class PoolMonths:
    """The technician pools of runs by month, one row per run (what :func:`labour_hours` takes)."""

    technicians_by_month: np.ndarray
    coverage_hours_by_month: np.ndarray
    productive_hours_by_month: np.ndarray
    busy_hours_by_month: np.ndarray
    offered_hours_by_month: np.ndarray
    overtime_hours: np.ndarray

    @staticmethod
    def of(runs: Sequence[ContractRun]) -> PoolMonths:
        def rows(name: str) -> np.ndarray:
            return np.vstack([getattr(run, name) for run in runs])

        return PoolMonths(
            technicians_by_month=rows("technicians_by_month"),
            coverage_hours_by_month=rows("coverage_hours_by_month"),
            productive_hours_by_month=rows("productive_hours_by_month"),
            busy_hours_by_month=rows("busy_hours_by_month"),
            offered_hours_by_month=rows("offered_hours_by_month"),
            overtime_hours=np.array([run.overtime_hours for run in runs], dtype=float),
        )


def labour_hours(provider: Provider, run: ContractRun | PoolMonths) -> np.ndarray:
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

    @staticmethod
    def of(
        revenue: np.ndarray,
        credits: np.ndarray,
        costs: tuple[np.ndarray, np.ndarray, np.ndarray],
        overhead: Overhead,
        log_flows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ) -> MonthlyFlows:
        """The flows from the revenue, the credits, the costs (labour, tools, parts) and the log's downtime cost,
        downtime hours, incidents, tickets and own-IT cost by month: the service delivery cost their sum, the
        overhead on the month's revenue."""
        labour, tools, parts = costs
        downtime_cost, downtime_hours, incidents, tickets, client_it_cost = log_flows
        return MonthlyFlows(
            revenue=revenue,
            credits=credits,
            labour=labour,
            tools=tools,
            parts=parts,
            cost=labour + tools + parts,
            overhead=overhead.fixed_per_month + overhead.share_of_revenue * np.maximum(revenue, 0.0),
            downtime_cost=downtime_cost,
            downtime_hours=downtime_hours,
            incidents=incidents,
            tickets=tickets,
            client_it_cost=client_it_cost,
        )

    def row(self, r: int) -> MonthlyFlows:
        """Row ``r`` of flows measured for several runs or price lists at once (each series 2-d, a row each)."""
        return MonthlyFlows(**{name: getattr(self, name)[r] for name in field_names(MonthlyFlows)})

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
    return MonthlyFlows.of(
        billed - credits,
        credits,
        (labour, tools, parts),
        overhead,
        (
            _by_month(log.month, log.downtime_cost, months),
            _by_month(log.month, log.downtime_user_hours, months),
            _by_month(log.month, None, months),
            _by_month(log.month[ticket], None, months),
            _by_month(log.month, log.client_it_cost, months),
        ),
    )
