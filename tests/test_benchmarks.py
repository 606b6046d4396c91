"""The industry benchmark panel: every figure equals its formula on a hand-built scenario, values outside their
range are flagged, a scenario can override a range, and the shipped ranges all load with a source."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import category, client, managed_contract, scenario, tm_contract

from simulator import ScenarioError, load_scenario, simulate
from simulator.config import BENCHMARK_FIGURES, shipped_benchmarks
from simulator.studies.benchmarks import benchmark_panel

USERS, ENDPOINTS, TECHS = 20, 25, 2


@pytest.fixture(scope="module")
def run() -> object:
    sc = load_scenario(
        scenario(
            categories=[category(rate_per_user_month=1.0, onsite_share=0.4, blocking_share=0.5)],
            clients=[client(users=USERS, endpoints=ENDPOINTS, call_in_share=0.5)],
            contracts=[tm_contract("tm", technicians=TECHS), managed_contract("managed", technicians=TECHS)],
            horizon_months=4,
            replications=3,
            provider_fields={"recurrence": {"probability": 0.1}},
        )
        | {"benchmarks": {"tickets_per_user_month": {"managed": {"low": 0.0, "high": 0.1}, "source": "test"}}}
    )
    return simulate(sc)


def test_every_figure_equals_its_formula(run: object) -> None:
    panel = benchmark_panel(run).set_index(["contract", "figure"])
    reps = run.replications.set_index("contract")  # type: ignore[attr-defined]
    months = run.scenario.measured_months  # type: ignore[attr-defined]
    for contract in ("tm", "managed"):
        r = reps.loc[contract]
        expected = {
            "tickets_per_endpoint_month": r["tickets"] / (ENDPOINTS * months),
            "tickets_per_user_month": r["tickets"] / (USERS * months),
            "technician_utilization": r["technician_utilization"],
            "endpoints_per_technician": np.full(len(r), ENDPOINTS / TECHS),
            "tickets_per_technician_month": r["tickets"] / (TECHS * months),
            "gross_margin": (r["provider_revenue"] - r["provider_cost"]) / r["provider_revenue"],
            "net_margin": r["provider_net_profit"] / r["provider_revenue"],
            "effective_hourly_rate": r["provider_revenue"] / r["technician_hours_worked"],
            "revenue_per_user_month": r["provider_revenue"] / (USERS * months),
            "downtime_hours_per_user_year": r["downtime_hours_per_user_year"],
            "mean_response_hours": r["mean_response_hours"],
            "onsite_share": r["onsite_tickets"] / r["tickets"],
            "reopen_rate": r["recurrences"] / r["tickets"],
        }
        for figure, values in expected.items():
            assert panel.loc[(contract, figure), "mean"] == pytest.approx(float(np.mean(values)), rel=1e-9), (
                figure
            )
    assert panel.loc[("tm", "sla_compliance"), "flag"] == "not measured"
    assert 0 < panel.loc[("managed", "sla_compliance"), "mean"] <= 1


def test_values_outside_their_range_are_flagged(run: object) -> None:
    panel = benchmark_panel(run).set_index(["contract", "figure"])
    for (_, _), row in panel.iterrows():
        if row["flag"] in ("below", "within", "above"):
            expected = (
                "below" if row["mean"] < row["low"] else "above" if row["mean"] > row["high"] else "within"
            )
            assert row["flag"] == expected
    # 2 technicians for 25 endpoints is far below the industry's 200-320 endpoints per technician.
    assert panel.loc[("managed", "endpoints_per_technician"), "flag"] == "below"
    # No norm for break/fix endpoints per technician.
    assert panel.loc[("tm", "endpoints_per_technician"), "flag"] == "no range"


def test_a_scenario_overrides_a_range_and_keeps_the_rest(run: object) -> None:
    panel = benchmark_panel(run).set_index(["contract", "figure"])
    row = panel.loc[("managed", "tickets_per_user_month")]
    assert (row["low"], row["high"], row["source"]) == (0.0, 0.1, "test")
    assert row["flag"] == "above"
    shipped = shipped_benchmarks()["gross_margin"]
    assert panel.loc[("managed", "gross_margin"), "low"] == shipped.managed.low  # type: ignore[union-attr]


def test_an_unknown_benchmark_figure_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"unknown figure\(s\) \['ebitda'\]"):
        load_scenario(scenario() | {"benchmarks": {"ebitda": {"source": "x"}}})


def test_the_shipped_ranges_cover_every_figure_with_a_source() -> None:
    shipped = shipped_benchmarks()
    assert list(shipped) == list(BENCHMARK_FIGURES)
    for name, bench in shipped.items():
        assert bench.source, name
        for span in (bench.managed, bench.break_fix):
            assert span is None or span.low <= span.high


def test_under_worked_costing_the_staffing_figures_count_technician_equivalents() -> None:
    """A client served by technicians shared with other clients: utilisation is the assumed shared utilisation,
    and endpoints and tickets per technician count the technician-months its hours worked take up."""
    shared, productive = 0.7, 150.0
    sc = load_scenario(
        scenario(
            categories=[category(rate_per_user_month=1.0)],
            clients=[client(users=USERS, endpoints=ENDPOINTS)],
            contracts=[tm_contract("tm", technicians=TECHS)],
            horizon_months=4,
            replications=3,
            provider_fields={
                "labour_cost_basis": "worked",
                "shared_utilization": shared,
                "productive_hours_per_technician_month": productive,
            },
        )
    )
    results = simulate(sc)
    panel = benchmark_panel(results).set_index("figure")
    r = results.replications
    technician_months = r["technician_hours_worked"] / (productive * shared)
    months = sc.measured_months
    assert panel.loc["technician_utilization", "mean"] == pytest.approx(shared)
    assert panel.loc["technician_utilization", "flag"] == "assumed"
    assert "assumed" in panel.loc["technician_utilization", "label"]
    assert panel.loc["endpoints_per_technician", "mean"] == pytest.approx(
        float(np.mean(ENDPOINTS * months / technician_months)), rel=1e-9
    )
    assert panel.loc["tickets_per_technician_month", "mean"] == pytest.approx(
        float(np.mean(r["tickets"] / technician_months)), rel=1e-9
    )
    assert "technician-equivalent" in panel.loc["endpoints_per_technician", "label"]
    # Each hour worked costs paid / productive / shared hours at the hourly rate.
    expected = r["technician_hours_worked"] * 173.3 / productive / shared * 40.0
    np.testing.assert_allclose(r["provider_labour_cost"], expected, rtol=1e-6, atol=0.05)
