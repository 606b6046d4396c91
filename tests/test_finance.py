"""Transition finance: cash as collected, NPV and IRR, retention, the valuation multiple, and the transition's
monthly table and summary with and without ``portfolio.finance``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulator import ScenarioError, load_scenario
from simulator.config import Scenario
from simulator.studies.finance import (
    DAYS_PER_MONTH,
    annual_irr,
    annual_mirr,
    collect,
    enterprise_value,
    interpolate_multiple,
    ltv_to_cac,
    monthly_rate,
    npv,
    retention,
    trailing_sum,
    valuation_multiple,
)
from simulator.studies.transition import monthly_rows, run_strategy, simulate_transition

ROOT = Path(__file__).resolve().parents[1]
TRANSITION = ROOT / "scenarios" / "transition.yaml"

FINANCE_COLUMNS = [
    "cash_in",
    "cash_out",
    "receivables",
    "bad_debt",
    "overhead",
    "ebitda",
    "arr",
    "gross_revenue_retention",
    "net_revenue_retention",
    "ltv_to_cac",
    "ev_multiple",
    "enterprise_value",
]
FINANCE_METRICS = [
    "npv",
    "npv_vs_stay",
    "mirr_vs_stay",
    "ebitda_ttm",
    "ev_multiple",
    "enterprise_value",
    "recurring_share_ttm",
    "arr_end",
]


def short(**changes: Any) -> Scenario:
    """The shipped transition scenario (with its finance block) on a short horizon, with overrides."""
    return load_scenario(TRANSITION, {"horizon_months": 14, "replications": 3, **changes})


# ----------------------------------------------------------------------------------------------- pure functions


def test_npv_of_a_constant_flow_is_the_annuity() -> None:
    """$10k a month for 36 months at 10% a year: the monthly rate is (1 + 0.10)^(1/12) − 1 (compounded, not
    0.10/12), each month's flow at its end, so the NPV is the annuity C (1 − (1 + i)^−n) / i."""
    i = 1.10 ** (1 / 12) - 1
    assert monthly_rate(0.10) == pytest.approx(i, rel=1e-15)
    closed = 10_000 * (1 - (1 + i) ** -36) / i
    assert npv(np.full(36, 10_000.0), 0.10) == pytest.approx(closed, rel=1e-12)
    assert closed == pytest.approx(311_864.58, abs=0.01)
    assert npv(np.full(36, 10_000.0), 0.0) == pytest.approx(360_000.0)


def test_irr_of_a_known_flow() -> None:
    """A loan of $1,000 repaid by 24 monthly instalments at 1% a month has an IRR of 1.01^12 − 1 = 12.68% a year;
    a flow without a change of sign has none."""
    i = 0.01
    payment = 1_000 * i / (1 - (1 + i) ** -24)
    flows = np.concatenate([[-1_000.0], np.full(24, payment)])
    assert annual_irr(flows) == pytest.approx(1.01**12 - 1, abs=1e-9)
    # Twelve months apart: 10% a year exactly.
    assert annual_irr(np.concatenate([[-100.0], np.zeros(11), [110.0]])) == pytest.approx(0.10, abs=1e-9)
    # Losing money: a negative rate.
    assert annual_irr(np.array([-100.0, 0.0, 50.0])) < 0
    assert np.isnan(annual_irr(np.full(12, 100.0)))
    assert np.isnan(annual_irr(np.full(12, -100.0)))
    assert np.isnan(annual_irr(np.zeros(12)))
    assert np.isnan(annual_irr(np.array([100.0, -50.0, -60.0])))  # no investment first


def test_mirr_of_a_known_flow() -> None:
    """−100 now and +121 in 24 months at a 10% discount rate: (121 / 100)^(12/25) − 1 over the 25 months held."""
    flows = np.concatenate([[-100.0], np.zeros(23), [121.0]])
    assert annual_mirr(flows, 0.10) == pytest.approx((121.0 / 100.0) ** (12 / 25) - 1, rel=1e-12)
    # Money taken out early is compounded to the end at the discount rate.
    early = np.concatenate([[-100.0, 110.0], np.zeros(10)])
    i = 1.1 ** (1 / 12) - 1
    assert annual_mirr(early, 0.10) == pytest.approx(
        (110.0 * (1 + i) ** 10 / 100.0) ** (12 / 12) - 1, rel=1e-12
    )
    assert np.isnan(annual_mirr(np.full(12, 100.0), 0.10))
    assert np.isnan(annual_mirr(np.full(12, -100.0), 0.10))


