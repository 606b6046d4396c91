"""The public path of :mod:`simulator.outputs.charts`: ``from simulator.charts import ...`` keeps working."""

from typing import Any

from .outputs import charts as _module
from .outputs.charts import *  # noqa: F403
from .outputs.charts import __all__ as __all__


def __getattr__(name: str) -> Any:
    """Every other name of the module, as before it moved."""
    return getattr(_module, name)
