"""Pure, vectorised pricing: a contract turns the ticket log and the months into ledger entries (DESIGN.md §3).

Nothing here draws random numbers or touches a simulation clock. Every function takes arrays for the whole log
and returns ledger blocks; amounts are rounded to cents per line.
"""

from __future__ import annotations

import numpy as np

from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog

from .ledger import Account, Ledger, Party, to_cents
from .terms import FixedPrice, Managed, TimeAndMaterials, TmTerms

__all__ = ["LineBlock", "bill", "billable_hours", "monthly_fee", "sla_outcomes", "tm_labour"]

LineBlock = tuple[np.ndarray, int | np.ndarray, int | np.ndarray, int, np.ndarray, np.ndarray | None]


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


def _client_lines(log: TicketLog, mask: np.ndarray, account: int, amount: np.ndarray) -> LineBlock:
    return (log.month[mask], log.client[mask], Party.PROVIDER, account, amount, log.incident[mask])


def _tm_lines(terms: TmTerms, log: TicketLog, mask: np.ndarray, parts: bool = True) -> list[LineBlock]:
    """Labour, trip and (optionally) parts lines for the tickets in ``mask``."""
    lines = [
        _client_lines(
            log,
            mask,
            Account.LABOUR,
            tm_labour(terms, log.work_hours[mask], log.onsite[mask], log.after_hours[mask]),
        ),
        _client_lines(log, mask, Account.TRIP, np.where(log.onsite[mask], terms.trip_charge, 0.0)),
    ]
    if parts:
        lines.append(_client_lines(log, mask, Account.PARTS, log.parts_cost[mask] * (1 + terms.parts_markup)))
    return lines


def monthly_fee(contract: Managed, ctx: BillingContext) -> np.ndarray:
    """Each client's monthly fee [currency/month]."""
    return np.asarray(contract.fee_per_client_month(ctx.users, ctx.endpoints, ctx.servers))


def sla_outcomes(contract: Managed, log: TicketLog, ctx: BillingContext) -> dict[str, np.ndarray]:
    """Response and resolution of each ticket on the SLA clock, and whether it breached (NaN/False off-ticket)."""
    ticket = log.handling == Handling.TICKET
    if contract.sla.clock == "business":
        response = ctx.calendar.business_hours_between(log.created, log.started)
        resolution = ctx.calendar.business_hours_between(log.created, log.resolved)
    else:
        response = log.started - log.created
        resolution = log.resolved - log.created
    targets = contract.sla.targets
    resp_t = np.array([np.nan] + [targets[p].response_hours for p in ("P1", "P2", "P3", "P4")])
    res_t = np.array([np.nan] + [targets[p].resolution_hours for p in ("P1", "P2", "P3", "P4")])
    pr = np.clip(log.priority, 1, 4)
    in_scope = ticket & ~np.isin(_category_names(log, ctx), contract.out_of_scope_categories)
    breach = in_scope & ((response > resp_t[pr] + 1e-9) | (resolution > res_t[pr] + 1e-9))
    return {"in_scope": in_scope, "response": response, "resolution": resolution, "breach": breach}


def _category_names(log: TicketLog, ctx: BillingContext) -> np.ndarray:
    return np.asarray(ctx.category_names, dtype=object)[log.category]


def _credits(contract: Managed, log: TicketLog, ctx: BillingContext, fee: np.ndarray) -> np.ndarray:
    """SLA credit per client and month, after the cap [currency]; shape (clients, months)."""
    shape = (len(fee), ctx.months)
    scheme = contract.sla.credit
    credit: np.ndarray = np.zeros(shape)
    if scheme is None:
        return credit
    sla = sla_outcomes(contract, log, ctx)
    flat = log.client * ctx.months + log.month
    size = shape[0] * shape[1]
    fee_cm = np.repeat(fee[:, None], ctx.months, axis=1)
    if scheme.kind == "per_breach":
        breaches = np.bincount(flat[sla["breach"]], minlength=size).reshape(shape)
        credit = breaches * (scheme.amount + scheme.percent_of_fee * fee_cm)
    elif scheme.kind == "compliance_tiers":
        total = np.bincount(flat[sla["in_scope"]], minlength=size).reshape(shape)
        met = total - np.bincount(flat[sla["breach"]], minlength=size).reshape(shape)
        compliance = np.divide(met, total, out=np.ones(shape), where=total > 0)
        pct = np.zeros(shape)
        # The lowest threshold the month falls below sets the credit: apply tiers from the highest threshold down.
        for tier in sorted(scheme.tiers, key=lambda t: t.below, reverse=True):
            pct = np.where(compliance < tier.below, tier.percent_of_fee, pct)
        credit = pct * fee_cm
    else:  # per_downtime_hour
        hours = np.bincount(
            flat[sla["in_scope"]], weights=log.downtime_user_hours[sla["in_scope"]], minlength=size
        )
        credit = hours.reshape(shape) * scheme.amount_per_user_hour
    if contract.sla.cap_percent_of_fee is not None:
        # Capped in whole cents, as posted: the cap is the share of the fee's cents rounded down (a few ulps of
        # float noise do not lose a cent), the credit is rounded as the ledger rounds it, then the smaller.
        cap = contract.sla.cap_percent_of_fee * to_cents(fee_cm)
        cap_cents = np.floor(cap + 4 * np.spacing(cap))
        credit = np.minimum(to_cents(credit), cap_cents) / 100.0
    return credit


