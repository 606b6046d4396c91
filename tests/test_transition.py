"""Portfolio over time: client accounting, cash against the ledger, equivalence with the static run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from simulator import load_scenario
from simulator.config import Scenario
from simulator.contracts.ledger import Account, Party
from simulator.studies.run import run_replication
from simulator.studies.transition import run_strategy, simulate_transition, slot_scenario

ROOT = Path(__file__).resolve().parents[1]
TRANSITION = ROOT / "scenarios" / "transition.yaml"


def short(**changes: Any) -> Scenario:
    """The shipped transition scenario on a short horizon, with overrides."""
    return load_scenario(TRANSITION, {"horizon_months": 14, "replications": 3, **changes})


@pytest.fixture(scope="module")
def shipped() -> Any:
    return simulate_transition(short(), workers=1)


def test_client_accounting_every_month(shipped: Any) -> None:
    """start + won − churned = end, every month; the contracts' counts add up to the total."""
    sc = shipped.scenario
    start = sum(s.count for s in sc.portfolio.starting)
    for _, g in shipped.monthly.groupby(["strategy", "replication"]):
        g = g.sort_values("month")
        clients = g["clients"].to_numpy()
        before = np.concatenate([[start], clients[:-1]])
        np.testing.assert_array_equal(clients, before + g["won"].to_numpy() - g["churned"].to_numpy())
        per_contract = g[[c for c in g.columns if c.startswith("clients_")]].sum(axis=1).to_numpy()
        np.testing.assert_array_equal(per_contract, clients)
    stay = shipped.monthly[shipped.monthly["strategy"] == "stay"]
    assert (stay["migrated"] == 0).all() and (stay["clients_managed-services"] == 0).all()
    moved = shipped.monthly[shipped.monthly["strategy"] != "stay"]
    assert moved["migrated"].sum() > 0


def test_cash_equals_the_ledger() -> None:
    sc = short()
    strategy = sc.portfolio.strategies[1]
    result = run_strategy(sc, strategy, replication=0, seed=sc.seed)
    from simulator.studies.transition import monthly_rows

    rows = monthly_rows(sc, strategy, 0, result)
    led = result.books.ledger
    inflow = led.payee == Party.PROVIDER
    outflow = led.payer == Party.PROVIDER
    net = np.bincount(
        led.month[inflow], weights=led.cents[inflow], minlength=sc.horizon_months
    ) - np.bincount(led.month[outflow], weights=led.cents[outflow], minlength=sc.horizon_months)
    np.testing.assert_allclose(rows["profit"].to_numpy() * 100, net, atol=1e-6)
    np.testing.assert_allclose(rows["cash"].to_numpy() * 100, np.cumsum(net), atol=1e-6)
    # Revenue by type adds up, and everything the provider receives is accounted as revenue.
    parts = rows[
        [
            "revenue_tm",
            "revenue_per_job",
            "revenue_recurring",
            "revenue_onboarding",
            "revenue_early_termination",
        ]
    ].sum(axis=1)
    np.testing.assert_allclose(parts, rows["revenue"], atol=1e-6)


def _static_equivalent(contract: str) -> tuple[Scenario, Scenario]:
    """A portfolio with nothing moving (no churn, sales, migration, hiring) and its static twin."""
    base = yaml.safe_load(TRANSITION.read_text())
    base["horizon_months"] = 8
    base["replications"] = 2
    port = base["portfolio"]
    port["starting"] = [{**s, "contract": contract} for s in port["starting"]]
    port["strategies"] = [{"name": "stay", "kind": "stay", "sales_staff": 0}]
    port["churn"]["enabled"] = False
    port["sales"]["staff"] = 0
    port["hiring"]["enabled"] = False
    port["hiring"]["initial_technicians"] = 2
    port["tools_rollout_months"] = 0
    port["tools_setup_cost"] = 0
    port["tools_platform_cost_per_month"] = 0
    for c in base["contracts"]:
        c["policy"]["technicians"] = 2
        if c["kind"] == "managed":
            c["onboarding_fee"] = 0
    sc = load_scenario(base)
    return sc, slot_scenario(sc).scenario


