"""Risk in a year: value at risk, the mean of the worst years and certainty equivalents under constant absolute
risk aversion, against closed forms; the run's risk.csv from its replications' years."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import category, client, managed_contract, scenario, tm_contract
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.config import load_scenario
from simulator.studies.risk import certainty_equivalent, cvar, risk_table, value_at_risk, yearly
from simulator.studies.run import simulate


def test_certainty_equivalent_of_a_normal_cost_adds_half_the_variance_over_the_tolerance() -> None:
    """Two yearly costs with the same mean, one certain and one normal with σ = 10,000: under constant absolute
    risk aversion with tolerance T the gap between their certainty equivalents is σ²/(2T)."""
    rng = np.random.default_rng(20261204)
    sigma, tolerance, mean = 10_000.0, 200_000.0, 100_000.0
    sure = np.full(10, mean)
    risky = mean + sigma * rng.standard_normal(400_000)
    risky += mean - risky.mean()  # the same mean exactly: the gap is the risk premium alone
    gap = certainty_equivalent(risky, tolerance, cost=True) - certainty_equivalent(sure, tolerance, cost=True)
    assert gap == pytest.approx(sigma**2 / (2 * tolerance), rel=0.02)
    # A profit of the same spread: its certainty equivalent is below the mean by the same premium.
    profit_gap = mean - certainty_equivalent(risky, tolerance, cost=False)
    assert profit_gap == pytest.approx(sigma**2 / (2 * tolerance), rel=0.02)


def test_certainty_equivalent_of_a_certain_amount_is_the_amount() -> None:
    assert certainty_equivalent(np.full(5, 1234.5), 1e3, cost=True) == pytest.approx(1234.5)
    assert certainty_equivalent(np.full(5, -50.0), 1e-3, cost=False) == pytest.approx(-50.0)


def test_value_at_risk_and_the_worst_years_by_hand() -> None:
    costs = np.arange(1.0, 21.0)  # 20 years: the worst 5% is one year
    assert value_at_risk(costs, cost=True) == pytest.approx(np.quantile(costs, 0.95))
    assert cvar(costs, cost=True) == 20.0
    assert value_at_risk(costs, cost=False) == pytest.approx(np.quantile(costs, 0.05))
    assert cvar(costs, cost=False) == 1.0
    assert cvar(np.arange(1.0, 41.0), cost=True) == 39.5  # 40 years: the worst two


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(values=arrays(np.float64, st.integers(1, 200), elements=finite), tolerance=st.floats(1e3, 1e12))
def test_the_worst_years_are_worse_than_the_value_at_risk_and_the_mean(
    values: np.ndarray, tolerance: float
) -> None:
    """For a cost the mean of the worst years is at least the value at risk and the mean, and the certainty
    equivalent at least the mean (a risk-averse party dislikes spread); mirrored for a profit."""
    slack = 1e-9 * max(1.0, float(np.abs(values).max()))
    mean = float(values.mean())
    assert cvar(values, cost=True) >= max(value_at_risk(values, cost=True), mean) - slack
    assert cvar(values, cost=False) <= min(value_at_risk(values, cost=False), mean) + slack
    assert certainty_equivalent(values, tolerance, cost=True) >= mean - slack
    assert certainty_equivalent(values, tolerance, cost=False) <= mean + slack


@pytest.fixture(scope="module")
def results() -> object:
    data = scenario(
        clients=[client(users=10, endpoints=10, call_in_share=0.5)],
        categories=[category(rate_per_user_month=0.5)],
        contracts=[tm_contract(), managed_contract()],
        horizon_months=26,
        replications=4,
    )
    data["warmup_months"] = 1
    data["risk"] = {"client_risk_tolerance": 50_000.0, "provider_risk_tolerance": 20_000.0}
    return simulate(load_scenario(data))


def test_a_run_s_years_are_its_measured_months_in_blocks_of_twelve(results: object) -> None:
    """25 measured months make two whole years per replication (the 25th month left out), each the sum of its 12
    months; the table's figures are those of these years."""
    years = yearly(results, "client_total_cost")  # type: ignore[arg-type]
    monthly = results.monthly  # type: ignore[attr-defined]
    assert len(years) == 2 * 4 * 2  # contracts × replications × years
    one = monthly[(monthly["contract"] == "tm") & (monthly["replication"] == 0)].sort_values("month")
    first = float(one["client_total_cost"].iloc[:12].sum())
    second = float(one["client_total_cost"].iloc[12:24].sum())
    got = years[(years["contract"] == "tm") & (years["replication"] == 0)]["value"].tolist()
    assert got == pytest.approx([first, second])
    table = risk_table(results).set_index(["contract", "party"])  # type: ignore[arg-type]
    for contract in ("tm", "managed"):
        x = years[years["contract"] == contract]["value"].to_numpy()
        row = table.loc[(contract, "client")]
        assert row["years"] == 8 and row["mean"] == pytest.approx(x.mean())
        assert row["cvar95"] == pytest.approx(np.sort(x)[-1])  # 8 years: the worst one
        assert row["certainty_equivalent"] == pytest.approx(
            50_000.0 * math.log(np.mean(np.exp(x / 50_000.0))), rel=1e-12
        )
        assert row["risk_premium"] == pytest.approx(row["certainty_equivalent"] - row["mean"])
        assert table.loc[(contract, "provider"), "risk_premium"] >= 0


def test_without_a_tolerance_no_certainty_equivalent(results: object) -> None:
    sc = results.scenario.model_copy(
        update={"risk": results.scenario.risk.model_copy(update={"client_risk_tolerance": None})}
    )  # type: ignore[attr-defined]
    other = type(results)(scenario=sc, replications=results.replications, monthly=results.monthly)  # type: ignore[attr-defined, call-arg]
    table = risk_table(other)
    assert table[table["party"] == "client"]["certainty_equivalent"].isna().all()
    assert (
        isinstance(table, pd.DataFrame)
        and table[table["party"] == "provider"]["certainty_equivalent"].notna().all()
    )
