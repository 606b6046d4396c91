"""Writing YAML for people: block style with small mappings in flow style, and comments above the values they
explain (a calibrated scenario's estimates and intervals), checked to read back as the data it was made from."""

from __future__ import annotations

import copy
import textwrap
from typing import Any

import yaml

__all__ = ["WIDTH", "commented_yaml", "emit_yaml", "set_paths"]

WIDTH = 118
"""Longest comment line [characters]."""
FLOW_WIDTH = 100
"""Longest mapping or list written on one line [characters]."""


def set_paths(data: dict[str, Any], changes: list[tuple[tuple[Any, ...], Any, bool]]) -> dict[str, Any]:
    """A copy of ``data`` with each (path, value, remove) applied: the value put at the path (lists indexed by
    position), or the key taken out when ``remove``."""
    out: Any = copy.deepcopy(data)
    for path, value, remove in changes:
        node = out
        for key in path[:-1]:
            node = node[key]
        if remove:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return dict(out)


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False, allow_unicode=True)
    if text.endswith("\n...\n"):
        text = text[: -len("\n...\n")]
    return text.strip()


def _flat(value: Any) -> bool:
    if isinstance(value, dict):
        return (
            all(not isinstance(v, list) and _flat(v) for v in value.values())
            and len(_flow(value)) <= FLOW_WIDTH
        )
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value) and len(_flow(value)) <= FLOW_WIDTH
    return True


def _comment(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH - indent, initial_indent=f"{pad}# ", subsequent_indent=f"{pad}#   ")


def emit_yaml(
    data: Any, comments: dict[tuple[Any, ...], str], path: tuple[Any, ...] = (), indent: int = 0
) -> list[str]:
    """Block-style YAML lines of ``data`` with ``comments`` (by path) above the values they explain; small
    mappings and lists of scalars in flow style."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = (*path, key)
            if here in comments:
                lines += _comment(comments[here], indent)
            k = _flow(key)
            if _flat(value) or (isinstance(value, list | dict) and not value):
                lines.append(f"{pad}{k}: {_flow(value)}")
            else:
                lines.append(f"{pad}{k}:")
                lines += emit_yaml(value, comments, here, indent + 2)
        return lines
    if isinstance(data, list):
        for i, item in enumerate(data):
            here = (*path, i)
            if here in comments:
                lines += _comment(comments[here], indent)
            if isinstance(item, dict) and (len(item) > 1 or not _flat(item)):
                inner = emit_yaml(item, comments, here, indent + 2)
                first = next(j for j, line in enumerate(inner) if not line.lstrip().startswith("#"))
                inner[first] = f"{pad}- {inner[first][indent + 2 :]}"
                lines += inner
            else:
                lines.append(f"{pad}- {_flow(item)}")
        return lines
    return [f"{pad}{_flow(data)}"]


def commented_yaml(data: dict[str, Any], comments: dict[tuple[Any, ...], str], header: list[str]) -> str:
    """The YAML text of ``data`` with ``comments`` above the values at their paths and ``header`` paragraphs as a
    comment block at the top (an empty paragraph: a blank comment line). It reads back as ``data``."""
    lines: list[str] = []
    for paragraph in header:
        lines += (
            textwrap.wrap(paragraph, WIDTH, initial_indent="# ", subsequent_indent="#   ")
            if paragraph
            else ["#"]
        )
    text = "\n".join([*lines, *emit_yaml(data, comments)]) + "\n"
    if yaml.safe_load(text) != data:  # pragma: no cover - the emitter must write exactly the data
        raise AssertionError("commented YAML does not read back as its data")
    return text
