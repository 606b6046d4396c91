"""The public path of :mod:`simulator.studies.sweep`: ``from simulator.sweep import ...`` keeps working."""

from typing import Any

from .studies import sweep as _module
from .studies.sweep import *  # noqa: F403
from .studies.sweep import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
