"""The inputs of a verdict: which scenario fields a robustness input sets, their values, whether they change only
money (so re-pricing the same tickets is exact), and the default inputs built from a scenario."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from simulator.config import (
    RobustnessInput,
    Scenario,
    ScenarioError,
    apply_overrides,
    format_validation_error,
)

__all__ = [
    "FEES",
    "Input",
    "default_inputs",
    "expand",
    "fee_field",
    "fee_inputs",
    "money_only",
    "resolve_inputs",
]

FEES = (
    ("fee_per_user_month", "users", "per user-month"),
    ("fee_per_endpoint_month", "endpoints", "per endpoint-month"),
    ("fee_per_server_month", "servers", "per server-month"),
)
_PRICES = {
    *(name for name, _, _ in FEES),
    "onboarding_fee",
    "remote_rate",
    "onsite_rate",
    "trip_charge",
    "base_fee_per_month",
    "minimum_monthly_fee",
    "price_per_month",
    "target_cost_per_user_month",
    "cost_per_hour",
}
"""A contract's prices: amounts of money."""
_CONTRACT_MONEY = _PRICES | {
    "parts_markup",
    "after_hours_multiplier",
    "billing_increment_hours",
    "minimum_remote_hours",
    "minimum_onsite_hours",
    "menu",
    "labour_cap_hours",
    "warranty_days",
    "out_of_scope",
    "fallback",
    "rate_card",
    "included",
    "volume_discounts",
    "term",
    "hours_per_month",
    "rollover",
    "draws",
    "overage",
    "tm",
    "provider_share",
    "counts_travel",
    "counts_prevention",
}
"""Contract fields that only change the bill (never what the provider or the client does)."""
_SLA_MONEY = {"credit", "cap_percent_of_fee"}
_CLIENT_MONEY = {"downtime_cost_per_user_hour", "site_outage_cost_per_user_hour"}
_PROVIDER_COSTS = {"cost_per_technician_hour", "tools_cost_per_endpoint_month"}
_PROVIDER_MONEY = _PROVIDER_COSTS | {
    "overtime_premium",
    "shared_utilization",
    "overhead",
    "target_gross_margin",
}
_AMOUNTS = _PRICES | _CLIENT_MONEY | _PROVIDER_COSTS
"""Fields that are an amount of money (shown in the scenario's currency)."""
_INTEGER = {"technicians", "count", "users", "endpoints", "servers", "sites"}


_CALL_PRICE = {
    "remote_rate",
    "onsite_rate",
    "trip_charge",
    "billing_increment_hours",
    "minimum_remote_hours",
    "minimum_onsite_hours",
    "menu",
    "out_of_scope",
    "fallback",
    "rate_card",
    "overage",
    "draws",
    "tm",
    "provider_share",
    "cost_per_hour",
}
"""Contract fields that set what a call costs the client (``ContractKind.expected_charge``): with a price response
or over-use at a zero price, they change which incidents are called in."""


def calls_priced(scenario: Scenario) -> bool:
    """Whether what a call costs changes what the clients do: a behaviour with a price response or extra
    requests when calls are free."""
    return any(
        b.price_response is not None or b.over_uses for seg in scenario.clients for b in seg.behaviours
    )


def money_only(path: str, priced_calls: bool = False) -> bool:
    """Whether the field at a concrete path changes only money: the bill, the provider's costs or the value of
    downtime, never what happens (so re-pricing the same tickets is exact). With ``priced_calls`` (see
    :func:`calls_priced`) the contract fields that set what a call costs change what happens."""
    keys = path.split(".")
    if keys[0] == "contracts" and len(keys) >= 3:
        if priced_calls and keys[2] in _CALL_PRICE:
            return False
        return keys[2] in _CONTRACT_MONEY or (keys[2] == "sla" and len(keys) >= 4 and keys[3] in _SLA_MONEY)
    if keys[0] == "clients" and len(keys) == 3:
        return keys[2] in _CLIENT_MONEY
    if keys[0] == "provider" and len(keys) >= 2:
        return keys[1] in _PROVIDER_MONEY
    return False


