"""Realism of the incident model: sites (an outage takes down one site, not every user of the client), priority
from impact and urgency, client behaviour by impact; checked against Poisson and binomial counts and hand-computed
values with tolerances from the replications' standard errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, category, client, scenario, tm_contract
from scipy import stats

from simulator import ScenarioError, load_scenario, simulate

Z = 3.29  # two-sided 99.9% normal quantile: a fixed-seed check that fails by chance once in a thousand seeds
RATE = 0.05  # site outages per site-month
MONTHS = 12
REPLICATIONS = 40


def _outage(**extra: Any) -> dict[str, Any]:
    return category(
        "site-outage",
        rate_per_user_month=None,
        rate_per_site_month=RATE,
        scope="site",
        blocking_share=1.0,
        priority_mix={"P1": 1.0},
        effort_hours={"dist": "fixed", "mean": 2.0},
        **extra,
    )


def _sites_scenario(clients: list[dict[str, Any]]) -> dict[str, Any]:
    return scenario(
        categories=[_outage()],
        clients=clients,
        contracts=[tm_contract(technicians=4)],
        horizon_months=MONTHS,
        replications=REPLICATIONS,
    )


@pytest.fixture(scope="module")
def small_and_large() -> pd.DataFrame:
    """A 10-user and a 60-user client, one site each: their site-outage tickets over 40 × 12 months."""
    sc = load_scenario(
        _sites_scenario([client("small", users=10, endpoints=10), client("large", users=60, endpoints=60)])
    )
    return simulate(sc, tickets=True).tickets


def _per_replication(tickets: pd.DataFrame, client_index: int, column: str | None) -> np.ndarray:
    """Per replication: the client's count of site outages (``column`` None) or the sum of ``column``."""
    mine = tickets[tickets["client"] == client_index]
    grouped = mine.groupby("replication")
    values = grouped.size() if column is None else grouped[column].sum()
    return values.reindex(range(REPLICATIONS), fill_value=0).to_numpy(dtype=float)


@pytest.mark.parametrize("client_index", [0, 1])
def test_site_outages_arrive_per_site_whatever_the_users(
    small_and_large: pd.DataFrame, client_index: int
) -> None:
    per_month = _per_replication(small_and_large, client_index, None) / MONTHS
    half = Z * per_month.std(ddof=1) / np.sqrt(REPLICATIONS)
    assert abs(per_month.mean() - RATE) <= half
    # The total count is Poisson(rate × months × replications): inside its two-sided 99.9% range.
    total = per_month.sum() * MONTHS
    low, high = stats.poisson.ppf([0.0005, 0.9995], RATE * MONTHS * REPLICATIONS)
    assert low <= total <= high


def test_an_outage_takes_down_the_users_of_its_site(small_and_large: pd.DataFrame) -> None:
    for client_index, users in ((0, 10), (1, 60)):
        mine = small_and_large[small_and_large["client"] == client_index]
        assert len(mine) > 0
        np.testing.assert_allclose(mine["downtime_user_hours"], users * mine["downtime_hours"])


def test_site_outage_cost_grows_with_users_not_their_square(small_and_large: pd.DataFrame) -> None:
    small = _per_replication(small_and_large, 0, "downtime_cost")
    large = _per_replication(small_and_large, 1, "downtime_cost")
    ratio = large.mean() / small.mean()
    # Delta method on the ratio of two independent means.
    se = ratio * np.sqrt(
        large.var(ddof=1) / (REPLICATIONS * large.mean() ** 2)
        + small.var(ddof=1) / (REPLICATIONS * small.mean() ** 2)
    )
    assert abs(ratio - 6) <= Z * se
    assert ratio + Z * se < 36


def test_a_client_with_sites_splits_its_users_and_its_outages() -> None:
    """10 users on 3 sites: outages hit sites of 4, 3 and 3 users, each site a third of the time, and the client
    has 3 × the rate of one site."""
    sc = load_scenario(_sites_scenario([{**client("three", users=10, endpoints=10), "sites": 3}]))
    tickets = simulate(sc, tickets=True).tickets
    users = (tickets["downtime_user_hours"] / tickets["downtime_hours"]).round(9)
    assert set(users.unique()) <= {3.0, 4.0}
    n = len(tickets)
    low, high = stats.poisson.ppf([0.0005, 0.9995], 3 * RATE * MONTHS * REPLICATIONS)
    assert low <= n <= high
    four = int((users == 4.0).sum())  # the first site: a third of the outages
    low, high = stats.binom.ppf([0.0005, 0.9995], n, 1 / 3)
    assert low <= four <= high


