"""How big a job is before it starts: incidents to simulate, time and peak memory, against this machine.

Every command that simulates first asks :func:`estimate_run` (or its siblings for incentives, transitions and
sweeps) what it is about to do. A job that would take long is announced with its size; one whose peak memory
would not fit in the memory available is refused with the numbers and how to shrink it, before anything is
allocated. The figures are estimates from the scenario's expected incident counts (before prevention, so on the
high side) and from the engine's measured speed and memory per incident (``benchmarks/bench_estimate.py`` prints
the constants below beside what it measures on the machine at hand).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from simulator.config import LeverSpace, Scenario

__all__ = [
    "BYTES_PER_INCIDENT",
    "INCIDENTS_PER_SECOND",
    "Estimate",
    "available_memory",
    "estimate_incentives",
    "estimate_run",
    "estimate_sweep",
    "estimate_transition",
    "expected_incidents",
]

INCIDENTS_PER_SECOND = 200_000.0
"""Incidents one worker process simulates per second and contract, billing and metrics included, beyond the fixed
cost below (measured on a 2-core x86-64 machine: 315k–353k/s on 300 and 1,000 small offices and 236k/s on 5,000
clients of the baseline; rounded down, for a busy machine)."""
SECONDS_PER_SIMULATION = 0.004
"""Fixed cost of one replication of one contract: set-up of the arrays, billing, metrics (measured: about 2 ms on a
small office, twice that rounded up for a worker process, which makes its own set-up) [seconds]."""
BYTES_PER_INCIDENT = 7_000
"""Peak memory of one replication per incident and contract: the incident table, one contract's ticket log, the
queue's lists and the temporaries of billing (measured: 1.7 kB live at the peak with tracemalloc, 5–6 kB of
resident memory with what the allocator keeps; rounded up) [bytes]."""
BYTES_PER_TICKET_ROW = 400
"""Memory of one row of a kept ticket log (``--tickets``) [bytes]."""
BYTES_PER_RESULT_ROW = 1_000
"""Memory of one row of metrics (a contract, replication or lever setting) with its share of the tables built
from it [bytes]."""
BYTES_PER_WORKER = 150 * 2**20
"""A worker process's own memory: Python, numpy, pandas, SciPy and SimPy loaded [bytes]."""
BASE_BYTES = 250 * 2**20
"""The main process: the libraries, matplotlib for the charts [bytes]."""
ANNOUNCE_SECONDS = 60.0
"""Jobs expected to take longer than this are announced with their size."""
ANNOUNCE_BYTES = 2 * 2**30
"""Jobs expected to need more memory than this are announced too."""
MEMORY_SHARE = 0.8
"""A job may plan to use at most this share of the memory available."""


@dataclass(frozen=True)
class Estimate:
    """The size of a job: what it simulates, how long it should take and what memory it needs at its peak."""

    what: str
    """The job in words, e.g. '3 contracts × 20 replications'."""
    incidents_per_replication: float
    """Expected incidents of one replication, before prevention (recurrences and major incidents included)."""
    simulations: int
    """Replications × contracts (or lever settings, strategies, points) simulated."""
    incidents: float
    """Incidents simulated in all."""
    workers: int
    """Worker processes used."""
    seconds: float
    """Expected wall time [seconds]."""
    peak_bytes: float
    """Expected peak memory of the whole job, all processes [bytes]."""

    @property
    def announce(self) -> bool:
        """Whether the job is big enough to say so before starting."""
        return self.seconds > ANNOUNCE_SECONDS or self.peak_bytes > ANNOUNCE_BYTES

    def fits(self, available: float | None = None) -> bool:
        """Whether the peak memory fits in the memory available (``None``: read it from the machine)."""
        free = available_memory() if available is None else available
        return free is None or self.peak_bytes <= MEMORY_SHARE * free

    def describe(self) -> str:
        """One sentence: the job's size, time and memory."""
        return (
            f"{self.what}: about {_count(self.incidents)} incidents to simulate "
            f"({_count(self.incidents_per_replication)} per replication and contract), about "
            f"{duration(self.seconds)} on {self.workers} worker process{'es' if self.workers != 1 else ''} and "
            f"{size(self.peak_bytes)} of memory at the peak"
        )

    def refusal(self, shrink: str, available: float | None = None) -> str:
        """Why the job is refused, with the numbers and how to make it fit."""
        free = available_memory() if available is None else available
        have = f"{size(free)} available" if free is not None else "the memory available"
        return (
            f"{self.describe()}, more than this machine can give it ({have}, of which a job may plan to use "
            f"{MEMORY_SHARE:.0%}). Fix: {shrink}; or add --force to start it anyway."
        )


