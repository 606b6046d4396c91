"""Small scenarios as plain dicts for ``load_scenario``: every knob that would blur a textbook check is off.

The builders return dicts (not validated models) so a test can still tweak a field before loading.
Defaults: one client, technicians on duty around the clock, users' business time equal to the clock, no
reporting or triage delay, no travel, no recurrences, no major incidents, monitoring and prevention off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from simulator.base.calendar import HOURS_PER_MONTH

__all__ = [
    "ALL_HOURS",
    "EXPORT_COLUMNS",
    "ROOT",
    "behaviour",
    "category",
    "client",
    "history_export",
    "managed_contract",
    "mmc_scenario",
    "msp_sim",
    "provider",
    "scenario",
    "tm_contract",
]

ALL_HOURS: dict[str, Any] = {
    "hours": "24x7",
    "business_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "open_hour": 0,
    "close_hour": 24,
}
"""Technicians always on duty and users always at work: business time is the clock."""

ZERO: dict[str, Any] = {"dist": "fixed", "mean": 0.0}


def behaviour(
    call_in_share: float = 1.0, reporting_delay_hours: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Client staff behaviour: report ``call_in_share`` of incidents, by default at once."""
    return {
        "call_in_share": call_in_share,
        "reporting_delay_hours": reporting_delay_hours or ZERO,
        "self_handling_hours": {"dist": "fixed", "mean": 0.5},
    }


def client(
    name: str = "client",
    count: int = 1,
    users: int = 1,
    endpoints: int = 1,
    call_in_share: float = 1.0,
) -> dict[str, Any]:
    """A client segment with the same (immediate) reporting under break/fix and managed contracts."""
    return {
        "name": name,
        "count": count,
        "users": users,
        "endpoints": endpoints,
        "servers": 0,
        "downtime_cost_per_user_hour": 45.0,
        "site_outage_cost_per_user_hour": 200.0,
        "break_fix": behaviour(call_in_share),
        "managed": behaviour(1.0),
    }


def category(
    name: str = "cat",
    rate_per_user_month: float | None = 1.0,
    rate_per_endpoint_month: float | None = None,
    mean_effort_hours: float = 1.0,
    **extra: Any,
) -> dict[str, Any]:
    """A user-scope category, all P3, exponential effort, no on-site visits; ``extra`` sets other fields."""
    cat: dict[str, Any] = {
        "name": name,
        "effort_hours": {"dist": "exponential", "mean": mean_effort_hours},
        "onsite_share": 0.0,
        "priority_mix": {"P3": 1.0},
    }
    if rate_per_endpoint_month is not None:
        cat["rate_per_endpoint_month"] = rate_per_endpoint_month
    else:
        cat["rate_per_user_month"] = rate_per_user_month
    cat.update(extra)
    return cat


def provider(**extra: Any) -> dict[str, Any]:
    """A provider with no triage delay, no travel and fixes that always hold, whose technicians give every paid
    hour to tickets (no leave or training), are paid straight time for every on-duty hour and, under ``worked``
    costing, are never idle (shared utilisation 1)."""
    p: dict[str, Any] = {
        "cost_per_technician_hour": 40.0,
        "overtime_premium": 1.0,
        "shared_utilization": 1.0,
        "travel_hours": ZERO,
        "triage_delay_hours": {"manual": ZERO, "automated": ZERO, "urgent": ZERO},
        "recurrence": {"probability": 0.0},
    }
    p.update(extra)
    p.setdefault("productive_hours_per_technician_month", p.get("paid_hours_per_technician_month", 173.3))
    return p


def _policy(technicians: int, prevention: float, monitoring: bool, thoroughness: float) -> dict[str, Any]:
    return {
        "technicians": technicians,
        "prevention_hours_per_endpoint_month": prevention,
        "monitoring": monitoring,
        "thoroughness": thoroughness,
    }


def tm_contract(
    name: str = "tm",
    technicians: int = 1,
    prevention: float = 0.0,
    monitoring: bool = False,
    thoroughness: float = 1.0,
) -> dict[str, Any]:
    """A break/fix time-and-materials contract with the given provider levers."""
    return {
        "name": name,
        "kind": "time_and_materials",
        "remote_rate": 135.0,
        "onsite_rate": 150.0,
        "policy": _policy(technicians, prevention, monitoring, thoroughness),
    }


def managed_contract(
    name: str = "managed",
    technicians: int = 1,
    prevention: float = 0.0,
    monitoring: bool = False,
    thoroughness: float = 1.0,
) -> dict[str, Any]:
    """A managed-services contract (fee per user, SLA on the business clock, no credits) with these levers."""
    target = {"response_hours": 4.0, "resolution_hours": 24.0}
    return {
        "name": name,
        "kind": "managed",
        "fee_per_user_month": 100.0,
        "out_of_scope": {"remote_rate": 135.0, "onsite_rate": 150.0},
        "sla": {"targets": {p: target for p in ("P1", "P2", "P3", "P4")}},
        "policy": _policy(technicians, prevention, monitoring, thoroughness),
    }


