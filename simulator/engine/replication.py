"""One replication of one contract: what the provider's levers and the client's behaviour make of the incidents.

The incident set is shared by every contract of the replication; here a contract's policy thins it (prevention,
its security stack), routes each incident (self-handled, auto-remediated, fixed by the client's own IT, ticket),
queues the tickets and the prevention work on the technician pool, spawns recurrences of fixes that do not hold,
and measures downtime. Each step is a function of its own module (``routing``, ``recurrences``, ``jobs``,
``logs``), listed in order in two halves: what comes before the pool (``_before_pool``, which the staffing levels
of :func:`simulate_staffing` share) and the pool's run with what follows it (``_run_pool``).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.base.records import PreventionLog, TicketLog, field_names, stacked
from simulator.base.rng import streams
from simulator.config import Scenario
from simulator.contracts import Contract

from .incidents import ClientTable, IncidentSet, generate_replications
from .jobs import JobQueue, PreventionJobs, prevention_jobs, queue_jobs, run_jobs
from .logs import prevention_logs, settle, ticket_log, workloads
from .plan import Clocks, Levers, Plan, contract_levers, month_of, recurrence_probability
from .pool import PoolResult
from .recurrences import Recurrences, draw_recurrences, recurrence_callbacks
from .routing import route, thin_by_prevention, thin_by_security, time_tickets

__all__ = [
    "Batch",
    "ContractRun",
    "Plan",
    "PlanSetup",
    "Stack",
    "contract_setup",
    "plan_setup",
    "recurrence_probability",
    "simulate_contract",
    "simulate_plan",
    "simulate_replications",
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
    # The logs of the runs simulated side by side with this one (it the ``place``-th of them); None alone.
    batch: Batch | None = None
    place: int = 0


@dataclass(frozen=True)
class Batch:
    """The logs of the runs of replications simulated side by side (:func:`simulate_replications`): one run's
    rows after the other's, their clients numbered run by run (those of the k-th plus k × the scenario's clients),
    as ``stacked`` makes them of the runs' logs; each run's logs are views of these rows (but for their clients,
    numbered as the run's own). Kept so that measuring the runs together need not stack them again."""

    tickets: TicketLog
    prevention: PreventionLog
    runs: int


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
    # The staged chain is handed over, not kept here: the pool's run lets go of it as it goes.
    one = Stack.of([incidents], clients, [replication])
    return _run_pool(scenario, setup, clients, _before_pool(scenario, setup, one, seed))[0]


def simulate_replications(scenario: Scenario, setup: PlanSetup, stack: Stack, seed: int) -> list[ContractRun]:
    """Run one plan (``setup``, its :func:`plan_setup`) over the replications of ``stack`` at once, each over its
    own incidents, with its own technician pool and random streams: every run is what :func:`simulate_plan` gives
    for its replication. The steps before the pool (thinning, routing, the recurrences drawn) and after it
    (settling, the ticket log) run once over all of them, which is most of the cost of a small replication."""
    return _run_pool(scenario, setup, stack.scenario_clients, _before_pool(scenario, setup, stack, seed))


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
    staged = [_before_pool(scenario, setups[0], Stack.of([incidents], clients, [replication]), seed)]
    for k, setup in enumerate(setups):
        # The pool settles the recurrences' times in the chain and adds them to the queue: each level its own
        # copy, the last the original (handed over, not kept here, so that the run lets go of it as it goes).
        mine = staged.pop() if k == len(setups) - 1 else staged[0].copy()
        yield _run_pool(scenario, setup, clients, mine)[0]


@dataclass
class _Staged:
    """What the pools' runs start from, for a stack of replications (one, or several side by side, their clients
    numbered replication by replication): the incidents that got past prevention and the security stack with their
    routes and drawn recurrences, each replication's jobs queued, and when and for which replication the incidents
    prevention and the stack removed would have occurred."""

    chain: Recurrences
    queues: list[JobQueue]
    assignment: np.ndarray  # the plan's assignment, once per replication
    prevented: tuple[np.ndarray, np.ndarray]  # (occurrence [clock hours], replication)
    stopped: tuple[np.ndarray, np.ndarray]

    def copy(self) -> _Staged:
        """A copy whose chain and queues a run of the pools may change without changing these."""
        return _Staged(
            self.chain.copy(), [q.copy() for q in self.queues], self.assignment, self.prevented, self.stopped
        )


@dataclass(frozen=True)
class Stack:
    """Several replications' incidents side by side, as one portfolio whose clients are the scenario's once per
    replication (numbered replication by replication): the incidents in one set, the client table repeated as
    many times. Made once, it serves every contract of the replications (:func:`simulate_replications`)."""

    incidents: IncidentSet
    table: ClientTable
    scenario_clients: ClientTable
    replications: tuple[int, ...]

    @staticmethod
    def of(incidents: Sequence[IncidentSet], clients: ClientTable, replications: Sequence[int]) -> Stack:
        """``incidents[k]``, those of replication ``replications[k]``, stacked (one replication: as it is)."""
        if len(incidents) == 1:
            return Stack(incidents[0], clients, clients, tuple(replications))
        whole = stacked(IncidentSet, incidents, clients.count)
        return Stack(whole, _repeated(clients, len(incidents)), clients, tuple(replications))

    @staticmethod
    def generate(scenario: Scenario, clients: ClientTable, replications: Sequence[int], seed: int) -> Stack:
        """The incidents of ``replications`` generated side by side (see
        :func:`~simulator.engine.incidents.generate_replications`): what :meth:`of` makes of each replication's
        :func:`~simulator.engine.incidents.generate_incidents`."""
        incidents = generate_replications(scenario, clients, replications, seed)
        table = clients if len(replications) == 1 else _repeated(clients, len(replications))
        return Stack(incidents, table, clients, tuple(replications))


def _repeated(clients: ClientTable, k: int) -> ClientTable:
    """The client table ``k`` times over, numbered copy by copy."""
    return ClientTable(**{name: np.tile(getattr(clients, name), k) for name in field_names(ClientTable)})


def _before_pool(scenario: Scenario, setup: PlanSetup, stack: Stack, seed: int) -> _Staged:
    clocks, levers = setup.clocks, setup.levers
    months = clocks.months
    n, table, replications = stack.scenario_clients.count, stack.table, stack.replications
    plan = setup.plan
    if len(replications) > 1:
        plan = dataclasses.replace(plan, assignment=np.tile(plan.assignment, (len(replications), 1)))
    inc, inc_contract, prevented = thin_by_prevention(stack.incidents, plan, levers, months)
    prevented_at = (stack.incidents.occurred[prevented], stack.incidents.client[prevented] // max(n, 1))
    del stack, prevented
    past, inc_contract, stopped = thin_by_security(inc, inc_contract, levers)
    stopped_at = (inc.occurred[stopped], inc.client[stopped] // max(n, 1))
    inc = past
    del past, stopped
    routes = time_tickets(inc, route(inc, inc_contract, False, levers, table, months), clocks)
    rngs = streams(seed, [(r, "recurrence") for r in replications])
    chain = draw_recurrences(scenario, table, inc, routes, levers, months, rngs, n)
    # The chain holds what the rest needs (these first); letting go keeps the peak memory down.
    del inc, routes
    first = chain.first
    if len(replications) == 1:
        queues = [queue_jobs(chain.incidents.priority, chain.routes, setup.prevention, first)]
    else:
        mine = chain.incidents.client[:first] // n
        queues = [
            queue_jobs(chain.incidents.priority, chain.routes, setup.prevention, first, mine == k)
            for k in range(len(replications))
        ]
    return _Staged(chain, queues, plan.assignment, prevented_at, stopped_at)


def _run_pool(
    scenario: Scenario, setup: PlanSetup, clients: ClientTable, staged: _Staged
) -> list[ContractRun]:
    plan, clocks, levers, prevention = setup.plan, setup.clocks, setup.levers, setup.prevention
    months = clocks.months
    n = clients.count
    chain, queues, assignment = staged.chain, staged.queues, staged.assignment
    prevented, stopped = staged.prevented, staged.stopped
    del staged  # the chain is used up below
    callbacks = recurrence_callbacks(chain, [q.job_row for q in queues], assignment, clocks)
    pools = [
        run_jobs(queue, plan, clocks, on_done, reports)
        for queue, (on_done, reports) in zip(queues, callbacks, strict=True)
    ]
    del callbacks  # they hold the chain's arrays: settle lets go of them as it copies them
    sizes = [len(p.start) for p in pools]
    if len(queues) == 1:
        job_row, pool = queues[0].job_row, pools[0]
    else:
        job_row = array("q", b"".join(q.job_row.tobytes() for q in queues))
        pool = PoolResult.concat(pools)
    del queues, pools
    outcome = settle(chain, job_row, pool, clocks)
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
    jobs_done, jobs_contract, spans = prevention_logs(prevention, job_row, pool, sizes, clocks)
    batch = None
    if len(sizes) == 1:
        logs, contracts = [log], [ticket_contract]
        done = [(jobs_done, jobs_contract)]
    else:
        log, ticket_contract, bounds = _grouped(log, ticket_contract, len(sizes), n)
        logs = _split(log, bounds, n)
        contracts = [ticket_contract[a:b] for a, b in bounds]
        # Each pool's prevention jobs are together already, its clients numbered as the scenario's.
        done = [(jobs_done.take(slice(a, b)), jobs_contract[a:b]) for a, b in spans]
        pool_of = np.repeat(np.arange(len(sizes)), [b - a for a, b in spans])
        whole = dataclasses.replace(jobs_done, client=jobs_done.client + pool_of * n)
        batch = Batch(log, whole, len(sizes))
    del log, ticket_contract
    work = workloads(logs, prevention, pool, sizes, plan, clocks)
    del job_row, pool
    runs = []
    for k, (mine, contract, (prevention_done, prevention_contract), hours) in enumerate(
        zip(logs, contracts, done, work, strict=True)
    ):
        runs.append(
            ContractRun(
                tickets=mine,
                prevention=prevention_done,
                technicians_by_month=plan.technicians.astype(np.int64),
                monitored_endpoints_by_month=setup.monitored_endpoints,
                prevented_by_month=_by_month(prevented, k, months),
                stopped_by_month=_by_month(stopped, k, months),
                security_cost_by_month=setup.security_cost,
                busy_hours_by_month=hours.busy,
                offered_hours_by_month=hours.offered,
                overtime_hours=hours.overtime,
                coverage_hours_by_month=hours.coverage,
                productive_hours_by_month=hours.productive,
                ticket_contract=contract,
                prevention_contract=prevention_contract,
                batch=batch,
                place=k,
            )
        )
    return runs


def _by_month(when: tuple[np.ndarray, np.ndarray], replication: int, months: int) -> np.ndarray:
    """How many of the incidents at ``when`` (occurrence, replication) the replication had, by month."""
    times, of = when
    return np.bincount(month_of(times[of == replication], months), minlength=months)


def _grouped(
    log: TicketLog, contract: np.ndarray, replications: int, n: int
) -> tuple[TicketLog, np.ndarray, list[tuple[int, int]]]:
    """A stacked ticket log (and the contract of each row) with each replication's rows together, in the order
    they were in, and its incident numbers and parent rows numbered as the replication's own log numbers them;
    with the rows each replication's log spans."""
    of = log.client // n
    order = np.argsort(of, kind="stable")
    counts = np.bincount(of, minlength=replications)
    ends = np.cumsum(counts)
    starts = ends - counts
    local = np.empty(len(log), dtype=np.int64)  # each row's number in its replication's log
    local[order] = np.arange(len(log)) - np.repeat(starts, counts)
    grouped = log.take(order)
    parent = grouped.parent
    grouped.incident = local[order]
    grouped.parent = np.where(parent >= 0, local[np.maximum(parent, 0)], -1)
    return grouped, contract[order], list(zip(starts.tolist(), ends.tolist(), strict=True))


def _split(log: TicketLog, bounds: list[tuple[int, int]], n: int) -> list[TicketLog]:
    """A grouped ticket log (see :func:`_grouped`) as one log per replication, views of its rows but for the
    clients, numbered as the replication's own log numbers them."""
    names = field_names(TicketLog)
    logs = []
    for k, (a, b) in enumerate(bounds):
        mine = {name: getattr(log, name)[a:b] for name in names}
        mine["client"] = mine["client"] - k * n
        logs.append(TicketLog(**mine))
    return logs


def security_cost(plan: Plan, levers: Levers, clients: ClientTable) -> np.ndarray:
    """The provider's cost of the security stacks per month: the endpoints of the clients on each contract with a
    stack, times its cost per endpoint-month [currency/month]."""
    per_endpoint = np.where(plan.assignment >= 0, levers.security.cost[np.maximum(plan.assignment, 0)], 0.0)
    return (per_endpoint * clients.endpoints[:, None]).sum(axis=0).astype(float)


def monitored_endpoints(plan: Plan, levers: Levers, clients: ClientTable) -> np.ndarray:
    """Endpoints of the clients on monitored contracts, per month [endpoints]."""
    monitored = np.where(plan.assignment >= 0, levers.monitoring[np.maximum(plan.assignment, 0)], False)
    return (monitored * clients.endpoints[:, None]).sum(axis=0).astype(float)
