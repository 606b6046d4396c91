"""Contract terms: the three pricing policies and the provider's levers under each (DESIGN.md §3–4).

These are the validated, immutable shapes of the ``contracts:`` entries of a scenario file; the pure functions that
turn a ticket log into money live in :mod:`simulator.billing`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.base.limits import (
    FACTOR,
    MONEY,
    MONTH_HOURS,
    MONTHS,
    PREVENTION_HOURS,
    SLA_HOURS,
    TECHNICIANS,
    THOROUGHNESS,
    Label,
)

__all__ = [
    "PRIORITIES",
    "ComplianceTier",
    "ComplianceTiers",
    "Contract",
    "CreditScheme",
    "FixedPrice",
    "Inclusions",
    "Managed",
    "PerBreach",
    "PerDowntimeHour",
    "Policy",
    "SlaTarget",
    "SlaTerms",
    "TimeAndMaterials",
    "TmTerms",
]

PRIORITIES = ("P1", "P2", "P3", "P4")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False)


class Policy(_Model):
    """The provider's levers under a contract: what it chooses to do."""

    technicians: int = Field(ge=1, le=TECHNICIANS)
    """Technicians in the pool serving this portfolio [count]."""
    prevention_hours_per_endpoint_month: float = Field(0.0, ge=0, le=PREVENTION_HOURS)
    """Proactive maintenance time per endpoint [hours/endpoint-month]; removes part of the preventable rate."""
    monitoring: bool = False
    """RMM/PSA tooling on: detectable incidents are seen at once, some fixed automatically, triage automated."""
    thoroughness: float = Field(1.0, gt=0, le=THOROUGHNESS)
    """Fix effort multiplier k; a rushed fix (k < 1) saves time but recurs more often."""


class TmTerms(_Model):
    """Time-and-materials billing terms, also used where another contract falls back to T&M."""

    remote_rate: float = Field(ge=0, le=MONEY)
    """Hourly rate for remote work [currency/hour]."""
    onsite_rate: float = Field(ge=0, le=MONEY)
    """Hourly rate for on-site work [currency/hour]."""
    billing_increment_hours: float = Field(0.25, ge=0.001, le=MONTH_HOURS)
    """Hours are rounded up to a multiple of this [hours]."""
    minimum_remote_hours: float = Field(0.0, ge=0, le=MONTH_HOURS)
    """Minimum billable hours for a remote job [hours]."""
    minimum_onsite_hours: float = Field(0.0, ge=0, le=MONTH_HOURS)
    """Minimum billable hours for an on-site job [hours]."""
    trip_charge: float = Field(0.0, ge=0, le=MONEY)
    """Charge per on-site visit; travel time itself is not billed [currency]."""
    parts_markup: float = Field(0.0, ge=0, le=FACTOR)
    """Markup on parts cost (0.3 = +30%) [share]."""
    after_hours_multiplier: float = Field(1.0, ge=1, le=FACTOR)
    """Rate multiplier for work started outside business hours [factor]."""


class TimeAndMaterials(TmTerms):
    """Break/fix time and materials: bill the hours and parts when something breaks."""

    kind: Literal["time_and_materials"]
    name: Label
    """Label used in tables and charts."""
    bill_prevention: bool = False
    """Whether the client also buys the provider's prevention hours, at the remote rate."""
    policy: Policy
    """The provider's levers under this contract."""


