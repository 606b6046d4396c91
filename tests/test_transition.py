"""Portfolio over time: client accounting, cash against the ledger, equivalence with the static run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

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
    sc = short(
        **{"portfolio.finance": None}
    )  # cash as cumulative profit; as collected: tests/test_finance.py
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
        monthly = pd.DataFrame(out["monthly"])
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


def _offers(strategies: list[dict[str, Any]], **portfolio: Any) -> Scenario:
    data = yaml.safe_load(TRANSITION.read_text())
    data.update({"horizon_months": 12, "replications": 2})
    data["portfolio"]["strategies"] = strategies
    data["portfolio"]["churn"]["enabled"] = False
    data["portfolio"].update(portfolio)
    return load_scenario(data)


def test_a_logit_without_a_slope_is_the_constant_acceptance() -> None:
    odds = math.log(0.6 / 0.4)
    sc = _offers(
        [
            {
                "name": "constant",
                "kind": "gradual",
                "to": "managed-services",
                "offer_rate": 0.3,
                "acceptance": 0.6,
            },
            {
                "name": "logit",
                "kind": "gradual",
                "to": "managed-services",
                "offer_rate": 0.3,
                "acceptance": {"intercept": odds, "per_saving_share": 0.0},
            },
        ]
    )
    m = simulate_transition(sc).monthly
    a = m[m["strategy"] == "constant"].drop(columns="strategy").reset_index(drop=True)
    b = m[m["strategy"] == "logit"].drop(columns="strategy").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_clients_accept_by_their_expected_saving() -> None:
    """With a steep logit, the clients who accept are those whose own expected cost falls on the offered
    contract, and none whose cost rises."""
    from simulator.studies.transition import _static_cost

    sc = _offers(
        [
            {
                "name": "steep",
                "kind": "all_at_once",
                "to": "managed-services",
                "start_month": 1,
                "acceptance": {"intercept": 0.0, "per_saving_share": 1000.0},
            }
        ]
    )
    slots = slot_scenario(sc)
    for replication in range(sc.replications):
        run = run_strategy(sc, sc.portfolio.strategies[0], replication, sc.seed)
        from simulator.engine.incidents import generate_incidents

        incidents = generate_incidents(slots.scenario, slots.clients, replication, sc.seed)
        names = [c.name for c in sc.contracts]
        techs = sc.portfolio.hiring.initial_technicians
        managed = _static_cost(slots, names.index("managed-services"), incidents, sc.seed, replication, techs)
        breakfix = _static_cost(slots, names.index("break-fix-tm"), incidents, sc.seed, replication, techs)
        on_bf = run.plan.assignment[:, 0] == names.index("break-fix-tm")
        moved = on_bf & (run.plan.assignment[:, -1] == names.index("managed-services"))
        saving = np.divide(breakfix - managed, breakfix, out=np.zeros(len(breakfix)), where=breakfix > 0)
        # P(accept) = expit(1000 × saving): above 99.99% from a 1% saving, below 0.01% from a 1% loss.
        assert moved.any() and (saving[moved] > -0.01).all() and (saving[moved] > 0).mean() > 0.5
        assert not (on_bf & ~moved & (saving > 0.01)).any()


def test_an_offer_can_be_repeated_to_those_who_declined() -> None:
    once = {
        "name": "once",
        "kind": "all_at_once",
        "to": "managed-services",
        "start_month": 1,
        "acceptance": 0.3,
    }
    again = {**once, "name": "again", "repeat_every_months": 3}
    m = simulate_transition(_offers([once, again])).monthly
    for _, g in m.groupby("replication"):
        first = g[g["strategy"] == "once"].set_index("month")["migrated"]
        more = g[g["strategy"] == "again"].set_index("month")["migrated"]
        assert first.drop(index=1).eq(0).all()
        assert more[[m for m in more.index if m not in (1, 4, 7, 10)]].eq(0).all()
        assert more.loc[1] == first.loc[1] and more.sum() >= first.sum()
    assert m[m["strategy"] == "again"]["migrated"].sum() > m[m["strategy"] == "once"]["migrated"].sum()
    with pytest.raises(ValueError, match="repeat_every_months"):
        _offers([{**once, "kind": "gradual", "repeat_every_months": 3}])


def test_the_summary_says_what_differs_between_strategies() -> None:
    from simulator.outputs.tables import strategy_differences

    text = strategy_differences(short())
    assert "differ in the offers" in text and "stay: no offers" in text
    fair = _offers(
        [
            {"name": "stay", "kind": "stay"},
            {"name": "gradual", "kind": "gradual", "to": "managed-services", "offer_rate": 0.2},
        ],
        sales={**yaml.safe_load(TRANSITION.read_text())["portfolio"]["sales"], "contract": "break-fix-tm"},
    )
    text = strategy_differences(fair)
    assert "differ in the offers —" in text and "sales effort (1 sales person selling break-fix-tm)" in text


def _selection(propensity: dict[str, Any] | None) -> Scenario:
    """Thirty small offices on T&M offered managed services once, accepting by their expected saving."""
    data = yaml.safe_load(TRANSITION.read_text())
    data.update({"horizon_months": 12, "replications": 8})
    for segment in data["clients"]:
        segment["incident_propensity"] = propensity
    port = data["portfolio"]
    port["starting"] = [{"segment": "small-office", "contract": "break-fix-tm", "count": 30}]
    port["strategies"] = [
        {
            "name": "offer",
            "kind": "all_at_once",
            "to": "managed-services",
            "start_month": 1,
            "acceptance": {"intercept": -1.0, "per_saving_share": 10.0},
            "sales_staff": 0,
        }
    ]
    port["churn"]["enabled"] = False
    port["hiring"].update({"enabled": False, "initial_technicians": 4})
    port["sales"]["staff"] = 0
    return load_scenario(data)


def _accepted(sc: Scenario, replication: int) -> tuple[np.ndarray, float]:
    """The propensities of the clients who accepted, and the managed contract's gross margin on them (their fees
    less their technician hours at the worked-hour cost and their parts)."""
    from simulator.base.records import Handling
    from simulator.engine.incidents import client_propensity

    run = run_strategy(sc, sc.portfolio.strategies[0], replication, sc.seed)
    slots = slot_scenario(sc)
    managed = [c.name for c in sc.contracts].index("managed-services")
    on = run.plan.assignment == managed
    led = run.books.ledger
    paid = (led.payer >= 0) & (led.payee == Party.PROVIDER)
    credit = (led.payer == Party.PROVIDER) & (led.payee >= 0)
    who = np.where(paid, led.payer, np.where(credit, led.payee, 0))
    mine = (paid | credit) & on[who, led.month]
    revenue = (led.cents[mine & paid].sum() - led.cents[mine & credit].sum()) / 100.0
    log = run.books.run.tickets
    t = (log.handling == Handling.TICKET) & on[log.client, log.month]
    p = sc.provider
    cost = (
        (log.work_hours[t] + log.travel_hours[t]).sum() * p.cost_per_technician_hour * p.worked_hour_gross_up
    )
    cost += log.parts_cost[t].sum()
    propensity = client_propensity(slots.scenario, slots.clients, replication, sc.seed)
    return propensity[on.any(axis=1)], 1.0 - cost / revenue


def test_clients_who_differ_select_themselves_into_the_flat_fee() -> None:
    """Adverse selection: when clients differ (propensity cv 0.5) and accept by their expected saving, those who
    accept are the failure-prone ones (mean propensity above 1, the interval over replications excluding 1), and
    the managed margin on them is lower than on the accepters of identical clients (paired over replications)."""
    differ, same = _selection({"dist": "gamma", "mean": 1, "cv": 0.5}), _selection(None)
    means, gaps = [], []
    for replication in range(differ.replications):
        propensity, margin = _accepted(differ, replication)
        _, margin_same = _accepted(same, replication)
        means.append(propensity.mean())
        gaps.append(margin - margin_same)

    def interval(x: list[float]) -> tuple[float, float]:
        a = np.asarray(x)
        half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
        return a.mean() - half, a.mean() + half

    assert interval(means)[0] > 1.0
    assert interval(gaps)[1] < 0.0
