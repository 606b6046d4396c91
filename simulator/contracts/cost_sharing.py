"""Gain-share (cost sharing): the linear incentive contract. The client pays a fixed fee, the target cost and a
share 1 − β of the difference between the cost of the work and the target, so the provider bears β of an overrun
and keeps β of a saving: β = 0 is cost-plus, β = 1 a fixed price (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from simulator.base.limits import MONEY, Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog, by_client_month

from .base import ContractKind, Exposure, Policy, Size, Term, Words
from .ledger import Account, Ledger, Party, Unit
from .lines import LineBlock, describe_policy
from .terms import TermPricing, early_termination_lines, fee_schedule

__all__ = ["CostSharing"]


class CostSharing(ContractKind):
    """A target cost per month shared between client and provider by the share β, plus a fixed fee."""

    behaviour: ClassVar[Literal["break_fix", "managed"]] = "managed"

    kind: Literal["cost_sharing"]
    name: Label
    """Its id: in files (CSV rows, the ticket log) and ``--set`` paths."""
    label: Label | None = None
    """How tables, charts and sentences name it (e.g. ``Managed services``); null: its name."""
    target_cost_per_user_month: float = Field(ge=0, le=MONEY)
    """Target cost of the work per user [currency/user-month]."""
    provider_share: float = Field(ge=0, le=1)
    """β: the provider's share of an overrun of the target, and of a saving [share]; 0 is cost-plus, 1 a fixed
    price."""
    fee_per_user_month: float = Field(0.0, ge=0, le=MONEY)
    """Fixed fee per user on top of the cost (the provider's margin) [currency/user-month]."""
    cost_per_hour: float = Field(ge=0, le=MONEY)
    """Agreed cost of an hour of work, open book [currency/hour]."""
    counts_travel: bool = True
    """Travel hours count as work."""
    counts_prevention: bool = True
    """Prevention hours count as work."""
    term: TermPricing = TermPricing()
    """Term length, discount or month-to-month premium, escalator (on the fee and the target), notice,
    early-termination fee (on the fee and the target)."""
    policy: Policy
    """The provider's levers under this contract."""

    def notice_months(self) -> int:
        """The term's notice period [months]."""
        return self.term.notice_months

    def user_fee(self) -> float:
        """Its fixed fee per user-month [currency/user-month]."""
        return self.fee_per_user_month

    def monthly_fee(self, ctx: BillingContext) -> np.ndarray:
        """Each client's fixed fee and target cost in its first contract year [currency/month]."""
        return self._base(ctx) * self.term.factor

    def _base(self, ctx: BillingContext) -> np.ndarray:
        return np.asarray(
            ctx.users * (self.fee_per_user_month + self.target_cost_per_user_month), dtype=float
        )

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """The client's share 1 − β of the cost of the hands-on hours at the agreed rate (travel and parts left
        out): what one more job adds to its bill [currency]."""
        return (1.0 - self.provider_share) * self.cost_per_hour * effort_hours_mean

    def work_cost(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> np.ndarray:
        """The cost of the work per client and month at the agreed rate, parts at cost, shape (clients, months)
        [currency]."""
        shape = (len(ctx.users), ctx.months)
        t = log.handling == Handling.TICKET
        hours = log.work_hours + (log.travel_hours if self.counts_travel else 0.0)
        cost = by_client_month(
            log.client[t], log.month[t], shape, hours[t] * self.cost_per_hour + log.parts_cost[t]
        )
        if self.counts_prevention and len(prevention.hours):
            cost += by_client_month(
                prevention.client, prevention.month, shape, prevention.hours * self.cost_per_hour
            )
        return cost

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """Per client and month on the contract: the fixed fee, the target cost and (1 − β) × (cost − target),
        negative when the work cost less than the target; the early-termination fee."""
        n = len(ctx.users)
        users = np.asarray(ctx.users, dtype=float)
        fee = fee_schedule(self.term, users * self.fee_per_user_month, ctx)
        target = fee_schedule(self.term, users * self.target_cost_per_user_month, ctx)
        active = np.ones((n, ctx.months), bool) if ctx.active is None else ctx.active
        share = (1.0 - self.provider_share) * (self.work_cost(log, prevention, ctx) - target) * active
        months = np.tile(np.arange(ctx.months), n)
        clients = np.repeat(np.arange(n), ctx.months)
        plain = self.term.factor == 1 and not self.term.escalator
        quantity = np.repeat(users, ctx.months) if plain else 1.0
        unit = Unit.USER_MONTH if plain else Unit.MONTH
        lines: list[LineBlock] = [
            (months, clients, Party.PROVIDER, Account.FEE, fee.ravel(), None, quantity, unit),
            (months, clients, Party.PROVIDER, Account.TARGET_COST, target.ravel(), None, quantity, unit),
            (months, clients, Party.PROVIDER, Account.COST_SHARE, share.ravel(), None),
        ]
        lines += early_termination_lines(self.term, self._base(ctx), ctx)
        return Ledger.build(lines)

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The fees and targets, and the client's share of the cost of every job, of the prevention and of the
        parts."""
        x = exposure
        bound = self.term.bound(x.months)
        hours = sum(k.jobs * k.effort_expected * x.effort_factor for k in x.kinds) + x.prevention_hours
        travel = x.travel_hours if self.counts_travel else 0.0
        rate = self.cost_per_hour * (1.0 - self.provider_share)
        return [
            (
                x.users * self.fee_per_user_month * x.months * bound,
                f"{where}.fee_per_user_month",
                f"the fees ({x.users} users)",
            ),
            (
                x.users * self.target_cost_per_user_month * x.months * bound,
                f"{where}.target_cost_per_user_month",
                f"the targets ({x.users} users)",
            ),
            (
                (hours + travel) * rate + x.parts * (1.0 - self.provider_share),
                f"{where}.cost_per_hour",
                f"the client's share of the cost ({hours:.3g} h and more)",
            ),
        ]

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """The fee, the target, the shares and how the provider staffs it."""
        money, pct = words.money, words.pct
        beta = self.provider_share
        counted = words.join(
            [
                "hands-on hours",
                *(["travel"] if self.counts_travel else []),
                *(["prevention"] if self.counts_prevention else []),
            ]
        )
        text = (
            f"Cost sharing: a target of {money(self.target_cost_per_user_month)} per user-month for the work "
            f"({counted} at {money(self.cost_per_hour)}/h, parts at cost); the client pays the target plus "
            f"{pct(1.0 - beta)} of any overrun and gets {pct(1.0 - beta)} of any saving back, the provider bears "
            f"{pct(beta)}"
        )
        if beta == 0:
            text += " (cost-plus)"
        elif beta == 1:
            text += " (a fixed price)"
        if self.fee_per_user_month:
            text += f"; plus a fee of {money(self.fee_per_user_month)} per user-month"
        if self.term.describe(words):
            text += f"; {self.term.describe(words)}"
        return f"{text}. {describe_policy(self.policy)}"
