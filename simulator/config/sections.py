"""The sections of a scenario file: calendar, client segments and their behaviour, incident categories and
major incidents, and the provider. Each field carries a docstring with its unit and a finite range."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.base.calendar import WeekCalendar
from simulator.base.distributions import Distribution
from simulator.base.limits import (
    CLIENTS,
    ENDPOINTS,
    FACTOR,
    LOGIT,
    LOGIT_SLOPE,
    MONEY,
    MONTH_HOURS,
    RATE,
    SERVERS,
    USERS,
    WORK_HOURS,
    Label,
)

__all__ = [
    "DAY_NAMES",
    "MAJOR",
    "PRIORITY_MATRIX",
    "Behaviour",
    "BlockingBehaviour",
    "Calendar",
    "Capacity",
    "Category",
    "Churn",
    "ClientSegment",
    "ConfigModel",
    "Incidents",
    "MajorIncidents",
    "Overhead",
    "Parts",
    "PriceResponse",
    "PriorityFromImpact",
    "Provider",
    "Recurrence",
    "Triage",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRODUCTIVE_SHARE = 1760 / 2080
"""Productive share of paid hours by default: 1,760 of 2,080 hours a year after leave, holidays and training."""
MAJOR = "major"


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, validate_default=True, allow_inf_nan=False
    )


class Calendar(ConfigModel):
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
        return _week(tuple(DAY_NAMES.index(d) for d in self.business_days), self.open_hour, self.close_hour)

    def coverage(self) -> WeekCalendar:
        """The technicians' duty hours."""
        if self.hours == "24x7":
            return _week((), 0.0, 24.0, always_open=True)
        return self.users()


@functools.lru_cache(maxsize=256)
def _week(
    days: tuple[int, ...], open_hour: float, close_hour: float, always_open: bool = False
) -> WeekCalendar:
    """A week's calendar, built once per distinct week (it is immutable, and every replication asks for it)."""
    if always_open:
        return WeekCalendar(always_open=True)
    return WeekCalendar(days, open_hour, close_hour)


class BlockingBehaviour(ConfigModel):
    """How staff deal with an incident that blocks the user's work (a dead laptop, no e-mail)."""

    call_in_share: float = Field(ge=0, le=1)
    """Share of blocking user-scope incidents reported to the provider [share]."""
    reporting_delay_hours: Distribution
    """Occurrence to report, for blocking incidents monitoring does not catch [business hours]."""


class PriceResponse(ConfigModel):
    """How the share of non-blocking incidents a client calls in falls with what a call is expected to cost it
    under its contract (a constant-elasticity response):

    call-in share = min(1, call_in_share × (expected charge / reference_charge)^(−elasticity)),

    so ``call_in_share`` is the share at the reference charge, a dearer call is made less often and a call that
    costs nothing (a flat fee) is always made. The expected charge of a call comes from the contract
    (``ContractKind.expected_charge``): billable hours at its rates plus the trip charge for the expected share of
    visits, for the category's expected effort. Blocking incidents keep their own share (a stopped user calls
    whatever it costs)."""

    elasticity: float = Field(0.5, ge=0, le=FACTOR)
    """How strongly the call-in share falls with the charge: −d ln(share) / d ln(charge); 0 is no response. An
    assumption to vary (0.2-1): no published figure for IT support, only that clients "delay calling to avoid
    costs" (US Wired, Direct Support); 0.5 halves the share when a call costs four times the reference
    [dimensionless]."""
    reference_charge: float = Field(200.0, gt=0, le=MONEY)
    """The expected charge of a call at which the behaviour's ``call_in_share`` was observed: about 200, the
    charge of a called-in ticket at the industry-default T&M terms ($135/h remote, $150/h on site, minimums, $50
    trip; about $197 a ticket), where about 40% of issues are called in [currency]."""

    def share(self, base: float, charge: np.ndarray) -> np.ndarray:
        """The call-in share at each expected ``charge`` [currency] of a behaviour whose share is ``base`` at the
        reference charge [share]: base × (charge / reference)^(−elasticity), at most 1; 1 at no charge (0 when
        ``base`` is 0); ``base`` itself when the elasticity is 0."""
        charge = np.asarray(charge, dtype=float)
        if self.elasticity == 0 or base == 0:
            return np.full(charge.shape, base)
        with np.errstate(divide="ignore"):
            factor = np.where(
                charge > 0, (np.maximum(charge, 1e-300) / self.reference_charge) ** -self.elasticity, np.inf
            )
        return np.minimum(1.0, base * factor)


