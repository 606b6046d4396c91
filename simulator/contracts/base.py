"""What every contract kind shares: the model settings, the provider's levers (:class:`Policy`), T&M terms, and
the interface (:class:`ContractKind`) through which the rest of the package uses a contract without asking which
kind it is: its bill, its SLA, the client behaviour it meets, its money estimate and its terms in plain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from simulator.base.limits import FACTOR, MONEY, MONTH_HOURS, PREVENTION_HOURS, TECHNICIANS, THOROUGHNESS
from simulator.base.records import BillingContext, PreventionLog, TicketLog

from .ledger import Ledger

if TYPE_CHECKING:
    from .sla import CreditScheme, SlaTerms

__all__ = [
    "ContractKind",
    "ContractModel",
    "Exposure",
    "KindExposure",
    "Policy",
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
    """Rate multiplier for work started outside business hours [factor]."""


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
    """How numbers are written in plain words (the outputs layer provides it)."""

    def money(self, amount: float) -> str: ...

    def pct(self, share: float) -> str: ...

    def hours(self, hours: float) -> str: ...

    def join(self, items: Sequence[str]) -> str: ...


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

    def sla_outcomes(self, log: TicketLog, ctx: BillingContext) -> dict[str, np.ndarray] | None:
        """Response and resolution on the SLA clock and breaches per ticket; None without an SLA."""
        return None

    def exit_months(self, log: TicketLog, ctx: BillingContext) -> np.ndarray:
        """Per client, the month at whose end a termination right ends the contract; −1 never (no such right)."""
        return np.full(len(ctx.users), -1, dtype=np.int64)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """Every line the client is invoiced, and every credit."""
        raise NotImplementedError

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The largest money it can post, in parts (fees, labour billed, credits): see :class:`Exposure`."""
        raise NotImplementedError

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """Its terms in one or two plain sentences; ``sizes`` gives (count, size) of the client segments."""
        raise NotImplementedError
