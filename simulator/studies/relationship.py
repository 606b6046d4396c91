"""The incentive analysis as a relationship over several terms (DESIGN.md §4): who stays, and what each side's
relationship is worth.

One simulation of a contract gives, per client and month, the provider's profit from the client, the client's cost
and the social cost (:func:`client_months`). The relationship weighs each month by the probability that the client
is still on the contract (:func:`survival`: the SLA's termination right ends it for sure, each renewal with the
churn model's probability) and by the discount factor. A client who has left costs what it costs under its outside
option (the reference contract at that contract's best response, on the same incidents), and its share of the
provider's capacity earns the provider's outside option.

The provider's monthly costs are shared out among the clients: labour by the hours worked for each (tickets,
travel, prevention; by users in a month without work), tools by endpoints, overhead by users and revenue. The
shares add up to the provider's totals, so with everybody staying the relationship's sums are the simulation's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.base.records import BillingContext, Handling, by_client_month
from simulator.config import Relationship, Scenario
from simulator.contracts import Contract
from simulator.contracts.ledger import Ledger
from simulator.engine.replication import ContractRun
from simulator.metrics import MonthlyFlows

__all__ = ["ClientCosts", "ClientMonths", "Valued", "client_costs", "client_months", "survival", "value"]


@dataclass(frozen=True)
class ClientMonths:
    """One simulation per client and month of the relationship, each of shape (clients, months)."""

    profit: np.ndarray  # the provider's net profit from the client [currency]
    client_cost: np.ndarray  # fees net of credits, plus downtime and own IT cost [currency]
    social_cost: np.ndarray  # the provider's real costs for the client, its downtime and IT cost [currency]
    downtime_user_hours: np.ndarray
    breaches: np.ndarray  # in-scope tickets that missed a target [count]
    recurrences: np.ndarray  # fixes that did not hold [count]
    exits: (
        np.ndarray
    )  # per client: the month (of the relationship) it leaves at the end of under the SLA, −1 never


def _share(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Each client's share of each month (columns sum to 1): by ``weights``, by ``fallback`` where a month has none."""
    total = weights.sum(axis=0, keepdims=True)
    backup = np.broadcast_to(fallback[:, None] / fallback.sum(), weights.shape)
    return np.where(total > 0, weights / np.where(total > 0, total, 1.0), backup)


@dataclass(frozen=True)
class ClientCosts:
    """What :func:`client_months` takes from a run alone, whatever its prices, per client and month (all months):
    the provider's labour, tools and parts shared out, the client's downtime and own IT, and the counts the
    churn model reads. Computed once, they serve every price list the run is billed under (the cost ledger, and so
    the flows' labour and tools, being the run's)."""

    labour: np.ndarray
    tools: np.ndarray
    parts: np.ndarray
    downtime_cost: np.ndarray
    own_it: np.ndarray
    downtime_user_hours: np.ndarray
    recurrences: np.ndarray


