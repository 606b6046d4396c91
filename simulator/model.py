"""One replication of one contract: what the provider's levers and the client's behaviour make of the incidents.

The incident set is shared by every contract of the replication; here a contract's policy thins it (prevention),
routes each incident (self-handled, auto-remediated, ticket), queues the tickets and the prevention work on the
technician pool, spawns recurrences of fixes that do not hold, and measures downtime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .calendar import HOURS_PER_MONTH
from .config import Scenario
from .contracts import Contract, Managed
from .incidents import U, ClientTable, IncidentSet, attributes_from_uniforms
from .provider import Job, run_pool
from .records import Handling, PreventionLog, TicketLog
from .rng import stream

__all__ = ["ContractRun", "simulate_contract"]

PREVENTION_PRIORITY = 5


@dataclass
class ContractRun:
    """Everything that happened under one contract in one replication."""

    tickets: TicketLog
    prevention: PreventionLog
    technicians: int
    monitoring: bool
    prevented: int
    busy_hours_by_month: np.ndarray
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
    triage = provider.triage_delay_hours.automated if policy.monitoring else provider.triage_delay_hours.manual
    p_recur = recurrence_probability(scenario, policy.thoroughness)

    e = policy.prevention_hours_per_endpoint_month
    prevented = incidents.u_prevent < incidents.prevent_threshold * -np.expm1(-incidents.theta * e)
    inc = incidents.take(~prevented)

    def route(s: IncidentSet, recurrence: bool) -> dict[str, np.ndarray]:
        """Handling, creation time and queue arrival of each incident."""
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
        delay[detected | s.site] = 0.0
        created = users_cal.clock_time(users_cal.business_time(s.occurred) + delay, earliest=False)
        created = np.where(detected | s.site, s.occurred, created)
        arrival = cov.business_time(created) + triage.ppf(s.u_triage)
        work = s.effort * effort_factor
        return {
            "handling": handling,
            "created": created,
            "arrival": arrival,
            "work": work,
            "self_hours": self_hours,
        }

    r = route(inc, False)
    is_ticket = r["handling"] == Handling.TICKET
    ticket_idx = np.flatnonzero(is_ticket)

    # Prevention jobs: each client's monthly hours in equal jobs spread over the month.
    prev = _prevention_jobs(scenario, clients, e, cov)

    n_t = len(ticket_idx)
    arrival = np.concatenate([r["arrival"][ticket_idx], prev["arrival"]])
    priority = np.concatenate([inc.priority[ticket_idx], np.full(len(prev["arrival"]), PREVENTION_PRIORITY)])
    service = np.concatenate([r["work"][ticket_idx] + inc.travel[ticket_idx], prev["hours"]])
    order = np.argsort(arrival, kind="stable")
    # job id -> (source, index): source 0 = ticket, 1 = prevention, 2 = recurrence
    source = np.concatenate([np.zeros(n_t, dtype=np.int8), np.ones(len(prev["arrival"]), dtype=np.int8)])[order]
    index = np.concatenate([ticket_idx, np.arange(len(prev["arrival"]))])[order]
    job_source: list[int] = source.tolist()
    job_index: list[int] = index.tolist()

    recurrences: list[IncidentSet] = []
    recurrence_routes: list[dict[str, np.ndarray]] = []
    recurrence_parent: list[tuple[int, float]] = []  # (parent job, parent resolved coverage time)
    rec_rng = stream(seed, replication, "recurrence")
    u_recur_all = inc.u_recur
    horizon_b = float(users_cal.business_time(horizon))
    n_categories = len(scenario.incidents.categories)

    def on_done(job: int, end_c: float) -> Job | None:
        src = job_source[job]
        if src == 1 or p_recur <= 0.0:
            return None
        if src == 0:
            parent = inc.take(np.array([job_index[job]]))
            u = u_recur_all[job_index[job]]
        else:
            parent = recurrences[job_index[job]]
            u = float(parent.u_recur[0])
        if u >= p_recur:
            return None
        end_clock = float(cov.clock_time(end_c))
        when_b = float(users_cal.business_time(end_clock)) + float(parent.recur_delay[0])
        if when_b >= horizon_b:
            return None
        occurred = users_cal.clock_time(when_b, earliest=False).reshape(1)
        category = int(parent.category[0])
        child = attributes_from_uniforms(
            scenario, clients, parent.client, category, occurred, rec_rng.random((1, U.COUNT))
        )
        if category == n_categories:  # a major incident recurs as an ordinary site-wide recovery job
            child.outage_hours[:] = 0.0
        child_route = route(child, True)
        recurrences.append(child)
        recurrence_routes.append(child_route)
        recurrence_parent.append((job, end_c))
        job_source.append(2)
        job_index.append(len(recurrences) - 1)
        return (
            float(child_route["arrival"][0]),
            int(child.priority[0]),
            float(child_route["work"][0] + child.travel[0]),
        )

    pool = run_pool(arrival[order], priority[order], service[order], policy.technicians, on_done)
    start_c, end_c = pool.start, pool.end
    src = np.asarray(job_source)
    idx = np.asarray(job_index)

    # --- assemble the log: base incidents, then recurrences
    started = np.full(len(inc), np.nan)
    resolved = np.full(len(inc), np.nan)
    m = src == 0
    started[idx[m]] = cov.clock_time(start_c[m], earliest=False)
    resolved[idx[m]] = cov.clock_time(end_c[m], earliest=True)
    parent_id = np.full(len(inc), -1, dtype=np.int64)
    parent_resolved = np.full(len(inc), np.nan)
    ids = np.arange(len(inc), dtype=np.int64)
    sets = [inc]
    routes = [r]
    starts = [started]
    ends = [resolved]
    parents = [parent_id]
    parent_times = [parent_resolved]
    rec_flags = [np.zeros(len(inc), dtype=bool)]
    id_parts = [ids]
    if recurrences:
        rec = IncidentSet.concat(recurrences)
        rr = {k: np.concatenate([x[k] for x in recurrence_routes]) for k in r}
        mr = np.flatnonzero(src == 2)
        r_start = np.full(len(rec), np.nan)
        r_end = np.full(len(rec), np.nan)
        r_start[idx[mr]] = cov.clock_time(start_c[mr], earliest=False)
        r_end[idx[mr]] = cov.clock_time(end_c[mr], earliest=True)
        rec_ids = len(inc) + np.arange(len(rec), dtype=np.int64)
        job_to_incident = np.full(len(src), -1, dtype=np.int64)
        job_to_incident[src == 0] = idx[src == 0]
        job_to_incident[mr] = rec_ids[idx[mr]]
        pjobs = np.array([p for p, _ in recurrence_parent])
        sets.append(rec)
        routes.append(rr)
        starts.append(r_start)
        ends.append(r_end)
        parents.append(job_to_incident[pjobs])
        parent_times.append(cov.clock_time(np.array([t for _, t in recurrence_parent]), earliest=True))
        rec_flags.append(np.ones(len(rec), dtype=bool))
        id_parts.append(rec_ids)
    allinc = IncidentSet.concat(sets) if len(sets) > 1 else inc
    route_all = {k: np.concatenate([x[k] for x in routes]) for k in r}
    started = np.concatenate(starts)
    resolved = np.concatenate(ends)
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
        incident=np.concatenate(id_parts),
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
        after_hours=ticket & ~users_cal.is_open(np.nan_to_num(started)),
        downtime_hours=downtime,
        downtime_user_hours=user_hours,
        downtime_cost=user_hours * allinc.cost_per_user_hour,
        recurrence=np.concatenate(rec_flags),
        parent=np.concatenate(parents),
        parent_resolved=np.concatenate(parent_times),
    )

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
        prevented=int(prevented.sum()),
        busy_hours_by_month=busy,
        coverage_hours_by_month=coverage,
    )


def _prevention_jobs(scenario: Scenario, clients: ClientTable, e: float, cov: object) -> dict[str, np.ndarray]:
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


_ = math
