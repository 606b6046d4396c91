"""How time and memory grow with the size of the work (a script, not a test).

Run ``python benchmarks/bench_growth.py [--help]``. Prints
  (1) portfolio size: the small office (``scenarios/small-office.yaml``, every segment's ``count`` scaled) with
      about 10, 100 and 1,000 clients over 24 months, 2 replications, workers=1, warm-up set to 0;
  (2) horizon: 100 clients over 12, 60 and 120 months, likewise;
      for each row of (1) and (2): clients, months, incidents simulated (per contract and replication, the
      incidents that occurred plus those removed by prevention, summed), wall seconds, incidents/s, milliseconds
      per client-month (client-months = clients x months x replications), the tracemalloc peak of the run and
      that peak in bytes per incident; below each table how time and memory grew from the smallest row to the
      largest, per unit of work (incidents simulated): 1.0x is linear growth, below 1 sublinear;
  (3) small sweep points: the rate at which one process evaluates points of the small office as a sweep does
      (``run_point``; 12 months, 10 replications per point; 30 points, best of ``--repeat``): points/s,
      ms/point and incidents per point;
  (4) the M/M/4 pool against its peers: the same arrivals and services (rho 0.75, exponential) through
      ``simulator.engine.pool.run_pool``, an idiomatic SimPy model (a process per customer) with a
      ``PriorityResource`` and with a ``Resource``, and a plain Python loop over a ``heapq`` of completion times
      without SimPy; customers/s of each (best of ``--repeat``, interleaved), the ratios, and the largest
      difference in start times between the models (they must agree to 1e-9 h);
  (5) the incentive search on ``scenarios/incentives.yaml`` with 2 worker processes, its grid ranked (the default)
      and exhaustive, one after the other (minutes; skip with ``--no-incentives``): for each, wall time, time per
      phase and the number of contract simulations it ran; then the ratio of the wall times and whether the
      tables (best responses with their ranges, misalignment, curves, design) are identical;
  (6) replications: the small office with 100, 300 and 1,000 replications, each in a fresh process: seconds,
      replications/s, maximum RSS and result rows, and the memory each further replication adds;
  (7) a large portfolio: the baseline's segments scaled to 5,000 clients (97,500 users), 24 months, 2
      replications, workers=1, in a fresh process (a minute or more; skip with ``--no-large``): incidents
      simulated, seconds, incidents/s and maximum RSS;
and the time each part took and the process's maximum RSS at the end.

Wall times are measured without tracemalloc; the memory columns come from a second run of each row under
tracemalloc, started after a garbage collection (skip with ``--no-tracemalloc``); every row of (1) and (2) is
timed best of ``--repeat``. Random numbers come from local ``numpy.random.default_rng(seed)`` generators only.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import importlib.util
import itertools
import math
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from simulator import load_scenario, simulate
from simulator.config import read_yaml
from simulator.engine.pool import run_pool
from simulator.studies.sweep.execution import PointTask, run_point

ROOT = Path(__file__).resolve().parents[1]
SMALL_OFFICE = ROOT / "scenarios" / "small-office.yaml"
INCENTIVES = ROOT / "scenarios" / "incentives.yaml"
PARTS = ("size", "horizon", "points", "pool", "incentives", "replications", "large")
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LARGE = {
    "clients.small-office.count": 3000,
    "clients.professional-firm.count": 1500,
    "clients.multi-site.count": 500,
}
"""Part (7): the baseline's segments scaled to 5,000 clients."""
RUNS = (100, 300, 1_000)
"""Replications of the small office in part (6)."""
SIZES = (10, 100, 1_000)
HORIZONS = (12, 60, 120)
REPLICATIONS = 2
SWEEP_POINTS = 30
POOL_SERVERS, POOL_RHO, POOL_MEAN_SERVICE, POOL_SEED = 4, 0.75, 1.0, 1


def load_bench_engine() -> ModuleType:
    """``benchmarks/bench_engine.py`` as a module (its timing helpers and SimPy M/M/c), without ``sys.path``."""
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "benchmarks" / "bench_engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ENGINE = load_bench_engine()
timed: Callable[..., tuple[Any, float]] = ENGINE.timed
max_rss_mib: Callable[[], float] = ENGINE.max_rss_mib
simpy_mmc: Callable[..., list[float]] = ENGINE.simpy_mmc


