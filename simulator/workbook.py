"""The public path of :mod:`simulator.outputs.workbook`: ``from simulator.workbook import ...`` keeps working."""

from typing import Any

from .outputs import workbook as _module
from .outputs.workbook import *  # noqa: F403
from .outputs.workbook import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
