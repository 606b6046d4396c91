"""Service levels and what a missed one costs the provider: response and resolution targets per priority, the
three credit schemes (per breach, monthly compliance tiers, per downtime hour) and their cap (DESIGN.md §3).

Each scheme computes its own monthly credit from the month's tickets, breaches and downtime
(:class:`SlaMonth`), says what it can cost at most (for the money limit) and describes itself in words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from simulator.base.limits import MONEY, SLA_HOURS
from simulator.base.records import BillingContext, Handling, TicketLog

from .base import ContractModel, Words
from .lines import category_names

__all__ = [
    "PRIORITIES",
    "ComplianceTier",
    "ComplianceTiers",
    "CreditScheme",
    "PerBreach",
    "PerDowntimeHour",
    "SlaMonth",
    "SlaTarget",
    "SlaTerms",
    "sla_outcomes",
]

PRIORITIES = ("P1", "P2", "P3", "P4")


class SlaTarget(ContractModel):
    """Response and resolution targets for one priority."""

    response_hours: float = Field(gt=0, le=SLA_HOURS)
    """Ticket created to technician starts [hours, on the SLA clock]."""
    resolution_hours: float = Field(gt=0, le=SLA_HOURS)
    """Ticket created to resolved [hours, on the SLA clock]."""

    @model_validator(mode="after")
    def _order(self) -> SlaTarget:
        if self.resolution_hours < self.response_hours:
            raise ValueError("resolution_hours must be at least response_hours")
        return self


@dataclass(frozen=True)
class SlaMonth:
    """One contract's SLA results per client and month, each of shape (clients, months)."""

    tickets: np.ndarray
    """In-scope tickets [count]."""
    breaches: np.ndarray
    """In-scope tickets that missed a target [count]."""
    downtime_user_hours: np.ndarray
    """Blocked user-hours of the in-scope tickets [user-hours]."""
    fee: np.ndarray
    """The month's fee [currency]."""


class PerBreach(ContractModel):
    """A credit for every ticket that misses its response or resolution target."""

    whole_fee: ClassVar[bool] = False

    kind: Literal["per_breach"]
    amount: float = Field(0.0, ge=0, le=MONEY)
    """Credit per breached ticket [currency]."""
    percent_of_fee: float = Field(0.0, ge=0, le=1)
    """Credit per breached ticket as a share of the month's fee [share]."""

    def credit(self, month: SlaMonth) -> np.ndarray:
        """The month's credit before the cap [currency]."""
        return month.breaches * (self.amount + self.percent_of_fee * month.fee)

    def per_breach(self, fee: float) -> float:
        """Credit for one breach in a month with this fee [currency]."""
        return self.amount + self.percent_of_fee * fee

    def per_user_hour(self) -> float:
        """Credit for one blocked user-hour [currency]."""
        return 0.0

    def describe(self, words: Words) -> str:
        """The scheme in words."""
        parts = [words.money(self.amount)] if self.amount else []
        parts += [f"{words.pct(self.percent_of_fee)} of the month's fee"] if self.percent_of_fee else []
        return f"a credit of {' + '.join(parts) or words.money(0)} per ticket that misses a target"


class ComplianceTier(ContractModel):
    """One step of a compliance-tier scheme."""

    below: float = Field(gt=0, le=1)
    """Monthly compliance (share of tickets meeting both targets) below which this tier applies [share]."""
    percent_of_fee: float = Field(ge=0, le=1)
    """Credit as a share of the month's fee [share]."""


class ComplianceTiers(ContractModel):
    """Monthly compliance tiers: the lowest threshold the month falls below sets the credit."""

    whole_fee: ClassVar[bool] = True

    kind: Literal["compliance_tiers"]
    tiers: list[ComplianceTier] = Field(min_length=1)
    """Tiers; the month gets the credit of the lowest ``below`` its compliance is under."""

    def credit(self, month: SlaMonth) -> np.ndarray:
        """The month's credit before the cap [currency]."""
        total = month.tickets
        met = total - month.breaches
        compliance = np.divide(met, total, out=np.ones(total.shape), where=total > 0)
        pct = np.zeros(total.shape)
        # The lowest threshold the month falls below sets the credit: apply tiers from the highest threshold down.
        for tier in sorted(self.tiers, key=lambda t: t.below, reverse=True):
            pct = np.where(compliance < tier.below, tier.percent_of_fee, pct)
        return pct * month.fee

    def per_breach(self, fee: float) -> float:
        """Credit for one breach in a month with this fee [currency]."""
        return 0.0

    def per_user_hour(self) -> float:
        """Credit for one blocked user-hour [currency]."""
        return 0.0

    def describe(self, words: Words) -> str:
        """The scheme in words."""
        tiers = sorted(self.tiers, key=lambda t: -t.below)
        steps = [f"{words.pct(t.percent_of_fee)} below {words.pct(t.below)}" for t in tiers]
        return f"credits of the month's fee when fewer tickets meet their targets: {words.join(steps)}"


