"""After the pool has run: what happened to each incident, its downtime, the ticket and prevention logs, and the
pool's work by month."""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from simulator.base.records import Handling, PreventionLog, TicketLog

from .incidents import IncidentFacts
from .jobs import PreventionJobs
from .plan import Clocks, Plan, month_of
from .pool import PoolResult
from .recurrences import Recurrences
from .routing import Routes

__all__ = [
    "Outcome",
    "Workload",
    "downtime",
    "prevention_logs",
    "settle",
    "ticket_log",
    "workloads",
]


@dataclass(frozen=True)
class Outcome:
    """Every incident that happened (recurrences that never came are left out), one entry per incident."""

    incidents: IncidentFacts
    routes: Routes
    started: np.ndarray  # work started [clock hours]; NaN if never a ticket
    resolved: np.ndarray  # work done [clock hours]; NaN if never a ticket
    parent: np.ndarray  # row of the incident whose fix this one is a recurrence of, −1 none
    parent_resolved: np.ndarray  # when that fix was done [clock hours], NaN otherwise
    recurrence: np.ndarray  # bool


def settle(chain: Recurrences, job_row: array[int], pool: PoolResult, clocks: Clocks) -> Outcome:
    """Map the pool's start and end of every ticket back to the clock, link each recurrence to its parent, and
    keep the incidents that happened.

    The chain is used up: its incident and route facts are moved into the outcome, each let go of as soon as it
    is copied (the chain is left with none), so that the chain and the outcome are never both whole in memory."""
    cov = clocks.coverage
    n = len(chain.incidents)
    rows = np.array(job_row, dtype=np.int64)  # a copy: a view would pin the typed array's buffer
    started = np.full(n, np.nan)
    resolved = np.full(n, np.nan)
    m = rows >= 0
    started[rows[m]] = cov.clock_time(pool.start[m], earliest=False)
    resolved[rows[m]] = cov.clock_time(pool.end[m], earliest=True)
    child_arr = np.array(chain.child, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    has_child = child_arr >= 0
    parent[child_arr[has_child]] = np.flatnonzero(has_child)
    parent_resolved = np.full(n, np.nan)
    parent_resolved[child_arr[has_child]] = resolved[has_child]
    keep = chain.happened
    new_id = np.cumsum(keep) - 1
    none = np.zeros(0, dtype=np.int64)
    facts, chain.incidents = chain.incidents, chain.incidents.take(none, occurred=chain.occurred[none])
    incidents = facts.take(keep, occurred=chain.occurred)
    del facts
    routes, chain.routes = chain.routes, chain.routes.take(none)
    kept_routes = routes.take(keep)
    del routes
    return Outcome(
        incidents=incidents,
        routes=kept_routes,
        started=started[keep],
        resolved=resolved[keep],
        parent=np.where(parent[keep] >= 0, new_id[np.maximum(parent[keep], 0)], -1),
        parent_resolved=parent_resolved[keep],
        recurrence=np.arange(len(keep))[keep] >= chain.first,
    )


def downtime(out: Outcome, clocks: Clocks) -> tuple[np.ndarray, np.ndarray]:
    """Each incident's downtime [users' business hours] and blocked user-hours [user-hours].

    A ticket: occurrence to resolution, at least a major incident's outage; auto-remediated: the remediation
    time; worked around: the staff's time; fixed by the client's own IT: the reporting delay plus its hands-on
    hours. User-hours: downtime × users affected × blocking factor (1 when worked around).
    """
    inc, users = out.incidents, clocks.users
    handling = out.routes.handling
    ticket = handling == Handling.TICKET
    hours = np.zeros(len(inc))
    hours[ticket] = users.business_hours_between(inc.occurred[ticket], out.resolved[ticket])
    hours = np.maximum(hours, np.where(ticket, inc.outage_hours, 0.0))
    auto = handling == Handling.AUTO
    hours[auto] = users.business_hours_between(inc.occurred[auto], inc.occurred[auto] + inc.auto_hours[auto])
    selfh = handling == Handling.SELF
    hours[selfh] = out.routes.self_hours[selfh]
    client_it = handling == Handling.CLIENT_IT
    hours[client_it] = out.routes.delay[client_it] + out.routes.client_it_hours[client_it]
    factor = np.where(selfh, 1.0, inc.blocking_factor)
    return hours, hours * inc.users_affected * factor


def ticket_log(
    out: Outcome,
    clocks: Clocks,
    n_categories: int,
    rereport_hours: float = 0.0,
    client_it_cost_per_hour: np.ndarray | None = None,
) -> TicketLog:
    """The log of every incident that happened, with its times, work, downtime and recurrence links; the month of
    a ticket is the month it was created, of any other incident the month it occurred. A recurrence costs its user
    ``rereport_hours`` more (reporting it again), counted in its blocked user-hours and their cost. The client's
    own IT's hours are costed at ``client_it_cost_per_hour`` of each incident's contract [currency/hour]."""
    inc, routes = out.incidents, out.routes
    handling = routes.handling
    ticket = handling == Handling.TICKET
    hours, user_hours = downtime(out, clocks)
    if rereport_hours:
        user_hours = user_hours + np.where(out.recurrence, rereport_hours, 0.0)
    created = np.where(ticket, routes.created, np.nan)
    return TicketLog(
        incident=np.arange(len(inc), dtype=np.int64),
        client=inc.client,
        category=inc.category,
        major=inc.category == n_categories,
        priority=inc.priority,
        blocking=inc.blocking,
        handling=handling.astype(np.int8),
        occurred=inc.occurred,
        created=created,
        started=out.started,
        resolved=out.resolved,
        month=month_of(np.where(ticket, created, inc.occurred), clocks.months),
        onsite=routes.onsite & ticket,
        work_hours=np.where(ticket, routes.work, 0.0),
        travel_hours=np.where(ticket, routes.travel, 0.0),
        parts_cost=np.where(ticket, inc.parts_cost, 0.0),
        # Only round-the-clock coverage can start work outside business hours.
        after_hours=ticket & ~clocks.users.is_open(np.nan_to_num(out.started))
        if clocks.coverage.always_open
        else np.zeros(len(ticket), bool),
        downtime_hours=hours,
        downtime_user_hours=user_hours,
        downtime_cost=user_hours * inc.cost_per_user_hour,
        recurrence=out.recurrence,
        parent=out.parent,
        parent_resolved=out.parent_resolved,
        client_it_hours=routes.client_it_hours,
        client_it_cost=routes.client_it_hours
        * (0.0 if client_it_cost_per_hour is None else client_it_cost_per_hour[routes.contract]),
    )


def prevention_logs(
    jobs: PreventionJobs, job_row: array[int], pool: PoolResult, sizes: list[int], clocks: Clocks
) -> tuple[PreventionLog, np.ndarray, list[tuple[int, int]]]:
    """The prevention jobs as the pools did them (month: the month each started), each one's contract, and the
    rows each pool's jobs span: for several pools whose jobs and rows are one after the other's (``sizes``: each
    pool's number of jobs; one pool, one size), one pool's jobs after the other's, the clock times worked out once
    for all."""
    cov = clocks.coverage
    rows = np.array(job_row, dtype=np.int64)  # a copy: a view would pin the typed array's buffer
    idx = np.where(rows >= 0, rows, -1 - rows)
    pm = rows < 0
    p_start = cov.clock_time(pool.start[pm], earliest=False)
    log = PreventionLog(
        client=jobs.client[idx[pm]],
        month=month_of(p_start, clocks.months),
        hours=jobs.hours[idx[pm]],
        started=p_start,
        resolved=cov.clock_time(pool.end[pm], earliest=True),
    )
    counts = np.bincount(np.repeat(np.arange(len(sizes)), sizes)[pm], minlength=len(sizes))
    ends = np.cumsum(counts)
    starts = ends - counts
    return log, jobs.contract[idx[pm]], list(zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass(frozen=True)
class Workload:
    """The pool's hours by month [hours/month], and the overtime after the horizon [hours]."""

    busy: np.ndarray  # hours worked, by the month each job started
    offered: np.ndarray  # work reaching the pool
    coverage: np.ndarray  # on-duty hours of the whole pool
    productive: np.ndarray  # of those, the hours it can give to tickets and prevention
    overtime: float  # work done after the horizon to clear the backlog of tickets created within it


def workloads(
    logs: list[TicketLog],
    jobs: PreventionJobs,
    pool: PoolResult,
    sizes: list[int],
    plan: Plan,
    clocks: Clocks,
) -> list[Workload]:
    """Each pool's busy hours by the month the job started, capped at the horizon; work offered: each ticket's
    hands-on and travel hours in the month it was created, each prevention job's hours in the month it is due
    (whenever the pool gets to it); on-duty hours of the plan's pool; and the hours worked after the horizon. For
    several pools whose jobs are one after the other's (``sizes``: each pool's number of jobs; ``logs``: each one's
    ticket log; one pool, one of each), what they share worked out once."""
    months, edges = clocks.months, clocks.month_edges
    started = month_of(clocks.coverage.clock_time(pool.start, earliest=False), months)
    held = pool.service * clocks.availability  # the hours worked, not the hours held
    after = np.maximum(pool.end - np.maximum(pool.start, float(edges[-1])), 0.0)
    prevention = np.bincount(jobs.month, weights=jobs.hours, minlength=months)
    out = []
    ends = np.cumsum(sizes)
    for log, end, size in zip(logs, ends, sizes, strict=True):
        part = slice(int(end - size), int(end))
        ticket = log.handling == Handling.TICKET
        offered = (
            np.bincount(
                log.month[ticket], weights=(log.work_hours + log.travel_hours)[ticket], minlength=months
            )
            + prevention
        )
        coverage = np.diff(edges) * plan.technicians
        out.append(
            Workload(
                busy=np.bincount(started[part], weights=held[part], minlength=months),
                offered=offered.astype(float),
                coverage=coverage,
                productive=coverage * clocks.availability,
                overtime=float(after[part].sum()) * clocks.availability,
            )
        )
    return out
