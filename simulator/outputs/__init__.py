"""What a person reads: results folders written and read back, charts (matplotlib lives only here), the HTML
report, the Excel workbook, the scenario in plain words and the number formats of tables.

The results-folder functions of :mod:`.folders` are available here too; they are imported on first use, so that
importing a light module of this package (the number formats) does not load pandas and matplotlib."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .folders import *  # noqa: F403


def __getattr__(name: str) -> Any:
    folders = import_module(".folders", __name__)  # not `from . import`: that would ask this function again
    if name == "__all__" or name in folders.__all__:
        return getattr(folders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
