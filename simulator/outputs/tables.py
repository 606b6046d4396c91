"""Which metrics the comparison tables show, with labels and units, and how their numbers are written."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .money import DEFAULT_LOCALE, price

if TYPE_CHECKING:
    import pandas as pd

    from simulator.config import Scenario

__all__ = [
    "RISK_ROWS",
    "RUN_ROWS",
    "TRANSITION_ROWS",
    "client_prefers",
    "format_number",
    "format_price",
    "incentive_notes",
    "search_note",
    "shown_per_month",
    "strategy_differences",
    "strategy_terms",
    "valuation_note",
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
    ("lowest_cash", "Lowest cash balance", "money"),
    ("lowest_cash_month", "… in month", "hours"),
    ("payback_month", "Catches up with stay (month)", "hours"),
    ("final_cash", "Cash balance at the end", "money"),
    ("npv", "NPV of the net cash flow †", "money"),
    ("npv_vs_stay", "NPV gained over stay †", "money"),
    ("mirr_vs_stay", "Return on the switch over stay (MIRR), yearly †", "share"),
    ("profit_year_1", "Profit before overhead, year 1", "money"),
    ("profit_year_2", "Profit before overhead, year 2", "money"),
    ("profit_year_3", "Profit before overhead, year 3", "money"),
    ("ebitda_ttm", "EBITDA, last 12 m (after overhead)", "money"),
    ("mrr_share_last_12", "Recurring share, last 12 m", "share"),
    ("arr_end", "Annual recurring revenue at the end", "money"),
    ("ev_multiple", "EBITDA multiple at the end ‡", "decimal"),
    ("enterprise_value", "Enterprise value at the end ‡", "money"),
    ("revenue_cv_last_12", "Revenue CV, last 12 m", "ratio"),
    ("churned_clients", "Clients churned", "hours"),
    ("won_clients", "Clients won", "hours"),
    ("final_technicians", "Technicians at the end", "hours"),
    ("client_downtime_per_user_year", "Client downtime h/user-year", "hours"),
)
"""(metric, label, unit) of the transition summary; † and ‡ mark the figures that rest on the valuation
assumptions (:func:`valuation_note`)."""


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


def search_note(scenario: Scenario, search: pd.DataFrame) -> str:
    """How the incentive analysis searched its grid and what that cost, in replications of lever settings
    (``search``: :attr:`simulator.studies.incentives.IncentiveResults.search`)."""
    settings, full = len(search), int(search["replications"].max())
    spent = int(search["replications"].sum())
    if scenario.incentives.search.method == "exhaustive":
        return f"Grid: {settings:,} lever settings × {full} replications, every one simulated (exhaustive)."
    finalists = int((search["replications"] == full).sum())
    first = int(search["replications"].min())
    share = spent / (settings * full)
    return (
        f"Grid: {settings:,} lever settings ranked on common random numbers: each simulated on {first} "
        f"replications, the {finalists:,} still in contention for an optimum on all {full}; "
        f"{spent:,} of the {settings * full:,} setting-replications of an exhaustive search ({share:.0%}; "
        "search.csv; --exhaustive simulates them all)."
    )


def strategy_terms(scenario: Scenario) -> list[dict[str, str]]:
    """Each strategy of the scenario's portfolio in words, aspect by aspect: ``offers``, ``acceptance`` (empty when
    it offers nothing), ``sales`` (its sales staff and what they sell)."""
    from simulator.studies.transition import sales_contract  # the simulation stack: only when asked

    p = scenario.portfolio
    if p is None:
        return []
    names = [c.name for c in scenario.contracts]
    out = []
    for st in p.strategies:
        to = scenario.label_of(st.to) if st.to else ""
        if st.kind == "stay":
            offers = "no offers"
        elif st.kind == "gradual":
            offers = (
                f"offers {to} to {st.offer_rate:.0%} of the remaining break/fix clients a month from month "
                f"{st.start_month}"
            )
        else:
            offers = f"offers {to} to every break/fix client in month {st.start_month}"
            if st.repeat_every_months is not None:
                offers += f" and again every {st.repeat_every_months} months to those who declined"
        rule = st.acceptance
        if st.kind == "stay":
            acceptance = ""
        elif isinstance(rule, float | int):
            acceptance = f"each accepts with probability {rule:.0%}"
        else:
            acceptance = (
                f"each accepts by a logit in its expected saving: intercept {rule.intercept:g}, "
                f"{rule.per_saving_share:g} per unit of saving share"
            )
        staff = p.sales.staff if st.sales_staff is None else st.sales_staff
        sells = names[sales_contract(scenario, st)]
        people = "sales person" if staff == 1 else "sales people"
        sales = f"{staff} {people} selling {scenario.label_of(sells)}" if staff else "no sales people"
        out.append({"strategy": st.name, "offers": offers, "acceptance": acceptance, "sales": sales})
    return out


def strategy_differences(scenario: Scenario) -> str:
    """One sentence: what differs between the strategies and what they share (the same sales effort unless the file
    says otherwise)."""
    terms = strategy_terms(scenario)
    if len(terms) < 2:
        return ""
    aspects = {"offers": "the offers", "acceptance": "how clients accept", "sales": "the sales effort"}
    differ, same = [], []
    for key, words in aspects.items():
        values = {t[key] for t in terms if t[key]}
        if len(values) > 1:
            differ.append(key)
        elif values:
            same.append(f"{words} ({values.pop()})")
    parts = []
    if differ:
        detail = "; ".join(f"{t['strategy']}: " + ", ".join(t[k] for k in differ if t[k]) for t in terms)
        named = [aspects[k] for k in differ]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        parts.append(f"The strategies differ in {listed} — {detail}.")
    if same:
        parts.append(f"They share {' and '.join(same)}.")
    return " ".join(parts)


def valuation_note(scenario: Scenario) -> str:
    """How the transition's cash and value figures are reached, with the assumptions they rest on (the discount
    rate †, the multiple table ‡); empty without ``portfolio.finance``."""
    f = scenario.portfolio.finance if scenario.portfolio else None
    if f is None:
        return ""
    timing = {
        "in_advance": "in the month billed",
        "in_arrears": f"{f.days_sales_outstanding:g} days after billing",
    }
    arrears = f.recurring_billing == "in_arrears" or f.usage_billing == "in_arrears"
    bad = (
        f", {_percent(f.bad_debt_share)} of what is billed in arrears never paid"
        if arrears and f.bad_debt_share
        else ""
    )
    table = ", ".join(f"{r.multiple:g}x at {_percent(r.recurring_share)}" for r in f.ev_multiples)
    o = scenario.provider.overhead
    overhead = (
        f"overhead {_percent(o.share_of_revenue)} of revenue"
        + (f" plus {format_number(o.fixed_per_month, 'money')} a month" if o.fixed_per_month else "")
        if o.share_of_revenue or o.fixed_per_month
        else "no overhead"
    )
    return (
        f"Cash is money collected less money paid: recurring fees collected {timing[f.recurring_billing]}, usage "
        f"{timing[f.usage_billing]}{bad}; costs and {overhead} paid when incurred. "
        f"† Discounted at an assumed {_percent(f.discount_rate)} a year (compounded monthly). "
        f"‡ Assumed valuation: EBITDA of the last 12 months (a loss counts as zero) times a multiple read from the "
        f"recurring share of "
        f"revenue ({table}; interpolated, flat beyond), less {f.churn_discount:g} × the yearly client churn rate "
        f"and {f.concentration_discount:g} × the largest client's share of revenue above "
        f"{_percent(f.concentration_threshold)}. Buyers' multiples vary widely; rerun with your own table."
    )


def _percent(share: float) -> str:
    return f"{share * 100:.4g}%"
