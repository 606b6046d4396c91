"""YAML in and out: a strict safe loader (no key given twice, no runaway nesting), a tree in which no
section is shared, and the project's YAML style for writing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import ScenarioError

if TYPE_CHECKING:
    from .scenario import Scenario

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "StrictLoader",
    "YamlProblem",
    "dump_scenario",
    "dump_yaml",
    "read_yaml",
    "tree",
]


MAX_DEPTH = 100
"""Deepest nesting of sections and lists a scenario or sweep file (or an override value) may have."""
MAX_NODES = 1_000_000
"""Most values a file may expand to, aliases written out (a scenario has a few thousand)."""


class YamlProblem(yaml.MarkedYAMLError):
    """A well-formed YAML text this project refuses (a key given twice, nesting too deep), with the fix."""

    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a mapping key given twice (the last would silently win) and nesting
    deeper than :data:`MAX_DEPTH` (deeper still would overflow Python's stack)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlProblem(
                    f"sections and lists are nested more than {MAX_DEPTH} levels deep here",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                    "flatten the structure; no scenario field is nested that deep",
                )
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` may be overridden by the keys written beside it
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                seen = key in first
            except TypeError:
                continue  # an unhashable key: PyYAML says so itself
            if seen:
                raise YamlProblem(
                    f"the key '{key}' is given twice in one section (first at line {first[key].line + 1}); "
                    "the last would silently win",
                    key_node.start_mark,
                    "keep one of them",
                )
            first[key] = key_node.start_mark
        return super().construct_mapping(node, deep)  # type: ignore[no-untyped-call]


def _load_yaml(text: str, label: str) -> Any:
    """Parse YAML text with :class:`StrictLoader` into an unshared tree (see :func:`_tree`); errors name ``label``
    and the line."""
    try:
        data = yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except YamlProblem as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{label}: not usable YAML{where}: {exc.problem}. Fix: {exc.fix}.") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{label}: not valid YAML{where}: {exc.problem}. Fix the syntax there.") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{label}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            f"{label}: the YAML is nested too deeply to read. Fix: flatten the structure."
        ) from None
    return tree(data, label)


def tree(data: Any, label: str) -> Any:
    """A copy of plain data in which no section or list is shared.

    YAML aliases (``*name``) give the very object of their anchor (``&name``), and ``copy.deepcopy`` keeps that
    sharing, so an override of one path would change every place the anchor is used. This copies each place on
    its own. A section that contains itself (``a: &x [*x]``), nesting deeper than :data:`MAX_DEPTH` and more
    than :data:`MAX_NODES` values in all (aliases of aliases, the "billion laughs") are errors naming ``label``.
    """
    count = 0
    open_ids: set[int] = set()

    def copy(node: Any, path: list[str]) -> Any:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise ScenarioError(
                f"{label}: the data expands to more than {MAX_NODES:,} values once its aliases (*name) are "
                "written out. Fix: use fewer aliases of aliases; a scenario needs a few thousand values."
            )
        if not isinstance(node, dict | list):
            return node
        where = ".".join(path) or "(top level)"
        if id(node) in open_ids:
            raise ScenarioError(
                f"{label}: field '{where}': an alias (*name) refers to a section that contains it, so it would "
                "never end. Fix: write the section out, or alias a section defined elsewhere."
            )
        if len(path) >= MAX_DEPTH:
            raise ScenarioError(
                f"{label}: field '{where}': sections and lists are nested more than {MAX_DEPTH} levels deep. "
                "Fix: flatten the structure; no scenario field is nested that deep."
            )
        open_ids.add(id(node))
        try:
            if isinstance(node, dict):
                return {k: copy(v, [*path, str(k)]) for k, v in node.items()}
            return [copy(v, [*path, str(i)]) for i, v in enumerate(node)]
        finally:
            open_ids.discard(id(node))

    return copy(data, [])


def read_yaml(path: Path) -> dict[str, Any]:
    """Load a YAML mapping as an unshared tree, with errors that name the file and the line: a key given twice,
    nesting deeper than :data:`MAX_DEPTH`, aliases that expand beyond :data:`MAX_NODES` values."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(
            f"{path}: file not found. Give the path to a scenario YAML file, e.g. scenarios/baseline.yaml."
        ) from None
    except IsADirectoryError:
        raise ScenarioError(
            f"{path}: is a folder; give the path to a scenario YAML file inside it."
        ) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL in the path
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError(
            f"{path}: cannot be read ({why}). Give the path to a readable YAML file."
        ) from None
    data = _load_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: the file must hold a mapping of scenario fields (name, clients, ...), not {type(data).__name__}."
        )
    return data


def dump_yaml(data: Any, **style: Any) -> str:
    """YAML text of plain data in the project's style (keys in order); ``style`` passes emitter options."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, **style)


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (every default written out), loadable again."""
    return dump_yaml(scenario.model_dump(mode="json", by_alias=True))
