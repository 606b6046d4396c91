"""Managed services: a flat monthly fee with an SLA; the provider monitors and maintains proactively
(DESIGN.md §3). Out-of-scope categories, excluded labour and parts are billed at T&M terms."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.base.limits import ENDPOINTS, MONEY, SERVERS, USERS, Label
from simulator.base.records import BillingContext, Handling, PreventionLog, TicketLog, by_client_month

from .base import CoManaged, ContractKind, ContractModel, Exposure, Policy, Size, Term, TmTerms, Words
from .ledger import Account, Ledger, Party, Unit, to_cents
from .lines import (
    LineBlock,
    category_names,
    client_lines,
    describe_policy,
    tm_expected_charge,
    tm_lines,
    tm_money_terms,
)
from .sla import CreditScheme, SlaMonth, SlaTerms, monthly_compliance, sla_outcomes
from .terms import TermPricing, early_termination_lines, fee_schedule, notice_given

__all__ = ["Included", "Inclusions", "Managed", "VolumeBreak"]


class Inclusions(ContractModel):
    """What the flat fee covers for in-scope incidents."""

    remote: bool = True
    """Remote labour included."""
    onsite: bool = True
    """On-site labour and trips included."""
    parts: bool = False
    """Parts included (otherwise billed at cost plus the out-of-scope markup)."""


class Included(ContractModel):
    """Units the base fee covers; the per-unit fees apply to the units beyond."""

    users: int = Field(0, ge=0, le=USERS)
    """Users covered by the base fee [count]."""
    endpoints: int = Field(0, ge=0, le=ENDPOINTS)
    """Endpoints covered by the base fee [count]."""
    servers: int = Field(0, ge=0, le=SERVERS)
    """Servers covered by the base fee [count]."""


class VolumeBreak(ContractModel):
    """A volume breakpoint: clients of at least this many users get a discount on the per-unit fees."""

    from_users: int = Field(ge=1, le=USERS)
    """Smallest client size the discount applies to [users]."""
    discount: float = Field(gt=0, lt=1)
    """Discount on the per-unit fees [share]."""


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
    base_fee_per_month: float = Field(0.0, ge=0, le=MONEY)
    """Monthly base fee per client, covering the ``included`` units [currency/month]."""
    included: Included = Included()
    """Units the base fee covers; the per-unit fees apply to the units beyond (the overage)."""
    minimum_monthly_fee: float = Field(0.0, ge=0, le=MONEY)
    """The least a client pays a month, before the term's discount or premium [currency/month]."""
    volume_discounts: list[VolumeBreak] = []
    """Volume breakpoints by client size; the largest one a client reaches applies."""
    term: TermPricing = TermPricing()
    """Term length, the term's discount or month-to-month premium, escalator, notice, early-termination fee."""
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
    co_managed: CoManaged | None = None
    """Co-managed IT: the client's own IT takes a share of the simple tickets; null: the provider handles all."""

    @model_validator(mode="after")
    def _breaks_in_order(self) -> Managed:
        sizes = [b.from_users for b in self.volume_discounts]
        if sizes != sorted(set(sizes)):
            raise ValueError(
                "volume_discounts must list each from_users once, smallest first; sort them and remove repeats"
            )
        return self

    def notice_months(self) -> int:
        """The term's notice period [months]."""
        return self.term.notice_months

    def fee_per_client_month(self, users: Any, endpoints: Any, servers: Any) -> Any:
        """The monthly fee of a client of this size (numbers, or arrays of one per client) in its first contract
        year, before the term's discount or premium [currency/month]: the base fee, the per-unit fees on the
        units beyond those included (less the volume discount the client's size reaches), at least the minimum."""
        inc = self.included
        per_unit = (
            np.maximum(np.asarray(users) - inc.users, 0) * self.fee_per_user_month
            + np.maximum(np.asarray(endpoints) - inc.endpoints, 0) * self.fee_per_endpoint_month
            + np.maximum(np.asarray(servers) - inc.servers, 0) * self.fee_per_server_month
        )
        discount = np.zeros(np.shape(users))
        for step in self.volume_discounts:
            discount = np.where(np.asarray(users) >= step.from_users, step.discount, discount)
        fee = np.maximum(self.base_fee_per_month + per_unit * (1.0 - discount), self.minimum_monthly_fee)
        return fee if np.ndim(fee) else float(fee)

    @property
    def sla_terms(self) -> SlaTerms:
        """Its service levels and credits."""
        return self.sla

    @property
    def co_management(self) -> CoManaged | None:
        """The client's own IT's part in the support, if co-managed."""
        return self.co_managed

    def with_credit(self, credit: CreditScheme) -> Managed:
        """A copy with another SLA credit scheme."""
        return self.model_copy(update={"sla": self.sla.model_copy(update={"credit": credit})})

    def categories_named(self) -> list[str]:
        """The out-of-scope categories and those of the out-of-scope rate card."""
        return [*self.out_of_scope_categories, *self.out_of_scope.card_categories()]

    def user_fee(self) -> float:
        """Its fee per user-month [currency/user-month]."""
        return self.fee_per_user_month

    def monthly_fee(self, ctx: BillingContext) -> np.ndarray:
        """Each client's monthly fee in its first contract year, after the term's discount or premium
        [currency/month]."""
        return np.asarray(self.fee_per_client_month(ctx.users, ctx.endpoints, ctx.servers)) * self.term.factor

    def expected_charge(self, category: str, effort_hours_mean: float, onsite_share: float) -> float:
        """An out-of-scope category at the out-of-scope T&M terms; in scope, the labour the fee does not include
        (remote or on-site, as ``includes`` says) at those terms, else nothing: the fee is flat [currency]."""
        terms = self.out_of_scope
        if category in self.out_of_scope_categories:
            return tm_expected_charge(terms, category, effort_hours_mean, onsite_share)
        inc = self.includes
        if inc.remote and inc.onsite:
            return 0.0
        return tm_expected_charge(
            terms, category, effort_hours_mean, onsite_share, remote=not inc.remote, onsite=not inc.onsite
        )

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
        return notice_given(right.exit_month(compliance, ctx.terminate_from), self.term, ctx.months)

    def bill(self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext) -> Ledger:
        """The monthly fees while a client is on the contract, the onboarding fee, T&M for out-of-scope work,
        excluded labour and parts, and the SLA credits; a client who ends the contract under the SLA's
        termination right is billed nothing after the month it leaves (its notice served); a client who leaves
        before its term is over pays the early-termination fee."""
        return self.bill_credit_levels(log, prevention, ctx, [self])[0]

    def bill_credit_levels(
        self, log: TicketLog, prevention: PreventionLog, ctx: BillingContext, levels: Sequence[Managed]
    ) -> list[Ledger]:
        """The bills of one log under ``levels``, this contract with other credit schemes: every line but the
        credits is the same (the termination right and the targets are the contract's, whatever its credits) and
        is worked out once."""
        for level in (other for other in levels if other is not self):
            same_sla = level.sla.model_copy(update={"credit": self.sla.credit})
            if level.model_copy(update={"sla": same_sla}) != self:
                raise ValueError(
                    f"contract '{level.name}' differs from '{self.name}' in more than its SLA credits"
                )
        exits = self.exit_months(log, ctx)
        # Each ticket's SLA outcome is its own: those of the tickets billed are the whole log's, taken with them
        # (computed once for the log, not again for the part of it billed).
        credited = any(level.sla.credit is not None for level in levels)
        outcomes = self.sla_outcomes(log, ctx) if credited else None
        if (exits >= 0).any():
            gone = np.where(exits >= 0, exits, ctx.months)
            billed = log.month <= gone[log.client]
            log = log.take(billed)
            if outcomes is not None:
                outcomes = {name: values[billed] for name, values in outcomes.items()}
            stays = np.arange(ctx.months)[None, :] <= gone[:, None]
            active = stays if ctx.active is None else ctx.active & stays
            ctx = dataclasses.replace(ctx, active=active)
        ticket = log.handling == Handling.TICKET
        names = category_names(log, ctx)
        out = ticket & np.isin(names, self.out_of_scope_categories)
        inside = ticket & ~out
        lines: list[LineBlock] = tm_lines(self.out_of_scope, log, out, ctx)
        inc = self.includes
        excluded = inside & np.where(log.onsite, not inc.onsite, not inc.remote)
        lines += tm_lines(self.out_of_scope, log, excluded, ctx, parts=False)
        if not inc.parts:
            markup = 1 + self.out_of_scope.parts_markup
            lines.append(client_lines(log, inside, Account.PARTS, log.parts_cost[inside] * markup))
        base = np.asarray(self.fee_per_client_month(ctx.users, ctx.endpoints, ctx.servers), dtype=float)
        schedule = fee_schedule(self.term, base, ctx)
        n_clients = len(base)
        months = np.tile(np.arange(ctx.months), n_clients)
        clients = np.repeat(np.arange(n_clients), ctx.months)
        active = np.ones((n_clients, ctx.months), bool) if ctx.active is None else ctx.active
        fees = schedule.ravel()
        quantity, unit = self.fee_quantity(ctx)
        lines.append(
            (
                months,
                clients,
                Party.PROVIDER,
                Account.FEE,
                fees,
                None,
                np.repeat(quantity, ctx.months),
                np.repeat(unit, ctx.months),
            )
        )
        due = np.zeros(n_clients, dtype=np.int64) if ctx.onboarding_month is None else ctx.onboarding_month
        onboarding = np.where(due >= 0, self.onboarding_fee, 0.0)
        lines.append(
            (
                np.maximum(due, 0),
                np.arange(n_clients),
                Party.PROVIDER,
                Account.ONBOARDING,
                onboarding,
                None,
                1.0,
                Unit.EACH,
            )
        )
        # What the credits are worked out from, and the lines before and after them, made once: a level's bill puts
        # its credits between.
        month = self.sla_month(log, ctx, schedule, outcomes) if outcomes is not None else None
        ending = early_termination_lines(self.term, base, ctx, for_cause=exits >= 0)

        def credit_lines(level: Managed) -> LineBlock:
            credit = level.credits(month, schedule) * active
            return (months, Party.PROVIDER, clients, Account.SLA_CREDIT, credit.ravel(), None)

        if len(levels) == 1:
            return [Ledger.build([*lines, credit_lines(levels[0]), *ending])]
        before, after = Ledger.build(lines), Ledger.build(ending)
        return [Ledger.join([before, Ledger.build([credit_lines(level)]), after]) for level in levels]

    def fee_quantity(self, ctx: BillingContext) -> tuple[np.ndarray, np.ndarray]:
        """What each client's monthly fee counts, for its invoice line, and the :class:`~.ledger.Unit` of that
        count: the client's users, endpoints or servers when its fee is a price per one of them alone (no base
        fee, no minimum, none of them included; a volume discount or the term's factor only changes the price per
        unit), else one month."""
        n = len(ctx.users)
        quantity, unit = np.ones(n), np.full(n, Unit.MONTH, dtype=np.int8)
        if self.base_fee_per_month or self.minimum_monthly_fee:
            return quantity, unit
        per = [
            (self.fee_per_user_month, ctx.users, self.included.users, Unit.USER_MONTH),
            (self.fee_per_endpoint_month, ctx.endpoints, self.included.endpoints, Unit.ENDPOINT_MONTH),
            (self.fee_per_server_month, ctx.servers, self.included.servers, Unit.SERVER_MONTH),
        ]
        charged = [(np.asarray(count), included, code) for fee, count, included, code in per if fee]
        kinds = sum(((count > 0).astype(int) for count, _, _ in charged), np.zeros(n, dtype=int))
        for count, included, code in charged:
            alone = (kinds == 1) & (count > 0) & (included == 0)
            quantity[alone], unit[alone] = count[alone], code
        return quantity, unit

    def sla_month(
        self, log: TicketLog, ctx: BillingContext, fee_cm: np.ndarray, outcomes: dict[str, np.ndarray]
    ) -> SlaMonth:
        """What the credits are worked out from, per client and month: the in-scope tickets, the breaches, the
        downtime and ``fee_cm``, each client's fee in each month. ``outcomes``: the log's :meth:`sla_outcomes`."""
        shape = fee_cm.shape
        scope, breach = outcomes["in_scope"], outcomes["breach"]
        return SlaMonth(
            tickets=by_client_month(log.client[scope], log.month[scope], shape),
            breaches=by_client_month(log.client[breach], log.month[breach], shape),
            downtime_user_hours=by_client_month(
                log.client[scope], log.month[scope], shape, log.downtime_user_hours[scope]
            ),
            fee=fee_cm,
        )

    def credits(self, month: SlaMonth | None, fee_cm: np.ndarray) -> np.ndarray:
        """SLA credit per client and month, after the cap [currency]; shape (clients, months), as ``fee_cm``,
        each client's fee in each month. ``month``: the :meth:`sla_month` figures (None: no credit scheme)."""
        scheme = self.sla.credit
        if scheme is None or month is None:
            return np.zeros(fee_cm.shape)
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
                x.clients * max(self.base_fee_per_month, self.minimum_monthly_fee) * x.months,
                f"{where}.base_fee_per_month",
                f"the base fees ({x.clients} clients)",
            ),
        ]
        fees = [(a * self.term.bound(x.months), f, w) for a, f, w in fees]
        fees.append(
            (
                x.clients * self.onboarding_fee,
                f"{where}.onboarding_fee",
                f"the onboarding fees ({x.clients} clients)",
            )
        )
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
        if self.base_fee_per_month:
            inc = self.included
            covered = [
                f"{n} {what}{'s' if n != 1 else ''}"
                for n, what in ((inc.users, "user"), (inc.endpoints, "endpoint"), (inc.servers, "server"))
                if n
            ]
            base = f"{money(self.base_fee_per_month)} a month per client"
            if covered:
                base += f" including {words.join(covered)}"
            fees = [base, *(f"{f} beyond" if covered else f for f in fees)]
        monthly = (
            sum(count * self.fee_per_client_month(s.users, s.endpoints, s.servers) for count, s in sizes)
            * self.term.factor
        )
        flat = words.join(fees) if fees else "fee of " + money(0)
        text = f"A flat {flat} ({money(monthly)} a month for these clients"
        text += ", first year)" if self.term.escalator else ")"
        if self.onboarding_fee:
            text += f", {money(self.onboarding_fee)} per client at the start"
        if self.volume_discounts:
            text += "; " + ", ".join(
                f"{words.pct(b.discount)} off the per-unit fees from {b.from_users} users"
                for b in self.volume_discounts
            )
        if self.minimum_monthly_fee:
            text += f"; at least {money(self.minimum_monthly_fee)} a month"
        if self.term.describe(words):
            text += f"; {self.term.describe(words)}"
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
        if self.co_managed is not None:
            text += f"; {self.co_managed.describe(words)}"
        return f"{text}. {self.sla.describe(words)}. {describe_policy(self.policy, words)}"
