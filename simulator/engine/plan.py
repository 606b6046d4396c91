"""What a replication's steps read: the plan (who is on which contract when), its contracts' levers as arrays
indexed by contract, and the calendars and months the replication runs on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.base.calendar import HOURS_PER_MONTH, WeekCalendar
from simulator.config import MAJOR, Behaviour, Scenario, Triage
from simulator.contracts import Contract

__all__ = [
    "ClientIt",
    "Clocks",
    "Levers",
    "Plan",
    "Security",
    "call_charges",
    "client_it_levers",
    "contract_levers",
    "month_of",
    "recurrence_probability",
    "security_levers",
]


@dataclass(frozen=True)
class Plan:
    """Who is served under which contract, month by month, and the technician pool over time.

    ``assignment[client, month]`` indexes ``contracts`` (−1: not a client that month). ``technicians[month]`` is
    the pool on duty (it may only grow). ``tools_ramp[month]`` is the share of the tooling's efficiency in place
    for clients on monitored contracts (1 = full effect; a rollout ramps it up).
    """

    contracts: tuple[Contract, ...]
    assignment: np.ndarray
    technicians: np.ndarray
    tools_ramp: np.ndarray

    @staticmethod
    def constant(contract: Contract, clients: int, months: int) -> Plan:
        """Every client on one contract for the whole horizon, the contract's own technician count."""
        return Plan(
            contracts=(contract,),
            assignment=np.zeros((clients, months), dtype=np.int64),
            technicians=np.full(months, contract.policy.technicians, dtype=np.int64),
            tools_ramp=np.ones(months),
        )


@dataclass(frozen=True)
class Clocks:
    """The calendars of a replication and the months of its horizon."""

    users: WeekCalendar  # the users' business hours: when incidents happen and downtime counts
    coverage: WeekCalendar  # the technicians' on-duty hours: the clock the pool runs on
    months: int
    month_edges: np.ndarray  # start of each month, then the end of the horizon [coverage hours]
    availability: float  # share of on-duty time the pool gives to tickets and prevention (productive / paid)

    @staticmethod
    def of(scenario: Scenario) -> Clocks:
        """The scenario's calendars over its horizon."""
        coverage = scenario.calendar.coverage()
        months = scenario.horizon_months
        return Clocks(
            users=scenario.calendar.users(),
            coverage=coverage,
            months=months,
            month_edges=coverage.business_time(np.arange(months + 1) * HOURS_PER_MONTH),
            availability=scenario.provider.availability,
        )


