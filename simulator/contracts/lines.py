"""The building blocks every contract kind bills with: billable hours, T&M labour, ledger blocks of invoice lines,
the T&M part of the money estimate and of the plain-words terms (DESIGN.md §3). Pure and vectorised: arrays for
the whole log in, ledger blocks out; amounts are rounded to cents per line by the ledger."""

from __future__ import annotations

import numpy as np

from simulator.base.calendar import HOURS_PER_WEEK
from simulator.base.records import BillingContext, TicketLog

from .base import Exposure, Policy, Term, TmTerms, Words
from .ledger import Account, LineBlock, Party, Unit

__all__ = [
    "WORK_TYPES",
    "LineBlock",
    "billable_hours",
    "card_rates",
    "category_names",
    "client_lines",
    "describe_policy",
    "describe_tm",
    "hourly_rate",
    "tm_expected_charge",
    "tm_hours",
    "tm_labour",
    "tm_lines",
    "tm_money_terms",
    "work_types",
]


def billable_hours(hours: np.ndarray, increment: float, minimum: np.ndarray | float) -> np.ndarray:
    """Hours rounded up to the billing increment, at least the minimum [hours].

    A tiny tolerance keeps 0.5000000001 h (floating-point noise) from becoming 0.75 h.
    """
    units = np.ceil(np.asarray(hours) / increment - 1e-9)
    return np.maximum(units * increment, minimum)


def tm_labour(
    terms: TmTerms,
    work_hours: np.ndarray,
    onsite: np.ndarray,
    after_hours: np.ndarray,
    card_rate: np.ndarray | None = None,
) -> np.ndarray:
    """Labour charge of each job under T&M terms: billable hours × its hourly rate [currency]. The rate is the
    job's rate-card rate where ``card_rate`` gives one (not NaN), else the remote or on-site rate times the
    after-hours multiplier."""
    return tm_hours(terms, work_hours, onsite) * hourly_rate(terms, onsite, after_hours, card_rate)


def tm_hours(terms: TmTerms, work_hours: np.ndarray, onsite: np.ndarray) -> np.ndarray:
    """Billable hours of each job under T&M terms: rounded up to the billing increment, at least the remote or
    on-site minimum [hours]."""
    minimum = np.where(onsite, terms.minimum_onsite_hours, terms.minimum_remote_hours)
    return billable_hours(work_hours, terms.billing_increment_hours, minimum)


def hourly_rate(
    terms: TmTerms, onsite: np.ndarray, after_hours: np.ndarray, card_rate: np.ndarray | None = None
) -> np.ndarray:
    """Each job's hourly rate: its rate-card rate where ``card_rate`` gives one, else the remote or on-site rate
    times the after-hours multiplier [currency/hour]."""
    rate = np.where(onsite, terms.onsite_rate, terms.remote_rate)
    base = rate * np.where(after_hours, terms.after_hours_multiplier, 1.0)
    return base if card_rate is None else np.where(np.isnan(card_rate), base, card_rate)


WORK_TYPES = ("remote", "on site", "emergency", "weekend", "after hours", "project")
"""Work types of a job, by code: the base rates' (0, 1), then the rate card's."""


def work_types(terms: TmTerms, log: TicketLog, mask: np.ndarray, ctx: BillingContext) -> np.ndarray:
    """Each job's work type (an index of :data:`WORK_TYPES`): the first of the rate card's work types that applies
    to it and has a rate (emergency, weekend, after hours, project), else remote or on site."""
    kind = log.onsite[mask].astype(np.int8)
    card = terms.rate_card
    if card is None:
        return kind
    applies = {
        "emergency": np.isin(log.priority[mask], [int(p[1]) for p in card.emergency_priorities]),
        "weekend": np.nan_to_num(log.started[mask]) % HOURS_PER_WEEK >= 5 * 24.0,
        "after hours": log.after_hours[mask],
        "project": np.isin(category_names(log, ctx)[mask], card.project_categories),
    }
    chosen = np.zeros(len(kind), bool)
    for name, _ in card.rates():
        here = applies[name] & ~chosen
        kind[here] = WORK_TYPES.index(name)
        chosen |= here
    return kind


def card_rates(terms: TmTerms, log: TicketLog, mask: np.ndarray, ctx: BillingContext) -> np.ndarray | None:
    """Each job's rate-card rate, NaN where the card gives none (the base rates apply); None without a card."""
    card = terms.rate_card
    if card is None:
        return None
    table = np.full(len(WORK_TYPES), np.nan)
    for name, rate in card.rates():
        table[WORK_TYPES.index(name)] = rate
    return table[work_types(terms, log, mask, ctx)]


