"""What every contract kind shares: the model settings, the provider's levers (:class:`Policy`), T&M terms, and
the interface (:class:`ContractKind`) through which the rest of the package uses a contract without asking which
kind it is: its bill, its SLA, the client behaviour it meets, its money estimate and its terms in plain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.base.limits import (
    FACTOR,
    MONEY,
    MONTH_HOURS,
    PREVENTION_HOURS,
    TECHNICIANS,
    THOROUGHNESS,
    WORK_HOURS,
    Label,
)
from simulator.base.records import BillingContext, PreventionLog, TicketLog

from .ledger import Ledger

if TYPE_CHECKING:
    from .sla import CreditScheme, SlaTerms

__all__ = [
    "CoManaged",
    "ContractKind",
    "ContractModel",
    "Exposure",
    "KindExposure",
    "Policy",
    "RateCard",
    "Size",
    "Term",
    "TmTerms",
    "Words",
]


class ContractModel(BaseModel):
    """Settings of every contract model: unknown keys rejected, immutable, finite numbers, field docstrings."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False)


class Policy(ContractModel):
    """The provider's levers under a contract: what it chooses to do."""

    technicians: int = Field(ge=1, le=TECHNICIANS)
    """Technicians in the pool serving this portfolio [count]."""
    prevention_hours_per_endpoint_month: float = Field(0.0, ge=0, le=PREVENTION_HOURS)
    """Proactive maintenance time per endpoint [hours/endpoint-month]; removes part of the preventable rate."""
    monitoring: bool = False
    """RMM/PSA tooling on: detectable incidents are seen at once, some fixed automatically, triage automated."""
    thoroughness: float = Field(1.0, gt=0, le=THOROUGHNESS)
    """Fix effort multiplier k; a rushed fix (k < 1) saves time but recurs more often."""
    security_stack: Label | None = None
    """The security stack (a name under the scenario's ``security_stacks``) the provider runs for the clients on
    this contract: it stops part of their incidents, shortens major outages and costs the provider per endpoint;
    null: none."""


class CoManaged(ContractModel):
    """Co-managed IT: the client's own IT handles a share of the simple tickets (L1), which never reach the
    provider's technicians and are not billed; its time counts as the client's cost."""

    share: float = Field(ge=0, le=1)
    """Share of the L1-eligible tickets the client's own IT takes [share]."""
    l1_max_effort_hours: float = Field(ge=0, le=WORK_HOURS)
    """A ticket is L1-eligible when it is remote (no visit needed), not a major incident, not a recurrence, and
    its hands-on effort (at thoroughness 1) is at most this [hours]."""
    client_it_cost_per_hour: float = Field(ge=0, le=MONEY)
    """What an hour of the client's own IT costs the client (loaded wage) [currency/hour]."""
    categories: list[str] | None = Field(None, min_length=1)
    """Incident categories that can be L1-eligible; null: every category (major incidents never are)."""

    def describe(self, words: Words) -> str:
        """Co-management in words: which tickets the client's own IT takes and what its hour costs."""
        which = f" of {words.join(self.categories)}" if self.categories else ""
        return (
            f"co-managed: the client's own IT takes {words.pct(self.share)} of the remote tickets{which} of up to "
            f"{words.hours(self.l1_max_effort_hours)} (not major incidents or recurrences) at "
            f"{words.money(self.client_it_cost_per_hour)} an hour of its time, unbilled"
        )


