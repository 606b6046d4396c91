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

from .config import Scenario, ScenarioError, apply_overrides, dump_scenario, load_scenario
from .metrics import METRICS
from .studies.run import Results, paired_differences, simulate, summarize

__all__ = [
    "METRICS",
    "Results",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "dump_scenario",
    "load_scenario",
    "paired_differences",
    "simulate",
    "summarize",
]
