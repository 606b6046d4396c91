"""The public path of :mod:`simulator.studies.transition`: ``from simulator.transition import ...`` keeps working."""

from typing import Any

from .studies import transition as _module
from .studies.transition import *  # noqa: F403
from .studies.transition import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