def test_a_site_scope_rate_per_user_is_refused_with_how_to_migrate() -> None:
    old = category("site-outage", rate_per_user_month=0.004, scope="site")
    with pytest.raises(ScenarioError, match=r"rate_per_site_month.*0\.004 x 25 users = 0\.1"):
        load_scenario(_sites_scenario([client()]) | {"incidents": {"categories": [old]}})


def test_more_sites_than_users_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"sites \(3\) must be at most users \(2\)"):
        load_scenario(_sites_scenario([{**client(users=2, endpoints=2), "sites": 3}]))


# ------------------------------------------------------------------------------------------ priority from impact


def _baseline_with(edit: Any) -> Any:
    """The shipped baseline with ``edit(data)`` applied to its data before validation."""
    import yaml

    data = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
    edit(data)
    return load_scenario(data)


def _priority_from_impact(data: dict[str, Any]) -> None:
    for cat in data["incidents"]["categories"]:
        cat.pop("priority_mix", None)
        cat["priority"] = {"from": "impact", "urgent_share": 0.3}


@pytest.fixture(scope="module")
def impact_log() -> pd.DataFrame:
    sc = _baseline_with(_priority_from_impact)
    return simulate(sc, replications=3, tickets=True).tickets


def test_priority_from_impact_puts_site_incidents_at_p1_or_p2(impact_log: pd.DataFrame) -> None:
    sc = _baseline_with(_priority_from_impact)
    site = [i for i, c in enumerate(sc.incidents.categories) if c.scope == "site"]
    outages = impact_log[impact_log["category"].isin(site)]
    assert len(outages) > 0
    assert set(outages["priority"].unique()) <= {1, 2}
    assert set(outages.loc[outages["blocking"], "priority"].unique()) == {1}


def test_priority_from_impact_ranks_blocking_incidents_first(impact_log: pd.DataFrame) -> None:
    user = impact_log[~impact_log["major"]]
    compared = 0
    for index, rows in user.groupby("category"):
        blocking = rows.loc[rows["blocking"], "priority"]
        other = rows.loc[~rows["blocking"], "priority"]
        if len(blocking) and len(other):  # a category that never (or always) blocks has nothing to compare
            assert blocking.mean() < other.mean(), index
            compared += 1
    assert compared >= 5


def test_priority_from_impact_follows_the_matrix_and_the_urgent_share(impact_log: pd.DataFrame) -> None:
    """User-scope: blocking → P2; the others P3 with probability urgent_share, else P4 (a binomial count)."""
    sc = _baseline_with(_priority_from_impact)
    user = [i for i, c in enumerate(sc.incidents.categories) if c.scope == "user"]
    rows = impact_log[impact_log["category"].isin(user) & ~impact_log["major"]]
    assert set(rows.loc[rows["blocking"], "priority"].unique()) == {2}
    other = rows.loc[~rows["blocking"], "priority"]
    assert set(other.unique()) <= {3, 4}
    n, urgent = len(other), int((other == 3).sum())
    low, high = stats.binom.ppf([0.0005, 0.9995], n, 0.3)
    assert low <= urgent <= high


def test_a_category_needs_exactly_one_way_to_set_priority() -> None:
    both = category(priority={"from": "impact"})  # the helper's priority_mix too
    with pytest.raises(ScenarioError, match="exactly one of priority_mix and priority"):
        load_scenario(scenario(categories=[both]))
    neither = category()
    neither.pop("priority_mix")
    with pytest.raises(ScenarioError, match="exactly one of priority_mix and priority"):
        load_scenario(scenario(categories=[neither]))


def test_priority_from_impact_survives_the_resolved_scenario(tmp_path: Any) -> None:
    from simulator import dump_scenario

    sc = _baseline_with(_priority_from_impact)
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_scenario(sc))
    assert "from: impact" in path.read_text()
    assert load_scenario(path) == sc


