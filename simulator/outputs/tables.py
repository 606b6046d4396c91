"""Which metrics the comparison tables show, with labels and units, and how their numbers are written."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .money import DEFAULT_LOCALE, price

if TYPE_CHECKING:
    from simulator.config import Scenario

__all__ = [
    "RISK_ROWS",
    "RUN_ROWS",
    "TRANSITION_ROWS",
    "client_prefers",
    "format_number",
    "format_price",
    "incentive_notes",
    "shown_per_month",
]

RUN_ROWS = (
    ("client_fees", "Client fees", "money"),
    ("client_downtime_cost", "Client downtime cost", "money"),
    ("client_total_cost", "Client total cost", "money"),
    ("provider_revenue", "Provider revenue", "money"),
    ("provider_cost", "Provider delivery cost", "money"),
    ("provider_gross_profit", "Provider gross profit", "money"),
    ("provider_gross_margin", "Gross margin", "share"),
    ("provider_overhead", "Provider overhead", "money"),
    ("provider_net_profit", "Provider net profit", "money"),
    ("provider_net_margin", "Net margin (after overhead)", "share"),
    ("revenue_monthly_cv", "Revenue CV (monthly)", "ratio"),
    ("downtime_hours_per_user_year", "Downtime h/user-year", "hours"),
    ("incidents", "Incidents", "count"),
    ("tickets", "Tickets", "count"),
    ("mean_response_hours", "Mean response (bh)", "hours"),
    ("mean_resolution_hours", "Mean resolution (bh)", "hours"),
    ("sla_compliance", "SLA compliance", "share"),
    ("sla_credits", "SLA credits", "money"),
    ("technician_utilization", "Technician utilisation", "share"),
)
"""(metric, label, unit) of the run comparison, in display order."""


def shown_per_month(metric: str, label: str, unit: str, months: int) -> tuple[str, str, float]:
    """How a comparison row is shown: ``(label, unit, divisor)``. Money, incidents and tickets per month (the label
    says so, counts get a decimal); the rest as the metric's own figure (a share, hours per user-year, a mean
    time). Every table, sentence and chart a person reads shows money per month; the CSV files keep the totals
    over the measured months."""
    if unit == "money" or metric in ("incidents", "tickets"):
        return f"{label} per month", "decimal" if unit == "count" else unit, float(months)
    return label, unit, 1.0


RISK_ROWS = (
    ("mean", "mean"),
    ("std", "standard deviation"),
    ("var95", "value at risk, 95%"),
    ("cvar95", "mean of the worst 5% of years"),
    ("certainty_equivalent", "certainty equivalent"),
)
"""(column of risk.csv, label) of the risk table, per party, money per year."""

TRANSITION_ROWS = (
    ("lowest_cash", "Lowest cumulative cash", "money"),
    ("lowest_cash_month", "… in month", "hours"),
    ("payback_month", "Catches up with stay (month)", "hours"),
    ("final_cash", "Cumulative cash at the end", "money"),
    ("profit_year_1", "Profit year 1", "money"),
    ("profit_year_2", "Profit year 2", "money"),
    ("profit_year_3", "Profit year 3", "money"),
    ("mrr_share_last_12", "Recurring share, last 12 m", "share"),
    ("revenue_cv_last_12", "Revenue CV, last 12 m", "ratio"),
    ("churned_clients", "Clients churned", "hours"),
    ("won_clients", "Clients won", "hours"),
    ("final_technicians", "Technicians at the end", "hours"),
    ("client_downtime_per_user_year", "Client downtime h/user-year", "hours"),
)
"""(metric, label, unit) of the transition summary."""


def format_number(value: float, unit: str) -> str:
    """A table cell: money in k/M, shares as %, ratios to 3 decimals, hours and decimals (counts per month) to 1
    decimal, counts whole."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "money":
        size = abs(value)
        if size >= 1e6:
            return f"{value / 1e6:,.2f}M"
        if size >= 1e4:
            return f"{value / 1e3:,.1f}k"
        return f"{value:,.0f}"
    if unit in ("share", "ratio"):
        return f"{value:.1%}" if unit == "share" else f"{value:.3f}"
    if unit in ("hours", "decimal"):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def format_price(value: float, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An exact price for people in the locale's style: $135, $40.38, €1,200 (en_US), 1.200 € (de_DE)."""
    return price(value, currency, locale)


def client_prefers(row: Any) -> str:
    """Whether every client segment prefers the contract at a row's levers to its outside option ("yes"), which
    segments do ("only ..."), or none ("no"); "–" for results written before the check existed."""
    if "client_participates" not in row:
        return "–"
    if bool(row["client_participates"]):
        return "yes"
    names = str(row.get("client_participates_segments") or "")
    return f"only {names}" if names and names != "nan" else "no"


def incentive_notes(scenario: Scenario) -> list[str]:
    """What the incentive tables' money and columns mean: the relationship valued (when there is one) and the
    client's outside option."""
    from simulator.studies.incentives import outside_contract

    outside = scenario.label_of(outside_contract(scenario))
    notes = []
    terms = scenario.incentives.relationship
    if terms is not None:
        notes.append(
            f"Over a {terms.horizon_months}-month relationship (renewal every {terms.term_months} months, "
            f"{terms.discount_rate:.0%} a year discount): money is the discounted level monthly equivalent; "
            f"a client who leaves moves to {outside} at its provider's best response; clients kept: the expected "
            "share still on the contract in the last month."
        )
    notes.append(
        f"Client prefers it: its cost is no higher than under {outside} at that contract's best response "
        "(per client segment)."
    )
    return notes
