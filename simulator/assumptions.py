"""A scenario's assumptions in plain words: every parameter with its meaning, value and unit, for reports.

The words come from the scenario model's own field docstrings (the same text as ``msp-sim schema``), so the
report's assumptions section can never drift from what the simulator reads.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from pydantic import BaseModel

from .config import Scenario
from .distributions import Exponential, Fixed, Gamma, Lognormal, Uniform

__all__ = ["SECTIONS", "assumptions", "format_value"]

SECTIONS = {
    "": "Run",
    "calendar": "Working hours",
    "clients": "Clients",
    "incidents": "What goes wrong",
    "provider": "The provider",
    "contracts": "Contracts",
    "incentives": "Incentive analysis",
    "portfolio": "Portfolio over time",
}
"""Top-level scenario fields and the section title each gets."""

_UNIT = re.compile(r"\s*\[([^\]]+)\]")
_SKIP = {"name", "description", "kind"}


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
        if name in _SKIP or value is None:
            continue
        where = f"{path}.{name}" if path else name
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
        else ("", "calendar", "clients", "incidents", "provider", "contracts")
    )
    rows: list[dict[str, str]] = []
    currency = scenario.currency
    for name, info in Scenario.model_fields.items():
        value = getattr(scenario, name)
        key = name if isinstance(value, BaseModel | list) or name == "portfolio" else ""
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
        else:
            rows.append(_row(section, name, described, value, unit, currency))
    return pd.DataFrame(rows, columns=["section", "parameter", "meaning", "value", "unit"])
