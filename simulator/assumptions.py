"""The public path of :mod:`simulator.outputs.assumptions`: ``from simulator.assumptions import ...`` keeps working."""

from typing import Any

from .outputs import assumptions as _module
from .outputs.assumptions import *  # noqa: F403
from .outputs.assumptions import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
