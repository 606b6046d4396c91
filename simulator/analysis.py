"""The public path of :mod:`simulator.studies.analysis`: ``from simulator.analysis import ...`` keeps working."""

from typing import Any

from .studies import analysis as _module
from .studies.analysis import *  # noqa: F403
from .studies.analysis import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
