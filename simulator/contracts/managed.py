"""Managed services: a flat monthly fee with an SLA; the provider monitors and maintains proactively
(DESIGN.md §3). Out-of-scope categories, excluded labour and parts are billed at T&M terms."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.base.limits import MONEY, Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog, by_client_month

from .base import ContractKind, ContractModel, Exposure, Policy, Size, Term, TmTerms, Words
from .ledger import Account, Ledger, Party, to_cents
from .lines import LineBlock, category_names, client_lines, describe_policy, tm_lines, tm_money_terms
from .sla import CreditScheme, SlaMonth, SlaTerms, monthly_compliance, sla_outcomes

__all__ = ["Inclusions", "Managed"]


class Inclusions(ContractModel):
    """What the flat fee covers for in-scope incidents."""

    remote: bool = True
    """Remote labour included."""
    onsite: bool = True
    """On-site labour and trips included."""
    parts: bool = False
    """Parts included (otherwise billed at cost plus the out-of-scope markup)."""


class Managed(ContractKind):
    """Managed services: a flat monthly fee with an SLA; the provider monitors and maintains proactively."""

    behaviour: ClassVar[Literal["break_fix", "managed"]] = "managed"

    kind: Literal["managed"]
    name: Label
    """Its id: in files (CSV rows, the ticket log) and ``--set`` paths."""
    label: Label | None = None
    """How tables, charts and sentences name it (e.g. ``Managed services``); null: its name."""
    fee_per_user_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly fee per user [currency/user-month]."""
    fee_per_endpoint_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly fee per endpoint [currency/endpoint-month]."""
    fee_per_server_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly fee per server [currency/server-month]."""
    onboarding_fee: float = Field(0.0, ge=0, le=MONEY)
    """One-off fee per client at the start of the contract [currency]."""
    includes: Inclusions = Inclusions()
    """What the fee covers for in-scope incidents."""
    out_of_scope_categories: list[str] = []
    """Incident categories billed at the out-of-scope T&M terms (``major`` for major incidents)."""
    out_of_scope: TmTerms
    """T&M terms for out-of-scope work, excluded labour and parts."""
    sla: SlaTerms
    """Service levels and credits."""
    policy: Policy
    """The provider's levers under this contract."""

    def fee_per_client_month(self, users: Any, endpoints: Any, servers: Any) -> Any:
        """The monthly fee of a client of this size (numbers, or arrays of one per client) [currency/month]."""
        return (
            users * self.fee_per_user_month
            + endpoints * self.fee_per_endpoint_month
            + servers * self.fee_per_server_month
        )

    @property
    def sla_terms(self) -> SlaTerms:
        """Its service levels and credits."""
        return self.sla

    def with_credit(self, credit: CreditScheme) -> Managed:
        """A copy with another SLA credit scheme."""
        return self.model_copy(update={"sla": self.sla.model_copy(update={"credit": credit})})

    def categories_named(self) -> list[str]:
        """The out-of-scope categories."""
        return list(self.out_of_scope_categories)

    def user_fee(self) -> float:
        """Its fee per user-month [currency/user-month]."""
        return self.fee_per_user_month

    def monthly_fee(self, ctx: BillingContext) -> np.ndarray:
        """Each client's monthly fee [currency/month]."""
        return np.asarray(self.fee_per_client_month(ctx.users, ctx.endpoints, ctx.servers))

    def sla_outcomes(self, log: TicketLog, ctx: BillingContext) -> dict[str, np.ndarray]:
        """Response and resolution on the SLA clock and breaches per ticket (out-of-scope tickets excluded)."""
        return sla_outcomes(self.sla, self.out_of_scope_categories, log, ctx)

    def exit_months(self, log: TicketLog, ctx: BillingContext) -> np.ndarray:
        """Per client, the month at whose end the SLA's termination right ends the contract (−1 never): only when
        the context exercises it (``ctx.terminate_from``) and the SLA grants one."""
        right = self.sla.termination
        if right is None or ctx.terminate_from is None:
            return np.full(len(ctx.users), -1, dtype=np.int64)
        compliance = monthly_compliance(
            self.sla, self.out_of_scope_categories, log, ctx, right.recurrences_count
        )
        return right.exit_month(compliance, ctx.terminate_from)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """The monthly fees while a client is on the contract, the onboarding fee, T&M for out-of-scope work,
        excluded labour and parts, and the SLA credits; a client who ends the contract under the SLA's
        termination right is billed nothing after the month it leaves."""
        exits = self.exit_months(log, ctx)
        if (exits >= 0).any():
            gone = np.where(exits >= 0, exits, ctx.months)
            log = log.take(log.month <= gone[log.client])
            stays = np.arange(ctx.months)[None, :] <= gone[:, None]
            active = stays if ctx.active is None else ctx.active & stays
            ctx = dataclasses.replace(ctx, active=active)
        ticket = log.handling == Handling.TICKET
        names = category_names(log, ctx)
        out = ticket & np.isin(names, self.out_of_scope_categories)
        inside = ticket & ~out
        lines: list[LineBlock] = tm_lines(self.out_of_scope, log, out)
        inc = self.includes
        excluded = inside & np.where(log.onsite, not inc.onsite, not inc.remote)
        lines += tm_lines(self.out_of_scope, log, excluded, parts=False)
        if not inc.parts:
            markup = 1 + self.out_of_scope.parts_markup
            lines.append(client_lines(log, inside, Account.PARTS, log.parts_cost[inside] * markup))
        fee = self.monthly_fee(ctx)
        n_clients = len(fee)
        months = np.tile(np.arange(ctx.months), n_clients)
        clients = np.repeat(np.arange(n_clients), ctx.months)
        active = np.ones((n_clients, ctx.months), bool) if ctx.active is None else ctx.active
        fees = np.repeat(fee, ctx.months) * active.ravel()
        lines.append((months, clients, Party.PROVIDER, Account.FEE, fees, None))
        due = np.zeros(n_clients, dtype=np.int64) if ctx.onboarding_month is None else ctx.onboarding_month
        onboarding = np.where(due >= 0, self.onboarding_fee, 0.0)
        lines.append(
            (np.maximum(due, 0), np.arange(n_clients), Party.PROVIDER, Account.ONBOARDING, onboarding, None)
        )
        credit = self.credits(log, ctx, fee) * active
        lines.append((months, Party.PROVIDER, clients, Account.SLA_CREDIT, credit.ravel(), None))
        return Ledger.build(lines)

    def credits(self, log: TicketLog, ctx: BillingContext, fee: np.ndarray) -> np.ndarray:
        """SLA credit per client and month, after the cap [currency]; shape (clients, months)."""
        shape = (len(fee), ctx.months)
        scheme = self.sla.credit
        if scheme is None:
            return np.zeros(shape)
        sla = self.sla_outcomes(log, ctx)
        fee_cm = np.repeat(fee[:, None], ctx.months, axis=1)
        scope, breach = sla["in_scope"], sla["breach"]
        month = SlaMonth(
            tickets=by_client_month(log.client[scope], log.month[scope], shape),
            breaches=by_client_month(log.client[breach], log.month[breach], shape),
            downtime_user_hours=by_client_month(
                log.client[scope], log.month[scope], shape, log.downtime_user_hours[scope]
            ),
            fee=fee_cm,
        )
        credit = scheme.credit(month)
        if self.sla.cap_percent_of_fee is not None:
            # Capped in whole cents, as posted: the cap is the share of the fee's cents rounded down (a few ulps of
            # float noise do not lose a cent), the credit is rounded as the ledger rounds it, then the smaller.
            cap = self.sla.cap_percent_of_fee * to_cents(fee_cm)
            cap_cents = np.floor(cap + 4 * np.spacing(cap))
            credit = np.minimum(to_cents(credit), cap_cents) / 100.0
        return credit

    def money_terms(self, exposure: Exposure, where: str) -> list[Term]:
        """The fees, T&M for out-of-scope work, and the largest credits (at most the cap)."""
        x = exposure
        fees: list[Term] = [
            (
                x.users * self.fee_per_user_month * x.months,
                f"{where}.fee_per_user_month",
                f"the fees ({x.users} users)",
            ),
            (
                x.endpoints * self.fee_per_endpoint_month * x.months,
                f"{where}.fee_per_endpoint_month",
                f"the fees ({x.endpoints} endpoints)",
            ),
            (
                x.servers * self.fee_per_server_month * x.months,
                f"{where}.fee_per_server_month",
                f"the fees ({x.servers} servers)",
            ),
            (
                x.clients * self.onboarding_fee,
                f"{where}.onboarding_fee",
                f"the onboarding fees ({x.clients} clients)",
            ),
        ]
        out_of_scope = tm_money_terms(self.out_of_scope, f"{where}.out_of_scope", x)
        return [*fees, *out_of_scope, self._credit_term(x, fees, where)]

    def _credit_term(self, x: Exposure, fees: list[Term], where: str) -> Term:
        """Credits: every job breached, a month of downtime for every user it can take down, the whole fee under
        compliance tiers, the incentive analysis's levels; the largest, at most the cap."""
        scheme = self.sla.credit
        fee = max(float(self.fee_per_client_month(s.users, s.endpoints, s.servers)) for s in x.sizes)
        breach = scheme.per_breach(fee) if scheme is not None else 0.0
        hour = scheme.per_user_hour() if scheme is not None else 0.0
        user_hours = sum(k.jobs * k.affected for k in x.kinds) * HOURS_PER_MONTH
        fee_total = sum(a for a, _, _ in fees)
        credits = [
            (x.jobs * breach, f"{where}.sla.credit", "the SLA credits per breach"),
            (x.jobs * x.design_per_breach, "incentives.design.per_breach", "the credits per breach tried"),
            (user_hours * hour, f"{where}.sla.credit", "the SLA credits per downtime hour"),
            (
                user_hours * x.design_per_downtime_hour,
                "incentives.design.per_downtime_hour",
                "the credits per downtime hour tried",
            ),
            (
                fee_total if scheme is not None and scheme.whole_fee else 0.0,
                f"{where}.sla.credit",
                "the SLA credits by compliance tier",
            ),
        ]
        total, field, what = max(credits)
        if self.sla.cap_percent_of_fee is not None:
            total = min(total, self.sla.cap_percent_of_fee * fee_total)
        return (total, field, what)

    def describe(self, words: Words, sizes: Sequence[tuple[int, Size]]) -> str:
        """The fee, what it covers, the SLA and its credits, and how the provider staffs it."""
        money = words.money
        fees = [
            f"{money(fee)} per {what}-month"
            for fee, what in (
                (self.fee_per_user_month, "user"),
                (self.fee_per_endpoint_month, "endpoint"),
                (self.fee_per_server_month, "server"),
            )
            if fee
        ]
        monthly = sum(
            count * self.fee_per_client_month(s.users, s.endpoints, s.servers) for count, s in sizes
        )
        flat = words.join(fees) if fees else "fee of " + money(0)
        text = f"A flat {flat} ({money(monthly)} a month for these clients)"
        if self.onboarding_fee:
            text += f", {money(self.onboarding_fee)} per client at the start"
        covered = [
            w
            for w, yes in (
                ("remote work", self.includes.remote),
                ("on-site work", self.includes.onsite),
                ("parts", self.includes.parts),
            )
            if yes
        ]
        text += f"; covers {words.join(covered) if covered else 'no labour'}"
        if self.out_of_scope_categories:
            text += f"; {words.join(self.out_of_scope_categories)} billed at T&M rates"
        return f"{text}. {self.sla.describe(words)}. {describe_policy(self.policy)}"
