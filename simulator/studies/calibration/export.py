"""Reading a ticket export through its map into one table of tickets in the scenario's terms.

A problem with the export as a whole or with how the map reads it (a missing column, a date that does not match
the format, a priority or category the map does not know) is an :class:`ExportError` naming the file, the row (as a
spreadsheet numbers it, the header being row 1), the column and the fix. A row that is simply unusable (no created
time, resolved before created, no category, negative hours, a ticket id given twice, created outside the window)
is counted by reason and reported, never silently dropped; a row whose category the map leaves out (null) is
counted apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.config.sections import MAJOR
from simulator.config.ticket_map import COLUMN_ROLES, PRIORITIES, TicketMap

__all__ = [
    "CLIENT_COLUMNS",
    "ClientSize",
    "ExportError",
    "History",
    "localize",
    "read_clients",
    "read_export",
    "ticket_columns",
]

FIRST_ROW = 2
"""The spreadsheet row number of the export's first ticket (the header is row 1)."""

ONSITE_WORDS = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "on-site": True,
    "onsite": True,
    "on site": True,
    "x": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
    "remote": False,
    "": False,
}

ticket_columns = (
    "row",
    "ticket",
    "client",
    "category",
    "priority",
    "created",
    "resolved",
    "responded",
    "resolution_hours",
    "response_hours",
    "hours",
    "onsite",
    "parts_cost",
    "parent",
    "recurrence",
)
"""The columns of a history's ticket table: the export's row number, the ticket id, the client, the scenario
category (or ``major``), the priority (1-4, 0 unknown), created/resolved/first response as local wall times, the
hours from creation to resolution and to first response (elapsed, daylight saving counted), hands-on hours, the
on-site flag (NaN unknown), parts at the provider's cost, the id of the ticket it reopens and whether it does."""


class ExportError(ValueError):
    """An export that cannot be read through its map; the message names the file, row, column and fix."""


@dataclass(frozen=True)
class ClientSize:
    """One client of the history: its size, and when it was a client if not the whole window."""

    name: str
    users: int
    endpoints: int
    servers: int = 0
    sites: int = 1
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None


CLIENT_COLUMNS = ("client", "users", "endpoints", "servers", "sites", "start", "end")
"""The columns of a clients file: the first three needed."""


def read_clients(path: str | Path, option: str = "--clients") -> list[ClientSize]:
    """A clients file (CSV): one row per client of the export with its users and endpoints (servers, sites, and
    the start and end of a client that joined or left during the window optional). Every problem is an
    :class:`ExportError` naming the file, row and column."""
    path = Path(path)
    label = f"{option} {path}"
    if not path.is_file():
        raise ExportError(f"{label}: file not found. Give a CSV file with columns client, users, endpoints.")
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ExportError(
            f"{label}: not a readable CSV file ({exc}). Fix: one row per client under a header row."
        ) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("client", "users", "endpoints") if c not in frame.columns]
    if missing:
        raise ExportError(
            f"{label}: no column {', '.join(missing)} (its columns are {', '.join(frame.columns)}). Fix: give "
            "columns client, users, endpoints, and optionally servers, sites, start, end."
        )
    unknown = [c for c in frame.columns if c not in CLIENT_COLUMNS]
    if unknown:
        raise ExportError(
            f"{label}: unknown column {', '.join(unknown)}. Fix: use {', '.join(CLIENT_COLUMNS)}."
        )
    sizes = []
    for i, row in enumerate(frame.to_dict("records")):
        where = f"{label}, row {i + FIRST_ROW}"
        name = str(row["client"]).strip()
        if not name:
            raise ExportError(
                f"{where}, column 'client': empty. Fix: give the client's name as the export writes it."
            )
        counts: dict[str, int] = {}
        for column, low, default in (
            ("users", 1, None),
            ("endpoints", 0, None),
            ("servers", 0, 0),
            ("sites", 1, 1),
        ):
            text = str(row.get(column, "")).strip()
            if not text and default is not None:
                counts[column] = default
                continue
            try:
                value = int(text)
            except ValueError:
                raise ExportError(
                    f"{where}, column '{column}': '{text}' is not a whole number. Fix: give the count of {column}."
                ) from None
            if value < low:
                raise ExportError(
                    f"{where}, column '{column}': {value} is below {low}. Fix: give at least {low}."
                )
            counts[column] = value
        if counts["sites"] > counts["users"]:
            raise ExportError(
                f"{where}: {counts['sites']} sites but {counts['users']} users; every site has a user."
            )
        dates: dict[str, pd.Timestamp] = {}
        for column in ("start", "end"):
            text = str(row.get(column, "")).strip()
            if text:
                try:
                    dates[column] = pd.Timestamp(text)
                except ValueError:
                    raise ExportError(
                        f"{where}, column '{column}': '{text}' is not a date. Fix: write it as YYYY-MM-DD."
                    ) from None
        sizes.append(
            ClientSize(
                name, counts["users"], counts["endpoints"], counts["servers"], counts["sites"], **dates
            )
        )
    if not sizes:
        raise ExportError(f"{label}: no clients in it. Fix: one row per client under the header.")
    return sizes


