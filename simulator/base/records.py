"""Plain records passed between the simulation, the contracts and the metrics: arrays, no behaviour."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

from .calendar import WeekCalendar

__all__ = [
    "BillingContext",
    "Handling",
    "PreventionLog",
    "TicketLog",
    "by_client_month",
    "field_names",
    "stacked",
]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, in order (read once per class: ``dataclasses.fields`` costs a few microseconds a
    call, which adds up over the small record sets of many replications)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


class _OfClients(Protocol):
    client: np.ndarray


R = TypeVar("R", bound=_OfClients)


def stacked(kind: type[R], records: Sequence[R], clients: int) -> R:
    """Records (one per replication, of the same ``clients`` clients) as one: each field's rows one replication's
    after the other's, the clients numbered replication by replication (those of the k-th plus k × ``clients``)."""
    columns = {name: np.concatenate([getattr(r, name) for r in records]) for name in field_names(kind)}
    columns["client"] = np.concatenate([r.client + k * clients for k, r in enumerate(records)])
    return kind(**columns)


class Handling:
    """How an incident was dealt with."""

    SELF = 0  # worked around by the client's staff, never reported
    AUTO = 1  # fixed by monitoring, no technician
    TICKET = 2  # worked by a technician
    CLIENT_IT = 3  # fixed by the client's own IT (co-managed), never reaching the provider

    LABELS = ("self_handled", "auto_remediated", "ticket", "client_it")


def _no_column() -> np.ndarray:
    return np.zeros(0)


@dataclass
class TicketLog:
    """One row per incident that happened (prevented ones are not here), including recurrences.

    Times are clock hours from the start. ``created``, ``started`` and ``resolved`` are NaN for incidents that never
    became a ticket. ``downtime_hours`` counts the users' business hours from occurrence to resolution.
    """

    incident: np.ndarray  # int64 id, unique within the replication
    client: np.ndarray
    category: np.ndarray
    major: np.ndarray  # bool
    priority: np.ndarray
    blocking: np.ndarray  # bool: the incident stopped the affected users' work
    handling: np.ndarray
    occurred: np.ndarray
    created: np.ndarray
    started: np.ndarray
    resolved: np.ndarray
    month: np.ndarray  # month of creation (tickets) or occurrence (others)
    onsite: np.ndarray
    work_hours: np.ndarray  # technician hands-on hours
    travel_hours: np.ndarray
    parts_cost: np.ndarray
    after_hours: np.ndarray  # work started outside business hours
    downtime_hours: np.ndarray
    downtime_user_hours: np.ndarray
    downtime_cost: np.ndarray
    recurrence: np.ndarray  # bool
    parent: np.ndarray  # incident id of the fix that did not hold, -1 otherwise
    parent_resolved: np.ndarray  # when that fix was done, NaN otherwise
    client_it_hours: np.ndarray = field(default_factory=_no_column)  # the client's own IT's hands-on hours
    client_it_cost: np.ndarray = field(default_factory=_no_column)  # those hours at its cost [currency]

    def __post_init__(self) -> None:
        # A log built without the client-IT columns (no co-managed contract) has zeros there.
        n = len(self.incident)
        for name in ("client_it_hours", "client_it_cost"):
            if n and not len(getattr(self, name)):
                setattr(self, name, np.zeros(n))

    def __len__(self) -> int:
        return len(self.incident)

    def take(self, mask: np.ndarray) -> TicketLog:
        """The rows in ``mask``."""
        return TicketLog(**{name: getattr(self, name)[mask] for name in field_names(type(self))})

    def to_frame(self) -> pd.DataFrame:
        """The log as a DataFrame."""
        return pd.DataFrame({name: getattr(self, name) for name in field_names(type(self))})


@dataclass
class PreventionLog:
    """Prevention jobs: one row per job."""

    client: np.ndarray
    month: np.ndarray  # month the job started
    hours: np.ndarray
    started: np.ndarray
    resolved: np.ndarray

    def take(self, mask: np.ndarray | slice) -> PreventionLog:
        """The jobs in ``mask`` (a boolean mask, integer index or slice)."""
        return PreventionLog(**{name: getattr(self, name)[mask] for name in field_names(type(self))})


@dataclass(frozen=True)
class BillingContext:
    """What the contracts need besides the log: the clients' fee bases, the months, names and the calendar."""

    months: int
    users: np.ndarray
    endpoints: np.ndarray
    servers: np.ndarray
    category_names: tuple[str, ...]  # by category index; the last is "major"
    calendar: WeekCalendar  # the users' business hours (SLA business clock)
    active: np.ndarray | None = None  # (clients, months): on this contract that month; None = always
    onboarding_month: np.ndarray | None = (
        None  # per client: month its onboarding fee is due, −1 none; None = 0
    )
    terminate_from: int | None = (
        None  # an SLA termination right is exercised from this month on; None = never
    )
    contract_start: np.ndarray | None = (
        None  # per client: the month its contract began (before the horizon: negative); None = its first month on it
    )


def by_client_month(
    client: np.ndarray, month: np.ndarray, shape: tuple[int, int], weights: np.ndarray | None = None
) -> np.ndarray:
    """Per client and month, shape (clients, months): the sum of ``weights`` of the rows of that client and month,
    or the count of rows without weights."""
    size = shape[0] * shape[1]
    return (
        np.bincount(client * shape[1] + month, weights=weights, minlength=size).reshape(shape).astype(float)
    )
