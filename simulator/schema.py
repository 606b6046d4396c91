"""The scenario file reference, generated from the pydantic models (field docstrings carry meaning and units)."""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .config import Scenario

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
        "uniform, mean, cv} (fixed and exponential: mean only; uniform: low, high).",
        "Unknown keys are rejected. Contracts and credit schemes are chosen by `kind`.",
        "",
    ]
    seen: set[str] = set()

    def walk(model: type[BaseModel], prefix: str, depth: int) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{name}"
            default = "" if field.is_required() else f" = {_default(field.default)}"
            doc = (field.description or "").replace("\n", " ")
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


def _default(value: Any) -> str:
    if value is PydanticUndefined:
        return "?"
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json"))
    return json.dumps(value)