def client_lines(
    log: TicketLog,
    mask: np.ndarray,
    account: int,
    amount: np.ndarray,
    quantity: np.ndarray | float | None = None,
    unit: int = Unit.NONE,
) -> LineBlock:
    """Lines the clients of the tickets in ``mask`` pay the provider, one per ticket, with the quantity each is
    for (in ``unit``; None: none)."""
    return (
        log.month[mask],
        log.client[mask],
        Party.PROVIDER,
        account,
        amount,
        log.incident[mask],
        quantity,
        unit,
    )


def tm_lines(
    terms: TmTerms, log: TicketLog, mask: np.ndarray, ctx: BillingContext, parts: bool = True
) -> list[LineBlock]:
    """Labour (at the rate card's rates, if any), trip and (optionally) parts lines for the tickets in ``mask``."""
    lines = [
        client_lines(
            log,
            mask,
            Account.LABOUR,
            tm_labour(
                terms,
                log.work_hours[mask],
                log.onsite[mask],
                log.after_hours[mask],
                card_rates(terms, log, mask, ctx),
            ),
            tm_hours(terms, log.work_hours[mask], log.onsite[mask]),
            Unit.HOUR,
        ),
        client_lines(
            log, mask, Account.TRIP, np.where(log.onsite[mask], terms.trip_charge, 0.0), 1.0, Unit.TRIP
        ),
    ]
    if parts:
        lines.append(client_lines(log, mask, Account.PARTS, log.parts_cost[mask] * (1 + terms.parts_markup)))
    return lines


def tm_expected_charge(
    terms: TmTerms,
    category: str,
    effort_hours_mean: float,
    onsite_share: float,
    remote: bool = True,
    onsite: bool = True,
) -> float:
    """The expected charge of one job of ``category`` under T&M terms, as the client reckons it before calling
    [currency]: billable hours at the business-hours rate (the rate card's project rate for its project
    categories, else the remote or on-site rate) plus the trip charge, for a remote job with probability
    1 − ``onsite_share`` and an on-site one with ``onsite_share``; ``remote``/``onsite`` False leaves that kind of
    job out (it costs nothing per call). Billable hours are approximated as the expected effort plus half a
    billing increment (rounding up adds half a step on average), at least the minimum; after-hours, weekend and
    emergency premiums and parts are left out."""
    hours = effort_hours_mean + terms.billing_increment_hours / 2
    remote_rate, onsite_rate = terms.remote_rate, terms.onsite_rate
    card = terms.rate_card
    if card is not None and card.project is not None and category in card.project_categories:
        remote_rate = onsite_rate = card.project
    charge = 0.0
    if remote:
        charge += (1.0 - onsite_share) * remote_rate * max(hours, terms.minimum_remote_hours)
    if onsite:
        charge += onsite_share * (onsite_rate * max(hours, terms.minimum_onsite_hours) + terms.trip_charge)
    return float(charge)


def category_names(log: TicketLog, ctx: BillingContext) -> np.ndarray:
    """The category name of every ticket (``major`` for major incidents)."""
    return np.asarray(ctx.category_names, dtype=object)[log.category]


def tm_money_terms(terms: TmTerms, where: str, x: Exposure) -> list[Term]:
    """T&M billing of every job at the larger rate and the after-hours multiplier, and of the largest job."""
    rates = [
        (
            max(terms.remote_rate, terms.onsite_rate) * terms.after_hours_multiplier,
            f"{where}.{'onsite_rate' if terms.onsite_rate >= terms.remote_rate else 'remote_rate'}",
        ),
    ]
    if terms.rate_card is not None:
        rates += [(r, f"{where}.rate_card.{n.replace(' ', '_')}") for n, r in terms.rate_card.rates()]
    rate, rate_field = max(rates)
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
    if terms.rate_card is not None and terms.rate_card.rates():
        card = terms.rate_card
        named = {
            "emergency": f"emergency ({'/'.join(card.emergency_priorities)})",
            "project": f"project ({words.join(card.project_categories) or 'no category'})",
        }
        text += "; rate card: " + ", ".join(f"{named.get(n, n)} {money(r)}/h" for n, r in card.rates())
    return text


def describe_policy(policy: Policy, words: Words | None = None) -> str:
    """The provider's levers in words: staff, prevention, monitoring, thoroughness, and the security stack (what
    it bundles, when ``words`` can say)."""
    techs = f"{policy.technicians} technician{'s' if policy.technicians != 1 else ''}"
    prevention = (
        f"{policy.prevention_hours_per_endpoint_month:g} h of prevention per endpoint-month"
        if policy.prevention_hours_per_endpoint_month
        else "no prevention"
    )
    monitoring = "monitoring on" if policy.monitoring else "no monitoring"
    thorough = "" if policy.thoroughness == 1 else f", fixes {policy.thoroughness:g}× as thorough as usual"
    text = f"The provider staffs {techs}, with {prevention} and {monitoring}{thorough}"
    stack = policy.security_stack
    if stack is not None:
        bundle = words.security_stack(stack) if words is not None else ""
        text += f"; it runs the security stack {stack}" + (f" ({bundle})" if bundle else "")
    return text + "."
