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
    values = {
        "tickets_per_endpoint_month": _ratio(r["tickets"], endpoints * months),
        "tickets_per_user_month": _ratio(r["tickets"], users * months),
        "technician_utilization": r["technician_utilization"],
        "endpoints_per_technician": pd.Series(endpoints / policy.technicians, index=r.index),
        "tickets_per_technician_month": _ratio(r["tickets"], policy.technicians * months),
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


def _flag(mean: float, low: float | None, high: float | None) -> str:
    if not np.isfinite(mean):
        return "not measured"
    if low is None or high is None:
        return "no range"
    return "below" if mean < low else "above" if mean > high else "within"


def benchmark_panel(results: Results) -> pd.DataFrame:
    """One row per contract and figure: ``contract, figure, label, unit, mean, ci_low, ci_high, low, high, flag,
    source``; ``flag`` is ``below``, ``within`` or ``above`` the range for the contract's kind (managed or
    break/fix), ``no range`` where the industry has no norm for it, ``not measured`` where the run has no value
    (an SLA figure under break/fix, margins without revenue)."""
    ranges = results.scenario.benchmark_ranges()
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
                    "label": label,
                    "unit": unit,
                    "mean": stats["mean"],
                    "ci_low": stats["ci_low"],
                    "ci_high": stats["ci_high"],
                    "low": np.nan if low is None else low,
                    "high": np.nan if high is None else high,
                    "flag": _flag(stats["mean"], low, high),
                    "source": bench.source,
                }
            )
    return pd.DataFrame(rows)
