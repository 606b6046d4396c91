"""Invoices: one line per billed item, reconciled to the ledger to the cent.

Hand-built logs (the builders and terms of ``test_billing``: T&M at 100/h remote, 150/h on site, 0.25 h steps,
minimums 0.5 h remote and 1 h on site, 50 a trip, parts +20%, after hours ×1.5) give invoices whose every line is
worked out in a comment; a hypothesis property over random small logs (the strategies of ``test_ledger``) checks
that any bill's invoices add up to what the clients paid, client by client and month by month; the command line
writes the first replication's invoices, which add up to its revenue whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import msp_sim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_billing import (
    HARDWARE,
    NETWORK,
    PASSWORD,
    SOFTWARE,
    fp,
    make_ctx,
    make_log,
    managed,
    no_prevention,
    sla,
    sla_ticket,
    tm,
)
from test_ledger import cases

from simulator import load_scenario
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog
from simulator.contracts.billing import bill
from simulator.contracts.invoices import INVOICE_COLUMNS, invoice_lines, invoice_totals, item_name
from simulator.contracts.ledger import Account, Ledger, Party, Unit
from simulator.engine.incidents import client_table, generate_incidents
from simulator.engine.replication import simulate_contract
from simulator.metrics import billing_context, measure
from simulator.outputs.folders import read_invoices
from simulator.outputs.report import render_report

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small-office.yaml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
NAN = float("nan")


def invoice(contract: Any, log: TicketLog, ctx: BillingContext | None = None) -> pd.DataFrame:
    ctx = ctx if ctx is not None else make_ctx()
    return invoice_lines(bill(contract, log, no_prevention(), ctx), log, ctx, contract.name)


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """(client, month, line, item, incident, category, quantity, unit, unit_price, amount) of each line; a missing
    quantity or unit price reads as None, so that rows compare with ==."""

    def number(x: float) -> float | None:
        return None if math.isnan(x) else float(x)

    return [
        (
            int(r["client"]),
            int(r["month"]),
            int(r["line"]),
            r["item"],
            int(r["incident"]),
            r["category"],
            number(r["quantity"]),
            r["unit"],
            number(r["unit_price"]),
            float(r["amount"]),
        )
        for r in frame.to_dict("records")
    ]


def paid_cents(frame: pd.DataFrame) -> int:
    return int(np.round(frame["amount"].to_numpy(dtype=float) * 100).sum())


# ------------------------------------------------------------------------------------------------ ledger


def test_ledger_blocks_carry_quantities_and_units() -> None:
    ledger = Ledger.build(
        [
            # Six elements, as before: no quantity.
            (np.array([0]), 0, Party.PROVIDER, Account.PARTS, np.array([12.0]), np.array([1])),
            # Seven: a quantity without a unit; an eight: one unit for the block; zero amounts dropped with theirs.
            (np.array([0]), 0, Party.PROVIDER, Account.LABOUR, np.array([30.0]), np.array([1]), np.array([0.25])),
            (np.array([0, 1]), 0, Party.PROVIDER, Account.TRIP, np.array([50.0, 0.0]), np.array([1, 2]), 1.0,
             Unit.TRIP),
            # One unit per line.
            (np.array([0, 0]), np.array([0, 1]), Party.PROVIDER, Account.FEE, np.array([500.0, 1200.0]), None,
             np.array([10.0, 1.0]), np.array([Unit.USER_MONTH, Unit.MONTH])),
        ]
    )  # fmt: skip
    assert ledger.cents.tolist() == [1200, 3000, 5000, 50000, 120000]
    np.testing.assert_array_equal(ledger.quantity, [NAN, 0.25, 1.0, 10.0, 1.0])
    assert ledger.unit.tolist() == [Unit.NONE, Unit.NONE, Unit.TRIP, Unit.USER_MONTH, Unit.MONTH]
    assert ledger.quantity.dtype == np.float64 and ledger.unit.dtype == np.int8
    both = ledger.concat(Ledger.build([]))
    np.testing.assert_array_equal(both.quantity, ledger.quantity)
    assert both.unit.dtype == np.int8
    frame = ledger.to_frame()
    assert frame["unit"].tolist() == ["", "", "trip", "user-month", "month"]
    np.testing.assert_array_equal(frame["quantity"], ledger.quantity)


def test_contract_kinds_post_quantities() -> None:
    log = make_log(
        {"work_hours": 2.1, "onsite": True, "category": HARDWARE},  # 2.25 h on site, one trip
        {"work_hours": 0.2},  # the 0.5 h remote minimum
    )
    ledger = bill(tm(), log, no_prevention(), make_ctx())
    labour = ledger.account == Account.LABOUR
    assert ledger.quantity[labour].tolist() == [2.25, 0.5]
    assert (ledger.unit[labour] == Unit.HOUR).all()
    trips = ledger.account == Account.TRIP
    assert ledger.quantity[trips].tolist() == [1.0]
    assert (ledger.unit[trips] == Unit.TRIP).all()


# ---------------------------------------------------------------------------------------------- by hand

LOG = (
    # Client 1, month 0: 2.1 h on site → 2.25 h; hardware; parts 10.00.
    {"incident": 3, "client": 1, "month": 0, "work_hours": 2.1, "onsite": True, "parts_cost": 10.0,
     "category": HARDWARE},
    # Client 0, month 1: 0.2 h remote after hours → the 0.5 h minimum at 100 × 1.5; network.
    {"incident": 5, "client": 0, "month": 1, "work_hours": 0.2, "after_hours": True, "category": NETWORK},
    # Client 0, month 1: 3.0 h remote; password.
    {"incident": 7, "client": 0, "month": 1, "work_hours": 3.0, "category": PASSWORD},
    # Worked around by the client: never billed.
    {"incident": 9, "client": 0, "month": 1, "handling": Handling.SELF, "work_hours": 5.0},
)  # fmt: skip


def test_tm_invoice_lines() -> None:
    frame = invoice(tm(), make_log(*LOG))
    assert list(frame.columns) == list(INVOICE_COLUMNS)
    assert (frame["contract"] == "tm").all()
    assert rows(frame) == [
        # Client 0, month 1: 0.5 h × 150.00 = 75.00;  3 h × 100.00 = 300.00.
        (0, 1, 1, "Remote labour", 5, "network", 0.5, "h", 150.0, 75.0),
        (0, 1, 2, "Remote labour", 7, "password", 3.0, "h", 100.0, 300.0),
        # Client 1, month 0: 2.25 h × 150.00 = 337.50;  one trip 50.00;  parts 10 × 1.2 = 12.00 (no quantity).
        (1, 0, 1, "On-site labour", 3, "hardware", 2.25, "h", 150.0, 337.5),
        (1, 0, 2, "Trip charge", 3, "hardware", 1.0, "trip", 50.0, 50.0),
        (1, 0, 3, "Parts", 3, "hardware", None, "", None, 12.0),
    ]
    assert invoice_totals(frame).to_dict("records") == [
        {"contract": "tm", "client": 0, "month": 1, "total": 375.0},
        {"contract": "tm", "client": 1, "month": 0, "total": 399.5},
    ]


def test_tm_prevention_hours_are_a_line_without_a_ticket() -> None:
    prevention = PreventionLog(
        client=np.array([0]), month=np.array([1]), hours=np.array([1.1]), started=np.array([900.0]),
        resolved=np.array([901.1]),
    )  # fmt: skip
    log = make_log(LOG[2])
    ctx = make_ctx()
    frame = invoice_lines(bill(tm(bill_prevention=True), log, prevention, ctx), log, ctx, "tm")
    # Prevention comes first, not being about a ticket: 1.1 h → 1.25 h × 100 = 125.00.
    assert rows(frame) == [
        (0, 1, 1, "Preventive maintenance", -1, "", 1.25, "h", 100.0, 125.0),
        (0, 1, 2, "Remote labour", 7, "password", 3.0, "h", 100.0, 300.0),
    ]


def test_fixed_price_invoice_lines() -> None:
    # Menu: password 40, hardware 120; trips 30; 1 h covered, hours beyond billed at the fallback T&M rates.
    frame = invoice(fp(labour_cap_hours=1.0, overrun="billed"), make_log(*LOG))
    assert rows(frame) == [
        # Network is not on the menu: T&M, 0.5 h × 150.00 = 75.00.
        (0, 1, 1, "Remote labour", 5, "network", 0.5, "h", 150.0, 75.0),
        # Password at 40.00, then 3.0 − 1.0 = 2 h beyond the cap × 100.00 = 200.00.
        (0, 1, 2, "Fixed price: password", 7, "password", 1.0, "job", 40.0, 40.0),
        (0, 1, 3, "Labour beyond the fixed price", 7, "password", 2.0, "h", 100.0, 200.0),
        # Hardware at 120.00, 2.1 − 1.0 = 1.1 → 1.25 h × 150.00 = 187.50, the trip 30.00, parts 12.00.
        (1, 0, 1, "Fixed price: hardware", 3, "hardware", 1.0, "job", 120.0, 120.0),
        (1, 0, 2, "Labour beyond the fixed price", 3, "hardware", 1.25, "h", 150.0, 187.5),
        (1, 0, 3, "Trip charge", 3, "hardware", 1.0, "trip", 30.0, 30.0),
        (1, 0, 4, "Parts", 3, "hardware", None, "", None, 12.0),
    ]


def test_managed_invoice_lines_fees_first_credits_last() -> None:
    targets = {p: {"response_hours": 1.0, "resolution_hours": 2.0} for p in ("P1", "P2", "P3", "P4")}
    contract = managed(
        fee_per_endpoint_month=0.0,
        fee_per_server_month=0.0,
        sla=sla({"kind": "per_breach", "amount": 25.0}, targets=targets),
    )
    log = make_log(
        # Client 0, month 1: in scope, breached: a credit of 25.00.
        sla_ticket(month=1, response=3.0, resolution=4.0),
        # Out of scope (network): 0.6 → 0.75 h × 100.00 = 75.00, parts 10 × 1.2 = 12.00; no credit.
        {"client": 0, "month": 1, "category": NETWORK, "work_hours": 0.6, "parts_cost": 10.0},
        # In scope, labour included; parts 100 × 1.2 = 120.00.
        {"client": 1, "month": 0, "category": HARDWARE, "onsite": True, "parts_cost": 100.0},
    )
    frame = invoice(contract, log)
    # Fees: 10 users × 50.00 = 500.00 and 20 × 50.00 = 1000.00 a month; onboarding 500.00 in month 0.
    assert rows(frame) == [
        (0, 0, 1, "Monthly fee", -1, "", 10.0, "user-month", 50.0, 500.0),
        (0, 0, 2, "Onboarding", -1, "", 1.0, "each", 500.0, 500.0),
        (0, 1, 1, "Monthly fee", -1, "", 10.0, "user-month", 50.0, 500.0),
        (0, 1, 2, "Remote labour", 1, "network", 0.75, "h", 100.0, 75.0),
        (0, 1, 3, "Parts", 1, "network", None, "", None, 12.0),
        (0, 1, 4, "SLA credit", -1, "", None, "", None, -25.0),
        (0, 2, 1, "Monthly fee", -1, "", 10.0, "user-month", 50.0, 500.0),
        (1, 0, 1, "Monthly fee", -1, "", 20.0, "user-month", 50.0, 1000.0),
        (1, 0, 2, "Onboarding", -1, "", 1.0, "each", 500.0, 500.0),
        (1, 0, 3, "Parts", 2, "hardware", None, "", None, 120.0),
        (1, 1, 1, "Monthly fee", -1, "", 20.0, "user-month", 50.0, 1000.0),
        (1, 2, 1, "Monthly fee", -1, "", 20.0, "user-month", 50.0, 1000.0),
    ]
    totals = invoice_totals(frame)
    assert totals["total"].tolist() == [1000.0, 562.0, 500.0, 1620.0, 1000.0, 1000.0]


def test_managed_fee_counts_the_one_unit_priced() -> None:
    # 50.00 per user and 100.00 per server. Client 0 has no server: 10 user-months × 50.00 = 500.00. Client 1 has
    # two: one month at 20 × 50 + 2 × 100 = 1,200.00.
    ctx = dataclasses.replace(make_ctx(months=1), servers=np.array([0, 2]))
    frame = invoice(managed(fee_per_endpoint_month=0.0, onboarding_fee=0.0), make_log(), ctx)
    assert rows(frame) == [
        (0, 0, 1, "Monthly fee", -1, "", 10.0, "user-month", 50.0, 500.0),
        (1, 0, 1, "Monthly fee", -1, "", 1.0, "month", 1200.0, 1200.0),
    ]
    # All three fees for every client: one month each (720.00 and 1,450.00).
    frame = invoice(managed(onboarding_fee=0.0), make_log(), make_ctx(months=1))
    assert frame[["quantity", "unit", "unit_price"]].to_dict("records") == [
        {"quantity": 1.0, "unit": "month", "unit_price": 720.0},
        {"quantity": 1.0, "unit": "month", "unit_price": 1450.0},
    ]


def test_unit_price_is_rounded_to_the_cent() -> None:
    # 12.345 per user × 10 users = 123.45 billed; the price per user-month shows as 12.35 (12.345 rounded).
    frame = invoice(
        managed(
            fee_per_user_month=12.345,
            fee_per_endpoint_month=0.0,
            fee_per_server_month=0.0,
            onboarding_fee=0.0,
        ),
        make_log(),
        make_ctx(months=1),
    )
    assert frame["amount"].tolist() == [123.45, 246.9]
    assert frame["unit_price"].tolist() == [12.35, 12.35]


def test_costs_are_not_invoice_lines_and_any_account_reads_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Account, "LABELS", (*Account.LABELS, "block_overage"))
    new = len(Account.LABELS) - 1
    log = make_log({"incident": 4, "category": SOFTWARE})
    ledger = Ledger.build(
        [
            (
                np.array([0]),
                0,
                Party.PROVIDER,
                new,
                np.array([80.0]),
                np.array([4]),
                np.array([2.0]),
                Unit.HOUR,
            ),
            (np.array([0]), Party.PROVIDER, Party.STAFF, Account.COST_LABOUR, np.array([40.0]), None),
            (
                np.array([0]),
                Party.PROVIDER,
                Party.SUPPLIER,
                Account.COST_PARTS,
                np.array([5.0]),
                np.array([4]),
            ),
        ]
    )
    frame = invoice_lines(ledger, log, make_ctx(), "x")
    assert rows(frame) == [(0, 0, 1, "Block overage", 4, "software", 2.0, "h", 40.0, 80.0)]
    assert item_name("sla_credit") == "SLA credit"
    assert item_name("gain_share_adjustment") == "Gain share adjustment"


def test_empty_bill_gives_an_empty_invoice() -> None:
    frame = invoice(tm(), make_log())
    assert list(frame.columns) == list(INVOICE_COLUMNS)
    assert len(frame) == 0
    assert len(invoice_totals(frame)) == 0


# ----------------------------------------------------------------------------------------- reconciliation


def _reconciles(ledger: Ledger, frame: pd.DataFrame, ctx: BillingContext) -> None:
    """The invoices hold every client-facing line, add up to what the clients paid to the cent, in all and per
    client and month, and number their lines 1, 2, … within each invoice."""
    facing = ((ledger.payer >= 0) & (ledger.payee == Party.PROVIDER)) | (
        (ledger.payer == Party.PROVIDER) & (ledger.payee >= 0)
    )
    assert len(frame) == int(facing.sum())
    assert paid_cents(frame) == ledger.client_payments()
    shape = (len(ctx.users), ctx.months)
    expected = np.round(ledger.payments_by_client_month(shape) * 100).astype(np.int64)
    got = np.zeros(shape, dtype=np.int64)
    totals = invoice_totals(frame)
    np.add.at(
        got,
        (totals["client"].to_numpy(dtype=int), totals["month"].to_numpy(dtype=int)),
        np.round(totals["total"].to_numpy(dtype=float) * 100).astype(np.int64),
    )
    np.testing.assert_array_equal(got, expected)
    for _, one in frame.groupby(["client", "month"]):
        assert one["line"].tolist() == list(range(1, len(one) + 1))


@pytest.mark.parametrize("kind", ["time_and_materials", "fixed_price", "managed"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_invoices_add_up_to_the_ledger(kind: str, data: st.DataObject) -> None:
    contract, log, prevention, ctx = data.draw(cases(kind))
    ledger = bill(contract, log, prevention, ctx)
    frame = invoice_lines(ledger, log, ctx, contract.name)
    _reconciles(ledger, frame, ctx)
    # Sorted by client and month; within an invoice the lines not about a ticket, then the tickets' lines by
    # incident, then the credits (negative amounts, none other).
    keys = list(zip(frame["client"], frame["month"], strict=True))
    assert keys == sorted(keys)
    credit = frame["item"] == "SLA credit"
    assert (frame.loc[credit, "amount"] < 0).all() and (frame.loc[~credit, "amount"] > 0).all()
    for _, one in frame.groupby(["client", "month"]):
        group = np.where(one["item"] == "SLA credit", 2, np.where(one["incident"] >= 0, 1, 0))
        assert (np.diff(group) >= 0).all()
        tickets = one["incident"].to_numpy()[group == 1]
        assert (np.diff(tickets) >= 0).all()
    # A ticket's line names its category; the unit price times the quantity is the amount, to half a cent a unit.
    names = dict(
        zip(log.incident.tolist(), np.asarray(ctx.category_names)[log.category].tolist(), strict=True)
    )
    about = frame["incident"] >= 0
    assert frame.loc[about, "category"].tolist() == [names[i] for i in frame.loc[about, "incident"]]
    assert (frame.loc[~about, "category"] == "").all()
    priced = frame["quantity"] > 0
    gap = (frame["unit_price"] - frame["amount"] / frame["quantity"])[priced].abs()
    assert (gap <= 0.005 + 1e-9).all()
    assert (frame.loc[~frame["quantity"].notna(), "unit"] == "").all()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_contract_invoices_its_simulated_bill(path: Path) -> None:
    """Every contract of every shipped scenario, on a short simulated replication: invoices add up to what the
    clients paid, per client and month, costs left out."""
    scenario = load_scenario(path, {"horizon_months": 3, "warmup_months": 0})
    clients = client_table(scenario)
    ctx = billing_context(scenario, clients)
    incidents = generate_incidents(scenario, clients, 0, scenario.seed)
    for contract in scenario.contracts:
        run = simulate_contract(scenario, contract, incidents, clients, scenario.seed, 0)
        row, _, ledger = measure(scenario, contract, run, ctx)
        frame = invoice_lines(ledger, run.tickets, ctx, contract.name)
        _reconciles(ledger, frame, ctx)
        assert paid_cents(frame) == round(row["provider_revenue"] * 100)


# ------------------------------------------------------------------------------------------ command line


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The small office run with one worker process and with two."""
    root = tmp_path_factory.mktemp("invoices")
    out = {}
    for workers in (1, 2):
        folder = root / f"workers-{workers}"
        done = msp_sim(
            "run", SMALL, "-r", "3", "--set", "horizon_months=6", "--no-verdict", "--workers", str(workers),
            "--out", folder,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert "invoices.csv" in done.stdout
        out[workers] = folder
    return out


def test_run_writes_the_first_replications_invoices(runs: dict[int, Path]) -> None:
    folder = runs[1]
    frame = read_invoices(folder)
    assert frame is not None
    assert list(frame.columns) == list(INVOICE_COLUMNS)
    scenario = load_scenario(folder / "scenario.resolved.yaml")
    # The measured months only (small-office warms up for a month), every contract in scenario order.
    assert frame["month"].min() == scenario.warmup_months
    assert list(dict.fromkeys(frame["contract"])) == [c.name for c in scenario.contracts]
    # Each contract's invoices add up to the first replication's revenue (net of credits) to the cent.
    reps = pd.read_csv(folder / "replications.csv")
    first = reps[reps["replication"] == 0].set_index("contract")["provider_revenue"]
    for contract, lines in frame.groupby("contract", sort=False):
        assert paid_cents(lines) == round(float(first[contract]) * 100), contract
    totals = invoice_totals(frame)
    assert paid_cents(totals.rename(columns={"total": "amount"})) == paid_cents(frame)


def test_invoices_do_not_depend_on_the_workers(runs: dict[int, Path]) -> None:
    one, two = ((runs[w] / "invoices.csv").read_bytes() for w in (1, 2))
    assert one == two


def test_report_shows_a_sample_invoice_per_contract(runs: dict[int, Path], tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(runs[1], folder)
    frame = read_invoices(folder)
    assert frame is not None
    # A line whose words hold markup is shown as text.
    frame.loc[0, "item"] = "<script>alert(1)</script>"
    frame.to_csv(folder / "invoices.csv", index=False)
    html = render_report(folder)
    assert "Sample invoices" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    scenario = load_scenario(folder / "scenario.resolved.yaml")
    for i, contract in enumerate(scenario.contracts, start=1):
        # The first client's invoice of the first measured month (the first with one, if it has none).
        own = frame[frame["contract"] == contract.name]
        month = (
            scenario.warmup_months if (own["month"] == scenario.warmup_months).any() else own["month"].min()
        )
        client = int(own.loc[own["month"] == month, "client"].min())
        lines = own[(own["month"] == month) & (own["client"] == client)]
        table = html[html.index(f'id="s0-invoice-{i}"') :]
        table = table[: table.index("</table>")]
        assert f'data-contract="{contract.name}" data-client="{client}" data-month="{month}"' in table
        assert table.count("<tr>") == 1 + len(lines)  # the heading and the lines; the total row has its class
        total = paid_cents(lines) / 100
        assert f"${total:,.2f}" in table.split('class="total"')[1]