class Behaviour(ConfigModel):
    """How a client's staff deal with incidents under one kind of contract."""

    call_in_share: float = Field(ge=0, le=1)
    """Share of user-scope incidents reported to the provider (the non-blocking ones when ``blocking`` is set);
    the rest are worked around by staff [share]."""
    reporting_delay_hours: Distribution
    """Occurrence to report, for incidents monitoring does not catch (the non-blocking ones when ``blocking`` is
    set) [business hours]."""
    self_handling_hours: Distribution = {"dist": "fixed", "mean": 0.5}  # type: ignore[assignment]
    """Staff time lost on an incident that is not called in (counts as blocked user-hours) [hours]."""
    blocking: BlockingBehaviour | None = None
    """Call-in share and reporting delay for incidents that block the user; null: as for the others."""
    price_response: PriceResponse | None = None
    """How the call-in share of non-blocking incidents falls with the expected charge of a call under the
    contract (for the break/fix behaviour: T&M, fixed price, block-hours overage, monitoring plus T&M); null: the
    same share whatever a call costs."""
    extra_requests_per_user_month: float = Field(0.0, ge=0, le=RATE)
    """Over-use when a call is free: extra trivial requests ("how do I...", small changes) each user raises under
    a contract that charges nothing per call for ``extra_request_category`` (a flat fee), on top of the incidents
    and whatever the client's incident propensity; none under a contract that charges for them. Usually set on the
    managed behaviour; 0: none (an assumption to vary; no published figure) [requests/user-month]."""
    extra_request_effort_hours: Distribution = {"dist": "fixed", "mean": 0.25}  # type: ignore[assignment]
    """Technician hands-on time of an extra request [hours]."""
    extra_request_category: Label | None = None
    """The incident category (user scope) the extra requests are reported, billed and counted as, e.g. a service
    request category; each is remote, needs no parts, blocks nobody (no downtime), is P4, is always called in,
    cannot be prevented, detected or stopped by a security stack, and never recurs. Needed when
    ``extra_requests_per_user_month`` is above 0."""

    @model_validator(mode="after")
    def _extra_requests(self) -> Behaviour:
        if self.extra_requests_per_user_month > 0 and self.extra_request_category is None:
            raise ValueError(
                "extra_requests_per_user_month is above 0 but extra_request_category is not set; name the incident "
                "category the extra requests are billed and counted as (e.g. extra_request_category: "
                "service-request)"
            )
        return self

    @property
    def over_uses(self) -> bool:
        """Whether its clients raise extra requests when a call is free."""
        return self.extra_requests_per_user_month > 0

    def for_blocking(self) -> BlockingBehaviour:
        """The call-in share and reporting delay of blocking incidents (those of the others when not set)."""
        if self.blocking is not None:
            return self.blocking
        return BlockingBehaviour(
            call_in_share=self.call_in_share, reporting_delay_hours=self.reporting_delay_hours
        )


