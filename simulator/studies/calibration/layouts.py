"""A simulated ticket log written out as a help desk's or PSA's ticket export would be, in one of two layouts: the
exports a client hands over, made from a scenario whose parameters are known, so that calibration can be checked
against the truth.

- ``psa``: a PSA service-board export: US dates in local wall time, priorities by name, hours with decimals,
  on-site or remote, parts in dollars, comma separated.
- ``helpdesk``: a help desk export with European settings: UTC ISO 8601 times, minutes worked, a yes/no visit
  flag, decimal commas, semicolon separated.

The clock hour 0 of the simulation is a Monday 00:00 local wall time (``start``); a clock hour ``h`` is the wall
time ``start + h`` hours (the simulated week knows no daylight saving). The export is taken at the end of the
horizon: a ticket created before then is in it, one resolved after then is still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.base.files import atomic_file
from simulator.base.records import Handling
from simulator.config import Scenario
from simulator.config.sections import MAJOR

from .export import localize
from .fit import ClientSize

__all__ = [
    "HELPDESK",
    "LAYOUTS",
    "LAYOUT_DELIMITER",
    "PSA",
    "TICKET_BASE",
    "Layout",
    "client_names_of",
    "client_sizes_of",
    "simulated_export",
    "write_export",
]

TICKET_BASE = 100000
"""A ticket's id in an export: this plus the simulated incident id."""


@dataclass(frozen=True)
class Layout:
    """How one kind of export writes tickets: its columns, category labels and priority labels."""

    columns: tuple[str, ...]
    categories: dict[str, str]
    """A scenario category name (and ``major``) → the label the export shows; other names are title-cased."""
    priorities: tuple[str, str, str, str]
    """The labels of P1, P2, P3 and P4."""
    delimiter: str

    def category_label(self, name: str) -> str:
        """The export's label of a scenario category (or ``major``)."""
        return self.categories.get(name, name.title())


PSA = Layout(
    columns=(
        "Ticket #",
        "Company",
        "Type",
        "Priority",
        "Status",
        "Date Entered",
        "Date Closed",
        "Actual Hours",
        "Location",
        "Parts Cost",
        "Parent Ticket #",
    ),
    categories={
        "password": "Password Reset",
        "software": "Software",
        "hardware": "Hardware",
        "network": "Network",
        "site-outage": "Site Outage",
        "security": "Security Incident",
        "service-request": "Service Request",
        MAJOR: "Major Incident",
    },
    priorities=(
        "Priority 1 - Emergency Response",
        "Priority 2 - Quick Response",
        "Priority 3 - Normal Response",
        "Priority 4 - Scheduled Maintenance",
    ),
    delimiter=",",
)
"""A PSA service-board export."""

HELPDESK = Layout(
    columns=(
        "id",
        "organization",
        "category",
        "priority",
        "created_at",
        "first_response_at",
        "solved_at",
        "time_spent_minutes",
        "visit",
        "parts",
        "reopened_from",
    ),
    categories={
        "password": "Account & Password",
        "software": "Application",
        "hardware": "Device",
        "network": "Network & Internet",
        "site-outage": "Site Down",
        "security": "Security",
        "service-request": "Request",
        MAJOR: "Major Incident",
    },
    priorities=("urgent", "high", "normal", "low"),
    delimiter=";",
)
"""A help desk export with European settings."""

LAYOUTS = {"psa": PSA, "helpdesk": HELPDESK}
"""The layouts by name."""

LAYOUT_DELIMITER = {name: layout.delimiter for name, layout in LAYOUTS.items()}
"""Each layout's field separator."""

PSA_DATE = "%m/%d/%Y %I:%M %p"
"""The PSA layout's dates: local wall time, e.g. 03/14/2025 02:30 PM."""
HELPDESK_DATE = "%Y-%m-%dT%H:%M:%SZ"
"""The help desk layout's dates: UTC, ISO 8601 with a trailing Z."""


def _layout(layout: str) -> Layout:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout '{layout}'; choose one of {', '.join(LAYOUTS)}")
    return LAYOUTS[layout]


def client_names_of(scenario: Scenario) -> list[str]:
    """The default client names: each segment's name with a number, one per client (``small-office 1``, ...)."""
    return [f"{seg.name} {i}" for seg in scenario.clients for i in range(1, seg.count + 1)]


def client_sizes_of(scenario: Scenario, names: list[str] | None = None) -> list[ClientSize]:
    """Each client of ``scenario`` as a client of a history (its segment's size), named by ``names`` (default
    :func:`client_names_of`)."""
    names = names if names is not None else client_names_of(scenario)
    segments = [seg for seg in scenario.clients for _ in range(seg.count)]
    return [
        ClientSize(name, seg.users, seg.endpoints, seg.servers, seg.sites)
        for name, seg in zip(names, segments, strict=True)
    ]


def _start(start: pd.Timestamp, timezone: str) -> pd.Timestamp:
    """``start`` as a naive local wall time; it must be a Monday 00:00."""
    start = pd.Timestamp(start)
    if start.tzinfo is not None:
        start = start.tz_convert(timezone).tz_localize(None)
    if start.day_of_week != 0 or start != start.normalize():
        raise ValueError(
            f"start {start} must be a Monday 00:00 local time: the simulated clock begins on a Monday at midnight"
        )
    return start


def _one_run(tickets: pd.DataFrame) -> None:
    for column in ("contract", "replication"):
        if column in tickets.columns and tickets[column].nunique() > 1:
            shown = ", ".join(str(v) for v in pd.unique(tickets[column])[:5])
            raise ValueError(
                f"the ticket log holds several values of '{column}' ({shown}); an export is one contract's "
                "tickets in one replication, so select them first"
            )


