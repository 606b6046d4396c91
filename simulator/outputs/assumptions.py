"""A scenario's assumptions in plain words: every parameter with its meaning, value and unit, for reports.

The words come from the scenario model's own field docstrings (the same text as ``msp-sim schema``), so the
report's assumptions section can never drift from what the simulator reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import BaseModel

from simulator.base.distributions import Exponential, Fixed, Gamma, Lognormal, Uniform
from simulator.config import MAJOR, Scenario
from simulator.contracts import Size

from .tables import format_price

__all__ = ["SECTIONS", "assumptions", "format_value", "key_assumptions"]

SECTIONS = {
    "": "Run",
    "calendar": "Working hours",
    "clients": "Clients",
    "incidents": "What goes wrong",
    "provider": "The provider",
    "contracts": "Contracts",
    "security_stacks": "Security stacks",
    "incentives": "Incentive analysis",
    "portfolio": "Portfolio over time",
}
"""Top-level scenario fields and the section title each gets."""

_UNIT = re.compile(r"\s*\[([^\]]+)\]")
_SKIP = {"name", "description", "kind"}
_OFF_WITH = {
    "extra_requests_per_user_month": "extra_requests_per_user_month",
    "extra_request_effort_hours": "extra_requests_per_user_month",
    "extra_request_category": "extra_requests_per_user_month",
}
"""Fields left out of the table while the field they depend on (or they themselves) is 0: a feature that is off."""


def _split(doc: str | None) -> tuple[str, str]:
    """A field docstring's first sentence (without backticks) and its unit in brackets."""
    text = " ".join((doc or "").split())
    match = _UNIT.search(text)
    unit = match.group(1) if match else ""
    if match:
        text = text[: match.start()] + text[match.end() :]
    text = text.replace("``", "").strip().rstrip(".;: ")
    return text, unit


def format_value(value: Any, unit: str = "", currency: str = "") -> str:
    """A parameter value for people: shares as percentages, money with the currency, distributions in words."""
    if isinstance(value, Fixed):
        return format_value(value.mean, unit, currency)
    if isinstance(value, Exponential):
        return f"exponential, mean {format_value(value.mean, unit, currency)}"
    if isinstance(value, Uniform):
        return (
            f"uniform {format_value(value.low, unit, currency)} to {format_value(value.high, unit, currency)}"
        )
    if isinstance(value, Lognormal | Gamma):
        mean = format_value(value.mean, unit, currency)
        return f"{value.dist}, mean {mean}, cv {value.cv:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v, unit, currency)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v, unit, currency) for v in value) if value else "none"
    if isinstance(value, float | int):
        if unit.startswith("share"):
            return f"{value:.1%}".replace(".0%", "%")
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
    return str(value)


def _unit_words(unit: str, currency: str) -> str:
    """The unit as printed: currency named, shares shown as % (the value carries it)."""
    if unit.startswith("share"):
        return ""
    return unit.replace("currency", currency) if currency else unit


def _is_distribution(value: Any) -> bool:
    return isinstance(value, BaseModel) and hasattr(value, "dist")


def _walk(model: BaseModel, path: str, section: str, currency: str, rows: list[dict[str, str]]) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if name in _SKIP or value is None or (name in _OFF_WITH and not getattr(model, _OFF_WITH[name])):
            continue
        key = info.alias or name
        where = f"{path}.{key}" if path else key
        described, unit = _split(info.description)
        if isinstance(value, BaseModel) and not _is_distribution(value):
            _walk(value, where, section, currency, rows)
            continue
        if (
            isinstance(value, list)
            and value
            and isinstance(value[0], BaseModel)
            and not _is_distribution(value[0])
        ):
            for i, item in enumerate(value):
                label = getattr(item, "name", None) or getattr(item, "segment", None) or str(i)
                _walk(item, f"{where}[{label}]", section, currency, rows)
            continue
        if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
            for key, item in value.items():
                if _is_distribution(item):
                    rows.append(_row(section, f"{where}.{key}", described, item, unit, currency))
                else:
                    _walk(item, f"{where}.{key}", section, currency, rows)
            continue
        rows.append(_row(section, where, described, value, unit, currency))