class ClientSegment(ConfigModel):
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
    sites: int = Field(1, ge=1, le=USERS)
    """Locations per client, its users split evenly among them; a site-scope incident takes down one site
    [count]."""
    downtime_cost_per_user_hour: float = Field(ge=0, le=MONEY)
    """Cost of one blocked user-hour: loaded wage × productivity loss [currency/user-hour]."""
    site_outage_cost_per_user_hour: float = Field(ge=0, le=MONEY)
    """Cost per user-hour when a site is down (lost revenue included) [currency/user-hour]."""
    break_fix: Behaviour
    """Staff behaviour under break/fix contracts (time and materials, fixed price)."""
    managed: Behaviour = Behaviour(
        call_in_share=1.0,
        reporting_delay_hours={"dist": "exponential", "mean": 0.5},  # type: ignore[arg-type]
    )
    """Staff behaviour under a managed contract (clients report everything: nothing extra to pay)."""
    incident_propensity: Distribution | None = None
    """How the segment's clients differ in how often things go wrong: each client's multiplier of every incident
    rate (every category and major incidents), drawn once per client and replication; its mean must be 1 (it
    spreads the rates among the clients without changing their average), e.g. ``{dist: gamma, mean: 1, cv:
    0.5}``; null: every client at the segment's rates [factor]."""

    @field_validator("incident_propensity")
    @classmethod
    def _mean_one(cls, value: Distribution | None) -> Distribution | None:
        if value is not None and not math.isclose(value.expected, 1.0, rel_tol=0, abs_tol=1e-9):
            raise ValueError(
                f"incident_propensity must have mean 1 (it has mean {value.expected:g}): it multiplies each "
                "client's incident rates, spreading them among the clients without changing their average. Fix: "
                "give mean 1 and the spread as cv, e.g. {dist: gamma, mean: 1, cv: 0.5} or {dist: lognormal, "
                "mean: 1, cv: 0.5}"
            )
        return value

    @property
    def behaviours(self) -> tuple[Behaviour, Behaviour]:
        """Its behaviour under a break/fix contract and under a flat fee, in that order (index = managed)."""
        return (self.break_fix, self.managed)

    @model_validator(mode="after")
    def _sites(self) -> ClientSegment:
        if self.sites > self.users:
            raise ValueError(
                f"sites ({self.sites}) must be at most users ({self.users}): every site has a user"
            )
        return self

    @staticmethod
    def users_at(users: Any, sites: Any, site: Any) -> Any:
        """Users at site number ``site`` (from 0) of a client with ``users`` users at ``sites`` sites: as even a
        split as whole users allow, the first ``users mod sites`` sites one user larger (numbers or arrays)."""
        base, extra = np.divmod(users, sites)
        return base + (site < extra)

    @property
    def largest_site_users(self) -> int:
        """Users at the segment's largest site [count]."""
        return int(self.users_at(self.users, self.sites, 0))


class Parts(ConfigModel):
    """Parts needed by an incident."""

    probability: float = Field(0.0, ge=0, le=1)
    """Share of incidents that need parts [share]."""
    cost: Distribution = {"dist": "fixed", "mean": 0.0}  # type: ignore[assignment]
    """Parts cost at the provider's cost, when needed [currency]."""


PRIORITY_MATRIX = ((1, 2, 2), (2, 3, 3), (3, 3, 4))
"""Priority (1 = P1) by impact (rows: high, medium, low) and urgency (columns: high, medium, low)."""


class PriorityFromImpact(ConfigModel):
    """Priority set as service desks set it (ITIL): from impact and urgency by :data:`PRIORITY_MATRIX`. Impact is
    high for a site-scope incident, medium for one that blocks a single user and low otherwise; urgency is high when
    the incident blocks, else medium for ``urgent_share`` of incidents and low for the rest. So a site-scope
    incident is P1 (blocking) or P2, a blocked user P2, any other incident P3 (urgent) or P4."""

    from_: Literal["impact"] = Field(alias="from")
    """Where the priority comes from: ``impact`` (the only choice)."""
    urgent_share: float = Field(0.3, ge=0, le=1)
    """Share of non-blocking incidents that are urgent (a deadline, a customer waiting) [share]."""


