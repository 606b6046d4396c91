"""Invoices: a contract's bill as the lines a client reads, one per billed item, per client and month.

Pure and vectorised: a ledger (any contract kind's bill; cost lines are ignored) and the ticket log in, one row
per client-facing line out. Amounts come from the ledger's whole cents, so an invoice adds up to what the client
paid to the cent (:meth:`~.ledger.Ledger.payments_by_client_month`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.base.records import BillingContext, TicketLog

from .ledger import Account, Ledger, Party, Unit, to_cents

__all__ = ["INVOICE_COLUMNS", "ITEMS", "invoice_lines", "invoice_totals", "item_name"]

INVOICE_COLUMNS = (
    "contract",
    "client",
    "month",
    "line",
    "item",
    "incident",
    "category",
    "quantity",
    "unit",
    "unit_price",
    "amount",
)
"""The columns of :func:`invoice_lines`, in order."""

ITEMS: dict[str, str] = {
    "labour": "Labour",
    "trip": "Trip charge",
    "parts": "Parts",
    "menu": "Fixed price",
    "overrun": "Labour beyond the fixed price",
    "prevention": "Preventive maintenance",
    "fee": "Monthly fee",
    "onboarding": "Onboarding",
    "sla_credit": "SLA credit",
    "block_hours": "Block of prepaid hours",
    "overage": "Hours beyond the block",
    "target_cost": "Target cost",
    "cost_share": "Cost share",
    "early_termination": "Early-termination fee",
    "block_drawn": "Hours from the block",
}
"""The invoice wording of each account, by its label in :attr:`Account.LABELS`; others read as their label."""

_TICKET_ORDER = ("menu", "block_drawn", "labour", "overage", "overrun", "trip", "parts")
"""The order of a ticket's lines on the invoice: the price of the job, then the work, trips and parts; accounts not
named here follow, by code."""


def item_name(label: str) -> str:
    """The invoice wording of an account label: its entry in :data:`ITEMS`, else the label in plain words
    (``block_overage`` → ``Block overage``)."""
    return ITEMS.get(label) or label.replace("_", " ").strip().capitalize()


def invoice_lines(ledger: Ledger, log: TicketLog, ctx: BillingContext, contract_name: str) -> pd.DataFrame:
    """One row per line of each client's monthly invoice under one contract (columns :data:`INVOICE_COLUMNS`).

    What a client pays the provider is a charge, what the provider pays a client (an SLA credit) a negative
    amount; the provider's costs are not invoice lines. The invoice of a client and month lists the lines not about
    one ticket (fees, onboarding, prevention) first, then each ticket's lines by incident, then the credits;
    ``line`` numbers them from 1. ``category`` is the ticket's incident category (empty for a line not about one),
    ``quantity`` and ``unit`` what the line is for (2.25 h, 1 trip, 25 user-months; NaN and empty where the
    ledger has none) and ``unit_price`` the amount per unit, rounded to the cent [currency]. ``amount`` is the
    line's whole cents in currency.
    """
    charge = (ledger.payer >= 0) & (ledger.payee == Party.PROVIDER)
    credit = (ledger.payer == Party.PROVIDER) & (ledger.payee >= 0)
    keep = charge | credit
    client = np.where(charge, ledger.payer, ledger.payee)[keep]
    month = ledger.month[keep]
    account = ledger.account[keep].astype(np.int64)
    incident = ledger.incident[keep]
    cents = np.where(charge, ledger.cents, -ledger.cents)[keep]
    quantity = ledger.quantity[keep].astype(np.float64)
    unit = ledger.unit[keep].astype(np.int64)
    is_credit = credit[keep]

    row = _log_rows(log, incident)
    about = row >= 0
    names = np.asarray(ctx.category_names, dtype=object)
    category = np.full(len(row), "", dtype=object)
    category[about] = names[log.category[row[about]]]

    labels = tuple(Account.LABELS)
    item = np.asarray([item_name(label) for label in labels], dtype=object)[account]
    labour = about & (account == Account.LABOUR)
    item[labour] = np.where(log.onsite[row[labour]], "On-site labour", "Remote labour")
    menu = about & (account == Account.MENU)
    item[menu] = [f"{ITEMS['menu']}: {c}" for c in category[menu]]

    group = np.where(is_credit, 2, np.where(incident >= 0, 1, 0))
    rank = np.asarray(
        [_TICKET_ORDER.index(label) if label in _TICKET_ORDER else len(_TICKET_ORDER) for label in labels]
    )[account]
    order = np.lexsort((account, rank, incident, group, month, client))

    given = np.isfinite(quantity)
    priced = given & (quantity > 0)
    unit_price = np.full(len(cents), np.nan)
    unit_price[priced] = to_cents(cents[priced] / 100.0 / quantity[priced]) / 100.0
    frame = pd.DataFrame(
        {
            "contract": contract_name,
            "client": client[order].astype(np.int64),
            "month": month[order].astype(np.int64),
            "line": np.zeros(len(order), dtype=np.int64),
            "item": item[order],
            "incident": incident[order].astype(np.int64),
            "category": category[order],
            "quantity": quantity[order],
            "unit": np.asarray(Unit.LABELS, dtype=object)[np.where(given, unit, Unit.NONE)][order],
            "unit_price": unit_price[order],
            "amount": cents[order] / 100.0,
        },
        columns=list(INVOICE_COLUMNS),
    )
    frame["line"] = frame.groupby(["client", "month"], sort=False).cumcount().to_numpy(dtype=np.int64) + 1
    return frame


def _log_rows(log: TicketLog, incident: np.ndarray) -> np.ndarray:
    """The log row of each incident id, −1 for −1 (a line not about one incident) or an id not in the log."""
    if not len(log.incident):
        return np.full(len(incident), -1, dtype=np.int64)
    order = np.argsort(log.incident, kind="stable")
    ids = log.incident[order]
    at = np.minimum(np.searchsorted(ids, incident), len(ids) - 1)
    return np.where((incident >= 0) & (ids[at] == incident), order[at], -1)


def invoice_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """What each invoice comes to: ``contract, client, month, total`` [currency], summed in whole cents, in the
    order of ``lines``."""
    cents = lines.assign(cents=to_cents(lines["amount"].to_numpy(dtype=float)))
    totals = cents.groupby(["contract", "client", "month"], sort=False)["cents"].sum().reset_index()
    return totals.assign(total=totals.pop("cents") / 100.0)
