"""Reading a scenario: a YAML file or a dict, overrides applied, validated; every problem a
:class:`~simulator.config.errors.ScenarioError` naming the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ScenarioError, format_validation_error
from .overrides import apply_overrides
from .reading import read_yaml
from .scenario import Scenario

__all__ = ["load_scenario"]


def load_scenario(
    source: str | Path | dict[str, Any], overrides: dict[str, Any] | list[str] | None = None
) -> Scenario:
    """Read and validate a scenario from a YAML file or a dict, after applying overrides.

    Raises :class:`ScenarioError` with a one-paragraph message naming the file, the field and the fix.
    """
    label = "<dict>"
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        label = str(path)
        data = read_yaml(path)
    data = apply_overrides(data, overrides, label)
    if overrides and isinstance(data, dict):
        changes = (
            [str(o).strip() for o in overrides]
            if isinstance(overrides, list)
            else [f"{path}={value}" for path, value in overrides.items()]
        )
        previous = data.get("what_if")
        data["what_if"] = [*(previous if isinstance(previous, list) else []), *changes]
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(label, exc, data)) from None