def client_costs(run: ContractRun, ctx: BillingContext, flows: MonthlyFlows) -> ClientCosts:
    """The price-independent per-client figures of ``run`` (see :class:`ClientCosts`); ``flows``: any of its
    billings' (their labour and tools are the run's)."""
    shape = (len(ctx.users), ctx.months)
    log = run.tickets

    def per_client_month(rows: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return by_client_month(
            log.client[rows], log.month[rows], shape, None if weights is None else weights[rows]
        )

    ticket = log.handling == Handling.TICKET
    prevention = run.prevention
    hours = per_client_month(ticket, log.work_hours + log.travel_hours)
    hours += by_client_month(prevention.client, prevention.month, shape, prevention.hours)
    users = ctx.users.astype(float)
    endpoints = np.broadcast_to(ctx.endpoints.astype(float)[:, None], shape)
    every = np.ones(len(log), bool)
    return ClientCosts(
        labour=flows.labour[None, :] * _share(hours, users),
        tools=flows.tools[None, :] * _share(endpoints, users),
        parts=per_client_month(ticket, log.parts_cost),
        downtime_cost=per_client_month(every, log.downtime_cost),
        own_it=per_client_month(every, log.client_it_cost),
        downtime_user_hours=per_client_month(every, log.downtime_user_hours),
        recurrences=per_client_month(log.recurrence),
    )


def client_months(
    scenario: Scenario,
    contract: Contract,
    run: ContractRun,
    ctx: BillingContext,
    ledger: Ledger,
    flows: MonthlyFlows,
    costs: ClientCosts | None = None,
) -> ClientMonths:
    """The per-client, per-month figures of one simulation, the warm-up left out (month 0 is the relationship's
    first). ``ledger`` and ``flows`` are the simulation's, billed with the termination right exercised from the
    first month after the warm-up; ``costs``: the run's :func:`client_costs`, when several price lists are
    valued on one run."""
    if costs is None:
        costs = client_costs(run, ctx, flows)
    n, months = len(ctx.users), ctx.months
    shape = (n, months)
    log = run.tickets
    revenue = ledger.payments_by_client_month(shape)
    users = ctx.users.astype(float)
    overhead_weights = scenario.provider.overhead.fixed_per_month * (users / users.sum())[:, None] + (
        scenario.provider.overhead.share_of_revenue * np.maximum(revenue, 0.0)
    )
    overhead = flows.overhead[None, :] * _share(overhead_weights, users)
    sla = contract.sla_outcomes(log, ctx)
    breach = sla["breach"] if sla is not None else np.zeros(len(log), bool)
    start = scenario.warmup_months
    exits = contract.exit_months(log, ctx)
    keep = slice(start, months)
    labour, tools, parts = costs.labour, costs.tools, costs.parts
    downtime_cost, own_it = costs.downtime_cost, costs.own_it
    return ClientMonths(
        profit=(revenue - labour - tools - parts - overhead)[:, keep],
        client_cost=(revenue + downtime_cost + own_it)[:, keep],
        social_cost=(labour + tools + parts + downtime_cost + own_it)[:, keep],
        downtime_user_hours=costs.downtime_user_hours[:, keep],
        breaches=by_client_month(log.client[breach], log.month[breach], shape)[:, keep],
        recurrences=costs.recurrences[:, keep],
        exits=np.where(exits >= 0, exits - start, -1),
    )


def survival(terms: Relationship, months: ClientMonths, users: np.ndarray) -> np.ndarray:
    """The probability that each client is still on the contract in each month, shape (clients, months): 1 until
    the SLA's termination right ends it (0 after the month it leaves), times, from each renewal on, the probability
    of renewing given the last term's downtime per user-month, breaches and recurrences per month."""
    n, horizon = months.profit.shape
    on = np.ones((n, horizon))
    gone = months.exits >= 0
    for i in np.flatnonzero(gone):
        on[i, months.exits[i] + 1 :] = 0.0
    if terms.renewal is not None:
        term = terms.term_months
        for t in range(term, horizon, term):
            window = slice(t - term, t)
            leave = terms.renewal.probability(
                months.downtime_user_hours[:, window].sum(axis=1) / users / term,
                months.breaches[:, window].sum(axis=1) / term,
                months.recurrences[:, window].sum(axis=1) / term,
            )
            on[:, t:] *= (1.0 - leave)[:, None]
    return on


@dataclass(frozen=True)
class Valued:
    """A relationship's value per client, each the discounted sum over the months [currency], and who leaves."""

    provider: np.ndarray  # the provider's profit from the client while it stays, its outside option after
    client_stay: np.ndarray  # the client's cost while on the contract (its cost after leaving is added later)
    social_stay: np.ndarray  # the social cost while on the contract, less the provider's outside option after
    departed: np.ndarray  # (clients, months): discount factor × probability of having left
    exposure: (
        np.ndarray
    )  # per client: discounted months on the contract (what a fee per month is multiplied by)
    remaining: np.ndarray  # per client: probability of being on the contract in the last month
    terminated: np.ndarray  # per client: whether the SLA's termination right ended it


def value(
    terms: Relationship, months: ClientMonths, users: np.ndarray, outside_option_per_month: float
) -> Valued:
    """Each client's relationship, weighted by :func:`survival` and the discount factors; a departed client's share
    (by users) of the provider's outside option is earned after it leaves."""
    on = survival(terms, months, users)
    w = terms.weights()[None, : on.shape[1]]
    option = outside_option_per_month * users / users.sum()
    return Valued(
        provider=(w * (on * months.profit + (1.0 - on) * option[:, None])).sum(axis=1),
        client_stay=(w * on * months.client_cost).sum(axis=1),
        social_stay=(w * (on * months.social_cost - (1.0 - on) * option[:, None])).sum(axis=1),
        departed=w * (1.0 - on),
        exposure=(w * on).sum(axis=1),
        remaining=on[:, -1],
        terminated=months.exits >= 0,
    )
