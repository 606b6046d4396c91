"""The building blocks every contract kind bills with: billable hours, T&M labour, ledger blocks of invoice lines,
the T&M part of the money estimate and of the plain-words terms (DESIGN.md §3). Pure and vectorised: arrays for
the whole log in, ledger blocks out; amounts are rounded to cents per line by the ledger."""

from __future__ import annotations

import numpy as np

from simulator.base.records import BillingContext, TicketLog

from .base import Exposure, Policy, Term, TmTerms, Words
from .ledger import Account, Party

__all__ = [
    "LineBlock",
    "billable_hours",
    "category_names",
    "client_lines",
    "describe_policy",
    "describe_tm",
    "tm_labour",
    "tm_lines",
    "tm_money_terms",
]

LineBlock = tuple[np.ndarray, int | np.ndarray, int | np.ndarray, int, np.ndarray, np.ndarray | None]
"""(month, payer, payee, account, amount, incident) arrays: one block of ledger lines."""


def billable_hours(hours: np.ndarray, increment: float, minimum: np.ndarray | float) -> np.ndarray:
    """Hours rounded up to the billing increment, at least the minimum [hours].

    A tiny tolerance keeps 0.5000000001 h (floating-point noise) from becoming 0.75 h.
    """
    units = np.ceil(np.asarray(hours) / increment - 1e-9)
    return np.maximum(units * increment, minimum)


def tm_labour(
    terms: TmTerms, work_hours: np.ndarray, onsite: np.ndarray, after_hours: np.ndarray
) -> np.ndarray:
    """Labour charge of each job under T&M terms: billable hours × rate × after-hours multiplier [currency]."""
    minimum = np.where(onsite, terms.minimum_onsite_hours, terms.minimum_remote_hours)
    rate = np.where(onsite, terms.onsite_rate, terms.remote_rate)
    mult = np.where(after_hours, terms.after_hours_multiplier, 1.0)
    return billable_hours(work_hours, terms.billing_increment_hours, minimum) * rate * mult


def client_lines(log: TicketLog, mask: np.ndarray, account: int, amount: np.ndarray) -> LineBlock:
    """Lines the clients of the tickets in ``mask`` pay the provider, one per ticket."""
    return (log.month[mask], log.client[mask], Party.PROVIDER, account, amount, log.incident[mask])


def tm_lines(terms: TmTerms, log: TicketLog, mask: np.ndarray, parts: bool = True) -> list[LineBlock]:
    """Labour, trip and (optionally) parts lines for the tickets in ``mask``."""
    lines = [
        client_lines(
            log,
            mask,
            Account.LABOUR,
            tm_labour(terms, log.work_hours[mask], log.onsite[mask], log.after_hours[mask]),
        ),
        client_lines(log, mask, Account.TRIP, np.where(log.onsite[mask], terms.trip_charge, 0.0)),
    ]
    if parts:
        lines.append(client_lines(log, mask, Account.PARTS, log.parts_cost[mask] * (1 + terms.parts_markup)))
    return lines


def category_names(log: TicketLog, ctx: BillingContext) -> np.ndarray:
    """The category name of every ticket (``major`` for major incidents)."""
    return np.asarray(ctx.category_names, dtype=object)[log.category]


def tm_money_terms(terms: TmTerms, where: str, x: Exposure) -> list[Term]:
    """T&M billing of every job at the larger rate and the after-hours multiplier, and of the largest job."""
    rate = max(terms.remote_rate, terms.onsite_rate) * terms.after_hours_multiplier
    rate_field = f"{where}.{'onsite_rate' if terms.onsite_rate >= terms.remote_rate else 'remote_rate'}"
    minimum = max(terms.minimum_remote_hours, terms.minimum_onsite_hours)
    extra = minimum + terms.billing_increment_hours
    hours = sum(k.jobs * (k.effort_expected * x.effort_factor + extra) for k in x.kinds)
    markup = 1 + terms.parts_markup
    largest = (x.largest_effort + extra) * max(rate, x.hour_cost) + x.largest_parts * markup
    return [
        (hours * rate, rate_field, f"the labour billed ({hours:.3g} h at up to {rate:g} an hour)"),
        (x.jobs * terms.trip_charge, f"{where}.trip_charge", f"the trip charges ({x.jobs:.3g} jobs)"),
        (x.parts * markup, f"{where}.parts_markup", "the parts billed"),
        (
            largest,
            x.largest_effort_field,
            f"the largest single job ({x.largest_effort:.3g} h, the largest effort a draw gives)",
        ),
    ]


def describe_tm(terms: TmTerms, words: Words) -> str:
    """T&M terms in words: rates, billing steps, minimums, trip charge, parts, after-hours premium."""
    money = words.money
    text = (
        f"{money(terms.remote_rate)}/h remote, {money(terms.onsite_rate)}/h on site, billed in "
        f"{terms.billing_increment_hours:g} h steps"
    )
    minimums = [
        f"{words.hours(h)} {where}"
        for h, where in ((terms.minimum_remote_hours, "remote"), (terms.minimum_onsite_hours, "on site"))
        if h
    ]
    if minimums:
        text += f" (minimum {words.join(minimums)})"
    if terms.trip_charge:
        text += f", {money(terms.trip_charge)} per trip"
    text += f", parts at cost + {words.pct(terms.parts_markup)}" if terms.parts_markup else ", parts at cost"
    if terms.after_hours_multiplier != 1:
        text += f"; after hours ×{terms.after_hours_multiplier:g}"
    return text


def describe_policy(policy: Policy) -> str:
    """The provider's levers in words: staff, prevention, monitoring, thoroughness."""
    techs = f"{policy.technicians} technician{'s' if policy.technicians != 1 else ''}"
    prevention = (
        f"{policy.prevention_hours_per_endpoint_month:g} h of prevention per endpoint-month"
        if policy.prevention_hours_per_endpoint_month
        else "no prevention"
    )
    monitoring = "monitoring on" if policy.monitoring else "no monitoring"
    thorough = "" if policy.thoroughness == 1 else f", fixes {policy.thoroughness:g}× as thorough as usual"
    return f"The provider staffs {techs}, with {prevention} and {monitoring}{thorough}."
