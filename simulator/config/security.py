"""Security stacks: bundles of protection (MFA, EDR, immutable backups, ...) a provider runs for the clients of a
contract, as the scenario's ``security_stacks:`` section. A contract's ``policy.security_stack`` names one."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.base.limits import MONEY, Label, Text

from .sections import ConfigModel

__all__ = ["SecurityStack"]


class SecurityStack(ConfigModel):
    """What a security stack does to the incidents of the clients it protects, and what it costs the provider.

    An incident survives the stack when its own uniform falls below the stack's multiplier for its category (a
    stream of its own, so a stronger stack's surviving incidents are among a weaker one's); the others never
    happen. A surviving major incident's outage and hands-on effort are scaled by ``major_outage`` and
    ``major_effort``."""

    description: Text = ""
    """What it bundles, in plain words (e.g. "MFA, EDR, immutable backups"); shown in the contract terms."""
    category_rates: dict[Label, Annotated[float, Field(ge=0, le=1)]] = {}
    """Multiplier of each named category's incident rate, by category name; a category not named keeps its rate
    (1) [share]."""
    major_probability: float = Field(1.0, ge=0, le=1)
    """Multiplier of the major-incident rate [share]."""
    major_outage: float = Field(1.0, gt=0, le=1)
    """Multiplier of a major incident's outage length (immutable backups shorten a ransomware outage) [share]."""
    major_effort: float = Field(1.0, gt=0, le=1)
    """Multiplier of a major incident's hands-on recovery hours [share]."""
    tools_cost_per_endpoint_month: float = Field(0.0, ge=0, le=MONEY)
    """The provider's cost of the stack (licences, services) per protected endpoint [currency/endpoint-month]."""

    def rate(self, category: str) -> float:
        """The multiplier of a category's rate [share]: its entry, else 1."""
        return self.category_rates.get(category, 1.0)
