"""Replications, in one process or many, and their tidy results with confidence intervals (DESIGN.md §5–6)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from simulator.base.processes import process_pool
from simulator.base.records import BillingContext
from simulator.config import Scenario
from simulator.contracts.invoices import invoice_lines
from simulator.engine.incidents import ClientTable, client_table
from simulator.engine.replication import PlanSetup, Stack, contract_setup, simulate_replications
from simulator.metrics import METRICS, billing_context, measure_runs, ticket_time_counts, time_edges

from .estimate import expected_incidents

__all__ = [
    "Results",
    "paired_differences",
    "replications_to_separate",
    "run_replication",
    "run_replications",
    "run_tasks",
    "simulate",
    "summarize",
]


@dataclass
class Results:
    """Tidy outputs of a run: one row per contract × replication, summaries and monthly series."""

    scenario: Scenario
    replications: pd.DataFrame
    monthly: pd.DataFrame
    tickets: pd.DataFrame | None = None
    times: pd.DataFrame | None = None
    """Ticket response and resolution times as histograms summed over replications: ``contract, measure,
    priority, upper_hours, count`` (``count`` tickets took at most ``upper_hours``, more than the previous edge)."""
    invoices: pd.DataFrame | None = None
    """The first replication's invoices over the measured months, one row per line (see
    :func:`~simulator.contracts.invoices.invoice_lines`), every contract in scenario order; None when not kept."""

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Mean, standard deviation and 95% interval of every metric per contract (see :func:`summarize`),
        computed when first asked for (a sweep point never asks)."""
        return summarize(self.replications)

    @cached_property
    def differences(self) -> pd.DataFrame:
        """Each contract minus the reference, paired by replication (see :func:`paired_differences`)."""
        return paired_differences(self.replications, self.scenario.reference)

    @property
    def contracts(self) -> list[str]:
        """Contract names in scenario order."""
        return [c.name for c in self.scenario.contracts]

    def table(self, metric: str) -> pd.DataFrame:
        """One metric's summary rows, one per contract."""
        return self.summary[self.summary["metric"] == metric].set_index("contract").loc[self.contracts]


@dataclass(frozen=True)
class Prepared:
    """What every replication of a scenario shares: the client table, the billing context, the ticket-time bins
    and each contract's replication-free set-up (in scenario order). Made once, when one process runs many
    replications."""

    clients: ClientTable
    ctx: BillingContext
    edges: np.ndarray
    setups: tuple[PlanSetup, ...]


def prepare(scenario: Scenario) -> Prepared:
    """The :class:`Prepared` set-up of ``scenario``."""
    clients = client_table(scenario)
    return Prepared(
        clients=clients,
        ctx=billing_context(scenario, clients),
        edges=time_edges(scenario),
        setups=tuple(contract_setup(scenario, c, clients) for c in scenario.contracts),
    )