def scenario(
    *,
    categories: list[dict[str, Any]] | None = None,
    contracts: list[dict[str, Any]] | None = None,
    clients: list[dict[str, Any]] | None = None,
    horizon_months: int = 3,
    replications: int = 2,
    seed: int = 12345,
    calendar: dict[str, Any] | None = None,
    provider_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A whole scenario dict; every part defaults to the plain builders above."""
    return {
        "name": "test",
        "horizon_months": horizon_months,
        "replications": replications,
        "seed": seed,
        "calendar": calendar if calendar is not None else ALL_HOURS,
        "clients": clients if clients is not None else [client()],
        "incidents": {
            "categories": categories if categories is not None else [category()],
            "major": {"annual_probability": 0.0},
        },
        "provider": provider(**(provider_fields or {})),
        "contracts": contracts if contracts is not None else [tm_contract()],
    }


def mmc_scenario(
    servers: int,
    arrival_rate_per_hour: float,
    mean_service_hours: float,
    *,
    horizon_months: int = 2,
    replications: int = 2,
    seed: int = 12345,
) -> dict[str, Any]:
    """An M/M/c queue as a scenario: Poisson arrivals at ``arrival_rate_per_hour``, exponential service.

    One client with one user; the category rate is λ·730 per user-month, so in a calendar whose business time
    is the clock the tickets reach the pool as a Poisson process of rate λ per (clock) hour.
    """
    return scenario(
        categories=[
            category(
                "mmc",
                rate_per_user_month=arrival_rate_per_hour * HOURS_PER_MONTH,
                mean_effort_hours=mean_service_hours,
            )
        ],
        contracts=[tm_contract("mmc", technicians=servers)],
        horizon_months=horizon_months,
        replications=replications,
        seed=seed,
    )


def fixed_price_contract(
    name: str = "fixed",
    menu: dict[str, float] | None = None,
    technicians: int = 1,
    prevention: float = 0.0,
    monitoring: bool = False,
    thoroughness: float = 1.0,
) -> dict[str, Any]:
    """A break/fix fixed-price contract: ``menu`` prices per category (default 120 for ``cat``), with
    T&M fallback terms."""
    return {
        "name": name,
        "kind": "fixed_price",
        "menu": menu if menu is not None else {"cat": 120.0},
        "fallback": {"remote_rate": 135.0, "onsite_rate": 150.0},
        "policy": _policy(technicians, prevention, monitoring, thoroughness),
    }


def sla_terms(
    response_hours: dict[str, float] | float = 4.0,
    resolution_hours: dict[str, float] | float = 24.0,
    credit: dict[str, Any] | None = None,
    clock: str = "business",
) -> dict[str, Any]:
    """SLA terms: targets per priority (one number for all, or a dict by priority) and an optional credit."""

    def target(value: dict[str, float] | float, p: str) -> float:
        return value[p] if isinstance(value, dict) else value

    return {
        "clock": clock,
        "targets": {
            p: {"response_hours": target(response_hours, p), "resolution_hours": target(resolution_hours, p)}
            for p in ("P1", "P2", "P3", "P4")
        },
        "credit": credit,
    }


ROOT = Path(__file__).resolve().parents[1]


def msp_sim(*args: str | Path, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the command line in ``cwd`` (default the repository root), as a user would, capturing what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120"},
    )


EXPORT_COLUMNS = {
    "ticket": "id",
    "created": "created",
    "resolved": "resolved",
    "priority": "prio",
    "category": "cat",
    "client": "client",
    "hours": "hours",
    "onsite": "onsite",
    "parts_cost": "parts",
    "parent": "parent",
}
"""The columns of :func:`history_export`'s export, as a ticket map names them."""


def history_export(
    scenario: Any, contract: str, months: int, names: list[str] | None = None
) -> tuple[Any, Any]:
    """One replication of ``scenario`` under ``contract`` over ``months`` from Monday 2024-01-01 as a plain export
    (columns :data:`EXPORT_COLUMNS`, ISO dates without an offset), and its clients (named ``names``, default
    "segment n")."""
    import numpy as np
    import pandas as pd

    from simulator.studies.calibration.check import log_tickets
    from simulator.studies.calibration.layouts import client_names_of, client_sizes_of
    from simulator.studies.run import simulate

    chosen = next(c for c in scenario.contracts if c.name == contract)
    sim = scenario.model_copy(
        update={
            "contracts": [chosen],
            "reference_contract": contract,
            "warmup_months": 0,
            "horizon_months": months,
        }
    )
    t = log_tickets(
        simulate(sim, replications=1, tickets=True).tickets,
        sim,
        pd.Timestamp("2024-01-01"),
        months * HOURS_PER_MONTH,
    )
    names = names if names is not None else client_names_of(scenario)
    frame = pd.DataFrame(
        {
            "id": t["ticket"],
            "client": [names[int(c)] for c in t["client"]],
            "cat": t["category"],
            "prio": "P" + t["priority"].astype(str),
            "created": t["created"].dt.strftime("%Y-%m-%d %H:%M"),
            "resolved": t["resolved"].dt.strftime("%Y-%m-%d %H:%M").fillna(""),
            "hours": t["hours"].round(4),
            "onsite": np.where(t["onsite"] > 0, "yes", "no"),
            "parts": t["parts_cost"].round(2),
            "parent": t["parent"],
        }
    )
    return frame, client_sizes_of(scenario, names)
