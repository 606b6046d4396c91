"""An upper estimate of the money a scenario can post over its horizon, so that validation can keep every
total far inside the integer-cents ledger (see :data:`simulator.base.limits.MONEY_TOTAL_LIMIT`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simulator.base.distributions import Distribution
from simulator.base.limits import MONTH_HOURS
from simulator.contracts import Contract
from simulator.contracts.base import Exposure, KindExposure, Size, Term

from .sections import MAJOR, ClientSegment, Parts

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = ["PROPENSITY_QUANTILE", "Term", "money_terms", "propensity_bound"]


@dataclass(frozen=True)
class _Kind:
    """One kind of incident as the money estimate sees it."""

    name: str
    field: str
    jobs: float  # over the horizon, recurrences included
    effort: Distribution
    parts: Parts
    onsite: float
    affected: int  # users one incident can take down


def money_terms(s: Scenario) -> dict[str, list[Term]]:
    """See :meth:`Scenario.money_terms`: the costs every contract shares, then each contract's own parts."""
    counts = _counts(s)
    exposure, kinds = _exposure(s, counts)
    common = _common_terms(s, exposure, kinds)
    return {
        c.name: [*common, *_contract_costs(s, c, exposure), *c.money_terms(exposure, f"contracts[{c.name}]")]
        for c in s.contracts
    }


def _contract_costs(s: Scenario, contract: Contract, x: Exposure) -> list[Term]:
    """The costs of one contract's own choices: the provider's security stack on every endpoint, and the client's
    own IT's hours on every job's expected effort (co-managed)."""
    terms: list[Term] = []
    stack = contract.policy.security_stack
    if stack is not None and stack in s.security_stacks:
        cost = s.security_stacks[stack].tools_cost_per_endpoint_month
        terms.append(
            (
                cost * x.endpoints * x.months,
                f"security_stacks.{stack}.tools_cost_per_endpoint_month",
                f"the security stack's cost ({x.endpoints} endpoints × {x.months} months)",
            )
        )
    co = contract.co_management
    if co is not None:
        hours = sum(k.jobs * k.effort_expected for k in x.kinds)
        terms.append(
            (
                hours * co.client_it_cost_per_hour,
                f"contracts[{contract.name}].co_managed.client_it_cost_per_hour",
                f"the client's own IT time ({hours:.3g} hours)",
            )
        )
    return terms


def _counts(s: Scenario) -> dict[str, int]:
    """Clients per segment: the segments' counts, or a portfolio's starting clients plus every prospect if that
    is more."""
    counts = {seg.name: seg.count for seg in s.clients}
    if s.portfolio is not None:
        for seg in s.clients:
            start = sum(x.count for x in s.portfolio.starting if x.segment == seg.name)
            counts[seg.name] = max(seg.count, start + s.portfolio.sales.max_new_clients)
    return counts


def _levers(s: Scenario) -> tuple[int, list[float], float]:
    """The largest levers the scenario can use (its policies, the incentive search spaces, hiring): technicians,
    every thoroughness, prevention hours per endpoint-month."""
    spaces = [s.incentives.levers, *s.incentives.contracts.values()]
    policies = [c.policy for c in s.contracts]
    techs = max([p.technicians for p in policies] + [x.technicians.high for x in spaces if x.technicians])
    if s.portfolio is not None:
        techs = max(techs, s.portfolio.hiring.max_technicians)
    k = [p.thoroughness for p in policies]
    k += [v for x in spaces if x.thoroughness for v in (x.thoroughness.low, x.thoroughness.high)]
    prevention = max(
        [p.prevention_hours_per_endpoint_month for p in policies]
        + [
            x.prevention_hours_per_endpoint_month.high
            for x in spaces
            if x.prevention_hours_per_endpoint_month
        ]
    )
    return techs, k, prevention