# ------------------------------------------------------------------------------------- behaviour by impact


def _calls(blocking: dict[str, Any] | None) -> pd.DataFrame:
    """One 20-user client under T&M: half its incidents block; staff call in 30% of the others after 4 h."""
    bf = {
        "call_in_share": 0.3,
        "reporting_delay_hours": {"dist": "fixed", "mean": 4.0},
        "self_handling_hours": {"dist": "fixed", "mean": 0.5},
    }
    if blocking is not None:
        bf["blocking"] = blocking
    seg = client(users=20, endpoints=20) | {"break_fix": bf}
    sc = load_scenario(
        scenario(
            categories=[category(rate_per_user_month=2.0, blocking_share=0.5, mean_effort_hours=0.1)],
            clients=[seg],
            contracts=[tm_contract(technicians=3)],
            horizon_months=6,
            replications=4,
        )
    )
    return simulate(sc, tickets=True).tickets


def test_blocking_incidents_are_called_in_with_their_own_share_and_delay() -> None:
    log = _calls({"call_in_share": 0.95, "reporting_delay_hours": {"dist": "fixed", "mean": 0.5}})
    for blocks, share, delay in ((True, 0.95, 0.5), (False, 0.3, 4.0)):
        rows = log[log["blocking"] == blocks]
        n, called = len(rows), int((rows["handling"] == 2).sum())
        low, high = stats.binom.ppf([0.0005, 0.9995], n, share)
        assert low <= called <= high, (blocks, called, n)
        tickets = rows[rows["handling"] == 2]
        # Users' business time is the clock in these scenarios: created = occurred + the fixed delay.
        np.testing.assert_allclose(tickets["created"] - tickets["occurred"], delay, atol=1e-6)


def test_without_blocking_terms_every_incident_is_called_in_alike() -> None:
    log = _calls(None)
    for blocks in (True, False):
        rows = log[log["blocking"] == blocks]
        low, high = stats.binom.ppf([0.0005, 0.9995], len(rows), 0.3)
        assert low <= int((rows["handling"] == 2).sum()) <= high


# ----------------------------------------------------------------------------- monitoring and on-site work


def _visits(remote_with_monitoring: float) -> pd.DataFrame:
    """Half the incidents need a visit without monitoring; one contract monitors, one does not."""
    cat = category(rate_per_user_month=1.0, onsite_share=0.5, remote_with_monitoring=remote_with_monitoring)
    sc = load_scenario(
        scenario(
            categories=[cat],
            clients=[client(users=30, endpoints=30)],
            contracts=[
                tm_contract("plain", technicians=3),
                tm_contract("monitored", technicians=3, monitoring=True),
            ],
            horizon_months=6,
            replications=3,
        )
    )
    return simulate(sc, tickets=True).tickets


def test_monitoring_turns_visits_into_remote_work() -> None:
    log = _visits(0.7)
    tickets = log[log["handling"] == 2]
    for contract, share in (("plain", 0.5), ("monitored", 0.5 * (1 - 0.7))):
        rows = tickets[tickets["contract"] == contract]
        low, high = stats.binom.ppf([0.0005, 0.9995], len(rows), share)
        assert low <= int(rows["onsite"].sum()) <= high, contract
        assert (rows.loc[~rows["onsite"], "travel_hours"] == 0).all()
    # Common random numbers: a visit that monitoring keeps on site is a visit without it too.
    plain = tickets[tickets["contract"] == "plain"].set_index(["replication", "incident"])["onsite"]
    monitored = tickets[tickets["contract"] == "monitored"].set_index(["replication", "incident"])["onsite"]
    both = plain.index.intersection(monitored.index)
    assert not (monitored[both] & ~plain[both]).any()


def test_without_a_remote_shift_monitoring_leaves_visits_alone() -> None:
    log = _visits(0.0)
    tickets = log[log["handling"] == 2].set_index(["contract", "replication", "incident"])["onsite"]
    plain, monitored = tickets.loc["plain"], tickets.loc["monitored"]
    both = plain.index.intersection(monitored.index)
    assert len(both) > 0
    assert (plain[both] == monitored[both]).all()


