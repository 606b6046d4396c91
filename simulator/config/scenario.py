"""Scenario files: the validated, immutable description of one runnable scenario (DESIGN.md §2, §6).

``load_scenario`` reads a YAML file (or takes a dict), applies ``--set`` style overrides and validates the result
with pydantic. Every field carries a docstring with its unit; ``msp-sim schema`` prints them as the file reference.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulator.base.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR, WeekCalendar
from simulator.base.distributions import Distribution
from simulator.base.limits import (
    CLIENTS,
    ENDPOINTS,
    FACTOR,
    LOGIT,
    LOGIT_SLOPE,
    MONEY,
    MONEY_TOTAL_LIMIT,
    MONTH_HOURS,
    MONTHS,
    PREVENTION_HOURS,
    RATE,
    REPLICATIONS,
    SEED,
    SERVERS,
    TECHNICIANS,
    THOROUGHNESS,
    USERS,
    WORK_HOURS,
    Label,
    Text,
)
from simulator.contracts.terms import (
    PRIORITIES,
    ComplianceTiers,
    Contract,
    FixedPrice,
    Managed,
    PerBreach,
    PerDowntimeHour,
    TimeAndMaterials,
    TmTerms,
)

__all__ = [
    "Calendar",
    "Category",
    "ClientSegment",
    "Incidents",
    "MajorIncidents",
    "Provider",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "dump_scenario",
    "dump_yaml",
    "load_scenario",
    "parse_override",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAJOR = "major"


class ScenarioError(ValueError):
    """A scenario (or override) that cannot be used; the message names the file, the field and the fix."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, validate_default=True, allow_inf_nan=False
    )


class Calendar(_Model):
    """When users work and when technicians are on duty."""

    hours: Literal["business", "24x7"] = "business"
    """Technician coverage: only business hours, or around the clock (work outside business hours is after-hours)."""
    business_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
    ]
    """Days on which users work."""
    open_hour: float = Field(8.0, ge=0, lt=24)
    """Start of the business day [hour of day]."""
    close_hour: float = Field(18.0, gt=0, le=24)
    """End of the business day [hour of day]."""

    @model_validator(mode="after")
    def _order(self) -> Calendar:
        if self.close_hour <= self.open_hour:
            raise ValueError("close_hour must be later than open_hour")
        if not self.business_days:
            raise ValueError("business_days needs at least one day")
        return self

    def users(self) -> WeekCalendar:
        """The users' working week (downtime, reporting delays and business-hour SLA clocks count in it)."""
        return WeekCalendar(
            tuple(DAY_NAMES.index(d) for d in self.business_days), self.open_hour, self.close_hour
        )

    def coverage(self) -> WeekCalendar:
        """The technicians' duty hours."""
        if self.hours == "24x7":
            return WeekCalendar(always_open=True)
        return self.users()


class Behaviour(_Model):
    """How a client's staff deal with incidents under one kind of contract."""

    call_in_share: float = Field(ge=0, le=1)
    """Share of user-scope incidents reported to the provider; the rest are worked around by staff [share]."""
    reporting_delay_hours: Distribution
    """Occurrence to report, for incidents monitoring does not catch [business hours]."""
    self_handling_hours: Distribution = {"dist": "fixed", "mean": 0.5}  # type: ignore[assignment]
    """Staff time lost on an incident that is not called in (counts as blocked user-hours) [hours]."""


class ClientSegment(_Model):
    """``count`` identical clients."""

    name: Label
    """Segment label."""
    count: int = Field(ge=1, le=CLIENTS)
    """Number of identical clients [count]."""
    users: int = Field(ge=1, le=USERS)
    """Employees with a computer, per client [count]."""
    endpoints: int = Field(ge=0, le=ENDPOINTS)
    """Workstations and laptops, per client [count]."""
    servers: int = Field(0, ge=0, le=SERVERS)
    """Servers, per client [count]."""
    downtime_cost_per_user_hour: float = Field(ge=0, le=MONEY)
    """Cost of one blocked user-hour: loaded wage × productivity loss [currency/user-hour]."""
    site_outage_cost_per_user_hour: float = Field(ge=0, le=MONEY)
    """Cost per user-hour when the whole site is down (lost revenue included) [currency/user-hour]."""
    break_fix: Behaviour
    """Staff behaviour under break/fix contracts (time and materials, fixed price)."""
    managed: Behaviour = Behaviour(
        call_in_share=1.0,
        reporting_delay_hours={"dist": "exponential", "mean": 0.5},  # type: ignore[arg-type]
    )
    """Staff behaviour under a managed contract (clients report everything: nothing extra to pay)."""


class Parts(_Model):
    """Parts needed by an incident."""

    probability: float = Field(0.0, ge=0, le=1)
    """Share of incidents that need parts [share]."""
    cost: Distribution = {"dist": "fixed", "mean": 0.0}  # type: ignore[assignment]
    """Parts cost at the provider's cost, when needed [currency]."""


