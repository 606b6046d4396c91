"""The public path of :mod:`simulator.outputs.report`: ``from simulator.report import ...`` keeps working."""

from typing import Any

from .outputs import report as _module
from .outputs.report import *  # noqa: F403
from .outputs.report import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
