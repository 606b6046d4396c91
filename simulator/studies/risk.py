"""Risk: how a year's client cost and provider profit spread over a run's replications under each contract —
value at risk, conditional value at risk and certainty equivalents under constant absolute risk aversion. The
economic case for a flat fee is that it moves risk from the client to the provider; this says how much."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from simulator.studies.run import Results

__all__ = ["PARTIES", "certainty_equivalent", "cvar", "risk_table", "value_at_risk", "yearly"]

LEVEL = 0.95
"""The confidence level of the value at risk and the conditional value at risk."""

PARTIES = {
    "client": ("client_total_cost", "the client's total cost", True),
    "provider": ("provider_net_profit", "the provider's net profit", False),
}
"""Party -> (monthly metric, words, whether it is a cost: high is bad)."""


def value_at_risk(values: np.ndarray, cost: bool, level: float = LEVEL) -> float:
    """The value not exceeded (a cost) or reached (a profit) in ``level`` of the years: the ``level`` quantile of
    a cost, the 1 − ``level`` quantile of a profit (linear interpolation)."""
    return float(np.quantile(values, level if cost else 1.0 - level))


def cvar(values: np.ndarray, cost: bool, level: float = LEVEL) -> float:
    """The mean of the worst 1 − ``level`` of the years (the highest costs or the lowest profits), at least one
    year: the conditional value at risk (expected shortfall)."""
    ordered = np.sort(values)[::-1] if cost else np.sort(values)
    worst = max(1, math.ceil(round((1.0 - level) * len(values), 9)))  # 5% of 20 years is one, not 1.0000001
    return float(ordered[:worst].mean())


def certainty_equivalent(values: np.ndarray, tolerance: float, cost: bool) -> float:
    """The sure amount as good as the uncertain one under constant absolute risk aversion with risk tolerance T:
    T·log E[exp(X/T)] for a cost X (at least its mean), −T·log E[exp(−Y/T)] for a profit Y (at most its mean)."""
    sign = 1.0 if cost else -1.0
    mean = float(np.mean(values))
    scaled = sign * (values - mean) / tolerance  # around the mean: a sure amount gives exactly its mean
    if float(np.max(np.abs(scaled))) < 1.0:  # small spreads: log(1 + E[e^z − 1]) keeps every digit
        premium = math.log1p(float(np.mean(np.expm1(scaled))))
    else:
        premium = float(logsumexp(scaled)) - math.log(len(values))
    return mean + sign * tolerance * premium


def yearly(results: Results, metric: str) -> pd.DataFrame:
    """``metric`` summed over each year of each replication: the measured months in consecutive blocks of 12 (an
    incomplete last block left out; fewer than 12 measured months: the measured months scaled to a year).
    Columns ``contract, replication, year, value``."""
    months = results.scenario.measured_months
    monthly = results.monthly.sort_values(["contract", "replication", "month"])
    first = int(monthly["month"].min())
    frame = monthly.assign(year=(monthly["month"] - first) // 12)
    if months >= 12:
        frame = frame[frame["year"] < months // 12]
        scale = 1.0
    else:
        scale = 12.0 / months
    out = frame.groupby(["contract", "replication", "year"], sort=False)[metric].sum().reset_index()
    return out.rename(columns={metric: "value"}).assign(value=lambda f: f["value"] * scale)


def risk_table(results: Results) -> pd.DataFrame:
    """Per contract and party: the years measured, the mean, standard deviation, value at risk and conditional
    value at risk (95%) of a year's client total cost or provider net profit, and, where the scenario gives the
    party's risk tolerance, its certainty equivalent and the risk premium (how much the spread costs that party
    a year) [currency/year]."""
    s = results.scenario
    tolerances = {"client": s.risk.client_risk_tolerance, "provider": s.risk.provider_risk_tolerance}
    rows: list[dict[str, Any]] = []
    for party, (metric, words, cost) in PARTIES.items():
        years = yearly(results, metric)
        for contract in results.contracts:
            x = years.loc[years["contract"] == contract, "value"].to_numpy(dtype=float)
            tolerance = tolerances[party]
            mean = float(x.mean())
            ce = certainty_equivalent(x, tolerance, cost) if tolerance is not None else float("nan")
            rows.append(
                {
                    "contract": contract,
                    "party": party,
                    "measure": words,
                    "years": len(x),
                    "mean": mean,
                    "std": float(x.std(ddof=1)) if len(x) > 1 else float("nan"),
                    "var95": value_at_risk(x, cost),
                    "cvar95": cvar(x, cost),
                    "risk_tolerance": tolerance if tolerance is not None else float("nan"),
                    "certainty_equivalent": ce,
                    "risk_premium": (ce - mean) if cost else (mean - ce),
                }
            )
    return pd.DataFrame(rows)
