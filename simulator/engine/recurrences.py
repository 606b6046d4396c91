"""Fixes that do not hold: the recurrences of a replication, drawn up front, and the callback that settles their
times while the pool runs.

A ticket's fix recurs when its uniform falls under p(k). Children (and their children) are drawn level by level
from one stream and handled under their parent's contract; only their times are settled during the run, when the
parent's fix is done (a child whose client has left by then, or that would come after the horizon, never happens).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from simulator.base.calendar import HOURS_PER_MONTH, scalar_maps
from simulator.base.records import Handling
from simulator.config import Scenario

from .incidents import ClientTable, IncidentFacts, IncidentSet, U, attributes_from_uniforms
from .plan import Clocks, Levers
from .pool import Job
from .routing import Routes, route

__all__ = [
    "MAX_RECURRENCE_DEPTH",
    "Recurrences",
    "draw_recurrences",
    "recurrence_callbacks",
    "recurrence_children",
]

MAX_RECURRENCE_DEPTH = 50  # a chain of fixes that keep failing stops here (p(k) = 1 would never end)


@dataclass
class Recurrences:
    """The incidents that got past prevention followed by every recurrence that may happen, level by level.

    Rows before ``first`` are the incidents that happen for sure; the rest happen only if ``happened`` says so
    once the pool has run. ``occurred`` and ``routes.created`` of a recurrence are filled in during the run.
    """

    incidents: IncidentFacts
    routes: Routes
    child: array[
        int
    ]  # row of each incident's recurrence, −1 none (a typed array: fast scalar reads, 8 bytes each)
    first: int
    occurred: np.ndarray  # occurrence [clock hours], settled during the run for recurrences
    happened: np.ndarray  # bool

    def copy(self) -> Recurrences:
        """A copy in which a run may settle the recurrences (their occurrence and creation times, whether they
        happened) without changing this one; the facts it only reads are shared."""
        return Recurrences(
            incidents=self.incidents,
            routes=dataclasses.replace(self.routes, created=self.routes.created.copy()),
            child=self.child,
            first=self.first,
            occurred=self.occurred.copy(),
            happened=self.happened.copy(),
        )


def draw_recurrences(
    scenario: Scenario,
    clients: ClientTable,
    inc: IncidentSet,
    routes: Routes,
    levers: Levers,
    months: int,
    rngs: Sequence[np.random.Generator],
    per_stream: int | None = None,
) -> Recurrences:
    """Draw every potential recurrence of the tickets in ``inc`` (routed and timed as ``routes``), up to
    :data:`MAX_RECURRENCE_DEPTH` levels, and route each under its parent's contract.

    The levels are drawn one after the other (whether a child recurs in turn is its own uniform's to say); their
    attributes and routes, functions of each child's uniforms alone, are then worked out for every level at once.
    ``rngs``: one stream, or one per replication of a stack (see
    :func:`~simulator.engine.replication.simulate_replications`) whose clients are numbered replication by
    replication, ``per_stream`` clients each: a replication's children get its stream's draws in the order one
    replication alone would draw them.
    """
    n_categories = len(scenario.incidents.categories)
    child_links: list[np.ndarray] = [np.full(len(inc), -1, dtype=np.int64)]
    uniforms: list[np.ndarray] = []
    categories: list[np.ndarray] = []
    kid_clients: list[np.ndarray] = []
    kid_contracts: list[np.ndarray] = []
    category, client, contract = inc.category, inc.client, routes.contract
    parent_mask = (routes.handling == Handling.TICKET) & (inc.u_recur < levers.p_recur[routes.contract])
    offset = len(inc)
    for _ in range(MAX_RECURRENCE_DEPTH):
        idx = np.flatnonzero(parent_mask)
        if len(idx) == 0:
            break
        category, client, contract = category[idx], client[idx], contract[idx]
        # A child of the same client and category, fresh draws.
        if len(rngs) == 1:
            u = rngs[0].random((len(idx), U.COUNT))
        else:
            # Parents come replication by replication (the stack's rows, and each level's, are in that order).
            counts = np.bincount(client // (per_stream or 1), minlength=len(rngs))
            u = np.concatenate([rng.random((int(c), U.COUNT)) for rng, c in zip(rngs, counts, strict=True)])
        child_links[-1][idx] = offset + np.arange(len(idx))
        uniforms.append(u)
        categories.append(category)
        kid_clients.append(client)
        kid_contracts.append(contract)
        child_links.append(np.full(len(idx), -1, dtype=np.int64))
        offset += len(idx)
        parent_mask = u[:, U.RECUR] < levers.p_recur[contract]
    parts = [IncidentFacts.of(inc)]
    all_routes = [routes]
    if uniforms:
        kid_contract = np.concatenate(kid_contracts)
        kids = recurrence_children(
            scenario,
            clients,
            np.concatenate(categories),
            np.concatenate(kid_clients),
            np.concatenate(uniforms),
            n_categories,
        )
        parts.append(IncidentFacts.of(kids))
        all_routes.append(route(kids, kid_contract, True, levers, clients, months))
    allinc = IncidentFacts.concat(parts)
    happened = np.ones(len(allinc), dtype=bool)
    happened[len(inc) :] = False
    return Recurrences(
        incidents=allinc,
        routes=Routes.concat(all_routes),
        child=array("q", np.concatenate(child_links).astype(np.int64).tobytes()),
        first=len(inc),
        occurred=allinc.occurred.copy(),
        happened=happened,
    )


def recurrence_children(
    scenario: Scenario,
    clients: ClientTable,
    category: np.ndarray,
    client: np.ndarray,
    u: np.ndarray,
    n_categories: int,
) -> IncidentSet:
    """Attributes of recurrences of the given categories and clients from their uniforms (one row each, in
    order); times come later."""
    kids = attributes_from_uniforms(scenario, clients, client, category, np.full(len(client), np.nan), u)
    # A major incident recurs as a site-wide recovery job, not a new outage.
    kids.outage_hours[category == n_categories] = 0.0
    return kids


def recurrence_callbacks(
    chain: Recurrences, job_rows: list[array[int]], assignment: np.ndarray, clocks: Clocks
) -> list[tuple[Callable[[int, float], Job | None], array[int]]]:
    """The ``on_done`` of each of several pools over one chain (the replications of a stack, each with its
    ``job_rows`` entry; one pool, one entry): when a ticket's fix is done at ``end_c`` [coverage hours] and it has
    a recurrence, settle when that recurrence occurs (the recurrence delay in the users' business hours after the
    fix) and is created, record it in ``chain`` and the pool's job rows, and return its job; None if it never
    happens.

    Called once per finished job that has a recurrence: the array returned with each says which jobs have one and
    must go to its pool as ``reports`` (each recurrence the callback returns adds its own entry). Everything they
    read is made ready once and bound to a local of the closures beforehand."""
    months = clocks.months
    child_all = chain.child
    occurred = chain.occurred
    created_all = chain.routes.created
    happened = chain.happened
    recur_delay_l: list[float] = chain.incidents.recur_delay.tolist()
    assignment_l: list[list[int]] = assignment.tolist()
    # What a recurrence needs, as Python lists for fast scalar access: only of the rows that are recurrences
    # (from ``first`` on), so that a large run does not hold a list entry per incident for each of them.
    first = chain.first
    kids, kid_routes = chain.incidents, chain.routes
    delay_l: list[float] = kid_routes.delay[first:].tolist()
    immediate_l: list[bool] = kid_routes.immediate[first:].tolist()
    triage_l: list[float] = kid_routes.triage[first:].tolist()
    client_l: list[int] = kids.client[first:].tolist()
    service_l: list[float] = (
        (kid_routes.work[first:] + kid_routes.travel[first:]) / clocks.availability
    ).tolist()
    priority_l: list[int] = kids.priority[first:].tolist()
    ub, uc = scalar_maps(clocks.users)
    cb, cc = scalar_maps(clocks.coverage)
    horizon_b = ub(months * HOURS_PER_MONTH)
    month_hours, last_month = HOURS_PER_MONTH, months - 1
    has_child_all = np.array(child_all, dtype=np.int64) >= 0

    def make(job_row: array[int]) -> tuple[Callable[[int, float], Job | None], array[int]]:
        def on_done(job: int, end_c: float) -> Job | None:
            row = job_row[job]  # a ticket with a recurrence: the pool reports no other job (``reports``)
            child = child_all[row]
            when_b = ub(cc(end_c, True)) + recur_delay_l[row]
            if when_b >= horizon_b:
                return None
            occ = uc(when_b, False)
            k = child - first
            month = int(occ // month_hours)
            if assignment_l[client_l[k]][month if month < last_month else last_month] < 0:
                return None  # the client has left
            created = occ if immediate_l[k] else uc(when_b + delay_l[k], False)
            occurred[child] = occ
            created_all[child] = created
            happened[child] = True
            job_row.append(child)
            reports.append(child_all[child] >= 0)
            return (cb(created) + triage_l[k], priority_l[k], service_l[k])

        rows = np.array(job_row, dtype=np.int64)  # a copy: a view would pin the typed array's buffer
        ticket = rows >= 0
        has_child = np.zeros(len(rows), dtype=np.int8)
        has_child[ticket] = has_child_all[rows[ticket]]
        reports = array("b", has_child.tobytes())
        return on_done, reports

    return [make(job_row) for job_row in job_rows]
