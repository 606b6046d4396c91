"""Hand-computed bills of the contracts MSPs sell beside the three classic kinds: block hours, the monitoring
hybrid, rate cards, included quantities and floors, term pricing and cost sharing (DESIGN.md §3).

The builders of ``test_billing`` make the logs: two clients (10 users / 12 endpoints / 1 server and 20 users / 25
endpoints / 2 servers), the clock starting on Monday 00:00, users working Mon–Fri 08:00–18:00. Every expected
amount is worked out next to it and compared in exact cents.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from test_billing import MONTH_START, POLICY, entries, make_ctx, make_log, managed, no_prevention

from simulator.base.records import Handling
from simulator.contracts import BlockHours, CostSharing, Managed, MonitoringPlusTm, TimeAndMaterials
from simulator.contracts.billing import bill
from simulator.contracts.ledger import Account, Ledger, Party

NETWORK, MAJOR = 3, 4
PLAIN_TM: dict[str, Any] = {
    "remote_rate": 100.0,
    "onsite_rate": 150.0,
    "billing_increment_hours": 0.25,
}


def billed(
    contract: Any, log: Any, months: int = 3, active: np.ndarray | None = None, prevention: Any = None
) -> Ledger:
    ctx = dataclasses.replace(make_ctx(months), active=active)
    ledger = bill(contract, log, prevention if prevention is not None else no_prevention(), ctx)
    assert ledger.client_payments() == ledger.billed() - ledger.credits()
    return ledger


def invoice(ledger: Ledger, client: int, months: int) -> list[int]:
    """What one client pays each month, net [cents]."""
    paid = ledger.payments_by_client_month((2, months))
    return [round(x * 100) for x in paid[client]]


# ----------------------------------------------------------------------------------------------- block hours


def block(**overrides: Any) -> BlockHours:
    return BlockHours.model_validate(
        {
            "kind": "block_hours",
            "name": "block",
            "hours_per_month": 10.0,
            "price_per_month": 1200.0,
            "rollover": {"cap_hours": 10.0},
            "overage": {**PLAIN_TM, "remote_rate": 150.0},
            "policy": POLICY,
            **overrides,
        }
    )


def test_block_hours_rollover_cap_and_overage() -> None:
    # Client 0 works 14 h, 4 h, 12 h in months 1-3 (one remote ticket a month).
    # Month 1: 10 h in the block, 14 used: 4 h over at 150 → 1200 + 600 = 1800; nothing carried.
    # Month 2: 0 + 10 = 10 h, 4 used: 1200; 6 h carried (under the 10 h cap).
    # Month 3: 6 + 10 = 16 h, 12 used: 1200; 4 h carried.
    log = make_log(
        {"month": 0, "work_hours": 14.0}, {"month": 1, "work_hours": 4.0}, {"month": 2, "work_hours": 12.0}
    )
    contract = block()
    ledger = billed(contract, log)
    assert invoice(ledger, 0, 3) == [180000, 120000, 120000]
    ctx = make_ctx()
    available, carried = contract.balances(log, ctx)
    np.testing.assert_array_equal(carried[0], [0.0, 6.0, 4.0])
    np.testing.assert_array_equal(available[0], [10.0, 10.0, 16.0])
    # The invoice shows the hours each ticket drew from the block, at no charge: 10, 4 and 12 h.
    drawn = ledger.account == Account.BLOCK_DRAWN
    assert ledger.quantity[drawn].tolist() == [10.0, 4.0, 12.0] and (ledger.cents[drawn] == 0).all()
    # Client 1 raised nothing: it pays the block each month and carries at most the cap.
    assert invoice(ledger, 1, 3) == [120000] * 3
    np.testing.assert_array_equal(carried[1], [10.0, 10.0, 10.0])


def test_block_hours_without_rollover_expire_and_overage_splits_a_job() -> None:
    # No rollover: month 1 uses 6 of 10 h, the 4 left expire. Month 2: jobs of 7 h then 5 h (created in that
    # order): the first is covered, the second has 3 h in the block and 2 h over at 150 → 1200 + 300.
    log = make_log(
        {"month": 0, "work_hours": 6.0},
        {"month": 1, "work_hours": 7.0, "created": MONTH_START[1] + 10.0},
        {"month": 1, "work_hours": 5.0, "created": MONTH_START[1] + 12.0},
    )
    ledger = billed(block(rollover=None), log)
    assert invoice(ledger, 0, 3) == [120000, 150000, 120000]
    over = (ledger.account == Account.OVERAGE) & (ledger.payer == 0)
    assert ledger.incident[over].tolist() == [2]
    assert ledger.quantity[over].tolist() == [2.0]


def test_block_hours_expiry_uses_the_oldest_hours_first() -> None:
    # Expiry 1 month, no cap. Month 1 uses nothing (10 carried), month 2 uses 5 h: from month 1's hours, so 5 of
    # them and month 2's 10 are left; month 1's last 5 expire at the end of month 2 → month 3 has 10 + 10 = 20 h,
    # uses 20 of them: no overage; month 3 carries 0.
    log = make_log({"month": 1, "work_hours": 5.0}, {"month": 2, "work_hours": 20.0})
    contract = block(rollover={"expiry_months": 1})
    ledger = billed(contract, log)
    assert invoice(ledger, 0, 3) == [120000] * 3
    _, carried = contract.balances(log, make_ctx())
    np.testing.assert_array_equal(carried[0], [10.0, 10.0, 0.0])
    # One hour more in month 3 is overage.
    log = make_log({"month": 1, "work_hours": 5.0}, {"month": 2, "work_hours": 21.0})
    assert invoice(billed(contract, log), 0, 3) == [120000, 120000, 135000]


def test_block_hours_what_draws_and_trips() -> None:
    # On-site work does not draw: billed at the overage terms (2 h on site at 150 + trip 40); the remote hour
    # draws (no charge). Travel draws only when told: a drawing on-site job of 1 h with 1.5 h of travel uses
    # 2.5 h of the block.
    terms = {**PLAIN_TM, "remote_rate": 150.0, "trip_charge": 40.0}
    log = make_log(
        {"month": 0, "work_hours": 1.0},
        {"month": 0, "work_hours": 2.0, "onsite": True, "travel_hours": 1.5},
    )
    ledger = billed(block(draws={"onsite": False}, overage=terms), log)
    assert invoice(ledger, 0, 3)[0] == 120000 + 2 * 15000 + 4000
    contract = block(draws={"travel": True}, overage=terms)
    ledger = billed(contract, log)
    assert invoice(ledger, 0, 3)[0] == 120000  # 1 + 2 + 1.5 = 4.5 h of 10, no trip charge
    _, carried = contract.balances(log, make_ctx())
    assert carried[0, 0] == pytest.approx(5.5)


# ------------------------------------------------------------------------------------------------ rate cards


def test_rate_card_one_job_of_each_work_type_bills_the_card() -> None:
    card = {
        "emergency": 300.0,
        "weekend": 250.0,
        "after_hours": 200.0,
        "project": 180.0,
        "project_categories": ["network"],
    }
    contract = TimeAndMaterials.model_validate(
        {"kind": "time_and_materials", "name": "tm", "policy": POLICY, **PLAIN_TM, "rate_card": card}
    )
    saturday = MONTH_START[0] + 5 * 24 + 10.0
    log = make_log(
        {"work_hours": 1.0},  # remote, a weekday in business hours: 100
        {"work_hours": 1.0, "onsite": True},  # on site: 150
        {"work_hours": 1.0, "priority": 1, "started": saturday, "after_hours": True},  # emergency wins: 300
        {"work_hours": 1.0, "started": saturday, "after_hours": True},  # weekend wins over after hours: 250
        {"work_hours": 1.0, "started": MONTH_START[0] + 20.0, "after_hours": True},  # Monday 20:00: 200
        {"work_hours": 1.0, "category": NETWORK},  # project: 180
    )
    ledger = billed(contract, log)
    labour = (ledger.account == Account.LABOUR) & (ledger.payer == 0)
    got = sorted(zip(ledger.incident[labour].tolist(), ledger.cents[labour].tolist(), strict=True))
    assert got == [(0, 10000), (1, 15000), (2, 30000), (3, 25000), (4, 20000), (5, 18000)]


def test_rate_card_and_multiplier_price_after_hours_once() -> None:
    with pytest.raises(ValidationError, match="priced twice"):
        TimeAndMaterials.model_validate(
            {
                "kind": "time_and_materials",
                "name": "tm",
                "policy": POLICY,
                **PLAIN_TM,
                "after_hours_multiplier": 1.5,
                "rate_card": {"after_hours": 200.0},
            }
        )
    # Without a card, the old multiplier still prices after-hours work: 1 h × 100 × 1.5.
    contract = TimeAndMaterials.model_validate(
        {
            "kind": "time_and_materials",
            "name": "tm",
            "policy": POLICY,
            **PLAIN_TM,
            "after_hours_multiplier": 1.5,
        }
    )
    ledger = billed(contract, make_log({"work_hours": 1.0, "after_hours": True}))
    assert invoice(ledger, 0, 3)[0] == 15000


# ------------------------------------------------------------------------ included quantities, floors, terms


def test_included_endpoints_with_overage_per_unit() -> None:
    # Base 1,000 a month covers 25 endpoints; 60 per endpoint beyond. A client with 30 endpoints: 1000 + 5 × 60.
    contract = managed(
        fee_per_user_month=0.0,
        fee_per_endpoint_month=60.0,
        fee_per_server_month=0.0,
        base_fee_per_month=1000.0,
        included={"endpoints": 25},
        onboarding_fee=0.0,
    )
    assert contract.fee_per_client_month(10, 30, 0) == pytest.approx(1300.0)
    assert contract.fee_per_client_month(10, 20, 0) == pytest.approx(1000.0)
    # In the ledger: client 0 (12 endpoints) pays the base, client 1 (25) too.
    ledger = billed(contract, make_log())
    assert entries(ledger, Account.FEE) == sorted(
        [(m, c, Party.PROVIDER, 100000) for m in range(3) for c in (0, 1)]
    )


def test_minimum_fee_and_volume_breakpoints() -> None:
    # 50 per user; 10% off from 15 users, 20% off from 20 users; at least 600 a month.
    # Client 0 (10 users): 500 → the minimum 600. Client 1 (20 users): 1000 × 0.8 = 800.
    contract = managed(
        fee_per_user_month=50.0,
        fee_per_endpoint_month=0.0,
        fee_per_server_month=0.0,
        minimum_monthly_fee=600.0,
        volume_discounts=[{"from_users": 15, "discount": 0.1}, {"from_users": 20, "discount": 0.2}],
        onboarding_fee=0.0,
    )
    ledger = billed(contract, make_log())
    assert invoice(ledger, 0, 3) == [60000] * 3
    assert invoice(ledger, 1, 3) == [80000] * 3
    with pytest.raises(ValidationError, match="smallest first"):
        managed(volume_discounts=[{"from_users": 20, "discount": 0.2}, {"from_users": 15, "discount": 0.1}])


def flat(**term: Any) -> Managed:
    """A flat 1,000 a month per client, no onboarding fee, no out-of-scope work."""
    return managed(
        fee_per_user_month=0.0,
        fee_per_endpoint_month=0.0,
        fee_per_server_month=0.0,
        base_fee_per_month=1000.0,
        onboarding_fee=0.0,
        term=term,
    )


def test_escalator_raises_the_fee_at_each_anniversary() -> None:
    # 3% a year: months 1-12 at 1,000.00, month 13 at 1,030.00 exactly, month 25 at 1,060.90.
    ledger = billed(flat(months=12, escalator=0.03), make_log(), months=25)
    paid = invoice(ledger, 0, 25)
    assert paid[:12] == [100000] * 12
    assert paid[12] == 103000
    assert paid[24] == 106090


def test_term_discount_and_month_to_month_premium() -> None:
    assert invoice(billed(flat(months=36, discount=0.1), make_log()), 0, 3) == [90000] * 3
    assert invoice(billed(flat(month_to_month_premium=0.15), make_log()), 0, 3) == [115000] * 3
    with pytest.raises(ValidationError, match="needs a term"):
        flat(discount=0.1)
    with pytest.raises(ValidationError, match="only without a term"):
        flat(months=12, month_to_month_premium=0.1)


def test_early_termination_fee_when_a_client_leaves_before_the_term_ends() -> None:
    # A 12-month term; client 0 is on it for months 0-4 of 12 and then leaves: 7 months of 1,000 are left in the
    # term, half of them is due in its last month (month 4): 3,500. Client 1 stays: no fee.
    months = 12
    active = np.ones((2, months), bool)
    active[0, 5:] = False
    ledger = billed(flat(months=12, early_termination_share=0.5), make_log(), months=months, active=active)
    assert entries(ledger, Account.EARLY_TERMINATION) == [(4, 0, Party.PROVIDER, 350000)]
    # Leaving at the end of a term costs nothing.
    active = np.ones((2, 24), bool)
    active[0, 12:] = False
    ledger = billed(flat(months=12, early_termination_share=0.5), make_log(), months=24, active=active)
    assert entries(ledger, Account.EARLY_TERMINATION) == []


def test_sla_termination_with_notice_and_a_waived_early_termination_fee() -> None:
    # Resolution target 2 h, terminate after 1 month below 50%: client 0's month-0 ticket takes 5 h, so the client
    # decides to leave at the end of month 0, serves 1 month of notice and is billed months 0 and 1 only; the
    # early-termination fee is waived (a termination for cause) unless the terms charge it.
    sla = {
        "clock": "clock",
        "targets": {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")},
        "termination": {"below": 0.5, "months": 1},
    }
    log = make_log({"month": 0, "work_hours": 5.0})
    term = {"months": 12, "notice_months": 1, "early_termination_share": 1.0}
    contract = flat(**term).model_copy(update={"sla": managed(sla=sla).sla})
    ctx = dataclasses.replace(make_ctx(6), terminate_from=0)
    ledger = bill(contract, log, no_prevention(), ctx)
    paid = ledger.payments_by_client_month((2, 6))
    assert [round(x * 100) for x in paid[0]] == [100000, 100000, 0, 0, 0, 0]
    charged = flat(**term, charge_on_sla_termination=True).model_copy(update={"sla": contract.sla})
    ledger = bill(charged, log, no_prevention(), ctx)
    assert entries(ledger, Account.EARLY_TERMINATION) == [(1, 0, Party.PROVIDER, 1000000)]  # 10 months left


# ------------------------------------------------------------------------------------ the monitoring hybrid


def hybrid(**overrides: Any) -> MonitoringPlusTm:
    return MonitoringPlusTm.model_validate(
        {
            "kind": "monitoring_plus_tm",
            "name": "hybrid",
            "fee_per_endpoint_month": 15.0,
            "tm": PLAIN_TM,
            "policy": {"technicians": 1, "monitoring": True},
            **overrides,
        }
    )


def test_monitoring_hybrid_fee_per_endpoint_and_tm_for_every_ticket() -> None:
    # Client 0: 12 endpoints × 15 = 180 a month, plus a 2 h remote ticket at 100 in month 0; the auto-remediated
    # incident is covered by the fee. Client 1: 25 × 15 = 375.
    log = make_log({"month": 0, "work_hours": 2.0}, {"month": 0, "handling": Handling.AUTO})
    ledger = billed(hybrid(), log)
    assert invoice(ledger, 0, 3) == [18000 + 20000, 18000, 18000]
    assert invoice(ledger, 1, 3) == [37500] * 3
    with pytest.raises(ValidationError, match=r"policy\.monitoring"):
        hybrid(policy={"technicians": 1})


# -------------------------------------------------------------------------------------------- cost sharing


def sharing(beta: float) -> CostSharing:
    return CostSharing.model_validate(
        {
            "kind": "cost_sharing",
            "name": "gain-share",
            "target_cost_per_user_month": 20.0,
            "provider_share": beta,
            "fee_per_user_month": 5.0,
            "cost_per_hour": 80.0,
            "policy": POLICY,
        }
    )


@pytest.mark.parametrize(
    ("beta", "month0"),
    [
        # Client 0, month 0: fee 10 × 5 = 50, target 10 × 20 = 200, cost 3 h × 80 + 1 h travel × 80 + parts 40 = 360.
        # β = 0 (cost-plus): 50 + 360 = 410; β = 1 (fixed price): 50 + 200 = 250; β = 0.5: 50 + 200 + 80 = 330.
        (0.0, 41000),
        (0.5, 33000),
        (1.0, 25000),
    ],
)
def test_cost_sharing_shares_the_overrun(beta: float, month0: int) -> None:
    log = make_log({"month": 0, "work_hours": 3.0, "travel_hours": 1.0, "onsite": True, "parts_cost": 40.0})
    ledger = billed(sharing(beta), log)
    paid = invoice(ledger, 0, 3)
    assert paid[0] == month0
    # Months without work: the target is a saving, of which the client gets 1 − β back: 50 + 200 − (1 − β) 200.
    assert paid[1] == round((50 + 200 - (1 - beta) * 200) * 100)


def test_cost_sharing_counts_prevention_hours() -> None:
    # 2 prevention hours for client 1 in month 2 at 80 = 160 of cost; β = 0: 20 users × 5 + 160 = 260.
    prevention = dataclasses.replace(
        no_prevention(),
        client=np.array([1]),
        month=np.array([2]),
        hours=np.array([2.0]),
        started=np.array([MONTH_START[2]]),
        resolved=np.array([MONTH_START[2] + 2]),
    )
    ledger = billed(sharing(0.0), make_log(), prevention=prevention)
    assert invoice(ledger, 1, 3) == [10000, 10000, 26000]
