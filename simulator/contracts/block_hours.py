"""Block hours (a retainer): the client buys a block of hours each month at a price; tickets draw the block down,
unused hours roll over up to a cap and expire after some months, and work beyond the balance is billed at the
overage T&M terms (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from simulator.base.limits import MONEY, MONTH_HOURS, MONTHS, Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog, by_client_month

from .base import ContractKind, ContractModel, Exposure, Policy, Size, Term, TmTerms, Words
from .ledger import Account, Ledger, Party, Unit
from .lines import (
    LineBlock,
    billable_hours,
    card_rates,
    client_lines,
    describe_policy,
    describe_tm,
    hourly_rate,
    tm_expected_charge,
    tm_lines,
    tm_money_terms,
)
from .terms import TermPricing, early_termination_lines, fee_schedule

__all__ = ["BlockHours", "Draws", "Rollover"]


class Rollover(ContractModel):
    """What happens to a month's unused hours."""

    cap_hours: float | None = Field(None, ge=0, le=MONTH_HOURS)
    """The largest balance carried into the next month (the oldest hours go first) [hours]; null: no cap."""
    expiry_months: int | None = Field(None, ge=1, le=MONTHS)
    """Hours bought in one month can be used for this many months after it [months]; null: they never expire."""


class Draws(ContractModel):
    """Which work draws the block down; work that does not is billed at the overage terms."""

    remote: bool = True
    """Remote jobs draw on the block."""
    onsite: bool = True
    """On-site jobs draw on the block (and carry no trip charge)."""
    travel: bool = False
    """Travel hours of on-site jobs draw on the block too."""


