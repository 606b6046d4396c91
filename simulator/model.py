"""One replication of one contract: what the provider's levers and the client's behaviour make of the incidents.

The incident set is shared by every contract of the replication; here a contract's policy thins it (prevention),
routes each incident (self-handled, auto-remediated, ticket), queues the tickets and the prevention work on the
technician pool, spawns recurrences of fixes that do not hold, and measures downtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import HOURS_PER_MONTH, scalar_maps
from .config import Scenario
from .contracts import Contract, Managed
from .incidents import ClientTable, IncidentSet, U, attributes_from_uniforms
from .provider import Job, run_pool
from .records import Handling, PreventionLog, TicketLog
from .rng import stream

__all__ = ["ContractRun", "simulate_contract"]

PREVENTION_PRIORITY = 5
MAX_RECURRENCE_DEPTH = 50  # a chain of fixes that keep failing stops here (p(k) = 1 would never end)


@dataclass
class ContractRun:
    """Everything that happened under one contract in one replication."""

    tickets: TicketLog
    prevention: PreventionLog
    technicians: int
    monitoring: bool
    prevented_by_month: np.ndarray  # incidents removed by prevention, by month of (would-be) occurrence
    busy_hours_by_month: np.ndarray
    overtime_hours: float  # work done after the horizon to clear the backlog of tickets created within it
    coverage_hours_by_month: np.ndarray


def recurrence_probability(scenario: Scenario, thoroughness: float) -> float:
    """p(k) = min(1, p₀ · k^(−elasticity)) [share]."""
    rec = scenario.provider.recurrence
    return min(1.0, rec.probability * thoroughness ** (-rec.thoroughness_elasticity))


def simulate_contract(
    scenario: Scenario,
    contract: Contract,
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
) -> ContractRun:
    """Run one contract over the shared incidents of a replication."""
    policy = contract.policy
    provider = scenario.provider
    users_cal = scenario.calendar.users()
    cov = scenario.calendar.coverage()
    horizon = scenario.horizon_months * HOURS_PER_MONTH
    behaviours = [c.managed if isinstance(contract, Managed) else c.break_fix for c in scenario.clients]
    call_in = np.array([b.call_in_share for b in behaviours])
    effort_factor = policy.thoroughness * (provider.tools_effort_factor if policy.monitoring else 1.0)
    triage = (
        provider.triage_delay_hours.automated if policy.monitoring else provider.triage_delay_hours.manual
    )
    p_recur = recurrence_probability(scenario, policy.thoroughness)

    e = policy.prevention_hours_per_endpoint_month
    prevented = incidents.u_prevent < incidents.prevent_threshold * -np.expm1(-incidents.theta * e)
    inc = incidents.take(~prevented)

    def route(s: IncidentSet, recurrence: bool) -> dict[str, np.ndarray]:
        """Handling, reporting delay, triage and work of each incident (times follow once occurrence is known)."""
        segment = clients.segment[s.client]
        detected = s.detectable & policy.monitoring
        auto = detected & s.auto_remediable & ~recurrence
        reported = detected | s.site | (s.u_call < call_in[segment]) | recurrence
        handling = np.where(auto, Handling.AUTO, np.where(reported, Handling.TICKET, Handling.SELF))
        delay = np.zeros(len(s))
        self_hours = np.zeros(len(s))
        for k, b in enumerate(behaviours):
            m = segment == k
            if m.any():
                delay[m] = b.reporting_delay_hours.ppf(s.u_report[m])
                self_hours[m] = b.self_handling_hours.ppf(s.u_self[m])
        immediate = detected | s.site
        delay[immediate] = 0.0
        return {
            "handling": handling,
            "immediate": immediate,
            "delay": delay,
            "triage": np.where(
                (s.priority == 1) & (not policy.monitoring),
                provider.triage_delay_hours.urgent.ppf(s.u_triage),
                triage.ppf(s.u_triage),
            ),
            "work": s.effort * effort_factor,
            "self_hours": self_hours,
        }

    def timing(s: IncidentSet, rt: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Ticket creation (clock) and queue arrival (coverage time) from occurrence."""
        created = users_cal.clock_time(users_cal.business_time(s.occurred) + rt["delay"], earliest=False)
        created = np.where(rt["immediate"], s.occurred, created)
        return created, cov.business_time(created) + rt["triage"]

    r = route(inc, False)
    r["created"], r["arrival"] = timing(inc, r)
    is_ticket = r["handling"] == Handling.TICKET

    # Recurrences: a fix recurs when its uniform falls under p(k). Children (and their children) are drawn up
    # front, level by level, from one stream; only their times are settled during the run.
    n_categories = len(scenario.incidents.categories)
    levels: list[IncidentSet] = []
    level_routes: list[dict[str, np.ndarray]] = []
    child_of = np.full(len(inc), -1, dtype=np.int64)
    child_links: list[np.ndarray] = [child_of]
    rec_rng = stream(seed, replication, "recurrence")
    parents = inc
    parent_mask = is_ticket & (inc.u_recur < p_recur)
    offset = len(inc)
    for _ in range(MAX_RECURRENCE_DEPTH):
        idx = np.flatnonzero(parent_mask)
        if len(idx) == 0:
            break
        kids = _children(scenario, clients, parents.take(idx), rec_rng, n_categories)
        child_links[-1][idx] = offset + np.arange(len(idx))
        kid_route = route(kids, True)
        levels.append(kids)
        level_routes.append(kid_route)
        child_links.append(np.full(len(kids), -1, dtype=np.int64))
        offset += len(kids)
        parents = kids
        parent_mask = kids.u_recur < p_recur
    allinc = IncidentSet.concat([inc, *levels]) if levels else inc
    keys = list(r)
    route_all = {
        k: np.concatenate(
            [
                r[k],
                *(lr.get(k, np.full(len(lv), np.nan)) for lr, lv in zip(level_routes, levels, strict=True)),
            ]
        )
        for k in keys
    }
    child_all: list[int] = np.concatenate(child_links).tolist()
    occurred = allinc.occurred.copy()
    created_all = route_all["created"]
    delay_l: list[float] = route_all["delay"].tolist()
    immediate_l: list[bool] = route_all["immediate"].tolist()
    triage_l: list[float] = route_all["triage"].tolist()
    recur_delay_l: list[float] = allinc.recur_delay.tolist()
    ub, uc = scalar_maps(users_cal)
    cb, cc = scalar_maps(cov)
    horizon_b = ub(horizon)
    happened = np.ones(len(allinc), dtype=bool)
    happened[len(inc) :] = False

    # Prevention jobs: each client's monthly hours in equal jobs spread over the month.
    prev = _prevention_jobs(scenario, clients, e, cov)
    ticket_idx = np.flatnonzero(is_ticket)
    n_p = len(prev["arrival"])
    arrival = np.concatenate([r["arrival"][ticket_idx], prev["arrival"]])
    priority = np.concatenate([inc.priority[ticket_idx], np.full(n_p, PREVENTION_PRIORITY)])
    service = np.concatenate([r["work"][ticket_idx] + inc.travel[ticket_idx], prev["hours"]])
    order = np.argsort(arrival, kind="stable")
    # Job -> incident row (>= 0) or prevention job (-1 - index).
    job_row: list[int] = np.concatenate([ticket_idx, -1 - np.arange(n_p)])[order].tolist()
    service_all: list[float] = (route_all["work"] + allinc.travel).tolist()
    priority_all: list[int] = allinc.priority.tolist()

    def on_done(job: int, end_c: float) -> Job | None:
        row = job_row[job]
        if row < 0:
            return None
        child = child_all[row]
        if child < 0:
            return None
        when_b = ub(cc(end_c, True)) + recur_delay_l[row]
        if when_b >= horizon_b:
            return None
        occ = uc(when_b, False)
        created = occ if immediate_l[child] else uc(when_b + delay_l[child], False)
        occurred[child] = occ
        created_all[child] = created
        happened[child] = True
        job_row.append(child)
        return (cb(created) + triage_l[child], priority_all[child], service_all[child])

    pool = run_pool(arrival[order], priority[order], service[order], policy.technicians, on_done)
    start_c, end_c = pool.start, pool.end
    rows = np.asarray(job_row, dtype=np.int64)

    started = np.full(len(allinc), np.nan)
    resolved = np.full(len(allinc), np.nan)
    m = rows >= 0
    started[rows[m]] = cov.clock_time(start_c[m], earliest=False)
    resolved[rows[m]] = cov.clock_time(end_c[m], earliest=True)
    child_arr = np.asarray(child_all, dtype=np.int64)
    parent = np.full(len(allinc), -1, dtype=np.int64)
    has_child = child_arr >= 0
    parent[child_arr[has_child]] = np.flatnonzero(has_child)
    parent_resolved = np.full(len(allinc), np.nan)
    parent_resolved[child_arr[has_child]] = resolved[has_child]
    allinc.occurred = occurred
    keep = happened
    allinc = allinc.take(keep)
    new_id = np.cumsum(keep) - 1
    parent = np.where(parent[keep] >= 0, new_id[np.maximum(parent[keep], 0)], -1)
    parent_resolved = parent_resolved[keep]
    started, resolved = started[keep], resolved[keep]
    route_all = {k: v[keep] for k, v in route_all.items()}
    is_recurrence = np.arange(len(keep))[keep] >= len(inc)
    handling = route_all["handling"]
    ticket = handling == Handling.TICKET

    downtime = np.zeros(len(allinc))
    downtime[ticket] = users_cal.business_hours_between(allinc.occurred[ticket], resolved[ticket])
    downtime = np.maximum(downtime, np.where(ticket, allinc.outage_hours, 0.0))
    auto = handling == Handling.AUTO
    downtime[auto] = users_cal.business_hours_between(
        allinc.occurred[auto], allinc.occurred[auto] + allinc.auto_hours[auto]
    )
    selfh = handling == Handling.SELF
    downtime[selfh] = route_all["self_hours"][selfh]
    factor = np.where(selfh, 1.0, allinc.blocking_factor)
    user_hours = downtime * allinc.users_affected * factor
    created = np.where(ticket, route_all["created"], np.nan)
    month_time = np.where(ticket, created, allinc.occurred)
    month = np.minimum((month_time // HOURS_PER_MONTH).astype(np.int64), scenario.horizon_months - 1)

    log = TicketLog(
        incident=np.arange(len(allinc), dtype=np.int64),
        client=allinc.client,
        category=allinc.category,
        major=allinc.category == n_categories,
        priority=allinc.priority,
        handling=handling.astype(np.int8),
        occurred=allinc.occurred,
        created=created,
        started=started,
        resolved=resolved,
        month=month,
        onsite=allinc.onsite & ticket,
        work_hours=np.where(ticket, route_all["work"], 0.0),
        travel_hours=np.where(ticket, allinc.travel, 0.0),
        parts_cost=np.where(ticket, allinc.parts_cost, 0.0),
        # Only round-the-clock coverage can start work outside business hours.
        after_hours=ticket & ~users_cal.is_open(np.nan_to_num(started))
        if cov.always_open
        else np.zeros(len(ticket), bool),
        downtime_hours=downtime,
        downtime_user_hours=user_hours,
        downtime_cost=user_hours * allinc.cost_per_user_hour,
        recurrence=is_recurrence,
        parent=parent,
        parent_resolved=parent_resolved,
    )

    src = np.where(rows >= 0, 0, 1)
    idx = np.where(rows >= 0, rows, -1 - rows)
    pm = src == 1
    p_start = cov.clock_time(start_c[pm], earliest=False)
    prevention = PreventionLog(
        client=prev["client"][idx[pm]],
        month=np.minimum((p_start // HOURS_PER_MONTH).astype(np.int64), scenario.horizon_months - 1),
        hours=prev["hours"][idx[pm]],
        started=p_start,
        resolved=cov.clock_time(end_c[pm], earliest=True),
    )

    # Busy technician hours by the month the job started, capped at the horizon.
    all_start = cov.clock_time(start_c, earliest=False)
    busy_month = np.minimum((all_start // HOURS_PER_MONTH).astype(np.int64), scenario.horizon_months - 1)
    busy = np.bincount(busy_month, weights=pool.service, minlength=scenario.horizon_months)
    edges = np.arange(scenario.horizon_months + 1) * HOURS_PER_MONTH
    coverage = np.diff(cov.business_time(edges)) * policy.technicians
    return ContractRun(
        tickets=log,
        prevention=prevention,
        technicians=policy.technicians,
        monitoring=policy.monitoring,
        prevented_by_month=np.bincount(
            np.minimum(
                (incidents.occurred[prevented] // HOURS_PER_MONTH).astype(np.int64),
                scenario.horizon_months - 1,
            ),
            minlength=scenario.horizon_months,
        ),
        busy_hours_by_month=busy,
        overtime_hours=float(
            np.maximum(end_c - np.maximum(start_c, float(cov.business_time(horizon))), 0.0).sum()
        ),
        coverage_hours_by_month=coverage,
    )


def _children(
    scenario: Scenario,
    clients: ClientTable,
    parents: IncidentSet,
    rng: np.random.Generator,
    n_categories: int,
) -> IncidentSet:
    """Attributes of the recurrence of each parent: same client and category, fresh draws; times come later."""
    u = rng.random((len(parents), U.COUNT))
    parts = []
    order = []
    for category in np.unique(parents.category):
        m = np.flatnonzero(parents.category == category)
        kid = attributes_from_uniforms(
            scenario, clients, parents.client[m], int(category), np.full(len(m), np.nan), u[m]
        )
        if category == n_categories:  # a major incident recurs as a site-wide recovery job, not a new outage
            kid.outage_hours[:] = 0.0
        parts.append(kid)
        order.append(m)
    kids = IncidentSet.concat(parts)
    return kids.take(np.argsort(np.concatenate(order), kind="stable"))


def _prevention_jobs(
    scenario: Scenario, clients: ClientTable, e: float, cov: object
) -> dict[str, np.ndarray]:
    """Each client's prevention hours (e × endpoints per month) as equal jobs spread evenly over each month."""
    from .calendar import WeekCalendar

    assert isinstance(cov, WeekCalendar)
    months = scenario.horizon_months
    monthly = e * clients.endpoints
    if e <= 0 or not np.any(monthly > 0):
        empty = np.zeros(0)
        return {"client": np.zeros(0, dtype=np.int64), "arrival": empty, "hours": empty}
    job_hours = scenario.provider.prevention_job_hours
    n_jobs = np.ceil(monthly / job_hours).astype(np.int64)
    client = np.repeat(np.arange(clients.count), n_jobs)
    hours = np.repeat(np.divide(monthly, n_jobs, out=np.zeros_like(monthly), where=n_jobs > 0), n_jobs)
    frac = np.concatenate([(np.arange(k) + 0.5) / k for k in n_jobs if k > 0])
    # Stagger clients so their jobs do not all arrive together.
    frac = np.mod(frac + client / max(clients.count, 1) / np.maximum(n_jobs[client], 1), 1.0)
    edges = cov.business_time(np.arange(months + 1) * HOURS_PER_MONTH)
    starts, lengths = edges[:-1], np.diff(edges)
    arrival = (starts[:, None] + lengths[:, None] * frac[None, :]).ravel()
    return {
        "client": np.tile(client, months),
        "arrival": arrival,
        "hours": np.tile(hours, months),
        "month": np.repeat(np.arange(months), len(client)),
    }
