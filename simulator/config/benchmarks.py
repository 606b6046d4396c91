"""The industry benchmark panel's ranges: a data file shipped with the package (``benchmarks.yaml``, each range
with its source), which a scenario may override figure by figure under ``benchmarks:``."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import Field, model_validator

from simulator.base.limits import VALUE, Text

from .sections import ConfigModel

__all__ = ["BENCHMARK_FIGURES", "Benchmark", "BenchmarkOverride", "BenchmarkRange", "shipped_benchmarks"]

BENCHMARK_FIGURES: dict[str, tuple[str, str]] = {
    "tickets_per_endpoint_month": ("Tickets per endpoint-month", "ratio"),
    "tickets_per_user_month": ("Tickets per user-month", "ratio"),
    "technician_utilization": ("Technician utilisation (of productive hours)", "share"),
    "endpoints_per_technician": ("Endpoints per technician", "count"),
    "tickets_per_technician_month": ("Tickets per technician-month", "count"),
    "gross_margin": ("Gross margin (service delivery)", "share"),
    "net_margin": ("Net margin (after overhead)", "share"),
    "effective_hourly_rate": ("Revenue per technician hour worked", "money"),
    "revenue_per_user_month": ("Revenue per user-month", "money"),
    "downtime_hours_per_user_year": ("Downtime h/user-year", "hours"),
    "sla_compliance": ("SLA compliance", "share"),
    "mean_response_hours": ("Mean response (business hours)", "hours"),
    "onsite_share": ("On-site share of tickets", "share"),
    "reopen_rate": ("Reopen rate (recurrences / tickets)", "share"),
}
"""Every figure of the panel: its label and unit, in display order."""


class BenchmarkRange(ConfigModel):
    """An industry range: results below ``low`` or above ``high`` are flagged."""

    low: float = Field(ge=-VALUE, le=VALUE)
    """Lower end of the usual range [the figure's unit]."""
    high: float = Field(ge=-VALUE, le=VALUE)
    """Upper end of the usual range [the figure's unit]."""

    @model_validator(mode="after")
    def _order(self) -> BenchmarkRange:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) is below low ({self.low:g})")
        return self


class Benchmark(ConfigModel):
    """One figure's ranges by kind of contract, and where they come from."""

    managed: BenchmarkRange | None = None
    """Range under managed-services contracts; null: no norm."""
    break_fix: BenchmarkRange | None = None
    """Range under break/fix contracts; null: no norm."""
    source: Text = ""
    """Where the ranges come from."""

    def range_for(self, behaviour: str) -> BenchmarkRange | None:
        """The range for a contract that behaves as ``managed`` or ``break_fix``."""
        return self.managed if behaviour == "managed" else self.break_fix


class BenchmarkOverride(ConfigModel):
    """A scenario's own range or source for one figure; what it leaves out comes from the shipped file."""

    managed: BenchmarkRange | None = None
    """Range under managed-services contracts."""
    break_fix: BenchmarkRange | None = None
    """Range under break/fix contracts."""
    source: Text | None = None
    """Where the scenario's ranges come from."""

    def over(self, shipped: Benchmark) -> Benchmark:
        """The shipped benchmark with this override's fields in place."""
        fields: tuple[str, ...] = ("managed", "break_fix", "source")
        given = {k: getattr(self, k) for k in fields if k in self.model_fields_set}
        return shipped.model_copy(update=given)


@cache
def shipped_benchmarks() -> dict[str, Benchmark]:
    """The ranges of ``simulator/config/benchmarks.yaml``, one per :data:`BENCHMARK_FIGURES` entry."""
    text = resources.files("simulator.config").joinpath("benchmarks.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    missing = sorted(set(BENCHMARK_FIGURES) - set(data))
    unknown = sorted(set(data) - set(BENCHMARK_FIGURES))
    if missing or unknown:  # pragma: no cover - the shipped file is checked by the tests
        raise ValueError(f"benchmarks.yaml: missing {missing}, unknown {unknown}")
    return {name: Benchmark.model_validate(data[name]) for name in BENCHMARK_FIGURES}
