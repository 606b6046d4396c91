"""Billing as functions of a contract: what it invoices and credits, each client's monthly fee, the SLA outcome of
each ticket (DESIGN.md §3). Each contract kind bills itself; these are the calls the rest of the package makes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simulator.base.records import BillingContext, PreventionLog, TicketLog

from .base import ContractKind
from .ledger import Ledger
from .lines import LineBlock, billable_hours, tm_labour

__all__ = [
    "LineBlock",
    "bill",
    "bill_credit_levels",
    "billable_hours",
    "monthly_fee",
    "sla_outcomes",
    "tm_labour",
]


def bill(contract: ContractKind, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
    """Every line the client is invoiced, and every credit, under one contract."""
    return contract.bill(log, prevention, ctx)


def bill_credit_levels(
    contract: ContractKind,
    levels: Sequence[ContractKind],
    log: TicketLog,
    prevention: PreventionLog,
    ctx: BillingContext,
) -> list[Ledger]:
    """The bills of one log under ``levels``, ``contract`` re-priced with other SLA credit schemes, in order (the
    lines credits do not change worked out once where the kind can)."""
    return contract.bill_credit_levels(log, prevention, ctx, levels)


def monthly_fee(contract: ContractKind, ctx: BillingContext) -> np.ndarray:
    """Each client's monthly fee [currency/month]."""
    return contract.monthly_fee(ctx)


def sla_outcomes(contract: ContractKind, log: TicketLog, ctx: BillingContext) -> dict[str, np.ndarray]:
    """Response and resolution of each ticket on the SLA clock, and whether it breached (NaN/False off-ticket)."""
    outcomes = contract.sla_outcomes(log, ctx)
    if outcomes is None:
        raise ValueError(f"contract '{contract.name}' has no SLA")
    return outcomes
