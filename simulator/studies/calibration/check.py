"""The calibrated model checked against the history: the calibrated scenario is simulated under the contract the
history was recorded under, over a window as long as the history's, and the same figures are computed from each
simulated ticket log as from the export (tickets a month, by category, hands-on hours, on-site and parts shares,
the priority mix, reopens, resolution times). Each history figure is set beside the model's mean and the range
that 95% of simulated histories fall in."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.base.records import Handling
from simulator.config import Scenario
from simulator.config.sections import MAJOR
from simulator.studies.run import simulate

from .fit import Calibration, clock_hours, monday

__all__ = ["CHECK_COLUMNS", "check_model", "figures", "log_tickets"]

CHECK_COLUMNS = ["figure", "unit", "history", "model_mean", "model_low", "model_high", "within"]


def log_tickets(
    log: pd.DataFrame, scenario: Scenario, epoch: pd.Timestamp, window_hours: float
) -> pd.DataFrame:
    """One contract's simulated ticket log (one replication) as a history's ticket table: the tickets created
    within ``window_hours`` of the clock's start, as the export at its end would show them (a ticket resolved
    after it is still open)."""
    t = log[(log["handling"] == int(Handling.TICKET)) & (log["created"] < window_hours)]
    names = [c.name for c in scenario.incidents.categories] + [MAJOR]
    resolved = t["resolved"].where(t["resolved"] <= window_hours)
    started = t["started"].where(t["started"] <= window_hours)
    created = epoch + pd.to_timedelta(t["created"].to_numpy(), unit="h")
    return pd.DataFrame(
        {
            "row": np.arange(len(t)),
            "ticket": t["incident"].astype(str).to_numpy(),
            "client": t["client"].astype(str).to_numpy(),
            "category": np.asarray(names, dtype=object)[t["category"].to_numpy(dtype=int)],
            "priority": t["priority"].to_numpy(dtype=np.int64),
            "created": created,
            "resolved": epoch + pd.to_timedelta(resolved.to_numpy(), unit="h"),
            "responded": epoch + pd.to_timedelta(started.to_numpy(), unit="h"),
            "resolution_hours": (resolved - t["created"]).to_numpy(dtype=float),
            "response_hours": (started - t["created"]).to_numpy(dtype=float),
            "hours": t["work_hours"].to_numpy(dtype=float),
            "onsite": t["onsite"].to_numpy(dtype=float),
            "parts_cost": t["parts_cost"].to_numpy(dtype=float),
            "parent": np.where(t["recurrence"].to_numpy(), t["parent"].astype(str).to_numpy(), ""),
            "recurrence": t["recurrence"].to_numpy(dtype=bool),
        }
    ).reset_index(drop=True)


def figures(
    tickets: pd.DataFrame,
    months: float,
    categories: list[str],
    business: Callable[[Any, Any], np.ndarray],
    given: frozenset[str],
) -> list[tuple[str, str, float]]:
    """The figures a history and a simulated one are compared on: (figure, unit, value); ``business`` gives the
    business hours between two columns of wall times, ``given`` the fields the export has."""
    out: list[tuple[str, str, float]] = [("Tickets a month", "count", len(tickets) / months)]
    for c in categories:
        out.append((f"Tickets a month: {c}", "count", float((tickets["category"] == c).sum()) / months))
    if "hours" in given:
        h = tickets["hours"].dropna()
        out.append(("Hands-on hours per ticket", "hours", float(h.mean()) if len(h) else math.nan))
    if "onsite" in given:
        o = tickets["onsite"].dropna()
        out.append(("On-site share of tickets", "share", float(o.mean()) if len(o) else math.nan))
    if "parts_cost" in given:
        out.append(("Share of tickets with parts", "share", float((tickets["parts_cost"] > 0).mean())))
    if "priority" in given:
        known = tickets[tickets["priority"] > 0]
        for p in range(1, 5):
            share = float((known["priority"] == p).mean()) if len(known) else math.nan
            out.append((f"Share of tickets at P{p}", "share", share))
    if "parent" in given:
        out.append(("Reopened share of tickets", "share", float(tickets["recurrence"].mean())))
    if "resolved" in given:
        done = tickets[tickets["resolved"].notna()]
        hours = business(done["created"], done["resolved"])
        for p in range(1, 5) if "priority" in given else ():
            m = (done["priority"] == p).to_numpy()
            value = float(np.median(hours[m])) if m.sum() >= 5 else math.nan
            out.append((f"Median resolution at P{p}", "business hours", value))
        out.append(
            ("Median resolution, all", "business hours", float(np.median(hours)) if len(hours) else math.nan)
        )
    return out


def check_model(
    cal: Calibration, scenario: Scenario, replications: int = 20, workers: int = 1, progress: Any = None
) -> pd.DataFrame:
    """The history's figures beside the calibrated model's (mean and 2.5-97.5 percentiles over ``replications``
    simulated histories of the same length under the recorded contract)."""
    h = cal.history
    window_hours = h.days * 24.0
    months = window_hours / HOURS_PER_MONTH
    contract = next(c for c in scenario.contracts if c.name == cal.recorded)
    sim = scenario.model_copy(
        update={
            "contracts": [contract],
            "reference_contract": contract.name,
            "horizon_months": max(1, math.ceil(months)),
            "warmup_months": 0,
        }
    )
    cal_users = scenario.calendar.users()
    epoch = monday(h.start)

    def business(a: Any, b: Any) -> np.ndarray:
        return np.asarray(cal_users.business_hours_between(clock_hours(a, epoch), clock_hours(b, epoch)))

    categories = [c.name for c in scenario.incidents.categories] + [MAJOR]
    history = figures(h.tickets, months, categories, business, h.given)
    res = simulate(sim, replications=replications, workers=workers, tickets=True, progress=progress)
    assert res.tickets is not None
    # The simulated clock starts at 0, a Monday 00:00, read as the Monday the history's window starts in.
    model = []
    for _, log in res.tickets.groupby("replication"):
        t = log_tickets(log, sim, epoch, window_hours)
        model.append([v for _, _, v in figures(t, months, categories, business, h.given)])
    values = np.asarray(model, dtype=float)
    rows = []
    for j, (name, unit, value) in enumerate(history):
        column = values[:, j]
        column = column[np.isfinite(column)]
        if not len(column) or not math.isfinite(value):
            continue
        low, high = (float(q) for q in np.quantile(column, [0.025, 0.975]))
        rows.append(
            {
                "figure": name,
                "unit": unit,
                "history": value,
                "model_mean": float(column.mean()),
                "model_low": low,
                "model_high": high,
                "within": bool(low <= value <= high) if math.isfinite(value) else False,
            }
        )
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)