@dataclass(frozen=True)
class Input:
    """A robustness input resolved against a scenario: the concrete fields it sets and their scenario values."""

    label: str
    fields: tuple[tuple[str, float], ...]
    """(concrete path, scenario value) of every field it sets."""
    low: float
    high: float
    scale: bool
    unit: str | None
    method: str  # "reprice" or "resimulate"
    integer: bool
    money: bool
    """Whether its value is an amount of money (a scale never is)."""
    shown: bool = True
    """Whether it is a row of the verdict (False: evaluated only for the fee window)."""

    @property
    def base(self) -> float:
        """Its value in the scenario (1 for a scale)."""
        return 1.0 if self.scale else self.fields[0][1]

    @property
    def paths(self) -> str:
        return "; ".join(p for p, _ in self.fields)

    def overrides(self, x: float) -> dict[str, Any]:
        """The field values at ``x``."""
        out: dict[str, Any] = {}
        for path, value in self.fields:
            v = value * x if self.scale else x
            out[path] = round(v) if self.integer else float(v)
        return out

    def values(self, points: int) -> np.ndarray:
        """The re-pricing grid: ``points`` values from low to high, the base value added when inside."""
        grid = np.linspace(self.low, self.high, points)
        if self.low < self.base < self.high:
            grid = np.union1d(grid, [self.base])
        return grid


def expand(data: Any, path: str) -> list[tuple[str, Any]]:
    """The concrete paths (list items by index) and values a ``--set`` path leads to; ``*`` takes every item that
    has the rest of the path. Items or keys that are missing or null lead nowhere."""
    keys = path.split(".")
    out: list[tuple[str, Any]] = []

    def walk(node: Any, i: int, prefix: list[str]) -> None:
        if i == len(keys):
            out.append((".".join(prefix), node))
            return
        key = keys[i]
        if isinstance(node, list):
            if key == "*":
                for idx, item in enumerate(node):
                    walk(item, i + 1, [*prefix, str(idx)])
                return
            if key.lstrip("-").isdigit() and -len(node) <= int(key) < len(node):
                idx = int(key) % len(node)
                walk(node[idx], i + 1, [*prefix, str(idx)])
                return
            for idx, item in enumerate(node):
                if isinstance(item, dict) and item.get("name") == key:
                    walk(item, i + 1, [*prefix, str(idx)])
                    return
        elif isinstance(node, dict) and node.get(key) is not None:
            walk(node[key], i + 1, [*prefix, key])

    walk(data, 0, [])
    return out


