"""The contract models by their earlier module path (every name is in :mod:`simulator.contracts`)."""

from simulator.contracts import *  # noqa: F403
from simulator.contracts import __all__ as __all__
