"""The map of a ticket export: which column of a help desk's or PSA's CSV export holds what, how its dates are
written and in which time zone, and how its values translate into the scenario's (priorities, categories, the
on-site flag). ``msp-sim calibrate`` reads an export through a map; every field carries a docstring with its
meaning."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from simulator.base.limits import Label

from .errors import ScenarioError, format_validation_error
from .reading import read_yaml
from .sections import MAJOR, ConfigModel

__all__ = ["COLUMN_ROLES", "Columns", "DateFormat", "TicketMap", "Values", "load_ticket_map"]

COLUMN_ROLES = (
    "ticket",
    "created",
    "resolved",
    "responded",
    "priority",
    "category",
    "client",
    "hours",
    "onsite",
    "parts_cost",
    "parent",
)
"""What a column of an export may hold, in the order the map lists them."""

PRIORITIES = ("P1", "P2", "P3", "P4")


class Columns(ConfigModel):
    """The export's column (its header text) that holds each field; null: the export does not have it."""

    ticket: Label | None = None
    """The ticket's number or id (rows are numbered from the header otherwise); needed with ``parent``."""
    created: Label
    """When the ticket was opened (entered, created) [date and time]."""
    resolved: Label | None = None
    """When it was resolved or closed; blank for a ticket still open [date and time]."""
    responded: Label | None = None
    """When the provider first responded (first response, acknowledged) [date and time]."""
    priority: Label | None = None
    """The ticket's priority, mapped to P1-P4 by ``values.priority``."""
    category: Label
    """Its type or category, mapped to the scenario's incident categories by ``values.category``."""
    client: Label | None = None
    """The client (company, organisation, account); null: every ticket is one client's."""
    hours: Label | None = None
    """Technician hours worked on it (time entries summed) [``hours_unit``]."""
    onsite: Label | None = None
    """Whether someone went on site, mapped by ``values.onsite``."""
    parts_cost: Label | None = None
    """Parts or hardware charged to it, blank or 0 when none [currency; see ``parts_markup``]."""
    parent: Label | None = None
    """The ticket this one reopens or repeats (a fix that did not hold): its id in the ``ticket`` column, blank
    for a new problem."""

    @model_validator(mode="after")
    def _distinct(self) -> Columns:
        used: dict[str, str] = {}
        for role in COLUMN_ROLES:
            name = getattr(self, role)
            if name is None:
                continue
            if name in used:
                raise ValueError(
                    f"column '{name}' is given for both {used[name]} and {role}; each field needs its own column"
                )
            used[name] = role
        if self.parent is not None and self.ticket is None:
            raise ValueError(
                "parent names the ticket a reopened one repeats by its id, so the map needs the ticket column "
                "too (e.g. ticket: 'Ticket #')"
            )
        return self


class DateFormat(ConfigModel):
    """How the export writes dates and in which time zone."""

    format: str | None = Field(None, min_length=2, max_length=100)
    """The date and time format in Python's strftime codes, e.g. ``'%m/%d/%Y %I:%M %p'`` for 03/14/2025
    02:30 PM; null: ISO 8601 (2025-03-14T14:30:00, an offset or Z allowed)."""
    timezone: str = Field("UTC", min_length=1, max_length=100)
    """The IANA time zone of the business (e.g. Europe/Berlin, America/Chicago): times without an offset are
    read as local to it, times with one are converted to it; business hours and weekdays are counted in it."""
    dayfirst: bool = False
    """With ``format`` null, read an ambiguous date like 03/04/2025 as 3 April (true) rather than 4 March."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not an IANA time zone; give one such as Europe/Berlin, America/New_York or UTC"
            ) from None
        return value

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(
                f"'{value}' has no strftime codes; write the format with them, e.g. '%d.%m.%Y %H:%M' for "
                "14.03.2025 14:30, or leave it out for ISO 8601"
            )
        return value


class Values(ConfigModel):
    """How the export's values translate into the scenario's. Each list matches the export's text exactly (after
    trimming spaces, ignoring case)."""

    priority: dict[str, Literal["P1", "P2", "P3", "P4"] | None] = {}
    """The export's priority → P1-P4 (null: left out, counted); values already written P1-P4 or 1-4 need no
    entry."""
    category: dict[str, Label | None] = {}
    """The export's category → a scenario incident category, or ``major`` for a major incident (null: left out,
    counted, e.g. internal or project work); a value already named like a scenario category needs no entry."""
    onsite: dict[str, bool] = {}
    """The export's on-site value → true (a visit) or false; yes/no, true/false, 1/0, on-site/remote and a blank
    (remote) need no entry."""

    @field_validator("priority", "category", "onsite")
    @classmethod
    def _keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        folded = [k.strip().casefold() for k in value]
        if len(set(folded)) != len(folded):
            seen = sorted({k for k in folded if folded.count(k) > 1})
            raise ValueError(
                f"{', '.join(seen)} given more than once (values match ignoring case and spaces); keep one"
            )
        return value


class TicketMap(ConfigModel):
    """Which column of a ticket export holds what, and how to read it."""

    columns: Columns
    """The export's column for each field."""
    dates: DateFormat = DateFormat()
    """How dates are written and the business's time zone."""
    hours_unit: Literal["hours", "minutes"] = "hours"
    """The unit of the ``hours`` column."""
    parts_markup: float = Field(0.0, ge=0, le=10)
    """The markup in the ``parts_cost`` column over what the parts cost the provider (0.2: billed at cost + 20%);
    0: the column holds the provider's cost [share]."""
    delimiter: str = Field(",", min_length=1, max_length=1)
    """The export's field separator (``;`` for many European exports)."""
    decimal: Literal[".", ","] = "."
    """The decimal mark of numbers in the export."""
    values: Values = Values()
    """How the export's values translate into the scenario's."""

    @model_validator(mode="after")
    def _separators(self) -> TicketMap:
        if self.delimiter == self.decimal:
            raise ValueError(
                f"delimiter and decimal are both '{self.delimiter}'; an export that writes 1,5 separates its "
                "fields with ';' (delimiter: ';')"
            )
        return self

    def mapped_category(self, value: str, categories: set[str]) -> tuple[bool, str | None]:
        """The scenario category (or ``major``) of an export category value: (known, category or None when left
        out); unknown values give (False, None)."""
        key = value.strip().casefold()
        for k, v in self.values.category.items():
            if k.strip().casefold() == key:
                return True, v
        for name in (*categories, MAJOR):
            if name.casefold() == key:
                return True, name
        return False, None


def load_ticket_map(path: str | Path) -> TicketMap:
    """Read and validate a map file; every problem is a :class:`ScenarioError` naming the file, the field and the
    fix."""
    label = str(path)
    data = read_yaml(Path(path))
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{label}: a map is a mapping with a 'columns' section (columns: {{created: 'Date Entered', category: "
            "Type, ...}}); this file holds something else"
        )
    try:
        return TicketMap.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(label, exc, data, TicketMap)) from None