def _row(section: str, where: str, described: str, value: Any, unit: str, currency: str) -> dict[str, str]:
    shown = str(value) if where.endswith("seed") else format_value(value, unit, currency)
    return {
        "section": section,
        "parameter": where,
        "meaning": described,
        "value": shown,
        "unit": _unit_words(unit, currency),
    }


def assumptions(scenario: Scenario, sections: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every parameter of ``scenario`` as ``section, parameter, meaning, value, unit`` rows, in file order.

    ``sections`` selects top-level parts by field name (default: all but the incentive search and the portfolio,
    which matter only to their own analyses); ``""`` is the run settings (horizon, replications, seed...).
    """
    chosen = (
        sections
        if sections is not None
        else ("", "calendar", "clients", "incidents", "provider", "contracts", "security_stacks")
    )
    rows: list[dict[str, str]] = []
    currency = scenario.currency
    for name, info in Scenario.model_fields.items():
        value = getattr(scenario, name)
        key = name if isinstance(value, BaseModel | list) or name in ("portfolio", "security_stacks") else ""
        if key not in chosen or name in _SKIP or value is None:
            continue
        section = SECTIONS.get(key, key)
        described, unit = _split(info.description)
        if isinstance(value, BaseModel):
            _walk(value, name, section, currency, rows)
        elif isinstance(value, list):
            for item in value:
                label = getattr(item, "name", "")
                _walk(item, f"{name}[{label}]", section, currency, rows)
        elif isinstance(value, dict):
            for label, item in value.items():
                if isinstance(item, BaseModel):
                    _walk(item, f"{name}.{label}", section, currency, rows)
                else:
                    rows.append(_row(section, f"{name}.{label}", described, item, unit, currency))
        else:
            rows.append(_row(section, name, described, value, unit, currency))
    return pd.DataFrame(rows, columns=["section", "parameter", "meaning", "value", "unit"])


# ----------------------------------------------------------------------------------------- key assumptions


Money = Callable[[float], str]


def _pct(share: float) -> str:
    return format_value(share, "share")


def _hours(hours: float) -> str:
    return f"{hours:g} h"


def _join(items: Sequence[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _spread(values: Sequence[float], weights: Sequence[float], money: Money) -> str:
    """One value, or its range with the weighted mean."""
    low, high = min(values), max(values)
    if low == high:
        return money(low)
    mean = sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)
    return f"{money(low)} to {money(high)} (weighted mean {money(mean)})"


_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days(days: Sequence[str]) -> str:
    """Business days as 'Mon–Fri' when they run on, else listed."""
    index = sorted(_WEEK.index(d) for d in days)
    if len(index) > 2 and index == list(range(index[0], index[-1] + 1)):
        return f"{_WEEK[index[0]].capitalize()}–{_WEEK[index[-1]].capitalize()}"
    return ", ".join(_WEEK[i].capitalize() for i in index)


def _clock(hour: float) -> str:
    return f"{int(hour):02d}:{round(hour % 1 * 60):02d}"


@dataclass(frozen=True)
class _Words:
    """How a contract's plain-words description formats money, shares, hours and lists in the report."""

    currency: str
    locale: str
    stacks: dict[str, str]  # what each security stack bundles, by name

    def money(self, amount: float) -> str:
        return format_price(amount, self.currency, self.locale)

    def pct(self, share: float) -> str:
        return _pct(share)

    def hours(self, hours: float) -> str:
        return _hours(hours)

    def join(self, items: Sequence[str]) -> str:
        return _join(items)

    def security_stack(self, name: str) -> str:
        return self.stacks.get(name, "")


def _simulation(scenario: Scenario) -> str:
    """The horizon, the warm-up, the replications and the working hours."""
    cal = scenario.calendar
    hours = (
        "round the clock"
        if cal.hours == "24x7"
        else f"{_clock(cal.open_hour)} to {_clock(cal.close_hour)}, {_days(cal.business_days)}"
    )
    return (
        f"{scenario.horizon_months} months, the first {scenario.warmup_months} left out as warm-up; "
        f"{scenario.replications} replications from seed {scenario.seed}; working hours {hours}."
    )


def _user_weights(scenario: Scenario) -> list[int]:
    """Each client segment's users in all, to weight the segments' figures by."""
    return [s.count * s.users for s in scenario.clients]


def _clients(scenario: Scenario) -> str:
    """How many clients in which segments, and their users, endpoints and servers in all."""
    segs = scenario.clients
    clients = sum(s.count for s in segs)
    total_users = sum(_user_weights(scenario))
    return (
        f"{clients} client{'s' if clients != 1 else ''} in {len(segs)} segment{'s' if len(segs) != 1 else ''} "
        f"({', '.join(f'{s.count} × {s.name}' for s in segs)}): {total_users:,} users, "
        f"{sum(s.count * s.endpoints for s in segs):,} endpoints, {sum(s.count * s.servers for s in segs):,} "
        "servers in all."
    )


def _downtime_cost(scenario: Scenario, money: Money) -> str:
    """What a blocked user-hour costs the client, and in a site outage."""
    segs, users = scenario.clients, _user_weights(scenario)
    return (
        f"A blocked user-hour costs the client "
        f"{_spread([s.downtime_cost_per_user_hour for s in segs], users, money)}; in a site outage "
        f"{_spread([s.site_outage_cost_per_user_hour for s in segs], users, money)}."
    )


def _incidents(scenario: Scenario) -> str:
    """How often things go wrong before prevention, the most frequent categories, and the chance of a major
    incident."""
    total_users = sum(_user_weights(scenario))
    per_month = scenario.expected_incidents_per_month()
    per_month.pop(MAJOR)
    total = sum(per_month.values())
    largest = sorted(per_month.items(), key=lambda kv: -kv[1])[:3]
    text = (
        f"{12 * total / total_users:.1f} incidents per user a year before prevention ({total:,.0f} a month in all; "
        f"most often {_join([f'{name} {_pct(n / total)}' for name, n in largest if n > 0])})"
        if total > 0
        else "No incidents"
    )
    major = scenario.incidents.major
    if major.annual_probability > 0:
        text += f"; each client has a {_pct(major.annual_probability)} chance a year of a major incident"
    return text + "." + _propensity(scenario)


def _propensity(scenario: Scenario) -> str:
    """How the clients of a segment differ in how often things go wrong, when they do."""
    spread = [
        f"{seg.name} {format_value(seg.incident_propensity)}"
        for seg in scenario.clients
        if seg.incident_propensity is not None
    ]
    if not spread:
        return ""
    return (
        f" Clients differ: each one's incident rates are multiplied by its own propensity, drawn once per "
        f"replication with mean 1 ({'; '.join(spread)}), so some clients have many more incidents than others."
    )


def _calling(scenario: Scenario, money: Money) -> str:
    """The share of incidents for which staff call the provider, under break/fix and under managed services; how
    that share responds to the price of a call, and the extra requests raised when calls are free, when set."""
    segs, users = scenario.clients, _user_weights(scenario)
    text = (
        f"Under break/fix, staff call the provider for "
        f"{_spread([s.break_fix.call_in_share for s in segs], users, _pct)} of incidents and work around the "
        f"rest; under managed services for {_spread([s.managed.call_in_share for s in segs], users, _pct)}."
    )
    for which, label in (("break_fix", "break/fix"), ("managed", "managed services")):
        for seg in segs:
            b = getattr(seg, which)
            where = f" ({seg.name})" if len(segs) > 1 else ""
            r = b.price_response
            if r is not None:
                text += (
                    f" Under {label}{where} the share of incidents that only slow staff down falls with what a call "
                    f"is expected to cost under the contract: share × (charge / {money(r.reference_charge)})^−"
                    f"{r.elasticity:g}, at most 100% (a call that costs nothing is always made; an elasticity of "
                    f"{r.elasticity:g} is an assumption)."
                )
            if b.over_uses:
                text += (
                    f" Under {label}{where}, where a call costs nothing, each user raises "
                    f"{b.extra_requests_per_user_month:g} extra trivial requests a month "
                    f"(as {b.extra_request_category}, {_hours(b.extra_request_effort_hours.expected)} of technician "
                    "time each on average, no downtime), an assumption of over-use at a zero price."
                )
    return text


def _provider_costs(scenario: Scenario, money: Money) -> str:
    """What a technician hour and the monitoring tools cost the provider, and which hours count."""
    p = scenario.provider
    cap = p.capacity
    basis = (
        f"every paid hour counts, busy or idle ({p.paid_hours_per_technician_month:g} h per technician-month)"
        if p.labour_cost_basis == "paid"
        else f"every paid hour counts ({p.paid_hours_per_technician_month:g} h per technician-month), an idle "
        f"productive hour earns {_pct(cap.idle_hour_value_share)} of its cost sold elsewhere, and every hour the "
        f"queue grows beyond {cap.backlog_threshold_hours:g} h of work is bought as overtime at "
        f"{p.overtime_premium:g}× the hour cost (an assumption of the long-run cost; the simulated queue is not "
        "shortened by it)"
        if p.labour_cost_basis == "capacity"
        else (
            f"only hours worked count, each carrying the unproductive time of a technician "
            f"({p.productive_hours:.4g} of {p.paid_hours_per_technician_month:g} paid hours a month productive) and "
            f"the idle time of technicians shared with other clients ({_pct(p.shared_utilization)} utilised): "
            f"{p.worked_hour_gross_up:.2f} paid hours per hour worked"
        )
    )
    cost = f"A technician hour costs the provider {money(p.cost_per_technician_hour)}; {basis}"
    if p.tools_cost_per_endpoint_month:
        cost += f"; monitoring tools {money(p.tools_cost_per_endpoint_month)} per endpoint-month when on"
    return cost + "."


def _security(scenario: Scenario, money: Money) -> str:
    """Each security stack: what it bundles, what it leaves of the incident rates and major outages, its cost."""
    parts = []
    for name, stack in scenario.security_stacks.items():
        effects = [f"{cat} at {_pct(rate)} of the rate" for cat, rate in stack.category_rates.items()]
        if stack.major_probability != 1:
            effects.append(f"major incidents at {_pct(stack.major_probability)} of the rate")
        if stack.major_outage != 1:
            effects.append(f"major outages {_pct(stack.major_outage)} as long")
        if stack.major_effort != 1:
            effects.append(f"major recovery {_pct(stack.major_effort)} of the hours")
        text = name + (f" ({stack.description})" if stack.description else "")
        text += ": " + (_join(effects) if effects else "no effect on incidents")
        text += f", {money(stack.tools_cost_per_endpoint_month)} per endpoint-month to the provider"
        parts.append(text)
    return "; ".join(parts) + "."


def key_assumptions(scenario: Scenario) -> pd.DataFrame:
    """The assumptions that drive the answer, one plain sentence per topic (``topic, assumption``): the clients,
    what downtime costs them, how often things go wrong, what each contract charges and how the provider staffs
    it. Derived from the scenario, so a report's summary of its assumptions matches what was simulated."""

    def money(value: float) -> str:
        return format_price(value, scenario.currency, scenario.locale)

    rows: list[tuple[str, str]] = [
        ("Simulation", _simulation(scenario)),
        ("Clients", _clients(scenario)),
        ("Cost of downtime", _downtime_cost(scenario, money)),
        ("What goes wrong", _incidents(scenario)),
        ("Calling the provider", _calling(scenario, money)),
        ("Provider's costs", _provider_costs(scenario, money)),
    ]
    if scenario.security_stacks:
        rows.append(("Security stacks", _security(scenario, money)))
    words = _Words(
        scenario.currency,
        scenario.locale,
        {name: stack.description for name, stack in scenario.security_stacks.items()},
    )
    sizes = [(seg.count, Size(seg.users, seg.endpoints, seg.servers)) for seg in scenario.clients]
    rows += [(contract.name, contract.describe(words, sizes)) for contract in scenario.contracts]
    return pd.DataFrame(rows, columns=["topic", "assumption"])