def test_usage_billed_in_arrears_lags_profit_by_dso_times_revenue() -> None:
    """T&M revenue of $12k a month collected 45 days after billing: at steady state cumulative cash lags cumulative
    revenue by $12k × 45 / (365/12) = $17,753 — R × DSO / days per month; with 30-day months (45/30) the same lag
    reads $18k."""
    billed = np.full(36, 12_000.0)
    paid = collect(billed, 45.0)
    lag = np.cumsum(billed) - np.cumsum(paid.received)
    expected = 12_000.0 * 45.0 / DAYS_PER_MONTH
    np.testing.assert_allclose(lag[2:], expected, rtol=1e-12)  # steady from month 2 (1.48 months of delay)
    np.testing.assert_allclose(paid.receivables, lag, rtol=1e-12)
    assert expected == pytest.approx(18_000.0, rel=0.015)
    # Nothing is received before the first invoice falls due, and what is received never exceeds what was billed.
    assert paid.received[0] == 0.0 and paid.received[1] == pytest.approx(12_000.0 * (2 - 45 / DAYS_PER_MONTH))
    assert (np.cumsum(paid.received) <= np.cumsum(billed) + 1e-9).all()
    # No delay: cash is the billing.
    np.testing.assert_allclose(collect(billed, 0.0).received, billed)