class Category(_Model):
    """One kind of incident and its arrival rate, effort and effects."""

    name: Label
    """Category label; the fixed-price menu and out-of-scope lists refer to it."""
    rate_per_user_month: float | None = Field(None, ge=0, le=RATE)
    """Arrival rate without prevention [incidents/user-month]; give this or ``rate_per_endpoint_month``."""
    rate_per_endpoint_month: float | None = Field(None, ge=0, le=RATE)
    """Arrival rate without prevention [incidents/endpoint-month]."""
    effort_hours: Distribution
    """Technician hands-on time at thoroughness 1 without tooling [hours]."""
    onsite_share: float = Field(0.0, ge=0, le=1)
    """Share needing an on-site visit [share]."""
    parts: Parts = Parts()
    """Parts needed."""
    blocking_share: float = Field(0.22, ge=0, le=1)
    """Share of incidents that fully block the user [share]."""
    partial_productivity_loss: float = Field(0.25, ge=0, le=1)
    """Productivity lost while a non-blocking incident is open [share]."""
    scope: Literal["user", "site"] = "user"
    """One user affected, or the whole site (all the client's users)."""
    priority_mix: dict[Literal["P1", "P2", "P3", "P4"], float]
    """Share of incidents at each priority; sums to 1 [shares]."""
    preventable: float = Field(0.0, ge=0, le=1)
    """Share of the rate that prevention can remove [share]."""
    theta: float = Field(0.0, ge=0, le=FACTOR)
    """Prevention effectiveness: rate(e) = base·((1 − preventable) + preventable·exp(−theta·e))
    [1/(hours/endpoint-month)]."""
    detectable: float = Field(0.0, ge=0, le=1)
    """Share that monitoring detects at once [share]."""
    auto_remediable: float = Field(0.0, ge=0, le=1)
    """Share of detected incidents that monitoring fixes with no technician [share]."""

    @field_validator("priority_mix")
    @classmethod
    def _mix(cls, mix: dict[str, float]) -> dict[str, float]:
        _check_mix(mix)
        return mix

    def rate_per_client_month(self, users: int, endpoints: int) -> float:
        """Expected incidents a month, without prevention, at a client with these users and endpoints."""
        if self.rate_per_user_month is not None:
            return self.rate_per_user_month * users
        return float(self.rate_per_endpoint_month or 0.0) * endpoints

    @model_validator(mode="after")
    def _check(self) -> Category:
        if (self.rate_per_user_month is None) == (self.rate_per_endpoint_month is None):
            raise ValueError("give exactly one of rate_per_user_month and rate_per_endpoint_month")
        if self.name == MAJOR:
            raise ValueError(f"the category name '{MAJOR}' is reserved for major incidents")
        return self


def _check_mix(mix: Mapping[Any, float]) -> None:
    if any(v < 0 for v in mix.values()):
        raise ValueError("priority_mix shares must be >= 0")
    total = sum(mix.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"priority_mix must sum to 1 (it sums to {total:g}); adjust the shares")


class MajorIncidents(_Model):
    """Rare site-wide events (ransomware-class, server loss)."""

    annual_probability: float = Field(0.0, ge=0, lt=1)
    """Probability that a client has at least one major incident in a year, without prevention [share/year]."""
    downtime_hours: Distribution = {"dist": "lognormal", "mean": 24.0, "cv": 1.5}  # type: ignore[assignment]
    """Site outage duration at the least [business hours]; heavy-tailed."""
    effort_hours: Distribution = {"dist": "lognormal", "mean": 16.0, "cv": 0.8}  # type: ignore[assignment]
    """Technician time to recover [hours]."""
    parts: Parts = Parts()
    """Parts (replacement hardware) needed."""
    preventable: float = Field(0.0, ge=0, le=1)
    """Share that prevention (patching, backups, hardening) can remove [share]."""
    theta: float = Field(0.0, ge=0, le=FACTOR)
    """Prevention effectiveness, as for categories [1/(hours/endpoint-month)]."""
    detectable: float = Field(0.0, ge=0, le=1)
    """Share that monitoring catches at once [share]."""


class Incidents(_Model):
    """What goes wrong."""

    categories: list[Category] = Field(min_length=1)
    """Incident categories."""
    major: MajorIncidents = MajorIncidents()
    """Major incidents."""


class Triage(_Model):
    """Triage and dispatch delay before a ticket joins the technician queue."""

    manual: Distribution = {"dist": "exponential", "mean": 0.5}  # type: ignore[assignment]
    """Without PSA automation [hours on duty]."""
    automated: Distribution = {"dist": "exponential", "mean": 0.083}  # type: ignore[assignment]
    """With PSA automation (monitoring/tooling on) [hours on duty]."""
    urgent: Distribution = {"dist": "exponential", "mean": 0.5}  # type: ignore[assignment]
    """P1 tickets without automation: dispatched at once rather than scheduled [hours on duty]."""


class Recurrence(_Model):
    """Fixes that do not hold."""

    probability: float = Field(0.05, ge=0, le=1)
    """Probability that a fix at thoroughness 1 recurs [share]."""
    thoroughness_elasticity: float = Field(2.0, ge=0, le=FACTOR)
    """p(k) = min(1, probability · k^(−elasticity)): rushing (k < 1) raises it [dimensionless]."""
    delay_hours: Distribution = {"dist": "exponential", "mean": 120.0}  # type: ignore[assignment]
    """Resolution to recurrence [business hours]."""

    def probability_at(self, thoroughness: float) -> float:
        """p(k) = min(1, probability · k^(−elasticity)) [share]; 1 when k^(−elasticity) is beyond floats."""
        try:
            with np.errstate(over="ignore"):  # a numpy k gives inf, a float raises
                factor = thoroughness ** (-self.thoroughness_elasticity)
        except OverflowError:
            factor = math.inf
        return min(1.0, self.probability * factor) if self.probability > 0 else 0.0