def test_a_wildcard_override_sets_the_items_that_have_the_field() -> None:
    path = ROOT / "scenarios" / "baseline.yaml"
    sc = load_scenario(path, ["incidents.categories.*.rate_per_user_month=0.5"])
    for cat in sc.incidents.categories:
        if cat.scope == "site":
            assert cat.rate_per_user_month is None and cat.rate_per_site_month == 0.05
        else:
            assert cat.rate_per_user_month == 0.5 or cat.rate_per_endpoint_month is not None
    # Only the multi-site client sets `sites`; a field no item sets is set in every item.
    sc = load_scenario(path, ["clients.*.sites=2"])
    assert [seg.sites for seg in sc.clients] == [1, 1, 2]
    blocking = "{call_in_share: 0.9, reporting_delay_hours: {dist: fixed, mean: 1}}"
    sc = load_scenario(path, [f"clients.*.break_fix.blocking={blocking}"])
    assert [seg.break_fix.for_blocking().call_in_share for seg in sc.clients] == [0.9, 0.9, 0.9]


# ---------------------------------------------------------------------------------------- technician hours

BUSINESS = {
    "hours": "business",
    "business_days": ["mon", "tue", "wed", "thu", "fri"],
    "open_hour": 8,
    "close_hour": 18,
}
PAID, PRODUCTIVE, PREMIUM, HOUR_COST, SHARED = 173.3, 146.7, 1.5, 40.0, 0.7


def _pool_scenario(basis: str, rate: float, technicians: int = 2) -> dict[str, Any]:
    return scenario(
        categories=[category(rate_per_user_month=rate, effort_hours={"dist": "fixed", "mean": 1.0})],
        clients=[client(users=10, endpoints=10)],
        contracts=[tm_contract(technicians=technicians)],
        horizon_months=3,
        replications=2,
        calendar=BUSINESS,
        provider_fields={
            "labour_cost_basis": basis,
            "paid_hours_per_technician_month": PAID,
            "productive_hours_per_technician_month": PRODUCTIVE,
            "overtime_premium": PREMIUM,
            "cost_per_technician_hour": HOUR_COST,
            "shared_utilization": SHARED,
        },
    )