class Category(ConfigModel):
    """One kind of incident and its arrival rate, effort and effects."""

    name: Label
    """Category label; the fixed-price menu and out-of-scope lists refer to it."""
    rate_per_user_month: float | None = Field(None, ge=0, le=RATE)
    """Arrival rate without prevention [incidents/user-month]; for user-scope categories give this or
    ``rate_per_endpoint_month``."""
    rate_per_endpoint_month: float | None = Field(None, ge=0, le=RATE)
    """Arrival rate without prevention [incidents/endpoint-month]."""
    rate_per_site_month: float | None = Field(None, ge=0, le=RATE)
    """Arrival rate without prevention of a site-scope category [incidents/site-month]: each site of a client
    has its own outages."""
    effort_hours: Distribution
    """Technician hands-on time at thoroughness 1 without tooling [hours]."""
    onsite_share: float = Field(0.0, ge=0, le=1)
    """Share needing an on-site visit when the provider does not monitor [share]."""
    remote_with_monitoring: float = Field(0.7, ge=0, le=1)
    """Share of those visits that monitoring's remote tools (RMM agent, remote control) turn into remote work, in
    proportion to the tooling's rollout; the default takes the on-site share of tickets from about 50% without RMM
    to about 15% with it (industry references) [share]."""
    parts: Parts = Parts()
    """Parts needed."""
    blocking_share: float = Field(0.22, ge=0, le=1)
    """Share of incidents that fully block the user [share]."""
    partial_productivity_loss: float = Field(0.25, ge=0, le=1)
    """Productivity lost while a non-blocking incident is open [share]."""
    scope: Literal["user", "site"] = "user"
    """One user affected, or one site (all the users there; see the client's ``sites``)."""
    priority_mix: dict[Literal["P1", "P2", "P3", "P4"], float] | None = None
    """Share of incidents at each priority, drawn independently of impact; sums to 1 [shares]. Give this or
    ``priority``."""
    priority: PriorityFromImpact | None = None
    """Priority from impact and urgency (``{from: impact}``) instead of a fixed ``priority_mix``."""
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
    def _mix(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        if mix is not None:
            _check_mix(mix)
        return mix

    def rate_per_client_month(self, users: int, endpoints: int, sites: int = 1) -> float:
        """Expected incidents a month, without prevention, at a client with these users, endpoints and sites."""
        if self.rate_per_site_month is not None:
            return self.rate_per_site_month * sites
        if self.rate_per_user_month is not None:
            return self.rate_per_user_month * users
        return float(self.rate_per_endpoint_month or 0.0) * endpoints

    @model_validator(mode="after")
    def _check(self) -> Category:
        if self.scope == "site":
            if self.rate_per_user_month is not None:
                old = self.rate_per_user_month
                raise ValueError(
                    "a site-scope category arrives per site: replace rate_per_user_month with rate_per_site_month "
                    "[incidents/site-month]. A site outage used to arrive at a rate per user and take down every "
                    "user, so a client's outage cost grew with its users squared; the old rate times the users of "
                    f"a site gives the same count for a site of that size ({old:g} x 25 users = {old * 25:g})"
                )
            if self.rate_per_site_month is None:
                raise ValueError("a site-scope category needs rate_per_site_month [incidents/site-month]")
            if self.rate_per_endpoint_month is not None:
                raise ValueError(
                    "a site-scope category takes only rate_per_site_month, not rate_per_endpoint_month"
                )
        else:
            if self.rate_per_site_month is not None:
                raise ValueError(
                    "rate_per_site_month is for site-scope categories; set scope: site, or give "
                    "rate_per_user_month or rate_per_endpoint_month"
                )
            if (self.rate_per_user_month is None) == (self.rate_per_endpoint_month is None):
                raise ValueError("give exactly one of rate_per_user_month and rate_per_endpoint_month")
        if (self.priority_mix is None) == (self.priority is None):
            raise ValueError("give exactly one of priority_mix and priority (e.g. priority: {from: impact})")
        if self.name == MAJOR:
            raise ValueError(f"the category name '{MAJOR}' is reserved for major incidents")
        return self


def _check_mix(mix: Mapping[Any, float]) -> None:
    if any(v < 0 for v in mix.values()):
        raise ValueError("priority_mix shares must be >= 0")
    total = sum(mix.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"priority_mix must sum to 1 (it sums to {total:g}); adjust the shares")


class MajorIncidents(ConfigModel):
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


class Incidents(ConfigModel):
    """What goes wrong."""

    categories: list[Category] = Field(min_length=1)
    """Incident categories."""
    major: MajorIncidents = MajorIncidents()
    """Major incidents."""


class Triage(ConfigModel):
    """Triage and dispatch delay before a ticket joins the technician queue."""

    manual: Distribution = {"dist": "exponential", "mean": 0.5}  # type: ignore[assignment]
    """Without PSA automation [hours on duty]."""
    automated: Distribution = {"dist": "exponential", "mean": 0.083}  # type: ignore[assignment]
    """With PSA automation (monitoring/tooling on) [hours on duty]."""
    urgent: Distribution = {"dist": "exponential", "mean": 0.5}  # type: ignore[assignment]
    """P1 tickets without automation: dispatched at once rather than scheduled [hours on duty]."""


class Recurrence(ConfigModel):
    """Fixes that do not hold."""

    probability: float = Field(0.05, ge=0, le=1)
    """Probability that a fix at thoroughness 1 recurs [share]."""
    thoroughness_elasticity: float = Field(2.0, ge=0, le=FACTOR)
    """p(k) = min(1, probability · k^(−elasticity)): rushing (k < 1) raises it [dimensionless]."""
    delay_hours: Distribution = {"dist": "exponential", "mean": 120.0}  # type: ignore[assignment]
    """Resolution to recurrence [business hours]."""
    client_hours: float = Field(0.0, ge=0, le=WORK_HOURS)
    """The user's time to report a recurrence again and explain it once more, on top of its downtime, valued at the
    client's downtime cost [hours per recurrence]."""

    def probability_at(self, thoroughness: float) -> float:
        """p(k) = min(1, probability · k^(−elasticity)) [share]; 1 when k^(−elasticity) is beyond floats."""
        try:
            with np.errstate(over="ignore"):  # a numpy k gives inf, a float raises
                factor = thoroughness ** (-self.thoroughness_elasticity)
        except OverflowError:
            factor = math.inf
        return min(1.0, self.probability * factor) if self.probability > 0 else 0.0


class Overhead(ConfigModel):
    """The provider's costs beyond service delivery (premises, management, sales and admin staff, insurance):
    subtracted from the gross profit to give the net profit."""

    fixed_per_month: float = Field(0.0, ge=0, le=MONEY)
    """Fixed overhead borne by this portfolio [currency/month]."""
    share_of_revenue: float = Field(0.0, ge=0, le=1)
    """Overhead that grows with revenue (billing, commissions, a share of management) [share of revenue]."""


class Capacity(ConfigModel):
    """The long-run labour cost (``labour_cost_basis: capacity``): idle hours are not lost and a long queue is not
    free."""

    idle_hour_value_share: float = Field(0.5, ge=0, le=1)
    """What an idle productive hour earns sold elsewhere (projects, other clients), net, as a share of the
    technician hour cost; an assumption to vary: 0 is the ``paid`` view, 1 sells every idle hour [share]."""
    backlog_threshold_hours: float = Field(40.0, ge=0, le=WORK_HOURS)
    """Queued work beyond which the provider buys overtime or subcontractors at ``overtime_premium`` for every
    hour the queue grows past it (the simulated queue itself is not shortened) [hours]."""


class Provider(ConfigModel):
    """The IT service provider's cost side and operations."""

    cost_per_technician_hour: float = Field(ge=0, le=MONEY)
    """Loaded labour cost of a technician hour [currency/hour]."""
    labour_cost_basis: Literal["paid", "worked", "capacity"] = "paid"
    """``paid``: every paid hour of the pool costs, busy or idle (salaried, short run); ``worked``: only hours worked
    cost (long run, or a provider whose pool also serves other clients); ``capacity``: the salaried pool is paid,
    its idle hours earn what they sell for elsewhere and a queue beyond a threshold is worked off with overtime or
    subcontractors at the premium (see ``capacity``): a provider that staffs for the long run."""
    capacity: Capacity = Capacity()
    """How ``capacity`` costing values idle hours and a long queue."""
    shared_utilization: float = Field(0.7, gt=0, le=1)
    """With ``worked`` costing: the utilisation the provider's technicians reach over all the clients they serve;
    each hour worked for these clients carries its share of the technicians' idle time (industry 0.60-0.75,
    target 0.70-0.80) [share of productive hours]."""
    paid_hours_per_technician_month: float = Field(173.3, gt=0, le=MONTH_HOURS)
    """Paid hours per technician (40 h a week); with ``paid`` costing each technician slot is paid for at least
    this, and its on-duty hours beyond it at ``overtime_premium`` [hours/month]."""
    productive_hours_per_technician_month: float | None = Field(None, gt=0, le=MONTH_HOURS)
    """Of the paid hours, those a technician gives to tickets and prevention: paid hours less leave, holidays,
    training and admin; the pool works at this share of its on-duty time. Null: 1,760 of every 2,080 paid hours
    (146.7 of 173.3 a month) [hours/month]."""
    overtime_premium: float = Field(1.5, ge=1, le=FACTOR)
    """Pay multiplier for a slot's on-duty hours beyond one technician's paid hours (overtime or shift premium:
    business hours of 50 h a week are more than a 40-hour week) and for clearing the backlog after the horizon
    [factor]."""
    travel_hours: Distribution = {"dist": "lognormal", "mean": 0.75, "cv": 0.5}  # type: ignore[assignment]
    """Round-trip travel per on-site visit, unbilled beyond the trip charge [hours]."""
    overhead: Overhead = Overhead()
    """Overhead beyond service delivery; it turns the gross profit into the net profit."""
    target_gross_margin: float = Field(0.5, ge=0, lt=1)
    """The gross margin the provider prices a flat fee for: a run gives the fee that reaches it (agreement targets
    0.50-0.70, TruMethods; services gross margin 0.38-0.50, Service Leadership Index) [share of revenue]."""
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

    @model_validator(mode="after")
    def _productive(self) -> Provider:
        if self.productive_hours > self.paid_hours_per_technician_month:
            raise ValueError(
                f"productive_hours_per_technician_month ({self.productive_hours:g}) is more than "
                f"paid_hours_per_technician_month ({self.paid_hours_per_technician_month:g}); productive hours are "
                "the paid hours less leave, training and admin"
            )
        return self

    @property
    def productive_hours(self) -> float:
        """Productive hours per technician-month: the given figure, else 1,760/2,080 of the paid hours [hours]."""
        if self.productive_hours_per_technician_month is not None:
            return self.productive_hours_per_technician_month
        return self.paid_hours_per_technician_month * PRODUCTIVE_SHARE

    @property
    def availability(self) -> float:
        """Share of on-duty time a technician works on tickets and prevention: productive / paid hours."""
        return self.productive_hours / self.paid_hours_per_technician_month

    @property
    def worked_hour_gross_up(self) -> float:
        """Paid hours per hour worked under ``worked`` costing: the unproductive hours (leave, training, admin) and
        the shared technicians' idle time each hour worked carries: paid / productive / shared utilisation."""
        return 1.0 / (self.availability * self.shared_utilization)


class Churn(ConfigModel):
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
    per_recurrence_per_month: float = Field(0.0, ge=0, le=LOGIT_SLOPE)
    """Logit per recurrence (a fix that did not hold) per month over the last term [1/recurrence]."""

    def probability(
        self,
        downtime_per_user_month: np.ndarray,
        breaches_per_month: np.ndarray,
        recurrences_per_month: np.ndarray,
        price_rise: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """The probability of leaving at a renewal, given the last term's figures [share]."""
        logit = (
            self.intercept
            + self.per_downtime_hour_per_user_month * downtime_per_user_month
            + self.per_breach_per_month * breaches_per_month
            + self.per_recurrence_per_month * recurrences_per_month
            + self.per_price_change * np.maximum(price_rise, 0.0)
        )
        return np.asarray(1.0 / (1.0 + np.exp(-logit)))
