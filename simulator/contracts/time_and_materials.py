"""Break/fix time and materials: bill the hours and parts when something breaks (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from simulator.base.limits import Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog

from .base import ContractKind, Exposure, Policy, Size, Term, TmTerms, Words
from .ledger import Account, Ledger, Party, Unit
from .lines import (
    LineBlock,
    billable_hours,
    describe_policy,
    describe_tm,
    tm_expected_charge,
    tm_lines,
    tm_money_terms,
)

__all__ = ["TimeAndMaterials"]


class TimeAndMaterials(TmTerms, ContractKind):
    """Break/fix time and materials: bill the hours and parts when something breaks."""

    behaviour: ClassVar[Literal["break_fix", "managed"]] = "break_fix"

    kind: Literal["time_and_materials"]
    name: Label
    """Its id: in files (CSV rows, the ticket log) and ``--set`` paths."""
    label: Label | None = None
    """How tables, charts and sentences name it (e.g. ``Managed services``); null: its name."""
    bill_prevention: bool = False
    """Whether the client also buys the provider's prevention hours, at the remote rate."""
    policy: Policy
    """The provider's levers under this contract."""

    def categories_named(self) -> list[str]:
        """The rate card's project categories."""
        return self.card_categories()

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """The billable hours at its rates and the trip charge for the expected share of visits [currency]."""
        return tm_expected_charge(self, category, effort_hours_mean, onsite_share)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """Labour, trips and parts of every ticket, and the prevention hours if the client buys them."""
        lines: list[LineBlock] = tm_lines(self, log, log.handling == Handling.TICKET, ctx)
        if self.bill_prevention and len(prevention.hours):
            hours = billable_hours(prevention.hours, self.billing_increment_hours, 0.0)
            amount = hours * self.remote_rate
            lines.append(
                (
                    prevention.month,
                    prevention.client,
                    Party.PROVIDER,
                    Account.PREVENTION,
                    amount,
                    None,
                    hours,
                    Unit.HOUR,
                )
            )
        return Ledger.build(lines)

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """Every job billed at T&M terms (and the prevention hours, if billed)."""
        terms = tm_money_terms(self, where, exposure)
        if self.bill_prevention:
            terms.append(
                (
                    exposure.prevention_hours * self.remote_rate,
                    f"{where}.remote_rate",
                    "the prevention hours billed",
                )
            )
        return terms

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """The rates and how the provider staffs it."""
        return f"Time and materials: {describe_tm(self, words)}. {describe_policy(self.policy, words)}"