def _on_duty_hours_by_month(sc: Any) -> np.ndarray:
    """A technician slot's on-duty hours each month: the hours of the month (730 each, the clock starting on a
    Monday at 00:00) that fall on Monday to Friday between 08:00 and 18:00, counted one by one."""
    hour = np.arange(730 * sc.horizon_months)
    on_duty = (hour // 24 % 7 < 5) & (hour % 24 >= 8) & (hour % 24 < 18)
    return on_duty.reshape(sc.horizon_months, 730).sum(axis=1).astype(float)


def test_paid_labour_is_the_paid_hours_plus_the_on_duty_hours_beyond_them_at_the_premium() -> None:
    sc = load_scenario(_pool_scenario("paid", rate=0.0))
    slot = _on_duty_hours_by_month(sc)
    assert (slot > PAID).all()  # 50 h a week is more than a 40-hour contract
    expected = float((2 * (PAID + (slot - PAID) * PREMIUM) * HOUR_COST).sum())
    results = simulate(sc)
    np.testing.assert_allclose(results.replications["provider_labour_cost"], expected, atol=0.01 * 3)


def test_worked_labour_carries_unproductive_and_idle_hours_and_utilisation_counts_productive_hours() -> None:
    sc = load_scenario(_pool_scenario("worked", rate=3.0))
    results = simulate(sc, tickets=True)
    reps = results.replications.set_index("replication")
    tickets = results.tickets[results.tickets["handling"] == 2]
    worked = tickets.groupby("replication")["work_hours"].sum()  # 1 h each, no travel, no prevention
    np.testing.assert_allclose(worked, tickets.groupby("replication").size())
    np.testing.assert_allclose(reps["technician_hours_worked"], worked, rtol=1e-9)
    np.testing.assert_allclose(
        reps["provider_labour_cost"], worked * PAID / PRODUCTIVE / SHARED * HOUR_COST, atol=0.03
    )
    productive = 2 * _on_duty_hours_by_month(sc).sum() * PRODUCTIVE / PAID
    np.testing.assert_allclose(reps["technician_utilization"], worked / productive, rtol=1e-9)


def test_a_pool_with_leave_serves_slower_than_one_without() -> None:
    """The same tickets wait longer when technicians give only 146.7 of 173.3 paid hours to them."""
    with_leave = simulate(load_scenario(_pool_scenario("paid", rate=12.0, technicians=1))).replications
    full = _pool_scenario("paid", rate=12.0, technicians=1)
    full["provider"]["productive_hours_per_technician_month"] = PAID
    without = simulate(load_scenario(full)).replications
    assert (with_leave["mean_response_hours"].to_numpy() > without["mean_response_hours"].to_numpy()).all()


def test_productive_hours_above_paid_hours_are_refused() -> None:
    bad = _pool_scenario("paid", rate=1.0)
    bad["provider"]["productive_hours_per_technician_month"] = 200.0
    with pytest.raises(ScenarioError, match=r"productive_hours_per_technician_month \(200\) is more than"):
        load_scenario(bad)


# ------------------------------------------------------------------------------------ overhead, two margins


def test_net_profit_is_gross_profit_less_the_overhead_on_each_month() -> None:
    data = _pool_scenario("paid", rate=3.0)
    data["provider"]["overhead"] = {"fixed_per_month": 500.0, "share_of_revenue": 0.1}
    results = simulate(load_scenario(data))
    r = results.replications
    months = 3
    np.testing.assert_allclose(
        r["provider_gross_profit"], r["provider_revenue"] - r["provider_cost"], atol=1e-6
    )
    np.testing.assert_allclose(
        r["provider_overhead"], 500.0 * months + 0.1 * r["provider_revenue"], atol=1e-6
    )
    np.testing.assert_allclose(
        r["provider_net_profit"], r["provider_gross_profit"] - r["provider_overhead"], atol=1e-6
    )
    np.testing.assert_allclose(r["provider_gross_margin"], r["provider_gross_profit"] / r["provider_revenue"])
    np.testing.assert_allclose(r["provider_net_margin"], r["provider_net_profit"] / r["provider_revenue"])
    m = results.monthly
    np.testing.assert_allclose(m["provider_overhead"], 500.0 + 0.1 * m["provider_revenue"], atol=1e-6)
    # Social cost is service delivery plus downtime: overhead stays out of it.
    np.testing.assert_allclose(r["social_cost"], r["provider_cost"] + r["client_downtime_cost"], atol=1e-6)


def test_capacity_labour_is_paid_labour_less_idle_hours_sold_plus_queue_growth_bought_as_overtime() -> None:
    # A hand-built month-by-month pool: 2 technicians, 100 productive and 120 on-duty hours per slot a month.
    # Work offered 150, 260, 150 h; worked 150, 200, 200 h: the queue is 0, 60, 10 h at each month's end.
    from types import SimpleNamespace

    from simulator.config import Provider
    from simulator.metrics import labour_hours

    provider = Provider.model_validate(
        {
            "cost_per_technician_hour": HOUR_COST,
            "labour_cost_basis": "capacity",
            "paid_hours_per_technician_month": 100.0,
            "productive_hours_per_technician_month": 100.0,
            "overtime_premium": 1.5,
            "capacity": {"idle_hour_value_share": 0.4, "backlog_threshold_hours": 40.0},
        }
    )
    run = SimpleNamespace(
        technicians_by_month=np.array([2, 2, 2]),
        coverage_hours_by_month=np.array([240.0, 240.0, 240.0]),
        productive_hours_by_month=np.array([200.0, 200.0, 200.0]),
        busy_hours_by_month=np.array([150.0, 200.0, 200.0]),
        offered_hours_by_month=np.array([150.0, 260.0, 150.0]),
        overtime_hours=10.0,
    )
    # Paid: 2 × (100 + 20 × 1.5) = 260 h a month. Idle: 50, 0, 0 h sold at 0.4. Queue beyond 40 h: 0, 20, 0 → 20 h
    # bought in month 2 at 1.5. Queued at the end, 10 h (under the threshold), cleared at 1.5 in the last month.
    expected = np.array([260 - 0.4 * 50, 260 + 1.5 * 20, 260 + 1.5 * 10])
    np.testing.assert_allclose(labour_hours(provider, run), expected)  # type: ignore[arg-type]