def _wall(start: pd.Timestamp, hours: np.ndarray) -> pd.Series:
    """Local wall times of clock hours, to the minute (NaN hours: NaT)."""
    minutes = np.round(np.asarray(hours, dtype=float) * 60.0)
    return pd.Series(start + pd.to_timedelta(minutes, unit="min"))


def _text(values: pd.Series | np.ndarray, fmt: str, blank: np.ndarray) -> np.ndarray:
    """Numbers formatted with ``fmt`` (printf style), blank where ``blank``."""
    out = np.char.mod(fmt, np.nan_to_num(np.asarray(values, dtype=float))).astype(object)
    out[blank] = ""
    return out


def simulated_export(
    tickets: pd.DataFrame,
    scenario: Scenario,
    layout: str,
    start: pd.Timestamp,
    timezone: str,
    client_names: list[str] | None = None,
) -> pd.DataFrame:
    """The tickets of one contract and replication of a simulated log (:class:`~simulator.base.records.TicketLog`
    rows) as an export in ``layout`` (``psa`` or ``helpdesk``), one text cell per field, sorted by created time.

    ``start`` is the local wall time of clock hour 0, a Monday 00:00, in the IANA ``timezone`` of the business.
    The export is taken at the horizon's end: tickets created before it are in it; one resolved after it is still
    open (no closed or solved time; only the hours worked until then; no first response if work had not begun).
    Client names default to :func:`client_names_of`; ticket ids are :data:`TICKET_BASE` plus the incident id, and
    a recurrence names its parent's ticket id. Times are rounded to the minute."""
    spec = _layout(layout)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"'{timezone}' is not an IANA time zone (e.g. Europe/Berlin, America/Chicago)"
        ) from None
    start = _start(start, timezone)
    _one_run(tickets)
    names = client_names if client_names is not None else client_names_of(scenario)
    clients = sum(seg.count for seg in scenario.clients)
    if len(names) != clients:
        raise ValueError(f"client_names has {len(names)} names; the scenario has {clients} clients")

    export_at = scenario.horizon_months * HOURS_PER_MONTH
    t = tickets[(tickets["handling"] == Handling.TICKET) & (tickets["created"] < export_at)]
    t = t.sort_values(["created", "incident"], kind="mergesort").reset_index(drop=True)

    created = t["created"].to_numpy(float)
    started = t["started"].to_numpy(float)
    resolved = t["resolved"].to_numpy(float)
    is_open = ~(resolved <= export_at)  # NaN (never resolved) is open too
    not_begun = ~(started <= export_at)  # no first response yet
    started = np.where(not_begun, np.nan, started)
    resolved = np.where(is_open, np.nan, resolved)
    work = t["work_hours"].to_numpy(float)
    # An open ticket shows the hands-on hours worked until the export, counted from when work began.
    worked = np.where(is_open, np.clip(np.nan_to_num(export_at - started), 0.0, work), work)
    parts = t["parts_cost"].to_numpy(float)
    no_parts = ~(np.round(parts, 2) > 0)
    onsite = t["onsite"].to_numpy(bool)

    category_names = [c.name for c in scenario.incidents.categories] + [MAJOR]
    labels = np.array([spec.category_label(n) for n in category_names], dtype=object)
    category = labels[t["category"].to_numpy(int)]
    priority = np.array(spec.priorities, dtype=object)[t["priority"].to_numpy(int) - 1]
    client = np.array(names, dtype=object)[t["client"].to_numpy(int)]
    ticket = (t["incident"].to_numpy(np.int64) + TICKET_BASE).astype(str).astype(object)
    parent_id = t["parent"].to_numpy(np.int64)
    parent = (parent_id + TICKET_BASE).astype(str).astype(object)
    parent[parent_id < 0] = ""

    created_at = _wall(start, created)
    started_at = _wall(start, started)
    resolved_at = _wall(start, resolved)

    if layout == "psa":
        columns = [
            ticket,
            client,
            category,
            priority,
            np.where(is_open, "Open", "Closed").astype(object),
            created_at.dt.strftime(PSA_DATE).fillna("").to_numpy(object),
            resolved_at.dt.strftime(PSA_DATE).fillna("").to_numpy(object),
            _text(worked, "%.2f", np.zeros(len(t), bool)),
            np.where(onsite, "On-Site", "Remote").astype(object),
            _text(parts, "$%.2f", no_parts),
            parent,
        ]
    else:

        def utc(wall: pd.Series) -> np.ndarray:
            # The reader's conventions (a wall time given twice is the first, a skipped one moves on).
            return localize(wall, timezone).dt.strftime(HELPDESK_DATE).fillna("").to_numpy(object)

        columns = [
            ticket,
            client,
            category,
            priority,
            utc(created_at),
            utc(started_at),
            utc(resolved_at),
            _text(np.round(worked * 60.0), "%.0f", np.zeros(len(t), bool)),
            np.where(onsite, "yes", "no").astype(object),
            np.char.replace(_text(parts, "%.2f", no_parts).astype(str), ".", ",").astype(object),
            parent,
        ]
    return pd.DataFrame(dict(zip(spec.columns, columns, strict=True)), dtype=object)


def write_export(frame: pd.DataFrame, path: str | Path, layout: str) -> Path:
    """Write an export made by :func:`simulated_export` as CSV with the layout's separator, atomically. Cells are
    written as they are (no spreadsheet-formula neutralisation: the file stands for another system's export)."""
    delimiter = _layout(layout).delimiter
    return atomic_file(
        path, lambda tmp: frame.to_csv(tmp, sep=delimiter, index=False, lineterminator="\n", encoding="utf-8")
    )