def _count(x: float) -> str:
    if x >= 1e9:
        return f"{x / 1e9:,.1f} billion"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million"
    return f"{x:,.0f}"


def duration(seconds: float) -> str:
    """A duration in words: '40 s', '12 min', '3.5 h', '2.1 days'."""
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.1f} days"


def size(n: float) -> str:
    """A memory size in binary units: '850 MiB', '8.5 GiB'."""
    if n >= 2**40:
        return f"{n / 2**40:,.1f} TiB"
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:,.0f} MiB"


def available_memory() -> float | None:
    """Memory available to a new job [bytes]: ``MemAvailable`` of /proc/meminfo, else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _workers(workers: int, tasks: int) -> int:
    n = workers if workers > 0 else (os.cpu_count() or 1)
    return max(1, min(n, tasks, os.cpu_count() or 1))


def expected_incidents(scenario: Scenario, months: int | None = None) -> float:
    """Expected incidents of one replication over ``months`` (default: the horizon), before prevention, with
    major incidents and the recurrences of fixes at the least thorough policy of the scenario's contracts."""
    months = scenario.horizon_months if months is None else months
    per_month = sum(scenario.expected_incidents_per_month().values())
    p = scenario.provider.recurrence.probability_at(min(c.policy.thoroughness for c in scenario.contracts))
    # Each fix recurs with probability p, a recurrence being fixed again: n/(1 − p) in all, and the model ends a
    # chain after 50 recurrences.
    factor = 51.0 if p >= 1 else min(51.0, 1.0 / (1.0 - p))
    return per_month * months * factor


def _estimate(
    what: str, per_replication: float, simulations: int, workers: int, results_rows: float, kept: float = 0.0
) -> Estimate:
    incidents = per_replication * simulations
    seconds = incidents / INCIDENTS_PER_SECOND + simulations * SECONDS_PER_SIMULATION
    seconds /= workers
    peak = (
        BASE_BYTES
        + workers * (BYTES_PER_WORKER + per_replication * BYTES_PER_INCIDENT)
        + results_rows * BYTES_PER_RESULT_ROW
        + kept * BYTES_PER_TICKET_ROW
    )
    return Estimate(what, per_replication, simulations, incidents, workers, seconds, peak)


def estimate_run(
    scenario: Scenario,
    replications: int,
    workers: int = 1,
    tickets: bool = False,
    verdict: tuple[int, int] = (0, 0),
) -> Estimate:
    """The size of ``msp-sim run``: every contract on every replication, and the verdict's contract simulations
    (without a switch inside a re-simulated range, at most: see
    :func:`simulator.studies.verdict.verdict_simulations`); the time counts the first."""
    contracts = len(scenario.contracts)
    per = expected_incidents(scenario)
    n = _workers(workers, replications)
    rows = replications * contracts * (1 + scenario.horizon_months)
    kept = per * replications * contracts if tickets else 0.0
    what = f"{contracts} contracts × {replications:,} replications of {scenario.horizon_months} months"
    if verdict[1]:
        what += (
            f", and {verdict[0]:,} contract simulations for the verdict (up to {verdict[1]:,} where it flips "
            "inside a re-simulated range)"
        )
    # Every contract of a replication runs in the same worker: a worker's peak is one contract at a time.
    return _estimate(what, per, replications * contracts + verdict[0], n, rows, kept)