class RateCard(ContractModel):
    """Hourly rates by work type. A job is billed at the rate of the first work type that applies to it and has a
    rate on the card, in this order: emergency (a priority in ``emergency_priorities``), weekend (work started on a
    Saturday or Sunday), after hours (work started outside the users' business hours), project (a category in
    ``project_categories``); any other job at the remote or on-site rate. Minimum hours and billing steps apply as
    for every job."""

    emergency: float | None = Field(None, ge=0, le=MONEY)
    """Rate for emergency work (a priority jump) [currency/hour]; null: not on the card."""
    emergency_priorities: list[Literal["P1", "P2", "P3", "P4"]] = ["P1"]
    """Priorities billed as emergency work."""
    weekend: float | None = Field(None, ge=0, le=MONEY)
    """Rate for work started on a Saturday or Sunday [currency/hour]; null: not on the card."""
    after_hours: float | None = Field(None, ge=0, le=MONEY)
    """Rate for work started outside the users' business hours [currency/hour]; null: not on the card."""
    project: float | None = Field(None, ge=0, le=MONEY)
    """Rate for project work: jobs of the ``project_categories`` [currency/hour]; null: not on the card."""
    project_categories: list[str] = []
    """Incident categories billed as project work (``major`` for major incidents)."""

    @model_validator(mode="after")
    def _project_named(self) -> Self:
        if self.project_categories and self.project is None:
            raise ValueError(
                "project_categories are named but the card has no project rate; set rate_card.project"
            )
        return self

    def rates(self) -> list[tuple[str, float]]:
        """The card's work types with a rate, in the order they take precedence."""
        pairs = (
            ("emergency", self.emergency),
            ("weekend", self.weekend),
            ("after hours", self.after_hours),
            ("project", self.project),
        )
        return [(name, rate) for name, rate in pairs if rate is not None]


class TmTerms(ContractModel):
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
    """Rate multiplier for work started outside business hours [factor]; with a rate card that prices after-hours
    work, leave it at 1."""
    rate_card: RateCard | None = None
    """Hourly rates by work type (after hours, weekend, emergency, project), as a PSA's rate card; null: the remote
    and on-site rates for every job."""

    @model_validator(mode="after")
    def _one_after_hours_price(self) -> Self:
        if (
            self.rate_card is not None
            and self.rate_card.after_hours is not None
            and self.after_hours_multiplier != 1
        ):
            raise ValueError(
                "after-hours work is priced twice: by after_hours_multiplier and by rate_card.after_hours; "
                "keep one (set after_hours_multiplier to 1, or remove rate_card.after_hours)"
            )
        return self

    def card_categories(self) -> list[str]:
        """Incident categories its rate card names (project work)."""
        return [] if self.rate_card is None else list(self.rate_card.project_categories)


Term = tuple[float, str, str]
"""A part of a money estimate: (amount [currency], the field that sets it, what it is)."""


@dataclass(frozen=True)
class KindExposure:
    """One kind of incident as the money estimate sees it."""

    name: str
    field: str
    jobs: float
    """Jobs over the horizon, recurrences included."""
    effort_expected: float
    """Mean hands-on hours at thoroughness 1 [hours]."""
    affected: int
    """Users one incident can take down."""


@dataclass(frozen=True)
class Size:
    """A client's size, for fees."""

    users: int
    endpoints: int
    servers: int


@dataclass(frozen=True)
class Exposure:
    """What a scenario can put in front of a contract over its horizon, at the largest levers it can use: the
    inputs of :meth:`ContractKind.money_terms` (an upper estimate, for the money limit of validation)."""

    months: int
    clients: int
    users: int
    endpoints: int
    servers: int
    sizes: Sequence[Size]
    """Every client segment's size."""
    kinds: Sequence[KindExposure]
    jobs: float
    """Jobs of every kind over the horizon."""
    effort_factor: float
    """Largest thoroughness × tools effort factor [factor]."""
    hour_cost: float
    """Technician hour cost [currency/hour]."""
    prevention_hours: float
    """Largest prevention effort over all endpoints and months [hours]."""
    travel_hours: float
    """Expected travel hours of every on-site job [hours]."""
    parts: float
    """Parts bought at cost [currency]."""
    largest_effort: float
    """The largest effort one draw can give, times the effort factor [hours]."""
    largest_effort_field: str
    largest_parts: float
    """The largest parts cost one draw can give [currency]."""
    design_per_breach: float
    """The largest per-breach credit the incentive analysis tries [currency]."""
    design_per_downtime_hour: float
    """The largest per-downtime-hour credit the incentive analysis tries [currency/user-hour]."""


