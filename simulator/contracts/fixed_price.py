"""Break/fix fixed price per job: a menu of prices per kind of incident, T&M for the rest (DESIGN.md §3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from simulator.base.limits import MONEY, MONTH_HOURS, MONTHS, Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog

from .base import ContractKind, Exposure, Policy, Size, Term, TmTerms, Words
from .ledger import Account, Ledger, Unit
from .lines import (
    LineBlock,
    billable_hours,
    card_rates,
    category_names,
    client_lines,
    describe_policy,
    hourly_rate,
    tm_expected_charge,
    tm_lines,
    tm_money_terms,
)

__all__ = ["FixedPrice"]


class FixedPrice(ContractKind):
    """Break/fix with a set price per kind of job; anything not on the menu is billed by the fallback T&M terms."""

    behaviour: ClassVar[Literal["break_fix", "managed"]] = "break_fix"

    kind: Literal["fixed_price"]
    name: Label
    """Its id: in files (CSV rows, the ticket log) and ``--set`` paths."""
    label: Label | None = None
    """How tables, charts and sentences name it (e.g. ``Managed services``); null: its name."""
    menu: dict[str, Annotated[float, Field(ge=0, le=MONEY)]]
    """Price per job by incident category name (``major`` for major incidents) [currency]."""
    labour_cap_hours: float | None = Field(None, gt=0, le=MONTH_HOURS)
    """Hands-on hours the price covers; null means any effort is covered [hours]."""
    overrun: Literal["absorbed", "billed"] = "absorbed"
    """Hours beyond the cap: absorbed by the provider, or billed at the fallback T&M terms."""
    parts: Literal["included", "billed"] = "billed"
    """Parts included in the price, or billed at cost plus the fallback markup."""
    trip_charge: float = Field(0.0, ge=0, le=MONEY)
    """Charge per on-site visit for menu jobs [currency]."""
    warranty_days: float = Field(0.0, ge=0, le=MONTHS * MONTH_HOURS / 24)
    """A recurrence within this many days of the original fix is fixed free [days]."""
    fallback: TmTerms
    """T&M terms for jobs not on the menu, overruns and parts."""
    policy: Policy
    """The provider's levers under this contract."""

    def categories_named(self) -> list[str]:
        """The menu's categories and those of the fallback's rate card."""
        return [*self.menu, *self.fallback.card_categories()]

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """A job on the menu: its price and the trip charge for the expected share of visits (overruns beyond
        the labour cap left out); any other job: the fallback T&M terms [currency]."""
        if category in self.menu:
            return self.menu[category] + onsite_share * self.trip_charge
        return tm_expected_charge(self.fallback, category, effort_hours_mean, onsite_share)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """The menu price of each job on the menu (a repeat within the warranty free), with trips, overruns and
        parts as the terms say; T&M for the rest."""
        ticket = log.handling == Handling.TICKET
        names = category_names(log, ctx)
        on_menu = ticket & np.isin(names, list(self.menu))
        warranty = on_menu & log.recurrence & (log.created - log.parent_resolved <= self.warranty_days * 24.0)
        menu = on_menu & ~warranty
        lines: list[LineBlock] = tm_lines(self.fallback, log, ticket & ~on_menu, ctx)
        price = np.array([self.menu[str(n)] for n in names[menu]], dtype=float)
        lines.append(client_lines(log, menu, Account.MENU, price, 1.0, Unit.JOB))
        trips = np.where(log.onsite[menu], self.trip_charge, 0.0)
        lines.append(client_lines(log, menu, Account.TRIP, trips, 1.0, Unit.TRIP))
        if self.labour_cap_hours is not None and self.overrun == "billed":
            over = np.maximum(log.work_hours[menu] - self.labour_cap_hours, 0.0)
            terms = self.fallback
            rate = hourly_rate(
                terms, log.onsite[menu], log.after_hours[menu], card_rates(terms, log, menu, ctx)
            )
            hours = billable_hours(over, terms.billing_increment_hours, 0.0)
            lines.append(client_lines(log, menu, Account.OVERRUN, hours * rate, hours, Unit.HOUR))
        if self.parts == "billed":
            lines.append(
                client_lines(
                    log, menu, Account.PARTS, log.parts_cost[menu] * (1 + self.fallback.parts_markup)
                )
            )
        return Ledger.build(lines)

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The fallback T&M billing of every job, the menu prices and the trip charges."""
        menu = sum(k.jobs * self.menu.get(k.name, 0.0) for k in exposure.kinds)
        return [
            *tm_money_terms(self.fallback, f"{where}.fallback", exposure),
            (menu, f"{where}.menu", "the menu prices"),
            (
                exposure.jobs * self.trip_charge,
                f"{where}.trip_charge",
                f"the trip charges ({exposure.jobs:.3g} jobs)",
            ),
        ]

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """The menu, the cap, parts, trips, warranty and how the provider staffs it."""
        menu = ", ".join(f"{job} {words.money(price)}" for job, price in self.menu.items())
        text = f"A fixed price per job: {menu}"
        if self.labour_cap_hours is not None:
            over = "absorbed by the provider" if self.overrun == "absorbed" else "billed at T&M rates"
            text += f"; hours beyond {words.hours(self.labour_cap_hours)} are {over}"
        text += "; parts included" if self.parts == "included" else "; parts billed"
        if self.trip_charge:
            text += f"; {words.money(self.trip_charge)} per trip"
        if self.warranty_days:
            text += f"; a repeat within {self.warranty_days:g} days is fixed free"
        return f"{text}. {describe_policy(self.policy, words)}"
