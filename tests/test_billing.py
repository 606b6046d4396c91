"""Hand-computed bills for each contract kind (DESIGN.md §3).

Every expected amount is worked out in a comment next to it and compared in exact cents. Inputs are built by
hand: a few ticket-log rows, a prevention log and a billing context with two clients over three months. The
clock starts on Monday 00:00 and the users' calendar is the default Mon–Fri 08:00–18:00.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from simulator.base.calendar import WeekCalendar
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog
from simulator.contracts import FixedPrice, Managed, TimeAndMaterials, TmTerms
from simulator.contracts.billing import bill, billable_hours, monthly_fee, sla_outcomes, tm_labour
from simulator.contracts.ledger import Account, Ledger, Party, to_cents

NAN = float("nan")
CATEGORIES = ("password", "hardware", "software", "network", "major")
PASSWORD, HARDWARE, SOFTWARE, NETWORK, MAJOR = range(5)
WEEK = 168.0
# Whole weeks from Monday 00:00 that fall in each month (a month is 730 h): weekday and hour stay the same.
MONTH_START = {0: 0.0, 1: 5 * WEEK, 2: 9 * WEEK}  # 0 h, 840 h (month 1), 1512 h (month 2)
MONTH_START |= {
    3: 14 * WEEK,
    4: 18 * WEEK,
    5: 22 * WEEK,
}  # 2352 h, 3024 h, 3696 h: months 3-5 start at 2190, 2920, 3650 h
POLICY = {"technicians": 1}
TM_TERMS: dict[str, Any] = {
    "remote_rate": 100.0,
    "onsite_rate": 150.0,
    "billing_increment_hours": 0.25,
    "minimum_remote_hours": 0.5,
    "minimum_onsite_hours": 1.0,
    "trip_charge": 50.0,
    "parts_markup": 0.2,
    "after_hours_multiplier": 1.5,
}
LOOSE = {"response_hours": 8.0, "resolution_hours": 40.0}
FIELDS = (
    *("incident", "client", "category", "major", "priority", "blocking", "handling"),
    *("occurred", "created", "started", "resolved", "month", "onsite"),
    *("work_hours", "travel_hours", "parts_cost", "after_hours"),
    *("downtime_hours", "downtime_user_hours", "downtime_cost", "recurrence", "parent", "parent_resolved"),
)


# -------------------------------------------------------------------------------------------- builders


def make_log(*rows: dict[str, Any]) -> TicketLog:
    """A ticket log from row dicts; unspecified fields default to a remote P3 password ticket, 1 h of work.

    A row's ``created`` defaults to Monday 10:00 of its month, ``started`` to an hour later and ``resolved``
    to ``started + work_hours``. Non-ticket rows get NaN ticket times, as the model produces them.
    """
    cols: dict[str, list[Any]] = {k: [] for k in FIELDS}
    for i, row in enumerate(rows):
        r = dict(row)
        month = r.get("month", 0)
        handling = r.get("handling", Handling.TICKET)
        work = r.get("work_hours", 1.0)
        created = r.get("created", MONTH_START[month] + 10.0)
        started = r.get("started", created + 1.0)
        resolved = r.get("resolved", started + work)
        occurred = r.get("occurred", created)
        if handling != Handling.TICKET:
            created = started = resolved = NAN
        values = {
            "incident": r.get("incident", i),
            "client": r.get("client", 0),
            "category": r.get("category", PASSWORD),
            "major": r.get("category", PASSWORD) == MAJOR,
            "priority": r.get("priority", 3),
            "handling": handling,
            "occurred": occurred,
            "created": created,
            "started": started,
            "resolved": resolved,
            "month": month,
            "blocking": r.get("blocking", False),
            "onsite": r.get("onsite", False),
            "work_hours": work,
            "travel_hours": r.get("travel_hours", 0.0),
            "parts_cost": r.get("parts_cost", 0.0),
            "after_hours": r.get("after_hours", False),
            "downtime_hours": r.get("downtime_hours", 0.0),
            "downtime_user_hours": r.get("downtime_user_hours", 0.0),
            "downtime_cost": r.get("downtime_cost", 0.0),
            "recurrence": r.get("recurrence", False),
            "parent": r.get("parent", -1),
            "parent_resolved": r.get("parent_resolved", NAN),
        }
        unknown = set(r) - set(values)
        assert not unknown, f"unknown row fields {unknown}"
        for k, v in values.items():
            cols[k].append(v)
    ints = {"incident", "client", "category", "month", "parent"}
    bools = {"major", "blocking", "onsite", "after_hours", "recurrence"}
    arrays: dict[str, np.ndarray] = {}
    for k, v in cols.items():
        if k in ints:
            arrays[k] = np.array(v, dtype=np.int64)
        elif k in bools:
            arrays[k] = np.array(v, dtype=bool)
        elif k in ("priority", "handling"):
            arrays[k] = np.array(v, dtype=np.int8)
        else:
            arrays[k] = np.array(v, dtype=float)
    return TicketLog(**arrays)


def no_prevention() -> PreventionLog:
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0, dtype=float)
    return PreventionLog(client=empty_i, month=empty_i, hours=empty_f, started=empty_f, resolved=empty_f)


def make_ctx(months: int = 3) -> BillingContext:
    """Two clients: 10 users / 12 endpoints / 1 server and 20 users / 25 endpoints / 2 servers."""
    return BillingContext(
        months=months,
        users=np.array([10, 20]),
        endpoints=np.array([12, 25]),
        servers=np.array([1, 2]),
        category_names=CATEGORIES,
        calendar=WeekCalendar(),
    )


def tm(**overrides: Any) -> TimeAndMaterials:
    return TimeAndMaterials.model_validate(
        {"kind": "time_and_materials", "name": "tm", "policy": POLICY, **TM_TERMS, **overrides}
    )


def fp(**overrides: Any) -> FixedPrice:
    return FixedPrice.model_validate(
        {
            "kind": "fixed_price",
            "name": "fp",
            "menu": {"password": 40.0, "hardware": 120.0, "major": 2000.0},
            "trip_charge": 30.0,
            "fallback": TM_TERMS,
            "policy": POLICY,
            **overrides,
        }
    )


def sla(
    credit: dict[str, Any] | None = None,
    clock: str = "business",
    cap: float | None = None,
    targets: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    all_targets = {p: LOOSE for p in ("P1", "P2", "P3", "P4")}
    all_targets.update(targets or {})
    return {"clock": clock, "targets": all_targets, "credit": credit, "cap_percent_of_fee": cap}


def managed(**overrides: Any) -> Managed:
    """Fees 50/user, 10/endpoint, 100/server a month.

    Client 0 pays 500 + 120 + 100 = 720, client 1 pays 1000 + 250 + 200 = 1450.
    """
    return Managed.model_validate(
        {
            "kind": "managed",
            "name": "msp",
            "fee_per_user_month": 50.0,
            "fee_per_endpoint_month": 10.0,
            "fee_per_server_month": 100.0,
            "onboarding_fee": 500.0,
            "out_of_scope_categories": ["network", "major"],
            "out_of_scope": TM_TERMS,
            "sla": sla(),
            "policy": POLICY,
            **overrides,
        }
    )


def run(
    contract: Any,
    log: TicketLog,
    prevention: PreventionLog | None = None,
    months: int = 3,
    terminate_from: int | None = None,
) -> Ledger:
    ctx = dataclasses.replace(make_ctx(months), terminate_from=terminate_from)
    ledger = bill(contract, log, prevention if prevention is not None else no_prevention(), ctx)
    assert ledger.client_payments() == ledger.billed() - ledger.credits()
    return ledger


def lines(ledger: Ledger, account: int) -> list[tuple[int, int]]:
    """(incident, cents) of the client-to-provider lines of one account, sorted."""
    m = (ledger.account == account) & (ledger.payer >= 0) & (ledger.payee == Party.PROVIDER)
    return sorted(zip(ledger.incident[m].tolist(), ledger.cents[m].tolist(), strict=True))


def entries(ledger: Ledger, account: int) -> list[tuple[int, int, int, int]]:
    """(month, payer, payee, cents) of every line of one account, sorted."""
    m = ledger.account == account
    return sorted(
        zip(
            ledger.month[m].tolist(),
            ledger.payer[m].tolist(),
            ledger.payee[m].tolist(),
            ledger.cents[m].tolist(),
            strict=True,
        )
    )


def credits(ledger: Ledger) -> list[tuple[int, int, int]]:
    """(month, client, cents) of the SLA credits; each must flow from the provider to a client."""
    m = ledger.account == Account.SLA_CREDIT
    assert (ledger.payer[m] == Party.PROVIDER).all()
    assert (ledger.payee[m] >= 0).all()
    return sorted(
        zip(ledger.month[m].tolist(), ledger.payee[m].tolist(), ledger.cents[m].tolist(), strict=True)
    )


# ----------------------------------------------------------------------------------------------- units


def test_billable_hours_rounds_up_to_increment_with_minimum() -> None:
    hours = np.array([0.6, 1.0, 1.1, 0.0, 0.2, 2.0])
    # 0.6 → 0.75; 1.0 stays; 1.1 → 1.25; 0 → 0 but minimum 0.5; 0.2 → 0.25 → minimum 0.5; 2.0 stays.
    got = billable_hours(hours, 0.25, 0.5)
    np.testing.assert_allclose(got, [0.75, 1.0, 1.25, 0.5, 0.5, 2.0], rtol=0, atol=1e-12)
    # Per-row minimums (remote 0.5, on-site 1.0).
    got = billable_hours(np.array([0.3, 0.3]), 0.25, np.array([0.5, 1.0]))
    np.testing.assert_allclose(got, [0.5, 1.0], rtol=0, atol=1e-12)
    # A 1-hour increment: 1.01 h → 2 h.
    np.testing.assert_allclose(billable_hours(np.array([1.01]), 1.0, 0.0), [2.0], rtol=0, atol=1e-12)


def test_billable_hours_float_noise_tolerance() -> None:
    # 0.5000000001 h is floating-point noise around 0.5 h: it stays 0.5 h, not 0.75 h.
    got = billable_hours(np.array([0.5000000001, 0.50001]), 0.25, 0.0)
    np.testing.assert_allclose(got, [0.5, 0.75], rtol=0, atol=1e-12)
    # 0.1 × 3 = 0.30000000000000004 in floating point; at a 0.1 h increment it is 3 units, not 4.
    got = billable_hours(np.array([0.1 * 3, 0.7]), 0.1, 0.0)
    np.testing.assert_allclose(got, [0.3, 0.7], rtol=0, atol=1e-12)


def test_tm_labour_rates_minimums_and_after_hours() -> None:
    terms = TmTerms.model_validate(TM_TERMS)
    work = np.array([0.6, 0.6, 0.3, 2.0, 0.1])
    onsite = np.array([False, True, True, True, False])
    after = np.array([False, False, False, True, True])
    got = tm_labour(terms, work, onsite, after)
    # remote 0.6 → 0.75 h × 100 = 75;  on-site 0.6 → 0.75 h, min 1.0 → 1.0 × 150 = 150;
    # on-site 0.3 → min 1.0 × 150 = 150;  on-site after hours 2.0 × 150 × 1.5 = 450;
    # remote after hours 0.1 → 0.25, min 0.5 → 0.5 × 100 × 1.5 = 75.
    np.testing.assert_allclose(got, [75.0, 150.0, 150.0, 450.0, 75.0], rtol=0, atol=1e-9)


def test_to_cents_rounds_half_away_from_zero() -> None:
    # Halves exactly representable in binary, so the ×100 product is an exact .5.
    got = to_cents(
        np.array([0.125, -0.125, 0.375, -0.375, 0.625, 1.0, -2.5, 0.124, -0.124, 0.0, 1e6 + 0.125])
    )
    assert got.dtype == np.int64
    assert got.tolist() == [13, -13, 38, -38, 63, 100, -250, 12, -12, 0, 100000013]
    assert to_cents(0.125).item() == 13
    assert to_cents(0.004).item() == 0
    assert to_cents(-0.006).item() == -1


def test_monthly_fee_per_user_endpoint_server() -> None:
    # 10×50 + 12×10 + 1×100 = 720;  20×50 + 25×10 + 2×100 = 1450.
    np.testing.assert_allclose(monthly_fee(managed(), make_ctx()), [720.0, 1450.0])


# ------------------------------------------------------------------------------------------------- T&M


def test_tm_billing_increment_rounding() -> None:
    log = make_log({"work_hours": 0.6}, {"work_hours": 1.1}, {"work_hours": 1.0})
    ledger = run(tm(), log)
    # 0.6 → 0.75 h × 100 = 75.00;  1.1 → 1.25 h × 100 = 125.00;  1.0 h × 100 = 100.00.
    assert lines(ledger, Account.LABOUR) == [(0, 7500), (1, 12500), (2, 10000)]
    assert ledger.billed() == 7500 + 12500 + 10000
    assert ledger.credits() == 0


def test_tm_minimum_hours_remote_and_onsite() -> None:
    log = make_log(
        {"work_hours": 0.2},  # remote: 0.25 h, minimum 0.5 h → 0.5 × 100 = 50.00
        {"work_hours": 0.0},  # remote: minimum 0.5 h → 50.00
        {"work_hours": 0.3, "onsite": True},  # on-site: minimum 1.0 h → 1.0 × 150 = 150.00
        {"work_hours": 1.1, "onsite": True},  # on-site: 1.25 h × 150 = 187.50
    )
    ledger = run(tm(), log)
    assert lines(ledger, Account.LABOUR) == [(0, 5000), (1, 5000), (2, 15000), (3, 18750)]


def test_tm_trip_charge_only_onsite() -> None:
    log = make_log({}, {"onsite": True}, {}, {"onsite": True, "after_hours": True})
    ledger = run(tm(), log)
    # 50.00 per on-site visit, never multiplied by the after-hours factor; none for remote jobs.
    assert lines(ledger, Account.TRIP) == [(1, 5000), (3, 5000)]
    assert lines(run(tm(trip_charge=0.0), log), Account.TRIP) == []


def test_tm_after_hours_multiplier() -> None:
    log = make_log(
        {"work_hours": 1.0, "after_hours": True},  # 1.0 × 100 × 1.5 = 150.00
        {"work_hours": 2.0, "onsite": True, "after_hours": True},  # 2.0 × 150 × 1.5 = 450.00
        {"work_hours": 0.1, "after_hours": True},  # min 0.5 × 100 × 1.5 = 75.00
        {"work_hours": 1.0},  # business hours: 1.0 × 100 = 100.00
    )
    ledger = run(tm(), log)
    assert lines(ledger, Account.LABOUR) == [(0, 15000), (1, 45000), (2, 7500), (3, 10000)]
    assert lines(ledger, Account.TRIP) == [(1, 5000)]


def test_tm_parts_markup() -> None:
    log = make_log({"parts_cost": 200.0}, {"parts_cost": 12.5}, {"parts_cost": 0.0})
    # 200 × 1.2 = 240.00;  12.50 × 1.2 = 15.00;  no line for a job without parts.
    assert lines(run(tm(), log), Account.PARTS) == [(0, 24000), (1, 1500)]
    # No markup: parts at cost.
    assert lines(run(tm(parts_markup=0.0), log), Account.PARTS) == [(0, 20000), (1, 1250)]


def test_tm_bill_prevention_at_remote_rate() -> None:
    prevention = PreventionLog(
        client=np.array([0, 1, 0]),
        month=np.array([0, 0, 2]),
        hours=np.array([1.1, 2.0, 0.3]),
        started=np.array([20.0, 21.0, 1520.0]),  # all outside business hours: no after-hours premium anyway
        resolved=np.array([21.1, 23.0, 1520.3]),
    )
    ledger = run(tm(bill_prevention=True), make_log(), prevention)
    # 1.1 → 1.25 h × 100 = 125.00;  2.0 h × 100 = 200.00;  0.3 → 0.5 h × 100 = 50.00 (remote rate, increment).
    assert entries(ledger, Account.PREVENTION) == [
        (0, 0, Party.PROVIDER, 12500),
        (0, 1, Party.PROVIDER, 20000),
        (2, 0, Party.PROVIDER, 5000),
    ]
    assert (ledger.incident[ledger.account == Account.PREVENTION] == -1).all()
    assert ledger.billed() == 12500 + 20000 + 5000
    # Not bought: not billed.
    assert len(run(tm(bill_prevention=False), make_log(), prevention)) == 0


def test_tm_float_noise_stays_on_increment() -> None:
    log = make_log({"work_hours": 0.5000000001}, {"work_hours": 0.50001})
    ledger = run(tm(minimum_remote_hours=0.0), log)
    # 0.5000000001 h → 0.5 h × 100 = 50.00;  0.50001 h is real time past 0.5 → 0.75 h × 100 = 75.00.
    assert lines(ledger, Account.LABOUR) == [(0, 5000), (1, 7500)]


def test_tm_no_lines_for_self_handled_or_auto_remediated() -> None:
    other = {"work_hours": 2.0, "parts_cost": 100.0, "onsite": True, "after_hours": True}
    log = make_log(
        {"handling": Handling.SELF, **other},
        {"handling": Handling.AUTO, **other},
        {"handling": Handling.TICKET, "work_hours": 1.0},
    )
    ledger = run(tm(), log)
    assert set(ledger.incident.tolist()) == {2}
    assert lines(ledger, Account.LABOUR) == [(2, 10000)]  # 1.0 × 100
    only_others = make_log({"handling": Handling.SELF, **other}, {"handling": Handling.AUTO, **other})
    assert len(run(tm(), only_others)) == 0


def test_tm_lines_carry_client_month_and_incident() -> None:
    log = make_log(
        {"incident": 41, "client": 1, "month": 2, "work_hours": 1.0, "onsite": True, "parts_cost": 10.0}
    )
    ledger = run(tm(), log)
    line = {"month": 2, "payer": "client_1", "payee": "provider", "incident": 41}
    # 1.0 h on site × 150;  trip 50;  parts 10 × 1.2 = 12.
    frame = ledger.to_frame()
    assert frame.drop(columns=["quantity", "unit"]).to_dict("records") == [
        {**line, "account": "labour", "amount": 150.0},
        {**line, "account": "trip", "amount": 50.0},
        {**line, "account": "parts", "amount": 12.0},
    ]
    # What each line is for: 1 billable hour, one trip; parts have no quantity.
    assert frame["unit"].tolist() == ["h", "trip", ""]
    assert frame["quantity"].tolist()[:2] == [1.0, 1.0]
    assert np.isnan(frame["quantity"].iloc[2])


# ----------------------------------------------------------------------------------------- fixed price


def test_fp_menu_price_per_category() -> None:
    log = make_log(
        {"category": PASSWORD, "work_hours": 0.3},  # menu 40.00, no labour line
        {"category": HARDWARE, "work_hours": 3.0, "onsite": True},  # menu 120.00 + trip 30.00 (contract's)
        {"category": MAJOR, "work_hours": 9.0, "onsite": True, "after_hours": True},  # 2000.00 + trip 30.00
        {"category": HARDWARE, "work_hours": 0.5, "after_hours": True},  # 120.00: the price ignores the hour
    )
    ledger = run(fp(), log)
    assert lines(ledger, Account.MENU) == [(0, 4000), (1, 12000), (2, 200000), (3, 12000)]
    assert lines(ledger, Account.TRIP) == [(1, 3000), (2, 3000)]
    assert lines(ledger, Account.LABOUR) == []
    assert lines(ledger, Account.OVERRUN) == []
    assert ledger.billed() == 4000 + 12000 + 200000 + 12000 + 3000 + 3000


def test_fp_off_menu_category_falls_back_to_tm() -> None:
    log = make_log(
        {"category": SOFTWARE, "work_hours": 0.6, "parts_cost": 10.0},  # 0.75 h × 100 = 75.00; parts 12.00
        {"category": NETWORK, "work_hours": 0.3, "onsite": True, "after_hours": True},
        # on-site min 1.0 h × 150 × 1.5 = 225.00; fallback trip 50.00 (not the menu trip of 30.00)
    )
    ledger = run(fp(), log)
    assert lines(ledger, Account.MENU) == []
    assert lines(ledger, Account.LABOUR) == [(0, 7500), (1, 22500)]
    assert lines(ledger, Account.TRIP) == [(1, 5000)]
    assert lines(ledger, Account.PARTS) == [(0, 1200)]


def test_fp_labour_cap_overrun_absorbed() -> None:
    log = make_log({"category": HARDWARE, "work_hours": 5.0}, {"category": PASSWORD, "work_hours": 3.0})
    ledger = run(fp(labour_cap_hours=2.0, overrun="absorbed"), log)
    # The provider absorbs the 3 h and 1 h beyond the cap: only the menu prices.
    assert lines(ledger, Account.MENU) == [(0, 12000), (1, 4000)]
    assert lines(ledger, Account.OVERRUN) == []
    assert ledger.billed() == 12000 + 4000


def test_fp_labour_cap_overrun_billed() -> None:
    log = make_log(
        {"category": HARDWARE, "work_hours": 2.6},  # 0.6 h over → 0.75 h × 100 = 75.00
        {"category": HARDWARE, "work_hours": 3.1, "onsite": True, "after_hours": True},
        # 1.1 h over → 1.25 h × 150 × 1.5 = 281.25
        {"category": PASSWORD, "work_hours": 1.5},  # under the cap: nothing
        {"category": PASSWORD, "work_hours": 2.1},  # 0.1 h over → 0.25 h × 100 = 25.00 (no minimum)
        {"category": PASSWORD, "work_hours": 2.0000000001},  # float noise at the cap: nothing
        {"category": SOFTWARE, "work_hours": 5.0},  # off the menu: plain T&M, 5 h × 100 = 500.00, no overrun
    )
    ledger = run(fp(labour_cap_hours=2.0, overrun="billed"), log)
    assert lines(ledger, Account.OVERRUN) == [(0, 7500), (1, 28125), (3, 2500)]
    assert lines(ledger, Account.LABOUR) == [(5, 50000)]
    assert lines(ledger, Account.MENU) == [(0, 12000), (1, 12000), (2, 4000), (3, 4000), (4, 4000)]
    # Without a cap, "billed" has nothing to bill.
    assert lines(run(fp(overrun="billed"), log), Account.OVERRUN) == []


def test_fp_parts_billed_vs_included() -> None:
    log = make_log(
        {"category": HARDWARE, "parts_cost": 300.0},  # menu job
        {"category": SOFTWARE, "parts_cost": 100.0},  # off-menu job
    )
    # Billed: 300 × 1.2 = 360.00 on the menu job; 100 × 1.2 = 120.00 on the T&M job.
    assert lines(run(fp(parts="billed"), log), Account.PARTS) == [(0, 36000), (1, 12000)]
    # Included: the menu price covers the part; the off-menu job still pays parts at the fallback terms.
    assert lines(run(fp(parts="included"), log), Account.PARTS) == [(1, 12000)]
    # The markup is the fallback's.
    assert lines(run(fp(fallback={**TM_TERMS, "parts_markup": 0.5}), log), Account.PARTS) == [
        (0, 45000),  # 300 × 1.5
        (1, 15000),  # 100 × 1.5
    ]


def test_fp_trip_charge_is_the_contracts() -> None:
    log = make_log({"category": HARDWARE, "onsite": True}, {"category": HARDWARE})
    assert lines(run(fp(trip_charge=45.5), log), Account.TRIP) == [(0, 4550)]
    assert lines(run(fp(trip_charge=0.0), log), Account.TRIP) == []


def test_fp_warranty_window() -> None:
    parent_resolved = 100.0
    within = parent_resolved + 30 * 24.0 - 1.0  # 819 h: 29 days 23 h after the fix
    outside = parent_resolved + 30 * 24.0 + 1.0  # 821 h: 30 days 1 h after the fix
    job = {"category": HARDWARE, "onsite": True, "parts_cost": 50.0, "month": 1}
    log = make_log(
        {**job, "recurrence": True, "parent": 9, "parent_resolved": parent_resolved, "created": within},
        {**job, "recurrence": True, "parent": 9, "parent_resolved": parent_resolved, "created": outside},
        {**job, "created": 150.0, "month": 0},  # not a recurrence
    )
    ledger = run(fp(warranty_days=30.0, labour_cap_hours=0.5, overrun="billed"), log)
    # Within the warranty the recurrence is free: no menu price, trip, parts or overrun line at all.
    assert 0 not in ledger.incident.tolist()
    # Outside it: menu 120.00, trip 30.00, parts 50 × 1.2 = 60.00, overrun 0.5 h → 0.5 × 150 = 75.00.
    assert lines(ledger, Account.MENU) == [(1, 12000), (2, 12000)]
    assert lines(ledger, Account.TRIP) == [(1, 3000), (2, 3000)]
    assert lines(ledger, Account.PARTS) == [(1, 6000), (2, 6000)]
    assert lines(ledger, Account.OVERRUN) == [(1, 7500), (2, 7500)]
    # No warranty: the recurrence is billed like any job.
    assert lines(run(fp(), log), Account.MENU) == [(0, 12000), (1, 12000), (2, 12000)]


# --------------------------------------------------------------------------------------------- managed


def test_managed_monthly_fees_and_onboarding() -> None:
    ledger = run(managed(), make_log())
    # Client 0: 10×50 + 12×10 + 1×100 = 720.00 a month; client 1: 20×50 + 25×10 + 2×100 = 1450.00.
    assert entries(ledger, Account.FEE) == [
        (0, 0, Party.PROVIDER, 72000),
        (0, 1, Party.PROVIDER, 145000),
        (1, 0, Party.PROVIDER, 72000),
        (1, 1, Party.PROVIDER, 145000),
        (2, 0, Party.PROVIDER, 72000),
        (2, 1, Party.PROVIDER, 145000),
    ]
    # Onboarding 500.00 per client, in month 0 only.
    assert entries(ledger, Account.ONBOARDING) == [
        (0, 0, Party.PROVIDER, 50000),
        (0, 1, Party.PROVIDER, 50000),
    ]
    assert ledger.billed() == 3 * (72000 + 145000) + 2 * 50000
    assert ledger.credits() == 0
    assert ledger.client_payments() == 751000
    # No onboarding fee: no onboarding line.
    assert entries(run(managed(onboarding_fee=0.0), make_log()), Account.ONBOARDING) == []


def test_managed_out_of_scope_billed_tm() -> None:
    log = make_log(
        {"category": NETWORK, "work_hours": 0.6, "parts_cost": 10.0},  # 0.75 h × 100 = 75.00; parts 12.00
        {"category": MAJOR, "work_hours": 2.0, "onsite": True, "after_hours": True},
        # 2.0 h × 150 × 1.5 = 450.00; trip 50.00
        {"category": PASSWORD, "work_hours": 3.0},  # in scope, remote included: nothing
    )
    ledger = run(managed(), log)
    assert lines(ledger, Account.LABOUR) == [(0, 7500), (1, 45000)]
    assert lines(ledger, Account.TRIP) == [(1, 5000)]
    assert lines(ledger, Account.PARTS) == [(0, 1200)]


def test_managed_included_vs_excluded_labour() -> None:
    log = make_log(
        {"category": HARDWARE, "work_hours": 2.0, "onsite": True, "parts_cost": 100.0},
        {"category": SOFTWARE, "work_hours": 0.6},
    )
    # Everything included but parts: no labour or trip; parts 100 × 1.2 = 120.00.
    ledger = run(managed(), log)
    assert lines(ledger, Account.LABOUR) == []
    assert lines(ledger, Account.TRIP) == []
    assert lines(ledger, Account.PARTS) == [(0, 12000)]
    # On-site excluded: 2.0 h × 150 = 300.00 and the trip 50.00; the remote job stays included.
    ledger = run(managed(includes={"remote": True, "onsite": False}), log)
    assert lines(ledger, Account.LABOUR) == [(0, 30000)]
    assert lines(ledger, Account.TRIP) == [(0, 5000)]
    assert lines(ledger, Account.PARTS) == [(0, 12000)]
    # Remote excluded: 0.6 → 0.75 h × 100 = 75.00; the on-site job stays included.
    ledger = run(managed(includes={"remote": False, "onsite": True}), log)
    assert lines(ledger, Account.LABOUR) == [(1, 7500)]
    assert lines(ledger, Account.TRIP) == []


def test_managed_parts_included() -> None:
    log = make_log(
        {"category": HARDWARE, "parts_cost": 100.0},  # in scope: covered by the fee
        {"category": NETWORK, "parts_cost": 100.0},  # out of scope: 100 × 1.2 = 120.00
    )
    ledger = run(managed(includes={"parts": True}), log)
    assert lines(ledger, Account.PARTS) == [(1, 12000)]


def test_managed_non_tickets_not_billed() -> None:
    log = make_log(
        {"category": NETWORK, "handling": Handling.AUTO, "work_hours": 1.0, "parts_cost": 100.0},
        {"category": HARDWARE, "handling": Handling.SELF, "parts_cost": 100.0},
    )
    ledger = run(managed(), log)
    assert (ledger.incident == -1).all()  # only fees and onboarding


def sla_ticket(month: int = 0, response: float = 0.5, resolution: float = 1.0, **kw: Any) -> dict[str, Any]:
    """A ticket created Monday 10:00 of ``month``, inside business hours throughout (so business = clock)."""
    created = MONTH_START[month] + 10.0
    assert resolution <= 8.0
    return {
        "month": month,
        "created": created,
        "started": created + response,
        "resolved": created + resolution,
        "work_hours": resolution - response,
        **kw,
    }


def test_sla_business_clock_vs_clock_hours() -> None:
    # Created Monday 17:00, started Tuesday 09:00, resolved Tuesday 10:00.
    log = make_log({"created": 17.0, "started": 33.0, "resolved": 34.0})
    ctx = make_ctx()
    business = sla_outcomes(managed(sla=sla(clock="business")), log, ctx)
    # Business: Mon 17–18 (1 h) + Tue 08–09 (1 h) = 2 h response; + Tue 09–10 = 3 h resolution.
    np.testing.assert_allclose(business["response"], [2.0])
    np.testing.assert_allclose(business["resolution"], [3.0])
    clock = sla_outcomes(managed(sla=sla(clock="clock")), log, ctx)
    np.testing.assert_allclose(clock["response"], [16.0])
    np.testing.assert_allclose(clock["resolution"], [17.0])
    # Against a 4 h response / 16 h resolution target, only the clock-hours SLA is breached (16 > 4, 17 > 16).
    targets = {p: {"response_hours": 4.0, "resolution_hours": 16.0} for p in ("P1", "P2", "P3", "P4")}
    credit = {"kind": "per_breach", "amount": 25.0}
    assert credits(run(managed(sla=sla(credit, "business", targets=targets)), log)) == []
    assert credits(run(managed(sla=sla(credit, "clock", targets=targets)), log)) == [(0, 0, 2500)]


def test_sla_business_clock_skips_weekend() -> None:
    # Created Friday 17:00 (113 h), started 17:30, resolved Monday 10:00 (178 h).
    log = make_log({"created": 113.0, "started": 113.5, "resolved": 178.0})
    targets = {p: {"response_hours": 1.0, "resolution_hours": 4.0} for p in ("P1", "P2", "P3", "P4")}
    out = sla_outcomes(managed(sla=sla(targets=targets)), log, make_ctx())
    # Business: 0.5 h response; Fri 17–18 (1 h) + Mon 08–10 (2 h) = 3 h resolution: within 4 h.
    np.testing.assert_allclose(out["response"], [0.5])
    np.testing.assert_allclose(out["resolution"], [3.0])
    assert out["breach"].tolist() == [False]
    # Clock: 65 h resolution, breached.
    out = sla_outcomes(managed(sla=sla(clock="clock", targets=targets)), log, make_ctx())
    assert out["breach"].tolist() == [True]


def test_sla_targets_by_priority_and_exact_target_met() -> None:
    targets = {
        "P1": {"response_hours": 1.0, "resolution_hours": 4.0},
        "P4": {"response_hours": 8.0, "resolution_hours": 40.0},
    }
    log = make_log(
        sla_ticket(response=2.0, resolution=4.0, priority=1),  # P1: 2 h > 1 h response → breach
        sla_ticket(response=2.0, resolution=4.0, priority=4),  # P4: within both
        sla_ticket(response=1.0, resolution=4.0, priority=1),  # P1: exactly on both targets → met
        sla_ticket(response=0.5, resolution=4.5, priority=1),  # P1: 4.5 h > 4 h resolution → breach
        sla_ticket(response=3.0, resolution=4.0, priority=1, category=NETWORK),  # out of scope: no breach
        {"handling": Handling.AUTO, "priority": 1},  # not a ticket
    )
    out = sla_outcomes(managed(sla=sla(targets=targets)), log, make_ctx())
    assert out["breach"].tolist() == [True, False, False, True, False, False]
    assert out["in_scope"].tolist() == [True, True, True, True, False, False]


def test_credit_per_breach_amount() -> None:
    targets = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
    log = make_log(
        sla_ticket(month=1, response=3.0, resolution=4.0),  # breach (response)
        sla_ticket(month=1, response=1.5, resolution=1.9),  # breach (response only)
        sla_ticket(month=1, response=0.5, resolution=1.5),  # met
        sla_ticket(month=0, response=3.0, resolution=4.0, client=1),  # breaches both: one credit
        sla_ticket(month=2, response=3.0, resolution=4.0, category=NETWORK),  # out of scope: no credit
    )
    ledger = run(managed(sla=sla({"kind": "per_breach", "amount": 25.0}, targets=targets)), log)
    # Client 0, month 1: 2 breaches × 25 = 50.00;  client 1, month 0: 1 × 25 = 25.00.
    assert credits(ledger) == [(0, 1, 2500), (1, 0, 5000)]
    assert ledger.credits() == 7500
    assert ledger.client_payments() == ledger.billed() - 7500


def test_credit_per_breach_percent_of_fee() -> None:
    targets = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
    log = make_log(
        sla_ticket(month=1, response=3.0, resolution=4.0),
        sla_ticket(month=1, response=1.5, resolution=1.9),
        sla_ticket(month=0, response=3.0, resolution=4.0, client=1),
    )
    ledger = run(managed(sla=sla({"kind": "per_breach", "percent_of_fee": 0.05}, targets=targets)), log)
    # Client 0: 2 × 5% × 720 = 72.00;  client 1: 1 × 5% × 1450 = 72.50.
    assert credits(ledger) == [(0, 1, 7250), (1, 0, 7200)]


def test_credit_compliance_tiers() -> None:
    tiers = {
        "kind": "compliance_tiers",
        # Listed highest-threshold last on purpose: the order in the list must not matter.
        "tiers": [{"below": 0.6, "percent_of_fee": 0.2}, {"below": 0.9, "percent_of_fee": 0.05}],
    }
    targets = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
    bad = {"response": 3.0, "resolution": 4.0}
    good = {"response": 0.5, "resolution": 1.0}
    log = make_log(
        # Client 0, month 0: 3 of 4 met → 0.75 < 0.9 (not < 0.6) → 5% × 720 = 36.00
        *[sla_ticket(month=0, **good) for _ in range(3)],
        sla_ticket(month=0, **bad),
        # Client 0, month 1: 1 of 2 met → 0.5 < 0.6, the lowest threshold it is under → 20% × 720 = 144.00
        sla_ticket(month=1, **good),
        sla_ticket(month=1, **bad),
        # Client 0, month 2: no in-scope ticket (out of scope, auto-remediated) → compliance 1 → no credit
        sla_ticket(month=2, category=NETWORK, **bad),
        {"month": 2, "handling": Handling.AUTO},
        # Client 1, month 0: 9 of 10 met → 0.9, not below 0.9 → no credit
        *[sla_ticket(month=0, client=1, **good) for _ in range(9)],
        sla_ticket(month=0, client=1, **bad),
        # Client 1, month 1: 1 of 1 met → no credit
        sla_ticket(month=1, client=1, **good),
    )
    ledger = run(managed(sla=sla(tiers, targets=targets)), log)
    assert credits(ledger) == [(0, 0, 3600), (1, 0, 14400)]


def test_credit_per_downtime_hour() -> None:
    log = make_log(
        {"month": 0, "downtime_user_hours": 10.5},
        {"month": 0, "downtime_user_hours": 4.0},
        {"month": 0, "category": NETWORK, "downtime_user_hours": 100.0},  # out of scope
        {"month": 0, "handling": Handling.AUTO, "downtime_user_hours": 50.0},  # not a ticket
        {"month": 2, "client": 1, "downtime_user_hours": 0.25},
    )
    ledger = run(managed(sla=sla({"kind": "per_downtime_hour", "amount_per_user_hour": 2.0})), log)
    # Client 0, month 0: (10.5 + 4.0) × 2 = 29.00;  client 1, month 2: 0.25 × 2 = 0.50.
    assert credits(ledger) == [(0, 0, 2900), (2, 1, 50)]


def test_credit_cap_percent_of_fee() -> None:
    targets = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
    bad = {"response": 3.0, "resolution": 4.0}
    log = make_log(
        *[sla_ticket(month=0, **bad) for _ in range(3)],  # client 0: 3 × 50 = 150 > cap 10% × 720 = 72.00
        sla_ticket(month=1, client=1, **bad),  # client 1: 1 × 50 = 50 < cap 10% × 1450 = 145 → 50.00
    )
    ledger = run(managed(sla=sla({"kind": "per_breach", "amount": 50.0}, targets=targets, cap=0.1)), log)
    assert credits(ledger) == [(0, 0, 7200), (1, 1, 5000)]
    # Compliance tiers: client 0 month 0 at 0 % compliance → 50% × 720 = 360, capped at 25% × 720 = 180.00;
    # client 1 month 1 → 50% × 1450 = 725, capped at 25% × 1450 = 362.50.
    tiers = {"kind": "compliance_tiers", "tiers": [{"below": 0.5, "percent_of_fee": 0.5}]}
    ledger = run(managed(sla=sla(tiers, targets=targets, cap=0.25)), log)
    assert credits(ledger) == [(0, 0, 18000), (1, 1, 36250)]
    # Downtime credits: 3 × 40 user-hours × 1.0 = 120, capped at 10% × 720 = 72.00.
    log = make_log(*[{"downtime_user_hours": 40.0} for _ in range(3)])
    scheme = {"kind": "per_downtime_hour", "amount_per_user_hour": 1.0}
    assert credits(run(managed(sla=sla(scheme, cap=0.1)), log)) == [(0, 0, 7200)]
    # A zero cap: no credit at all.
    assert credits(run(managed(sla=sla(scheme, cap=0.0)), log)) == []


def test_no_credit_scheme_means_no_credits() -> None:
    targets = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
    log = make_log(sla_ticket(response=3.0, resolution=4.0))
    ledger = run(managed(sla=sla(None, targets=targets)), log)
    assert credits(ledger) == []
    assert ledger.client_payments() == ledger.billed()


@pytest.mark.parametrize("kind", ["tm", "fp", "managed"])
def test_empty_log(kind: str) -> None:
    contract = {"tm": tm, "fp": fp, "managed": managed}[kind]()
    ledger = run(contract, make_log())
    # Only the managed contract bills without incidents: 3 months of fees + onboarding.
    assert ledger.billed() == (751000 if kind == "managed" else 0)


# ----------------------------------------------------------------------------------------- termination right

TIGHT = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
MET = {"response": 0.5, "resolution": 1.0}
MISSED = {"response": 3.0, "resolution": 4.0}


def month_of_tickets(month: int, met: int, missed: int, client: int = 0) -> list[dict[str, Any]]:
    return [sla_ticket(month=month, client=client, **MET) for _ in range(met)] + [
        sla_ticket(month=month, client=client, **MISSED) for _ in range(missed)
    ]


def terminating(below: float = 0.85, months: int = 3, within: int | None = None, **kw: Any) -> Managed:
    right = {"below": below, "months": months, "within": within, **kw}
    return managed(sla={**sla(targets=TIGHT), "termination": right}, onboarding_fee=0.0)


def fees(ledger: Ledger, client: int) -> list[int]:
    """The months client ``client`` paid a fee in."""
    m = (ledger.account == Account.FEE) & (ledger.payer == client)
    return sorted(ledger.month[m].tolist())


def test_termination_after_three_poor_months_stops_fees_from_month_four() -> None:
    # Client 0: compliance 4/5 = 0.80, 41/50 = 0.82, 21/25 = 0.84 in months 1-3 (indices 0-2), all below 0.85:
    # with a 3-month rule it leaves at the end of month 3; nothing is billed from month 4 (index 3) on, not even the
    # out-of-scope ticket of month 5. Client 1 meets every target and stays all six months.
    log = make_log(
        *month_of_tickets(0, 4, 1),
        *month_of_tickets(1, 41, 9),
        *month_of_tickets(2, 21, 4),
        *month_of_tickets(3, 1, 0),
        sla_ticket(month=4, category=NETWORK, **MET),
        *month_of_tickets(0, 2, 0, client=1),
        *month_of_tickets(5, 2, 0, client=1),
    )
    contract = terminating()
    ledger = run(contract, log, months=6, terminate_from=0)
    assert fees(ledger, 0) == [0, 1, 2]
    assert fees(ledger, 1) == [0, 1, 2, 3, 4, 5]
    assert not ((ledger.payer == 0) & (ledger.month >= 3)).any()
    # The fees are what the months on the contract owe: 3 × 720 and 6 × 1450, in cents.
    assert ledger.billed() == 3 * 72000 + 6 * 145000 + 0  # no out-of-scope work before client 0 left
    ctx = dataclasses.replace(make_ctx(6), terminate_from=0)
    assert contract.exit_months(log, ctx).tolist() == [2, -1]


def test_termination_needs_the_months_in_a_row_unless_a_window_is_given() -> None:
    # Compliance 0.80, 1.0, 0.80, 0.80: three poor months but never three in a row; "3 of any 4" ends it after the
    # fourth month (index 3), "2 of any 3" after the third (index 2).
    log = make_log(
        *month_of_tickets(0, 4, 1),
        *month_of_tickets(1, 5, 0),
        *month_of_tickets(2, 4, 1),
        *month_of_tickets(3, 4, 1),
    )
    ctx = dataclasses.replace(make_ctx(6), terminate_from=0)
    assert terminating().exit_months(log, ctx).tolist() == [-1, -1]
    assert terminating(within=4).exit_months(log, ctx).tolist() == [3, -1]
    assert terminating(months=2, within=3).exit_months(log, ctx).tolist() == [2, -1]
    # Counting starts at terminate_from: from month 2 on only two poor months have passed by month 3.
    later = dataclasses.replace(ctx, terminate_from=2)
    assert terminating(within=4).exit_months(log, later).tolist() == [-1, -1]


def test_termination_counts_recurrences_as_missed_and_is_off_unless_exercised() -> None:
    # Every ticket meets its targets, but 2 of 5 each month are recurrences: 0.6 compliance with recurrences
    # counted, 1.0 without.
    rows = []
    for month in range(3):
        rows += month_of_tickets(month, 3, 0)
        rows += [sla_ticket(month=month, recurrence=True, **MET) for _ in range(2)]
    log = make_log(*rows)
    ctx = dataclasses.replace(make_ctx(6), terminate_from=0)
    assert terminating().exit_months(log, ctx).tolist() == [2, -1]
    assert terminating(recurrences_count=False).exit_months(log, ctx).tolist() == [-1, -1]
    # Without terminate_from (a plain run) the right is not exercised: all six months are billed.
    assert fees(run(terminating(), log, months=6), 0) == [0, 1, 2, 3, 4, 5]


def test_termination_window_shorter_than_its_months_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        terminating(months=3, within=2)