def resolve_inputs(scenario: Scenario, inputs: list[RobustnessInput], where: str) -> list[Input]:
    """Each input's concrete fields and scenario values, checked: every path leads to numbers, the fields of an
    input without ``scale`` share one value, and every value of the range is a valid scenario. ``where`` names
    the section in messages (a :class:`ScenarioError` naming the file, the field and the fix)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    label = f"scenario '{scenario.name}'"
    priced = calls_priced(scenario)
    resolved = []
    for i, spec in enumerate(inputs):
        at = f"{label}: field '{where}[{i}]' ({spec.label})"
        fields: list[tuple[str, float]] = []
        for path in spec.paths:
            found = expand(data, path)
            if not found:
                raise ScenarioError(
                    f"{at}: the path '{path}' leads to no value in the scenario. Fix: name a field the scenario "
                    "sets, as --set names it (e.g. clients.*.downtime_cost_per_user_hour)."
                )
            for concrete, value in found:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ScenarioError(
                        f"{at}: '{concrete}' is {value!r}, not a number. Fix: name a numeric field; a "
                        "section or a switch has no switching value."
                    )
                fields.append((concrete, float(value)))
        values = {v for _, v in fields}
        if not spec.scale and len(values) > 1:
            raise ScenarioError(
                f"{at}: the fields it sets differ ({', '.join(f'{p}={v:g}' for p, v in fields)}), so one value "
                "cannot stand for them. Fix: set 'scale: true' to multiply each by low..high, or give one path."
            )
        reprice = all(money_only(p, priced) for p, _ in fields)
        if spec.method == "reprice" and not reprice:
            moving = [p for p, _ in fields if not money_only(p, priced)]
            raise ScenarioError(
                f"{at}: method 'reprice' but {', '.join(moving)} changes what happens, not only money. Fix: use "
                "method 'resimulate' or 'auto'."
            )
        method = "resimulate" if spec.method == "resimulate" or not reprice else "reprice"
        leaves = {p.split(".")[-1] for p, _ in fields}
        item = Input(
            label=spec.label,
            fields=tuple(fields),
            low=spec.low,
            high=spec.high,
            scale=spec.scale,
            unit=spec.unit,
            method=method,
            integer=leaves <= _INTEGER,
            money=not spec.scale and leaves <= _AMOUNTS,
        )
        if not item.low <= item.base <= item.high:
            what = "1 (the scenario's values)" if item.scale else f"the scenario's value {item.base:g}"
            raise ScenarioError(
                f"{at}: the range {item.low:g} to {item.high:g} does not hold {what}. Fix: widen the range so "
                "that the switching values are looked for on both sides of the scenario as it is."
            )
        for x in (item.low, item.high):
            try:
                Scenario.model_validate(apply_overrides(data, item.overrides(x)))
            except ValidationError as exc:
                problem = format_validation_error(f"{label} at {spec.label} = {x:g}", exc, data)
                raise ScenarioError(
                    f"{at}: the range reaches values the scenario does not accept ({problem}). Fix: narrow the "
                    "range (`msp-sim schema` lists each field's range)."
                ) from None
        resolved.append(item)
    return resolved


def fee_field(contract: Any, scenario: Scenario) -> tuple[str, str, str] | None:
    """A managed contract's main fee: (field, the fee basis, unit words), the fee field that brings the most
    from the scenario's clients; None without a fee."""
    if not contract.managed:
        return None
    units = {basis: sum(seg.count * getattr(seg, basis) for seg in scenario.clients) for _, basis, _ in FEES}
    fees = [
        (getattr(contract, name) * units[basis], name, basis, unit)
        for name, basis, unit in FEES
        if getattr(contract, name, 0.0) > 0
    ]
    if not fees:
        return None
    return max(fees, key=lambda f: f[0])[1:]


