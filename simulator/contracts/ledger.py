"""The ledger: every money flow as one entry, amounts in integer cents so that balances hold to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from simulator.base.records import field_names

__all__ = ["MAX_CENTS", "Account", "Ledger", "LineBlock", "Party", "Unit", "to_cents"]


class Party:
    """Non-client parties; clients are identified by their index (>= 0)."""

    PROVIDER = -1
    STAFF = -2
    VENDOR = -3
    SUPPLIER = -4
    LABELS: ClassVar[dict[int, str]] = {-1: "provider", -2: "staff", -3: "vendor", -4: "supplier"}


class Account:
    """What a ledger line is for."""

    LABOUR = 0  # hourly labour billed
    TRIP = 1
    PARTS = 2
    MENU = 3  # fixed price per job
    OVERRUN = 4  # labour beyond a fixed-price cap
    PREVENTION = 5  # prevention hours the client buys (T&M)
    FEE = 6  # managed monthly fee
    ONBOARDING = 7
    SLA_CREDIT = 8  # provider -> client
    COST_LABOUR = 9  # provider -> staff
    COST_TOOLS = 10  # provider -> vendor
    COST_PARTS = 11  # provider -> supplier
    COST_ONBOARDING = 12  # provider -> staff: technician time onboarding a client
    COST_HIRING = 13  # provider -> staff: recruiting and training
    COST_SALES = 14  # provider -> staff: sales people
    BLOCK = 15  # block of prepaid hours (retainer)
    OVERAGE = 16  # labour beyond the block's balance
    TARGET_COST = 17  # cost sharing: the target cost
    COST_SHARE = 18  # cost sharing: the client's share of the overrun (negative: of the saving)
    EARLY_TERMINATION = 19  # fee for ending a contract before its term
    BLOCK_DRAWN = 20  # a memo line without money: hours a ticket drew from the block
    MEMO = (BLOCK_DRAWN,)  # accounts whose lines carry a quantity and no money (kept at zero amounts)
    LABELS = (
        "labour",
        "trip",
        "parts",
        "menu",
        "overrun",
        "prevention",
        "fee",
        "onboarding",
        "sla_credit",
        "cost_labour",
        "cost_tools",
        "cost_parts",
        "cost_onboarding",
        "cost_hiring",
        "cost_sales",
        "block_hours",
        "overage",
        "target_cost",
        "cost_share",
        "early_termination",
        "block_drawn",
    )


class Unit:
    """What a ledger line's quantity counts; ``NONE`` where the line has no quantity (parts, credits, costs)."""

    NONE = 0
    HOUR = 1
    JOB = 2
    TRIP = 3
    MONTH = 4
    USER_MONTH = 5
    ENDPOINT_MONTH = 6
    SERVER_MONTH = 7
    EACH = 8
    LABELS = ("", "h", "job", "trip", "month", "user-month", "endpoint-month", "server-month", "each")


_Lines = tuple[np.ndarray, int | np.ndarray, int | np.ndarray, int, np.ndarray, np.ndarray | None]
_Quantity = np.ndarray | float | None
LineBlock = (
    _Lines
    | tuple[np.ndarray, int | np.ndarray, int | np.ndarray, int, np.ndarray, np.ndarray | None, _Quantity]
    | tuple[
        np.ndarray,
        int | np.ndarray,
        int | np.ndarray,
        int,
        np.ndarray,
        np.ndarray | None,
        _Quantity,
        int | np.ndarray,
    ]
)
"""One block of ledger lines: (month, payer, payee, account, amount, incident) arrays, optionally followed by the
quantity of each line (NaN or None: none) and the :class:`Unit` it counts (one for the block or one per line;
default :attr:`Unit.NONE`)."""


MAX_CENTS = 2.0**62
"""Largest amount a line may hold [cents]: half of what int64 holds, so that sums of lines stay exact too."""


def to_cents(amount: np.ndarray | float) -> np.ndarray:
    """Round money to whole cents (half away from zero), as int64.

    An amount beyond :data:`MAX_CENTS` (or not a number) would wrap around silently in int64: it raises
    ``OverflowError`` instead. Scenario validation keeps every amount far below (``MONEY_TOTAL_LIMIT``)."""
    a = np.asarray(amount, dtype=float) * 100.0
    size = np.abs(a)
    if not np.all(size < MAX_CENTS):
        worst = float(np.nanmax(size)) if not np.isnan(size).all() else float("nan")
        raise OverflowError(
            f"a money amount of {worst / 100:.3g} (or not a number) is beyond what whole cents in int64 hold; "
            "the scenario's numbers are too large"
        )
    return (np.sign(a) * np.floor(size + 0.5)).astype(np.int64)


