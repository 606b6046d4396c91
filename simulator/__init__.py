"""msp-sim: a discrete-event simulator of IT-support economics.

Compare break/fix time and materials, break/fix fixed price per job and managed services for a client portfolio:
provider revenue, cost, profit and predictability; client fees, downtime cost and total cost; SLA results.

    >>> from simulator import load_scenario, simulate
    >>> results = simulate(load_scenario("scenarios/baseline.yaml"), replications=10)
    >>> results.summary  # doctest: +SKIP

Public modules beside these names: ``charts`` (plot functions, ``ax=None`` → Axes), ``report`` (the HTML
report), ``workbook`` (the Excel export), ``outputs`` (results folders, written and read), ``assumptions``
(a scenario in plain words: ``key_assumptions`` as sentences, ``assumptions`` every parameter), ``incentives``,
``transition``, ``sweep`` and ``analysis``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Scenario, ScenarioError, apply_overrides, dump_scenario, load_scenario
    from .metrics import METRICS
    from .studies.run import Results, paired_differences, simulate, summarize
    from .studies.verdict import Verdict, analyze_verdict

_HOME = {
    "METRICS": ".metrics",
    "Results": ".studies.run",
    "Scenario": ".config",
    "ScenarioError": ".config",
    "Verdict": ".studies.verdict",
    "analyze_verdict": ".studies.verdict",
    "apply_overrides": ".config",
    "dump_scenario": ".config",
    "load_scenario": ".config",
    "paired_differences": ".studies.run",
    "simulate": ".studies.run",
    "summarize": ".studies.run",
}
"""Where each public name lives; it is imported on first use, so that the command line starts (``--help``)
without loading numpy, pandas and scipy."""


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(import_module(_HOME[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "METRICS",
    "Results",
    "Scenario",
    "ScenarioError",
    "Verdict",
    "analyze_verdict",
    "apply_overrides",
    "dump_scenario",
    "load_scenario",
    "paired_differences",
    "simulate",
    "summarize",
]