@dataclass
class History:
    """A ticket export read through its map: the usable tickets in the scenario's terms, what was not usable and
    why, and the observation window."""

    source: str
    tickets: pd.DataFrame  # columns: ticket_columns
    unusable: pd.DataFrame  # reason, rows, first rows (examples)
    left_out: pd.DataFrame  # column, value, rows: values the map maps to null (deliberately left out)
    start: pd.Timestamp  # the window, local wall time, [start, end)
    end: pd.Timestamp
    timezone: str
    rows: int  # rows in the export
    given: frozenset[str] = frozenset()  # the fields the map gives a column for (see COLUMN_ROLES)
    unusable_rows: int = 0  # rows not used for a reason in ``unusable`` (each counted once)
    left_out_rows: int = 0  # usable rows the map leaves out

    @property
    def days(self) -> float:
        """Length of the window [days]."""
        return float((self.end - self.start) / pd.Timedelta(days=1))


def _where(source: str, row: int, column: str) -> str:
    return f"{source}, row {row}, column '{column}'"


def _read_csv(path: Path, tmap: TicketMap) -> pd.DataFrame:
    source = str(path)
    if not path.is_file():
        raise ExportError(
            f"{source}: {'is a folder' if path.is_dir() else 'file not found'}. Give the path to the ticket export, "
            "a CSV file with one row per ticket."
        )
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                sep=tmap.delimiter,
                encoding=encoding,
                skipinitialspace=True,
            )
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise ExportError(f"{source}: the file is empty. Export the tickets with a header row.") from None
        except pd.errors.ParserError as exc:
            raise ExportError(
                f"{source}: not a readable CSV file ({exc}). Fix: check the export's quoting, and that its field "
                f"separator is the map's delimiter '{tmap.delimiter}'."
            ) from None
    else:  # pragma: no cover - cp1252 decodes nearly anything
        raise ExportError(f"{source}: neither UTF-8 nor Windows-1252 text. Export the tickets as UTF-8 CSV.")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise ExportError(f"{source}: the export has a header but no tickets.")
    return frame


def _column(
    frame: pd.DataFrame, name: str | None, role: str, source: str, map_label: str
) -> pd.Series | None:
    if name is None:
        return None
    if name not in frame.columns:
        shown = ", ".join(f"'{c}'" for c in list(frame.columns)[:30])
        hint = [c for c in frame.columns if c.casefold() == name.casefold()]
        fix = f"did you mean '{hint[0]}'? " if hint else ""
        raise ExportError(
            f"{source}: the map's column '{name}' (columns.{role}) is not in the export, whose columns are {shown}. "
            f"Fix: {fix}correct columns.{role} in {map_label}"
            + (
                " or set it to null if the export does not have it."
                if role not in ("created", "category")
                else "."
            )
        )
    return frame[name].astype(str).str.strip()


