"""The ledger: integer cents that balance to the cent (DESIGN.md §3).

Hand-built ledgers check the bookkeeping helpers; a hypothesis property checks that the bill of any small
random ticket log, under each of the three contract kinds with random valid terms, is whole non-negative cents
in which what the clients pay is what the provider billed minus credits, client by client, and credits respect
the cap.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.base.calendar import HOURS_PER_MONTH, WeekCalendar
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog
from simulator.contracts import (
    BlockHours,
    CostSharing,
    FixedPrice,
    Managed,
    MonitoringPlusTm,
    TimeAndMaterials,
)
from simulator.contracts.billing import bill
from simulator.contracts.ledger import Account, Ledger, Party, to_cents

NAN = float("nan")
CATEGORIES = ("password", "hardware", "software", "network", "major")
PRIORITIES = ("P1", "P2", "P3", "P4")
POLICY = {"technicians": 1}


# ------------------------------------------------------------------------------------------ unit tests


def test_build_drops_zero_lines_and_broadcasts_parties() -> None:
    ledger = Ledger.build(
        [
            # Client lines: 10.00, 0.004 (rounds to 0 cents: dropped) and 2.50; one incident each.
            (np.array([0, 0, 1]), np.array([0, 1, 1]), Party.PROVIDER, Account.LABOUR,
             np.array([10.0, 0.004, 2.5]), np.array([7, 8, 9])),
            # A credit of 1.25 from the provider to client 1, not about an incident.
            (np.array([1]), Party.PROVIDER, np.array([1]), Account.SLA_CREDIT, np.array([1.25]), None),
        ]
    )  # fmt: skip
    assert len(ledger) == 3
    assert ledger.cents.tolist() == [1000, 250, 125]
    assert ledger.payer.tolist() == [0, 1, Party.PROVIDER]
    assert ledger.payee.tolist() == [Party.PROVIDER, Party.PROVIDER, 1]
    assert ledger.incident.tolist() == [7, 9, -1]
    assert ledger.account.tolist() == [Account.LABOUR, Account.LABOUR, Account.SLA_CREDIT]
    # billed 10.00 + 2.50 = 12.50; credits 1.25; paid 12.50 − 1.25 = 11.25.
    assert ledger.billed() == 1250
    assert ledger.credits() == 125
    assert ledger.client_payments() == 1125


def test_costs_are_neither_billed_nor_credits() -> None:
    ledger = Ledger.build(
        [
            (np.array([0]), 0, Party.PROVIDER, Account.FEE, np.array([100.0]), None),
            (np.array([0]), Party.PROVIDER, Party.STAFF, Account.COST_LABOUR, np.array([40.0]), None),
            (np.array([0]), Party.PROVIDER, Party.SUPPLIER, Account.COST_PARTS, np.array([5.0]), None),
        ]
    )
    assert ledger.billed() == 10000
    assert ledger.credits() == 0
    assert ledger.client_payments() == 10000


def test_empty_build_and_concat() -> None:
    empty = Ledger.build([])
    assert len(empty) == 0
    assert empty.client_payments() == empty.billed() == empty.credits() == 0
    one = Ledger.build([(np.array([2]), 3, Party.PROVIDER, Account.TRIP, np.array([50.0]), np.array([4]))])
    both = one.concat(empty).concat(one)
    assert len(both) == 2
    assert both.billed() == 2 * 5000


def test_to_frame_readable_names() -> None:
    ledger = Ledger.build(
        [
            (np.array([1]), 2, Party.PROVIDER, Account.PARTS, np.array([12.345]), np.array([5])),
            (np.array([1]), Party.PROVIDER, 2, Account.SLA_CREDIT, np.array([3.0]), None),
        ]
    )
    # 12.345 is stored just below 12.345, but ×100 rounds to 1234.5 → 1235 cents.
    frame = ledger.to_frame()
    assert frame["unit"].tolist() == ["", ""]  # no quantity given: none (NaN)
    assert frame["quantity"].isna().all()
    assert frame.drop(columns=["quantity", "unit"]).to_dict("records") == [
        {"month": 1, "payer": "client_2", "payee": "provider", "account": "parts", "amount": 12.35,
         "incident": 5},
        {"month": 1, "payer": "provider", "payee": "client_2", "account": "sla_credit", "amount": 3.0,
         "incident": -1},
    ]  # fmt: skip


# ------------------------------------------------------------------------------------------ strategies


def money(high: float) -> st.SearchStrategy[float]:
    """Round amounts often (where ties and exact multiples live), arbitrary floats otherwise."""
    return st.one_of(
        st.sampled_from([0.0, 0.5, 1.0, 12.5, high]),
        st.floats(0.0, high, allow_nan=False, allow_infinity=False),
    )


def hours(high: float) -> st.SearchStrategy[float]:
    return st.one_of(
        st.sampled_from([0.0, 0.25, 0.5, 0.5000000001, 1.0, 2.0]),
        st.floats(0.0, high, allow_nan=False, allow_infinity=False),
    )


@st.composite
def contexts(draw: st.DrawFn) -> BillingContext:
    n_clients = draw(st.integers(1, 3))
    counts = st.lists(st.integers(0, 60), min_size=n_clients, max_size=n_clients)
    return BillingContext(
        months=draw(st.integers(1, 4)),
        users=np.array(draw(counts), dtype=np.int64),
        endpoints=np.array(draw(counts), dtype=np.int64),
        servers=np.array(draw(counts), dtype=np.int64),
        category_names=CATEGORIES,
        calendar=WeekCalendar(),
    )


@st.composite
def ticket_logs(draw: st.DrawFn, ctx: BillingContext) -> TicketLog:
    """Random rows; ticket times within each row's month, NaN for incidents that never became a ticket.

    Work, parts and on-site flags are drawn for every row, tickets or not, so that billing must filter them.
    """
    n = draw(st.integers(0, 12))
    n_clients = len(ctx.users)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        month = draw(st.integers(0, ctx.months - 1))
        handling = draw(st.sampled_from([Handling.SELF, Handling.AUTO, Handling.TICKET, Handling.TICKET]))
        created = month * HOURS_PER_MONTH + draw(st.floats(0.0, 700.0))
        started = created + draw(hours(60.0))
        resolved = started + draw(hours(120.0))
        recurrence = draw(st.booleans())
        category = draw(st.integers(0, len(CATEGORIES) - 1))
        ticket = handling == Handling.TICKET
        rows.append(
            {
                "incident": i,
                "client": draw(st.integers(0, n_clients - 1)),
                "category": category,
                "major": category == len(CATEGORIES) - 1,
                "priority": draw(st.integers(1, 4)),
                "handling": handling,
                "occurred": created - draw(st.floats(0.0, 24.0)),
                "created": created if ticket else NAN,
                "started": started if ticket else NAN,
                "resolved": resolved if ticket else NAN,
                "month": month,
                "onsite": draw(st.booleans()),
                "work_hours": draw(hours(12.0)),
                "travel_hours": draw(hours(2.0)),
                "parts_cost": draw(st.one_of(st.just(0.0), money(2000.0))),
                "after_hours": draw(st.booleans()),
                "blocking": draw(st.booleans()),
                "downtime_hours": draw(hours(50.0)),
                "downtime_user_hours": draw(hours(200.0)),
                "downtime_cost": draw(money(5000.0)),
                "recurrence": recurrence,
                "parent": 0 if recurrence else -1,
                "parent_resolved": created - draw(st.floats(0.0, 2000.0)) if recurrence else NAN,
            }
        )

    def col(name: str, dtype: Any) -> np.ndarray:
        return np.array([r[name] for r in rows], dtype=dtype)

    ints = ("incident", "client", "category", "month", "parent")
    bools = ("major", "blocking", "onsite", "after_hours", "recurrence")
    small = ("priority", "handling")
    floats = (
        *("occurred", "created", "started", "resolved", "work_hours", "travel_hours", "parts_cost"),
        *("downtime_hours", "downtime_user_hours", "downtime_cost", "parent_resolved"),
    )
    return TicketLog(
        **{k: col(k, np.int64) for k in ints},
        **{k: col(k, bool) for k in bools},
        **{k: col(k, np.int8) for k in small},
        **{k: col(k, float) for k in floats},
    )


@st.composite
def prevention_logs(draw: st.DrawFn, ctx: BillingContext) -> PreventionLog:
    n = draw(st.integers(0, 5))
    client = draw(st.lists(st.integers(0, len(ctx.users) - 1), min_size=n, max_size=n))
    month = draw(st.lists(st.integers(0, ctx.months - 1), min_size=n, max_size=n))
    hrs = draw(st.lists(hours(10.0), min_size=n, max_size=n))
    started = np.array(month, dtype=float) * HOURS_PER_MONTH + 10.0
    return PreventionLog(
        client=np.array(client, dtype=np.int64),
        month=np.array(month, dtype=np.int64),
        hours=np.array(hrs, dtype=float),
        started=started,
        resolved=started + np.array(hrs, dtype=float),
    )


@st.composite
def tm_terms(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "remote_rate": draw(money(300.0)),
        "onsite_rate": draw(money(300.0)),
        "billing_increment_hours": draw(
            st.one_of(st.sampled_from([0.1, 0.25, 0.5, 1.0]), st.floats(0.01, 2.0, allow_nan=False))
        ),
        "minimum_remote_hours": draw(hours(3.0)),
        "minimum_onsite_hours": draw(hours(4.0)),
        "trip_charge": draw(money(150.0)),
        "parts_markup": draw(st.floats(0.0, 1.0)),
        "after_hours_multiplier": draw(st.floats(1.0, 3.0)),
    }


@st.composite
def rate_cards(draw: st.DrawFn) -> dict[str, Any]:
    """T&M terms with a rate card (and no after-hours multiplier where the card prices after-hours work)."""
    terms = draw(tm_terms())
    card = {k: draw(st.one_of(st.none(), money(400.0))) for k in ("emergency", "weekend", "after_hours")}
    card["emergency_priorities"] = draw(st.lists(st.sampled_from(PRIORITIES), min_size=1, unique=True))
    if draw(st.booleans()):
        card["project"] = draw(money(300.0))
        card["project_categories"] = draw(category_subset())
    if card["after_hours"] is not None:
        terms["after_hours_multiplier"] = 1.0
    return {**terms, "rate_card": card}


def any_tm_terms() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(tm_terms(), rate_cards())


@st.composite
def term_pricing(draw: st.DrawFn) -> dict[str, Any]:
    months = draw(st.one_of(st.none(), st.integers(1, 6)))
    return {
        "months": months,
        "discount": draw(st.floats(0.0, 0.5)) if months else 0.0,
        "month_to_month_premium": 0.0 if months else draw(st.floats(0.0, 0.5)),
        "escalator": draw(st.floats(-0.1, 0.2)),
        "notice_months": draw(st.integers(0, 2)),
        "early_termination_share": draw(st.floats(0.0, 1.0)) if months else 0.0,
    }


def category_subset() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(CATEGORIES), unique=True)


@st.composite
def time_and_materials(draw: st.DrawFn) -> TimeAndMaterials:
    return TimeAndMaterials.model_validate(
        {
            "kind": "time_and_materials",
            "name": "tm",
            "bill_prevention": draw(st.booleans()),
            "policy": POLICY,
            **draw(any_tm_terms()),
        }
    )


@st.composite
def fixed_price(draw: st.DrawFn) -> FixedPrice:
    menu = {name: draw(money(5000.0)) for name in draw(category_subset())}
    return FixedPrice.model_validate(
        {
            "kind": "fixed_price",
            "name": "fp",
            "menu": menu,
            "labour_cap_hours": draw(st.one_of(st.none(), st.floats(0.1, 8.0))),
            "overrun": draw(st.sampled_from(["absorbed", "billed"])),
            "parts": draw(st.sampled_from(["included", "billed"])),
            "trip_charge": draw(money(150.0)),
            "warranty_days": draw(st.one_of(st.just(0.0), st.floats(0.0, 90.0))),
            "fallback": draw(any_tm_terms()),
            "policy": POLICY,
        }
    )


@st.composite
def credit_schemes(draw: st.DrawFn) -> dict[str, Any] | None:
    kind = draw(st.sampled_from([None, "per_breach", "compliance_tiers", "per_downtime_hour"]))
    if kind is None:
        return None
    if kind == "per_breach":
        return {"kind": kind, "amount": draw(money(500.0)), "percent_of_fee": draw(st.floats(0.0, 1.0))}
    if kind == "compliance_tiers":
        tier = st.fixed_dictionaries(
            {"below": st.floats(0.01, 1.0), "percent_of_fee": st.floats(0.0, 1.0)},
        )
        return {"kind": kind, "tiers": draw(st.lists(tier, min_size=1, max_size=3))}
    return {"kind": kind, "amount_per_user_hour": draw(money(50.0))}


@st.composite
def managed(draw: st.DrawFn) -> Managed:
    targets = {}
    for p in PRIORITIES:
        response = draw(st.floats(0.1, 48.0))
        targets[p] = {"response_hours": response, "resolution_hours": response + draw(st.floats(0.0, 100.0))}
    return Managed.model_validate(
        {
            "kind": "managed",
            "name": "msp",
            "fee_per_user_month": draw(money(200.0)),
            "fee_per_endpoint_month": draw(money(100.0)),
            "fee_per_server_month": draw(money(300.0)),
            "onboarding_fee": draw(money(2000.0)),
            "includes": {
                "remote": draw(st.booleans()),
                "onsite": draw(st.booleans()),
                "parts": draw(st.booleans()),
            },
            "base_fee_per_month": draw(st.one_of(st.just(0.0), money(3000.0))),
            "included": {"users": draw(st.integers(0, 30)), "endpoints": draw(st.integers(0, 30))},
            "minimum_monthly_fee": draw(st.one_of(st.just(0.0), money(3000.0))),
            "volume_discounts": draw(
                st.lists(st.integers(1, 60), unique=True, max_size=3).map(
                    lambda xs: [
                        {"from_users": x, "discount": 0.05 * (i + 1)} for i, x in enumerate(sorted(xs))
                    ]
                )
            ),
            "term": draw(term_pricing()),
            "out_of_scope_categories": draw(category_subset()),
            "out_of_scope": draw(any_tm_terms()),
            "sla": {
                "clock": draw(st.sampled_from(["business", "clock"])),
                "targets": targets,
                "credit": draw(credit_schemes()),
                "cap_percent_of_fee": draw(st.one_of(st.none(), st.just(0.0), st.floats(0.0, 1.0))),
            },
            "policy": POLICY,
        }
    )


@st.composite
def block_hours(draw: st.DrawFn) -> BlockHours:
    rollover = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "cap_hours": st.one_of(st.none(), hours(20.0)),
                    "expiry_months": st.one_of(st.none(), st.integers(1, 3)),
                }
            ),
        )
    )
    return BlockHours.model_validate(
        {
            "kind": "block_hours",
            "name": "block",
            "hours_per_month": draw(st.floats(0.25, 20.0)),
            "price_per_month": draw(money(3000.0)),
            "rollover": rollover,
            "draws": {
                "remote": draw(st.booleans()),
                "onsite": draw(st.booleans()),
                "travel": draw(st.booleans()),
            },
            "overage": draw(any_tm_terms()),
            "term": draw(term_pricing()),
            "policy": POLICY,
        }
    )


@st.composite
def monitoring_plus_tm(draw: st.DrawFn) -> MonitoringPlusTm:
    return MonitoringPlusTm.model_validate(
        {
            "kind": "monitoring_plus_tm",
            "name": "hybrid",
            "fee_per_endpoint_month": draw(money(60.0)),
            "fee_per_server_month": draw(money(200.0)),
            "tm": draw(any_tm_terms()),
            "term": draw(term_pricing()),
            "policy": {"technicians": 1, "monitoring": True},
        }
    )


@st.composite
def cost_sharing(draw: st.DrawFn) -> CostSharing:
    return CostSharing.model_validate(
        {
            "kind": "cost_sharing",
            "name": "gain-share",
            "target_cost_per_user_month": draw(money(100.0)),
            "provider_share": draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))),
            "fee_per_user_month": draw(money(50.0)),
            "cost_per_hour": draw(money(150.0)),
            "counts_travel": draw(st.booleans()),
            "counts_prevention": draw(st.booleans()),
            "term": draw(term_pricing()),
            "policy": POLICY,
        }
    )


CONTRACTS = {
    "time_and_materials": time_and_materials,
    "fixed_price": fixed_price,
    "managed": managed,
    "block_hours": block_hours,
    "monitoring_plus_tm": monitoring_plus_tm,
    "cost_sharing": cost_sharing,
}


@st.composite
def cases(draw: st.DrawFn, kind: str) -> tuple[Any, TicketLog, PreventionLog, BillingContext]:
    ctx = draw(contexts())
    if draw(st.booleans()):  # clients who join late or leave early (early-termination fees)
        ctx = dataclasses.replace(
            ctx,
            active=np.array(
                draw(
                    st.lists(
                        st.booleans(),
                        min_size=ctx.months * len(ctx.users),
                        max_size=ctx.months * len(ctx.users),
                    )
                ),
                dtype=bool,
            ).reshape(len(ctx.users), ctx.months),
        )
    contract = draw(CONTRACTS[kind]())
    return contract, draw(ticket_logs(ctx)), draw(prevention_logs(ctx)), ctx


# -------------------------------------------------------------------------------------------- property


def _half_up_cents(amount: float) -> int:
    """Reference rounding, independent of ``to_cents``: half away from zero of amount × 100 (amount >= 0)."""
    return math.floor(amount * 100.0 + 0.5)


@pytest.mark.parametrize("kind", list(CONTRACTS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_ledger_balances_to_the_cent(kind: str, data: st.DataObject) -> None:
    contract, log, prevention, ctx = data.draw(cases(kind))
    ledger = bill(contract, log, prevention, ctx)
    n_clients = len(ctx.users)

    # (a) Whole, positive cents (zero lines are dropped), but for the client's share of a saving under cost
    # sharing (a negative line: money back) and memo lines (hours drawn from a block: a quantity, no money);
    # every line is client → provider, or a credit provider → client.
    assert np.issubdtype(ledger.cents.dtype, np.integer)
    memo = np.isin(ledger.account, Account.MEMO)
    assert (ledger.cents[(ledger.account != Account.COST_SHARE) & ~memo] > 0).all()
    assert (ledger.cents[~memo] != 0).all()
    assert (ledger.cents[memo] == 0).all() and (ledger.quantity[memo] > 0).all()
    to_provider = (ledger.payer >= 0) & (ledger.payer < n_clients) & (ledger.payee == Party.PROVIDER)
    credit = (ledger.payer == Party.PROVIDER) & (ledger.payee >= 0) & (ledger.payee < n_clients)
    assert (to_provider ^ credit).all()
    assert ((ledger.account == Account.SLA_CREDIT) == credit).all()
    assert ((ledger.month >= 0) & (ledger.month < ctx.months)).all()
    # Lines about an incident are about a ticket: self-handled and auto-remediated incidents are never billed.
    tickets = set(log.incident[log.handling == Handling.TICKET].tolist())
    assert set(ledger.incident[ledger.incident >= 0].tolist()) <= tickets

    # (b) What clients pay is what the provider billed minus credits, exactly.
    billed, credits = ledger.billed(), ledger.credits()
    assert ledger.client_payments() == billed - credits
    assert billed == int(ledger.cents[to_provider].sum())
    assert credits == int(ledger.cents[credit].sum())

    # (c) Per-client payments add up to the total.
    per_client = [
        int(ledger.cents[(ledger.payer == c) & (ledger.payee == Party.PROVIDER)].sum())
        - int(ledger.cents[(ledger.payer == Party.PROVIDER) & (ledger.payee == c)].sum())
        for c in range(n_clients)
    ]
    assert sum(per_client) == ledger.client_payments()
    if isinstance(contract, CostSharing):  # the client's share of a saving never exceeds the target
        assert (np.round(ledger.payments_by_client_month((n_clients, ctx.months)) * 100) >= 0).all()

    if not isinstance(contract, Managed):
        assert credits == 0
        return
    if (
        ctx.active is not None
    ):  # clients joining and leaving: the fee lines are checked by hand in test_billing
        return

    # Managed: one fee line per client and month (unless the fee rounds to zero), onboarding in month 0; the
    # months of one contract year (every month here: at most 4) at the same fee.
    fee = np.array(
        [
            float(contract.fee_per_client_month(int(u), int(e), int(v))) * contract.term.factor
            for u, e, v in zip(ctx.users, ctx.endpoints, ctx.servers, strict=True)
        ]
    )
    fee_cents = [_half_up_cents(float(f)) for f in fee]
    fee_lines = ledger.account == Account.FEE
    for c in range(n_clients):
        got = sorted(ledger.cents[fee_lines & (ledger.payer == c)].tolist())
        assert got == ([fee_cents[c]] * ctx.months if fee_cents[c] else [])
    assert (ledger.month[ledger.account == Account.ONBOARDING] == 0).all()

    # (d) Credits per client and month never exceed the cap.
    cap = contract.sla.cap_percent_of_fee
    if contract.sla.credit is None:
        assert credits == 0
    if cap is not None:
        for c in range(n_clients):
            limit = _half_up_cents(cap * float(fee[c]))
            for m in range(ctx.months):
                month_credit = int(ledger.cents[credit & (ledger.payee == c) & (ledger.month == m)].sum())
                assert month_credit <= limit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_tm_labour_matches_scalar_reference(data: st.DataObject) -> None:
    """Each T&M labour line equals a scalar re-computation: increment, minimum, rate (the rate card's work type
    first), multiplier."""
    ctx = data.draw(contexts())
    contract = data.draw(time_and_materials())
    log = data.draw(ticket_logs(ctx))
    ledger = bill(contract, log, data.draw(prevention_logs(ctx)), ctx)
    labour = ledger.account == Account.LABOUR
    got = dict(zip(ledger.incident[labour].tolist(), ledger.cents[labour].tolist(), strict=True))
    expected = {}
    for i in range(len(log)):
        if log.handling[i] != Handling.TICKET:
            continue
        onsite = bool(log.onsite[i])
        inc = contract.billing_increment_hours
        units = math.ceil(float(log.work_hours[i]) / inc - 1e-9)
        minimum = contract.minimum_onsite_hours if onsite else contract.minimum_remote_hours
        rate = contract.onsite_rate if onsite else contract.remote_rate
        rate *= contract.after_hours_multiplier if log.after_hours[i] else 1.0
        card = contract.rate_card
        if card is not None:  # the first work type on the card that applies
            weekday = int(float(log.started[i]) // 24) % 7
            applies = [
                (card.emergency, f"P{int(log.priority[i])}" in card.emergency_priorities),
                (card.weekend, weekday >= 5),
                (card.after_hours, bool(log.after_hours[i])),
                (card.project, CATEGORIES[int(log.category[i])] in card.project_categories),
            ]
            rate = next((r for r, yes in applies if yes and r is not None), rate)
        cents = int(to_cents(max(units * inc, minimum) * rate))
        if cents:
            expected[int(log.incident[i])] = cents
    assert got == expected