def traced_peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """Result of ``fn()`` and the tracemalloc peak during the call [bytes]. Garbage left by earlier runs is
    collected first, so that the peak does not depend on when the collector last ran."""
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def processed(reps: pd.DataFrame) -> int:
    """Incidents simulated: per contract and replication, incidents that occurred + incidents prevented."""
    return int((reps["incidents"] + reps["prevented"]).sum())


# ------------------------------------------------------------------------------------ (1), (2) growth tables


def client_counts(target: int) -> dict[str, Any]:
    """Overrides scaling every client segment's ``count`` of the small office so the total is about ``target``."""
    segments = read_yaml(SMALL_OFFICE)["clients"]
    total = sum(int(s.get("count", 1)) for s in segments)
    return {
        f"clients.{k}.count": max(1, round(int(s.get("count", 1)) * target / total))
        for k, s in enumerate(segments)
    }


def growth_row(target: int, months: int, args: argparse.Namespace) -> dict[str, Any]:
    overrides = {**client_counts(target), "horizon_months": months, "warmup_months": 0}
    scenario = load_scenario(SMALL_OFFICE, overrides)
    clients = sum(c.count for c in scenario.clients)

    def run() -> pd.DataFrame:
        return simulate(scenario, replications=REPLICATIONS, workers=1).replications

    reps, seconds = timed(run, args.repeat)
    incidents = processed(reps)
    peak = math.nan
    if not args.no_tracemalloc:
        traced, peak_bytes = traced_peak(run)
        assert processed(traced) == incidents, "the traced run should simulate the same incidents"
        peak = float(peak_bytes)
    return {
        "clients": clients,
        "months": months,
        "incidents": incidents,
        "wall_s": seconds,
        "incidents/s": incidents / seconds,
        "ms/client-month": seconds * 1000 / (clients * months * REPLICATIONS),
        "peak_MiB": peak / 2**20,
        "peak_B/incident": peak / incidents,
    }


def print_table(rows: list[dict[str, Any]], what: str) -> None:
    table = pd.DataFrame(rows)
    formats = {
        "clients": "{:,d}".format,
        "months": "{:d}".format,
        "incidents": "{:,d}".format,
        "wall_s": "{:.3f}".format,
        "incidents/s": "{:,.0f}".format,
        "ms/client-month": "{:.4f}".format,
        "peak_MiB": "{:,.1f}".format,
        "peak_B/incident": "{:,.0f}".format,
    }
    print("    " + table.to_string(index=False, formatters=formats).replace("\n", "\n    "))
    small, large = rows[0], rows[-1]
    work = large["incidents"] / small["incidents"]
    time_ratio = large["wall_s"] / small["wall_s"]
    print(
        f"    {what}: work (incidents) x{work:,.1f}; time x{time_ratio:,.1f}"
        f" -> time grows {time_ratio / work:.2f}x per unit of work"
    )
    if math.isfinite(small["peak_MiB"]):
        mem_ratio = large["peak_MiB"] / small["peak_MiB"]
        print(
            f"    {what}: tracemalloc peak x{mem_ratio:,.1f}"
            f" -> memory grows {mem_ratio / work:.2f}x per unit of work"
        )


def warm_up() -> None:
    """Imports and caches filled outside the timings."""
    scenario = load_scenario(SMALL_OFFICE, {**client_counts(SIZES[0]), "horizon_months": 12})
    simulate(scenario, replications=1, workers=1)


def bench_size(args: argparse.Namespace) -> None:
    warm_up()
    rows = [growth_row(n, 24, args) for n in SIZES]
    print(
        f"(1) portfolio size: small office, 24 months x {REPLICATIONS} replications, workers=1, warm-up 0"
        f"{'' if args.no_tracemalloc else '; memory from a separate run under tracemalloc'}"
    )
    print_table(rows, f"from {rows[0]['clients']:,} to {rows[-1]['clients']:,} clients")


def bench_horizon(args: argparse.Namespace) -> None:
    warm_up()
    rows = [growth_row(100, months, args) for months in HORIZONS]
    print(
        f"(2) horizon: small office, about 100 clients x {REPLICATIONS} replications, workers=1, warm-up 0"
        f"{'' if args.no_tracemalloc else '; memory from a separate run under tracemalloc'}"
    )
    print_table(rows, f"from {HORIZONS[0]} to {HORIZONS[-1]} months")


# ---------------------------------------------------------------------------------------- (6) replications

