"""Clients that differ and respond to prices: incident propensity per client, the price response of the call-in
share under per-call billing, and over-use at a zero price under a flat fee.

Off (their defaults), every number stays as it was; on, the figures are checked against the Poisson mixture and
against paired differences under common random numbers, with tolerances from the estimates' standard errors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, category, client, managed_contract, scenario, tm_contract
from scipy import stats

from simulator import ScenarioError, load_scenario, simulate
from simulator.config import PriceResponse, Scenario, read_yaml
from simulator.contracts import (
    BlockHours,
    CostSharing,
    FixedPrice,
    Managed,
    MonitoringPlusTm,
    TimeAndMaterials,
)
from simulator.engine.incidents import client_propensity, client_table, generate_incidents
from simulator.engine.plan import Plan, call_charges, contract_levers

SMALL_OFFICE = ROOT / "scenarios" / "small-office.yaml"
SHORT = {"horizon_months": 6, "warmup_months": 1, "replications": 6}
LEVEL = 0.99
Z = float(stats.norm.ppf(0.5 + LEVEL / 2))
TM = "break-fix-tm"
MANAGED = "managed-per-device"
PRICE_RESPONSE = {"elasticity": 0.5, "reference_charge": 200.0}


def small_office(**changes: Any) -> Scenario:
    """The shipped small office on a short horizon, with ``changes`` (dotted paths) made to its file."""
    data = read_yaml(SMALL_OFFICE)
    data.update(SHORT)
    for path, value in changes.items():
        node = data
        *keys, last = path.split(".")
        for key in keys:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return Scenario.model_validate(data)


def paired_ci(diff: np.ndarray) -> tuple[float, float]:
    """The 95% confidence interval of the mean of paired differences."""
    n = len(diff)
    half = float(stats.t.ppf(0.975, n - 1) * np.std(diff, ddof=1) / math.sqrt(n))
    return float(diff.mean()) - half, float(diff.mean()) + half


def rows(reps: pd.DataFrame, contract: str) -> pd.DataFrame:
    return reps[reps["contract"] == contract].sort_values("replication").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------------ off


def test_switched_off_features_leave_the_small_office_as_it_was() -> None:
    """Null propensity and price response, no extra requests: the same frames as the file without them."""
    omitted = simulate(small_office())
    explicit = simulate(
        small_office(
            **{
                "clients.0.incident_propensity": None,
                "clients.0.break_fix.price_response": None,
                "clients.0.managed.price_response": None,
                "clients.0.managed.extra_requests_per_user_month": 0.0,
                "clients.0.managed.extra_request_category": "software",
            }
        )
    )
    pd.testing.assert_frame_equal(omitted.replications, explicit.replications, check_exact=True)
    pd.testing.assert_frame_equal(omitted.monthly, explicit.monthly, check_exact=True)


def test_without_a_propensity_every_client_is_at_one() -> None:
    sc = small_office()
    clients = client_table(sc)
    np.testing.assert_array_equal(client_propensity(sc, clients, 0, sc.seed), np.ones(clients.count))


# --------------------------------------------------------------------------------------------- propensity


def propensity_scenario(clients: int, cv: float, annual_major: float = 0.0) -> Scenario:
    data = scenario(
        categories=[category("a", rate_per_user_month=1.0, mean_effort_hours=0.1)],
        clients=[client(count=clients, users=1, endpoints=1)],
        horizon_months=4,
        replications=2,
    )
    data["clients"][0]["incident_propensity"] = {"dist": "gamma", "mean": 1.0, "cv": cv}
    data["incidents"]["major"] = {"annual_probability": annual_major}
    return load_scenario(data)


def test_propensity_counts_are_a_poisson_mixture() -> None:
    """Per client: mean rate × months (× a propensity of mean 1), variance rate + rate² × Var(propensity)."""
    cv = 0.5
    sc = propensity_scenario(4000, cv)
    clients = client_table(sc)
    counts = np.concatenate(
        [np.bincount(generate_incidents(sc, clients, r, sc.seed).client, minlength=4000) for r in range(2)]
    ).astype(float)
    lam = 1.0 * 4
    n = len(counts)
    mean, var = counts.mean(), counts.var(ddof=1)
    assert abs(mean - lam) <= Z * math.sqrt(var / n), mean
    m4 = np.mean((counts - mean) ** 4)
    se_var = math.sqrt((m4 - var**2) / n)
    expected_var = lam + lam**2 * cv**2
    assert abs(var - expected_var) <= Z * se_var, (var, expected_var, se_var)
    assert var - lam > Z * se_var  # more spread than Poisson's variance = mean


def test_propensity_multiplies_every_rate_of_its_client() -> None:
    """Clients with a high propensity have that many more incidents and major incidents: the counts of the
    clients above the 80th percentile match rate × their propensities within Poisson tolerance."""
    sc = propensity_scenario(3000, 0.6, annual_major=0.9)
    clients = client_table(sc)
    p = client_propensity(sc, clients, 0, sc.seed)
    assert abs(p.mean() - 1.0) <= Z * 0.6 / math.sqrt(len(p))
    assert abs(p.std(ddof=1) - 0.6) < 0.05
    inc = generate_incidents(sc, clients, 0, sc.seed)
    high = p > np.quantile(p, 0.8)
    major_rate = -math.log(1 - 0.9) * 4 / 12
    for index, rate in ((0, 4.0), (1, major_rate)):
        per_client = np.bincount(inc.client[inc.category == index], minlength=clients.count)
        expected = rate * p[high].sum()
        assert abs(per_client[high].sum() - expected) <= Z * math.sqrt(expected), (index, expected)
        low_expected = rate * p[~high].sum()
        assert abs(per_client[~high].sum() - low_expected) <= Z * math.sqrt(low_expected)


def test_the_marginal_pass_uses_the_same_propensities() -> None:
    """generate_incidents(extra=...) adds incidents to the same ones: the base set is inside the larger one."""
    sc = propensity_scenario(200, 0.5)
    clients = client_table(sc)
    base = generate_incidents(sc, clients, 3, sc.seed)
    more = generate_incidents(sc, clients, 3, sc.seed, extra=0.5)
    assert np.isin(base.occurred, more.occurred).all()
    assert len(more) > len(base)


def test_propensity_must_have_mean_one() -> None:
    data = scenario()
    data["clients"][0]["incident_propensity"] = {"dist": "gamma", "mean": 2.0, "cv": 0.5}
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    text = str(err.value)
    assert "incident_propensity" in text and "mean 1" in text and "{dist: gamma, mean: 1, cv: 0.5}" in text


def test_propensity_runs_through_run_and_raises_the_money_estimate() -> None:
    plain = small_office()
    spread = small_office(**{"clients.0.incident_propensity": {"dist": "lognormal", "mean": 1.0, "cv": 0.8}})
    assert simulate(spread).replications["incidents"].to_numpy().tolist() != (
        simulate(plain).replications["incidents"].to_numpy().tolist()
    )
    total = {name: sum(t[0] for t in terms) for name, terms in plain.money_terms().items()}
    spread_total = {name: sum(t[0] for t in terms) for name, terms in spread.money_terms().items()}
    assert all(spread_total[name] > total[name] for name in total)


# ------------------------------------------------------------------------------------------ price response


def test_price_response_share() -> None:
    r = PriceResponse(elasticity=0.5, reference_charge=200.0)
    charge = np.array([0.0, 50.0, 200.0, 800.0, 1e9])
    share = r.share(0.4, charge)
    np.testing.assert_allclose(share, [1.0, 0.8, 0.4, 0.2, 0.4 * (1e9 / 200) ** -0.5])
    assert (np.diff(share) < 0).all()
    np.testing.assert_array_equal(PriceResponse(elasticity=0.0).share(0.4, charge), 0.4)
    np.testing.assert_array_equal(r.share(0.0, charge), 0.0)


def terms(**extra: Any) -> dict[str, Any]:
    return {
        "remote_rate": 100.0,
        "onsite_rate": 150.0,
        "billing_increment_hours": 0.5,
        "minimum_remote_hours": 0.5,
        "minimum_onsite_hours": 1.0,
        "trip_charge": 40.0,
        **extra,
    }


POLICY = {"technicians": 1}


def test_expected_charge_of_each_contract_kind() -> None:
    """Billable hours ≈ effort + half an increment, at least the minimum, at the rates, plus the trip charge."""
    tm = TimeAndMaterials(kind="time_and_materials", name="tm", policy=POLICY, **terms())
    # remote: max(0.5, 0.25 + 0.25) × 100 = 50; on site: max(1, 0.5) × 150 + 40 = 190
    assert tm.expected_charge("a", 0.25, 0.0) == pytest.approx(50.0)
    assert tm.expected_charge("a", 0.25, 1.0) == pytest.approx(190.0)
    assert tm.expected_charge("a", 2.0, 0.5) == pytest.approx(0.5 * 2.25 * 100 + 0.5 * (2.25 * 150 + 40))
    card = TimeAndMaterials(
        kind="time_and_materials",
        name="card",
        policy=POLICY,
        **terms(rate_card={"project": 300.0, "project_categories": ["a"]}),
    )
    assert card.expected_charge("a", 2.0, 0.0) == pytest.approx(2.25 * 300)
    assert card.expected_charge("b", 2.0, 0.0) == pytest.approx(2.25 * 100)
    fixed = FixedPrice(
        kind="fixed_price", name="fp", menu={"a": 120.0}, trip_charge=30.0, fallback=terms(), policy=POLICY
    )
    assert fixed.expected_charge("a", 5.0, 0.5) == pytest.approx(135.0)
    assert fixed.expected_charge("b", 0.25, 0.0) == pytest.approx(50.0)
    block = BlockHours(
        kind="block_hours",
        name="bh",
        hours_per_month=10,
        price_per_month=1000,
        overage=terms(),
        policy=POLICY,
    )
    assert block.expected_charge("a", 1.0, 0.5) == 0.0
    remote_only = BlockHours.model_validate(
        {**block.model_dump(), "draws": {"remote": True, "onsite": False}}
    )
    assert remote_only.expected_charge("a", 0.25, 1.0) == pytest.approx(190.0)
    monitoring = MonitoringPlusTm(
        kind="monitoring_plus_tm",
        name="mon",
        fee_per_endpoint_month=10,
        tm=terms(),
        policy={"technicians": 1, "monitoring": True},
    )
    assert monitoring.expected_charge("a", 0.25, 0.0) == pytest.approx(50.0)
    managed = Managed.model_validate(
        {**managed_contract(), "out_of_scope": terms(), "out_of_scope_categories": ["b"]}
    )
    assert managed.expected_charge("a", 3.0, 0.7) == 0.0
    assert managed.expected_charge("b", 0.25, 0.0) == pytest.approx(50.0)
    no_visits = Managed.model_validate(
        {**managed_contract(), "out_of_scope": terms(), "includes": {"remote": True, "onsite": False}}
    )
    assert no_visits.expected_charge("a", 0.25, 1.0) == pytest.approx(190.0)
    sharing = CostSharing(
        kind="cost_sharing",
        name="cs",
        target_cost_per_user_month=50,
        provider_share=0.25,
        cost_per_hour=80,
        policy=POLICY,
    )
    assert sharing.expected_charge("a", 2.0, 0.5) == pytest.approx(0.75 * 80 * 2.0)


def priced(**more: Any) -> Scenario:
    return small_office(**{"clients.0.break_fix.price_response": PRICE_RESPONSE, **more})


def test_dearer_calls_mean_fewer_tickets_and_more_self_handled() -> None:
    """T&M rates ×2 with a price response: fewer tickets and more incidents worked around (paired over
    replications, 95% intervals excluding 0); the other contracts are untouched."""
    sc = priced(replications=20)
    tm = next(c for c in sc.contracts if c.name == TM)
    assert isinstance(tm, TimeAndMaterials)
    doubled_rates = {
        "contracts.0.remote_rate": 2 * tm.remote_rate,
        "contracts.0.onsite_rate": 2 * tm.onsite_rate,
    }
    dear = priced(replications=20, **doubled_rates)
    base, doubled = simulate(sc).replications, simulate(dear).replications
    a, b = rows(base, TM), rows(doubled, TM)
    # The same incidents happen (recurrences follow the tickets)
    np.testing.assert_array_equal(a["incidents"] - a["recurrences"], b["incidents"] - b["recurrences"])
    hi = paired_ci((b["tickets"] - a["tickets"]).to_numpy(dtype=float))[1]
    lo = paired_ci((b["self_handled"] - a["self_handled"]).to_numpy(dtype=float))[0]
    assert hi < 0 and lo > 0, (hi, lo)
    for other in (c.name for c in sc.contracts if c.name != TM):
        pd.testing.assert_frame_equal(rows(base, other), rows(doubled, other))


def test_price_response_moves_call_in_with_the_charge() -> None:
    """Under T&M each category's call-in share is the behaviour's share × (charge / reference)^(−elasticity):
    cheap password resets are called in more often than the 33% at the reference, dear hardware jobs less."""
    sc = priced()
    plan = Plan.constant(sc.contracts[0], 1, sc.horizon_months)
    levers = contract_levers(sc, plan)
    assert levers.call_in_priced is not None
    charges = call_charges(sc, plan.contracts)[0]
    expected = np.minimum(1.0, 0.33 * (charges / 200.0) ** -0.5)
    np.testing.assert_allclose(levers.call_in_priced[0, 0], expected)
    names = [c.name for c in sc.incidents.categories]
    assert levers.call_in_priced[0, 0, names.index("password")] > 0.33
    assert levers.call_in_priced[0, 0, names.index("hardware")] < 0.33


def test_a_managed_contract_keeps_its_call_in_shares() -> None:
    """The flat fee charges nothing per in-scope call: the managed contract's call-in shares and its whole run
    stay as they were, even with a price response on its own behaviour (its out-of-scope category is dearer than
    that response's reference charge)."""
    sc = priced(**{"clients.0.managed.price_response": {"elasticity": 0.5, "reference_charge": 50.0}})
    managed = next(c for c in sc.contracts if c.name == MANAGED)
    plan = Plan.constant(managed, 1, sc.horizon_months)
    levers = contract_levers(sc, plan)
    assert levers.call_in_priced is not None
    names = [c.name for c in sc.incidents.categories]
    shares = levers.call_in_priced[0, 0]
    charges = call_charges(sc, plan.contracts)[0]
    for j, name in enumerate(names):
        if name == "service-request":  # out of scope: billed T&M, so called in less
            assert charges[j] > 0 and shares[j] < 1.0
        else:
            assert charges[j] == 0 and shares[j] == sc.clients[0].managed.call_in_share
    only_break_fix = simulate(priced()).replications
    plain = simulate(small_office()).replications
    pd.testing.assert_frame_equal(rows(only_break_fix, MANAGED), rows(plain, MANAGED))


# ------------------------------------------------------------------------------------------------ over-use


def over_use_scenario(rate: float, replications: int = 8) -> Scenario:
    data = scenario(
        categories=[
            category("a", rate_per_user_month=0.5, mean_effort_hours=0.5),
            category("request", rate_per_user_month=0.0, mean_effort_hours=0.25),
        ],
        clients=[client(count=4, users=10, endpoints=10, call_in_share=0.5)],
        contracts=[
            tm_contract("tm", technicians=2),
            managed_contract("managed", technicians=2),
            {**managed_contract("managed-billed", technicians=2), "out_of_scope_categories": ["request"]},
        ],
        horizon_months=6,
        replications=replications,
        provider_fields={"labour_cost_basis": "worked"},
    )
    data["clients"][0]["managed"].update(
        extra_requests_per_user_month=rate,
        extra_request_category="request",
        extra_request_effort_hours={"dist": "fixed", "mean": 0.25},
    )
    return load_scenario(data)


def test_extra_requests_only_under_the_flat_fee() -> None:
    """Extra requests appear under the contract that charges nothing for them, at rate × user-months (Poisson),
    never under T&M or a flat fee that bills their category; they add the provider's labour and no downtime."""
    rate, reps = 0.5, 8
    sc, plain = over_use_scenario(rate, reps), over_use_scenario(0.0, reps)
    run, base = simulate(sc, tickets=True), simulate(plain, tickets=True)
    assert run.tickets is not None
    request = [c.name for c in sc.incidents.categories].index("request")
    extras = run.tickets[run.tickets["category"] == request]
    assert set(extras["contract"]) == {"managed"}
    expected = rate * 10 * 4 * 6 * reps
    assert abs(len(extras) - expected) <= Z * math.sqrt(expected), (len(extras), expected)
    assert (extras["downtime_user_hours"] == 0).all() and (extras["priority"] == 4).all()
    assert not extras["onsite"].any()
    with_extra, without = rows(run.replications, "managed"), rows(base.replications, "managed")
    added = extras.groupby("replication").size().reindex(range(reps), fill_value=0).to_numpy()
    np.testing.assert_array_equal(with_extra["incidents"] - without["incidents"], added)
    labour = (with_extra["provider_labour_cost"] - without["provider_labour_cost"]).to_numpy()
    np.testing.assert_allclose(labour, added * 0.25 * 40.0, rtol=1e-9)
    np.testing.assert_allclose(with_extra["downtime_user_hours"], without["downtime_user_hours"])
    for other in ("tm", "managed-billed"):
        pd.testing.assert_frame_equal(rows(run.replications, other), rows(base.replications, other))


def test_extra_requests_need_a_user_scope_category() -> None:
    data = scenario()
    data["clients"][0]["managed"]["extra_requests_per_user_month"] = 0.2
    with pytest.raises(ScenarioError, match="extra_request_category"):
        load_scenario(data)
    data["clients"][0]["managed"]["extra_request_category"] = "nope"
    with pytest.raises(ScenarioError, match="no incident category 'nope'"):
        load_scenario(data)


def test_the_assumptions_say_what_is_set() -> None:
    from simulator.outputs.assumptions import assumptions, key_assumptions

    plain = small_office()
    sc = priced(
        **{
            "clients.0.incident_propensity": {"dist": "gamma", "mean": 1.0, "cv": 0.5},
            "clients.0.managed.extra_requests_per_user_month": 0.3,
            "clients.0.managed.extra_request_category": "software",
        }
    )
    words: dict[str, str] = dict(key_assumptions(sc).itertuples(index=False))
    assert "propensity" in words["What goes wrong"]
    assert "^−0.5" in words["Calling the provider"] and "0.3 extra" in words["Calling the provider"]
    before: dict[str, str] = dict(key_assumptions(plain).itertuples(index=False))
    assert "propensity" not in before["What goes wrong"] and "extra" not in before["Calling the provider"]
    assert not assumptions(plain)["parameter"].str.contains("extra_request").any()
