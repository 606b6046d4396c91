"""How ``msp-sim incentives`` searches: the spans of the provider's levers and the credit levels tried."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from simulator.base.limits import MONEY, MONTHS, PREVENTION_HOURS, REPLICATIONS, THOROUGHNESS

from .sections import Churn, ConfigModel

__all__ = [
    "Design",
    "IncentiveSettings",
    "LeverSpace",
    "Objective",
    "Relationship",
    "Search",
    "Span",
    "Staffing",
    "ThoroughnessSpan",
]


class Span(ConfigModel):
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


class Staffing(ConfigModel):
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


class LeverSpace(ConfigModel):
    """Where the provider's levers may be set; a lever left out (null) stays at the contract's policy value."""

    prevention_hours_per_endpoint_month: Span | None = Span(low=0.0, high=1.0, points=6)
    """Prevention effort searched [hours/endpoint-month]."""
    technicians: Staffing | None = Staffing()
    """Technician counts searched [count]."""
    monitoring: Annotated[list[bool], Field(min_length=1)] | None = [False, True]
    """Monitoring settings searched (at least one)."""
    thoroughness: ThoroughnessSpan | None = ThoroughnessSpan(low=0.6, high=1.4, points=5)
    """Fix thoroughness searched [factor]."""


class Design(ConfigModel):
    """Managed-contract terms searched for the contract-design analysis."""

    per_downtime_hour: list[Annotated[float, Field(ge=0, le=MONEY)]] = [0.0, 5.0, 10.0, 20.0, 40.0, 80.0]
    """Credit levels per blocked user-hour tried [currency/user-hour]."""
    per_breach: list[Annotated[float, Field(ge=0, le=MONEY)]] = [0.0, 25.0, 50.0, 100.0, 200.0, 400.0]
    """Credit levels per breached ticket tried [currency]."""


class Relationship(ConfigModel):
    """The incentive analysis as a relationship over several terms rather than one period: clients may leave at
    each renewal (``renewal``, the transition's churn model) and under an SLA's termination right, and each side
    values the whole relationship, discounted. A client who leaves moves to the reference contract (its outside
    option) at that contract's best response; the provider's capacity freed by it earns the provider's outside
    option."""

    horizon_months: int = Field(ge=1, le=MONTHS)
    """Months of the relationship, simulated after the warm-up (several terms) [months]."""
    term_months: int = Field(12, ge=1, le=MONTHS)
    """Contract term: renewal (and churn) at the end of each [months]."""
    discount_rate: float = Field(0.0, ge=0, le=1)
    """Yearly rate future money is discounted at [share/year]."""
    renewal: Churn | None = Churn()
    """Probability of leaving at each renewal (logistic in the last term's downtime, breaches and recurrences);
    null: clients always renew."""

    def weights(self) -> np.ndarray:
        """The discount factor of each month of the relationship, money counted at the month's end."""
        t = np.arange(1, self.horizon_months + 1)
        return np.asarray((1.0 + self.discount_rate) ** (-t / 12.0))


class Objective(ConfigModel):
    """What each side maximises when it chooses: the expected value over the replications, or its certainty
    equivalent under the risk tolerance of the ``risk:`` section (of a year's worth: the value over the months
    scaled to twelve), which also sets the contract design's fee windows (the fee at which each side's certainty
    equivalent equals that of its outside option). Social cost is always the expected value."""

    provider: Literal["expected", "certainty_equivalent"] = "expected"
    """The provider's objective for its best response (``certainty_equivalent`` needs
    ``risk.provider_risk_tolerance``)."""
    client: Literal["expected", "certainty_equivalent"] = "expected"
    """The client's objective for its preferred levers (``certainty_equivalent`` needs
    ``risk.client_risk_tolerance``)."""


class Search(ConfigModel):
    """How the grid of lever settings is searched. ``selection`` (ranking and selection on common random numbers)
    simulates every setting on ``screening_replications`` replications, drops the settings significantly worse
    than the leader of every optimum (each role's, and the provider's under each credit level of the design), then
    doubles the replications of the remaining contenders, dropping again, until they have them all; the optima and
    their "not significantly worse" ranges are read off the contenders, which end with every replication, as the
    exhaustive search reads them off every setting. ``exhaustive`` simulates every setting on every replication."""

    method: Literal["selection", "exhaustive"] = "selection"
    """``selection`` or ``exhaustive`` (``msp-sim incentives --exhaustive`` chooses the latter)."""
    screening_replications: int = Field(3, ge=2, le=REPLICATIONS)
    """Replications every setting gets before the first drop (at least 2: the paired interval needs them)."""
    confidence: float = Field(0.99, ge=0.5, lt=1.0)
    """Confidence of the paired interval that drops a setting: higher keeps more contenders [share]."""


class IncentiveSettings(ConfigModel):
    """How the incentive analysis searches (``msp-sim incentives``)."""

    participation: bool = True
    """Require the provider to earn at least its outside option (``provider_outside_option``) at the client's
    preferred levers (and flag a best response that earns less)."""
    replications: int | None = Field(None, ge=2, le=REPLICATIONS)
    """Replications per lever setting (default: the scenario's)."""
    search: Search = Search()
    """How the grid is searched: ranking and selection (the default) or exhaustively."""
    refine: bool = True
    """Refine continuous levers around each grid optimum with a bounded scalar search."""
    levers: LeverSpace = LeverSpace()
    """Search space for every contract."""
    contracts: dict[str, LeverSpace] = {}
    """Per-contract search spaces (by contract name), replacing ``levers`` for that contract."""
    design: Design = Design()
    """Credit levels tried for managed contracts."""
    relationship: Relationship | None = None
    """A relationship over several terms with renewal and termination; null: one period, the measured months,
    nobody leaves (the one-shot game)."""
    objective: Objective = Objective()
    """Whether each side chooses by expected value or by certainty equivalent."""
    provider_outside_option: float = Field(0.0, ge=-MONEY, le=MONEY)
    """What the provider's capacity earns elsewhere, net, for this portfolio [currency/month]: the least profit at
    which it takes the contracts (participation), and what a departed client's share of it earns."""
