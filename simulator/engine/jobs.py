"""The work the technician pool serves: the tickets, the prevention jobs, and the run of the pool over them."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.base.records import Handling
from simulator.config import Scenario

from .incidents import ClientTable
from .plan import Clocks, Plan
from .pool import Job, PoolResult, run_pool
from .routing import Routes

__all__ = ["PREVENTION_PRIORITY", "JobQueue", "PreventionJobs", "prevention_jobs", "queue_jobs", "run_jobs"]

PREVENTION_PRIORITY = 5


@dataclass(frozen=True)
class PreventionJobs:
    """Prevention work as equal jobs: one entry per job."""

    client: np.ndarray
    arrival: np.ndarray  # [coverage hours]
    hours: np.ndarray  # [hours]
    month: np.ndarray  # month it is due
    contract: np.ndarray  # contract index


def prevention_jobs(
    scenario: Scenario, clients: ClientTable, plan: Plan, prevention: np.ndarray, clocks: Clocks
) -> PreventionJobs:
    """Each served client's prevention hours (e × endpoints per month, e [hours/endpoint-month] under its
    contract that month) as equal jobs spread evenly over the month, clients staggered so their jobs do not all
    arrive together."""
    months = clocks.months
    e = np.where(plan.assignment >= 0, prevention[np.maximum(plan.assignment, 0)], 0.0)  # (clients, months)
    monthly = e * clients.endpoints[:, None]
    job_hours = scenario.provider.prevention_job_hours
    n_jobs = np.ceil(monthly / job_hours - 1e-9).astype(np.int64)
    client_grid, month_grid = np.meshgrid(np.arange(clients.count), np.arange(months), indexing="ij")
    client = np.repeat(client_grid.ravel(), n_jobs.ravel())
    month = np.repeat(month_grid.ravel(), n_jobs.ravel())
    per_job = np.divide(monthly, n_jobs, out=np.zeros_like(monthly), where=n_jobs > 0)
    hours = np.repeat(per_job.ravel(), n_jobs.ravel())
    counts = n_jobs.ravel()
    within = np.arange(len(client)) - np.repeat(np.cumsum(counts) - counts, counts)
    k = np.repeat(counts, counts)
    frac = np.mod((within + 0.5) / np.maximum(k, 1) + client / max(clients.count, 1) / np.maximum(k, 1), 1.0)
    edges = clocks.month_edges
    arrival = edges[month] + np.diff(edges)[month] * frac
    contract = plan.assignment[client, month] if len(client) else np.zeros(0, dtype=np.int64)
    return PreventionJobs(client=client, arrival=arrival, hours=hours, month=month, contract=contract)


@dataclass(frozen=True)
class JobQueue:
    """The jobs known before the run, sorted by arrival [coverage hours], with their priority and service
    [hours]. ``job_row`` maps each job to its incident row (>= 0) or prevention job (−1 − index); jobs added
    during the run (recurrences) are appended to it (a typed array: fast scalar reads, 8 bytes an entry)."""

    arrival: np.ndarray
    priority: np.ndarray
    service: np.ndarray
    job_row: array[int]

    def copy(self) -> JobQueue:
        """A copy to which a run may add its jobs (the arrays it only reads are shared)."""
        return JobQueue(self.arrival, self.priority, self.service, array("q", self.job_row))


def queue_jobs(
    priority: np.ndarray,
    routes: Routes,
    prevention: PreventionJobs,
    first: int,
    among: np.ndarray | None = None,
) -> JobQueue:
    """The tickets among the first ``first`` incidents (of priority ``priority``, routed as ``routes``: hands-on
    plus travel hours; only those ``among`` marks, when given) and the prevention jobs (lowest priority), in order
    of arrival."""
    ticket = routes.handling[:first] == Handling.TICKET
    ticket_idx = np.flatnonzero(ticket if among is None else ticket & among)
    n_p = len(prevention.arrival)
    arrival = np.concatenate([routes.arrival[ticket_idx], prevention.arrival])
    priority = np.concatenate([priority[ticket_idx], np.full(n_p, PREVENTION_PRIORITY)])
    service = np.concatenate([routes.work[ticket_idx] + routes.travel[ticket_idx], prevention.hours])
    order = np.argsort(arrival, kind="stable")
    return JobQueue(
        arrival=arrival[order],
        priority=priority[order],
        service=service[order],
        job_row=array(
            "q", np.concatenate([ticket_idx, -1 - np.arange(n_p)])[order].astype(np.int64).tobytes()
        ),
    )


def run_jobs(
    queue: JobQueue,
    plan: Plan,
    clocks: Clocks,
    on_done: Callable[[int, float], Job | None],
    reports: array[int] | None = None,
) -> PoolResult:
    """Serve the queue with the plan's technicians, hiring at the start of each month the pool grows. A job holds
    a technician for its hours / the pool's availability: leave, training and admin take the rest of the
    on-duty time (``on_done``'s jobs are held the same way). ``reports``: the jobs whose ends ``on_done`` hears of
    (see :func:`~simulator.engine.pool.run_pool`)."""
    hires = np.diff(plan.technicians)
    if np.any(hires < 0):
        raise ValueError("the technician pool may only grow over the horizon")
    added = [(float(clocks.month_edges[m + 1]), int(h)) for m, h in enumerate(hires) if h > 0]
    held = queue.service / clocks.availability
    return run_pool(queue.arrival, queue.priority, held, int(plan.technicians[0]), on_done, added, reports)
