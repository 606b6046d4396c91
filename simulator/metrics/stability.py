"""Whether a contract's technician pool keeps up with the work: the offered load and the backlog at the end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.config import Scenario
from simulator.contracts import Contract

__all__ = ["Unstable", "productive_hours_per_month", "unstable_contracts"]


def productive_hours_per_month(scenario: Scenario, contract: Contract) -> float:
    """Productive hours of a contract's technician pool in an average measured month [hours/month]: the pool's
    coverage calendar times its technicians times the productive share of paid hours, as the simulation counts
    them."""
    edges = scenario.calendar.coverage().business_time(
        np.arange(scenario.horizon_months + 1) * HOURS_PER_MONTH
    )
    per_month = np.diff(edges)[scenario.warmup_months :]
    return float(per_month.mean()) * contract.policy.technicians * scenario.provider.availability


@dataclass(frozen=True)
class Unstable:
    """A contract whose queue does not keep up (see :func:`unstable_contracts`), with the numbers that say so:
    means over replications."""

    contract: str
    offered_load: float
    """Work arriving / productive hours of the pool [ratio]."""
    backlog_hours: float
    """Work still queued or in progress at the end of the horizon [hours]."""
    month_hours: float
    """On-duty hours of the pool in a month [hours]."""
    label: str = ""
    """How sentences name the contract (its label; empty: its name)."""

    @property
    def grows(self) -> bool:
        """Whether the offered load is 1 or more: the queue grows without bound, however long the horizon."""
        return self.offered_load >= 1.0

    @property
    def reason(self) -> str:
        """What shows it, in a few words."""
        if self.grows:
            return f"offered load {self.offered_load:.2f}"
        return f"{self.backlog_hours:,.0f} h of work queued at the end"

    @property
    def meaning(self) -> str:
        """What its figures then describe."""
        if self.grows:
            return "a provider falling ever further behind"
        return "a provider that fell behind within the horizon, not a steady state"

    @property
    def note(self) -> str:
        """One sentence: which contract, its offered load, the backlog and what it means."""
        months = self.backlog_hours / self.month_hours if self.month_hours > 0 else float("nan")
        backlog = (
            f"{self.backlog_hours:,.0f} h of work still queued at the end "
            f"({months:.1f} months of productive hours)"
        )
        if self.grows:
            numbers = (
                f"offered load {self.offered_load:.2f} (1 or more: work comes in at least as fast as its technicians "
                f"can do it, so the queue grows without bound) and {backlog}"
            )
        else:
            numbers = (
                f"offered load {self.offered_load:.2f}, but {backlog}, more than a month of its pool's productive "
                f"hours ({self.month_hours:,.0f} h)"
            )
        return (
            f"{self.label or self.contract} does not keep up: {numbers}; its figures describe {self.meaning}; add "
            "technicians or lower the load."
        )


def unstable_contracts(scenario: Scenario, summary: pd.DataFrame) -> list[Unstable]:
    """The contracts whose queue does not keep up, in scenario order, from a run's summary (``contract, metric,
    mean``; a summary without the two metrics gives none).

    A queue keeps up when its offered load ρ (work arriving / productive hours) is below 1: a queue fed work at
    least as fast as its servers can do it (ρ ≥ 1) has no steady state, its backlog grows without bound (by
    (ρ − 1) × productive hours a month when ρ > 1). So a contract does not keep up when the mean offered load over
    replications is 1 or more, or when the mean backlog left at the end exceeds one month of the pool's productive
    hours: a stable queue's expected backlog is a fixed number of hours (λ·E[S²] / (2(1 − ρ)) for one server,
    Pollaczek–Khinchine), far below a month of productive hours unless ρ is close to 1, so a pool that ends more
    than a month behind is one whose queue did not settle within the horizon.
    """
    means = summary.set_index(["contract", "metric"])["mean"]
    out = []
    for contract in scenario.contracts:
        key_load, key_backlog = (contract.name, "offered_load"), (contract.name, "backlog_hours_at_end")
        if key_load not in means.index or key_backlog not in means.index:
            continue
        load, backlog = float(means[key_load]), float(means[key_backlog])
        month = productive_hours_per_month(scenario, contract)
        if load >= 1.0 or backlog > month:
            out.append(Unstable(contract.name, load, backlog, month, contract.shown))
    return out
