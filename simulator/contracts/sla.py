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

from simulator.base.limits import MONEY, MONTHS, SLA_HOURS
from simulator.base.memo import remembered
from simulator.base.records import BillingContext, Handling, TicketLog, by_client_month

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
    "Termination",
    "monthly_compliance",
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
        compliance = share_met(month.tickets, month.breaches)
        pct = np.zeros(compliance.shape)
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


class Termination(ContractModel):
    """The client's right to end the contract when service stays poor: when monthly compliance is below ``below``
    in ``months`` of the last ``within`` months (``within`` null: ``months`` in a row), the client leaves at the end
    of that month; fees and credits stop from the next."""

    below: float = Field(gt=0, le=1)
    """Monthly compliance (share of in-scope tickets meeting both targets) below which a month counts [share]."""
    months: int = Field(3, ge=1, le=MONTHS)
    """Months below it that end the contract [months]."""
    within: int | None = Field(None, ge=1, le=MONTHS)
    """... within this many most recent months; null: in a row [months]."""
    recurrences_count: bool = True
    """A recurrence (a fix that did not hold) counts as a ticket that missed its targets."""

    @model_validator(mode="after")
    def _window(self) -> Termination:
        if self.within is not None and self.within < self.months:
            raise ValueError(
                f"within ({self.within}) must be at least months ({self.months}): "
                f"{self.months} poor months cannot fit in {self.within}"
            )
        return self

    def exit_month(self, compliance: np.ndarray, start: int = 0) -> np.ndarray:
        """Per client, the month at whose end the right ends the contract, counting months from ``start`` on; −1
        when it never does. ``compliance`` has shape (clients, months)."""
        poor = compliance[:, start:] < self.below
        window = self.within or self.months
        # Poor months among the last `window` months, at the end of each month: a running sum over a sliding window.
        counts = np.cumsum(poor, axis=1)
        lagged = np.concatenate([np.zeros((len(poor), window), dtype=counts.dtype), counts], axis=1)[
            :, : counts.shape[1]
        ]
        hit = (counts - lagged) >= self.months
        first = np.where(hit.any(axis=1), hit.argmax(axis=1) + start, -1)
        return first.astype(np.int64)

    def describe(self, words: Words) -> str:
        """The right in words."""
        span = "in a row" if self.within is None else f"of any {self.within}"
        what = (
            "tickets meeting their targets, recurrences counted as missed"
            if self.recurrences_count
            else ("tickets meeting their targets")
        )
        return (
            f"the client may end the contract after {self.months} months {span} with under "
            f"{words.pct(self.below)} of {what}"
        )


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
    termination: Termination | None = None
    """The client's right to leave when compliance stays low; null: none (the contract runs its term)."""

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
        text = f"SLA ({clock}): {shown}; {self.describe_credits(words)}"
        if self.termination is not None:
            text += f"; {self.termination.describe(words)}"
        return text

    def describe_credits(self, words: Words) -> str:
        """The credit scheme and its cap in words."""
        if self.credit is None:
            return "no credits for missed targets"
        text = self.credit.describe(words)
        if self.cap_percent_of_fee is not None:
            text += f", capped at {words.pct(self.cap_percent_of_fee)} of the fee"
        return text


def _terms_key(terms: SlaTerms, out_of_scope: Sequence[str], ctx: BillingContext) -> tuple[object, ...]:
    """What SLA outcomes depend on besides the log and the calendar, for :func:`remembered`: one log is billed and
    valued under several price lists (the incentive analysis's credit levels), whose outcomes and compliance are
    the same."""
    targets = tuple((p, t.response_hours, t.resolution_hours) for p, t in sorted(terms.targets.items()))
    return (ctx.category_names, terms.clock, targets, tuple(out_of_scope))


def sla_outcomes(
    terms: SlaTerms, out_of_scope: Sequence[str], log: TicketLog, ctx: BillingContext
) -> dict[str, np.ndarray]:
    """Response and resolution of each ticket on the SLA clock, and whether it breached (NaN/False off-ticket);
    tickets of the ``out_of_scope`` categories are not in scope. The arrays returned are shared: do not change
    them."""
    return remembered(
        "sla outcomes",
        (log, ctx.calendar),
        _terms_key(terms, out_of_scope, ctx),
        lambda: _sla_outcomes(terms, out_of_scope, log, ctx),
    )


def _sla_outcomes(
    terms: SlaTerms, out_of_scope: Sequence[str], log: TicketLog, ctx: BillingContext
) -> dict[str, np.ndarray]:
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


def monthly_compliance(
    terms: SlaTerms,
    out_of_scope: Sequence[str],
    log: TicketLog,
    ctx: BillingContext,
    recurrences_missed: bool,
) -> np.ndarray:
    """Each client's monthly compliance, shape (clients, months): the share of its in-scope tickets of the month
    meeting both targets (1 in a month without tickets); with ``recurrences_missed`` a recurrence counts as missed.
    The array returned is shared: do not change it."""
    equal = (*_terms_key(terms, out_of_scope, ctx), recurrences_missed, len(ctx.users), ctx.months)

    def compute() -> np.ndarray:
        sla = sla_outcomes(terms, out_of_scope, log, ctx)
        shape = (len(ctx.users), ctx.months)
        scope = sla["in_scope"]
        missed = scope & (sla["breach"] | (log.recurrence & recurrences_missed))
        return share_met(
            by_client_month(log.client[scope], log.month[scope], shape),
            by_client_month(log.client[missed], log.month[missed], shape),
        )

    return remembered("sla compliance", (log, ctx.calendar), equal, compute)


def share_met(tickets: np.ndarray, misses: np.ndarray) -> np.ndarray:
    """Compliance: the share of tickets that met their targets, 1 where there were none."""
    return np.divide(tickets - misses, tickets, out=np.ones(tickets.shape), where=tickets > 0)