_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _dates(
    values: pd.Series, tmap: TicketMap, source: str, column: str, map_label: str
) -> tuple[pd.Series, pd.Series]:
    """Local wall times and UTC instants of a column of dates (blank: NaT); a value that does not parse is an
    error naming its row."""
    zone = tmap.dates.timezone
    fmt = tmap.dates.format
    blank = values == ""
    utc = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    text = values[~blank]
    if fmt is None:
        aware = text.str.contains(_OFFSET)
        parts = []
        if aware.any():
            parts.append(pd.to_datetime(text[aware], format="ISO8601", utc=True, errors="coerce"))
        if (~aware).any():
            naive = pd.to_datetime(
                text[~aware],
                format="ISO8601" if not tmap.dates.dayfirst else None,
                errors="coerce",
                dayfirst=tmap.dates.dayfirst,
            )
            parts.append(localize(naive, zone))
        parsed = pd.concat(parts) if parts else pd.Series([], dtype="datetime64[ns, UTC]")
    elif "%z" in fmt or "%Z" in fmt:
        parsed = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    else:
        parsed = localize(pd.to_datetime(text, format=fmt, errors="coerce"), zone)
    bad = parsed.isna()
    if bad.any():
        i = bad[bad].index[0]
        expected = f"the map's format '{fmt}'" if fmt is not None else "ISO 8601 (2025-03-14 14:30)"
        raise ExportError(
            f"{_where(source, int(i) + FIRST_ROW, column)}: '{values[i]}' is not a date in {expected} "
            f"({int(bad.sum()):,} rows like it). Fix: set dates.format in {map_label} to the export's format in "
            "strftime codes (e.g. '%m/%d/%Y %I:%M %p' for 03/14/2025 02:30 PM, '%d.%m.%Y %H:%M' for 14.03.2025 "
            "14:30)."
        )
    utc.loc[parsed.index] = parsed
    local = utc.dt.tz_convert(zone).dt.tz_localize(None)
    return local, utc


def localize(naive: pd.Series, zone: str) -> pd.Series:
    """Naive local times as UTC instants (a time skipped by daylight saving moves forward; one given twice is
    read as the first)."""
    return naive.dt.tz_localize(
        zone, ambiguous=np.ones(len(naive), bool), nonexistent="shift_forward"
    ).dt.tz_convert("UTC")


def _numbers(
    values: pd.Series, tmap: TicketMap, source: str, column: str, map_label: str, minutes: bool = False
) -> pd.Series:
    """Numbers of a column (blank: NaN), currency signs and thousands separators ignored. With ``minutes`` the
    column is a duration in minutes, and h:mm is read as hours and minutes (the result is in hours then). A
    thousands separator must be followed by three digits: "1.5" with the decimal comma (or "1,5" with the point)
    is an error, not 15."""
    text = values.str.replace(r"[\s$€£¥]|CHF|USD|EUR|GBP", "", regex=True)
    out = pd.Series(np.nan, index=values.index)
    hm = text.str.fullmatch(r"\d+:\d{2}")
    if hm.any():
        parts = text[hm].str.split(":", expand=True).astype(float)
        out[hm] = parts[0] + parts[1] / 60.0
    rest = text[~hm & (text != "")]
    group = "." if tmap.decimal == "," else ","
    misplaced = rest.str.contains(rf"\{group}(?!\d{{3}}(?:\D|$))", regex=True)
    if misplaced.any():
        i = misplaced[misplaced].index[0]
        raise ExportError(
            f"{_where(source, int(i) + FIRST_ROW, column)}: '{values[i]}' has a '{group}' that is not a thousands "
            f"separator, and the map's decimal mark is '{tmap.decimal}'. Fix: set decimal: '{group}' in {map_label} "
            "if the export writes decimals that way."
        )
    rest = rest.str.replace(group, "", regex=False)
    if tmap.decimal == ",":
        rest = rest.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(rest, errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers)
    if bad.any():
        i = bad[bad].index[0]
        raise ExportError(
            f"{_where(source, int(i) + FIRST_ROW, column)}: '{values[i]}' is not a number. Fix: check that the map "
            f"names the right column, and its decimal mark (decimal: '{tmap.decimal}' in {map_label})."
        )
    out[rest.index] = numbers.astype(float) / (60.0 if minutes else 1.0)
    return out


