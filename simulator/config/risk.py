"""How averse to risk each party is (the ``risk:`` section of a scenario): the certainty equivalents of a run's
yearly client cost and provider profit."""

from __future__ import annotations

from pydantic import Field

from simulator.base.limits import MONEY_TOTAL_LIMIT

from .sections import ConfigModel

__all__ = ["Risk"]


class Risk(ConfigModel):
    """Risk tolerances for the certainty equivalents (constant absolute risk aversion, coefficient 1 / tolerance);
    null leaves a party's certainty equivalent out (risk neutral: its mean)."""

    client_risk_tolerance: float | None = Field(None, gt=0, le=MONEY_TOTAL_LIMIT)
    """The clients' risk tolerance T: a gamble of winning T or losing T/2 with even odds is about as good as
    nothing to them; the certainty equivalent of a yearly cost X is T·log E[exp(X/T)] [currency]."""
    provider_risk_tolerance: float | None = Field(None, gt=0, le=MONEY_TOTAL_LIMIT)
    """The provider's risk tolerance T; the certainty equivalent of a yearly profit Y is −T·log E[exp(−Y/T)]
    [currency]."""
