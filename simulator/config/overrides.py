"""``--set`` style overrides: set exactly the dotted path named, list items by index, by ``name`` or all at
once with ``*``; anchored sections are copied apart first."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from .errors import ScenarioError
from .reading import StrictLoader, YamlProblem, tree

__all__ = ["apply_overrides", "parse_override"]


def _prefix(label: str | None) -> str:
    return f"{label}: " if label else ""


def parse_override(text: str, label: str | None = None) -> tuple[str, Any]:
    """Split ``dotted.path=value``; the value is read as YAML (numbers, booleans, lists, null). Messages start
    with ``label`` (the scenario file) when given."""
    if "=" not in text:
        raise ScenarioError(
            f"{_prefix(label)}override '{text}': expected dotted.path=value, e.g. "
            "contracts.managed.fee_per_user_month=120"
        )
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path:
        raise ScenarioError(f"{_prefix(label)}override '{text}': the path before '=' is empty")
    where = f"{_prefix(label)}override '{text}'"
    try:
        value = yaml.load(raw, Loader=StrictLoader) if raw.strip() else ""  # a SafeLoader subclass
    except YamlProblem as exc:
        raise ScenarioError(f"{where}: {exc.problem}. Fix: {exc.fix}.") from None
    except yaml.YAMLError:
        value = raw  # not YAML: the text itself
    return path, tree(value, where)


def apply_overrides(
    data: dict[str, Any], overrides: dict[str, Any] | list[str] | None, label: str | None = None
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted path set; list items are addressed by index, by ``name``, or
    all at once by ``*`` (``clients.*.downtime_cost_per_user_hour=60``). A ``*`` sets the field in the items that
    have it set, or in every item when none has (``incidents.categories.*.rate_per_user_month=0`` leaves the
    site-scope categories, which have ``rate_per_site_month``, alone).

    The copy shares nothing (see :func:`_tree`): sections a YAML file shares through anchors are set apart
    first, so an override changes only the path it names. Messages start with ``label`` when given."""
    result = tree(data, label or "<dict>")
    items = (
        [parse_override(o, label) for o in overrides]
        if isinstance(overrides, list)
        else list((overrides or {}).items())
    )
    for path, value in items:
        _set_keys(result, path.split("."), 0, path, value, label)
    return result


def _set_keys(node: Any, keys: list[str], start: int, path: str, value: Any, label: str | None) -> None:
    """Set ``keys[start:]`` below ``node`` (reached by ``keys[:start]``); ``*`` fans out over a list, each item
    getting its own copy of ``value``."""
    for i in range(start, len(keys)):
        key = keys[i]
        last = i == len(keys) - 1
        where = ".".join(keys[: i + 1])
        if isinstance(node, list) and key == "*":
            if not node:
                raise ScenarioError(
                    f"{_prefix(label)}override path '{where}': the list is empty, so '*' matches nothing"
                )
            rest = keys[i + 1 :]
            having = [idx for idx in range(len(node)) if _has(node[idx], rest)]
            for idx in having or range(len(node)):
                _set_keys(node, [*keys[:i], str(idx), *rest], i, path, value, label)
            return
        if isinstance(node, list):
            idx = _list_index(node, key, where, label)
            if last:
                node[idx] = tree(value, label or "<dict>")
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[key] = tree(value, label or "<dict>")
            else:
                if key not in node or node[key] is None:
                    node[key] = {}
                node = node[key]
        else:
            raise ScenarioError(
                f"{_prefix(label)}override '{path}': '{'.'.join(keys[:i])}' is a value, not a section"
            )


def _has(node: Any, keys: list[str]) -> bool:
    """Whether ``keys`` leads below ``node`` to a set value (through dicts; a nested ``*`` to one in any item)."""
    for i, key in enumerate(keys):
        if isinstance(node, list) and key == "*":
            return any(_has(item, keys[i + 1 :]) for item in node)
        if not isinstance(node, dict) or node.get(key) is None:
            return False
        node = node[key]
    return True


def _list_index(node: list[Any], key: str, where: str, label: str | None) -> int:
    if key.lstrip("-").isdigit():
        idx = int(key)
        if -len(node) <= idx < len(node):
            return idx
        raise ScenarioError(
            f"{_prefix(label)}override path '{where}': index {idx} is out of range "
            f"(the list has {len(node)} items)"
        )
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if key in names:
        return names.index(key)
    hint = difflib.get_close_matches(key, [n for n in names if isinstance(n, str)], n=1)
    extra = f"; did you mean '{hint[0]}'?" if hint else f"; names are {names}"
    raise ScenarioError(f"{_prefix(label)}override path '{where}': no list item named '{key}'{extra}")
