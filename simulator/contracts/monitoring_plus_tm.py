"""The monitoring-only hybrid: a fee per endpoint-month pays for monitoring, patching and antivirus (the
provider's tools), and every ticket is billed at T&M terms (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from simulator.base.limits import MONEY, Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog

from .base import ContractKind, Exposure, Policy, Size, Term, TmTerms, Words
from .ledger import Account, Ledger, Party, Unit
from .lines import LineBlock, describe_policy, describe_tm, tm_expected_charge, tm_lines, tm_money_terms
from .terms import TermPricing, early_termination_lines, fee_schedule

__all__ = ["MonitoringPlusTm"]


class MonitoringPlusTm(ContractKind):
    """A monitoring fee per endpoint-month with monitoring on, and T&M labour for every ticket."""

    behaviour: ClassVar[Literal["break_fix", "managed"]] = "break_fix"

    kind: Literal["monitoring_plus_tm"]
    name: Label
    """Its id: in files (CSV rows, the ticket log) and ``--set`` paths."""
    label: Label | None = None
    """How tables, charts and sentences name it (e.g. ``Managed services``); null: its name."""
    fee_per_endpoint_month: float = Field(ge=0, le=MONEY)
    """Monitoring, patching and antivirus fee per endpoint [currency/endpoint-month]."""
    fee_per_server_month: float = Field(0.0, ge=0, le=MONEY)
    """Monitoring fee per server [currency/server-month]."""
    tm: TmTerms
    """T&M terms of every ticket."""
    term: TermPricing = TermPricing()
    """Term length, discount or month-to-month premium, escalator, notice, early-termination fee."""
    policy: Policy
    """The provider's levers under this contract; monitoring must be on (the fee pays for it)."""

    @model_validator(mode="after")
    def _monitored(self) -> MonitoringPlusTm:
        if not self.policy.monitoring:
            raise ValueError(
                "a monitoring_plus_tm contract sells monitoring: set policy.monitoring to true (or use a "
                "time_and_materials contract)"
            )
        return self

    def notice_months(self) -> int:
        """The term's notice period [months]."""
        return self.term.notice_months

    def fixed_levers(self) -> frozenset[str]:
        """Monitoring: the fee sells it."""
        return frozenset({"monitoring"})

    def categories_named(self) -> list[str]:
        """The rate card's project categories."""
        return self.tm.card_categories()

    def base_fee(self, ctx: BillingContext) -> np.ndarray:
        """Each client's monitoring fee before the term's adjustments [currency/month]."""
        return np.asarray(
            ctx.endpoints * self.fee_per_endpoint_month + ctx.servers * self.fee_per_server_month, dtype=float
        )

    def monthly_fee(self, ctx: BillingContext) -> np.ndarray:
        """Each client's monitoring fee in its first contract year [currency/month]."""
        return self.base_fee(ctx) * self.term.factor

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """Every ticket at its T&M terms (the fee is flat) [currency]."""
        return tm_expected_charge(self.tm, category, effort_hours_mean, onsite_share)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """The monitoring fee while a client is on the contract, T&M for every ticket, the early-termination
        fee. Auto-remediated incidents and the patching (prevention) hours are covered by the fee."""
        base = self.base_fee(ctx)
        n = len(base)
        lines: list[LineBlock] = tm_lines(self.tm, log, log.handling == Handling.TICKET, ctx)
        schedule = fee_schedule(self.term, base, ctx)
        plain = not self.fee_per_server_month and self.term.factor == 1 and not self.term.escalator
        quantity = np.repeat(np.asarray(ctx.endpoints, dtype=float), ctx.months) if plain else 1.0
        lines.append(
            (
                np.tile(np.arange(ctx.months), n),
                np.repeat(np.arange(n), ctx.months),
                Party.PROVIDER,
                Account.FEE,
                schedule.ravel(),
                None,
                quantity,
                Unit.ENDPOINT_MONTH if plain else Unit.MONTH,
            )
        )
        lines += early_termination_lines(self.term, base, ctx)
        return Ledger.build(lines)

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The monitoring fees and every job billed at T&M terms."""
        x = exposure
        bound = self.term.bound(x.months)
        return [
            (
                x.endpoints * self.fee_per_endpoint_month * x.months * bound,
                f"{where}.fee_per_endpoint_month",
                f"the monitoring fees ({x.endpoints} endpoints)",
            ),
            (
                x.servers * self.fee_per_server_month * x.months * bound,
                f"{where}.fee_per_server_month",
                f"the monitoring fees ({x.servers} servers)",
            ),
            *tm_money_terms(self.tm, f"{where}.tm", x),
        ]

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """The monitoring fee, the T&M terms and how the provider staffs it."""
        money = words.money
        fee = f"{money(self.fee_per_endpoint_month)} per endpoint-month"
        if self.fee_per_server_month:
            fee += f" and {money(self.fee_per_server_month)} per server-month"
        monthly = (
            sum(
                count * (s.endpoints * self.fee_per_endpoint_month + s.servers * self.fee_per_server_month)
                for count, s in sizes
            )
            * self.term.factor
        )
        text = (
            f"Monitoring, patching and antivirus for {fee} ({money(monthly)} a month for these clients), every "
            f"ticket at time and materials: {describe_tm(self.tm, words)}"
        )
        if self.term.describe(words):
            text += f"; {self.term.describe(words)}"
        return f"{text}. {describe_policy(self.policy)}"
