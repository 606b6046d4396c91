"""Ticket response and resolution times: the clock they are shown on, their bins, and their histograms."""

from __future__ import annotations

import numpy as np

from simulator.base.records import BillingContext, Handling
from simulator.config import Scenario
from simulator.engine.replication import ContractRun

__all__ = ["sla_clock", "ticket_time_counts", "time_edges"]


def sla_clock(scenario: Scenario) -> str:
    """The clock ticket times are shown on: the first SLA's clock (in the order of the contracts), else business
    hours."""
    slas = [c.sla_terms for c in scenario.contracts if c.sla_terms is not None]
    return slas[0].clock if slas else "business"


def time_edges(scenario: Scenario) -> np.ndarray:
    """Bin edges [hours] for ticket response and resolution times: one minute to a year on a log scale, plus
    every SLA target of the scenario (so the share within a target is exact, not interpolated)."""
    targets = [
        value + 1e-9
        for sla in (c.sla_terms for c in scenario.contracts)
        if sla is not None
        for t in sla.targets.values()
        for value in (t.response_hours, t.resolution_hours)
    ]
    return np.unique(np.r_[0.0, np.geomspace(1 / 60, 8760.0, 61), targets, np.inf])


def ticket_time_counts(
    scenario: Scenario, run: ContractRun, ctx: BillingContext, edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Histograms of the measured tickets' response and resolution times on :func:`sla_clock`, one row per
    priority P1..P4: ``{"response": counts, "resolution": counts}``, each of shape (4, len(edges) − 1)."""
    log = run.tickets
    measured = np.arange(ctx.months) >= scenario.warmup_months
    mt = (log.handling == Handling.TICKET) & measured[log.month]
    created, started, resolved = log.created[mt], log.started[mt], log.resolved[mt]
    if sla_clock(scenario) == "business":
        times = {
            "response": ctx.calendar.business_hours_between(created, started),
            "resolution": ctx.calendar.business_hours_between(created, resolved),
        }
    else:
        times = {"response": started - created, "resolution": resolved - created}
    priority = np.clip(log.priority[mt], 1, 4)
    return {
        name: np.vstack([np.histogram(values[priority == p], bins=edges)[0] for p in (1, 2, 3, 4)])
        for name, values in times.items()
    }
