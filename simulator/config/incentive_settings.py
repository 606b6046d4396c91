"""How ``msp-sim incentives`` searches: the spans of the provider's levers and the credit levels tried."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from simulator.base.limits import MONEY, PREVENTION_HOURS, REPLICATIONS, THOROUGHNESS

from .sections import ConfigModel

__all__ = ["Design", "IncentiveSettings", "LeverSpace", "Span", "Staffing", "ThoroughnessSpan"]


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


class IncentiveSettings(ConfigModel):
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