class Provider(_Model):
    """The IT service provider's cost side and operations."""

    cost_per_technician_hour: float = Field(ge=0, le=MONEY)
    """Loaded labour cost of a technician hour [currency/hour]."""
    labour_cost_basis: Literal["paid", "worked"] = "paid"
    """``paid``: every paid hour of the pool costs, busy or idle (salaried, short run); ``worked``: only hours worked
    cost (long run, or a provider whose pool also serves other clients)."""
    paid_hours_per_technician_month: float = Field(173.3, gt=0, le=MONTH_HOURS)
    """Paid hours per technician; with ``paid`` costing, each technician slot is paid for at least this, or for all
    its on-duty hours when coverage is longer (24x7 needs shifts) [hours/month]."""
    travel_hours: Distribution = {"dist": "lognormal", "mean": 0.75, "cv": 0.5}  # type: ignore[assignment]
    """Round-trip travel per on-site visit, unbilled beyond the trip charge [hours]."""
    tools_cost_per_endpoint_month: float = Field(0.0, ge=0, le=MONEY)
    """RMM/PSA/AV tooling cost when monitoring is on [currency/endpoint-month]."""
    tools_effort_factor: float = Field(1.0, gt=0, le=FACTOR)
    """Effort multiplier when tooling is on (documentation, remote access) [factor]."""
    triage_delay_hours: Triage = Triage()
    """Triage and dispatch delay."""
    auto_remediation_hours: Distribution = {"dist": "fixed", "mean": 0.25}  # type: ignore[assignment]
    """Time for monitoring to fix an auto-remediable incident [hours]."""
    prevention_job_hours: float = Field(2.0, ge=0.01, le=MONTH_HOURS)
    """Prevention work per client-month is scheduled in jobs of this length [hours]."""
    recurrence: Recurrence = Recurrence()
    """Fixes that do not hold."""


class Span(_Model):
    """A range of a continuous lever (prevention effort) searched on an even grid, then refined."""

    low: float = Field(ge=0, le=PREVENTION_HOURS)
    """Lowest value."""
    high: float = Field(ge=0, le=PREVENTION_HOURS)
    """Highest value (equal to ``low`` to hold the lever fixed)."""
    points: int = Field(5, ge=1, le=101)
    """Grid points from low to high in the coarse search."""

    @model_validator(mode="after")
    def _order(self) -> Span:
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self


class ThoroughnessSpan(Span):
    """A range of fix thoroughness searched, within what a policy allows (0 < k <= 5)."""

    low: float = Field(gt=0, le=THOROUGHNESS)
    """Lowest value."""
    high: float = Field(gt=0, le=THOROUGHNESS)
    """Highest value (equal to ``low`` to hold the lever fixed)."""


class Staffing(_Model):
    """The technician counts searched."""

    low: int = Field(1, ge=1, le=50)
    """Fewest technicians."""
    high: int = Field(3, ge=1, le=50)
    """Most technicians."""

    @model_validator(mode="after")
    def _order(self) -> Staffing:
        if self.high < self.low:
            raise ValueError("high must be at least low")
        return self


class LeverSpace(_Model):
    """Where the provider's levers may be set; a lever left out (null) stays at the contract's policy value."""

    prevention_hours_per_endpoint_month: Span | None = Span(low=0.0, high=1.0, points=6)
    """Prevention effort searched [hours/endpoint-month]."""
    technicians: Staffing | None = Staffing()
    """Technician counts searched [count]."""
    monitoring: Annotated[list[bool], Field(min_length=1)] | None = [False, True]
    """Monitoring settings searched (at least one)."""
    thoroughness: ThoroughnessSpan | None = ThoroughnessSpan(low=0.6, high=1.4, points=5)
    """Fix thoroughness searched [factor]."""


class Design(_Model):
    """Managed-contract terms searched for the contract-design analysis."""

    per_downtime_hour: list[Annotated[float, Field(ge=0, le=MONEY)]] = [0.0, 5.0, 10.0, 20.0, 40.0, 80.0]
    """Credit levels per blocked user-hour tried [currency/user-hour]."""
    per_breach: list[Annotated[float, Field(ge=0, le=MONEY)]] = [0.0, 25.0, 50.0, 100.0, 200.0, 400.0]
    """Credit levels per breached ticket tried [currency]."""


class IncentiveSettings(_Model):
    """How the incentive analysis searches (``msp-sim incentives``)."""

    participation: bool = True
    """Require provider profit >= 0 at the client's preferred levers (and flag a best response that loses money)."""
    replications: int | None = Field(None, ge=2, le=REPLICATIONS)
    """Replications per lever setting (default: the scenario's)."""
    refine: bool = True
    """Refine continuous levers around each grid optimum with a bounded scalar search."""
    levers: LeverSpace = LeverSpace()
    """Search space for every contract."""
    contracts: dict[str, LeverSpace] = {}
    """Per-contract search spaces (by contract name), replacing ``levers`` for that contract."""
    design: Design = Design()
    """Credit levels tried for managed contracts."""


class StartingClients(_Model):
    """Clients of one segment on one contract at month 0."""

    segment: str
    """Client segment name."""
    contract: str
    """Contract name."""
    count: int = Field(ge=0, le=CLIENTS)
    """Clients [count]."""


class Strategy(_Model):
    """How the provider moves its break/fix clients to a managed contract."""

    name: Label
    """Strategy label."""
    kind: Literal["stay", "gradual", "all_at_once"]
    """``stay``: nobody is offered; ``gradual``: a share of the remaining break/fix clients is offered each month;
    ``all_at_once``: every break/fix client is offered in one month."""
    to: str | None = None
    """Managed contract offered (required unless ``stay``)."""
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


class Churn(_Model):
    """Churn at each contract anniversary: P = 1 / (1 + exp(−(intercept + b·x))) over the last term."""

    enabled: bool = True
    """Whether clients may leave at renewal."""
    intercept: float = Field(-2.5, ge=-LOGIT, le=LOGIT)
    """Logit at zero downtime, zero breaches, no price change (−2.5 ≈ 8% a year)."""
    per_downtime_hour_per_user_month: float = Field(0.15, ge=0, le=LOGIT_SLOPE)
    """Logit per blocked hour per user and month over the last term [1/hour]."""
    per_breach_per_month: float = Field(0.05, ge=0, le=LOGIT_SLOPE)
    """Logit per SLA breach per month over the last term [1/breach]."""
    per_price_change: float = Field(1.0, ge=0, le=LOGIT_SLOPE)
    """Logit per unit relative change of the monthly fees against the term before (0.5 = +50%) [1/share]."""


class Sales(_Model):
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


class Hiring(_Model):
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