def month_of(t: np.ndarray, months: int) -> np.ndarray:
    """The month of each clock time [hours]: NaN and times before 0 in month 0, times past the horizon in the last."""
    within = np.minimum(np.maximum(np.where(np.isnan(t), 0.0, t), 0.0), months * HOURS_PER_MONTH)
    return np.minimum(within // HOURS_PER_MONTH, months - 1).astype(np.int64)


def recurrence_probability(scenario: Scenario, thoroughness: float) -> float:
    """p(k) = min(1, p₀ · k^(−elasticity)) [share]."""
    return scenario.provider.recurrence.probability_at(thoroughness)


@dataclass(frozen=True)
class Levers:
    """The provider's levers under each contract of a plan (arrays indexed by contract), the tooling rollout, how
    the clients' staff behave under each kind of contract, and each contract's security stack and
    co-management."""

    managed: np.ndarray  # bool: a flat-fee contract (its clients report everything)
    prevention: np.ndarray  # prevention effort [hours/endpoint-month]
    monitoring: np.ndarray  # bool: monitoring and PSA tooling on
    thoroughness: np.ndarray  # multiplier of hands-on effort [ratio]
    p_recur: np.ndarray  # probability that a fix recurs [share]
    tools_ramp: np.ndarray  # share of the tooling's efficiency in place, per month [share]
    behaviours: dict[tuple[bool, int], Behaviour]  # (managed, segment) -> the staff's behaviour
    call_in: np.ndarray  # [managed, segment]: share of non-blocking incidents called in [share]
    call_in_blocking: np.ndarray  # [managed, segment]: share of blocking incidents called in [share]
    # [contract, segment, category (major last)]: share of non-blocking incidents called in, after the price
    # response to each contract's expected charge of a call; None when no behaviour responds to price (then
    # ``call_in`` applies)
    call_in_priced: np.ndarray | None
    # [contract, category (major last)]: the contract charges nothing for a call (a flat fee), so the extra requests
    # of its behaviour happen under it; None when no behaviour raises extra requests
    free_call: np.ndarray | None
    triage: Triage  # triage and dispatch delays [hours on duty]
    tools_gain: float  # change of hands-on effort with full tooling: tools_effort_factor − 1 [ratio]
    security: Security  # each contract's security stack
    client_it: ClientIt  # each contract's co-management


@dataclass(frozen=True)
class Security:
    """The security stack of each contract (arrays indexed by contract; no stack: multipliers 1, cost 0)."""

    stacked: np.ndarray  # bool: the contract runs a stack
    survival: np.ndarray  # [contract, category]: share of the rate left, major incidents last [share]
    major_outage: np.ndarray  # multiplier of a major incident's outage [share]
    major_effort: np.ndarray  # multiplier of a major incident's hands-on hours [share]
    cost: np.ndarray  # the provider's cost of the stack [currency/endpoint-month]

    @property
    def used(self) -> bool:
        """Whether any contract runs a stack."""
        return bool(self.stacked.any())


@dataclass(frozen=True)
class ClientIt:
    """The co-management of each contract (arrays indexed by contract; not co-managed: share 0)."""

    share: np.ndarray  # share of the L1-eligible tickets the client's own IT takes [share]
    max_effort: np.ndarray  # largest hands-on effort of an L1-eligible ticket [hours]
    cost_per_hour: np.ndarray  # what an hour of the client's own IT costs it [currency/hour]
    eligible: np.ndarray  # [contract, category] bool: the category can be L1-eligible (major incidents never)

    @property
    def used(self) -> bool:
        """Whether any contract is co-managed with a share above 0."""
        return bool((self.share > 0).any())


def contract_levers(scenario: Scenario, plan: Plan) -> Levers:
    """The levers of the plan's contracts and the client behaviour of the scenario's segments."""
    contracts = plan.contracts
    thoroughness = np.array([c.policy.thoroughness for c in contracts])
    behaviours = {
        (kind, s): (seg.managed if kind else seg.break_fix)
        for kind in (False, True)
        for s, seg in enumerate(scenario.clients)
    }
    segments = range(len(scenario.clients))
    call_in = np.array([[behaviours[(kind, s)].call_in_share for s in segments] for kind in (False, True)])
    call_in_blocking = np.array(
        [[behaviours[(kind, s)].for_blocking().call_in_share for s in segments] for kind in (False, True)]
    )
    priced = any(b.price_response is not None for b in behaviours.values())
    over_use = any(b.over_uses for b in behaviours.values())
    charges = call_charges(scenario, contracts) if priced or over_use else None
    call_in_priced = None
    if priced and charges is not None:
        call_in_priced = np.zeros((len(contracts), len(scenario.clients), charges.shape[1]))
        for i, contract in enumerate(contracts):
            for s in segments:
                b = behaviours[(contract.managed, s)]
                response = b.price_response
                call_in_priced[i, s] = (
                    b.call_in_share if response is None else response.share(b.call_in_share, charges[i])
                )
    return Levers(
        managed=np.array([c.managed for c in contracts]),
        prevention=np.array([c.policy.prevention_hours_per_endpoint_month for c in contracts]),
        monitoring=np.array([c.policy.monitoring for c in contracts]),
        thoroughness=thoroughness,
        p_recur=np.array([recurrence_probability(scenario, k) for k in thoroughness]),
        tools_ramp=plan.tools_ramp,
        behaviours=behaviours,
        call_in=call_in,
        call_in_blocking=call_in_blocking,
        call_in_priced=call_in_priced,
        free_call=charges == 0 if over_use and charges is not None else None,
        triage=scenario.provider.triage_delay_hours,
        tools_gain=scenario.provider.tools_effort_factor - 1.0,
        security=security_levers(scenario, contracts),
        client_it=client_it_levers(scenario, contracts),
    )


def call_charges(scenario: Scenario, contracts: tuple[Contract, ...]) -> np.ndarray:
    """[contract, category (major incidents last)]: what the client expects to pay for calling in one incident of
    the category under the contract (:meth:`~simulator.contracts.ContractKind.expected_charge`), for the
    category's expected effort and its share of on-site visits under the contract's monitoring (at full
    tooling, monitoring turns ``remote_with_monitoring`` of the visits into remote work) [currency]."""
    cats = scenario.incidents.categories
    major = scenario.incidents.major
    out = np.zeros((len(contracts), len(cats) + 1))
    for i, contract in enumerate(contracts):
        monitored = contract.policy.monitoring
        for j, cat in enumerate(cats):
            onsite = cat.onsite_share * (1.0 - cat.remote_with_monitoring if monitored else 1.0)
            out[i, j] = contract.expected_charge(cat.name, cat.effort_hours.expected, onsite)
        out[i, -1] = contract.expected_charge(MAJOR, major.effort_hours.expected, 1.0)
    return out


def security_levers(scenario: Scenario, contracts: tuple[Contract, ...]) -> Security:
    """The security stack each contract's policy names, as arrays."""
    names = [c.name for c in scenario.incidents.categories]
    stacks = [
        None if c.policy.security_stack is None else scenario.security_stacks[c.policy.security_stack]
        for c in contracts
    ]
    return Security(
        stacked=np.array([s is not None for s in stacks], dtype=bool),
        survival=np.array(
            [
                [1.0] * (len(names) + 1) if s is None else [*(s.rate(n) for n in names), s.major_probability]
                for s in stacks
            ],
            dtype=float,
        ).reshape(len(contracts), len(names) + 1),
        major_outage=np.array([1.0 if s is None else s.major_outage for s in stacks], dtype=float),
        major_effort=np.array([1.0 if s is None else s.major_effort for s in stacks], dtype=float),
        cost=np.array([0.0 if s is None else s.tools_cost_per_endpoint_month for s in stacks], dtype=float),
    )


def client_it_levers(scenario: Scenario, contracts: tuple[Contract, ...]) -> ClientIt:
    """The co-management of each contract, as arrays."""
    names = [c.name for c in scenario.incidents.categories]
    co = [c.co_management for c in contracts]
    return ClientIt(
        share=np.array([0.0 if x is None else x.share for x in co], dtype=float),
        max_effort=np.array([0.0 if x is None else x.l1_max_effort_hours for x in co], dtype=float),
        cost_per_hour=np.array([0.0 if x is None else x.client_it_cost_per_hour for x in co], dtype=float),
        eligible=np.array(
            [
                [x is not None and (x.categories is None or n in x.categories) for n in names] + [False]
                for x in co
            ],
            dtype=bool,
        ).reshape(len(contracts), len(names) + 1),
    )
