"""How a sweep fails: a sweep file or results folder it cannot use, and a run it could not finish."""

from __future__ import annotations

from simulator.config import ScenarioError

__all__ = ["SweepError", "SweepRunError"]


class SweepError(ScenarioError):
    """A sweep file or results folder that cannot be used; the message names the file, field and fix."""


class SweepRunError(RuntimeError):
    """A sweep that could not finish (no scheduler, disk full, worker died); finished points are kept."""
