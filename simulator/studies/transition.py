"""Portfolio over time (DESIGN.md §4b): a provider's clients month by month while it moves to managed services.

Each strategy is run on the same incidents and the same decision draws (offers, acceptances, churn, sales wins:
common random numbers), so strategies differ only by what they decide. The month loop is causal: at the start
of month m the provider applies sales wins and migration offers, and, from the outcomes simulated so far, churn
at renewal and hiring. Whenever the plan changes, the whole portfolio is simulated again on the same incidents;
months before the change come out identical, so earlier decisions stay valid.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulator.base.records import BillingContext, Handling
from simulator.base.rng import stream
from simulator.config import AcceptanceLogit, Finance, Portfolio, Scenario, Strategy
from simulator.contracts.billing import bill
from simulator.contracts.ledger import Account, Ledger, Party
from simulator.engine.incidents import ClientTable, client_table, generate_incidents
from simulator.engine.replication import ContractRun, Plan, simulate_plan
from simulator.metrics import billing_context, cost_ledger

from .finance import (
    annual_mirr,
    collect,
    enterprise_value,
    interpolate_multiple,
    ltv_to_cac,
    npv,
    retention,
    trailing_sum,
    valuation_multiple,
)
from .run import run_tasks

__all__ = [
    "TransitionResults",
    "run_strategy",
    "sales_contract",
    "simulate_transition",
    "slot_scenario",
    "summarize_transition",
]


@dataclass(frozen=True)
class Slots:
    """Client slots: the starting clients, then the prospects sales may win, as rows of one client table."""

    scenario: Scenario  # the scenario with each segment's count = its slots
    clients: ClientTable
    start_contract: np.ndarray  # contract index at month 0, −1 for prospects
    prospect: np.ndarray  # bool


def slot_scenario(scenario: Scenario) -> Slots:
    """Expand the portfolio into client slots (starting clients first within each segment, then prospects)."""
    p = _portfolio(scenario)
    names = [c.name for c in scenario.contracts]
    starting: dict[str, list[int]] = {c.name: [] for c in scenario.clients}
    for entry in p.starting:
        starting[entry.segment] += [names.index(entry.contract)] * entry.count
    selling = p.sales.staff > 0 or any(s.sales_staff for s in p.strategies)
    prospects = {
        c.name: math.ceil(p.sales.max_new_clients * p.sales.segment_mix.get(c.name, 0.0)) if selling else 0
        for c in scenario.clients
    }
    counts = {name: len(starting[name]) + prospects[name] for name in starting}
    kept = [
        seg.model_copy(update={"count": counts[seg.name]}) for seg in scenario.clients if counts[seg.name]
    ]
    derived = scenario.model_copy(update={"clients": kept})
    contract = np.concatenate([starting[s.name] + [-1] * prospects[s.name] for s in kept]).astype(np.int64)
    return Slots(derived, client_table(derived), contract, contract < 0)


def _portfolio(scenario: Scenario) -> Portfolio:
    if scenario.portfolio is None:
        raise ValueError(
            f"scenario '{scenario.name}' has no `portfolio:` section; add one to run a transition"
        )
    return scenario.portfolio


# ----------------------------------------------------------------------------------------------- the books


@dataclass
class Books:
    """Money and outcomes of one simulated plan, per month and per client-month."""

    ledger: Ledger
    fees: np.ndarray  # (clients, months) what each client paid
    downtime: np.ndarray  # (clients, months) blocked user-hours
    breaches: np.ndarray  # (clients, months) SLA breaches
    run: ContractRun


def _books(
    scenario: Scenario,
    slots: Slots,
    plan: Plan,
    run: ContractRun,
    onboarding: np.ndarray,
    extra: list[Any],
    began: np.ndarray,
) -> Books:
    """The ledger of a plan and the client outcomes churn looks at; ``began`` is each client's contract start at
    the beginning of the horizon (negative for the clients already on a contract)."""
    months = scenario.horizon_months
    base = billing_context(slots.scenario, slots.clients)
    n = slots.clients.count
    ledger = cost_ledger(scenario, run, base)
    breaches = np.zeros((n, months))
    for i, contract in enumerate(plan.contracts):
        active = plan.assignment == i
        if not active.any() and not (run.ticket_contract == i).any():
            continue
        log = run.tickets.take(run.ticket_contract == i)
        prevention = run.prevention.take(run.prevention_contract == i)
        due = np.where(onboarding[:, 1] == i, onboarding[:, 0], -1)
        first = np.where(active.any(axis=1), active.argmax(axis=1), 0)
        ctx = BillingContext(
            base.months,
            base.users,
            base.endpoints,
            base.servers,
            base.category_names,
            base.calendar,
            active=active,
            onboarding_month=due,
            contract_start=np.where(first == 0, np.minimum(began, 0), first),
        )
        ledger = ledger.concat(bill(contract, log, prevention, ctx))
        sla = contract.sla_outcomes(log, ctx)
        if sla is not None:
            np.add.at(breaches, (log.client[sla["breach"]], log.month[sla["breach"]]), 1.0)
    ledger = ledger.concat(Ledger.build(extra)) if extra else ledger
    fees = ledger.payments_by_client_month((n, months))
    downtime = np.zeros((n, months))
    log = run.tickets
    np.add.at(downtime, (log.client, log.month), log.downtime_user_hours)
    return Books(ledger, fees, downtime, breaches, run)


# ----------------------------------------------------------------------------------------------- one strategy


@dataclass
class StrategyRun:
    """The final plan of one strategy in one replication, its books and its client movements."""

    plan: Plan
    books: Books
    won: np.ndarray  # (months,)
    churned: np.ndarray
    migrated: np.ndarray
    hires: np.ndarray


def run_strategy(scenario: Scenario, strategy: Strategy, replication: int, seed: int) -> StrategyRun:
    """Follow the portfolio month by month under one strategy: each month sales wins, migration offers, then
    churn at renewal and hiring from the outcomes simulated so far."""
    walk = _Walk(scenario, strategy, replication, seed)
    for m in range(scenario.horizon_months):
        walk.sales(m)
        walk.offers(m)
        walk.renewals_and_hiring(m)
    return walk.finish()


class _Walk:
    """The state of one strategy's month-by-month walk: who is on which contract from when, the technician pool,
    what happened each month, and the cost lines that are not about incidents."""

    def __init__(self, scenario: Scenario, strategy: Strategy, replication: int, seed: int) -> None:
        p = _portfolio(scenario)
        self.scenario, self.strategy, self.replication, self.seed, self.p = (
            scenario,
            strategy,
            replication,
            seed,
            p,
        )
        self.slots = slot_scenario(scenario)
        self.clients = self.slots.clients
        n, months = self.clients.count, scenario.horizon_months
        self.n, self.months = n, months
        self.contracts = tuple(scenario.contracts)
        self.breakfix = np.array([c.break_fix for c in self.contracts])
        self.incidents = generate_incidents(self.slots.scenario, self.clients, replication, seed)

        # Decision draws, shared by every strategy.
        self.u_offer = stream(seed, replication, "portfolio/offer").random((n, months))
        self.u_accept = stream(seed, replication, "portfolio/accept").random((n, months))
        self.u_churn = stream(seed, replication, "portfolio/churn").random((n, months))
        staff = p.sales.staff if strategy.sales_staff is None else strategy.sales_staff
        sales_rng = stream(seed, replication, "portfolio/sales")
        # Inverse-CDF Poisson draws: more sales staff win at least as many clients in every month.
        self.wins = stats.poisson.ppf(sales_rng.random(months), staff * p.sales.wins_per_staff_month).astype(
            np.int64
        )
        self.u_segment = sales_rng.random(p.sales.max_new_clients + 1)

        self.assignment = np.repeat(self.slots.start_contract[:, None], months, axis=1)
        # Starting clients' anniversaries are spread over the term.
        self.start = np.where(self.slots.prospect, 0, -(np.arange(n) % p.term_months)).astype(np.int64)
        self.began = self.start.copy()
        self.onboarding = np.full((n, 2), -1, dtype=np.int64)  # (month due, contract)
        self.technicians = np.full(months, p.hiring.initial_technicians, dtype=np.int64)
        self.won, self.churned, self.migrated, self.hires = (
            np.zeros(months, dtype=np.int64) for _ in range(4)
        )
        self.sales_contract = sales_contract(scenario, strategy)
        self.mix_names = list(p.sales.segment_mix)
        self.mix_cdf = np.cumsum([p.sales.segment_mix[s] for s in self.mix_names])
        self.segment_names = [c.name for c in self.slots.scenario.clients]
        names = [c.name for c in self.contracts]
        self.target = names.index(strategy.to) if strategy.to else -1
        platform_at_start = any(c >= 0 and _on_platform(self.contracts[c]) for c in self.slots.start_contract)
        self.first_managed = 0 if platform_at_start else months
        self.hire_ready = 0
        self.win_index = 0
        self.extra: list[Any] = [
            (
                np.arange(months),
                Party.PROVIDER,
                Party.STAFF,
                Account.COST_SALES,
                np.full(months, staff * p.sales.cost_per_staff_month),
                None,
            )
        ]
        self.used = ~self.slots.prospect
        self.books: Books | None = None
        self.stale = True
        self.static_cost: dict[int, np.ndarray] = {}

    def plan(self) -> Plan:
        """The plan so far: contracts month by month, the pool, the tools rollout ramp."""
        p, months = self.p, self.months
        ramp = np.clip(
            (np.arange(months) - self.first_managed + 1) / max(p.tools_rollout_months, 1), 0.0, 1.0
        )
        ramp = (
            np.where(np.arange(months) >= self.first_managed, ramp, 1.0)
            if p.tools_rollout_months
            else np.ones(months)
        )
        return Plan(self.contracts, self.assignment.copy(), self.technicians.copy(), ramp)

    def join(self, slot: int, m: int, contract: int) -> None:
        """A client starts a contract in month m (a managed one with onboarding; the platform from the first
        managed or monitored contract on)."""
        self.assignment[slot, m:] = contract
        self.start[slot] = m
        if _on_platform(self.contracts[contract]):
            self.first_managed = min(self.first_managed, m)
        if self.contracts[contract].managed:
            self.onboarding[slot] = (m, contract)
            hours_cost = self.p.onboarding_hours * self.scenario.provider.cost_per_technician_hour
            self.extra.append(
                (
                    np.array([m]),
                    Party.PROVIDER,
                    Party.STAFF,
                    Account.COST_ONBOARDING,
                    np.array([hours_cost]),
                    None,
                )
            )

    def sales(self, m: int) -> None:
        """Each win takes the next free prospect slot of a segment drawn from the mix."""
        segments = self.clients.segment
        for _ in range(int(self.wins[m])):
            u = self.u_segment[min(self.win_index, len(self.u_segment) - 1)]
            self.win_index += 1
            pick = int(np.searchsorted(self.mix_cdf, u, side="right").clip(0, len(self.mix_names) - 1))
            free = np.flatnonzero(~self.used & (segments == self.segment_names.index(self.mix_names[pick])))
            if len(free):
                self.used[free[0]] = True
                self.join(int(free[0]), m, self.sales_contract)
                self.won[m] += 1
                self.stale = True

    def offers(self, m: int) -> None:
        """Migration offers to the clients on break/fix this month (but the offered contract), and who
        accepts."""
        strategy = self.strategy
        if strategy.kind == "stay" or m < strategy.start_month:
            return
        current = self.assignment[:, m]
        on_bf = (current >= 0) & self.breakfix[np.maximum(current, 0)] & (current != self.target)
        offered = on_bf & (
            self.u_offer[:, m] < strategy.offer_rate
            if strategy.kind == "gradual"
            else np.full(self.n, strategy.offers_in(m))
        )
        if not offered.any():
            return
        rule = strategy.acceptance
        if isinstance(rule, AcceptanceLogit):
            now = self.expected_cost(current)
            then = self.expected_cost(np.full(self.n, self.target))
            saving = np.divide(now - then, now, out=np.zeros(self.n), where=now > 0)
            chance = rule.probability(saving)
        else:
            chance = np.full(self.n, rule)
        accept = np.flatnonzero(offered & (self.u_accept[:, m] < chance))
        for slot in accept:
            self.join(int(slot), m, self.target)
        self.migrated[m] += len(accept)
        self.stale = self.stale or len(accept) > 0

    def expected_cost(self, contract: np.ndarray) -> np.ndarray:
        """Each client's expected monthly cost (fees, downtime and its own IT's time) under the contract given
        per client (an index of the scenario's contracts, −1: none): from simulating every starting client of the
        replication on that contract for the whole horizon with the starting pool, each with its own incidents;
        kept per contract."""
        out = np.zeros(self.n)
        for i in np.unique(contract[contract >= 0]):
            if i not in self.static_cost:
                self.static_cost[int(i)] = _static_cost(
                    self.slots, int(i), self.incidents, self.seed, self.replication, int(self.technicians[0])
                )
            here = contract == i
            out[here] = self.static_cost[int(i)][here]
        return out

    def renewals_and_hiring(self, m: int) -> None:
        """Churn at renewal and hiring, from the simulation of the months so far (redone when the plan
        changed)."""
        p = self.p
        renewing = (self.assignment[:, m] >= 0) & (m > self.start) & ((m - self.start) % p.term_months == 0)
        check_hire = p.hiring.enabled and m >= p.hiring.months_above and m >= self.hire_ready
        if not ((p.churn.enabled and renewing.any()) or check_hire):
            return
        if self.stale or self.books is None:
            current = self.plan()
            run = simulate_plan(
                self.slots.scenario, current, self.incidents, self.clients, self.seed, self.replication
            )
            self.books = _books(
                self.slots.scenario, self.slots, current, run, self.onboarding, self.extra, self.began
            )
            self.stale = False
        books = self.books
        if p.churn.enabled and renewing.any():
            leave = _churners(p, books, self.clients, renewing, self.start, m, self.u_churn[:, m])
            for slot in leave:  # served and billed through the contract's notice period, counted when gone
                gone = m + self.contracts[self.assignment[slot, m]].notice_months()
                self.assignment[slot, gone:] = -1
                if gone < self.months:
                    self.churned[gone] += 1
            self.stale = self.stale or len(leave) > 0
        if check_hire:
            self._hire(m, books)

    def _hire(self, m: int, books: Books) -> None:
        """A technician joins after the lag when utilisation stayed above the threshold."""
        hiring = self.p.hiring
        window = slice(m - hiring.months_above, m)
        util = books.run.busy_hours_by_month[window] / books.run.productive_hours_by_month[window]
        if np.all(util > hiring.utilization_threshold) and self.technicians[-1] < hiring.max_technicians:
            on_duty = min(m + hiring.lag_months, self.months)
            self.technicians[on_duty:] += 1
            self.hires[m] += 1
            self.hire_ready = on_duty + hiring.months_above
            cost = np.array([hiring.cost_per_hire])
            self.extra.append((np.array([m]), Party.PROVIDER, Party.STAFF, Account.COST_HIRING, cost, None))
            self.stale = True

    def finish(self) -> StrategyRun:
        """The platform's costs from the first managed month, then the final simulation of the whole plan."""
        months, p = self.months, self.p
        if self.first_managed < months:
            first = self.first_managed
            setup = np.array([p.tools_setup_cost])
            self.extra.append(
                (np.array([first]), Party.PROVIDER, Party.VENDOR, Account.COST_TOOLS, setup, None)
            )
            self.extra.append(
                (
                    np.arange(first, months),
                    Party.PROVIDER,
                    Party.VENDOR,
                    Account.COST_TOOLS,
                    np.full(months - first, p.tools_platform_cost_per_month),
                    None,
                )
            )
        final = self.plan()
        run = simulate_plan(
            self.slots.scenario, final, self.incidents, self.clients, self.seed, self.replication
        )
        books = _books(self.slots.scenario, self.slots, final, run, self.onboarding, self.extra, self.began)
        return StrategyRun(final, books, self.won, self.churned, self.migrated, self.hires)


def _static_cost(
    slots: Slots, contract: int, incidents: Any, seed: int, replication: int, technicians: int
) -> np.ndarray:
    """Each starting client's mean monthly cost (fees, downtime and its own IT's time) with every starting client
    on one contract for the whole horizon and the starting pool of ``technicians``, on the replication's
    incidents [currency/month]; 0 for the prospects."""
    scenario = slots.scenario
    chosen = scenario.contracts[contract]
    months = scenario.horizon_months
    n = slots.clients.count
    assignment = np.where(slots.prospect[:, None], -1, 0) * np.ones((1, months), dtype=np.int64)
    plan = Plan(
        contracts=(chosen,),
        assignment=assignment.astype(np.int64),
        technicians=np.full(months, technicians, dtype=np.int64),
        tools_ramp=np.ones(months),
    )
    run = simulate_plan(scenario, plan, incidents, slots.clients, seed, replication)
    ctx = dataclasses.replace(
        billing_context(scenario, slots.clients),
        active=assignment >= 0,
        onboarding_month=np.where(slots.prospect, -1, 0).astype(np.int64),
    )
    paid = bill(chosen, run.tickets, run.prevention, ctx).payments_by_client_month((n, months))
    log = run.tickets
    lost = np.bincount(log.client, weights=log.downtime_cost + log.client_it_cost, minlength=n)
    return np.asarray((paid.sum(axis=1) + lost) / months)


def _on_platform(contract: Any) -> bool:
    """Whether serving a client under the contract needs the provider's tools platform: managed or monitored."""
    return bool(contract.managed or contract.policy.monitoring)


def sales_contract(scenario: Scenario, strategy: Strategy) -> int:
    """Index of the contract new clients sign under a strategy."""
    p = _portfolio(scenario)
    names = [c.name for c in scenario.contracts]
    if strategy.sales_contract is not None:
        return names.index(strategy.sales_contract)
    if strategy.kind == "stay":
        start = [names.index(s.contract) for s in p.starting]
        return next((i for i in start if not scenario.contracts[i].managed), start[0])
    if p.sales.contract is not None:
        return names.index(p.sales.contract)
    return next((i for i, c in enumerate(scenario.contracts) if c.managed), 0)


def _churners(
    p: Portfolio,
    books: Books,
    clients: ClientTable,
    renewing: np.ndarray,
    start: np.ndarray,
    m: int,
    u: np.ndarray,
) -> np.ndarray:
    """Clients leaving at this month's renewal: logistic in last term's downtime, breaches and price change."""
    term = p.term_months
    lo = max(m - term, 0)
    idx = np.flatnonzero(renewing)
    span = np.maximum(m - np.maximum(start[idx], lo), 1)
    window = slice(lo, m)
    downtime = books.downtime[idx, window].sum(axis=1) / clients.users[idx] / span
    breaches = books.breaches[idx, window].sum(axis=1) / span
    before = books.fees[idx, max(m - 2 * term, 0) : lo]
    recent = books.fees[idx, window].mean(axis=1)
    previous = before.mean(axis=1) if before.shape[1] else recent
    change = np.divide(recent - previous, previous, out=np.zeros(len(idx)), where=previous > 0)
    # A client who chose a new contract within the window accepted its price: only rises on one contract count.
    change = np.where(start[idx] > m - 2 * term, 0.0, change)
    log = books.run.tickets
    recurrences = np.zeros(len(idx))
    if p.churn.per_recurrence_per_month:
        recent = log.recurrence & (log.month >= lo) & (log.month < m)
        counts = np.bincount(log.client[recent], minlength=clients.count)
        recurrences = counts[idx] / span
    prob = p.churn.probability(downtime, breaches, recurrences, change)
    return idx[u[idx] < prob]


# ----------------------------------------------------------------------------------------------- monthly table


RECURRING = (Account.FEE, Account.BLOCK, Account.TARGET_COST)
"""Ledger accounts of recurring revenue."""


def monthly_rows(
    scenario: Scenario, strategy: Strategy, replication: int, result: StrategyRun
) -> pd.DataFrame:
    """One row per month: clients, revenue by type, costs, profit, cash, technicians, client outcomes."""
    months = scenario.horizon_months
    plan, books = result.plan, result.books
    led = books.ledger
    slots = slot_scenario(scenario)
    clients = slots.clients

    def by_month(mask: np.ndarray, sign: float = 1.0) -> np.ndarray:
        return sign * np.bincount(led.month[mask], weights=led.cents[mask] / 100.0, minlength=months)

    paid = (led.payer >= 0) & (led.payee == Party.PROVIDER)
    credit = (led.payer == Party.PROVIDER) & (led.payee >= 0)
    contract_of_line = np.full(len(led), -1)
    client_rows = np.flatnonzero(paid)
    contract_of_line[client_rows] = plan.assignment[led.payer[paid], led.month[paid]]
    contract_of_credit = np.full(len(led), -1)
    contract_of_credit[np.flatnonzero(credit)] = plan.assignment[led.payee[credit], led.month[credit]]
    kinds = np.array([c.kind for c in plan.contracts] + ["none"])
    kind_line = kinds[contract_of_line]
    # Recurring: the monthly fees, blocks of hours and cost-sharing targets, net of credits; one-off: onboarding and
    # early-termination fees; per job: fixed prices; the rest is billed by the hour (T&M, overage, cost shares).
    recurring = by_month(paid & np.isin(led.account, RECURRING)) - by_month(credit)
    onboarding = by_month(paid & (led.account == Account.ONBOARDING))
    termination = by_month(paid & (led.account == Account.EARLY_TERMINATION))
    per_job = by_month(paid & (kind_line == "fixed_price"))
    revenue = by_month(paid) - by_month(credit)
    tm = revenue - recurring - onboarding - termination - per_job
    labour = by_month(led.account == Account.COST_LABOUR)
    tools = by_month(led.account == Account.COST_TOOLS)
    parts = by_month(led.account == Account.COST_PARTS)
    onboarding_cost = by_month(led.account == Account.COST_ONBOARDING)
    hiring = by_month(led.account == Account.COST_HIRING)
    sales = by_month(led.account == Account.COST_SALES)
    cost = labour + tools + parts + onboarding_cost + hiring + sales
    profit = revenue - cost
    log = books.run.tickets
    downtime_cost = np.bincount(log.month, weights=log.downtime_cost, minlength=months)
    client_it_cost = np.bincount(log.month, weights=log.client_it_cost, minlength=months)
    downtime_hours = np.bincount(log.month, weights=log.downtime_user_hours, minlength=months)
    active = plan.assignment >= 0
    users = (active * clients.users[:, None]).sum(axis=0)
    frame = pd.DataFrame(
        {
            "strategy": strategy.name,
            "replication": replication,
            "month": np.arange(months),
        }
    )
    for i, c in enumerate(plan.contracts):
        frame[f"clients_{c.name}"] = (plan.assignment == i).sum(axis=0)
    frame["clients"] = active.sum(axis=0)
    frame["won"] = result.won
    frame["churned"] = result.churned
    frame["migrated"] = result.migrated
    frame["revenue_tm"] = tm
    frame["revenue_per_job"] = per_job
    frame["revenue_recurring"] = recurring
    frame["revenue_onboarding"] = onboarding
    frame["revenue_early_termination"] = termination
    frame["revenue"] = revenue
    frame["mrr_share"] = np.divide(recurring, revenue, out=np.zeros(months), where=revenue > 0)
    frame["labour_cost"] = labour
    frame["tools_cost"] = tools
    frame["parts_cost"] = parts
    frame["onboarding_cost"] = onboarding_cost
    frame["hiring_cost"] = hiring
    frame["sales_cost"] = sales
    frame["cost"] = cost
    frame["profit"] = profit
    frame["cash"] = np.cumsum(profit)
    frame["technicians"] = plan.technicians
    frame["hires"] = result.hires
    frame["utilization"] = books.run.busy_hours_by_month / books.run.productive_hours_by_month
    frame["users"] = users
    frame["downtime_user_hours"] = downtime_hours
    frame["client_downtime_cost"] = downtime_cost
    frame["client_it_cost"] = client_it_cost
    frame["client_fees"] = revenue
    frame["client_total_cost"] = revenue + downtime_cost + client_it_cost
    finance = _portfolio(scenario).finance
    if finance is not None:  # cash as collected replaces cumulative profit
        for name, column in _finance_columns(scenario, finance, result, frame, clients).items():
            frame[name] = column
    return frame


def _finance_columns(
    scenario: Scenario, finance: Finance, result: StrategyRun, frame: pd.DataFrame, clients: ClientTable
) -> dict[str, np.ndarray]:
    """The monthly table's money as an owner sees it (``portfolio.finance``): cash as collected, overhead, EBITDA,
    recurring revenue, its retention, the return on winning clients, and the value of the business."""
    months = scenario.horizon_months
    plan, books = result.plan, result.books
    led = books.ledger
    col = {
        name: frame[name].to_numpy(dtype=float) for name in frame.columns if frame[name].dtype.kind in "fiu"
    }
    revenue, cost, recurring = col["revenue"], col["cost"], col["revenue_recurring"]
    # Fees for the service month (and onboarding) on one side, work already done on the other.
    streams = (
        (recurring + col["revenue_onboarding"], finance.recurring_billing),
        (
            col["revenue_tm"] + col["revenue_per_job"] + col["revenue_early_termination"],
            finance.usage_billing,
        ),
    )
    received, written_off, receivables = np.zeros(months), np.zeros(months), np.zeros(months)
    for billed, timing in streams:
        if timing == "in_advance":
            received += billed
            continue
        paid = collect(billed, finance.days_sales_outstanding, finance.bad_debt_share)
        received += paid.received
        written_off += paid.written_off
        receivables += paid.receivables
    # Overhead on the month's revenue, as in the static run (simulator.metrics.monthly_flows).
    overhead_terms = scenario.provider.overhead
    overhead = overhead_terms.fixed_per_month + overhead_terms.share_of_revenue * np.maximum(revenue, 0.0)
    cash_out = cost + overhead
    ebitda = revenue - cost - overhead - written_off

    # Recurring revenue per client-month (fees, blocks, targets, net of the SLA credits), as in ``revenue_recurring``.
    n = clients.count
    per_client = np.zeros((n, months))
    fee = (led.payer >= 0) & (led.payee == Party.PROVIDER) & np.isin(led.account, RECURRING)
    credit = (led.payer == Party.PROVIDER) & (led.payee >= 0)
    np.add.at(per_client, (led.payer[fee], led.month[fee]), led.cents[fee] / 100.0)
    np.add.at(per_client, (led.payee[credit], led.month[credit]), -led.cents[credit] / 100.0)
    grr, nrr = retention(per_client)

    # Lifetime value over acquisition cost, trailing twelve months: the recurring clients' gross margin per
    # client-month over their monthly churn rate, against the sales cost per client won.
    paying = per_client > 0
    lost = np.zeros(months)
    lost[1:] = (paying[:, :-1] & (plan.assignment[:, 1:] < 0)).sum(axis=0)
    client_months = trailing_sum(paying.sum(axis=0))
    margin = per_client - _delivery_cost_by_client(scenario, result, col, clients)
    margin_ttm = trailing_sum(np.where(paying, margin, 0.0).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_client_month = margin_ttm / client_months
        churn_per_month = trailing_sum(lost) / client_months
        cac = trailing_sum(col["sales_cost"]) / trailing_sum(col["won"])
    ratio = ltv_to_cac(per_client_month, churn_per_month, cac)

    # Enterprise value: EBITDA of the trailing twelve months times the table's multiple at the recurring share,
    # lowered for client churn and for the largest client's share of revenue.
    revenue_ttm = trailing_sum(revenue)
    positive = revenue_ttm > 0
    safe = np.where(positive, revenue_ttm, 1.0)
    share_ttm = np.where(positive, trailing_sum(recurring) / safe, np.nan)
    largest = np.where(positive, trailing_sum(books.fees).max(axis=0, initial=0.0) / safe, np.nan)
    average_clients = trailing_sum(col["clients"]) / 12.0
    churn_per_year = np.where(
        average_clients > 0,
        trailing_sum(col["churned"]) / np.where(average_clients > 0, average_clients, 1.0),
        0.0,
    )
    table = finance.ev_multiples
    multiple = valuation_multiple(
        interpolate_multiple(
            share_ttm, np.array([r.recurring_share for r in table]), np.array([r.multiple for r in table])
        ),
        churn_per_year,
        largest,
        finance.churn_discount,
        finance.concentration_threshold,
        finance.concentration_discount,
    )
    return {
        "cash": np.cumsum(received - cash_out),
        "cash_in": received,
        "cash_out": cash_out,
        "receivables": receivables,
        "bad_debt": written_off,
        "overhead": overhead,
        "ebitda": ebitda,
        "arr": recurring * 12.0,
        "gross_revenue_retention": grr,
        "net_revenue_retention": nrr,
        "ltv_to_cac": ratio,
        "ev_multiple": multiple,
        "enterprise_value": enterprise_value(trailing_sum(ebitda), multiple),
    }


def _delivery_cost_by_client(
    scenario: Scenario, result: StrategyRun, col: dict[str, np.ndarray], clients: ClientTable
) -> np.ndarray:
    """The month's labour, tools and parts cost shared out to the clients, (clients, months) [currency]: labour by
    each client's share of the technician hours (tickets' work and travel, prevention), tools by its share of the
    endpoints on a monitored or managed contract, parts as its tickets used them."""
    n, months = clients.count, scenario.horizon_months
    plan, run = result.plan, result.books.run
    log, prevention = run.tickets, run.prevention
    ticket = log.handling == Handling.TICKET  # the incidents the provider worked on, as in the cost ledger
    hours = np.zeros((n, months))
    worked = np.nan_to_num(log.work_hours[ticket]) + np.nan_to_num(log.travel_hours[ticket])
    np.add.at(hours, (log.client[ticket], log.month[ticket]), worked)
    due = prevention.month < months
    np.add.at(hours, (prevention.client[due], prevention.month[due]), prevention.hours[due])
    parts = np.zeros((n, months))
    np.add.at(parts, (log.client[ticket], log.month[ticket]), log.parts_cost[ticket])
    platform = np.array([_on_platform(c) for c in plan.contracts] + [False])
    monitored = platform[plan.assignment] * clients.endpoints[:, None]

    def shared(cost: np.ndarray, weight: np.ndarray) -> np.ndarray:
        total = weight.sum(axis=0)
        return np.divide(weight, total, out=np.zeros_like(weight, dtype=float), where=total > 0) * cost

    return shared(col["labour_cost"], hours) + shared(col["tools_cost"], monitored) + parts


def _task(args: tuple[Scenario, tuple[str, ...], int, int]) -> pd.DataFrame:
    scenario, strategy_names, replication, seed = args
    p = _portfolio(scenario)
    frames = []
    for strategy in p.strategies:
        if strategy.name in strategy_names:
            result = run_strategy(scenario, strategy, replication, seed)
            frames.append(monthly_rows(scenario, strategy, replication, result))
    return pd.concat(frames, ignore_index=True)


@dataclass
class TransitionResults:
    """Monthly rows per strategy and replication, and the per-strategy summary."""

    scenario: Scenario
    monthly: pd.DataFrame
    summary: pd.DataFrame

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(self.monthly["strategy"]))


def simulate_transition(
    scenario: Scenario,
    strategies: list[str] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: Any = None,
) -> TransitionResults:
    """Run the portfolio under each strategy (common random numbers across strategies)."""
    p = _portfolio(scenario)
    known = [s.name for s in p.strategies]
    chosen = tuple(strategies) if strategies else tuple(known)
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; the scenario defines {known}")
    n = replications or scenario.replications
    s = scenario.seed if seed is None else seed
    frames = run_tasks(_task, [(scenario, chosen, r, s) for r in range(n)], workers, progress)
    monthly = pd.concat(frames, ignore_index=True)
    order = {name: i for i, name in enumerate(chosen)}
    monthly = monthly.sort_values(
        ["strategy", "replication", "month"],
        key=lambda c: c.map(order) if c.name == "strategy" else c,
        kind="stable",
    ).reset_index(drop=True)
    return TransitionResults(scenario, monthly, summarize_transition(scenario, monthly))


# ----------------------------------------------------------------------------------------------- summary


def _ci(x: np.ndarray) -> tuple[float, float, float]:
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return (mean, np.nan, np.nan)
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return (mean, mean - half, mean + half)


def _finance_metrics(
    finance: Finance, g: pd.DataFrame, reference: np.ndarray | None, baseline: bool
) -> dict[str, float]:
    """One replication's cash and value figures (``portfolio.finance``): the NPV of its monthly net cash flow, and
    of the difference to ``stay``'s (``reference``; None without a ``stay`` strategy) with that difference's
    modified IRR (put in and taken out at the discount rate);
    EBITDA, recurring share and ARR at the end, and the enterprise value at the end."""
    flows = (g["cash_in"] - g["cash_out"]).to_numpy(dtype=float)
    last = slice(-12, None)
    revenue = float(g["revenue"].to_numpy()[last].sum())
    row = {"npv": npv(flows, finance.discount_rate)}
    if reference is not None:
        gap = flows - reference
        row["npv_vs_stay"] = np.nan if baseline else npv(gap, finance.discount_rate)
        row["mirr_vs_stay"] = np.nan if baseline else annual_mirr(gap, finance.discount_rate)
    row |= {
        "ebitda_ttm": float(g["ebitda"].to_numpy()[last].sum()),
        "ev_multiple": float(g["ev_multiple"].iloc[-1]),
        "enterprise_value": float(g["enterprise_value"].iloc[-1]),
        "recurring_share_ttm": (
            float(g["revenue_recurring"].to_numpy()[last].sum()) / revenue if revenue > 0 else np.nan
        ),
        "arr_end": float(g["arr"].iloc[-1]),
    }
    return row


def _stay_flows(monthly: pd.DataFrame, baseline: str | None, rep: Any) -> np.ndarray | None:
    """``stay``'s monthly net cash flow in one replication; None without a ``stay`` strategy among the rows."""
    if baseline is None:
        return None
    rows = monthly[(monthly["strategy"] == baseline) & (monthly["replication"] == rep)].sort_values("month")
    if rows.empty:
        return None
    return (rows["cash_in"] - rows["cash_out"]).to_numpy(dtype=float)


def summarize_transition(scenario: Scenario, monthly: pd.DataFrame) -> pd.DataFrame:
    """Per strategy, with 95% CIs over replications: the cash dip and its month, payback against ``stay`` (or
    against zero without one), revenue predictability over the last 12 months, yearly profit, churn, downtime;
    with ``portfolio.finance`` the cash is collected cash, and NPV (also against ``stay``, with the IRR of the
    difference), EBITDA, recurring share, ARR and enterprise value at the end follow."""
    months = scenario.horizon_months
    baseline = next((s.name for s in _portfolio(scenario).strategies if s.kind == "stay"), None)
    if baseline not in set(monthly["strategy"]):  # not among the strategies run: compared with zero
        baseline = None
    finance = _portfolio(scenario).finance
    per_rep: list[dict[str, Any]] = []
    for (strategy, rep), g in monthly.groupby(["strategy", "replication"], sort=False):
        g = g.sort_values("month")
        cash = g["cash"].to_numpy()
        ref = np.zeros(months)
        if baseline is not None:
            ref = (
                monthly[(monthly["strategy"] == baseline) & (monthly["replication"] == rep)]
                .sort_values("month")["cash"]
                .to_numpy()
            )
        gap = cash - ref
        low = int(np.argmin(gap))
        behind = np.flatnonzero(gap < 0)
        payback = np.nan if gap[-1] < 0 else (0.0 if len(behind) == 0 else float(behind[-1] + 1))
        if strategy == baseline:  # compared with itself: nothing to catch up
            payback = np.nan
        last = g["revenue"].to_numpy()[-12:]
        row = {
            "strategy": strategy,
            "replication": rep,
            "lowest_cash": float(cash.min()),
            "lowest_cash_month": float(np.argmin(cash)),
            "largest_gap_to_stay": float(gap[low]) if strategy != baseline else np.nan,
            "payback_month": payback,
            "revenue_cv_last_12": float(last.std(ddof=1) / last.mean()) if last.mean() > 0 else np.nan,
            "mrr_share_last_12": float(g["revenue_recurring"].to_numpy()[-12:].sum() / max(last.sum(), 1e-9)),
            "churned_clients": float(g["churned"].sum()),
            "won_clients": float(g["won"].sum()),
            "migrated_clients": float(g["migrated"].sum()),
            "final_technicians": float(g["technicians"].iloc[-1]),
            "client_downtime_per_user_year": float(
                g["downtime_user_hours"].sum() / max(g["users"].sum(), 1) * 12
            ),
            "final_cash": float(cash[-1]),
        }
        for year in range(1, math.ceil(months / 12) + 1):
            row[f"profit_year_{year}"] = float(g["profit"].to_numpy()[(year - 1) * 12 : year * 12].sum())
        if finance is not None:
            row |= _finance_metrics(finance, g, _stay_flows(monthly, baseline, rep), strategy == baseline)
        per_rep.append(row)
    table = pd.DataFrame(per_rep)
    out = []
    for strategy, g in table.groupby("strategy", sort=False):
        for metric in [c for c in table.columns if c not in ("strategy", "replication")]:
            mean, lo, hi = _ci(g[metric].to_numpy(dtype=float))
            out.append(
                {
                    "strategy": strategy,
                    "metric": metric,
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n": int(g[metric].notna().sum()),
                }
            )
    return pd.DataFrame(out)