@dataclass
class Ledger:
    """Money flows: one entry per line of an invoice, credit or cost."""

    month: np.ndarray
    payer: np.ndarray
    payee: np.ndarray
    account: np.ndarray
    cents: np.ndarray
    incident: np.ndarray  # -1 when the line is not about one incident
    quantity: np.ndarray  # float64: what the amount is for (2.25 h, 1 trip, 25 user-months); NaN when none
    unit: np.ndarray  # int8 :class:`Unit` code of the quantity

    @staticmethod
    def build(parts: list[LineBlock]) -> Ledger:
        """Collect blocks of lines (see :data:`LineBlock`): (month, payer, payee, account, amount, incident), with
        an optional quantity and unit; zero amounts are dropped but for
        memo lines (:attr:`Account.MEMO`), which carry a quantity and no money."""
        if not parts:
            empty = {"quantity": np.float64, "unit": np.int8, "account": np.int8}
            return Ledger(**{k: np.zeros(0, dtype=empty.get(k, np.int64)) for k in field_names(Ledger)})
        # Every block's amounts rounded at once, then each column built whole and filtered once: a ledger is built
        # from a dozen small blocks per replication, whose per-block set-up would cost more than the work.
        amounts = [np.asarray(block[4], dtype=float).ravel() for block in parts]
        sizes = [len(a) for a in amounts]
        cents = to_cents(np.concatenate(amounts))
        keep = (cents != 0) | np.repeat(np.array([block[3] in Account.MEMO for block in parts]), sizes)

        def column(values: list[Any], dtype: type[np.generic]) -> np.ndarray:
            # One value per block, or one per line.
            one = [not isinstance(v, np.ndarray | list | tuple) or np.ndim(v) == 0 for v in values]
            if all(one):
                whole = np.repeat(np.array(values, dtype=dtype), sizes)
            else:
                whole = np.concatenate(
                    [
                        np.full(n, v, dtype=dtype) if single else np.asarray(v, dtype=dtype).ravel()
                        for v, n, single in zip(values, sizes, one, strict=True)
                    ]
                )
            return whole[keep]

        return Ledger(
            month=column([block[0] for block in parts], np.int64),
            payer=column([block[1] for block in parts], np.int64),
            payee=column([block[2] for block in parts], np.int64),
            account=column([block[3] for block in parts], np.int8),
            cents=cents[keep],
            incident=column([-1 if block[5] is None else block[5] for block in parts], np.int64),
            quantity=column(
                [np.nan if len(block) <= 6 or block[6] is None else block[6] for block in parts], np.float64
            ),
            unit=column([block[7] if len(block) > 7 else Unit.NONE for block in parts], np.int8),
        )

    def __len__(self) -> int:
        return len(self.cents)

    def concat(self, other: Ledger) -> Ledger:
        """Entries of both ledgers."""
        return Ledger.join([self, other])

    @staticmethod
    def join(ledgers: list[Ledger]) -> Ledger:
        """The entries of every ledger, in order."""
        return Ledger(
            **{name: np.concatenate([getattr(x, name) for x in ledgers]) for name in field_names(Ledger)}
        )

    def client_payments(self) -> int:
        """What clients paid the provider, net of credits the provider paid them [cents]."""
        to_provider = (self.payer >= 0) & (self.payee == Party.PROVIDER)
        to_client = (self.payer == Party.PROVIDER) & (self.payee >= 0)
        return int(self.cents[to_provider].sum() - self.cents[to_client].sum())

    def billed(self) -> int:
        """What the provider invoiced clients, before credits [cents]."""
        return int(self.cents[(self.payer >= 0) & (self.payee == Party.PROVIDER)].sum())

    def credits(self) -> int:
        """Credits the provider paid clients [cents]."""
        return int(self.cents[(self.payer == Party.PROVIDER) & (self.payee >= 0)].sum())

    def payments_by_client_month(self, shape: tuple[int, int]) -> np.ndarray:
        """What each client paid the provider each month, net of the credits it got, shape (clients, months)
        [currency]."""
        paid = (self.payer >= 0) & (self.payee == Party.PROVIDER)
        credit = (self.payer == Party.PROVIDER) & (self.payee >= 0)
        out = np.zeros(shape)
        np.add.at(out, (self.payer[paid], self.month[paid]), self.cents[paid] / 100.0)
        np.add.at(out, (self.payee[credit], self.month[credit]), -self.cents[credit] / 100.0)
        return out

    def to_frame(self) -> pd.DataFrame:
        """The ledger as a DataFrame with readable party and account names; amounts in currency units."""

        def party(x: np.ndarray) -> list[str]:
            return [Party.LABELS.get(int(v), f"client_{int(v)}") for v in x]

        return pd.DataFrame(
            {
                "month": self.month,
                "payer": party(self.payer),
                "payee": party(self.payee),
                "account": [Account.LABELS[int(a)] for a in self.account],
                "amount": self.cents / 100.0,
                "incident": self.incident,
                "quantity": self.quantity,
                "unit": np.asarray(Unit.LABELS, dtype=object)[self.unit],
            }
        )
