"""The incentive analysis as a relationship (DESIGN.md §4): who stays under the termination right and at renewal,
what each side's relationship is worth, and what it changes on the shipped incentives scenario."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulator import load_scenario
from simulator.config import Churn, Relationship
from simulator.studies.incentives import analyze_incentives
from simulator.studies.relationship import ClientMonths, survival, value


def months_of(profit: np.ndarray, exits: list[int], **kw: np.ndarray) -> ClientMonths:
    zeros = np.zeros_like(profit)
    fields: dict[str, Any] = {
        "profit": profit,
        "client_cost": zeros,
        "social_cost": zeros,
        "downtime_user_hours": zeros,
        "breaches": zeros,
        "recurrences": zeros,
        "exits": np.array(exits),
    }
    fields.update(kw)
    return ClientMonths(**fields)


def test_a_client_who_terminates_earns_the_provider_its_outside_option_from_the_next_month() -> None:
    # Two clients of 10 and 30 users, 100 a month each over 24 months; client 0 leaves at the end of month 3
    # (index 2). The outside option of 400 a month is shared by users: client 0's share is 100 a month.
    terms = Relationship(horizon_months=24, renewal=None)
    months = months_of(np.full((2, 24), 100.0), [2, -1], client_cost=np.full((2, 24), 50.0))
    users = np.array([10.0, 30.0])
    on = survival(terms, months, users)
    assert on[0].tolist() == [1.0] * 3 + [0.0] * 21
    assert on[1].tolist() == [1.0] * 24
    valued = value(terms, months, users, 400.0)
    np.testing.assert_allclose(valued.provider, [3 * 100 + 21 * 100, 24 * 100])
    np.testing.assert_allclose(valued.client_stay, [3 * 50, 24 * 50])
    np.testing.assert_allclose(valued.departed.sum(axis=1), [21, 0])
    assert valued.terminated.tolist() == [True, False]


def test_renewal_keeps_a_client_with_the_churn_models_probability_and_money_is_discounted() -> None:
    # One client, 10 users, 5 blocked hours per user-month and 2 breaches a month: the logit at the renewal after
    # 12 months is −2.5 + 0.15·5 + 0.05·2 = −1.65 → leaves with 1/(1 + e^1.65) = 0.1611.
    churn = Churn()
    terms = Relationship(horizon_months=24, term_months=12, discount_rate=0.1, renewal=churn)
    months = months_of(
        np.full((1, 24), 1000.0),
        [-1],
        downtime_user_hours=np.full((1, 24), 50.0),
        breaches=np.full((1, 24), 2.0),
    )
    leave = 1.0 / (1.0 + np.exp(1.65))
    on = survival(terms, months, np.array([10.0]))
    np.testing.assert_allclose(on[0, :12], 1.0)
    np.testing.assert_allclose(on[0, 12:], 1.0 - leave)
    w = 1.1 ** (-np.arange(1, 25) / 12)
    expected = 1000.0 * (w[:12].sum() + (1.0 - leave) * w[12:].sum())
    np.testing.assert_allclose(value(terms, months, np.array([10.0]), 0.0).provider, [expected])
    # The discount factors: the present value of a constant 1 a month is the annuity's closed form.
    r = 1.1 ** (1 / 12) - 1
    np.testing.assert_allclose(terms.weights().sum(), (1 - (1 + r) ** -24) / r)


# ------------------------------------------------------------------------------- the shipped scenario, reduced


def _shipped(relationship: bool) -> Any:
    """The shipped incentives scenario on a smaller search: time and materials against the managed contract,
    prevention 0 or 0.4 h, 1-3 technicians, monitoring on or off, usual care; 6 replications."""
    import yaml

    with open("scenarios/incentives.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["contracts"] = [c for c in data["contracts"] if c["name"] in ("break-fix-tm", "managed-services")]
    data["replications"] = 6
    inc = data["incentives"]
    inc["refine"] = False
    inc["levers"] = {
        "prevention_hours_per_endpoint_month": {"low": 0.0, "high": 0.4, "points": 2},
        "technicians": {"low": 1, "high": 3},
        "monitoring": [False, True],
        "thoroughness": {"low": 1.0, "high": 1.0, "points": 1},
    }
    inc["design"] = {"per_downtime_hour": [0.0], "per_breach": [0.0]}
    if not relationship:
        inc["relationship"] = None
        data["contracts"][1]["sla"]["termination"] = None
    return analyze_incentives(load_scenario(data), workers=2)


@pytest.fixture(scope="module")
def shipped() -> tuple[Any, Any]:
    return _shipped(True), _shipped(False)


def _loss_per_month(result: Any, contract: str) -> pd.Series:
    """Per replication, the social cost at the provider's best response less that at the social optimum, per
    month (computed even where the misalignment table calls the queue unstable)."""
    best = result.best_response.set_index(["contract", "role"])
    rows = result.evaluations[
        (result.evaluations["contract"] == contract) & (result.evaluations["variant"] == "base")
    ]

    def at(role: str) -> pd.Series:
        point = best.loc[(contract, role), "point"]
        return rows[rows["point"] == point].set_index("replication")["social_cost"]

    return (at("provider") - at("social")) / result.scenario.measured_months


@pytest.mark.slow
def test_with_renewal_and_termination_the_managed_provider_keeps_a_queue_the_client_stays_with(
    shipped: tuple[Any, Any],
) -> None:
    repeated, one_shot = shipped
    best = repeated.best_response.set_index(["contract", "role"])
    managed = best.loc[("managed-services", "provider")]
    assert managed["technician_utilization"] < 0.9
    assert bool(managed["client_participates"])
    assert not managed["unstable"]
    # Its welfare loss is at most half the one-shot game's: the paired interval of (loss − half the one-shot
    # loss), per month, lies below zero.
    diff = _loss_per_month(repeated, "managed-services") - 0.5 * _loss_per_month(one_shot, "managed-services")
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() + half < 0, (diff.mean(), half)


def test_a_fee_window_starts_at_zero_and_every_segment_with_one_has_a_fee_both_sides_prefer() -> None:
    # An 8-user office in a two-year relationship whose managed SLA can be ended after 2 poor months of any 4.
    import yaml

    with open("scenarios/small-office.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["replications"] = 4
    data["incentives"] = {
        "refine": False,
        "levers": {
            "prevention_hours_per_endpoint_month": {"low": 0.0, "high": 0.6, "points": 2},
            "technicians": {"low": 1, "high": 1},
            "monitoring": [False, True],
            "thoroughness": {"low": 1.0, "high": 1.0, "points": 1},
        },
        "relationship": {"horizon_months": 24, "term_months": 12, "discount_rate": 0.08},
        "provider_outside_option": 200.0,
        "design": {"per_downtime_hour": [0.0, 20.0], "per_breach": [0.0]},
    }
    for contract in data["contracts"]:
        if contract["kind"] == "managed":
            contract["sla"]["termination"] = {"below": 0.8, "months": 2, "within": 4}
    result = analyze_incentives(load_scenario(data))
    design = result.design
    assert not design.empty
    for _, row in design.iterrows():
        assert bool(row["zone_exists"]) == (max(row["fee_min"], 0.0) <= row["fee_max"])
        for segment in result.scenario.clients:
            low, high = row[f"fee_min[{segment.name}]"], row[f"fee_max[{segment.name}]"]
            assert (segment.name in str(row["window_segments"]).split(", ")) == (max(low, 0.0) <= high)
    best = result.best_response
    assert best["clients_remaining"].between(0.0, 1.0).all()
    assert best["client_participates"].dtype == bool


def test_a_risk_averse_client_prefers_the_steadier_of_two_settings_a_risk_neutral_one_the_cheaper() -> None:
    from simulator.studies.incentives import best_of

    # Point 0 costs 100 in every replication; point 1 costs 0 or 198 (mean 99): cheaper on average, riskier.
    rows = pd.DataFrame(
        {
            "point": [0] * 4 + [1] * 4,
            "replication": [0, 1, 2, 3] * 2,
            "client_total_cost": [100.0] * 4 + [0.0, 198.0, 0.0, 198.0],
            "provider_net_profit": [10.0] * 8,
        }
    )
    assert best_of(rows, "client", None)[0] == 1
    # Tolerance 100: the certainty equivalent of point 1 is 99 + 100·log E[exp((x − 99)/100)] ≈ 99 + 43 > 100.
    assert best_of(rows, "client", None, risk=100.0)[0] == 0
    assert best_of(rows, "client", None, risk=1e9)[0] == 1  # almost risk neutral


def test_a_certainty_equivalent_objective_needs_the_partys_risk_tolerance() -> None:
    import yaml

    from simulator.config import ScenarioError
    from simulator.studies.incentives import tolerance

    with open("scenarios/incentives.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["incentives"]["objective"] = {"provider": "certainty_equivalent"}
    with pytest.raises((ScenarioError, ValueError), match=r"risk\.provider_risk_tolerance"):
        load_scenario(data)
    data["risk"] = {"provider_risk_tolerance": 50_000.0}
    sc = load_scenario(data)
    # A yearly tolerance, scaled to the months the analysis values (11 measured months here).
    assert tolerance(sc, "provider") == pytest.approx(50_000.0 * sc.measured_months / 12)
    assert tolerance(sc, "client") is None


def _small_relationship() -> Any:
    import yaml

    with open("scenarios/small-office.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["replications"] = 3
    data["incentives"] = {
        "refine": True,
        "levers": {
            "prevention_hours_per_endpoint_month": {"low": 0.0, "high": 0.6, "points": 2},
            "technicians": {"low": 1, "high": 1},
            "monitoring": [False, True],
            "thoroughness": {"low": 1.0, "high": 1.0, "points": 1},
        },
        "relationship": {"horizon_months": 12, "term_months": 6, "discount_rate": 0.08},
        "design": {"per_downtime_hour": [0.0, 20.0], "per_breach": []},
    }
    return load_scenario(data)


def test_an_interrupted_analysis_resumes_from_its_saved_replications_with_the_same_numbers(
    tmp_path: Any,
) -> None:
    from simulator.studies.checkpoints import Checkpoints
    from simulator.studies.incentives import PER_CLIENT

    sc = _small_relationship()
    clean = analyze_incentives(sc)

    def stop_after(limit: int) -> Any:
        def steps(done: int, total: int) -> None:
            if done >= limit:
                raise KeyboardInterrupt

        return steps

    saved = Checkpoints(tmp_path / "partial", PER_CLIENT)
    with pytest.raises(KeyboardInterrupt):
        analyze_incentives(sc, saved=saved, steps=stop_after(4))
    kept = sorted(p.name for p in saved.folder.iterdir())
    assert len(kept) >= 2  # the grid's first replications (a table and its arrays each)
    resumed = analyze_incentives(sc, saved=saved)
    for name in ("best_response", "misalignment", "curves", "design", "evaluations"):
        pd.testing.assert_frame_equal(
            getattr(resumed, name), getattr(clean, name), check_exact=True, obj=name
        )
    # Removing the saved work deletes only what it wrote.
    (saved.folder / "notes.txt").write_text("mine", encoding="utf-8")
    saved.remove()
    assert [p.name for p in saved.folder.iterdir()] == ["notes.txt"]


def test_a_break_even_fee_under_a_certainty_equivalent_moves_by_the_risk_premium() -> None:
    from simulator.studies.incentives import _break_even
    from simulator.studies.utility import certainty_equivalent

    rng = np.random.default_rng(5)
    cost = 1000.0 + 300.0 * rng.standard_normal(40)  # the client's cost on the contract, per replication
    units = np.full(40, 10.0)  # user-months paying the fee
    # Risk neutral: the fee at which the mean cost equals the outside option's 1,200 (closed form).
    outside = np.full(40, 1200.0)
    assert _break_even(cost, units, outside, 50.0, None, cost=True) == pytest.approx(
        50.0 + (1200.0 - cost.mean()) / 10.0
    )
    # Risk averse (tolerance 500): the certainty equivalent shifts one for one with a sure fee, so the break-even
    # fee is lower by the risk premium over the user-months.
    ce = certainty_equivalent(cost, 500.0, cost=True)
    assert ce > cost.mean()
    assert _break_even(cost, units, outside, 50.0, 500.0, cost=True) == pytest.approx(
        50.0 + (1200.0 - ce) / 10.0, abs=1e-6
    )
    # The same spread on both sides: the fee stays where it is.
    assert _break_even(cost, units, cost, 50.0, 500.0, cost=True) == pytest.approx(50.0, abs=1e-6)
    # Nobody stays to pay a fee: no break-even fee.
    assert np.isnan(_break_even(cost, np.zeros(40), outside, 50.0, 500.0, cost=True))


def test_one_run_billed_under_several_credit_levels_shares_its_costs_without_changing_a_figure() -> None:
    # The incentive analysis measures one managed run under each credit level of the design, billing every line
    # but the credits once and computing the run's price-independent facts (cost ledger, ticket times, pool
    # figures, per-client costs) once: every figure must be what measuring each price list on its own gives.
    import dataclasses

    from simulator.base import memo
    from simulator.contracts.billing import bill_credit_levels
    from simulator.contracts.ledger import Ledger
    from simulator.engine.incidents import client_table, generate_incidents
    from simulator.engine.replication import simulate_contract
    from simulator.metrics import billing_context, measure, run_facts
    from simulator.studies.incentives import _design_variants
    from simulator.studies.relationship import client_costs, client_months

    sc = load_scenario(
        "scenarios/incentives.yaml", {"horizon_months": 8, "warmup_months": 2}
    ).for_incentives()
    managed = next(c for c in sc.contracts if c.sla_terms is not None)
    clients = client_table(sc)
    ctx = dataclasses.replace(billing_context(sc, clients), terminate_from=sc.warmup_months)
    run = simulate_contract(sc, managed, generate_incidents(sc, clients, 0, sc.seed), clients, sc.seed, 0)
    variants = [managed, *(priced for _, priced in _design_variants(managed, sc))]
    assert len(variants) > 2
    facts = run_facts(sc, run, ctx)
    bills = bill_credit_levels(managed, variants, run.tickets, run.prevention, ctx)
    costs = None
    credits = set()
    for priced, billed in zip(variants, bills, strict=True):
        row, flows, ledger = measure(sc, priced, run, ctx, facts, billed)
        memo.forget()  # nothing remembered from the shared billing: this one is computed alone
        alone_row, alone_flows, alone_ledger = measure(sc, priced, run, ctx)
        assert row == pytest.approx(alone_row, nan_ok=True, rel=0, abs=0)
        for field in dataclasses.fields(Ledger):
            np.testing.assert_array_equal(getattr(ledger, field.name), getattr(alone_ledger, field.name))
        if costs is None:
            costs = client_costs(run, ctx, flows)
        shared = client_months(sc, priced, run, ctx, ledger, flows, costs)
        memo.forget()
        alone = client_months(sc, priced, run, ctx, alone_ledger, alone_flows)
        for field in dataclasses.fields(alone):
            np.testing.assert_array_equal(getattr(shared, field.name), getattr(alone, field.name))
        credits.add(row["sla_credits"])
    assert len(credits) > 1  # the price lists do bill differently


def test_credit_levels_must_differ_only_in_their_credits() -> None:
    from simulator.contracts.billing import bill_credit_levels
    from simulator.engine.incidents import client_table, generate_incidents
    from simulator.engine.replication import simulate_contract
    from simulator.metrics import billing_context

    sc = load_scenario("scenarios/incentives.yaml", {"horizon_months": 4, "warmup_months": 1})
    managed = next(c for c in sc.contracts if c.sla_terms is not None)
    clients = client_table(sc)
    ctx = billing_context(sc, clients)
    run = simulate_contract(sc, managed, generate_incidents(sc, clients, 0, sc.seed), clients, sc.seed, 0)
    dearer = managed.model_copy(update={"fee_per_user_month": managed.fee_per_user_month + 1.0})
    with pytest.raises(ValueError, match="more than its SLA credits"):
        bill_credit_levels(managed, [managed, dearer], run.tickets, run.prevention, ctx)
