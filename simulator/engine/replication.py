"""One replication of one contract: what the provider's levers and the client's behaviour make of the incidents.

The incident set is shared by every contract of the replication; here a contract's policy thins it (prevention),
routes each incident (self-handled, auto-remediated, ticket), queues the tickets and the prevention work on the
technician pool, spawns recurrences of fixes that do not hold, and measures downtime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.base.calendar import HOURS_PER_MONTH, WeekCalendar, scalar_maps
from simulator.base.records import Handling, PreventionLog, TicketLog
from simulator.base.rng import stream
from simulator.config import Scenario
from simulator.contracts.terms import Contract, Managed

from .incidents import ClientTable, IncidentSet, U, attributes_from_uniforms
from .pool import Job, run_pool

__all__ = ["ContractRun", "Plan", "simulate_contract", "simulate_plan"]

PREVENTION_PRIORITY = 5
MAX_RECURRENCE_DEPTH = 50  # a chain of fixes that keep failing stops here (p(k) = 1 would never end)


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


@dataclass
class ContractRun:
    """Everything that happened under a plan (one contract, or a portfolio of contracts) in one replication."""

    tickets: TicketLog
    prevention: PreventionLog
    technicians_by_month: np.ndarray
    monitored_endpoints_by_month: np.ndarray  # endpoints of clients on monitored contracts, per month
    prevented_by_month: np.ndarray  # incidents removed by prevention, by month of (would-be) occurrence
    busy_hours_by_month: np.ndarray
    offered_hours_by_month: np.ndarray  # work reaching the pool: tickets by month created, prevention by month due
    overtime_hours: float  # work done after the horizon to clear the backlog of tickets created within it
    coverage_hours_by_month: np.ndarray
    ticket_contract: np.ndarray  # contract index of each row of ``tickets``
    prevention_contract: np.ndarray  # contract index of each prevention job


def recurrence_probability(scenario: Scenario, thoroughness: float) -> float:
    """p(k) = min(1, p₀ · k^(−elasticity)) [share]."""
    return scenario.provider.recurrence.probability_at(thoroughness)


def simulate_contract(
    scenario: Scenario,
    contract: Contract,
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
) -> ContractRun:
    """Run one contract for every client over the shared incidents of a replication."""
    plan = Plan.constant(contract, clients.count, scenario.horizon_months)
    return simulate_plan(scenario, plan, incidents, clients, seed, replication)


def _month(t: np.ndarray, months: int) -> np.ndarray:
    return np.clip((np.nan_to_num(t) // HOURS_PER_MONTH).astype(np.int64), 0, months - 1)


def simulate_plan(
    scenario: Scenario,
    plan: Plan,
    incidents: IncidentSet,
    clients: ClientTable,
    seed: int,
    replication: int,
) -> ContractRun:
    """Run a plan over the shared incidents: each incident is handled under the contract its client is on in the
    month it occurs; all tickets share one technician pool."""
    provider = scenario.provider
    users_cal = scenario.calendar.users()
    cov = scenario.calendar.coverage()
    months = scenario.horizon_months
    horizon = months * HOURS_PER_MONTH
    contracts = plan.contracts
    managed = np.array([isinstance(c, Managed) for c in contracts])
    prevention_e = np.array([c.policy.prevention_hours_per_endpoint_month for c in contracts])
    monitoring = np.array([c.policy.monitoring for c in contracts])
    thoroughness = np.array([c.policy.thoroughness for c in contracts])
    p_recur_c = np.array([recurrence_probability(scenario, k) for k in thoroughness])
    behaviours = {
        (kind, s): (seg.managed if kind else seg.break_fix)
        for kind in (False, True)
        for s, seg in enumerate(scenario.clients)
    }
    call_in = np.array(
        [
            [behaviours[(kind, s)].call_in_share for s in range(len(scenario.clients))]
            for kind in (False, True)
        ]
    )
    triage = provider.triage_delay_hours
    tools_gain = provider.tools_effort_factor - 1.0

    # Which contract handles each incident: the client's contract in the month it occurs.
    contract_of = plan.assignment[incidents.client, _month(incidents.occurred, months)]
    served = contract_of >= 0
    e = np.where(served, prevention_e[np.maximum(contract_of, 0)], 0.0)
    prevented = served & (incidents.u_prevent < incidents.prevent_threshold * -np.expm1(-incidents.theta * e))
    keep = served & ~prevented
    inc = incidents.take(keep)
    inc_contract = contract_of[keep]

    def route(s: IncidentSet, ci: np.ndarray, recurrence: bool) -> dict[str, np.ndarray]:
        """Handling, reporting delay, triage and work of each incident (times follow once occurrence is known)."""
        segment = clients.segment[s.client]
        kind = managed[ci]
        mon = monitoring[ci]
        ramp = plan.tools_ramp[_month(s.occurred, months)] if not recurrence else np.ones(len(s))
        detected = s.detectable & mon
        auto = detected & s.auto_remediable & ~recurrence
        reported = detected | s.site | (s.u_call < call_in[kind.astype(int), segment]) | recurrence
        handling = np.where(auto, Handling.AUTO, np.where(reported, Handling.TICKET, Handling.SELF))
        delay = np.zeros(len(s))
        self_hours = np.zeros(len(s))
        for (k, seg), b in behaviours.items():
            m = (segment == seg) & (kind == k)
            if m.any():
                delay[m] = b.reporting_delay_hours.ppf(s.u_report[m])
                self_hours[m] = b.self_handling_hours.ppf(s.u_self[m])
        immediate = detected | s.site
        delay[immediate] = 0.0
        manual = np.where(s.priority == 1, triage.urgent.ppf(s.u_triage), triage.manual.ppf(s.u_triage))
        automated = triage.automated.ppf(s.u_triage)
        return {
            "handling": handling,
            "immediate": immediate,
            "delay": delay,
            "triage": np.where(mon, ramp * automated + (1.0 - ramp) * manual, manual),
            "work": s.effort * thoroughness[ci] * np.where(mon, 1.0 + tools_gain * ramp, 1.0),
            "self_hours": self_hours,
            "contract": ci,
        }

    def timing(s: IncidentSet, rt: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Ticket creation (clock) and queue arrival (coverage time) from occurrence."""
        created = users_cal.clock_time(users_cal.business_time(s.occurred) + rt["delay"], earliest=False)
        created = np.where(rt["immediate"], s.occurred, created)
        return created, cov.business_time(created) + rt["triage"]

    r = route(inc, inc_contract, False)
    r["created"], r["arrival"] = timing(inc, r)
    is_ticket = r["handling"] == Handling.TICKET

    # Recurrences: a fix recurs when its uniform falls under p(k). Children (and their children) are drawn up
    # front, level by level, from one stream, and handled under their parent's contract; only their times are
    # settled during the run (a child whose client has left by then never happens).
    n_categories = len(scenario.incidents.categories)
    levels: list[IncidentSet] = []
    level_routes: list[dict[str, np.ndarray]] = []
    child_links: list[np.ndarray] = [np.full(len(inc), -1, dtype=np.int64)]
    rec_rng = stream(seed, replication, "recurrence")
    parents, parent_contract = inc, inc_contract
    parent_mask = is_ticket & (inc.u_recur < p_recur_c[inc_contract])
    offset = len(inc)
    for _ in range(MAX_RECURRENCE_DEPTH):
        idx = np.flatnonzero(parent_mask)
        if len(idx) == 0:
            break
        kids = _children(scenario, clients, parents.take(idx), rec_rng, n_categories)
        kid_contract = parent_contract[idx]
        child_links[-1][idx] = offset + np.arange(len(idx))
        levels.append(kids)
        level_routes.append(route(kids, kid_contract, True))
        child_links.append(np.full(len(kids), -1, dtype=np.int64))
        offset += len(kids)
        parents, parent_contract = kids, kid_contract
        parent_mask = kids.u_recur < p_recur_c[kid_contract]
    allinc = IncidentSet.concat([inc, *levels]) if levels else inc
    route_all = {
        k: np.concatenate(
            [
                r[k],
                *(lr.get(k, np.full(len(lv), np.nan)) for lr, lv in zip(level_routes, levels, strict=True)),
            ]
        )
        for k in r
    }
    child_all: list[int] = np.concatenate(child_links).tolist()
    occurred = allinc.occurred.copy()
    created_all = route_all["created"]
    delay_l: list[float] = route_all["delay"].tolist()
    immediate_l: list[bool] = route_all["immediate"].tolist()
    triage_l: list[float] = route_all["triage"].tolist()
    recur_delay_l: list[float] = allinc.recur_delay.tolist()
    client_l: list[int] = allinc.client.tolist()
    assignment_l: list[list[int]] = plan.assignment.tolist()
    ub, uc = scalar_maps(users_cal)
    cb, cc = scalar_maps(cov)
    horizon_b = ub(horizon)
    happened = np.ones(len(allinc), dtype=bool)
    happened[len(inc) :] = False

    prev = _prevention_jobs(scenario, clients, plan, prevention_e, cov)
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
        if assignment_l[client_l[child]][min(int(occ // HOURS_PER_MONTH), months - 1)] < 0:
            return None  # the client has left
        created = occ if immediate_l[child] else uc(when_b + delay_l[child], False)
        occurred[child] = occ
        created_all[child] = created
        happened[child] = True
        job_row.append(child)
        return (cb(created) + triage_l[child], priority_all[child], service_all[child])

    edges_c = cov.business_time(np.arange(months + 1) * HOURS_PER_MONTH)
    hires = np.diff(plan.technicians)
    if np.any(hires < 0):
        raise ValueError("the technician pool may only grow over the horizon")
    added = [(float(edges_c[m + 1]), int(h)) for m, h in enumerate(hires) if h > 0]
    pool = run_pool(arrival[order], priority[order], service[order], int(plan.technicians[0]), on_done, added)
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
    month = _month(np.where(ticket, created, allinc.occurred), months)

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

    idx = np.where(rows >= 0, rows, -1 - rows)
    pm = rows < 0
    p_start = cov.clock_time(start_c[pm], earliest=False)
    prevention = PreventionLog(
        client=prev["client"][idx[pm]],
        month=_month(p_start, months),
        hours=prev["hours"][idx[pm]],
        started=p_start,
        resolved=cov.clock_time(end_c[pm], earliest=True),
    )

    # Busy technician hours by the month the job started, capped at the horizon.
    busy = np.bincount(
        _month(cov.clock_time(start_c, earliest=False), months), weights=pool.service, minlength=months
    )
    # Work offered to the pool: each ticket's hands-on and travel hours in the month it was created, each
    # prevention job's hours in the month it is due (whenever the pool gets to it).
    offered = np.bincount(
        log.month[ticket], weights=(log.work_hours + log.travel_hours)[ticket], minlength=months
    ) + np.bincount(prev["month"], weights=prev["hours"], minlength=months)
    monitored = np.where(plan.assignment >= 0, monitoring[np.maximum(plan.assignment, 0)], False)
    return ContractRun(
        tickets=log,
        prevention=prevention,
        technicians_by_month=plan.technicians.astype(np.int64),
        monitored_endpoints_by_month=(monitored * clients.endpoints[:, None]).sum(axis=0).astype(float),
        prevented_by_month=np.bincount(_month(incidents.occurred[prevented], months), minlength=months),
        busy_hours_by_month=busy,
        offered_hours_by_month=offered.astype(float),
        overtime_hours=float(np.maximum(end_c - np.maximum(start_c, float(edges_c[-1])), 0.0).sum()),
        coverage_hours_by_month=np.diff(edges_c) * plan.technicians,
        ticket_contract=route_all["contract"].astype(np.int64),
        prevention_contract=prev["contract"][idx[pm]],
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
    scenario: Scenario, clients: ClientTable, plan: Plan, prevention_e: np.ndarray, cov: WeekCalendar
) -> dict[str, np.ndarray]:
    """Each served client's prevention hours (e × endpoints per month, under its contract that month) as equal
    jobs spread evenly over the month, clients staggered so their jobs do not all arrive together."""
    months = scenario.horizon_months
    e = np.where(plan.assignment >= 0, prevention_e[np.maximum(plan.assignment, 0)], 0.0)  # (clients, months)
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
    edges = cov.business_time(np.arange(months + 1) * HOURS_PER_MONTH)
    arrival = edges[month] + np.diff(edges)[month] * frac
    contract = plan.assignment[client, month] if len(client) else np.zeros(0, dtype=np.int64)
    return {"client": client, "arrival": arrival, "hours": hours, "month": month, "contract": contract}