@pytest.mark.parametrize("contract", ["break-fix-tm", "managed-services"])
def test_nothing_moving_matches_the_static_run(contract: str) -> None:
    """Churn, sales, migration and hiring off: the month-by-month results equal `run` of the same clients."""
    sc, static = _static_equivalent(contract)
    transition = simulate_transition(sc)
    for rep in range(sc.replications):
        out = run_replication(static, rep, sc.seed)
        monthly = out["monthly"]
        mine = monthly[monthly["contract"] == contract].sort_values("month")
        theirs = transition.monthly[transition.monthly["replication"] == rep].sort_values("month")
        np.testing.assert_allclose(
            theirs["revenue"].to_numpy(), mine["provider_revenue"].to_numpy(), atol=1e-6
        )
        np.testing.assert_allclose(theirs["cost"].to_numpy(), mine["provider_cost"].to_numpy(), atol=1e-6)
        np.testing.assert_allclose(
            theirs["downtime_user_hours"].to_numpy(), mine["downtime_user_hours"].to_numpy(), atol=1e-9
        )
        np.testing.assert_allclose(
            theirs["client_downtime_cost"].to_numpy(), mine["client_downtime_cost"].to_numpy(), atol=1e-6
        )


def test_migrating_nobody_equals_stay_exactly() -> None:
    sc = short()
    data = yaml.safe_load(TRANSITION.read_text())
    data.update({"horizon_months": 14, "replications": 3})
    data["portfolio"]["strategies"] = [
        {"name": "stay", "kind": "stay", "sales_staff": 1},
        {
            "name": "nobody-accepts",
            "kind": "gradual",
            "to": "managed-services",
            "offer_rate": 0.5,
            "acceptance": 0.0,
            "sales_contract": "break-fix-tm",
        },
        {
            "name": "never-offered",
            "kind": "all_at_once",
            "to": "managed-services",
            "start_month": 99,
            "sales_contract": "break-fix-tm",
        },
    ]
    sc = load_scenario(data)
    result = simulate_transition(sc)
    m = result.monthly.drop(columns="strategy")
    stay = m[result.monthly["strategy"] == "stay"].reset_index(drop=True)
    for name in ("nobody-accepts", "never-offered"):
        other = m[result.monthly["strategy"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(stay, other)


def test_deterministic_and_worker_independent() -> None:
    sc = short(replications=2)
    a = simulate_transition(sc, workers=1)
    b = simulate_transition(sc, workers=2)
    pd.testing.assert_frame_equal(a.monthly, b.monthly)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    c = simulate_transition(sc, seed=sc.seed + 1, workers=1)
    assert not np.allclose(a.monthly["revenue"], c.monthly["revenue"])


def test_common_random_numbers_across_strategies(shipped: Any) -> None:
    """Before the first offer (month 3) strategies with the same sales effort see the same incidents, decisions and
    money. Tickets created just before the offers may still be waiting when the new clients' work arrives, so the
    comparison stops a month earlier."""
    m = shipped.monthly
    early = m[m["month"] < 2]
    gradual = early[early["strategy"] == "gradual"].drop(columns="strategy").reset_index(drop=True)
    at_once = early[early["strategy"] == "all-at-once"].drop(columns="strategy").reset_index(drop=True)
    pd.testing.assert_frame_equal(gradual, at_once)


def test_summary_has_every_metric_with_intervals(shipped: Any) -> None:
    s = shipped.summary
    for metric in (
        "lowest_cash",
        "lowest_cash_month",
        "payback_month",
        "revenue_cv_last_12",
        "profit_year_1",
        "profit_year_2",
        "churned_clients",
        "client_downtime_per_user_year",
    ):
        rows = s[s["metric"] == metric]
        assert set(rows["strategy"]) == {"stay", "gradual", "all-at-once"}, metric
    assert {"ci_low", "ci_high", "n"} <= set(s.columns)


def test_missing_portfolio_is_a_clear_error() -> None:
    from simulator.studies.transition import simulate_transition as run

    with pytest.raises(ValueError, match="no `portfolio:` section"):
        run(load_scenario(ROOT / "scenarios" / "baseline.yaml"))


BLOCK = {
    "name": "block-hours",
    "kind": "block_hours",
    "hours_per_month": 6,
    "price_per_month": 780,
    "rollover": {"cap_hours": 6},
    "overage": {"remote_rate": 135, "onsite_rate": 150},
    "policy": {"technicians": 2},
}


def test_a_break_fix_kind_can_be_the_offer_and_each_client_moves_once() -> None:
    data = yaml.safe_load(TRANSITION.read_text())
    data.update({"horizon_months": 14, "replications": 2})
    data["contracts"].append(BLOCK)
    data["portfolio"]["strategies"] = [
        {"name": "stay", "kind": "stay", "sales_staff": 0},
        {
            "name": "to-blocks",
            "kind": "gradual",
            "to": "block-hours",
            "start_month": 1,
            "offer_rate": 0.5,
            "acceptance": 1.0,
            "sales_staff": 0,
        },
    ]
    data["portfolio"]["churn"]["enabled"] = False
    sc = load_scenario(data)
    result = simulate_transition(sc)
    moved = result.monthly[result.monthly["strategy"] == "to-blocks"]
    start = sum(s.count for s in sc.portfolio.starting if s.contract != "block-hours")
    for _, g in moved.groupby("replication"):
        g = g.sort_values("month")
        assert g["migrated"].sum() <= start  # offered until they are on it, never again
        np.testing.assert_array_equal(
            g["clients_block-hours"].to_numpy(), np.cumsum(g["migrated"].to_numpy())
        )
        assert g["clients_block-hours"].iloc[-1] > 0
        assert (g["revenue_recurring"] > 0).any()  # the blocks are recurring revenue


def test_churn_serves_the_notice_and_pays_the_early_termination_fee() -> None:
    """Clients who leave a 36-month contract at a 12-month renewal pay the fee on the fees left in the term in
    their last month, and are served (and billed) through their notice period; they count as churned when gone."""
    data = yaml.safe_load(TRANSITION.read_text())
    data.update({"horizon_months": 16, "replications": 2})
    for c in data["contracts"]:
        if c["kind"] == "managed":
            c["term"] = {"months": 36, "notice_months": 2, "early_termination_share": 0.5}
    data["portfolio"]["starting"] = [
        {**s, "contract": "managed-services"} for s in data["portfolio"]["starting"]
    ]
    data["portfolio"]["strategies"] = [{"name": "stay", "kind": "stay", "sales_staff": 0}]
    data["portfolio"]["churn"]["intercept"] = 3.0  # nearly everybody leaves at the first renewal
    sc = load_scenario(data)
    for replication in range(sc.replications):
        run = run_strategy(sc, sc.portfolio.strategies[0], replication, sc.seed)
        assignment = run.plan.assignment
        led = run.books.ledger
        fee = led.account == Account.EARLY_TERMINATION
        gone = [c for c in range(len(assignment)) if assignment[c, 0] >= 0 and assignment[c, -1] < 0]
        assert gone and int(run.churned.sum()) == len(gone)
        assert sorted(led.payer[fee].tolist()) == gone  # each leaver pays once ...
        clients = slot_scenario(sc).clients
        managed = next(c for c in sc.contracts if c.kind == "managed")
        for c in gone:
            last = int(np.flatnonzero(assignment[c] >= 0).max())
            assert int(led.month[fee & (led.payer == c)][0]) == last  # ... in its last month
            assert run.churned[last + 1] >= 1
            # Its contract began 0-11 months before the horizon (renewals staggered, DESIGN.md §4b): it decided
            # at a renewal, served 2 months of notice and owes half of the fees left of the 36 months.
            began = -(c % 12)
            assert (last - 1 - began) % 12 == 0
            left = 36 - (last - began + 1)
            monthly = managed.fee_per_client_month(clients.users[c], clients.endpoints[c], clients.servers[c])
            assert int(led.cents[fee & (led.payer == c)][0]) == round(0.5 * left * monthly * 100)