def bill(
    contract: TimeAndMaterials | FixedPrice | Managed,
    log: TicketLog,
    prevention: PreventionLog,
    ctx: BillingContext,
) -> Ledger:
    """Every line the client is invoiced, and every credit, under one contract."""
    ticket = log.handling == Handling.TICKET
    lines: list[LineBlock] = []
    if isinstance(contract, TimeAndMaterials):
        lines += _tm_lines(contract, log, ticket)
        if contract.bill_prevention and len(prevention.hours):
            amount = (
                billable_hours(prevention.hours, contract.billing_increment_hours, 0.0) * contract.remote_rate
            )
            lines.append(
                (prevention.month, prevention.client, Party.PROVIDER, Account.PREVENTION, amount, None)
            )
    elif isinstance(contract, FixedPrice):
        names = _category_names(log, ctx)
        on_menu = ticket & np.isin(names, list(contract.menu))
        warranty = (
            on_menu & log.recurrence & (log.created - log.parent_resolved <= contract.warranty_days * 24.0)
        )
        menu = on_menu & ~warranty
        lines += _tm_lines(contract.fallback, log, ticket & ~on_menu)
        price = np.array([contract.menu[str(n)] for n in names[menu]], dtype=float)
        lines.append(_client_lines(log, menu, Account.MENU, price))
        lines.append(
            _client_lines(log, menu, Account.TRIP, np.where(log.onsite[menu], contract.trip_charge, 0.0))
        )
        if contract.labour_cap_hours is not None and contract.overrun == "billed":
            over = np.maximum(log.work_hours[menu] - contract.labour_cap_hours, 0.0)
            terms = contract.fallback
            rate = np.where(log.onsite[menu], terms.onsite_rate, terms.remote_rate)
            mult = np.where(log.after_hours[menu], terms.after_hours_multiplier, 1.0)
            amount = billable_hours(over, terms.billing_increment_hours, 0.0) * rate * mult
            lines.append(_client_lines(log, menu, Account.OVERRUN, amount))
        if contract.parts == "billed":
            lines.append(
                _client_lines(
                    log, menu, Account.PARTS, log.parts_cost[menu] * (1 + contract.fallback.parts_markup)
                )
            )
    else:
        names = _category_names(log, ctx)
        out = ticket & np.isin(names, contract.out_of_scope_categories)
        inside = ticket & ~out
        lines += _tm_lines(contract.out_of_scope, log, out)
        inc = contract.includes
        excluded = inside & np.where(log.onsite, not inc.onsite, not inc.remote)
        lines += _tm_lines(contract.out_of_scope, log, excluded, parts=False)
        if not inc.parts:
            lines.append(
                _client_lines(
                    log,
                    inside,
                    Account.PARTS,
                    log.parts_cost[inside] * (1 + contract.out_of_scope.parts_markup),
                )
            )
        fee = monthly_fee(contract, ctx)
        n_clients = len(fee)
        months = np.tile(np.arange(ctx.months), n_clients)
        clients = np.repeat(np.arange(n_clients), ctx.months)
        active = np.ones((n_clients, ctx.months), bool) if ctx.active is None else ctx.active
        fees = np.repeat(fee, ctx.months) * active.ravel()
        lines.append((months, clients, Party.PROVIDER, Account.FEE, fees, None))
        due = np.zeros(n_clients, dtype=np.int64) if ctx.onboarding_month is None else ctx.onboarding_month
        onboarding = np.where(due >= 0, contract.onboarding_fee, 0.0)
        lines.append(
            (np.maximum(due, 0), np.arange(n_clients), Party.PROVIDER, Account.ONBOARDING, onboarding, None)
        )
        credit = _credits(contract, log, ctx, fee) * active
        lines.append((months, Party.PROVIDER, clients, Account.SLA_CREDIT, credit.ravel(), None))
    return Ledger.build(lines)