def default_inputs(scenario: Scenario) -> list[RobustnessInput]:
    """The decisive inputs with default ranges: the cost of downtime and of site outages (×0.2 to ×3), each
    managed contract's main fee (0 to ×3), each T&M contract's rates (×0.5 to ×2), the technician hour cost (×0.5
    to ×2), the break/fix call-in share (0.1 to 1), the break/fix reporting delays (×0.25 to ×4), the incident
    rates (×0.5 to ×2), each contract's technicians (one fewer to one more)."""
    inputs: list[dict[str, Any]] = []
    data = scenario.model_dump(mode="json", by_alias=True)

    def money(label: str, path: str, values: list[float], unit: str, low: float, high: float) -> None:
        if not values or max(values) <= 0:
            return
        same = len(set(values)) == 1
        base = values[0]
        inputs.append(
            {
                "label": label,
                "paths": [path],
                "low": round(base * low, 10) if same else low,
                "high": round(base * high, 10) if same else high,
                "scale": not same,
                "unit": unit if same else None,
            }
        )

    money(
        "the cost of downtime",
        "clients.*.downtime_cost_per_user_hour",
        [c.downtime_cost_per_user_hour for c in scenario.clients],
        "per user-hour",
        0.2,
        3.0,
    )
    if any(c.scope == "site" for c in scenario.incidents.categories):
        money(
            "the cost of a site outage",
            "clients.*.site_outage_cost_per_user_hour",
            [c.site_outage_cost_per_user_hour for c in scenario.clients],
            "per user-hour",
            0.2,
            3.0,
        )
    # Contracts by position: a name may hold a dot, which a path would split.
    for i, contract in enumerate(scenario.contracts):
        main = fee_field(contract, scenario)
        if main is not None:
            name, _, unit = main
            money(
                f"{contract.shown}'s fee",
                f"contracts.{i}.{name}",
                [getattr(contract, name)],
                unit,
                0.0,
                3.0,
            )
    for i, contract in enumerate(scenario.contracts):
        if "remote_rate" in type(contract).model_fields:  # a contract billed at its own T&M rates
            for rate, words in (("remote_rate", "remote rate"), ("onsite_rate", "on-site rate")):
                money(
                    f"{contract.shown}'s {words}",
                    f"contracts.{i}.{rate}",
                    [getattr(contract, rate)],
                    "per hour",
                    0.5,
                    2.0,
                )
    money(
        "the technician hour cost",
        "provider.cost_per_technician_hour",
        [scenario.provider.cost_per_technician_hour],
        "per hour",
        0.5,
        2.0,
    )
    if any(c.break_fix for c in scenario.contracts):
        shares = {c.break_fix.call_in_share for c in scenario.clients}
        if len(shares) == 1:
            inputs.append(
                {
                    "label": "the break/fix call-in share",
                    "paths": ["clients.*.break_fix.call_in_share"],
                    "low": 0.1,
                    "high": 1.0,
                }
            )
        else:
            inputs.append(
                {
                    "label": "the break/fix call-in shares",
                    "paths": ["clients.*.break_fix.call_in_share"],
                    "low": 0.25,
                    "high": 1.0 / max(shares),
                    "scale": True,
                }
            )
        delays = [
            path
            for path in (
                "clients.*.break_fix.reporting_delay_hours.mean",
                "clients.*.break_fix.blocking.reporting_delay_hours.mean",
            )
            if any(value for _, value in expand(data, path))
        ]
        if delays:
            inputs.append(
                {
                    "label": "the break/fix reporting delays",
                    "paths": delays,
                    "low": 0.25,
                    "high": 4.0,
                    "scale": True,
                }
            )
    rates = [
        f"incidents.categories.*.{name}"
        for name in ("rate_per_user_month", "rate_per_endpoint_month", "rate_per_site_month")
        if any(getattr(c, name) is not None for c in scenario.incidents.categories)
    ]
    inputs.append({"label": "the incident rates", "paths": rates, "low": 0.5, "high": 2.0, "scale": True})
    for i, contract in enumerate(scenario.contracts):
        t = contract.policy.technicians
        inputs.append(
            {
                "label": f"{contract.shown}'s technicians",
                "paths": [f"contracts.{i}.policy.technicians"],
                "low": max(1, t - 1) if t > 1 else 1,
                "high": t + 1,
            }
        )
    return [RobustnessInput.model_validate(i) for i in inputs]


def fee_inputs(scenario: Scenario, inputs: list[Input]) -> list[Input]:
    """The fee inputs the fee window needs and the verdict's inputs lack (evaluated, not shown)."""
    have = {p for i in inputs if not i.scale for p, _ in i.fields}
    extra = []
    for contract in scenario.contracts:
        main = fee_field(contract, scenario)
        if main is None:
            continue
        name, _, unit = main
        base = float(getattr(contract, name))
        path = f"contracts.{scenario.contracts.index(contract)}.{name}"
        if path in have:
            continue
        extra.append(
            Input(
                label=f"{contract.shown}'s fee",
                fields=((path, base),),
                low=0.0,
                high=3.0 * base,
                scale=False,
                unit=unit,
                method="reprice",
                integer=False,
                money=True,
                shown=False,
            )
        )
    return extra
