"""How ``msp-sim run`` tests its verdict: the inputs whose switching values it looks for, their ranges, and the
size of the search (the ``robustness:`` section of a scenario file)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simulator.base.limits import REPLICATIONS, VALUE, Label, PathText

from .sections import ConfigModel

__all__ = ["Robustness", "RobustnessInput"]


class RobustnessInput(ConfigModel):
    """One input of the verdict: the scenario values it sets and the range over which a switching value is
    looked for."""

    label: Label
    """How sentences and tables name it, e.g. ``downtime cost`` or ``managed-services fee``."""
    paths: list[PathText] = Field(min_length=1, max_length=20)
    """The fields it sets, as ``--set`` names them (``clients.*.downtime_cost_per_user_hour``); every path must
    lead to a number in the scenario."""
    low: float = Field(ge=0, le=VALUE)
    """Lowest value tried: the value itself, or with ``scale`` a multiple of each field's scenario value."""
    high: float = Field(ge=0, le=VALUE)
    """Highest value tried (as ``low``)."""
    scale: bool = False
    """Whether ``low`` and ``high`` multiply each field's scenario value (for fields whose values differ, e.g. the
    incident rates of the categories) instead of setting every field to them."""
    unit: Label | None = None
    """What one unit of it is, for sentences (``per user-hour``, ``per user-month``); null for a share or count,
    or for a scale, which is shown as a multiple (×0.5)."""
    method: Literal["auto", "reprice", "resimulate"] = "auto"
    """``reprice``: the same incidents and tickets billed again at each value (exact, for inputs that change only
    money: fees, rates, credits, downtime and outage cost, the provider's hour and tools cost); ``resimulate``: a
    bracketing search of re-simulations on common random numbers (for anything that changes what happens);
    ``auto``: re-priced when every path is money only, else re-simulated."""

    @model_validator(mode="after")
    def _order(self) -> RobustnessInput:
        if self.high <= self.low:
            raise ValueError(f"@high: high ({self.high:g}) must be more than low ({self.low:g})")
        return self


class Robustness(ConfigModel):
    """The verdict's switching values: which inputs ``msp-sim run`` varies, and how far it searches."""

    enabled: bool = True
    """Whether ``msp-sim run`` looks for switching values (verdict.csv, the sentence under the headline, the
    tornado of the client's saving and the fee window)."""
    inputs: list[RobustnessInput] | None = Field(None, max_length=50)
    """The inputs varied; null: the scenario's decisive inputs with default ranges (the cost of downtime and of
    site outages ×0.2 to ×3, each managed contract's main fee from 0 to ×3, each T&M contract's rates ×0.5 to
    ×2, the technician hour cost ×0.5 to ×2, the break/fix call-in share 0.1 to 1, the reporting delays ×0.25 to
    ×4, the incident rates ×0.5 to ×2, and each contract's technicians one fewer to one more)."""
    points: int = Field(17, ge=3, le=1001)
    """Values tried across the range of a re-priced input (the base value is added); the switching value is
    interpolated between the two around it, which is exact where the money is linear in the input between them
    [count]."""
    replications: int | None = Field(None, ge=2, le=REPLICATIONS)
    """Replications of each re-simulation; null: the run's, at most 10 [count]."""
    steps: int = Field(5, ge=1, le=30)
    """Halvings of the bracket around a re-simulated switching value (5: to within 1/32 of the distance from the
    scenario's value to the end of the range) [count]."""
