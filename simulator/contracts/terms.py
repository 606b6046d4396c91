"""Term pricing of the contracts with a recurring fee (DESIGN.md §3): the term's discount or the month-to-month
premium, the annual escalator, the notice period and the early-termination fee. Pure functions of the billing
context: each client's contract year counts from the first month it is on the contract."""

from __future__ import annotations

import numpy as np
from pydantic import Field, model_validator

from simulator.base.limits import MONTHS
from simulator.base.records import BillingContext

from .base import ContractModel, Words
from .ledger import Account, Party
from .lines import LineBlock

__all__ = [
    "TermPricing",
    "contract_span",
    "contract_start",
    "early_termination_lines",
    "fee_schedule",
    "notice_given",
]


class TermPricing(ContractModel):
    """How long the client commits and what that does to the recurring fee."""

    months: int | None = Field(None, ge=1, le=MONTHS)
    """Term length [months]; it renews for another term at its end. Null: month to month."""
    discount: float = Field(0.0, ge=0, lt=1)
    """Discount on the recurring fee for committing to the term [share]; needs a term."""
    month_to_month_premium: float = Field(0.0, ge=0, le=10)
    """Premium on the recurring fee without a term [share]; only month to month."""
    escalator: float = Field(0.0, ge=-0.5, le=1)
    """Change of the recurring fee at each anniversary of the contract (0.03: +3% a year) [share/year]."""
    notice_months: int = Field(0, ge=0, le=MONTHS)
    """A client who ends the contract is served and billed this many months after deciding to [months]."""
    early_termination_share: float = Field(0.0, ge=0, le=1)
    """Early-termination fee: this share of the recurring fees left in the term when a client ends the contract
    before the term is over [share]; needs a term."""
    charge_on_sla_termination: bool = False
    """Whether a client leaving under the SLA's termination right pays the early-termination fee too (a
    termination for cause usually waives it)."""

    @model_validator(mode="after")
    def _fits_the_term(self) -> TermPricing:
        if self.months is None and (self.discount or self.early_termination_share):
            raise ValueError(
                "a discount or an early-termination fee needs a term: set term.months, or set term.discount and "
                "term.early_termination_share to 0"
            )
        if self.months is not None and self.month_to_month_premium:
            raise ValueError(
                "a month-to-month premium applies only without a term: remove term.months or set "
                "term.month_to_month_premium to 0"
            )
        return self

    @property
    def factor(self) -> float:
        """The recurring fee's factor from the term: 1 − discount, or 1 + the month-to-month premium [factor]."""
        return (1.0 - self.discount) * (1.0 + self.month_to_month_premium)

    def bound(self, horizon: int) -> float:
        """The largest ratio of the recurring fees billed over ``horizon`` months, early-termination fees
        included, to the base fee for as many months (for the money estimate of validation) [factor]."""
        growth = max(1.0, (1.0 + self.escalator) ** ((horizon - 1) // 12))
        early = self.early_termination_share * (self.months or 0) / horizon
        return self.factor * growth * (1.0 + early)

    def describe(self, words: Words) -> str:
        """The term in plain words ('' when month to month without adjustments)."""
        parts = []
        if self.months is not None:
            text = f"a {self.months}-month term"
            if self.discount:
                text += f" at {words.pct(self.discount)} off"
            parts.append(text)
        elif self.month_to_month_premium:
            parts.append(f"month to month at {words.pct(self.month_to_month_premium)} more")
        if self.escalator:
            parts.append(
                f"fees {'up' if self.escalator > 0 else 'down'} {words.pct(abs(self.escalator))} a year"
            )
        if self.notice_months:
            notice = "1 month's" if self.notice_months == 1 else f"{self.notice_months} months'"
            parts.append(f"{notice} notice")
        if self.early_termination_share:
            waived = "" if self.charge_on_sla_termination else ", waived on termination for SLA failure"
            parts.append(
                f"leaving early costs {words.pct(self.early_termination_share)} of the fees left in the term{waived}"
            )
        return words.join(parts)


def notice_given(exits: np.ndarray, term: TermPricing, months: int) -> np.ndarray:
    """Per client, the month at whose end the contract ends when it decided to leave at the end of ``exits``
    (−1: never) and serves its notice; −1 when the notice runs past the horizon."""
    end = exits + term.notice_months
    return np.where((exits >= 0) & (end < months), end, -1).astype(np.int64)


def contract_span(ctx: BillingContext) -> tuple[np.ndarray, np.ndarray]:
    """Per client, the first and the last month it is on the contract (−1 for both when never)."""
    active = np.ones((len(ctx.users), ctx.months), bool) if ctx.active is None else ctx.active
    on = active.any(axis=1)
    first = np.where(on, active.argmax(axis=1), -1)
    last = np.where(on, ctx.months - 1 - active[:, ::-1].argmax(axis=1), -1)
    return first, last


def contract_start(ctx: BillingContext) -> np.ndarray:
    """Per client, the month its contract began: the context's, else its first month on the contract."""
    return (
        contract_span(ctx)[0]
        if ctx.contract_start is None
        else np.asarray(ctx.contract_start, dtype=np.int64)
    )


def fee_schedule(term: TermPricing, base: np.ndarray, ctx: BillingContext) -> np.ndarray:
    """Each client's recurring fee in each month it is on the contract, shape (clients, months): ``base`` (per
    client) times the term's factor and the escalator compounded at each anniversary of the contract's start."""
    first = contract_start(ctx)
    active = np.ones((len(base), ctx.months), bool) if ctx.active is None else ctx.active
    years = np.maximum(np.arange(ctx.months)[None, :] - first[:, None], 0) // 12
    growth = (1.0 + term.escalator) ** years
    return np.asarray(base, dtype=float)[:, None] * term.factor * growth * active


def early_termination_lines(
    term: TermPricing, base: np.ndarray, ctx: BillingContext, for_cause: np.ndarray | None = None
) -> list[LineBlock]:
    """The early-termination fee of every client whose contract ends before its term is over, in its last month:
    the share of the recurring fees left in the term (escalated as they would have been; the term counts from the
    contract's start). A contract ends when the client is not on it after its last month within the horizon;
    ``for_cause`` marks clients who left under the SLA's termination right (waived unless the terms say
    otherwise)."""
    if term.months is None or not term.early_termination_share:
        return []
    on, last = contract_span(ctx)
    served = last - contract_start(ctx) + 1
    left = (term.months - served % term.months) % term.months
    ends = (on >= 0) & (last < ctx.months - 1) & (left > 0)
    if for_cause is not None and not term.charge_on_sla_termination:
        ends &= ~for_cause
    if not ends.any():
        return []
    clients = np.flatnonzero(ends)
    amount = np.zeros(len(clients))
    for i, c in enumerate(clients):
        months = np.arange(served[c], served[c] + left[c])
        amount[i] = (base[c] * term.factor * (1.0 + term.escalator) ** (months // 12)).sum()
    amount *= term.early_termination_share
    return [(last[clients], clients, Party.PROVIDER, Account.EARLY_TERMINATION, amount, None)]