class FixedPrice(_Model):
    """Break/fix with a set price per kind of job; anything not on the menu is billed by the fallback T&M terms."""

    kind: Literal["fixed_price"]
    name: Label
    """Label used in tables and charts."""
    menu: dict[str, Annotated[float, Field(ge=0, le=MONEY)]]
    """Price per job by incident category name (``major`` for major incidents) [currency]."""
    labour_cap_hours: float | None = Field(None, gt=0, le=MONTH_HOURS)
    """Hands-on hours the price covers; null means any effort is covered [hours]."""
    overrun: Literal["absorbed", "billed"] = "absorbed"
    """Hours beyond the cap: absorbed by the provider, or billed at the fallback T&M terms."""
    parts: Literal["included", "billed"] = "billed"
    """Parts included in the price, or billed at cost plus the fallback markup."""
    trip_charge: float = Field(0.0, ge=0, le=MONEY)
    """Charge per on-site visit for menu jobs [currency]."""
    warranty_days: float = Field(0.0, ge=0, le=MONTHS * MONTH_HOURS / 24)
    """A recurrence within this many days of the original fix is fixed free [days]."""
    fallback: TmTerms
    """T&M terms for jobs not on the menu, overruns and parts."""
    policy: Policy
    """The provider's levers under this contract."""


class SlaTarget(_Model):
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


class PerBreach(_Model):
    """A credit for every ticket that misses its response or resolution target."""

    kind: Literal["per_breach"]
    amount: float = Field(0.0, ge=0, le=MONEY)
    """Credit per breached ticket [currency]."""
    percent_of_fee: float = Field(0.0, ge=0, le=1)
    """Credit per breached ticket as a share of the month's fee [share]."""


class ComplianceTier(_Model):
    """One step of a compliance-tier scheme."""

    below: float = Field(gt=0, le=1)
    """Monthly compliance (share of tickets meeting both targets) below which this tier applies [share]."""
    percent_of_fee: float = Field(ge=0, le=1)
    """Credit as a share of the month's fee [share]."""


class ComplianceTiers(_Model):
    """Monthly compliance tiers: the lowest threshold the month falls below sets the credit."""

    kind: Literal["compliance_tiers"]
    tiers: list[ComplianceTier] = Field(min_length=1)
    """Tiers; the month gets the credit of the lowest ``below`` its compliance is under."""


class PerDowntimeHour(_Model):
    """A credit for every hour of client downtime, so that fewer incidents mean fewer credits."""

    kind: Literal["per_downtime_hour"]
    amount_per_user_hour: float = Field(ge=0, le=MONEY)
    """Credit per blocked user-hour of downtime on tickets [currency/user-hour]."""


CreditScheme = Annotated[PerBreach | ComplianceTiers | PerDowntimeHour, Field(discriminator="kind")]


class SlaTerms(_Model):
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


class Inclusions(_Model):
    """What the flat fee covers for in-scope incidents."""

    remote: bool = True
    """Remote labour included."""
    onsite: bool = True
    """On-site labour and trips included."""
    parts: bool = False
    """Parts included (otherwise billed at cost plus the out-of-scope markup)."""


class Managed(_Model):
    """Managed services: a flat monthly fee with an SLA; the provider monitors and maintains proactively."""

    kind: Literal["managed"]
    name: Label
    """Label used in tables and charts."""
    fee_per_user_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly fee per user [currency/user-month]."""
    fee_per_endpoint_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly fee per endpoint [currency/endpoint-month]."""
    fee_per_server_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly fee per server [currency/server-month]."""
    onboarding_fee: float = Field(0.0, ge=0, le=MONEY)
    """One-off fee per client at the start of the contract [currency]."""
    includes: Inclusions = Inclusions()
    """What the fee covers for in-scope incidents."""
    out_of_scope_categories: list[str] = []
    """Incident categories billed at the out-of-scope T&M terms (``major`` for major incidents)."""
    out_of_scope: TmTerms
    """T&M terms for out-of-scope work, excluded labour and parts."""
    sla: SlaTerms
    """Service levels and credits."""
    policy: Policy
    """The provider's levers under this contract."""

    def fee_per_client_month(self, users: Any, endpoints: Any, servers: Any) -> Any:
        """The monthly fee of a client of this size (numbers, or arrays of one per client) [currency/month]."""
        return (
            users * self.fee_per_user_month
            + endpoints * self.fee_per_endpoint_month
            + servers * self.fee_per_server_month
        )


Contract = Annotated[TimeAndMaterials | FixedPrice | Managed, Field(discriminator="kind")]
"""Any contract, chosen by ``kind``."""