class Words(Protocol):
    """How numbers are written in plain words, and what a security stack named by a policy bundles (the outputs
    layer provides it)."""

    def money(self, amount: float) -> str: ...

    def pct(self, share: float) -> str: ...

    def hours(self, hours: float) -> str: ...

    def join(self, items: Sequence[str]) -> str: ...

    def security_stack(self, name: str) -> str: ...


class ContractKind(ContractModel):
    """The interface of every contract kind. A kind is one module of :mod:`simulator.contracts` defining a
    subclass with a ``kind`` literal, its terms as fields, and these methods; the registry in the package's
    ``__init__`` lists it once."""

    behaviour: ClassVar[Literal["break_fix", "managed"]]
    """Which of a client's behaviours (``break_fix`` or ``managed`` in the client segment) applies under it."""

    if TYPE_CHECKING:
        name: str
        label: str | None
        policy: Policy

    @property
    def shown(self) -> str:
        """Its name for people: the label, else the name."""
        return self.label or self.name

    @property
    def break_fix(self) -> bool:
        """Whether it is a break/fix contract (the client calls in only part of its incidents)."""
        return self.behaviour == "break_fix"

    @property
    def managed(self) -> bool:
        """Whether it is a managed-services contract (the client reports everything; onboarding, monitoring)."""
        return self.behaviour == "managed"

    def with_credit(self, credit: CreditScheme) -> Self | None:
        """A copy with another SLA credit scheme (the incentive analysis re-prices with it); None without an
        SLA."""
        return None

    @property
    def sla_terms(self) -> SlaTerms | None:
        """Its service levels and credits, if it has any."""
        return None

    @property
    def co_management(self) -> CoManaged | None:
        """The client's own IT's part in the support (co-managed IT), if any."""
        return None

    def categories_named(self) -> list[str]:
        """Incident categories its terms name (checked against the scenario's)."""
        return []

    def user_fee(self) -> float:
        """Its fee per user-month, the lever of the incentive analysis's fee window (0 without one)
        [currency/user-month]."""
        return 0.0

    def monthly_fee(self, ctx: BillingContext) -> np.ndarray:
        """Each client's monthly fee [currency/month] (zeros without one)."""
        return np.zeros(len(ctx.users))

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """What the client expects to pay for calling in one incident of ``category`` (``major`` for major
        incidents) with hands-on effort ``effort_hours_mean`` [hours], on site with probability ``onsite_share``
        [share]: the price of a call that drives the client's price response and decides where over-use at zero
        price happens [currency]. 0 here: a flat fee, nothing to pay per call."""
        return 0.0

    def sla_outcomes(self, log: TicketLog, ctx: BillingContext) -> dict[str, np.ndarray] | None:
        """Response and resolution on the SLA clock and breaches per ticket; None without an SLA."""
        return None

    def fixed_levers(self) -> frozenset[str]:
        """The provider's levers its terms fix (the incentive analysis leaves them at the policy's value)."""
        return frozenset()

    def notice_months(self) -> int:
        """Months a client who ends the contract is still served and billed after deciding to (0 without a
        term)."""
        return 0

    def exit_months(self, log: TicketLog, ctx: BillingContext) -> np.ndarray:
        """Per client, the month at whose end a termination right ends the contract; −1 never (no such right)."""
        return np.full(len(ctx.users), -1, dtype=np.int64)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """Every line the client is invoiced, and every credit."""
        raise NotImplementedError

    def bill_credit_levels(
        self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext, levels: Sequence[Self]
    ) -> list[Ledger]:
        """The bills of one log under ``levels``, copies of this contract with other SLA credit schemes (see
        :meth:`with_credit`), in order: each billed alone, unless the kind shares the lines credits do not
        change."""
        return [level.bill(log, prevention, ctx) for level in levels]

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The largest money it can post, in parts (fees, labour billed, credits): see :class:`Exposure`."""
        raise NotImplementedError

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """Its terms in one or two plain sentences; ``sizes`` gives (count, size) of the client segments."""
        raise NotImplementedError
