"""One runnable scenario: the validated, immutable description of a client portfolio, what goes wrong, a
provider and the contracts to compare (DESIGN.md §2, §6), with its cross-field checks."""

from __future__ import annotations

import math
from collections.abc import Mapping

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency
from pydantic import Field, field_validator, model_validator

from simulator.base.calendar import HOURS_PER_MONTH, HOURS_PER_YEAR
from simulator.base.limits import MONEY_TOTAL_LIMIT, MONTHS, REPLICATIONS, SEED, Label, Text
from simulator.contracts import PRIORITIES, Contract

from .benchmarks import BENCHMARK_FIGURES, Benchmark, BenchmarkOverride, shipped_benchmarks
from .incentive_settings import IncentiveSettings
from .money import Term, money_terms
from .portfolio import Portfolio
from .risk import Risk
from .robustness import Robustness
from .sections import MAJOR, Calendar, ClientSegment, ConfigModel, Incidents, Provider
from .security import SecurityStack

__all__ = ["Scenario", "priorities"]


class Scenario(ConfigModel):
    """One runnable scenario: a client portfolio, what goes wrong, a provider, and the contracts to compare."""

    name: Label
    """Scenario label."""
    description: Text = ""
    """What the scenario represents."""
    currency: Label = "USD"
    """Currency of every money field: an ISO 4217 code (USD, EUR, GBP, CHF, ...)."""
    locale: Label = "en_US"
    """How numbers and money are written in tables, charts and reports: a language and region (en_US, en_GB,
    de_DE, fr_CH, ...), e.g. $1.36K in en_US, 1.360 € in de_DE."""
    horizon_months: int = Field(ge=1, le=MONTHS)
    """Simulated months, including warm-up [months of 730 hours]."""
    warmup_months: int = Field(0, ge=0, le=MONTHS)
    """Months at the start excluded from every measurement [months]."""
    replications: int = Field(20, ge=2, le=REPLICATIONS)
    """Independent replications (the spread gives the confidence intervals) [count]."""
    seed: int = Field(0, ge=0, le=SEED)
    """Scenario seed; with the replication number it seeds every random stream."""
    reference_contract: str | None = None
    """Contract the others are compared with (paired differences); default the first."""
    calendar: Calendar = Calendar()
    """Working hours."""
    clients: list[ClientSegment] = Field(min_length=1)
    """Client segments."""
    incidents: Incidents
    """What goes wrong."""
    provider: Provider
    """The provider."""
    contracts: list[Contract] = Field(min_length=1)
    """Contracts to compare, each with the provider's levers under it."""
    security_stacks: dict[Label, SecurityStack] = {}
    """Security stacks by name (e.g. bronze, silver, gold packages); a contract's ``policy.security_stack`` picks
    one."""
    incentives: IncentiveSettings = IncentiveSettings()
    """Settings of the incentive analysis."""
    risk: Risk = Risk()
    """How averse to risk the clients and the provider are: the certainty equivalents of a year's cost and
    profit."""
    robustness: Robustness = Robustness()
    """How ``msp-sim run`` tests its verdict: the inputs whose switching values it looks for."""
    portfolio: Portfolio | None = None
    """The portfolio followed over time by ``msp-sim transition`` (optional)."""
    what_if: list[Text] = Field([], max_length=1000)
    """The changes (``--set path=value``) this scenario carries against its file, in the order applied; filled in
    by the tool, shown on every chart and report made from it."""
    benchmarks: dict[str, BenchmarkOverride] = {}
    """The scenario's own industry ranges for the benchmark panel, by figure; the rest come from the ranges
    shipped with the tool (``msp-sim schema`` lists the figures)."""

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not is_currency(value):
            hint = f" (did you mean {value.upper()}?)" if is_currency(value.upper()) else ""
            raise ValueError(
                f"'{value}' is not an ISO 4217 currency code{hint}; write the three capital letters, e.g. USD, "
                "EUR, GBP or CHF"
            )
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        try:
            return str(Locale.parse(value.replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            raise ValueError(
                f"'{value}' is not a known locale; give a language and region such as en_US, en_GB, de_DE or "
                "fr_CH"
            ) from None

    def benchmark_ranges(self) -> dict[str, Benchmark]:
        """The benchmark panel's ranges: the shipped ones with this scenario's overrides in place."""
        shipped = shipped_benchmarks()
        return {
            name: self.benchmarks[name].over(b) if name in self.benchmarks else b
            for name, b in shipped.items()
        }

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.warmup_months >= self.horizon_months:
            raise ValueError("@warmup_months: warmup_months must be smaller than horizon_months")
        for label, names in (
            ("clients", [c.name for c in self.clients]),
            ("incidents.categories", [c.name for c in self.incidents.categories]),
            ("contracts", [c.name for c in self.contracts]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"@{label}: names must be unique; repeated: {dupes}")
        shown = [c.shown for c in self.contracts]
        dupes = sorted({n for n in shown if shown.count(n) > 1})
        if dupes:
            raise ValueError(
                f"@contracts: two contracts would be shown as {dupes}; give each its own label (or leave it out to "
                "show the name)"
            )
        unknown = sorted(set(self.benchmarks) - set(BENCHMARK_FIGURES))
        if unknown:
            raise ValueError(
                f"@benchmarks: unknown figure(s) {unknown}; the panel's figures are {list(BENCHMARK_FIGURES)}"
            )
        known = {c.name for c in self.incidents.categories} | {MAJOR}
        for c in self.contracts:
            unknown = [r for r in c.categories_named() if r not in known]
            if unknown:
                raise ValueError(
                    f"@contracts[{c.name}]: contract '{c.name}' names unknown categories {unknown}; "
                    f"known: {sorted(known)}"
                )
        self._check_security()
        self._check_extra_requests()
        self._check_portfolio()
        unknown_spaces = sorted(set(self.incentives.contracts) - {c.name for c in self.contracts})
        if unknown_spaces:
            raise ValueError(f"@incentives.contracts: no contracts named {unknown_spaces}")
        for party in ("provider", "client"):
            if getattr(self.incentives.objective, party) == "certainty_equivalent" and (
                getattr(self.risk, f"{party}_risk_tolerance") is None
            ):
                raise ValueError(
                    f"@incentives.objective.{party}: a certainty equivalent needs the {party}'s risk tolerance; set "
                    f"risk.{party}_risk_tolerance (a yearly amount in the scenario's currency), or use `expected`"
                )
        if self.reference_contract is not None and self.reference_contract not in {
            c.name for c in self.contracts
        }:
            raise ValueError(
                f"@reference_contract: reference_contract '{self.reference_contract}' is not a contract name"
            )
        self._check_money()
        return self

    def _check_security(self) -> None:
        """Security stacks name known categories; policies name known stacks; co-management known categories."""
        categories = [c.name for c in self.incidents.categories]
        for name, stack in self.security_stacks.items():
            unknown = sorted(set(stack.category_rates) - set(categories))
            if unknown:
                hint = " (major incidents take major_probability)" if MAJOR in unknown else ""
                raise ValueError(
                    f"@security_stacks.{name}.category_rates: no incident categories {unknown}{hint}. Fix: name "
                    f"categories of incidents.categories: {categories}"
                )
        stacks = sorted(self.security_stacks)
        for c in self.contracts:
            chosen = c.policy.security_stack
            if chosen is not None and chosen not in self.security_stacks:
                known = f"the stacks are {stacks}" if stacks else "the scenario defines none"
                raise ValueError(
                    f"@contracts[{c.name}].policy.security_stack: no security stack '{chosen}' ({known}). Fix: "
                    "name one defined under security_stacks, define it there, or set null for none"
                )
            co = c.co_management
            if co is not None and co.categories is not None:
                unknown = sorted(set(co.categories) - set(categories))
                if unknown:
                    hint = " (major incidents are never L1-eligible)" if MAJOR in unknown else ""
                    raise ValueError(
                        f"@contracts[{c.name}].co_managed.categories: no incident categories {unknown}{hint}. "
                        f"Fix: name categories of incidents.categories: {categories}, or null for all"
                    )

    def _check_extra_requests(self) -> None:
        """A behaviour's extra requests name a user-scope category of the scenario."""
        scopes = {c.name: c.scope for c in self.incidents.categories}
        for seg in self.clients:
            for which, b in (("break_fix", seg.break_fix), ("managed", seg.managed)):
                name = b.extra_request_category
                if not b.over_uses or name is None:
                    continue
                at = f"@clients[{seg.name}].{which}.extra_request_category"
                if name not in scopes:
                    raise ValueError(
                        f"{at}: no incident category '{name}'. Fix: name one of incidents.categories: "
                        f"{sorted(scopes)}"
                    )
                if scopes[name] != "user":
                    raise ValueError(
                        f"{at}: '{name}' is a site-scope category; an extra request concerns one user. Fix: name a "
                        "user-scope category (e.g. a service request category)"
                    )

    def _check_portfolio(self) -> None:
        p = self.portfolio
        if p is None:
            return
        segments = {c.name for c in self.clients}
        by_name = {c.name: c for c in self.contracts}
        for i, s in enumerate(p.starting):
            if s.segment not in segments:
                raise ValueError(
                    f"@portfolio.starting[{i}].segment: no client segment '{s.segment}'; "
                    f"segments: {sorted(segments)}"
                )
            if s.contract not in by_name:
                raise ValueError(f"@portfolio.starting[{i}].contract: no contract '{s.contract}'")
        for st in p.strategies:
            if st.sales_contract is not None and st.sales_contract not in by_name:
                raise ValueError(
                    f"@portfolio.strategies[{st.name}].sales_contract: no contract '{st.sales_contract}'"
                )
            if st.to is not None and st.to not in by_name:
                raise ValueError(
                    f"@portfolio.strategies[{st.name}].to: no contract '{st.to}'; contracts: {sorted(by_name)}"
                )
        names = [st.name for st in p.strategies]
        if len(set(names)) != len(names):
            raise ValueError("@portfolio.strategies: strategy names must be unique")
        mix = p.sales.segment_mix
        if p.sales.staff > 0 or any(s.sales_staff for s in p.strategies):
            unknown = sorted(set(mix) - segments)
            if unknown or not mix:
                raise ValueError(
                    f"@portfolio.sales.segment_mix: give shares for known segments {sorted(segments)}"
                )
            if not math.isclose(sum(mix.values()), 1.0, abs_tol=1e-6):
                raise ValueError("@portfolio.sales.segment_mix: shares must sum to 1")
            target = p.sales.contract
            if target is not None and target not in by_name:
                raise ValueError(f"@portfolio.sales.contract: no contract '{target}'")
            if target is None and not any(c.managed for c in self.contracts):
                raise ValueError("@portfolio.sales.contract: name the contract new clients sign")

    def label_of(self, name: str) -> str:
        """How tables, charts and sentences name the contract ``name``: its label, else its name."""
        return next((c.shown for c in self.contracts if c.name == name), name)

    def for_incentives(self) -> Scenario:
        """The scenario ``msp-sim incentives`` simulates: with a relationship, its months after the warm-up."""
        terms = self.incentives.relationship
        if terms is None:
            return self
        return self.model_copy(update={"horizon_months": self.warmup_months + terms.horizon_months})

    @property
    def reference(self) -> str:
        """Name of the contract others are compared with."""
        return self.reference_contract or self.contracts[0].name

    @property
    def measured_months(self) -> int:
        """Months after warm-up."""
        return self.horizon_months - self.warmup_months

    def expected_incidents_per_month(self, counts: Mapping[str, int] | None = None) -> dict[str, float]:
        """Expected incidents a month over the whole portfolio, before prevention and without recurrences, by
        category name and ``major`` (major incidents); ``sum(...values())`` is the total.

        ``counts`` gives the clients per segment name (default: each segment's ``count``)."""
        n = {seg.name: seg.count for seg in self.clients} if counts is None else counts
        out = {
            cat.name: sum(
                n.get(seg.name, 0) * cat.rate_per_client_month(seg.users, seg.endpoints, seg.sites)
                for seg in self.clients
            )
            for cat in self.incidents.categories
        }
        per_client = -math.log1p(-self.incidents.major.annual_probability) * HOURS_PER_MONTH / HOURS_PER_YEAR
        out[MAJOR] = per_client * sum(n.get(seg.name, 0) for seg in self.clients)
        return out

    def money_terms(self) -> dict[str, list[Term]]:
        """An upper estimate of the money each contract can post over the horizon, in parts: per contract name,
        ``(amount, field, what)`` with the field that sets each part [currency].

        Expected values, taken at the largest lever values the scenario can use (its policies, the incentive
        search spaces and the portfolio's hiring), with every incident counted as billed, credited and at the
        largest T&M rate; clients are the segments' counts, or a portfolio's starting clients plus every
        prospect if that is more. Also a part of its own: the largest single job (the largest effort any draw
        can give, at the largest rate), which expected values do not bound."""
        return money_terms(self)

    def _check_money(self) -> None:
        """Every money total must stay far inside the integer-cents ledger: see :data:`MONEY_TOTAL_LIMIT`."""
        totals = {name: (sum(t[0] for t in terms), terms) for name, terms in self.money_terms().items()}
        contract = max(totals, key=lambda name: totals[name][0])
        total, terms = totals[contract]
        if total >= MONEY_TOTAL_LIMIT:
            amount, fld, what = max(terms)
            raise ValueError(
                f"@{fld}: under contract '{contract}' the scenario could post about {total:.3g} {self.currency} "
                f"over {self.horizon_months} months, more than the limit of {MONEY_TOTAL_LIMIT:,.0f} that keeps "
                f"money exact in whole cents; the largest part is {what} (about {amount:.3g}). Fix: lower "
                f"{fld} or the counts and months it is multiplied by"
            )


def priorities() -> tuple[str, ...]:
    """The priority labels, highest first."""
    return PRIORITIES