def lever_values(space: LeverSpace, only: tuple[str, ...] | None = None) -> dict[str, int]:
    """How many values the incentive grid tries of each lever searched."""
    counts: dict[str, int] = {}
    for lever in ("prevention_hours_per_endpoint_month", "technicians", "monitoring", "thoroughness"):
        spec = getattr(space, lever)
        if spec is None or (only is not None and lever not in only):
            continue
        if lever == "technicians":
            counts[lever] = spec.high - spec.low + 1
        elif lever == "monitoring":
            counts[lever] = len(set(spec))
        else:
            counts[lever] = spec.points
    return counts


def lever_settings(space: LeverSpace, only: tuple[str, ...] | None = None) -> int:
    """How many lever settings the incentive grid of one contract has (without building it)."""
    return math.prod(lever_values(space, only).values())


def estimate_incentives(
    scenario: Scenario,
    replications: int,
    workers: int = 0,
    levers: tuple[str, ...] | None = None,
    analyses: int = 1,
) -> Estimate:
    """The size of ``msp-sim incentives``, at most (the exhaustive search's: ranking and selection simulates the
    settings it drops on fewer replications): every lever setting of every contract on every replication (the
    refinement adds a few dozen settings per contract, the curves through the provider's and the social optimum
    each lever's values and the optimum's own, the marginal profits two simulations per contract), ``analyses``
    times (one per labour cost basis compared)."""
    scenario = scenario.for_incentives()
    settings = scenario.incentives
    spaces = [settings.contracts.get(c.name, settings.levers) for c in scenario.contracts]
    grid = sum(lever_settings(space, levers) for space in spaces)
    refinement = 60 * len(scenario.contracts) if settings.refine else 0
    curves = sum(2 * sum(k + 1 for k in lever_values(space, levers).values() if k > 1) for space in spaces)
    evaluations = (grid + refinement + curves + 2 * len(scenario.contracts)) * analyses
    variants = 1 + len(settings.design.per_downtime_hour) + len(settings.design.per_breach)
    per = expected_incidents(scenario)
    n = _workers(workers, replications)
    what = (
        f"{grid:,} lever settings × {replications:,} replications of {scenario.horizon_months} months"
        f" ({len(scenario.contracts)} contracts)"
        + (f", under {analyses} labour cost bases" if analyses > 1 else "")
        + (
            "; at most: the ranking simulates the settings it drops on fewer replications"
            if settings.search.method == "selection"
            else ""
        )
    )
    return _estimate(what, per, evaluations * replications, n, evaluations * replications * variants)


def estimate_transition(scenario: Scenario, strategies: int, replications: int, workers: int = 0) -> Estimate:
    """The size of ``msp-sim transition``: each strategy re-simulates the portfolio when its plan changes, at
    most once a month."""
    p = scenario.portfolio
    months = scenario.horizon_months
    if p is None:
        return _estimate("no portfolio", 0.0, 0, 1, 0)
    slots = sum(s.count for s in p.starting) + p.sales.max_new_clients
    clients = max(sum(s.count for s in scenario.clients), 1)
    per = expected_incidents(scenario) * slots / clients
    simulations = strategies * replications * (months + 1)
    n = _workers(workers, replications)
    what = f"{strategies} strategies × {replications:,} replications of {months} months"
    return _estimate(what, per, simulations, n, strategies * replications * months)


def estimate_sweep(base: Scenario, points: int, replications: int, workers: int = 0) -> Estimate:
    """The size of ``msp-sim sweep`` at the base scenario's size (points may differ from it)."""
    contracts = len(base.contracts)
    per = expected_incidents(base)
    n = _workers(workers, points)
    rows = points * replications * contracts
    what = f"{points:,} points × {contracts} contracts × {replications:,} replications"
    return _estimate(what, per, points * replications * contracts, n, rows * 3)
