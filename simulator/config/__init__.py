"""Scenario files (DESIGN.md §6): the validated scenario model, YAML reading and writing, overrides, the error
messages that name the file, the field and the fix, and the schema reference."""

from .scenario import *  # noqa: F403
from .scenario import __all__ as __all__
