"""A provider's portfolio followed month by month (``msp-sim transition``): starting clients, migration
strategies, churn, sales and hiring."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulator.base.limits import (
    CLIENTS,
    MONEY,
    MONTHS,
    RATE,
    TECHNICIANS,
    WORK_HOURS,
    Label,
)

from .sections import Churn, ConfigModel

__all__ = ["Churn", "Hiring", "Portfolio", "Sales", "StartingClients", "Strategy"]


class StartingClients(ConfigModel):
    """Clients of one segment on one contract at month 0."""

    segment: str
    """Client segment name."""
    contract: str
    """Contract name."""
    count: int = Field(ge=0, le=CLIENTS)
    """Clients [count]."""


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
    acceptance: float = Field(0.5, ge=0, le=1)
    """Probability an offered client accepts [share]."""
    sales_staff: int | None = Field(None, ge=0, le=TECHNICIANS)
    """Sales people under this strategy (default: ``portfolio.sales.staff``) [count]."""
    sales_contract: str | None = None
    """Contract new clients sign under this strategy (default: ``stay`` sells the first break/fix contract of the
    starting clients, the others ``portfolio.sales.contract``)."""

    @model_validator(mode="after")
    def _target(self) -> Strategy:
        if self.kind != "stay" and self.to is None:
            raise ValueError(f"strategy '{self.name}' ({self.kind}) needs `to`: the managed contract offered")
        return self


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