def _mapped(
    values: pd.Series,
    mapping: dict[str, object],
    known: dict[str, object],
    source: str,
    column: str,
    field: str,
    map_label: str,
    example: str,
) -> tuple[pd.Series, pd.Series]:
    """Each value through the map's ``mapping`` (then the ``known`` spellings), matched ignoring case and spaces:
    (mapped value, left out by the map). A value neither knows is an error naming its row."""
    table = {
        **{k.casefold(): v for k, v in known.items()},
        **{k.strip().casefold(): v for k, v in mapping.items()},
    }
    folded = values.str.casefold()
    unknown = ~folded.isin(list(table))
    if unknown.any():
        i = unknown[unknown].index[0]
        others = sorted(set(values[unknown]))
        shown = ", ".join(f"'{v}'" for v in others[:8]) + (" ..." if len(others) > 8 else "")
        raise ExportError(
            f"{_where(source, int(i) + FIRST_ROW, column)}: the map does not know the value '{values[i]}' "
            f"(unknown values: {shown}). Fix: add it under values.{field} in {map_label} (e.g. '{values[i]}': "
            f"{example}), or null to leave such tickets out."
        )
    out = folded.map(table)
    return out, out.isna() & ~unknown


def read_export(
    path: str | Path,
    tmap: TicketMap,
    categories: list[str],
    map_label: str = "the map",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> History:
    """Read ``path`` through ``tmap`` into a :class:`History` whose categories are among ``categories`` (the
    scenario's, plus ``major``). The window is [start, end) in local wall time; by default from the first created
    day's midnight to the midnight after the last."""
    path = Path(path)
    source = str(path)
    frame = _read_csv(path, tmap)
    cols = tmap.columns
    col = {role: _column(frame, getattr(cols, role), role, source, map_label) for role in COLUMN_ROLES}
    n = len(frame)
    index = frame.index
    reasons: dict[str, np.ndarray] = {}

    created_local, created_utc = _dates(col["created"], tmap, source, str(cols.created), map_label)  # type: ignore[arg-type]
    reasons["no created time"] = created_local.isna().to_numpy()
    nat = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    nat_utc = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    resolved_local, resolved_utc = (
        _dates(col["resolved"], tmap, source, str(cols.resolved), map_label)
        if col["resolved"] is not None
        else (nat, nat_utc)
    )
    responded_local, responded_utc = (
        _dates(col["responded"], tmap, source, str(cols.responded), map_label)
        if col["responded"] is not None
        else (nat, nat_utc)
    )
    hour = pd.Timedelta(hours=1)
    hours_to_resolve = pd.Series((resolved_utc - created_utc).to_numpy() / hour, index=index, dtype=float)
    reasons["resolved before created"] = (hours_to_resolve < 0).to_numpy()
    response = pd.Series((responded_utc - created_utc).to_numpy() / hour, index=index, dtype=float)
    early_response = response < 0
    response[early_response] = np.nan

    names: dict[str, object] = {c: c for c in (*categories, MAJOR)}
    category_values = col["category"]
    assert category_values is not None
    no_category = category_values == ""
    cat, cat_out = _mapped(
        category_values.where(~no_category, "\0blank"),
        {**dict(tmap.values.category), "\0blank": None},
        names,
        source,
        cols.category,
        "category",
        map_label,
        categories[0],
    )
    reasons["no category"] = no_category.to_numpy()
    cat_out &= ~no_category
    left_out = [("category", v, int(k)) for v, k in category_values[cat_out].value_counts().items()]

    priority = pd.Series(0, index=index, dtype=np.int64)
    if col["priority"] is not None:
        values = col["priority"]
        known: dict[str, object] = (
            {p: p for p in PRIORITIES} | {str(i): f"P{i}" for i in range(1, 5)} | {"": None}
        )
        mapped, p_out = _mapped(
            values, dict(tmap.values.priority), known, source, str(cols.priority), "priority", map_label, "P2"
        )
        blank = values == ""
        p_out &= ~blank
        left_out += [("priority", v, int(k)) for v, k in values[p_out].value_counts().items()]
        cat_out |= p_out
        priority = mapped.map(lambda p: int(str(p)[1]) if isinstance(p, str) else 0).astype(np.int64)

    hours = pd.Series(np.nan, index=index)
    if col["hours"] is not None:
        hours = _numbers(
            col["hours"], tmap, source, str(cols.hours), map_label, minutes=tmap.hours_unit == "minutes"
        )
        reasons["negative hours"] = (hours < 0).to_numpy()
    onsite = pd.Series(np.nan, index=index)
    if col["onsite"] is not None:
        flags, _ = _mapped(
            col["onsite"],
            dict(tmap.values.onsite),
            dict(ONSITE_WORDS),
            source,
            str(cols.onsite),
            "onsite",
            map_label,
            "true",
        )
        onsite = flags.astype(float)
    parts = pd.Series(np.nan, index=index)
    if col["parts_cost"] is not None:
        parts = _numbers(col["parts_cost"], tmap, source, str(cols.parts_cost), map_label).fillna(0.0)
        reasons["negative parts cost"] = (parts < 0).to_numpy()
        parts = parts / (1.0 + tmap.parts_markup)
    client = col["client"] if col["client"] is not None else pd.Series("client", index=index)
    if col["client"] is not None:
        reasons["no client"] = (client == "").to_numpy()
    ticket = (
        col["ticket"]
        if col["ticket"] is not None
        else pd.Series((index + FIRST_ROW).astype(str), index=index)
    )
    if col["ticket"] is not None:
        reasons["no ticket id"] = (ticket == "").to_numpy()
        reasons["ticket id given twice (the first kept)"] = (ticket.duplicated() & (ticket != "")).to_numpy()
    parent = col["parent"] if col["parent"] is not None else pd.Series("", index=index)

    usable_so_far = ~np.logical_or.reduce([*reasons.values(), cat_out.to_numpy()])
    if not usable_so_far.any():
        raise ExportError(
            f"{source}: none of its {n:,} rows is a usable ticket (each lacks a created time or a category, or "
            "is left out by the map). Fix: check the map's columns.created and values.category."
        )
    # The export's period: every row with a created time counts, used or not.
    first, last = pd.Timestamp(created_local.min()), pd.Timestamp(created_local.max())
    window_start = start if start is not None else first.normalize()
    window_end = end if end is not None else last.normalize() + pd.Timedelta(days=1)
    if window_end <= window_start:
        raise ExportError(
            f"{source}: the window ends ({window_end}) before it starts ({window_start}). Fix: give --end after "
            "--start."
        )
    created_ok = created_local.notna()
    reasons["created outside the window"] = (
        created_ok & ((created_local < window_start) | (created_local >= window_end))
    ).to_numpy()

    bad = np.logical_or.reduce(list(reasons.values()))
    keep = ~bad & ~cat_out.to_numpy()
    tickets = pd.DataFrame(
        {
            "row": (index + FIRST_ROW).to_numpy(),
            "ticket": ticket.to_numpy(),
            "client": client.to_numpy(),
            "category": cat.to_numpy(),
            "priority": priority.to_numpy(),
            "created": created_local.to_numpy(),
            "resolved": resolved_local.to_numpy(),
            "responded": responded_local.where(~early_response).to_numpy(),
            "resolution_hours": hours_to_resolve.to_numpy(),
            "response_hours": response.to_numpy(),
            "hours": hours.to_numpy(),
            "onsite": onsite.to_numpy(),
            "parts_cost": parts.to_numpy(),
            "parent": parent.to_numpy(),
            "recurrence": (parent != "").to_numpy(),
        }
    )[keep].reset_index(drop=True)
    unusable = pd.DataFrame(
        [
            {
                "reason": reason,
                "rows": int(mask.sum()),
                "first_rows": ", ".join(str(r + FIRST_ROW) for r in np.flatnonzero(mask)[:5]),
                "used": False,
            }
            for reason, mask in reasons.items()
            if mask.any()
        ],
        columns=["reason", "rows", "first_rows", "used"],
    )
    if early_response.any():
        rows = np.flatnonzero(early_response.to_numpy())
        late = {
            "reason": "first response before created (its response time left out; the ticket is used)",
            "rows": len(rows),
            "first_rows": ", ".join(str(r + FIRST_ROW) for r in rows[:5]),
            "used": True,
        }
        unusable = pd.concat([unusable, pd.DataFrame([late])], ignore_index=True)
    return History(
        source=source,
        tickets=tickets,
        unusable=unusable,
        left_out=pd.DataFrame(left_out, columns=["column", "value", "rows"]),
        start=pd.Timestamp(window_start),
        end=pd.Timestamp(window_end),
        timezone=tmap.dates.timezone,
        rows=n,
        given=frozenset(role for role in COLUMN_ROLES if getattr(cols, role) is not None),
        unusable_rows=int(bad.sum()),
        left_out_rows=int((cat_out.to_numpy() & ~bad).sum()),
    )
