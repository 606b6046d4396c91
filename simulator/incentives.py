"""The public path of :mod:`simulator.studies.incentives`: ``from simulator.incentives import ...`` keeps working."""

from typing import Any

from .studies import incentives as _module
from .studies.incentives import *  # noqa: F403
from .studies.incentives import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
