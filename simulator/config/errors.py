"""Error messages that name the file, the field (list items by name) and the fix, for every problem pydantic
or the scenario's own checks find."""

from __future__ import annotations

import difflib
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .scenario import Scenario

__all__ = ["ScenarioError", "fix_for", "format_validation_error"]


class ScenarioError(ValueError):
    """A scenario (or override) that cannot be used; the message names the file, the field and the fix."""


def format_validation_error(
    label: str, exc: ValidationError, data: dict[str, Any], root: type[BaseModel] = Scenario
) -> str:
    """One paragraph per problem: file, field path (list items by name), what is wrong, how to fix it; ``root`` is
    the model of the whole file (a scenario unless told)."""
    lines = []
    errors = exc.errors(include_url=False)
    for err in errors[:8]:
        loc = _readable_loc(err["loc"], data)
        explained = _explain(err, data, root)
        if explained.startswith("@") and ": " in explained:  # a cross-field check that names its own field
            inner, explained = explained[1:].split(": ", 1)
            loc = inner if loc == "(top level)" else f"{loc}.{inner}"
        lines.append(f"{label}: field '{loc}': {explained}")
    if len(errors) > 8:
        lines.append(f"... and {len(errors) - 8} more problems.")
    return "\n".join(lines)


def _readable_loc(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(node, list) and isinstance(key, int):
            item = node[key] if key < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            printable = isinstance(name, str) and 0 < len(name) <= 200 and name.isprintable()
            parts.append(f"[{name}]" if printable else f"[{key}]")
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(f".{key}" if parts else str(key))
            node = node[key]
        elif (isinstance(node, dict) and node.get("kind") == key) or (
            isinstance(node, dict) and node.get("dist") == key
        ):
            continue  # the discriminator tag pydantic inserts
        else:
            parts.append(f".{key}" if parts else str(key))
            node = None
    return "".join(parts) or "(top level)"


def _explain(err: Any, data: Any, root: type[BaseModel]) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(err["loc"], data, root)
        key = str(err["loc"][-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        fix = (
            f"did you mean '{hint[0]}'?"
            if hint
            else (f"allowed keys here: {', '.join(allowed)}." if allowed else "remove it.")
        )
        return f"unknown key. Fix: {fix}"
    if kind == "missing":
        return "required field is missing. Fix: add it (see `msp-sim schema` for its meaning and unit)."
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return f"{msg}. Fix: set it to one of the listed values."
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {_short_repr(got)})"
    if kind == "value_error":  # our own validators already say what to do
        return msg.removeprefix("Value error, ")
    return f"{msg}{shown}. Fix: {fix_for(kind)}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:50]}... ({len(str(value)):,} characters)"


def fix_for(kind: str) -> str:
    """The fix for a pydantic error of this type (a value out of range, not finite, ...)."""
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return "give a value in the field's range (`msp-sim schema` lists every range)."
    if kind == "finite_number":
        return "give a finite number (.inf and .nan are not allowed)."
    if kind == "too_short":
        return "give at least one item."
    if kind in ("string_too_short", "string_too_long"):
        return "names are 1 to 200 characters, a description at most 10,000."
    return "correct the value."


def _submodel(annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model class an annotation stands for, given the data (discriminated unions pick by ``kind``/``dist``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg, value)
        if found is None:
            continue
        tags = [
            t for t in ("kind", "dist") if t in found.model_fields and isinstance(value, dict) and t in value
        ]
        if any(str(value[t]) not in str(found.model_fields[t].annotation) for t in tags):
            continue
        return found
    return None


def _allowed_keys(loc: tuple[Any, ...], data: Any, root: type[BaseModel]) -> list[str]:
    """Field names of the model at ``loc[:-1]``, found by walking the schema (from ``root``) alongside the
    data."""
    model: type[BaseModel] | None = root
    node: Any = data
    list_item: Any = None
    for key in loc[:-1]:
        if isinstance(node, list) and isinstance(key, int):
            node = node[key] if key < len(node) else None
            model = _submodel(list_item, node) if list_item is not None and isinstance(node, dict) else None
            continue
        if model is None or not isinstance(node, dict) or key not in node:
            continue  # a discriminator tag pydantic inserted into the location
        field = model.model_fields.get(str(key))
        node = node[key]
        if field is None:
            return []
        list_item = get_args(field.annotation)[0] if get_origin(field.annotation) is list else None
        model = None if list_item is not None else _submodel(field.annotation, node)
    return sorted(model.model_fields) if model is not None else []
