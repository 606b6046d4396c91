"""Measuring runs (DESIGN.md §5): one dict of metrics per run and price list, and the money and counts by month.

One run, or several (the replications of a batch) side by side; the price-independent facts of the runs worked
out once for every price list they are billed under.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog, field_names, stacked
from simulator.config import Scenario
from simulator.contracts import Contract
from simulator.contracts.billing import bill
from simulator.contracts.ledger import Account, Ledger, Party, to_cents
from simulator.engine.replication import ContractRun

from .ledgers import MonthlyFlows, PoolMonths, cost_ledger, labour_hours
from .reductions import row_cvs, row_sums, segment_percentiles, segment_sums

__all__ = [
    "Bills",
    "Measured",
    "RunFacts",
    "bill_runs",
    "measure",
    "measure_levels",
    "measure_runs",
    "money_totals",
    "pool_figures",
    "run_facts",
]


def money_totals(flows: MonthlyFlows, measured: np.ndarray) -> list[dict[str, float]]:
    """The provider's and the client's money over the measured months [currency], with the margins [share], the
    monthly revenue's mean [currency/month] and the variability of monthly revenue and client cost: one dict per
    row of ``flows`` (its series 2-d, one row per run or price list)."""

    def total(x: np.ndarray) -> np.ndarray:
        return row_sums(x[:, measured])

    revenue, cost = flows.revenue, flows.cost
    revenues = total(revenue)
    labour, tools, parts, costs = total(flows.labour), total(flows.tools), total(flows.parts), total(cost)
    gross, net = total(revenue - cost), total(revenue - cost - flows.overhead)
    overhead = total(flows.overhead)
    downtime, own_it = total(flows.downtime_cost), total(flows.client_it_cost)
    months = int(measured.sum())
    revenue_cv = row_cvs(revenue[:, measured])
    client_monthly = (revenue + flows.downtime_cost + flows.client_it_cost)[:, measured]
    client_cv = row_cvs(client_monthly)
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
    of: np.ndarray | None  # the run of each row of ``tickets`` (None: one run)
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
    # Per run: their direct cost (hands-on and travel hours at the hour cost, parts) [currency].
    direct: np.ndarray

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
        of = None  # one run: no per-row array (a large run's log has millions of rows)
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
        month = log.month if mask is None else log.month[mask]
        index = month if of is None else (of if mask is None else of[mask]) * months + month
        return np.bincount(index, weights=weights, minlength=k * months).reshape(k, months).astype(float)

    def per_run(mask: np.ndarray) -> np.ndarray:
        return _per_run(of, mask, k).astype(float)

    provider = scenario.provider
    pools = PoolMonths.of(runs)
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
    counts = _per_run(of, in_window, k)
    windows = counts.astype(float)
    downtime_hours = by_month(None, log.downtime_user_hours)
    downtime = row_sums(downtime_hours[:, measured])
    user_years = float(ctx.users.sum()) * scenario.measured_months / 12.0
    figures = {
        "incidents": windows,
        "tickets": per_run(in_window & ticket),
        "onsite_tickets": per_run(in_window & ticket & log.onsite),
        "self_handled": per_run(in_window & (log.handling == Handling.SELF)),
        "auto_remediated": per_run(in_window & (log.handling == Handling.AUTO)),
        "client_it_handled": per_run(in_window & (log.handling == Handling.CLIENT_IT)),
        "client_it_hours": segment_sums(log.client_it_hours[in_window], counts),
        "recurrences": per_run(in_window & log.recurrence),
        "prevented": np.array([float(r.prevented_by_month[measured].sum()) for r in runs]),
        "stopped_by_security": np.array([float(r.stopped_by_month[measured].sum()) for r in runs]),
        "downtime_user_hours": downtime,
        "downtime_hours_per_user_year": downtime / user_years,
    }
    times = _ticket_times(log, of, k, ticket & in_window, ctx)
    hours = segment_sums((log.work_hours + log.travel_hours)[in_window], counts)
    direct = hours * provider.cost_per_technician_hour + segment_sums(log.parts_cost[in_window], counts)
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


def _per_run(of: np.ndarray | None, mask: np.ndarray, k: int) -> np.ndarray:
    """How many rows of ``mask`` each of ``k`` runs has (``of``: the run of each row; None: one run)."""
    return np.array([np.count_nonzero(mask)]) if of is None else np.bincount(of[mask], minlength=k)


def _ticket_times(
    log: TicketLog, of: np.ndarray | None, k: int, measured_tickets: np.ndarray, ctx: BillingContext
) -> list[dict[str, float]]:
    """Per run (``of``: the run of each row of ``log``, ``k`` runs): mean and 90th percentile of the measured
    tickets' response (created to started) and resolution (created to resolved) times [business hours]; NaN
    without tickets."""
    mt = measured_tickets
    counts = _per_run(of, mt, k)
    figures = {}
    for name, end in (("response", log.started[mt]), ("resolution", log.resolved[mt])):
        hours = ctx.calendar.business_hours_between(log.created[mt], end)
        with np.errstate(divide="ignore", invalid="ignore"):
            figures[f"mean_{name}_hours"] = np.where(counts > 0, segment_sums(hours, counts) / counts, np.nan)
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
    flows = MonthlyFlows.of(
        revenue,
        credits,
        (facts.labour[j], facts.tools[j], facts.parts[j]),
        facts.scenario.provider.overhead,
        (
            facts.downtime_cost[j],
            facts.downtime_hours[j],
            facts.incidents[j],
            facts.tickets_by_month[j],
            facts.client_it_cost[j],
        ),
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
    credits_measured = row_sums(credits[:, measured])
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
    scope = _per_run(facts.of, sla["in_scope"] & facts.in_window, k)
    breaches = _per_run(facts.of, sla["breach"] & facts.in_window, k).astype(float)
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
        return self.flows.row(k)

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
    return [
        (row, flows.row(r), billed.concat(facts.costs))
        for r, (row, billed) in enumerate(zip(rows, bills, strict=True))
    ]