_ONE_RUN = """
import resource, sys, time
from simulator import load_scenario, simulate
scenario = load_scenario(sys.argv[1])
t = time.perf_counter()
result = simulate(scenario, replications=int(sys.argv[2]), workers=1)
result.summary
seconds = time.perf_counter() - t
try:  # this process's own high-water mark: ru_maxrss would keep the parent's across exec on Linux
    with open("/proc/self/status", encoding="ascii") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 2**10
except OSError:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
print(seconds, rss, len(result.replications), len(result.monthly))
"""


def bench_replications(args: argparse.Namespace) -> None:
    """Each count of replications in a fresh process (its maximum RSS is its own): how the memory of a run grows
    with its replications when nothing but the results tables should grow."""
    import subprocess

    print(
        f"(6) replications: {SMALL_OFFICE.relative_to(ROOT)} (12 months, 3 contracts), simulate() with workers=1,"
        " the summary computed; each row a fresh process"
    )
    print(f"    {'replications':>12} {'seconds':>8} {'repl./s':>8} {'max RSS MiB':>12} {'result rows':>12}")
    rows = []
    for n in RUNS:
        done = subprocess.run(
            [sys.executable, "-c", _ONE_RUN, str(SMALL_OFFICE), str(n)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        seconds, rss, reps, monthly = (float(v) for v in done.stdout.split())
        rows.append((n, seconds, rss))
        print(f"    {n:>12,} {seconds:>8.1f} {n / seconds:>8.1f} {rss:>12,.1f} {int(reps + monthly):>12,}")
    (n0, _, rss0), (n1, _, rss1) = rows[0], rows[-1]
    print(
        f"    memory per further replication: {(rss1 - rss0) * 2**10 / (n1 - n0):,.1f} KiB"
        " (the replication and monthly rows it adds to the results, in the final tables and in the forms they"
        " are built from at the end; no replication's incidents, tickets or logs are kept)"
    )


# ------------------------------------------------------------------------------------------- (7) large

_LARGE_RUN = """
import json, resource, sys, time
from simulator import load_scenario, simulate
scenario = load_scenario(sys.argv[1], json.loads(sys.argv[2]))
t = time.perf_counter()
reps = simulate(scenario, replications=2, workers=1).replications
seconds = time.perf_counter() - t
try:
    with open("/proc/self/status", encoding="ascii") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 2**10
except OSError:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)
users = sum(s.count * s.users for s in scenario.clients)
print(seconds, rss, float((reps["incidents"] + reps["prevented"]).sum()), users)
"""


def bench_large(args: argparse.Namespace) -> None:
    """The baseline scaled to 5,000 clients in a fresh process: its maximum RSS is the run's own."""
    import json
    import subprocess

    overrides = {"horizon_months": 24, "warmup_months": 0, **LARGE}
    done = subprocess.run(
        [sys.executable, "-c", _LARGE_RUN, str(BASELINE), json.dumps(overrides)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    seconds, rss, incidents, users = (float(v) for v in done.stdout.split())
    print(
        f"(7) large portfolio: {BASELINE.relative_to(ROOT)} with {sum(LARGE.values()):,} clients"
        f" ({users:,.0f} users), 24 months x 2 replications, workers=1, warm-up 0, a fresh process"
    )
    print(
        f"    {incidents:,.0f} incidents in {seconds:,.1f} s -> {incidents / seconds:,.0f} incidents/s;"
        f" maximum RSS {rss / 2**10:,.2f} GiB"
    )


# ------------------------------------------------------------------------------------------ (3) sweep points


def bench_points(args: argparse.Namespace) -> None:
    base = read_yaml(SMALL_OFFICE)
    replications = 10

    def task(i: int) -> PointTask:
        return PointTask(
            f"p{i:03d}",
            values={},
            overrides={"horizon_months": 12},
            base=base,
            replications=replications,
            seed=i,
        )

    tasks = [task(i) for i in range(SWEEP_POINTS)]
    run_point(task(SWEEP_POINTS))  # warm

    def run() -> list[int]:
        return [processed(run_point(t)[0]) for t in tasks]

    counts, seconds = timed(run, args.repeat)
    print(
        f"(3) small sweep points in one process (run_point): small office, 12 months x {replications}"
        f" replications per point, {SWEEP_POINTS} points (seeds 0-{SWEEP_POINTS - 1}), best of {args.repeat}"
    )
    print(
        f"    {SWEEP_POINTS / seconds:,.1f} points/s = {seconds * 1000 / SWEEP_POINTS:,.1f} ms/point;"
        f" {np.mean(counts):,.0f} incidents per point (all contracts and replications)"
        f" -> {sum(counts) / seconds:,.0f} incidents/s"
    )


# ------------------------------------------------------------------------------------------------ (4) M/M/4


def heap_mmc(arrival: list[float], priority: list[int], service: list[float], servers: int) -> list[float]:
    """Non-preemptive priority M/M/c as a plain loop: a heap of completion times, a heap of waiting customers
    ordered like ``run_pool`` (priority, arrival, submission). Returns each customer's start of service."""
    heappush, heappop = heapq.heappush, heapq.heappop
    start = [math.nan] * len(arrival)
    busy: list[float] = []  # completion times of the customers in service
    waiting: list[tuple[int, float, int]] = []
    free = servers

    def complete_until(t: float) -> None:
        nonlocal free
        while busy and busy[0] <= t:
            end = heappop(busy)
            if waiting:
                j = heappop(waiting)[2]
                start[j] = end
                heappush(busy, end + service[j])
            else:
                free += 1

    for i, t in enumerate(arrival):
        complete_until(t)
        if free:
            free -= 1
            start[i] = t
            heappush(busy, t + service[i])
        else:
            heappush(waiting, (priority[i], t, i))
    complete_until(math.inf)
    return start


def bench_pool(args: argparse.Namespace) -> None:
    servers, mean_service = POOL_SERVERS, POOL_MEAN_SERVICE
    rate = POOL_RHO * servers / mean_service
    rng = np.random.default_rng(POOL_SEED)
    n = args.customers
    arrival = np.cumsum(rng.exponential(1 / rate, n))
    service = rng.exponential(mean_service, n)
    priority = np.full(n, 3, dtype=np.int8)
    arr_l, svc_l, pri_l = arrival.tolist(), service.tolist(), priority.tolist()

    models: dict[str, Callable[[], Any]] = {
        "run_pool (SimPy as a bare scheduler)": lambda: run_pool(arrival, priority, service, servers).start,
        "SimPy process per customer, PriorityResource": lambda: simpy_mmc(
            arr_l, svc_l, servers, priority=True
        ),
        "SimPy process per customer, Resource": lambda: simpy_mmc(arr_l, svc_l, servers, priority=False),
        "heapq loop, no SimPy": lambda: heap_mmc(arr_l, pri_l, svc_l, servers),
    }
    best = dict.fromkeys(models, math.inf)
    starts: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):  # interleaved, so a burst of load elsewhere hits one try, not all
        for label, fn in models.items():
            out, seconds = timed(fn)
            best[label] = min(best[label], seconds)
            starts[label] = np.asarray(out, dtype=float)
    reference = starts["run_pool (SimPy as a bare scheduler)"]
    diff = max(float(np.max(np.abs(s - reference))) for s in starts.values())
    assert diff < 1e-9, f"start times differ by {diff:.3e} h"

    print(
        f"(4) M/M/{servers}, rho={POOL_RHO}, lambda={rate:g}/h, E[S]={mean_service:g} h, {n:,} customers, "
        f"seed {POOL_SEED}; best of {args.repeat}, interleaved; same arrivals and services in every model"
    )
    for label, seconds in best.items():
        print(f"    {label:<46} {n / seconds:>10,.0f} customers/s  ({seconds:.3f} s)")
    t_pool = best["run_pool (SimPy as a bare scheduler)"]
    t_prio = best["SimPy process per customer, PriorityResource"]
    t_fifo = best["SimPy process per customer, Resource"]
    t_heap = best["heapq loop, no SimPy"]
    print(
        f"    run_pool / PriorityResource {t_prio / t_pool:.2f}x; run_pool / Resource {t_fifo / t_pool:.2f}x;"
        f" heapq loop / run_pool {t_pool / t_heap:.2f}x (ratios of customers/s)"
    )
    wait = reference - arrival
    print(
        f"    mean wait {wait.mean():.4f} h (Erlang C {ENGINE.erlang_c_wait(servers, rate, mean_service):.4f} h);"
        f" max |start difference| between the four models {diff:.2e} h"
    )


# --------------------------------------------------------------------------------------- (5) incentive search


def _search(scenario: Any, method: str, workers: int) -> tuple[Any, float, list[tuple[str, float]]]:
    """One incentive analysis with the grid searched by ``method``: its results, wall seconds and phase marks."""
    from simulator.incentives import analyze_incentives

    chosen = scenario.model_copy(
        update={
            "incentives": scenario.incentives.model_copy(
                update={"search": scenario.incentives.search.model_copy(update={"method": method})}
            )
        }
    )
    phases: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    inc = analyze_incentives(
        chosen, workers=workers, progress=lambda msg: phases.append((msg, time.perf_counter()))
    )
    seconds = time.perf_counter() - t0
    marks = [("starting the worker processes, building the grids", t0), *phases, ("end", t0 + seconds)]
    return inc, seconds, [(label, end - start) for (label, start), (_, end) in itertools.pairwise(marks)]


def _simulations(inc: Any) -> tuple[int, int, int, int]:
    """Contract simulations an analysis ran (one contract over one replication's incidents is one), as it counts
    them: the grid's, the refinement's and the curves' (a setting simulated once is not simulated again for a
    later phase), and the marginal profits' (every contract twice per replication: the incidents, then the same
    incidents plus more)."""
    spent = inc.simulations
    return spent["grid"], spent["refinement"], spent["curves"], spent["marginal_profits"]


def bench_incentives(args: argparse.Namespace) -> None:
    workers = 2
    scenario = load_scenario(INCENTIVES)
    runs = {method: _search(scenario, method, workers) for method in ("selection", "exhaustive")}
    inc = runs["selection"][0]
    n = int(inc.evaluations["replication"].nunique())
    print(
        f"(5) incentive search: {INCENTIVES.relative_to(ROOT)}, {len(inc.scenario.contracts)} contracts,"
        f" {inc.scenario.horizon_months} months simulated x {n} replications, workers={workers};"
        " the grid ranked (the default) and exhaustive (--exhaustive), one after the other"
    )
    for method, (found, seconds, phases) in runs.items():
        grid, refinement, curves, marginal = _simulations(found)
        total = grid + refinement + curves + marginal
        print(f"    {method}: wall time {seconds:,.1f} s; by phase:")
        for label, took in phases:
            print(f"      {label:<60} {took:8.1f} s")
        print(
            f"      contract simulations (one contract over one replication): {total:,} = grid {grid:,}"
            f" ({len(found.search)} lever settings, {grid / len(found.search):.2f} replications each on average)"
            f" + refinement {refinement:,} + curves {curves:,} + marginal profits {marginal:,}"
            f" -> {total / seconds:,.1f} simulations/s"
        )
    ranked, every = runs["selection"], runs["exhaustive"]
    same = {
        name: getattr(ranked[0], name).equals(getattr(every[0], name))
        for name in ("best_response", "misalignment", "curves", "design")
    }
    print(
        f"    ranked / exhaustive: {ranked[1] / every[1]:.2f}x the wall time; tables identical: "
        + ", ".join(f"{name} {'yes' if ok else 'NO'}" for name, ok in same.items())
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    children /= 2**20 if sys.platform == "darwin" else 2**10
    print(f"    max RSS of the largest finished worker process: {children:,.1f} MiB")


# ---------------------------------------------------------------------------------------------------- main


def parse_parts(values: list[str] | None) -> list[str]:
    if not values:
        return list(PARTS)
    chosen = {p.strip() for v in values for p in v.split(",") if p.strip()}
    unknown = sorted(chosen - set(PARTS))
    if unknown:
        raise SystemExit(f"--only: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    return [p for p in PARTS if p in chosen]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PART",
        help=f"run these parts only ({', '.join(PARTS)}); repeat the option or give a comma list",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timings: best of this many runs (default 3)")
    parser.add_argument("--customers", type=int, default=200_000, help="M/M/4 customers (default 200000)")
    parser.add_argument("--no-incentives", action="store_true", help="skip the incentive search (minutes)")
    parser.add_argument(
        "--no-large", action="store_true", help="skip the 5,000-client run (a minute or more)"
    )
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip the traced (slower) runs of the growth tables"
    )
    args = parser.parse_args(argv)
    parts = parse_parts(args.only)
    if args.no_incentives and "incentives" in parts:
        parts.remove("incentives")
    if args.no_large and "large" in parts:
        parts.remove("large")
    benches: dict[str, Callable[[argparse.Namespace], None]] = {
        "size": bench_size,
        "horizon": bench_horizon,
        "points": bench_points,
        "replications": bench_replications,
        "pool": bench_pool,
        "incentives": bench_incentives,
        "large": bench_large,
    }
    took: dict[str, float] = {}
    for part in parts:
        t0 = time.perf_counter()
        benches[part](args)
        took[part] = time.perf_counter() - t0
        print(f"    [{part}: {took[part]:,.1f} s]")
    print("time per part: " + ", ".join(f"{p} {s:,.1f} s" for p, s in took.items()))
    print(f"max RSS of the process at the end: {max_rss_mib():,.1f} MiB")


if __name__ == "__main__":
    main()
