"""Risk: how a year's client cost and provider profit spread over a run's replications under each contract —
value at risk, conditional value at risk and certainty equivalents under constant absolute risk aversion. The
economic case for a flat fee is that it moves risk from the client to the provider; this says how much."""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulator.studies.run import Results

from .utility import certainty_equivalent, cvar, value_at_risk

__all__ = ["PARTIES", "certainty_equivalent", "cvar", "risk_table", "value_at_risk", "yearly"]

PARTIES = {
    "client": ("client_total_cost", "the client's total cost", True),
    "provider": ("provider_net_profit", "the provider's net profit", False),
}
"""Party -> (monthly metric, words, whether it is a cost: high is bad)."""


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