PROPENSITY_QUANTILE = 0.999
"""The quantile of a segment's incident propensity the money estimate takes as the multiplier of its rates."""


def propensity_bound(segment: ClientSegment, count: int = 1) -> float:
    """The largest mean multiplier of the incident rates of ``count`` clients of a segment the money estimate allows
    for: the :data:`PROPENSITY_QUANTILE` quantile q of its ``incident_propensity`` for one client, and for more the
    mean of their draws at the same quantile, 1 + (q − 1) / √count (its spread shrinks as 1/√count), at least 1 (1
    without a propensity) [factor]."""
    spread = segment.incident_propensity
    if spread is None:
        return 1.0
    q = float(spread.ppf(np.array([PROPENSITY_QUANTILE]))[0])
    return max(1.0, 1.0 + (q - 1.0) / np.sqrt(max(count, 1)))


def _kinds(s: Scenario, counts: dict[str, int], chain: float) -> list[_Kind]:
    """Every category and the major incidents with their jobs over the horizon (each segment's at the high
    quantile of its incident propensity), and the extra requests of behaviours that over-use free calls."""
    months = s.horizon_months
    site_users = max(seg.users for seg in s.clients)  # a major incident takes down a whole client
    one_site = max(seg.largest_site_users for seg in s.clients)  # a site-scope incident one site
    per_month = s.expected_incidents_per_month(counts)
    if any(seg.incident_propensity is not None for seg in s.clients):
        per_month = {}
        for seg in s.clients:
            bound = propensity_bound(seg, counts.get(seg.name, 0))
            for name, n in s.expected_incidents_per_month({seg.name: counts.get(seg.name, 0)}).items():
                per_month[name] = per_month.get(name, 0.0) + n * bound
    major = s.incidents.major
    kinds = [
        _Kind(
            c.name,
            f"incidents.categories[{c.name}]",
            per_month[c.name] * chain * months,
            c.effort_hours,
            c.parts,
            c.onsite_share,
            one_site if c.scope == "site" else 1,
        )
        for c in s.incidents.categories
    ]
    kinds.append(
        _Kind(
            MAJOR,
            "incidents.major",
            per_month[MAJOR] * chain * months,
            major.effort_hours,
            major.parts,
            1.0,
            site_users,
        )
    )
    for seg in s.clients:
        over = [b for b in seg.behaviours if b.over_uses]
        if not over:
            continue
        # A client is on one contract at a time: the larger of its behaviours' extra requests, which never recur.
        b = max(over, key=lambda x: x.extra_requests_per_user_month)
        which = "managed" if b is seg.managed else "break_fix"
        kinds.append(
            _Kind(
                str(b.extra_request_category),
                f"clients[{seg.name}].{which}.extra_requests_per_user_month",
                b.extra_requests_per_user_month * seg.users * counts.get(seg.name, 0) * months,
                b.extra_request_effort_hours,
                Parts(),
                0.0,
                1,
            )
        )
    return kinds