class BlockHours(ContractKind):
    """A block of prepaid hours each month; the work beyond the balance is billed at the overage terms."""

    behaviour: ClassVar[Literal["break_fix", "managed"]] = "break_fix"

    kind: Literal["block_hours"]
    name: Label
    """Its id: in files (CSV rows, the ticket log) and ``--set`` paths."""
    label: Label | None = None
    """How tables, charts and sentences name it (e.g. ``Managed services``); null: its name."""
    hours_per_month: float = Field(gt=0, le=MONTH_HOURS)
    """Hours in each month's block, per client [hours/month]."""
    price_per_month: float = Field(ge=0, le=MONEY)
    """Price of each month's block, per client [currency/month]."""
    rollover: Rollover | None = None
    """How unused hours carry over; null: they expire at the end of the month."""
    draws: Draws = Draws()
    """Which work draws the block down."""
    overage: TmTerms
    """T&M terms for the hours beyond the balance, for work that does not draw on the block, and for parts; its
    billing steps and minimums also round the hours each job draws."""
    term: TermPricing = TermPricing()
    """Term length, discount or month-to-month premium, escalator, notice, early-termination fee."""
    policy: Policy
    """The provider's levers under this contract."""

    def notice_months(self) -> int:
        """The term's notice period [months]."""
        return self.term.notice_months

    def categories_named(self) -> list[str]:
        """The overage rate card's project categories."""
        return self.overage.card_categories()

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """Work that draws on the block costs nothing more per call (the block is paid for; the overage rate
        applies only once it is used up, which is left out); work that does not draw (remote or on-site, as
        ``draws`` says) at the overage T&M terms [currency]."""
        return tm_expected_charge(
            self.overage,
            category,
            effort_hours_mean,
            onsite_share,
            remote=not self.draws.remote,
            onsite=not self.draws.onsite,
        )

    def drawing(self, log: TicketLog) -> np.ndarray:
        """The tickets that draw on the block."""
        ticket = log.handling == Handling.TICKET
        return ticket & np.where(log.onsite, self.draws.onsite, self.draws.remote)

    def drawn_hours(self, log: TicketLog, mask: np.ndarray) -> np.ndarray:
        """Hours each ticket in ``mask`` draws: its hands-on hours (and travel, if it draws) in the overage
        terms' billing steps, at least their minimum [hours]."""
        terms = self.overage
        hours = log.work_hours[mask] + (log.travel_hours[mask] if self.draws.travel else 0.0)
        minimum = np.where(log.onsite[mask], terms.minimum_onsite_hours, terms.minimum_remote_hours)
        return billable_hours(hours, terms.billing_increment_hours, minimum)

    def balances(self, log: TicketLog, ctx: BillingContext) -> tuple[np.ndarray, np.ndarray]:
        """Hours each client had on its block each month (after the month's block is added) and the balance it
        carried out of the month (after rollover cap and expiry), shapes (clients, months) [hours]."""
        available, carried, _ = self._run(log, ctx)
        return available, carried

    def _run(self, log: TicketLog, ctx: BillingContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(ctx.users)
        draw = self.drawing(log)
        demand = by_client_month(
            log.client[draw], log.month[draw], (n, ctx.months), self.drawn_hours(log, draw)
        )
        active = np.ones((n, ctx.months), bool) if ctx.active is None else ctx.active
        roll = self.rollover
        ages = (
            1
            if roll is None
            else (roll.expiry_months + 1 if roll.expiry_months is not None else ctx.months + 1)
        )
        # vintage[:, j]: hours bought j months ago, still usable.
        vintage = np.zeros((n, ages))
        available = np.zeros((n, ctx.months))
        carried = np.zeros((n, ctx.months))
        for m in range(ctx.months):
            vintage = np.roll(vintage, 1, axis=1)
            vintage[:, 0] = np.where(active[:, m], self.hours_per_month, 0.0)
            available[:, m] = vintage.sum(axis=1)
            use = np.minimum(demand[:, m], available[:, m])
            for j in range(ages - 1, -1, -1):  # the oldest hours first
                take = np.minimum(vintage[:, j], use)
                vintage[:, j] -= take
                use -= take
            if roll is None:
                vintage[:] = 0.0
            elif roll.cap_hours is not None:
                excess = np.maximum(vintage.sum(axis=1) - roll.cap_hours, 0.0)
                for j in range(ages - 1, -1, -1):
                    drop = np.minimum(vintage[:, j], excess)
                    vintage[:, j] -= drop
                    excess -= drop
            if ages > 1:
                vintage[:, -1] = 0.0  # the oldest vintage has had its months
            carried[:, m] = vintage.sum(axis=1)
        return available, carried, demand

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """Each month's block while a client is on the contract; the hours of each drawing ticket beyond the
        balance left when it was created, at its overage rate; work that does not draw, at the overage terms;
        parts at cost plus the overage markup; the early-termination fee."""
        n = len(ctx.users)
        terms = self.overage
        draw = self.drawing(log)
        lines: list[LineBlock] = tm_lines(terms, log, (log.handling == Handling.TICKET) & ~draw, ctx)
        available, _, _ = self._run(log, ctx)
        idx = np.flatnonzero(draw)
        order = idx[np.lexsort((log.incident[idx], log.created[idx], log.month[idx], log.client[idx]))]
        hours = self.drawn_hours(log, order)
        group = log.client[order] * ctx.months + log.month[order]
        cum = np.cumsum(hours)
        starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1] if len(group) else np.zeros(0, np.int64)
        before = cum - hours - np.repeat(cum[starts] - hours[starts], np.diff(np.r_[starts, len(group)]))
        balance = available[log.client[order], log.month[order]]
        over = hours - np.clip(balance - before, 0.0, hours)
        mask = np.zeros(len(log), bool)
        mask[order] = True
        rate = hourly_rate(
            terms, log.onsite[order], log.after_hours[order], card_rates(terms, log, order, ctx)
        )
        lines.append(
            (
                log.month[order],
                log.client[order],
                Party.PROVIDER,
                Account.OVERAGE,
                over * rate,
                log.incident[order],
                over,
                Unit.HOUR,
            )
        )
        drawn = hours - over
        some = drawn > 0
        lines.append(  # memo lines: the hours each ticket drew, at no charge
            (
                log.month[order][some],
                log.client[order][some],
                Party.PROVIDER,
                Account.BLOCK_DRAWN,
                np.zeros(int(some.sum())),
                log.incident[order][some],
                drawn[some],
                Unit.HOUR,
            )
        )
        lines.append(client_lines(log, draw, Account.PARTS, log.parts_cost[draw] * (1 + terms.parts_markup)))
        price = np.full(n, self.price_per_month)
        schedule = fee_schedule(self.term, price, ctx)
        months = np.tile(np.arange(ctx.months), n)
        clients = np.repeat(np.arange(n), ctx.months)
        lines.append(
            (
                months,
                clients,
                Party.PROVIDER,
                Account.BLOCK,
                schedule.ravel(),
                None,
                self.hours_per_month,
                Unit.HOUR,
            )
        )
        lines += early_termination_lines(self.term, price, ctx)
        return Ledger.build(lines)

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The blocks, and every job billed at the overage terms."""
        x = exposure
        return [
            (
                x.clients * self.price_per_month * x.months * self.term.bound(x.months),
                f"{where}.price_per_month",
                f"the blocks ({x.clients} clients)",
            ),
            *tm_money_terms(self.overage, f"{where}.overage", x),
        ]

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """The block, what draws on it, the rollover, the overage terms and how the provider staffs it."""
        text = (
            f"A block of {words.hours(self.hours_per_month)} a month for {words.money(self.price_per_month)} per "
            "client"
        )
        drawn = [
            w
            for w, yes in (
                ("remote work", self.draws.remote),
                ("on-site work", self.draws.onsite),
                ("travel", self.draws.travel),
            )
            if yes
        ]
        text += f"; {words.join(drawn) if drawn else 'no work'} draw{'s' if len(drawn) == 1 else ''} on it"
        roll = self.rollover
        if roll is None:
            text += "; unused hours expire at the end of the month"
        else:
            cap = f" up to {words.hours(roll.cap_hours)}" if roll.cap_hours is not None else ""
            expiry = (
                f", each hour usable for {roll.expiry_months} month{'s' if roll.expiry_months != 1 else ''} after "
                "its month"
                if roll.expiry_months is not None
                else ""
            )
            text += f"; unused hours roll over{cap}{expiry}"
        text += f"; beyond it {describe_tm(self.overage, words)}"
        if self.term.describe(words):
            text += f"; {self.term.describe(words)}"
        return f"{text}. {describe_policy(self.policy)}"
