"""One replication of one contract: what the provider's levers and the client's behaviour make of the incidents.

The incident set is shared by every contract of the replication; here a contract's policy thins it (prevention,
its security stack), routes each incident (self-handled, auto-remediated, fixed by the client's own IT, ticket),
queues the tickets and the prevention work on the technician pool, spawns recurrences of fixes that do not hold,
and measures downtime. Each step is a function of its own module (``routing``, ``recurrences``, ``jobs``,
``logs``), listed in order in two halves: what comes before the pool (``_before_pool``, which the staffing levels
of :func:`simulate_staffing` share) and the pool's run with what follows it (``_run_pool``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.base.records import PreventionLog, TicketLog
from simulator.base.rng import stream
from simulator.config import Scenario
from simulator.contracts import Contract

from .incidents import ClientTable, IncidentSet
from .jobs import JobQueue, PreventionJobs, prevention_jobs, queue_jobs, run_jobs
from .logs import prevention_log, settle, ticket_log, workload
from .plan import Clocks, Levers, Plan, contract_levers, month_of, recurrence_probability
from .recurrences import Recurrences, draw_recurrences, recurrence_callback
from .routing import route, thin_by_prevention, thin_by_security, time_tickets

__all__ = [
    "ContractRun",
    "Plan",
    "PlanSetup",
    "contract_setup",
    "plan_setup",
    "recurrence_probability",
    "simulate_contract",
    "simulate_plan",
    "simulate_staffing",
]


@dataclass
class ContractRun:
    """Everything that happened under a plan (one contract, or a portfolio of contracts) in one replication."""

    tickets: TicketLog
    prevention: PreventionLog
    technicians_by_month: np.ndarray
    monitored_endpoints_by_month: np.ndarray  # endpoints of clients on monitored contracts, per month
    prevented_by_month: np.ndarray  # incidents removed by prevention, by month of (would-be) occurrence
    stopped_by_month: np.ndarray  # incidents a security stack stopped (and prevention did not), likewise
    security_cost_by_month: np.ndarray  # the provider's cost of the security stacks [currency/month]
    busy_hours_by_month: np.ndarray
    offered_hours_by_month: (
        np.ndarray
    )  # work reaching the pool: tickets by month created, prevention by month due
    overtime_hours: float  # work done after the horizon to clear the backlog of tickets created within it
    coverage_hours_by_month: np.ndarray  # on-duty hours of the pool
    productive_hours_by_month: np.ndarray  # of those, the hours it gives to tickets and prevention
    ticket_contract: np.ndarray  # contract index of each row of ``tickets``
    prevention_contract: np.ndarray  # contract index of each prevention job


@dataclass(frozen=True)
class PlanSetup:
    """What a plan's run takes that no replication changes: the calendars, the levers, the prevention jobs, and
    the monitored endpoints and security cost per month. Made once, it serves every replication of the plan."""

    plan: Plan
    clocks: Clocks
    levers: Levers
    prevention: PreventionJobs
    monitored_endpoints: np.ndarray
    security_cost: np.ndarray


def plan_setup(scenario: Scenario, plan: Plan, clients: ClientTable) -> PlanSetup:
    """The replication-free part of running ``plan`` (see :class:`PlanSetup`)."""
    clocks = Clocks.of(scenario)
    levers = contract_levers(scenario, plan)
    return PlanSetup(
        plan=plan,
        clocks=clocks,
        levers=levers,
        prevention=prevention_jobs(scenario, clients, plan, levers.prevention, clocks),
        monitored_endpoints=monitored_endpoints(plan, levers, clients),
        security_cost=security_cost(plan, levers, clients),
    )


def contract_setup(scenario: Scenario, contract: Contract, clients: ClientTable) -> PlanSetup:
    """The replication-free part of running one contract for every client."""
    return plan_setup(scenario, Plan.constant(contract, clients.count, scenario.horizon_months), clients)


def simulate_contract(
    scenario: Scenario,
    contract: Contract,
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
    setup: PlanSetup | None = None,
) -> ContractRun:
    """Run one contract for every client over the shared incidents of a replication (``setup``: the contract's
    :func:`contract_setup`, when several replications run it)."""
    if setup is None:
        setup = contract_setup(scenario, contract, clients)
    return simulate_plan(scenario, setup.plan, incidents, clients, seed, replication, setup)


def simulate_plan(
    scenario: Scenario,
    plan: Plan,
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
    setup: PlanSetup | None = None,
) -> ContractRun:
    """Run a plan over the shared incidents: each incident is handled under the contract its client is on in the
    month it occurs; all tickets share one technician pool. ``setup``: the plan's :func:`plan_setup`, when
    several replications run it."""
    if setup is None:
        setup = plan_setup(scenario, plan, clients)
    assert setup.plan is plan
    return _run_pool(
        scenario, setup, incidents, _before_pool(scenario, setup, incidents, clients, seed, replication)
    )


def simulate_staffing(
    scenario: Scenario,
    contracts: Sequence[Contract],
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
) -> Iterator[ContractRun]:
    """Run contracts that differ only in their technicians (one contract at several staffing levels), each for
    every client over the shared incidents of a replication, in order: what comes before the pool (prevention,
    the security stack, routing, the recurrences drawn), which staffing does not change, is worked out once.
    Each run is what :func:`simulate_contract` gives."""
    if not contracts:
        return
    first = contracts[0]
    for other in contracts[1:]:
        staffed = other.policy.model_copy(update={"technicians": first.policy.technicians})
        if other.model_copy(update={"policy": staffed}) != first:
            raise ValueError(
                f"contract '{other.name}' differs from '{first.name}' in more than its technicians"
            )
    setups = [contract_setup(scenario, c, clients) for c in contracts]
    staged = _before_pool(scenario, setups[0], incidents, clients, seed, replication)
    for k, setup in enumerate(setups):
        # The pool settles the recurrences' times in the chain and adds them to the queue: each level its own.
        yield _run_pool(scenario, setup, incidents, staged if k == len(setups) - 1 else staged.copy())


@dataclass
class _Staged:
    """What the pool's run starts from: the incidents that got past prevention and the security stack with their
    routes and drawn recurrences, the jobs queued, and the incidents prevention and the stack removed."""

    chain: Recurrences
    queue: JobQueue
    prevented: np.ndarray  # bool per incident of the replication
    stopped: np.ndarray  # occurrence times of those the stack stopped

    def copy(self) -> _Staged:
        """A copy whose chain and queue a run of the pool may change without changing these."""
        return _Staged(self.chain.copy(), self.queue.copy(), self.prevented, self.stopped)


def _before_pool(
    scenario: Scenario,
    setup: PlanSetup,
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
) -> _Staged:
    plan, clocks, levers = setup.plan, setup.clocks, setup.levers
    months = clocks.months
    inc, inc_contract, prevented = thin_by_prevention(incidents, plan, levers, months)
    inc, inc_contract, stopped = thin_by_security(inc, inc_contract, levers)
    routes = time_tickets(inc, route(inc, inc_contract, False, levers, clients, months), clocks)
    rng = stream(seed, replication, "recurrence")
    chain = draw_recurrences(scenario, clients, inc, routes, levers, months, rng)
    # The chain holds what the rest needs (these first); letting go keeps the peak memory down.
    del inc, routes
    queue = queue_jobs(chain.incidents.priority, chain.routes, setup.prevention, chain.first)
    return _Staged(chain, queue, prevented, stopped)


def _run_pool(scenario: Scenario, setup: PlanSetup, incidents: IncidentSet, staged: _Staged) -> ContractRun:
    plan, clocks, levers, prevention = setup.plan, setup.clocks, setup.levers, setup.prevention
    months = clocks.months
    chain, queue, prevented, stopped = staged.chain, staged.queue, staged.prevented, staged.stopped
    del staged  # the chain is used up below
    on_done, reports = recurrence_callback(chain, queue.job_row, plan.assignment, clocks)
    pool = run_jobs(queue, plan, clocks, on_done, reports)
    del on_done  # it holds the chain's arrays: settle lets go of them as it copies them
    outcome = settle(chain, queue.job_row, pool, clocks)
    del chain
    log = ticket_log(
        outcome,
        clocks,
        len(scenario.incidents.categories),
        scenario.provider.recurrence.client_hours,
        levers.client_it.cost_per_hour,
    )
    ticket_contract = outcome.routes.contract.astype(np.int64)
    del outcome
    prevention_done, prevention_contract = prevention_log(prevention, queue.job_row, pool, clocks)
    work = workload(log, prevention, pool, plan, clocks)
    return ContractRun(
        tickets=log,
        prevention=prevention_done,
        technicians_by_month=plan.technicians.astype(np.int64),
        monitored_endpoints_by_month=setup.monitored_endpoints,
        prevented_by_month=np.bincount(month_of(incidents.occurred[prevented], months), minlength=months),
        stopped_by_month=np.bincount(month_of(stopped, months), minlength=months),
        security_cost_by_month=setup.security_cost,
        busy_hours_by_month=work.busy,
        offered_hours_by_month=work.offered,
        overtime_hours=work.overtime,
        coverage_hours_by_month=work.coverage,
        productive_hours_by_month=work.productive,
        ticket_contract=ticket_contract,
        prevention_contract=prevention_contract,
    )


def security_cost(plan: Plan, levers: Levers, clients: ClientTable) -> np.ndarray:
    """The provider's cost of the security stacks per month: the endpoints of the clients on each contract with a
    stack, times its cost per endpoint-month [currency/month]."""
    per_endpoint = np.where(plan.assignment >= 0, levers.security.cost[np.maximum(plan.assignment, 0)], 0.0)
    return (per_endpoint * clients.endpoints[:, None]).sum(axis=0).astype(float)


def monitored_endpoints(plan: Plan, levers: Levers, clients: ClientTable) -> np.ndarray:
    """Endpoints of the clients on monitored contracts, per month [endpoints]."""
    monitored = np.where(plan.assignment >= 0, levers.monitoring[np.maximum(plan.assignment, 0)], False)
    return (monitored * clients.endpoints[:, None]).sum(axis=0).astype(float)