def _exposure(s: Scenario, counts: dict[str, int]) -> tuple[Exposure, list[_Kind]]:
    """What the scenario can put in front of every contract (see :class:`~simulator.contracts.Exposure`)."""
    months = s.horizon_months
    _, k, prevention = _levers(s)
    provider = s.provider
    effort_factor = max(k) * max(1.0, provider.tools_effort_factor)
    p_recur = provider.recurrence.probability_at(min(k))
    # Jobs per incident, its recurrences included (the model ends a chain after 50).
    chain = 51.0 if p_recur >= 1 else min(51.0, 1.0 / (1.0 - p_recur))
    kinds = _kinds(s, counts, chain)
    endpoints = sum(counts[seg.name] * seg.endpoints for seg in s.clients)
    largest_effort, effort_field = max(
        (x.effort.largest * effort_factor, f"{x.field}.effort_hours") for x in kinds
    )
    design = s.incentives.design
    exposure = Exposure(
        months=months,
        clients=sum(counts.values()),
        users=sum(counts[seg.name] * seg.users for seg in s.clients),
        endpoints=endpoints,
        servers=sum(counts[seg.name] * seg.servers for seg in s.clients),
        sizes=[Size(seg.users, seg.endpoints, seg.servers) for seg in s.clients],
        kinds=[KindExposure(x.name, x.field, x.jobs, x.effort.expected, x.affected) for x in kinds],
        jobs=sum(x.jobs for x in kinds),
        effort_factor=effort_factor,
        hour_cost=provider.cost_per_technician_hour,
        prevention_hours=prevention * endpoints * months,
        travel_hours=sum(x.jobs * x.onsite * provider.travel_hours.expected for x in kinds),
        parts=sum(a for a, _ in _parts(kinds)),
        largest_effort=largest_effort,
        largest_effort_field=effort_field,
        largest_parts=max(x.parts.cost.largest for x in kinds),
        design_per_breach=max(design.per_breach, default=0.0),
        design_per_downtime_hour=max(design.per_downtime_hour, default=0.0),
    )
    return exposure, kinds


def _parts(kinds: list[_Kind]) -> list[tuple[float, str]]:
    return [(x.jobs * x.parts.probability * x.parts.cost.expected, f"{x.field}.parts.cost") for x in kinds]


def _common_terms(s: Scenario, x: Exposure, kinds: list[_Kind]) -> list[Term]:
    """The provider's costs, the same under every contract: the pool, the expected work, tools, parts, and a
    portfolio's sales, hiring, onboarding and platform."""
    months = s.horizon_months
    provider = s.provider
    techs, _, prevention = _levers(s)
    hour_cost = provider.cost_per_technician_hour
    # An hour on duty past the paid hours costs the premium; an hour worked under `worked` costing its gross-up.
    pool_hour = hour_cost * provider.overtime_premium
    work_hour = hour_cost * max(provider.overtime_premium, provider.worked_hour_gross_up)
    work = sum(
        k.jobs * (k.effort.expected * x.effort_factor + k.onsite * provider.travel_hours.expected)
        for k in kinds
    )
    work += prevention * x.endpoints * months
    parts = _parts(kinds)
    common: list[Term] = [
        (
            techs * MONTH_HOURS * pool_hour * months,
            "provider.cost_per_technician_hour",
            f"the pool's labour cost ({techs} technicians × {MONTH_HOURS:g} h × {months} months)",
        ),
        (
            work * work_hour,
            "provider.cost_per_technician_hour",
            f"the cost of {work:.3g} hours of expected work",
        ),
        (
            provider.tools_cost_per_endpoint_month * x.endpoints * months,
            "provider.tools_cost_per_endpoint_month",
            f"the tools cost ({x.endpoints} endpoints × {months} months)",
        ),
        (sum(a for a, _ in parts), max(parts)[1], "the parts bought"),
        (
            provider.overhead.fixed_per_month * months,
            "provider.overhead.fixed_per_month",
            f"the fixed overhead ({months} months)",
        ),
    ]
    if s.portfolio is not None:
        p = s.portfolio
        staff = max([p.sales.staff] + [st.sales_staff or 0 for st in p.strategies])
        common += [
            (
                staff * p.sales.cost_per_staff_month * months,
                "portfolio.sales.cost_per_staff_month",
                f"the sales cost ({staff} staff × {months} months)",
            ),
            (
                p.hiring.max_technicians * p.hiring.cost_per_hire,
                "portfolio.hiring.cost_per_hire",
                "the hiring cost",
            ),
            (
                x.clients * p.onboarding_hours * hour_cost,
                "portfolio.onboarding_hours",
                "the onboarding labour",
            ),
            (
                p.tools_setup_cost + p.tools_platform_cost_per_month * months,
                "portfolio.tools_platform_cost_per_month",
                "the platform cost",
            ),
        ]
    return common
