"""What ``msp-sim calibrate`` keeps: the tables of a calibration, the model check and the calibrated scenario, as
one object that the results folder, its charts and the report read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from simulator.config import Scenario

from .fit import Calibration

__all__ = ["TABLES", "CalibrationResults", "results_of"]

TABLES = (
    "tickets",
    "clients",
    "rates",
    "effort",
    "priorities",
    "shares",
    "parts_cost",
    "arrival",
    "service",
    "check",
    "unusable",
    "left_out",
)
"""The tables of a calibration, each written as ``<name>.csv``."""


@dataclass
class CalibrationResults:
    """A calibration's tables (see :data:`TABLES`), its facts (``meta``: the export, map, base, recorded contract,
    window, time zone, rows, fields given, reopen estimate, notes) and the calibrated scenario (``scenario``; the
    base is ``meta['base']``)."""

    scenario: Scenario
    meta: dict[str, Any]
    tickets: pd.DataFrame
    clients: pd.DataFrame
    rates: pd.DataFrame
    effort: pd.DataFrame
    priorities: pd.DataFrame
    shares: pd.DataFrame
    parts_cost: pd.DataFrame
    arrival: pd.DataFrame
    service: pd.DataFrame
    check: pd.DataFrame
    unusable: pd.DataFrame
    left_out: pd.DataFrame

    @property
    def months(self) -> float:
        """Length of the history's window [months of 730 hours]."""
        return float(self.meta["months"])


def results_of(
    cal: Calibration, scenario: Scenario, check: pd.DataFrame, sources: dict[str, str]
) -> CalibrationResults:
    """A calibration, its model check and the calibrated scenario as results; ``sources`` names the export, map
    and base files as the user gave them."""
    h = cal.history
    meta = {
        **sources,
        "recorded": cal.recorded,
        "start": h.start.isoformat(),
        "end": h.end.isoformat(),
        "months": cal.months,
        "timezone": h.timezone,
        "rows": h.rows,
        "tickets": len(h.tickets),
        "unusable_rows": h.unusable_rows,
        "left_out_rows": h.left_out_rows,
        "given": sorted(h.given),
        "recurrence": {
            k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
            for k, v in cal.recurrence.items()
        },
        "notes": list(cal.notes),
        "base_name": cal.base.name,
        "currency": scenario.currency,
    }
    return CalibrationResults(
        scenario=scenario,
        meta=meta,
        tickets=h.tickets,
        clients=cal.clients,
        rates=cal.rates,
        effort=cal.effort,
        priorities=cal.priorities,
        shares=cal.shares,
        parts_cost=cal.parts_cost,
        arrival=cal.arrival,
        service=cal.service,
        check=check,
        unusable=h.unusable,
        left_out=h.left_out,
    )
