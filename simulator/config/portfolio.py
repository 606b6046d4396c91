"""A provider's portfolio followed month by month (``msp-sim transition``): starting clients, migration
strategies, churn, sales and hiring."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator
from scipy import special

from simulator.base.limits import (
    CLIENTS,
    FACTOR,
    LOGIT,
    LOGIT_SLOPE,
    MONEY,
    MONTHS,
    RATE,
    TECHNICIANS,
    WORK_HOURS,
    Label,
)

from .sections import Churn, ConfigModel

__all__ = [
    "AcceptanceLogit",
    "Churn",
    "EvMultiple",
    "Finance",
    "Hiring",
    "Portfolio",
    "Sales",
    "StartingClients",
    "Strategy",
]


class StartingClients(ConfigModel):
    """Clients of one segment on one contract at month 0."""

    segment: str
    """Client segment name."""
    contract: str
    """Contract name."""
    count: int = Field(ge=0, le=CLIENTS)
    """Clients [count]."""


class AcceptanceLogit(ConfigModel):
    """Offer acceptance as a logit in the client's expected saving: P(accept) = 1 / (1 + exp(−(intercept +
    per_saving_share × saving))), the saving the client's own expected monthly cost (fees, downtime and its own IT's
    time) under its current contract less that under the offered one, as a share of the current. The expected
    costs come from simulating every client of the replication on each contract (its own incidents)."""

    intercept: float = Field(-1.0, ge=-LOGIT, le=LOGIT)
    """Log-odds of accepting an offer that saves nothing (−1: 27%) [log-odds]."""
    per_saving_share: float = Field(10.0, ge=0, le=LOGIT_SLOPE)
    """Change of the log-odds per unit of saving share (10: a 10% saving is an even chance with the default
    intercept, a 30% saving 88%) [log-odds/share]."""

    def probability(self, saving: np.ndarray) -> np.ndarray:
        """P(accept) at each saving share [share]."""
        return np.asarray(special.expit(self.intercept + self.per_saving_share * np.asarray(saving)))


class Strategy(ConfigModel):
    """How the provider moves its break/fix clients to another contract (usually a managed one)."""

    name: Label
    """Strategy label."""
    kind: Literal["stay", "gradual", "all_at_once"]
    """``stay``: nobody is offered; ``gradual``: a share of the remaining break/fix clients is offered each month;
    ``all_at_once``: every break/fix client is offered in one month."""
    to: str | None = None
    """Contract offered (required unless ``stay``): a managed one, or any other the break/fix clients move to
    (block hours, monitoring plus T&M)."""
    start_month: int = Field(0, ge=0, le=MONTHS)
    """First month of offers (``gradual``) or the month of the offer (``all_at_once``)."""
    offer_rate: float = Field(0.1, ge=0, le=1)
    """Share of the remaining break/fix clients offered each month (``gradual``) [share/month]."""
    acceptance: Annotated[float, Field(ge=0, le=1)] | AcceptanceLogit = 0.5
    """Probability an offered client accepts [share], or a logit in its expected saving
    (``{intercept: -1, per_saving_share: 10}``)."""
    repeat_every_months: int | None = Field(None, ge=1, le=MONTHS)
    """``all_at_once``: offer again every this many months to the break/fix clients who declined [months];
    null: one offer."""
    sales_staff: int | None = Field(None, ge=0, le=TECHNICIANS)
    """Sales people under this strategy (default: ``portfolio.sales.staff``) [count]."""
    sales_contract: str | None = None
    """Contract new clients sign under this strategy (default: ``stay`` sells the first break/fix contract of the
    starting clients, the others ``portfolio.sales.contract``)."""

    @model_validator(mode="after")
    def _target(self) -> Strategy:
        if self.kind != "stay" and self.to is None:
            raise ValueError(f"strategy '{self.name}' ({self.kind}) needs `to`: the contract offered")
        if self.repeat_every_months is not None and self.kind != "all_at_once":
            raise ValueError(
                f"strategy '{self.name}': repeat_every_months repeats an all_at_once offer ({self.kind} "
                "offers every month already); remove it or use kind all_at_once"
            )
        return self

    def offers_in(self, m: int) -> bool:
        """Whether an ``all_at_once`` strategy makes its offer in month ``m`` (the first, or a repeat)."""
        if m < self.start_month:
            return False
        if self.repeat_every_months is None:
            return m == self.start_month
        return (m - self.start_month) % self.repeat_every_months == 0


class Sales(ConfigModel):
    """New clients from sales effort."""

    staff: int = Field(0, ge=0, le=TECHNICIANS)
    """Sales people [count]."""
    cost_per_staff_month: float = Field(6000.0, ge=0, le=MONEY)
    """Loaded cost of a sales person [currency/month]."""
    wins_per_staff_month: float = Field(0.3, ge=0, le=RATE)
    """Expected new clients per sales person per month (Poisson) [clients/month]."""
    segment_mix: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    """Share of new clients by segment; sums to 1."""
    contract: str | None = None
    """Contract new clients sign (default: the first managed contract)."""
    max_new_clients: int = Field(20, ge=0, le=CLIENTS)
    """Upper bound of clients won over the horizon (client slots reserved for prospects) [count]."""


class Hiring(ConfigModel):
    """Technicians added when utilisation stays high."""

    initial_technicians: int = Field(1, ge=1, le=TECHNICIANS)
    """Technicians at month 0 [count]."""
    enabled: bool = True
    """Whether the provider hires."""
    utilization_threshold: float = Field(0.8, gt=0, le=1)
    """Hire when monthly utilisation is above this ... [share]"""
    months_above: int = Field(2, ge=1, le=MONTHS)
    """... for this many consecutive months [months]."""
    lag_months: int = Field(2, ge=0, le=MONTHS)
    """Months from the decision until the new technician is on duty [months]."""
    cost_per_hire: float = Field(5000.0, ge=0, le=MONEY)
    """Recruiting and training cost per hire [currency]."""
    max_technicians: int = Field(20, ge=1, le=TECHNICIANS)
    """Never more than this [count]."""

    @model_validator(mode="after")
    def _order(self) -> Hiring:
        if self.initial_technicians > self.max_technicians:
            raise ValueError(
                f"@initial_technicians: {self.initial_technicians} is more than max_technicians "
                f"({self.max_technicians}); raise max_technicians or start with fewer"
            )
        return self


class EvMultiple(ConfigModel):
    """One row of the valuation table: the multiple of EBITDA a buyer pays for a provider whose recurring revenue
    is this share of its revenue."""

    recurring_share: float = Field(ge=0, le=1)
    """Recurring revenue over the trailing twelve months as a share of all revenue [share]."""
    multiple: float = Field(ge=0, le=FACTOR)
    """Enterprise value over EBITDA of the trailing twelve months at that share [factor]."""


DEFAULT_EV_MULTIPLES = (
    EvMultiple(recurring_share=0.0, multiple=3.0),
    EvMultiple(recurring_share=0.5, multiple=4.25),
    EvMultiple(recurring_share=0.85, multiple=7.0),
)
"""EBITDA multiples by recurring share. Trade figures, not a study: MSPs with 85%+ of revenue under managed
contracts trade at 6-8x EBITDA, those with half project or break/fix work at 3.5-5x (dealflow-os.com, "IT managed
services business valuation"); small or struggling shops at 2-4x (CRN 2025 conference recap, via eight-m.com). The
break/fix end (3x) is an assumption within that range. Providers under about $3M revenue sell at 3-5x
(eight-m.com): lower the table for a micro provider."""


class Finance(ConfigModel):
    """The provider's money as cash (collected when clients pay, not when billed), its overhead, and what the
    business is worth: EBITDA over the trailing twelve months (a loss counts as zero) times a multiple that rises
    with the recurring share of revenue. Cash starts at zero with nothing owed to the provider: invoices from before
    month 0 are left out, as an opening balance would raise every strategy's cash alike. Absent: the transition
    counts cash as cumulative profit, without overhead or valuation."""

    recurring_billing: Literal["in_advance", "in_arrears"] = "in_advance"
    """When recurring fees (managed fees, blocks of hours, cost-sharing targets, net of SLA credits) and onboarding
    fees are collected: ``in_advance``: in the month they are billed (invoiced before the service month, paid by
    direct debit), never bad debt, as a client who stops paying stops being served; ``in_arrears``: like usage."""
    usage_billing: Literal["in_advance", "in_arrears"] = "in_arrears"
    """When usage (T&M hours, trips, parts, fixed prices per job, overage, cost shares) and early-termination fees
    are collected: ``in_arrears``: ``days_sales_outstanding`` after the month billed, less ``bad_debt_share``;
    ``in_advance``: in the month billed (paid on completion)."""
    days_sales_outstanding: float = Field(45.0, ge=0, le=MONTHS * 30)
    """Days from invoice to payment for what is billed in arrears: an amount billed in month m arrives in month
    m + days × 12/365, split between the two neighbouring months for a fractional month. US average 36.8 days
    (Credit Research Foundation, Q3 2024); mid-market 30-45 (Stuut); 45 assumes small clients on net-30 terms
    paying late [days]."""
    bad_debt_share: float = Field(0.02, ge=0, le=1)
    """Share of what is billed in arrears that is never collected, written off when it falls due (an expense in
    EBITDA). Standard B2B 0.5-1.5% of revenue, services to small businesses 2-5% (transformance.ai, "Bad debt
    ratio") [share]."""
    discount_rate: float = Field(0.10, ge=0, le=FACTOR)
    """Yearly rate at which monthly net cash flows are discounted (NPV), as the monthly rate (1 + r)^(1/12) − 1;
    an assumption: a small private firm's cost of capital is often higher [share/year]."""
    ev_multiples: list[EvMultiple] = Field(default=list(DEFAULT_EV_MULTIPLES), min_length=1)
    """EBITDA multiple by recurring share, interpolated linearly between rows and held flat beyond the first and
    the last; shares in increasing order."""
    churn_discount: float = Field(5.0, ge=0, le=FACTOR)
    """Turns of multiple lost per unit of yearly client churn (5: churning 10% of clients a year costs half a
    turn). An assumption: buyers call below 5% a year excellent, 5-10% standard, above 15% a treadmill
    (dealflow-os.com) [factor per share/year]."""
    concentration_threshold: float = Field(0.2, ge=0, le=1)
    """Largest client's share of revenue (trailing twelve months) above which the multiple is lowered; buyers
    discount a single client above 15-25% of revenue (eight-m.com, dealflow-os.com) [share]."""
    concentration_discount: float = Field(5.0, ge=0, le=FACTOR)
    """Turns of multiple lost per unit of the largest client's share above the threshold (5: a client at 30% with
    the 20% threshold costs half a turn); an assumption [factor per share]."""

    @model_validator(mode="after")
    def _table(self) -> Finance:
        shares = [row.recurring_share for row in self.ev_multiples]
        for i in range(1, len(shares)):
            if shares[i] <= shares[i - 1]:
                raise ValueError(
                    f"@ev_multiples[{i}].recurring_share: {shares[i]:g} does not rise above the row before "
                    f"({shares[i - 1]:g}); list the rows in increasing recurring_share, each share once"
                )
        return self


class Portfolio(ConfigModel):
    """A provider's portfolio followed month by month (``msp-sim transition``)."""

    starting: list[StartingClients] = Field(min_length=1)
    """Clients per segment and contract at month 0."""
    strategies: list[Strategy] = Field(min_length=1)
    """Migration strategies compared (same incidents: common random numbers)."""
    term_months: int = Field(12, ge=1, le=MONTHS)
    """Contract term; renewals (and churn) at each anniversary [months]."""
    onboarding_hours: float = Field(8.0, ge=0, le=WORK_HOURS)
    """Technician hours to onboard a client to a managed contract, costed at the technician hour cost [hours]."""
    tools_rollout_months: int = Field(6, ge=0, le=MONTHS)
    """Months for monitoring/PSA efficiency (triage, effort) to ramp up after the first client is managed."""
    tools_setup_cost: float = Field(0.0, ge=0, le=MONEY)
    """One-off cost of setting up the RMM/PSA platform, due when the first client goes managed [currency]."""
    tools_platform_cost_per_month: float = Field(0.0, ge=0, le=MONEY)
    """Fixed platform cost from that month on, on top of the per-endpoint tools cost [currency/month]."""
    churn: Churn = Churn()
    """Churn at renewal."""
    sales: Sales = Sales()
    """New clients."""
    hiring: Hiring = Hiring()
    """Technician hiring."""
    finance: Finance | None = None
    """Cash as collected, overhead, and the value of the business (optional; absent: cash is cumulative profit)."""
