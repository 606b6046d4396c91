"""What a contract and its client make of each incident: prevention and a security stack remove some; of the
rest, each is fixed by monitoring, worked around by the client's staff, fixed by the client's own IT
(co-managed) or becomes a ticket, with its reporting delay, triage and work."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.base.records import Handling, field_names

from .incidents import ClientTable, IncidentSet
from .plan import Clocks, Levers, Plan, month_of

__all__ = ["Routes", "route", "thin_by_prevention", "thin_by_security", "time_tickets"]


@dataclass
class Routes:
    """How each incident is handled under its contract: one entry per incident."""

    handling: np.ndarray  # Handling.SELF, AUTO, TICKET or CLIENT_IT
    immediate: np.ndarray  # bool: seen at once (monitoring, site-wide), no reporting delay
    delay: np.ndarray  # occurrence to report [users' business hours]
    triage: np.ndarray  # triage and dispatch before the queue [coverage hours]
    work: np.ndarray  # hands-on hours at the contract's thoroughness and tooling [hours]
    onsite: np.ndarray  # bool: a technician goes on site (monitoring turns some visits into remote work)
    travel: np.ndarray  # travel hours of the visit, 0 when remote [hours]
    self_hours: np.ndarray  # staff time lost when worked around [hours]
    client_it_hours: np.ndarray  # the client's own IT's hands-on hours when it takes it, else 0 [hours]
    contract: np.ndarray  # contract index
    created: np.ndarray  # ticket creation [clock hours]; NaN until known
    arrival: np.ndarray  # arrival at the queue [coverage hours]; NaN until known

    def take(self, index: np.ndarray) -> Routes:
        """The entries at ``index`` (a boolean mask or integer index)."""
        return Routes(**{name: getattr(self, name)[index] for name in field_names(type(self))})

    @staticmethod
    def concat(parts: list[Routes]) -> Routes:
        """Join several (always a new set of arrays, even for one part)."""
        return Routes(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in field_names(Routes)}
        )


def thin_by_prevention(
    incidents: IncidentSet, plan: Plan, levers: Levers, months: int
) -> tuple[IncidentSet, np.ndarray, np.ndarray]:
    """The incidents that still happen, each one's contract (its client's in the month it occurs), and the mask
    of the shared incidents removed by prevention. Incidents of clients not served that month are dropped too,
    and so are the extra requests (over-use) a contract does not meet: those of the other behaviour, and those
    of a category it charges for.

    An incident is prevented when its uniform falls under preventable × (1 − exp(−θ·e)), e the prevention hours
    per endpoint-month of its contract.
    """
    contract_of = plan.assignment[incidents.client, month_of(incidents.occurred, months)]
    served = contract_of >= 0
    e = np.where(served, levers.prevention[np.maximum(contract_of, 0)], 0.0)
    prevented = served & (incidents.u_prevent < incidents.prevent_threshold * -np.expm1(-incidents.theta * e))
    keep = served & ~prevented
    if levers.free_call is not None:
        c = np.maximum(contract_of, 0)
        request = incidents.requester >= 0
        met = (incidents.requester == levers.managed[c].astype(np.int8)) & levers.free_call[
            c, incidents.category
        ]
        keep &= ~request | met
    if keep.all():  # nothing removed: the shared set as it is (nothing downstream changes it), no copy
        return incidents, contract_of, prevented
    return incidents.take(keep), contract_of[keep], prevented


def thin_by_security(
    s: IncidentSet, ci: np.ndarray, levers: Levers
) -> tuple[IncidentSet, np.ndarray, np.ndarray]:
    """The incidents that get past each one's contract's security stack, their contracts, and the mask of those
    in ``s`` it stopped.

    An incident survives when its own uniform falls below the stack's multiplier for its category (major
    incidents: ``major_probability``), so a stronger stack's survivors are among a weaker one's. A surviving major
    incident's outage and hands-on effort are scaled by the stack's factors. Without a stack, ``s`` and ``ci``
    come back as they are.
    """
    sec = levers.security
    if not sec.used:
        return s, ci, np.zeros(len(s), dtype=bool)
    stopped = s.u_security >= sec.survival[ci, s.category]
    kept, kept_ci = s.take(~stopped), ci[~stopped]
    major = kept.category == sec.survival.shape[1] - 1
    if major.any():
        kept.outage_hours = np.where(major, kept.outage_hours * sec.major_outage[kept_ci], kept.outage_hours)
        kept.effort = np.where(major, kept.effort * sec.major_effort[kept_ci], kept.effort)
    return kept, kept_ci, stopped


def route(
    s: IncidentSet,
    ci: np.ndarray,
    recurrence: bool,
    levers: Levers,
    clients: ClientTable,
    months: int,
) -> Routes:
    """Handling, reporting delay, triage and work of each incident under contract ``ci`` (times follow once
    occurrence is known: ``created`` and ``arrival`` are left NaN).

    Monitoring sees detectable incidents at once and fixes the auto-remediable ones (not a recurrence); a
    detected, site-wide or called-in incident (a recurrence always) becomes a ticket; the staff work around the
    rest. Blocking incidents are called in, and reported after a delay, by the behaviour's ``blocking`` terms; the
    others by its call-in share, after its price response to the contract's expected charge of a call (if any).
    Under co-management the client's own IT takes a share of the simple tickets (see :func:`_client_it`).
    Tooling automates triage, scales effort and turns a share of on-site visits into remote work, in proportion to
    its rollout in the month of occurrence.
    """
    segment = clients.segment[s.client]
    kind = levers.managed[ci]
    mon = levers.monitoring[ci]
    ramp = levers.tools_ramp[month_of(s.occurred, months)] if not recurrence else np.ones(len(s))
    detected = s.detectable & mon
    auto = detected & s.auto_remediable & ~recurrence
    k = kind.astype(int)
    if levers.call_in_priced is None:
        call_in = np.where(s.blocking, levers.call_in_blocking[k, segment], levers.call_in[k, segment])
    else:
        priced = levers.call_in_priced[ci, segment, s.category]
        call_in = np.where(s.blocking, levers.call_in_blocking[k, segment], priced)
    reported = detected | s.site | (s.u_call < call_in) | recurrence
    if levers.free_call is not None:
        reported |= s.requester >= 0  # an extra request is raised to be handled
    handling = np.where(auto, Handling.AUTO, np.where(reported, Handling.TICKET, Handling.SELF))
    delay = np.zeros(len(s))
    self_hours = np.zeros(len(s))
    for (k, seg), b in levers.behaviours.items():
        m = (segment == seg) & (kind == k)
        if m.any():
            delay[m] = b.reporting_delay_hours.ppf(s.u_report[m])
            self_hours[m] = b.self_handling_hours.ppf(s.u_self[m])
            if b.blocking is not None:
                mb = m & s.blocking
                delay[mb] = b.blocking.reporting_delay_hours.ppf(s.u_report[mb])
    immediate = detected | s.site
    delay[immediate] = 0.0
    triage = levers.triage
    shift = np.where(mon, s.remote_shift * ramp, 0.0)
    onsite = s.onsite & (s.onsite_rank < 1.0 - shift)
    handling, client_it_hours = _client_it(s, ci, recurrence, levers, handling, onsite)
    manual = np.where(s.priority == 1, triage.urgent.ppf(s.u_triage), triage.manual.ppf(s.u_triage))
    automated = triage.automated.ppf(s.u_triage)
    return Routes(
        handling=handling,
        immediate=immediate,
        delay=delay,
        triage=np.where(mon, ramp * automated + (1.0 - ramp) * manual, manual),
        work=s.effort * levers.thoroughness[ci] * np.where(mon, 1.0 + levers.tools_gain * ramp, 1.0),
        onsite=onsite,
        travel=np.where(onsite, s.travel, 0.0),
        self_hours=self_hours,
        client_it_hours=client_it_hours,
        contract=ci,
        created=np.full(len(s), np.nan),
        arrival=np.full(len(s), np.nan),
    )


def _client_it(
    s: IncidentSet,
    ci: np.ndarray,
    recurrence: bool,
    levers: Levers,
    handling: np.ndarray,
    onsite: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The handling with the tickets the client's own IT takes (co-managed) set to CLIENT_IT, and its hands-on
    hours on each [hours].

    A ticket is L1-eligible when it is remote, not a major incident, not a recurrence, of an eligible category
    and its hands-on effort (at thoroughness 1) is at most the contract's ``l1_max_effort_hours``; the client's IT
    takes it when its own uniform falls below the share, so a larger share takes a superset.
    """
    co = levers.client_it
    if recurrence or not co.used:
        return handling, np.zeros(len(s))
    takes = (
        (handling == Handling.TICKET)
        & co.eligible[ci, s.category]
        & ~onsite
        & (s.effort <= co.max_effort[ci])
        & (s.u_client_it < co.share[ci])
    )
    return np.where(takes, Handling.CLIENT_IT, handling), np.where(takes, s.effort, 0.0)


def time_tickets(s: IncidentSet, routes: Routes, clocks: Clocks) -> Routes:
    """``routes`` with each incident's ticket creation [clock hours] (occurrence plus the reporting delay in the
    users' business hours; at once when immediate) and its arrival at the queue [coverage hours] (creation plus
    triage) filled in."""
    users = clocks.users
    created = users.clock_time(users.business_time(s.occurred) + routes.delay, earliest=False)
    routes.created = np.where(routes.immediate, s.occurred, created)
    routes.arrival = clocks.coverage.business_time(routes.created) + routes.triage
    return routes