def test_a_fractional_delay_splits_between_two_months() -> None:
    """An invoice paid 1.25 months later arrives 75% in the next month and 25% in the one after."""
    billed = np.zeros(6)
    billed[0] = 1_000.0
    paid = collect(billed, 1.25 * DAYS_PER_MONTH)
    np.testing.assert_allclose(paid.received, [0, 750, 250, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(paid.receivables, [1_000, 250, 0, 0, 0, 0], atol=1e-9)


def test_bad_debt_reduces_cash_by_exactly_its_share() -> None:
    rng = np.random.default_rng(1)
    billed = rng.uniform(5_000, 15_000, 30)
    clean = collect(billed, 45.0)
    bad = collect(billed, 45.0, bad_debt_share=0.05)
    np.testing.assert_allclose(bad.received, 0.95 * clean.received, rtol=1e-12)
    np.testing.assert_allclose(bad.written_off, 0.05 * clean.received, rtol=1e-12)
    np.testing.assert_allclose(bad.received + bad.written_off, clean.received, rtol=1e-12)
    np.testing.assert_allclose(bad.receivables, clean.receivables)  # owed until it falls due, paid or not


def test_multiples_are_interpolated_and_clamped() -> None:
    shares, multiples = np.array([0.0, 0.5, 0.85]), np.array([3.0, 4.25, 7.0])
    got = interpolate_multiple(np.array([-0.1, 0.0, 0.25, 0.5, 0.675, 0.85, 1.0, np.nan]), shares, multiples)
    np.testing.assert_allclose(got[:-1], [3.0, 3.0, 3.625, 4.25, 5.625, 7.0, 7.0])
    assert np.isnan(got[-1])
    # A table that starts above zero holds its first multiple below its first share.
    assert interpolate_multiple(np.array([0.1]), np.array([0.3, 0.9]), np.array([4.0, 8.0]))[0] == 4.0
    # Churn and concentration lower the multiple, never below zero.
    lowered = valuation_multiple(
        np.array([6.0, 6.0, 6.0, 1.0]),
        np.array([0.1, 0.0, 0.1, 0.5]),
        np.array([0.1, 0.3, 0.3, 0.9]),
        5.0,
        0.2,
        5.0,
    )
    np.testing.assert_allclose(lowered, [5.5, 5.5, 5.0, 0.0])
    # A loss is valued at zero, not at a negative value that a higher multiple would deepen.
    np.testing.assert_allclose(
        enterprise_value(np.array([100.0, -100.0, np.nan]), np.array([5.0, 7.0, 5.0])), [500.0, 0.0, np.nan]
    )


def test_retention_of_the_clients_present_a_year_earlier() -> None:
    """A pays 100 then 120, B 100 then nothing (churned), C joins later (not in the cohort): net 120/200, gross
    (100 + 0)/200."""
    recurring = np.zeros((3, 14))
    recurring[0, :] = 100.0
    recurring[0, 12:] = 120.0
    recurring[1, :6] = 100.0
    recurring[2, 8:] = 50.0
    gross, net = retention(recurring)
    assert np.isnan(gross[:12]).all() and np.isnan(net[:12]).all()
    assert net[12] == pytest.approx(0.6) and gross[12] == pytest.approx(0.5)
    # Nobody paid a year earlier: undefined.
    gross, net = retention(np.zeros((2, 14)))
    assert np.isnan(gross).all() and np.isnan(net).all()


def test_trailing_sums_and_ltv_to_cac() -> None:
    np.testing.assert_allclose(trailing_sum(np.ones(14))[11:], [12.0, 12.0, 12.0])
    assert np.isnan(trailing_sum(np.ones(14))[:11]).all()
    # LTV = 600 / 0.01 = 60,000 against a CAC of 6,000: 10; undefined without churn, wins or a margin.
    np.testing.assert_allclose(
        ltv_to_cac(
            np.array([600.0, 600.0, 600.0, np.nan]),
            np.array([0.01, 0.0, 0.01, 0.01]),
            np.array([6_000.0, 6_000.0, np.inf, 6_000.0]),
        ),
        [10.0, np.nan, np.nan, np.nan],
    )


# ----------------------------------------------------------------------------------------------- the transition


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any]:
    """The short transition with the shipped finance block and with ``portfolio.finance`` switched off."""
    on = simulate_transition(short(), workers=1)
    off = simulate_transition(short(**{"portfolio.finance": None}), workers=1)
    return on, off


def test_without_finance_the_frame_and_summary_are_as_before(both: tuple[Any, Any]) -> None:
    """Switching finance off gives today's table: no finance column, cash = cumulative profit, and every other
    column identical to the run with finance; the summary has today's metrics with the same values where they do
    not look at cash."""
    on, off = both
    assert not set(FINANCE_COLUMNS) & set(off.monthly.columns)
    assert list(on.monthly.columns) == list(off.monthly.columns) + FINANCE_COLUMNS
    shared = [c for c in off.monthly.columns if c != "cash"]
    pd.testing.assert_frame_equal(on.monthly[shared], off.monthly[shared], check_exact=True)
    for _, g in off.monthly.groupby(["strategy", "replication"], sort=False):
        np.testing.assert_array_equal(g["cash"].to_numpy(), np.cumsum(g["profit"].to_numpy()))
    assert not set(FINANCE_METRICS) & set(off.summary["metric"])
    assert set(on.summary["metric"]) == set(off.summary["metric"]) | set(FINANCE_METRICS)
    cash_free = ["revenue_cv_last_12", "mrr_share_last_12", "churned_clients", "won_clients", "profit_year_1"]
    pick = ["strategy", "metric", "mean", "ci_low", "ci_high", "n"]
    a = on.summary[on.summary["metric"].isin(cash_free)][pick].reset_index(drop=True)
    b = off.summary[off.summary["metric"].isin(cash_free)][pick].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_client_accounting_holds_with_finance(both: tuple[Any, Any]) -> None:
    on, _ = both
    start = sum(s.count for s in on.scenario.portfolio.starting)
    for _, g in on.monthly.groupby(["strategy", "replication"]):
        clients = g.sort_values("month")["clients"].to_numpy()
        before = np.concatenate([[start], clients[:-1]])
        np.testing.assert_array_equal(clients, before + g["won"].to_numpy() - g["churned"].to_numpy())


def test_cash_receivables_and_ebitda_reconcile(both: tuple[Any, Any]) -> None:
    """Every month: cash + receivables = cumulative EBITDA (revenue − costs − overhead − bad debt); cash out is the
    costs and the overhead; ARR is twelve months of recurring revenue; overhead as in the static run."""
    on, _ = both
    o = on.scenario.provider.overhead
    for _, g in on.monthly.groupby(["strategy", "replication"]):
        g = g.sort_values("month")
        np.testing.assert_allclose(g["cash"] + g["receivables"], np.cumsum(g["ebitda"]), rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(g["ebitda"], g["profit"] - g["overhead"] - g["bad_debt"], atol=1e-6)
        np.testing.assert_allclose(g["cash_out"], g["cost"] + g["overhead"], atol=1e-6)
        np.testing.assert_allclose(g["cash"], np.cumsum(g["cash_in"] - g["cash_out"]), atol=1e-6)
        np.testing.assert_allclose(
            g["overhead"], o.fixed_per_month + o.share_of_revenue * g["revenue"].clip(lower=0), atol=1e-6
        )
        np.testing.assert_allclose(g["arr"], 12 * g["revenue_recurring"], atol=1e-6)
        assert g["enterprise_value"].iloc[:11].isna().all() and g["enterprise_value"].iloc[11:].notna().all()
        assert g["net_revenue_retention"].iloc[:12].isna().all()


def test_tm_in_arrears_lags_profit_end_to_end() -> None:
    """``stay`` bills only T&M: with no overhead and no bad debt, cumulative profit − cash is exactly what is still
    owed, which is the month's billing plus the part of the month before's not yet due (45 days = 1.48 months)."""
    sc = short(**{"provider.overhead.share_of_revenue": 0.0, "portfolio.finance.bad_debt_share": 0.0})
    stay = sc.portfolio.strategies[0]
    rows = monthly_rows(sc, stay, 0, run_strategy(sc, stay, replication=0, seed=sc.seed))
    lag = np.cumsum(rows["profit"].to_numpy()) - rows["cash"].to_numpy()
    np.testing.assert_allclose(lag, rows["receivables"], atol=1e-6)
    tm = rows["revenue_tm"].to_numpy()
    assert (rows["revenue"].to_numpy() == tm).all() and tm.min() > 0
    frac = 45.0 / DAYS_PER_MONTH - 1.0
    np.testing.assert_allclose(lag[1:], tm[1:] + frac * tm[:-1], rtol=1e-9)


def test_summary_has_the_value_metrics_with_intervals(both: tuple[Any, Any]) -> None:
    on, _ = both
    s = on.summary.set_index(["strategy", "metric"])
    for strategy in on.strategies:
        for metric in (
            "lowest_cash",
            "npv",
            "ebitda_ttm",
            "enterprise_value",
            "recurring_share_ttm",
            "arr_end",
        ):
            row = s.loc[(strategy, metric)]
            assert np.isfinite(row["mean"]) and row["ci_low"] <= row["mean"] <= row["ci_high"], (
                strategy,
                metric,
            )
    assert np.isnan(s.loc[("stay", "npv_vs_stay"), "mean"]) and np.isnan(
        s.loc[("stay", "mirr_vs_stay"), "mean"]
    )
    # NPV is linear: the NPV against stay is the difference of the NPVs, replication by replication.
    for strategy in on.strategies[1:]:
        gap = s.loc[(strategy, "npv"), "mean"] - s.loc[("stay", "npv"), "mean"]
        assert s.loc[(strategy, "npv_vs_stay"), "mean"] == pytest.approx(gap, rel=1e-9, abs=1e-6)
    # The lowest cash is that of the collected-cash column.
    low = on.monthly.groupby(["strategy", "replication"], sort=False)["cash"].min().groupby(level=0).mean()
    for strategy in on.strategies:
        assert s.loc[(strategy, "lowest_cash"), "mean"] == pytest.approx(low[strategy])
    assert s.loc[("stay", "arr_end"), "mean"] == 0.0
    assert s.loc[("gradual", "arr_end"), "mean"] > 0


# ----------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("table", "field", "phrase"),
    [
        (
            [{"recurring_share": 0.5, "multiple": 5.0}, {"recurring_share": 0.2, "multiple": 3.0}],
            "portfolio.finance.ev_multiples[1].recurring_share",
            "increasing recurring_share",
        ),
        (
            [{"recurring_share": 0.5, "multiple": 5.0}, {"recurring_share": 0.5, "multiple": 6.0}],
            "portfolio.finance.ev_multiples[1].recurring_share",
            "each share once",
        ),
        (
            [{"recurring_share": 0.0, "multiple": -1.0}],
            "portfolio.finance.ev_multiples[0].multiple",
            "greater than or equal to 0",
        ),
        (
            [{"recurring_share": 1.5, "multiple": 5.0}],
            "portfolio.finance.ev_multiples[0].recurring_share",
            "less than or equal to 1",
        ),
        ([], "portfolio.finance.ev_multiples", "at least one item"),
    ],
)
def test_a_bad_multiple_table_is_a_clear_error(
    table: list[dict[str, float]], field: str, phrase: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        short(**{"portfolio.finance.ev_multiples": table})
    message = str(err.value)
    assert f"field '{field}'" in message and phrase in message and "transition.yaml" in message