class Portfolio(_Model):
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


class Scenario(_Model):
    """One runnable scenario: a client portfolio, what goes wrong, a provider, and the contracts to compare."""

    name: Label
    """Scenario label."""
    description: Text = ""
    """What the scenario represents."""
    currency: Label = "USD"
    """Currency of every money field."""
    horizon_months: int = Field(ge=1, le=MONTHS)
    """Simulated months, including warm-up [months of 730 hours]."""
    warmup_months: int = Field(0, ge=0, le=MONTHS)
    """Months at the start excluded from every measurement [months]."""
    replications: int = Field(20, ge=2, le=REPLICATIONS)
    """Independent replications (the spread gives the confidence intervals) [count]."""
    seed: int = Field(0, ge=0, le=SEED)
    """Scenario seed; with the replication number it seeds every random stream."""
    reference_contract: str | None = None
    """Contract the others are compared with (paired differences); default the first."""
    calendar: Calendar = Calendar()
    """Working hours."""
    clients: list[ClientSegment] = Field(min_length=1)
    """Client segments."""
    incidents: Incidents
    """What goes wrong."""
    provider: Provider
    """The provider."""
    contracts: list[Contract] = Field(min_length=1)
    """Contracts to compare, each with the provider's levers under it."""
    incentives: IncentiveSettings = IncentiveSettings()
    """Settings of the incentive analysis."""
    portfolio: Portfolio | None = None
    """The portfolio followed over time by ``msp-sim transition`` (optional)."""

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.warmup_months >= self.horizon_months:
            raise ValueError("@warmup_months: warmup_months must be smaller than horizon_months")
        for label, names in (
            ("clients", [c.name for c in self.clients]),
            ("incidents.categories", [c.name for c in self.incidents.categories]),
            ("contracts", [c.name for c in self.contracts]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"@{label}: names must be unique; repeated: {dupes}")
        known = {c.name for c in self.incidents.categories} | {MAJOR}
        for c in self.contracts:
            refs = list(c.menu) if isinstance(c, FixedPrice) else []
            refs += c.out_of_scope_categories if isinstance(c, Managed) else []
            unknown = [r for r in refs if r not in known]
            if unknown:
                raise ValueError(
                    f"@contracts[{c.name}]: contract '{c.name}' names unknown categories {unknown}; "
                    f"known: {sorted(known)}"
                )
        self._check_portfolio()
        unknown_spaces = sorted(set(self.incentives.contracts) - {c.name for c in self.contracts})
        if unknown_spaces:
            raise ValueError(f"@incentives.contracts: no contracts named {unknown_spaces}")
        if self.reference_contract is not None and self.reference_contract not in {
            c.name for c in self.contracts
        }:
            raise ValueError(
                f"@reference_contract: reference_contract '{self.reference_contract}' is not a contract name"
            )
        self._check_money()
        return self

    def _check_portfolio(self) -> None:
        p = self.portfolio
        if p is None:
            return
        segments = {c.name for c in self.clients}
        by_name = {c.name: c for c in self.contracts}
        for i, s in enumerate(p.starting):
            if s.segment not in segments:
                raise ValueError(
                    f"@portfolio.starting[{i}].segment: no client segment '{s.segment}'; "
                    f"segments: {sorted(segments)}"
                )
            if s.contract not in by_name:
                raise ValueError(f"@portfolio.starting[{i}].contract: no contract '{s.contract}'")
        for st in p.strategies:
            if st.sales_contract is not None and st.sales_contract not in by_name:
                raise ValueError(
                    f"@portfolio.strategies[{st.name}].sales_contract: no contract '{st.sales_contract}'"
                )
            if st.to is not None and not isinstance(by_name.get(st.to), Managed):
                raise ValueError(f"@portfolio.strategies[{st.name}].to: '{st.to}' is not a managed contract")
        names = [st.name for st in p.strategies]
        if len(set(names)) != len(names):
            raise ValueError("@portfolio.strategies: strategy names must be unique")
        mix = p.sales.segment_mix
        if p.sales.staff > 0 or any(s.sales_staff for s in p.strategies):
            unknown = sorted(set(mix) - segments)
            if unknown or not mix:
                raise ValueError(
                    f"@portfolio.sales.segment_mix: give shares for known segments {sorted(segments)}"
                )
            if not math.isclose(sum(mix.values()), 1.0, abs_tol=1e-6):
                raise ValueError("@portfolio.sales.segment_mix: shares must sum to 1")
            target = p.sales.contract
            if target is not None and target not in by_name:
                raise ValueError(f"@portfolio.sales.contract: no contract '{target}'")
            if target is None and not any(isinstance(c, Managed) for c in self.contracts):
                raise ValueError("@portfolio.sales.contract: name the contract new clients sign")

    @property
    def reference(self) -> str:
        """Name of the contract others are compared with."""
        return self.reference_contract or self.contracts[0].name

    @property
    def measured_months(self) -> int:
        """Months after warm-up."""
        return self.horizon_months - self.warmup_months

    def expected_incidents_per_month(self, counts: Mapping[str, int] | None = None) -> dict[str, float]:
        """Expected incidents a month over the whole portfolio, before prevention and without recurrences, by
        category name and ``major`` (major incidents); ``sum(...values())`` is the total.

        ``counts`` gives the clients per segment name (default: each segment's ``count``)."""
        n = {seg.name: seg.count for seg in self.clients} if counts is None else counts
        out = {
            cat.name: sum(
                n.get(seg.name, 0) * cat.rate_per_client_month(seg.users, seg.endpoints)
                for seg in self.clients
            )
            for cat in self.incidents.categories
        }
        per_client = -math.log1p(-self.incidents.major.annual_probability) * HOURS_PER_MONTH / HOURS_PER_YEAR
        out[MAJOR] = per_client * sum(n.get(seg.name, 0) for seg in self.clients)
        return out

    def money_terms(self) -> dict[str, list[Term]]:
        """An upper estimate of the money each contract can post over the horizon, in parts: per contract name,
        ``(amount, field, what)`` with the field that sets each part [currency].

        Expected values, taken at the largest lever values the scenario can use (its policies, the incentive
        search spaces and the portfolio's hiring), with every incident counted as billed, credited and at the
        largest T&M rate; clients are the segments' counts, or a portfolio's starting clients plus every
        prospect if that is more. Also a part of its own: the largest single job (the largest effort any draw
        can give, at the largest rate), which expected values do not bound."""
        return _money_terms(self)

    def _check_money(self) -> None:
        """Every money total must stay far inside the integer-cents ledger: see :data:`MONEY_TOTAL_LIMIT`."""
        totals = {name: (sum(t[0] for t in terms), terms) for name, terms in self.money_terms().items()}
        contract = max(totals, key=lambda name: totals[name][0])
        total, terms = totals[contract]
        if total >= MONEY_TOTAL_LIMIT:
            amount, fld, what = max(terms)
            raise ValueError(
                f"@{fld}: under contract '{contract}' the scenario could post about {total:.3g} {self.currency} "
                f"over {self.horizon_months} months, more than the limit of {MONEY_TOTAL_LIMIT:,.0f} that keeps "
                f"money exact in whole cents; the largest part is {what} (about {amount:.3g}). Fix: lower "
                f"{fld} or the counts and months it is multiplied by"
            )


Term = tuple[float, str, str]
"""A part of a money estimate: (amount [currency], the field that sets it, what it is)."""


@dataclass(frozen=True)
class _Kind:
    """One kind of incident as the money estimate sees it."""

    name: str
    field: str
    jobs: float  # over the horizon, recurrences included
    effort: Distribution
    parts: Parts
    onsite: float
    affected: int  # users one incident can take down


def _money_terms(s: Scenario) -> dict[str, list[Term]]:
    """See :meth:`Scenario.money_terms`."""
    months = s.horizon_months
    counts = {seg.name: seg.count for seg in s.clients}
    if s.portfolio is not None:
        for seg in s.clients:
            start = sum(x.count for x in s.portfolio.starting if x.segment == seg.name)
            counts[seg.name] = max(seg.count, start + s.portfolio.sales.max_new_clients)
    n_clients = sum(counts.values())
    users = sum(counts[seg.name] * seg.users for seg in s.clients)
    endpoints = sum(counts[seg.name] * seg.endpoints for seg in s.clients)
    servers = sum(counts[seg.name] * seg.servers for seg in s.clients)
    site_users = max(seg.users for seg in s.clients)

    # The largest levers the scenario can use: its policies, the incentive search spaces, hiring.
    spaces = [s.incentives.levers, *s.incentives.contracts.values()]
    policies = [c.policy for c in s.contracts]
    techs = max([p.technicians for p in policies] + [x.technicians.high for x in spaces if x.technicians])
    if s.portfolio is not None:
        techs = max(techs, s.portfolio.hiring.max_technicians)
    k = [p.thoroughness for p in policies]
    k += [v for x in spaces if x.thoroughness for v in (x.thoroughness.low, x.thoroughness.high)]
    prevention = max(
        [p.prevention_hours_per_endpoint_month for p in policies]
        + [
            x.prevention_hours_per_endpoint_month.high
            for x in spaces
            if x.prevention_hours_per_endpoint_month
        ]
    )
    provider = s.provider
    hour_cost = provider.cost_per_technician_hour
    effort_factor = max(k) * max(1.0, provider.tools_effort_factor)
    p_recur = provider.recurrence.probability_at(min(k))
    # Jobs per incident, its recurrences included (the model ends a chain after 50).
    chain = 51.0 if p_recur >= 1 else min(51.0, 1.0 / (1.0 - p_recur))

    per_month = s.expected_incidents_per_month(counts)
    major = s.incidents.major
    kinds = [
        _Kind(
            c.name,
            f"incidents.categories[{c.name}]",
            per_month[c.name] * chain * months,
            c.effort_hours,
            c.parts,
            c.onsite_share,
            site_users if c.scope == "site" else 1,
        )
        for c in s.incidents.categories
    ]
    kinds.append(
        _Kind(
            MAJOR,
            "incidents.major",
            per_month[MAJOR] * chain * months,
            major.effort_hours,
            major.parts,
            1.0,
            site_users,
        )
    )
    jobs = sum(x.jobs for x in kinds)
    work = sum(
        x.jobs * (x.effort.expected * effort_factor + x.onsite * provider.travel_hours.expected)
        for x in kinds
    )
    work += prevention * endpoints * months
    parts = [(x.jobs * x.parts.probability * x.parts.cost.expected, f"{x.field}.parts.cost") for x in kinds]
    largest_effort, effort_field = max(
        (x.effort.largest * effort_factor, f"{x.field}.effort_hours") for x in kinds
    )
    largest_parts = max(x.parts.cost.largest for x in kinds)

    common: list[Term] = [
        (
            techs * MONTH_HOURS * hour_cost * months,
            "provider.cost_per_technician_hour",
            f"the pool's labour cost ({techs} technicians × {MONTH_HOURS:g} h × {months} months)",
        ),
        (
            work * hour_cost,
            "provider.cost_per_technician_hour",
            f"the cost of {work:.3g} hours of expected work",
        ),
        (
            provider.tools_cost_per_endpoint_month * endpoints * months,
            "provider.tools_cost_per_endpoint_month",
            f"the tools cost ({endpoints} endpoints × {months} months)",
        ),
        (sum(a for a, _ in parts), max(parts)[1], "the parts bought"),
    ]
    if s.portfolio is not None:
        p = s.portfolio
        staff = max([p.sales.staff] + [x.sales_staff or 0 for x in p.strategies])
        common += [
            (
                staff * p.sales.cost_per_staff_month * months,
                "portfolio.sales.cost_per_staff_month",
                f"the sales cost ({staff} staff × {months} months)",
            ),
            (
                p.hiring.max_technicians * p.hiring.cost_per_hire,
                "portfolio.hiring.cost_per_hire",
                "the hiring cost",
            ),
            (
                n_clients * p.onboarding_hours * hour_cost,
                "portfolio.onboarding_hours",
                "the onboarding labour",
            ),
            (
                p.tools_setup_cost + p.tools_platform_cost_per_month * months,
                "portfolio.tools_platform_cost_per_month",
                "the platform cost",
            ),
        ]

    def tm(terms: TmTerms, where: str) -> list[Term]:
        """T&M billing of every job at the larger rate and the after-hours multiplier, and of the largest job."""
        rate = max(terms.remote_rate, terms.onsite_rate) * terms.after_hours_multiplier
        rate_field = f"{where}.{'onsite_rate' if terms.onsite_rate >= terms.remote_rate else 'remote_rate'}"
        minimum = max(terms.minimum_remote_hours, terms.minimum_onsite_hours)
        extra = minimum + terms.billing_increment_hours
        hours = sum(x.jobs * (x.effort.expected * effort_factor + extra) for x in kinds)
        markup = 1 + terms.parts_markup
        largest = (largest_effort + extra) * max(rate, hour_cost) + largest_parts * markup
        return [
            (hours * rate, rate_field, f"the labour billed ({hours:.3g} h at up to {rate:g} an hour)"),
            (jobs * terms.trip_charge, f"{where}.trip_charge", f"the trip charges ({jobs:.3g} jobs)"),
            (sum(a for a, _ in parts) * markup, f"{where}.parts_markup", "the parts billed"),
            (
                largest,
                effort_field,
                f"the largest single job ({largest_effort:.3g} h, the largest effort a draw gives)",
            ),
        ]

    design = s.incentives.design
    out: dict[str, list[Term]] = {}
    for c in s.contracts:
        where = f"contracts[{c.name}]"
        terms = list(common)
        if isinstance(c, TimeAndMaterials):
            terms += tm(c, where)
            if c.bill_prevention:
                terms.append(
                    (
                        prevention * endpoints * months * c.remote_rate,
                        f"{where}.remote_rate",
                        "the prevention hours billed",
                    )
                )
        elif isinstance(c, FixedPrice):
            terms += tm(c.fallback, f"{where}.fallback")
            menu = sum(x.jobs * c.menu.get(x.name, 0.0) for x in kinds)
            terms += [
                (menu, f"{where}.menu", "the menu prices"),
                (jobs * c.trip_charge, f"{where}.trip_charge", f"the trip charges ({jobs:.3g} jobs)"),
            ]
        else:
            fees = [
                (
                    users * c.fee_per_user_month * months,
                    f"{where}.fee_per_user_month",
                    f"the fees ({users} users)",
                ),
                (
                    endpoints * c.fee_per_endpoint_month * months,
                    f"{where}.fee_per_endpoint_month",
                    f"the fees ({endpoints} endpoints)",
                ),
                (
                    servers * c.fee_per_server_month * months,
                    f"{where}.fee_per_server_month",
                    f"the fees ({servers} servers)",
                ),
                (
                    n_clients * c.onboarding_fee,
                    f"{where}.onboarding_fee",
                    f"the onboarding fees ({n_clients} clients)",
                ),
            ]
            terms += fees + tm(c.out_of_scope, f"{where}.out_of_scope")
            # Credits: every job breached, a month of downtime for every user it can take down, the whole fee
            # under compliance tiers, the design's levels for the incentive analysis; the largest, at most the cap.
            scheme = c.sla.credit
            fee = max(
                float(c.fee_per_client_month(seg.users, seg.endpoints, seg.servers)) for seg in s.clients
            )
            breach = scheme.amount + scheme.percent_of_fee * fee if isinstance(scheme, PerBreach) else 0.0
            hour = scheme.amount_per_user_hour if isinstance(scheme, PerDowntimeHour) else 0.0
            user_hours = sum(x.jobs * x.affected for x in kinds) * HOURS_PER_MONTH
            fee_total = sum(a for a, _, _ in fees)
            credits = [
                (jobs * breach, f"{where}.sla.credit", "the SLA credits per breach"),
                (
                    jobs * max(design.per_breach, default=0.0),
                    "incentives.design.per_breach",
                    "the credits per breach tried",
                ),
                (user_hours * hour, f"{where}.sla.credit", "the SLA credits per downtime hour"),
                (
                    user_hours * max(design.per_downtime_hour, default=0.0),
                    "incentives.design.per_downtime_hour",
                    "the credits per downtime hour tried",
                ),
                (
                    fee_total if isinstance(scheme, ComplianceTiers) else 0.0,
                    f"{where}.sla.credit",
                    "the SLA credits by compliance tier",
                ),
            ]
            total, field, what = max(credits)
            if c.sla.cap_percent_of_fee is not None:
                total = min(total, c.sla.cap_percent_of_fee * fee_total)
            terms.append((total, field, what))
        out[c.name] = terms
    return out


# --------------------------------------------------------------------------------------------- loading

MAX_DEPTH = 100
"""Deepest nesting of sections and lists a scenario or sweep file (or an override value) may have."""
MAX_NODES = 1_000_000
"""Most values a file may expand to, aliases written out (a scenario has a few thousand)."""


class _YamlProblem(yaml.MarkedYAMLError):
    """A well-formed YAML text this project refuses (a key given twice, nesting too deep), with the fix."""

    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a mapping key given twice (the last would silently win) and nesting
    deeper than :data:`MAX_DEPTH` (deeper still would overflow Python's stack)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _YamlProblem(
                    f"sections and lists are nested more than {MAX_DEPTH} levels deep here",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                    "flatten the structure; no scenario field is nested that deep",
                )
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` may be overridden by the keys written beside it
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                seen = key in first
            except TypeError:
                continue  # an unhashable key: PyYAML says so itself
            if seen:
                raise _YamlProblem(
                    f"the key '{key}' is given twice in one section (first at line {first[key].line + 1}); "
                    "the last would silently win",
                    key_node.start_mark,
                    "keep one of them",
                )
            first[key] = key_node.start_mark
        return super().construct_mapping(node, deep)  # type: ignore[no-untyped-call]


def _load_yaml(text: str, label: str) -> Any:
    """Parse YAML text with :class:`_Loader` into an unshared tree (see :func:`_tree`); errors name ``label``
    and the line."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except _YamlProblem as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{label}: not usable YAML{where}: {exc.problem}. Fix: {exc.fix}.") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{label}: not valid YAML{where}: {exc.problem}. Fix the syntax there.") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{label}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            f"{label}: the YAML is nested too deeply to read. Fix: flatten the structure."
        ) from None
    return _tree(data, label)


def _tree(data: Any, label: str) -> Any:
    """A copy of plain data in which no section or list is shared.

    YAML aliases (``*name``) give the very object of their anchor (``&name``), and ``copy.deepcopy`` keeps that
    sharing, so an override of one path would change every place the anchor is used. This copies each place on
    its own. A section that contains itself (``a: &x [*x]``), nesting deeper than :data:`MAX_DEPTH` and more
    than :data:`MAX_NODES` values in all (aliases of aliases, the "billion laughs") are errors naming ``label``.
    """
    count = 0
    open_ids: set[int] = set()

    def copy(node: Any, path: list[str]) -> Any:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise ScenarioError(
                f"{label}: the data expands to more than {MAX_NODES:,} values once its aliases (*name) are "
                "written out. Fix: use fewer aliases of aliases; a scenario needs a few thousand values."
            )
        if not isinstance(node, dict | list):
            return node
        where = ".".join(path) or "(top level)"
        if id(node) in open_ids:
            raise ScenarioError(
                f"{label}: field '{where}': an alias (*name) refers to a section that contains it, so it would "
                "never end. Fix: write the section out, or alias a section defined elsewhere."
            )
        if len(path) >= MAX_DEPTH:
            raise ScenarioError(
                f"{label}: field '{where}': sections and lists are nested more than {MAX_DEPTH} levels deep. "
                "Fix: flatten the structure; no scenario field is nested that deep."
            )
        open_ids.add(id(node))
        try:
            if isinstance(node, dict):
                return {k: copy(v, [*path, str(k)]) for k, v in node.items()}
            return [copy(v, [*path, str(i)]) for i, v in enumerate(node)]
        finally:
            open_ids.discard(id(node))

    return copy(data, [])


def _prefix(label: str | None) -> str:
    return f"{label}: " if label else ""


def parse_override(text: str, label: str | None = None) -> tuple[str, Any]:
    """Split ``dotted.path=value``; the value is read as YAML (numbers, booleans, lists, null). Messages start
    with ``label`` (the scenario file) when given."""
    if "=" not in text:
        raise ScenarioError(
            f"{_prefix(label)}override '{text}': expected dotted.path=value, e.g. "
            "contracts.managed.fee_per_user_month=120"
        )
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path:
        raise ScenarioError(f"{_prefix(label)}override '{text}': the path before '=' is empty")
    where = f"{_prefix(label)}override '{text}'"
    try:
        value = yaml.load(raw, Loader=_Loader) if raw.strip() else ""  # a SafeLoader subclass
    except _YamlProblem as exc:
        raise ScenarioError(f"{where}: {exc.problem}. Fix: {exc.fix}.") from None
    except yaml.YAMLError:
        value = raw  # not YAML: the text itself
    return path, _tree(value, where)


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any] | list[str] | None, label: str | None = None
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted path set; list items are addressed by index, by ``name``, or
    all at once by ``*`` (``clients.*.downtime_cost_per_user_hour=60``).

    The copy shares nothing (see :func:`_tree`): sections a YAML file shares through anchors are set apart
    first, so an override changes only the path it names. Messages start with ``label`` when given."""
    result = _tree(data, label or "<dict>")
    items = (
        [parse_override(o, label) for o in overrides]
        if isinstance(overrides, list)
        else list((overrides or {}).items())
    )
    for path, value in items:
        _set_keys(result, path.split("."), 0, path, value, label)
    return result


def _set_keys(node: Any, keys: list[str], start: int, path: str, value: Any, label: str | None) -> None:
    """Set ``keys[start:]`` below ``node`` (reached by ``keys[:start]``); ``*`` fans out over a list, each item
    getting its own copy of ``value``."""
    for i in range(start, len(keys)):
        key = keys[i]
        last = i == len(keys) - 1
        where = ".".join(keys[: i + 1])
        if isinstance(node, list) and key == "*":
            if not node:
                raise ScenarioError(
                    f"{_prefix(label)}override path '{where}': the list is empty, so '*' matches nothing"
                )
            for idx in range(len(node)):
                _set_keys(node, [*keys[:i], str(idx), *keys[i + 1 :]], i, path, value, label)
            return
        if isinstance(node, list):
            idx = _list_index(node, key, where, label)
            if last:
                node[idx] = _tree(value, label or "<dict>")
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[key] = _tree(value, label or "<dict>")
            else:
                if key not in node or node[key] is None:
                    node[key] = {}
                node = node[key]
        else:
            raise ScenarioError(
                f"{_prefix(label)}override '{path}': '{'.'.join(keys[:i])}' is a value, not a section"
            )


def _list_index(node: list[Any], key: str, where: str, label: str | None) -> int:
    if key.lstrip("-").isdigit():
        idx = int(key)
        if -len(node) <= idx < len(node):
            return idx
        raise ScenarioError(
            f"{_prefix(label)}override path '{where}': index {idx} is out of range "
            f"(the list has {len(node)} items)"
        )
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if key in names:
        return names.index(key)
    hint = difflib.get_close_matches(key, [n for n in names if isinstance(n, str)], n=1)
    extra = f"; did you mean '{hint[0]}'?" if hint else f"; names are {names}"
    raise ScenarioError(f"{_prefix(label)}override path '{where}': no list item named '{key}'{extra}")


def load_scenario(
    source: str | Path | dict[str, Any], overrides: dict[str, Any] | list[str] | None = None
) -> Scenario:
    """Read and validate a scenario from a YAML file or a dict, after applying overrides.

    Raises :class:`ScenarioError` with a one-paragraph message naming the file, the field and the fix.
    """
    label = "<dict>"
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        label = str(path)
        data = read_yaml(path)
    data = apply_overrides(data, overrides, label)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(label, exc, data)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Load a YAML mapping as an unshared tree, with errors that name the file and the line: a key given twice,
    nesting deeper than :data:`MAX_DEPTH`, aliases that expand beyond :data:`MAX_NODES` values."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            f"{path}: file not found. Give the path to a scenario YAML file, e.g. scenarios/baseline.yaml."
        ) from None
    except IsADirectoryError:
        raise ScenarioError(
            f"{path}: is a folder; give the path to a scenario YAML file inside it."
        ) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL in the path
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError(
            f"{path}: cannot be read ({why}). Give the path to a readable YAML file."
        ) from None
    data = _load_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: the file must hold a mapping of scenario fields (name, clients, ...), not {type(data).__name__}."
        )
    return data


def format_validation_error(label: str, exc: ValidationError, data: dict[str, Any]) -> str:
    """One paragraph per problem: file, field path (list items by name), what is wrong, how to fix it."""
    lines = []
    errors = exc.errors(include_url=False)
    for err in errors[:8]:
        loc = _readable_loc(err["loc"], data)
        explained = _explain(err, data)
        if explained.startswith("@") and ": " in explained:  # a cross-field check that names its own field
            inner, explained = explained[1:].split(": ", 1)
            loc = inner if loc == "(top level)" else f"{loc}.{inner}"
        lines.append(f"{label}: field '{loc}': {explained}")
    if len(errors) > 8:
        lines.append(f"... and {len(errors) - 8} more problems.")
    return "\n".join(lines)


def _readable_loc(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(node, list) and isinstance(key, int):
            item = node[key] if key < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            printable = isinstance(name, str) and 0 < len(name) <= 200 and name.isprintable()
            parts.append(f"[{name}]" if printable else f"[{key}]")
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(f".{key}" if parts else str(key))
            node = node[key]
        elif (isinstance(node, dict) and node.get("kind") == key) or (
            isinstance(node, dict) and node.get("dist") == key
        ):
            continue  # the discriminator tag pydantic inserts
        else:
            parts.append(f".{key}" if parts else str(key))
            node = None
    return "".join(parts) or "(top level)"


def _explain(err: Any, data: Any) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err["loc"], data)
        key = str(err["loc"][-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        fix = (
            f"did you mean '{hint[0]}'?"
            if hint
            else (f"allowed keys here: {', '.join(allowed)}." if allowed else "remove it.")
        )
        return f"unknown key. Fix: {fix}"
    if kind == "missing":
        return "required field is missing. Fix: add it (see `msp-sim schema` for its meaning and unit)."
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return f"{msg}. Fix: set it to one of the listed values."
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {_short_repr(got)})"
    if kind == "value_error":  # our own validators already say what to do
        return msg.removeprefix("Value error, ")
    return f"{msg}{shown}. Fix: {fix_for(kind)}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(str(value)):,} characters)"


def fix_for(kind: str) -> str:
    """The fix for a pydantic error of this type (a value out of range, not finite, ...)."""
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "give a value in the field's range (`msp-sim schema` lists every range)."
    if kind == "finite_number":
        return "give a finite number (.inf and .nan are not allowed)."
    if kind == "too_short":
        return "give at least one item."
    if kind in ("string_too_short", "string_too_long"):
        return "names are 1 to 200 characters, a description at most 10,000."
    return "correct the value."


def _submodel(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model class an annotation stands for, given the data (discriminated unions pick by ``kind``/``dist``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg, value)
        if found is None:
            continue
        tags = [
            t for t in ("kind", "dist") if t in found.model_fields and isinstance(value, dict) and t in value
        ]
        if any(str(value[t]) not in str(found.model_fields[t].annotation) for t in tags):
            continue
        return found
    return None


def _allowed_keys(loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names of the model at ``loc[:-1]``, found by walking the schema alongside the data."""
    model: type[BaseModel] | None = Scenario
    node: Any = data
    list_item: Any = None
    for key in loc[:-1]:
        if isinstance(node, list) and isinstance(key, int):
            node = node[key] if key < len(node) else None
            model = _submodel(list_item, node) if list_item is not None and isinstance(node, dict) else None
            continue
        if model is None or not isinstance(node, dict) or key not in node:
            continue  # a discriminator tag pydantic inserted into the location
        field = model.model_fields.get(str(key))
        node = node[key]
        if field is None:
            return []
        list_item = get_args(field.annotation)[0] if get_origin(field.annotation) is list else None
        model = None if list_item is not None else _submodel(field.annotation, node)
    return sorted(model.model_fields) if model is not None else []


def dump_yaml(data: Any, **style: Any) -> str:
    """YAML text of plain data in the project's style (keys in order); ``style`` passes emitter options."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, **style)


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (every default written out), loadable again."""
    return dump_yaml(scenario.model_dump(mode="json"))


def priorities() -> tuple[str, ...]:
    """The priority labels, highest first."""
    return PRIORITIES
