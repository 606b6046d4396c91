"""The command line, ``msp-sim`` (also ``python -m simulator``)."""

from .main import main

__all__ = ["main"]