def run_replication(
    scenario: Scenario,
    replication: int,
    seed: int,
    keep_tickets: bool = False,
    keep_invoices: bool = False,
    series: bool = True,
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """Simulate every contract of one replication on the same incidents (common random numbers): ``rows`` (one
    dict of totals per contract), ``monthly`` (the measured months' series as columns of arrays), ``times`` (the
    ticket-time histograms), ``tickets`` and ``invoices`` (None unless kept). With ``keep_invoices``, the first
    replication (number 0) also returns its invoice lines over the measured months. Without ``series`` only the
    replication's totals are kept (no monthly series, no ticket-time histograms). ``prepared``: the scenario's
    :func:`prepare`, when one process runs many replications."""
    return run_replications(scenario, [replication], seed, keep_tickets, keep_invoices, series, prepared)[0]


def run_replications(
    scenario: Scenario,
    replications: Sequence[int],
    seed: int,
    keep_tickets: bool = False,
    keep_invoices: bool = False,
    series: bool = True,
    prepared: Prepared | None = None,
) -> list[dict[str, Any]]:
    """:func:`run_replication` of each of ``replications``, simulated side by side (see
    :func:`~simulator.engine.replication.simulate_replications`): the same numbers, at a fraction of the fixed
    cost of small replications."""
    if prepared is None:
        prepared = prepare(scenario)
    clients, ctx, edges = prepared.clients, prepared.ctx, prepared.edges
    # The replications' incidents side by side, for every contract.
    stack = Stack.generate(scenario, clients, replications, seed)
    collected = [_Collected() for _ in replications]
    measured = np.arange(scenario.horizon_months) >= scenario.warmup_months
    k = int(measured.sum())
    for contract, setup in zip(scenario.contracts, prepared.setups, strict=True):
        runs = simulate_replications(scenario, setup, stack, seed)
        measured_runs = measure_runs(scenario, contract, runs, ctx)
        for i, (replication, run, row, out) in enumerate(
            zip(replications, runs, measured_runs.rows, collected, strict=True)
        ):
            if keep_invoices and replication == 0:
                lines = invoice_lines(measured_runs.ledger(i), run.tickets, ctx, contract.name)
                out.invoices.append(lines[lines["month"] >= scenario.warmup_months])
            out.rows.append({"contract": contract.name, "replication": replication, "seed": seed, **row})
            if keep_tickets:
                t = run.tickets.to_frame()
                t.insert(0, "replication", replication)
                t.insert(0, "contract", contract.name)
                out.tickets.append(t)
            if series:
                out.times[contract.name] = ticket_time_counts(scenario, run, ctx, edges)
                out.monthly.append(
                    {
                        "contract": np.full(k, contract.name, dtype=object),
                        "replication": np.full(k, replication, dtype=np.int64),
                        "month": np.arange(scenario.horizon_months)[measured],
                        **{
                            name: np.asarray(values)[measured]
                            for name, values in measured_runs.monthly(i).series().items()
                        },
                    }
                )
        # Before the next contract's runs (the loop's last run too): one contract's logs in memory at a time.
        del runs, run, measured_runs
    return [out.result() for out in collected]


@dataclass
class _Collected:
    """What :func:`run_replications` keeps of one replication, contract by contract."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    monthly: list[dict[str, np.ndarray]] = field(default_factory=list)
    tickets: list[pd.DataFrame] = field(default_factory=list)
    invoices: list[pd.DataFrame] = field(default_factory=list)
    times: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        monthly = self.monthly
        return {
            "rows": self.rows,
            # Columns of arrays rather than a frame: a frame's own overhead, per replication, would outweigh its
            # rows.
            "monthly": {c: np.concatenate([m[c] for m in monthly]) for c in monthly[0]} if monthly else None,
            "tickets": pd.concat(self.tickets) if self.tickets else None,
            "times": self.times,
            "invoices": pd.concat(self.invoices, ignore_index=True) if self.invoices else None,
        }


def _times_frame(scenario: Scenario, totals: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """The replications' ticket-time histograms (``totals``: summed per contract and measure) as tidy rows (empty
    bins left out)."""
    edges = time_edges(scenario)
    frames = []
    for contract in scenario.contracts:
        for name in ("response", "resolution"):
            counts = totals[contract.name][name]
            for p, row in enumerate(counts, start=1):
                frames.append(
                    pd.DataFrame(
                        {
                            "contract": contract.name,
                            "measure": name,
                            "priority": f"P{p}",
                            "upper_hours": edges[1:],
                            "count": row.astype(np.int64),
                        }
                    )
                )
    frame = pd.concat(frames, ignore_index=True)
    return frame[frame["count"] > 0].reset_index(drop=True)


def _replications_task(
    args: tuple[Scenario, list[int], int, bool, bool, bool, Prepared | None],
) -> list[dict[str, Any]]:
    return run_replications(*args)


BATCH_INCIDENTS = 20_000
"""About how many incidents (expected, all replications together) the replications simulated side by side in one
task may have: small replications are batched, whose fixed cost would outweigh their work; a large one runs
alone."""

MOST_BATCHED = 16
"""Most replications one task simulates side by side."""


def batches(scenario: Scenario, replications: int, workers: int) -> list[list[int]]:
    """The replications ``0 .. replications-1`` in the batches :func:`simulate` gives its tasks: consecutive, of
    at most :data:`MOST_BATCHED` and about :data:`BATCH_INCIDENTS` expected incidents, and at least one per
    worker process."""
    expected = max(expected_incidents(scenario), 1.0)
    size = max(1, min(MOST_BATCHED, int(BATCH_INCIDENTS // expected)))
    size = min(size, max(1, math.ceil(replications / worker_count(workers, replications))))
    return [list(range(r, min(r + size, replications))) for r in range(0, replications, size)]


T = TypeVar("T")
R = TypeVar("R")


def worker_count(workers: int, tasks: int) -> int:
    """The processes :func:`each_task` uses for ``tasks`` tasks: ``workers`` (0: every core), at most one per task,
    at least one."""
    return max(1, min(workers if workers > 0 else (os.cpu_count() or 1), tasks))


def each_task(fn: Callable[[T], R], tasks: list[T], workers: int, progress: Any = None) -> Iterator[R]:
    """``fn`` over ``tasks``, each result yielded in order as it is ready, in this process (workers=1) or a
    process pool (0 = all cores); ``fn`` must be a top-level function. ``progress`` is called once per finished
    task. A caller that folds each result in as it comes holds one at a time (a pool may hold a few finished
    early)."""
    workers = worker_count(workers, len(tasks))
    if workers == 1:
        for task in tasks:
            yield fn(task)
            if progress:
                progress()
        return
    with process_pool(workers) as pool:
        for result in pool.map(fn, tasks):
            yield result
            if progress:
                progress()


def run_tasks(fn: Callable[[T], R], tasks: list[T], workers: int, progress: Any = None) -> list[R]:
    """Every result of :func:`each_task`, in order."""
    return list(each_task(fn, tasks, workers, progress))


def simulate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    tickets: bool = False,
    progress: Any = None,
    invoices: bool = False,
    series: bool = True,
) -> Results:
    """Run the scenario's contracts over ``replications`` replications.

    The same seed gives identical numbers for any ``workers`` (each replication's streams depend only on the seed
    and its number). ``progress`` is an optional callable invoked once per finished replication. ``tickets``
    keeps every ticket log, ``invoices`` the first replication's invoice lines. Without ``series`` only the
    replications' totals are kept (``monthly`` is empty, ``times`` None): what a sweep point needs.
    """
    n = replications if replications is not None else scenario.replications
    s = scenario.seed if seed is None else seed
    if n < 1:
        raise ValueError("replications must be at least 1")
    # In one process the replications share one set-up; a worker process makes its own (cheaper than sending it).
    prepared = prepare(scenario) if worker_count(workers, n) == 1 else None
    tasks = [
        (scenario, batch, s, tickets, invoices, series, prepared) for batch in batches(scenario, n, workers)
    ]
    # Each replication is folded in as it finishes (its rows kept, its histograms added up), so that a long run
    # holds the results, not every replication's outputs.
    rows: list[dict[str, Any]] = []
    monthly_parts: list[dict[str, np.ndarray]] = []
    ticket_frames: list[pd.DataFrame] = []
    invoice_frames: list[pd.DataFrame] = []
    totals: dict[str, dict[str, np.ndarray]] = {}
    for out in (one for batch in each_task(_replications_task, tasks, workers) for one in batch):
        if progress:
            progress()
        rows += out["rows"]
        if series:
            monthly_parts.append(out["monthly"])
            for contract, counts in out["times"].items():
                mine = totals.setdefault(contract, {})
                for name, values in counts.items():
                    mine[name] = values if name not in mine else mine[name] + values
        if out["tickets"] is not None:
            ticket_frames.append(out["tickets"])
        if out["invoices"] is not None:
            invoice_frames.append(out["invoices"])
    monthly = (
        pd.DataFrame({c: np.concatenate([m[c] for m in monthly_parts]) for c in monthly_parts[0]})
        if series
        else pd.DataFrame()
    )
    del monthly_parts
    return Results(
        scenario=scenario,
        replications=pd.DataFrame(rows),
        monthly=monthly,
        tickets=pd.concat(ticket_frames, ignore_index=True) if ticket_frames else None,
        times=_times_frame(scenario, totals) if series else None,
        invoices=pd.concat(invoice_frames, ignore_index=True) if invoice_frames else None,
    )


@cache
def _t975(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (asked for again and again)."""
    return float(stats.t.ppf(0.975, df))


