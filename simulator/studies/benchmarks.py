"""The industry benchmark panel of a run: per contract, the figures an MSP owner checks first (tickets per
endpoint, utilisation, endpoints per technician, margins, revenue per user, downtime, response, on-site share,
reopen rate), each from the replications with its interval and flagged against its industry range."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulator.config import BENCHMARK_FIGURES

from .run import interval

if TYPE_CHECKING:
    from .run import Results

__all__ = ["benchmark_panel", "figure_values"]


def _ratio(top: pd.Series, bottom: pd.Series | float) -> pd.Series:
    """``top / bottom`` with NaN where the bottom is zero."""
    bottom = bottom if isinstance(bottom, pd.Series) else pd.Series(bottom, index=top.index)
    return top.astype(float) / bottom.astype(float).where(bottom != 0)


def figure_values(results: Results, contract: str) -> pd.DataFrame:
    """Each benchmark figure of one contract, one row per replication (columns: the figures)."""
    sc = results.scenario
    r = results.replications[results.replications["contract"] == contract]
    policy = next(c for c in sc.contracts if c.name == contract).policy
    users = sum(seg.count * seg.users for seg in sc.clients)
    endpoints = sum(seg.count * seg.endpoints for seg in sc.clients)
    months = sc.measured_months
    provider = sc.provider
    if provider.labour_cost_basis == "worked":
        # Technicians shared with other clients: count the technician-months these clients use, at the shared
        # technicians' utilisation (an input, so the utilisation row shows it as assumed).
        technician_months = r["technician_hours_worked"] / (
            provider.productive_hours * provider.shared_utilization
        )
        utilization = pd.Series(provider.shared_utilization, index=r.index)
    else:
        technician_months = pd.Series(float(policy.technicians * months), index=r.index)
        utilization = r["technician_utilization"]
    values = {
        "tickets_per_endpoint_month": _ratio(r["tickets"], endpoints * months),
        "tickets_per_user_month": _ratio(r["tickets"], users * months),
        "technician_utilization": utilization,
        "endpoints_per_technician": _ratio(
            pd.Series(float(endpoints * months), index=r.index), technician_months
        ),
        "tickets_per_technician_month": _ratio(r["tickets"], technician_months),
        "gross_margin": r["provider_gross_margin"],
        "net_margin": r["provider_net_margin"],
        "effective_hourly_rate": _ratio(r["provider_revenue"], r["technician_hours_worked"]),
        "revenue_per_user_month": _ratio(r["provider_revenue"], users * months),
        "downtime_hours_per_user_year": r["downtime_hours_per_user_year"],
        "sla_compliance": r["sla_compliance"],
        "mean_response_hours": r["mean_response_hours"],
        "onsite_share": _ratio(r["onsite_tickets"], r["tickets"]),
        "reopen_rate": _ratio(r["recurrences"], r["tickets"]),
    }
    return pd.DataFrame({name: values[name] for name in BENCHMARK_FIGURES})


_SHARED = {
    "technician_utilization": "Technician utilisation (assumed: shared technicians)",
    "endpoints_per_technician": "Endpoints per technician-equivalent",
    "tickets_per_technician_month": "Tickets per technician-equivalent month",
}
"""How the staffing figures read under ``worked`` costing: the clients use a share of technicians who also serve
others, counted in technician-equivalents (hours worked / productive hours / the shared utilisation)."""


def _flag(mean: float, low: float | None, high: float | None, assumed: bool = False) -> str:
    if not np.isfinite(mean):
        return "not measured"
    if assumed:
        return "assumed"
    if low is None or high is None:
        return "no range"
    return "below" if mean < low else "above" if mean > high else "within"


def benchmark_panel(results: Results) -> pd.DataFrame:
    """One row per contract and figure: ``contract, figure, label, unit, mean, ci_low, ci_high, low, high, flag,
    source``; ``flag`` is ``below``, ``within`` or ``above`` the range for the contract's kind (managed or
    break/fix), ``no range`` where the industry has no norm for it, ``not measured`` where the run has no value
    (an SLA figure under break/fix, margins without revenue), ``assumed`` where the figure is an input (the
    shared technicians' utilisation under ``worked`` costing, whose staffing rows count technician-equivalents)."""
    ranges = results.scenario.benchmark_ranges()
    shared = results.scenario.provider.labour_cost_basis == "worked"
    rows = []
    for contract in results.contracts:
        kind = next(c for c in results.scenario.contracts if c.name == contract).behaviour
        values = figure_values(results, contract)
        for name, (label, unit) in BENCHMARK_FIGURES.items():
            stats = interval(values[name].to_numpy(dtype=float))
            bench = ranges[name]
            span = bench.range_for(kind)
            low, high = (span.low, span.high) if span is not None else (None, None)
            rows.append(
                {
                    "contract": contract,
                    "figure": name,
                    "label": _SHARED.get(name, label) if shared else label,
                    "unit": unit,
                    "mean": stats["mean"],
                    "ci_low": stats["ci_low"],
                    "ci_high": stats["ci_high"],
                    "low": np.nan if low is None else low,
                    "high": np.nan if high is None else high,
                    "flag": _flag(stats["mean"], low, high, shared and name == "technician_utilization"),
                    "source": bench.source,
                }
            )
    return pd.DataFrame(rows)
