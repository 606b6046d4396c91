"""Security stacks (tiered managed packages) and co-managed IT: validation, nesting under common random numbers,
Poisson counts against the stack's multiplier, the stack's cost, and the client's own IT's tickets and cost."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, category, client, managed_contract, scenario, tm_contract
from scipy import stats

from simulator import Results, ScenarioError, load_scenario, simulate
from simulator.base.records import Handling
from simulator.contracts.ledger import Account
from simulator.engine.incidents import client_table, generate_incidents
from simulator.engine.replication import Plan, simulate_plan
from simulator.metrics import billing_context, cost_ledger
from simulator.outputs.assumptions import assumptions, key_assumptions
from simulator.studies.transition import simulate_transition

Z = 3.29  # two-sided 99.9% normal quantile: a fixed-seed check that fails by chance once in a thousand seeds

STACKS: dict[str, Any] = {
    "bronze": {
        "description": "MFA",
        "category_rates": {"cat": 0.8},
        "major_probability": 0.8,
        "tools_cost_per_endpoint_month": 2.0,
    },
    "silver": {
        "description": "MFA, EDR",
        "category_rates": {"cat": 0.5},
        "major_probability": 0.5,
        "major_outage": 0.6,
        "tools_cost_per_endpoint_month": 4.0,
    },
    "gold": {
        "description": "MFA, EDR, immutable backups",
        "category_rates": {"cat": 0.2},
        "major_probability": 0.2,
        "major_outage": 0.3,
        "major_effort": 0.5,
        "tools_cost_per_endpoint_month": 7.25,
    },
}


def _managed(name: str, stack: str | None = None, **extra: Any) -> dict[str, Any]:
    contract = managed_contract(name, technicians=3)
    if stack is not None:
        contract["policy"]["security_stack"] = stack
    contract.update(extra)
    return contract


def _tiers(**extra: Any) -> dict[str, Any]:
    """Bronze, silver and gold managed packages (and one without a stack) over the same clients."""
    data = scenario(
        clients=[client(count=3, users=10, endpoints=4)],
        categories=[category(rate_per_user_month=0.5)],
        contracts=[_managed("none"), *(_managed(tier, tier) for tier in ("bronze", "silver", "gold"))],
        **extra,
    )
    data["security_stacks"] = copy.deepcopy(STACKS)
    return data


def _co_managed(share: float, max_hours: float = 1000.0, **extra: Any) -> dict[str, Any]:
    return {"share": share, "l1_max_effort_hours": max_hours, "client_it_cost_per_hour": 80.0, **extra}


# ----------------------------------------------------------------------------------------------- validation


def test_an_unknown_stack_is_named_with_the_fix() -> None:
    data = _tiers()
    data["contracts"][1]["policy"]["security_stack"] = "platinum"
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    text = str(err.value)
    assert "contracts[bronze].policy.security_stack" in text and "'platinum'" in text
    assert "bronze" in text and "security_stacks" in text and "Fix" in text


def test_a_stack_needs_stacks_defined() -> None:
    data = _tiers()
    del data["security_stacks"]
    with pytest.raises(ScenarioError, match="defines none"):
        load_scenario(data)


def test_an_unknown_category_of_a_stack_is_named_with_the_fix() -> None:
    data = _tiers()
    data["security_stacks"]["gold"]["category_rates"]["malware"] = 0.1
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    text = str(err.value)
    assert "security_stacks.gold.category_rates" in text and "malware" in text and "Fix" in text
    data["security_stacks"]["gold"]["category_rates"] = {"major": 0.1}
    with pytest.raises(ScenarioError, match="major_probability"):
        load_scenario(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("major_probability", 1.5), ("major_outage", 0.0), ("tools_cost_per_endpoint_month", -1.0)],
)
def test_stack_multipliers_stay_in_range(field: str, value: float) -> None:
    data = _tiers()
    data["security_stacks"]["gold"][field] = value
    with pytest.raises(ScenarioError, match=rf"security_stacks\.gold\.{field}"):
        load_scenario(data)
    data = _tiers()
    data["security_stacks"]["gold"]["category_rates"]["cat"] = 1.2
    with pytest.raises(ScenarioError, match="category_rates"):
        load_scenario(data)


def test_co_managed_categories_must_be_known() -> None:
    data = scenario(contracts=[_managed("m", co_managed=_co_managed(0.5, categories=["printer"]))])
    with pytest.raises(ScenarioError) as err:
        load_scenario(data)
    assert "contracts[m].co_managed.categories" in str(err.value) and "printer" in str(err.value)
    data["contracts"][0]["co_managed"]["categories"] = ["major"]
    with pytest.raises(ScenarioError, match="never L1-eligible"):
        load_scenario(data)
    data["contracts"][0]["co_managed"]["share"] = 2.0
    with pytest.raises(ScenarioError, match=r"co_managed\.share"):
        load_scenario(data)


def test_the_money_limit_counts_the_stack() -> None:
    data = _tiers()
    data["clients"] = [client(count=1, users=1, endpoints=1_000_000)]
    data["horizon_months"] = 24
    data["security_stacks"]["gold"]["tools_cost_per_endpoint_month"] = 1_000_000.0
    with pytest.raises(ScenarioError, match=r"security_stacks\.gold\.tools_cost_per_endpoint_month"):
        load_scenario(data)


def test_the_money_limit_counts_the_client_it() -> None:
    data = scenario(
        clients=[client(users=100_000, endpoints=1)],
        categories=[category(rate_per_user_month=10.0, mean_effort_hours=100.0)],
        contracts=[_managed("m", co_managed=_co_managed(0.5, client_it_cost_per_hour=1_000_000.0))],
        horizon_months=12,
    )
    with pytest.raises(ScenarioError, match=r"contracts\[m\]\.co_managed\.client_it_cost_per_hour"):
        load_scenario(data)


# ----------------------------------------------------------------------------------------------- unused: unchanged


def test_null_stack_and_co_management_change_nothing() -> None:
    """``security_stack: null``, ``co_managed: null`` and a stack nobody uses give the very numbers of a scenario
    without them (the existing streams are untouched; see also test_reproducibility)."""
    plain = scenario(
        clients=[client(count=2, users=5, endpoints=5)],
        contracts=[tm_contract(), managed_contract()],
        horizon_months=3,
        replications=3,
    )
    plain["incidents"]["major"] = {"annual_probability": 0.5}
    explicit = copy.deepcopy(plain)
    for c in explicit["contracts"]:
        c["policy"]["security_stack"] = None
    explicit["contracts"][1]["co_managed"] = None
    explicit["security_stacks"] = copy.deepcopy(STACKS)
    a = simulate(load_scenario(plain), tickets=True)
    b = simulate(load_scenario(explicit), tickets=True)
    pd.testing.assert_frame_equal(a.replications, b.replications, check_exact=True)
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
    assert a.tickets is not None and b.tickets is not None
    pd.testing.assert_frame_equal(a.tickets, b.tickets, check_exact=True)
    assert (a.replications[["stopped_by_security", "client_it_handled", "client_it_cost"]] == 0).all().all()


# ----------------------------------------------------------------------------------------------- stacks


@pytest.fixture(scope="module")
def tiers() -> Results:
    data = _tiers(horizon_months=6, replications=20)
    data["incidents"]["major"] = {"annual_probability": 0.5}
    return simulate(load_scenario(data), tickets=True)


def _by_rep(frame: pd.DataFrame, contract: str, metric: str) -> np.ndarray:
    return frame[frame["contract"] == contract].sort_values("replication")[metric].to_numpy(dtype=float)


def test_stronger_stacks_see_fewer_incidents_every_replication(tiers: Results) -> None:
    reps = tiers.replications
    counts = {t: _by_rep(reps, t, "incidents") for t in ("none", "bronze", "silver", "gold")}
    assert np.all(counts["none"] >= counts["bronze"])
    assert np.all(counts["bronze"] >= counts["silver"])
    assert np.all(counts["silver"] >= counts["gold"])
    for weaker, stronger in (("bronze", "silver"), ("silver", "gold")):
        diff = counts[weaker] - counts[stronger]
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
        assert diff.mean() - half > 0, (weaker, stronger)
    # Everything a stack stops is counted, and nothing else is lost.
    for tier in ("bronze", "silver", "gold"):
        np.testing.assert_array_equal(
            counts[tier] + _by_rep(reps, tier, "stopped_by_security"), counts["none"]
        )


def test_a_stronger_stacks_incidents_are_among_a_weaker_ones(tiers: Results) -> None:
    """Common random numbers: the incidents surviving gold are incidents that survive silver, and so on."""
    assert tiers.tickets is not None
    for r, rep in tiers.tickets.groupby("replication"):
        seen = {c: set(zip(g["client"], g["occurred"], strict=True)) for c, g in rep.groupby("contract")}
        assert seen["gold"] <= seen["silver"] <= seen["bronze"] <= seen["none"], r


def test_a_stack_thins_the_poisson_count_by_its_multiplier() -> None:
    """Incidents under a stack with multiplier m are Poisson with mean rate × m: the mean over replications
    within Z standard errors of it."""
    users, months, reps, rate, m = 20, 6, 40, 0.5, 0.3
    data = scenario(
        clients=[client(users=users, endpoints=users)],
        categories=[category(rate_per_user_month=rate, mean_effort_hours=0.2)],
        contracts=[_managed("m", "s")],
        horizon_months=months,
        replications=reps,
    )
    data["security_stacks"] = {"s": {"category_rates": {"cat": m}}}
    rows = simulate(load_scenario(data)).replications
    expected = rate * users * months * m
    assert abs(rows["incidents"].mean() - expected) < Z * np.sqrt(expected / reps)
    stopped = rate * users * months * (1 - m)
    assert abs(rows["stopped_by_security"].mean() - stopped) < Z * np.sqrt(stopped / reps)


def test_a_stack_shortens_major_outages_and_their_recovery() -> None:
    data = scenario(
        clients=[client(count=20, users=5, endpoints=5)],
        categories=[category(rate_per_user_month=0.0)],
        contracts=[_managed("plain"), _managed("backups", "b")],
        horizon_months=12,
        replications=4,
    )
    for contract in data["contracts"]:
        contract["policy"]["technicians"] = 20
    data["incidents"]["major"] = {
        "annual_probability": 0.9,
        "downtime_hours": {"dist": "lognormal", "mean": 40.0, "cv": 1.0},
        "effort_hours": {"dist": "lognormal", "mean": 8.0, "cv": 0.5},
    }
    data["security_stacks"] = {"b": {"major_outage": 0.25, "major_effort": 0.5}}
    tickets = simulate(load_scenario(data), tickets=True).tickets
    assert tickets is not None
    major = tickets[tickets["major"]]
    plain = major[major["contract"] == "plain"].sort_values(["replication", "client", "occurred"])
    backups = major[major["contract"] == "backups"].sort_values(["replication", "client", "occurred"])
    assert len(plain) == len(backups) > 20  # major_probability 1: the same major incidents
    np.testing.assert_allclose(backups["work_hours"].to_numpy(), 0.5 * plain["work_hours"].to_numpy())
    assert backups["downtime_hours"].mean() < 0.5 * plain["downtime_hours"].mean()


def test_the_stack_cost_is_endpoints_times_cost_times_months() -> None:
    data = _tiers(horizon_months=5, replications=2)
    data["contracts"][0]["policy"]["monitoring"] = True
    data["provider"]["tools_cost_per_endpoint_month"] = 3.0
    rows = simulate(load_scenario(data)).replications.set_index(["contract", "replication"])
    endpoints, months = 3 * 4, 5
    tools = rows["provider_tools_cost"]
    assert (tools.loc["none"] == endpoints * 3.0 * months).all()  # monitoring tools only
    for tier, stack in STACKS.items():
        assert (tools.loc[tier] == endpoints * stack["tools_cost_per_endpoint_month"] * months).all()
        costs = rows.loc[tier]
        others = costs["provider_labour_cost"] + costs["provider_parts_cost"]
        np.testing.assert_allclose(costs["provider_cost"], others + tools.loc[tier])


def test_the_stack_works_per_contract_in_a_plan() -> None:
    """A plan with two contracts (the transition study's case): the stack thins only its own clients' incidents
    and costs only their endpoints."""
    data = _tiers(horizon_months=4)
    sc = load_scenario(data)
    clients = client_table(sc)
    incidents = generate_incidents(sc, clients, 0, sc.seed)
    none, gold = sc.contracts[0], sc.contracts[3]
    assignment = np.zeros((clients.count, sc.horizon_months), dtype=np.int64)
    assignment[0] = 1  # the first client on gold, the others on the plain package
    assignment[1, 2:] = 1  # the second moves to gold in month 2
    plan = Plan((none, gold), assignment, np.full(sc.horizon_months, 3), np.ones(sc.horizon_months))
    run = simulate_plan(sc, plan, incidents, clients, sc.seed, 0)
    alone = simulate_plan(sc, Plan.constant(none, clients.count, 4), incidents, clients, sc.seed, 0)
    log, ref = run.tickets, alone.tickets
    assert set(ref.occurred[ref.client == 2]) == set(log.occurred[log.client == 2])
    assert set(log.occurred[log.client == 0]) < set(ref.occurred[ref.client == 0])
    assert set(log.occurred[log.client == 1]) <= set(ref.occurred[ref.client == 1])
    np.testing.assert_array_equal(run.security_cost_by_month, [4 * 7.25, 4 * 7.25, 8 * 7.25, 8 * 7.25])


# ----------------------------------------------------------------------------------------------- co-managed IT


def _co_scenario(share: float | None, **co: Any) -> dict[str, Any]:
    """One managed contract whose out-of-scope T&M bills every ticket; fixed efforts of 0.5 h and 3 h."""
    contract = _managed("m", out_of_scope_categories=["small", "large"])
    if share is not None:
        contract["co_managed"] = _co_managed(share, **co)
    return scenario(
        clients=[client(count=2, users=10, endpoints=10)],
        categories=[
            category("small", rate_per_user_month=1.0, effort_hours={"dist": "fixed", "mean": 0.5}),
            category("large", rate_per_user_month=0.5, effort_hours={"dist": "fixed", "mean": 3.0}),
        ],
        contracts=[contract],
        horizon_months=3,
        replications=3,
    )


def test_the_client_it_takes_every_eligible_ticket_at_share_one() -> None:
    res = simulate(load_scenario(_co_scenario(1.0)), tickets=True)
    tickets, rows = res.tickets, res.replications
    assert tickets is not None
    assert Handling.LABELS[Handling.CLIENT_IT] == "client_it"
    assert (tickets["handling"] == Handling.CLIENT_IT).all()
    assert (rows["tickets"] == 0).all() and (rows["client_it_handled"] == rows["incidents"]).all()
    assert (rows["technician_hours_worked"] == 0).all()  # nothing reaches the pool
    fees = 2 * 10 * 100.0 * 3
    assert (rows["provider_revenue"] == fees).all()  # out-of-scope T&M would have billed every ticket
    hours = tickets.groupby("replication")["client_it_hours"].sum().to_numpy()
    np.testing.assert_array_equal(rows["client_it_hours"].to_numpy(), hours)
    np.testing.assert_array_equal(rows["client_it_cost"].to_numpy(), hours * 80.0)
    np.testing.assert_array_equal(
        rows["client_total_cost"], rows["client_fees"] + rows["client_downtime_cost"] + rows["client_it_cost"]
    )
    # Downtime: no reporting delay in these clients, so the hands-on hours themselves.
    np.testing.assert_array_equal(tickets["downtime_hours"], tickets["client_it_hours"])


def test_the_client_it_takes_only_l1_tickets() -> None:
    res = simulate(load_scenario(_co_scenario(1.0, max_hours=1.0)), tickets=True)
    tickets = res.tickets
    assert tickets is not None
    small = tickets["category"] == 0
    assert (tickets.loc[small, "handling"] == Handling.CLIENT_IT).all()
    assert (tickets.loc[~small, "handling"] == Handling.TICKET).all()
    assert (tickets.loc[~small, "client_it_hours"] == 0).all()
    only_large = simulate(load_scenario(_co_scenario(1.0, categories=["large"]))).replications
    assert (only_large["client_it_handled"] > 0).all() and (only_large["tickets"] > 0).all()


def test_a_larger_share_takes_a_superset() -> None:
    frames = {
        share: simulate(load_scenario(_co_scenario(share)), tickets=True).tickets for share in (0.3, 0.7)
    }
    for r in range(3):
        taken = {}
        for share, t in frames.items():
            assert t is not None
            mine = t[(t["replication"] == r) & (t["handling"] == Handling.CLIENT_IT)]
            taken[share] = set(zip(mine["client"], mine["occurred"], strict=True))
        assert taken[0.3] < taken[0.7]


def test_share_zero_is_the_plain_managed_contract() -> None:
    plain = simulate(load_scenario(_co_scenario(None)), tickets=True)
    zero = simulate(load_scenario(_co_scenario(0.0)), tickets=True)
    pd.testing.assert_frame_equal(plain.replications, zero.replications, check_exact=True)
    assert plain.tickets is not None and zero.tickets is not None
    pd.testing.assert_frame_equal(plain.tickets, zero.tickets, check_exact=True)
    assert (plain.replications["tickets"] > 0).all()


def test_the_client_it_cost_is_hours_times_rate_exactly() -> None:
    """One client, one category of fixed 0.5 h: the client's own IT cost is 0.5 h × 80 per ticket taken."""
    data = _co_scenario(1.0)
    data["clients"] = [client(users=2, endpoints=2)]
    data["incidents"]["categories"] = data["incidents"]["categories"][:1]
    data["contracts"][0]["out_of_scope_categories"] = ["small"]
    rows = simulate(load_scenario(data)).replications
    assert (rows["client_it_handled"] > 0).all()
    np.testing.assert_array_equal(rows["client_it_hours"], 0.5 * rows["client_it_handled"])
    np.testing.assert_array_equal(rows["client_it_cost"], 40.0 * rows["client_it_handled"])
    np.testing.assert_array_equal(
        rows["social_cost"], rows["provider_cost"] + rows["client_downtime_cost"] + rows["client_it_cost"]
    )


# ----------------------------------------------------------------------------------------------- in words


def test_the_terms_and_assumptions_name_the_stack_and_co_management() -> None:
    data = _tiers()
    data["contracts"][3]["co_managed"] = _co_managed(0.4, max_hours=1.0)
    sc = load_scenario(data)
    words = dict(key_assumptions(sc).itertuples(index=False))
    assert "security stack gold (MFA, EDR, immutable backups)" in words["gold"]
    assert "co-managed" in words["gold"] and "co-managed" not in words["silver"]
    assert "security stack" not in words["none"]
    stacks = words["Security stacks"]
    assert all(name in stacks for name in STACKS) and "immutable backups" in stacks
    table = assumptions(sc)
    rows = table[table["section"] == "Security stacks"]
    assert "security_stacks.gold.major_outage" in set(rows["parameter"])


def test_ledger_lines_of_the_stack_are_tools_costs() -> None:
    sc = load_scenario(_tiers(horizon_months=2))
    clients = client_table(sc)
    incidents = generate_incidents(sc, clients, 0, sc.seed)
    gold = sc.contracts[3]
    run = simulate_plan(sc, Plan.constant(gold, clients.count, 2), incidents, clients, sc.seed, 0)
    ledger = cost_ledger(sc, run, billing_context(sc, clients))
    tools = ledger.cents[ledger.account == Account.COST_TOOLS]
    assert tools.sum() == 12 * 725 * 2


def test_a_transition_to_a_secured_co_managed_package() -> None:
    """The transition study runs several contracts in one plan: the stack's cost and the client's own IT show up
    from the month clients move to the package."""
    over = {
        "horizon_months": 12,
        "replications": 2,
        "security_stacks": {"gold": {**STACKS["gold"], "category_rates": {"security": 0.2, "password": 0.5}}},
        "contracts.managed-services.policy.security_stack": "gold",
        "contracts.managed-services.co_managed": _co_managed(0.5, max_hours=2.0),
    }
    sc = load_scenario(ROOT / "scenarios" / "transition.yaml", over)
    monthly = simulate_transition(sc, strategies=["stay", "all-at-once"]).monthly
    stay, moved = (monthly[monthly["strategy"] == s] for s in ("stay", "all-at-once"))
    assert (stay["client_it_cost"] == 0).all() and (moved["client_it_cost"] > 0).any()
    assert moved["tools_cost"].sum() > stay["tools_cost"].sum()
    np.testing.assert_allclose(
        monthly["client_total_cost"],
        monthly["client_fees"] + monthly["client_downtime_cost"] + monthly["client_it_cost"],
    )