def interval(values: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and 95% t-interval of the non-missing values."""
    x = values[~np.isnan(values)]
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    sd = float(x.std(ddof=1)) if n > 1 else np.nan
    half = _t975(n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
    return {"mean": mean, "std": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def replications_to_separate(mean: float, std: float, power: float = 0.8) -> int | None:
    """About how many paired replications a difference of ``mean`` (spread ``std`` between replications) needs to
    be significant at 95% with probability ``power``: ``((z₀.₉₇₅ + z_power) · std / |mean|)²``, at least 2; None
    without a spread or a difference."""
    if not (np.isfinite(mean) and np.isfinite(std)) or mean == 0 or std <= 0:
        return None
    z = float(stats.norm.ppf(0.975) + stats.norm.ppf(power))
    return max(2, math.ceil((z * std / abs(mean)) ** 2))


def summarize(replications: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and 95% t-interval of every metric per contract: ``contract, metric, mean, std,
    ci_low, ci_high, n``."""
    rows = []
    for contract, group in replications.groupby("contract", sort=False):
        values = group[list(METRICS)].to_numpy(dtype=float)
        rows += [
            {"contract": contract, "metric": metric, **interval(values[:, j])}
            for j, metric in enumerate(METRICS)
        ]
    return pd.DataFrame(rows)


def paired_differences(replications: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each contract minus the reference contract, paired by replication, with a 95% t-interval."""
    ref = replications[replications["contract"] == reference].set_index("replication")
    rows = []
    for contract, group in replications.groupby("contract", sort=False):
        if contract == reference:
            continue
        g = group.set_index("replication")
        common = g.index.intersection(ref.index)
        mine = g.loc[common, list(METRICS)].to_numpy(dtype=float)
        theirs = ref.loc[common, list(METRICS)].to_numpy(dtype=float)
        for j, metric in enumerate(METRICS):
            diff = mine[:, j] - theirs[:, j]
            rows.append({"contract": contract, "reference": reference, "metric": metric, **interval(diff)})
    return pd.DataFrame(rows)
