"""The scenario file reference, generated from the pydantic models (field docstrings carry meaning and units)."""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from simulator.base.limits import CV_MAX, CV_MIN, MONEY_TOTAL_LIMIT, VALUE

from .scenario import Scenario

__all__ = ["json_schema", "reference"]


def json_schema() -> str:
    """The JSON Schema of a scenario file."""
    return json.dumps(Scenario.model_json_schema(), indent=2)


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return _type_name(get_args(tp)[0])
    if origin is Literal:
        return " | ".join(str(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(dict.fromkeys(_type_name(a) for a in get_args(tp)))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        k, v = get_args(tp)
        return f"mapping {_type_name(k)} -> {_type_name(v)}"
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if "dist" in tp.model_fields:
            return "distribution"
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def _models(tp: Any) -> list[type[BaseModel]]:
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [] if "dist" in tp.model_fields else [tp]
    if origin is not None:
        return [m for a in get_args(tp) for m in _models(a)]
    return []


def reference() -> str:
    """A readable reference of every scenario field: path, type, default, meaning and unit."""
    lines = [
        "Scenario file reference (YAML). Distributions are written {dist: fixed|exponential|lognormal|gamma|"
        "uniform, mean, cv} (fixed and exponential: mean only; uniform: low, high); means and bounds at most "
        f"{_number(VALUE)}, cv from {_number(CV_MIN)} to {_number(CV_MAX)}.",
        "Unknown keys and keys given twice are rejected. Contracts and credit schemes are chosen by `kind`.",
        "Numbers are finite (no .inf, .nan) within each field's range; names are 1 to 200 characters without "
        "control characters. The money a scenario can post over its horizon (fees, labour, T&M billing, credits) "
        f"must stay below {_number(MONEY_TOTAL_LIMIT)} currency units.",
        "",
    ]
    seen: set[str] = set()

    def walk(model: type[BaseModel], prefix: str, depth: int) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{field.alias or name}"
            default = "" if field.is_required() else f" = {_default(field.default)}"
            doc = " ".join(x for x in ((field.description or "").replace("\n", " "), _limits(field)) if x)
            lines.append(f"{'  ' * depth}{path}: {_type_name(field.annotation)}{default}")
            if doc:
                lines.append(f"{'  ' * depth}    {doc}")
            for sub in _models(field.annotation):
                key = f"{path}:{sub.__name__}"
                if key in seen:
                    continue
                seen.add(key)
                kind = sub.model_fields.get("kind")
                label = f" (kind: {_type_name(kind.annotation)})" if kind is not None else ""
                if len(_models(field.annotation)) > 1:
                    lines.append(
                        f"{'  ' * (depth + 1)}# {sub.__name__}{label}: {(sub.__doc__ or '').strip()}"
                    )
                walk(sub, f"{path}{'[]' if get_origin(field.annotation) is list else ''}.", depth + 1)

    walk(Scenario, "", 0)
    return "\n".join(lines)


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _constraints(metadata: list[Any]) -> list[str]:
    """Readable bounds from pydantic field metadata: ">= 0", "<= 1,000,000", "1 to 200 characters"."""
    out = []
    for m in metadata:
        if isinstance(m, at.Ge):
            out.append(f">= {_number(m.ge)}")  # type: ignore[arg-type]
        elif isinstance(m, at.Gt):
            out.append(f"> {_number(m.gt)}")  # type: ignore[arg-type]
        elif isinstance(m, at.Le):
            out.append(f"<= {_number(m.le)}")  # type: ignore[arg-type]
        elif isinstance(m, at.Lt):
            out.append(f"< {_number(m.lt)}")  # type: ignore[arg-type]
        elif isinstance(m, at.MinLen):
            out.append(f"at least {m.min_length} item{'s' if m.min_length != 1 else ''}")
        elif isinstance(m, StringConstraints) and m.max_length is not None:
            out.append(f"{m.min_length or 0} to {m.max_length:,} characters")
    return out


def _limits(field: FieldInfo) -> str:
    """The field's range (and its items' range, for a list or mapping of bounded numbers), as a sentence."""
    own = _constraints(field.metadata)
    items: list[str] = []

    def walk(tp: Any) -> None:
        if get_origin(tp) is Annotated:
            for extra in get_args(tp)[1:]:
                if isinstance(extra, FieldInfo):
                    items.extend(_constraints(extra.metadata))
            walk(get_args(tp)[0])
        elif get_origin(tp) in (list, dict, Union, types.UnionType):
            for arg in get_args(tp):
                walk(arg)

    walk(field.annotation)
    if get_origin(field.annotation) in (list, dict) and items:
        items = ["each " + ", ".join(items)]
    text = ", ".join(own + items)
    return f"Allowed: {text}." if text else ""


def _default(value: Any) -> str:
    if value is PydanticUndefined:
        return "?"
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json", by_alias=True))
    if isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):  # a table of rows
        return json.dumps([_jsonable(v) for v in value])
    return json.dumps(value)


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value