class PerDowntimeHour(ContractModel):
    """A credit for every hour of client downtime, so that fewer incidents mean fewer credits."""

    whole_fee: ClassVar[bool] = False

    kind: Literal["per_downtime_hour"]
    amount_per_user_hour: float = Field(ge=0, le=MONEY)
    """Credit per blocked user-hour of downtime on tickets [currency/user-hour]."""

    def credit(self, month: SlaMonth) -> np.ndarray:
        """The month's credit before the cap [currency]."""
        return month.downtime_user_hours * self.amount_per_user_hour

    def per_breach(self, fee: float) -> float:
        """Credit for one breach in a month with this fee [currency]."""
        return 0.0

    def per_user_hour(self) -> float:
        """Credit for one blocked user-hour [currency]."""
        return self.amount_per_user_hour

    def describe(self, words: Words) -> str:
        """The scheme in words."""
        return f"a credit of {words.money(self.amount_per_user_hour)} per blocked user-hour"


CreditScheme = Annotated[PerBreach | ComplianceTiers | PerDowntimeHour, Field(discriminator="kind")]
"""Any credit scheme, chosen by ``kind``."""


class SlaTerms(ContractModel):
    """Service levels and what the provider owes when it misses them."""

    clock: Literal["business", "clock"] = "business"
    """Whether SLA clocks count business hours only or all hours."""
    targets: dict[Literal["P1", "P2", "P3", "P4"], SlaTarget]
    """Targets per priority; all four are required."""
    credit: CreditScheme | None = None
    """The credit scheme; null for an SLA without credits."""
    cap_percent_of_fee: float | None = Field(None, ge=0, le=1)
    """Monthly credits are capped at this share of the month's fee; null for no cap [share]."""

    @model_validator(mode="after")
    def _all_priorities(self) -> SlaTerms:
        missing = [p for p in PRIORITIES if p not in self.targets]
        if missing:
            raise ValueError(f"targets must give all of P1..P4; missing {missing}")
        return self

    def describe(self, words: Words) -> str:
        """The targets, the clock and the credits in words."""
        shown = "; ".join(
            f"{p} {words.hours(self.targets[p].response_hours)} response, "  # type: ignore[index]
            f"{words.hours(self.targets[p].resolution_hours)} resolution"  # type: ignore[index]
            for p in PRIORITIES
            if p in self.targets
        )
        clock = "business hours" if self.clock == "business" else "round the clock"
        return f"SLA ({clock}): {shown}; {self.describe_credits(words)}"

    def describe_credits(self, words: Words) -> str:
        """The credit scheme and its cap in words."""
        if self.credit is None:
            return "no credits for missed targets"
        text = self.credit.describe(words)
        if self.cap_percent_of_fee is not None:
            text += f", capped at {words.pct(self.cap_percent_of_fee)} of the fee"
        return text


def sla_outcomes(
    terms: SlaTerms, out_of_scope: Sequence[str], log: TicketLog, ctx: BillingContext
) -> dict[str, np.ndarray]:
    """Response and resolution of each ticket on the SLA clock, and whether it breached (NaN/False off-ticket);
    tickets of the ``out_of_scope`` categories are not in scope."""
    ticket = log.handling == Handling.TICKET
    if terms.clock == "business":
        response = ctx.calendar.business_hours_between(log.created, log.started)
        resolution = ctx.calendar.business_hours_between(log.created, log.resolved)
    else:
        response = log.started - log.created
        resolution = log.resolved - log.created
    targets = terms.targets
    resp_t = np.array([np.nan] + [targets[p].response_hours for p in ("P1", "P2", "P3", "P4")])
    res_t = np.array([np.nan] + [targets[p].resolution_hours for p in ("P1", "P2", "P3", "P4")])
    pr = np.clip(log.priority, 1, 4)
    in_scope = ticket & ~np.isin(category_names(log, ctx), list(out_of_scope))
    breach = in_scope & ((response > resp_t[pr] + 1e-9) | (resolution > res_t[pr] + 1e-9))
    return {"in_scope": in_scope, "response": response, "resolution": resolution, "breach": breach}
