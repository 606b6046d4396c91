"""Measurement (DESIGN.md §5): one row of metrics per contract and replication, and one row per month.

Pure functions of the simulated log and the ledger; the warm-up months are cut here. ``names``: the metrics and
their meanings; ``ledgers``: the provider's costs as ledger lines and a ledger's money by month; ``measurement``:
measuring runs, one or several side by side; ``reductions``: sums and percentiles of several runs at once, each
as the run's own; ``times``: the ticket-time histograms; ``stability``: whether a pool keeps up.
"""

from .ledgers import MonthlyFlows, billing_context, cost_ledger, labour_hours, monthly_flows
from .measurement import (
    Bills,
    Measured,
    RunFacts,
    bill_runs,
    measure,
    measure_levels,
    measure_runs,
    run_facts,
)
from .names import METRICS, MONTHLY_METRICS
from .reductions import percentile, segment_percentiles
from .stability import Unstable, productive_hours_per_month, unstable_contracts
from .times import sla_clock, ticket_time_counts, time_edges

__all__ = [
    "METRICS",
    "MONTHLY_METRICS",
    "Bills",
    "Measured",
    "MonthlyFlows",
    "RunFacts",
    "Unstable",
    "bill_runs",
    "billing_context",
    "cost_ledger",
    "labour_hours",
    "measure",
    "measure_levels",
    "measure_runs",
    "monthly_flows",
    "percentile",
    "productive_hours_per_month",
    "run_facts",
    "segment_percentiles",
    "sla_clock",
    "ticket_time_counts",
    "time_edges",
    "unstable_contracts",
]
