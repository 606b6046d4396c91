"""Throughput and memory of the simulation engine (a script, not a test).

Run ``python benchmarks/bench_engine.py [--help]``. Prints
  (a) the baseline scenario end to end (incident generation, simulation, billing, metrics) with one worker:
      incidents per second and peak memory (tracemalloc peak of the run, and the process's maximum RSS);
  (b) an M/M/c queue: the same arrivals and services through ``simulator.engine.pool.run_pool`` and through an
      idiomatic SimPy model (a process per customer, a ``Resource``/``PriorityResource``, customers started by
      a source process), customers per second for each and the ratio; then an M/M/c-like scenario through the
      full engine, incidents per second.
Random numbers come from local ``numpy.random.default_rng(seed)`` generators only.
"""

from __future__ import annotations

import argparse
import importlib.util
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
import simpy

from simulator import Results, load_scenario, simulate
from simulator.engine.pool import run_pool

ROOT = Path(__file__).resolve().parents[1]


def load_helpers() -> ModuleType:
    """The test helpers that build small scenarios (``tests/helpers.py``), without touching ``sys.path``."""
    spec = importlib.util.spec_from_file_location("scenario_helpers", ROOT / "tests" / "helpers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def erlang_c_wait(servers: int, rate: float, mean_service: float) -> float:
    """Mean wait in queue of M/M/c [hours]."""
    a = rate * mean_service
    top = a**servers / math.factorial(servers) / (1 - a / servers)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers / mean_service - rate)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    """Result of the last call and the best wall time over ``repeat`` calls [s]."""
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def max_rss_mib() -> float:
    """Maximum resident set size of this process so far (Linux reports KiB, macOS bytes) [MiB]."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


# --------------------------------------------------------------------------------------------- (a) baseline


def bench_baseline(args: argparse.Namespace) -> None:
    overrides: dict[str, Any] = {
        "warmup_months": 0
    }  # count every incident; the warm-up only cuts measurement
    if args.months:
        overrides["horizon_months"] = args.months
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides)

    def run() -> Results:
        return simulate(scenario, replications=args.replications, workers=1)

    run_once = run()  # warm imports and caches outside the timing
    results, seconds = timed(run, args.repeat)
    pd.testing.assert_frame_equal(run_once.replications, results.replications)
    reps = results.replications

    # What is counted: per contract and replication, every incident the contract's run had to decide about =
    # incidents that occurred (after prevention, recurrences included) + incidents removed by prevention.
    # incidents + prevented − recurrences is the replication's generated (base-rate) set, the same for every
    # contract.
    per = reps.groupby("contract", sort=False)[["incidents", "prevented", "recurrences", "tickets"]].sum()
    per["processed"] = per["incidents"] + per["prevented"]
    generated = (reps["incidents"] + reps["prevented"] - reps["recurrences"]).groupby(reps["replication"])
    assert (generated.nunique() == 1).all(), "contracts should see the same generated incidents"
    total = float(per["processed"].sum())

    print("(a) baseline scenario, end to end (generate + simulate + bill + measure), workers=1")
    print(
        f"    {scenario.horizon_months} months x {args.replications} replications"
        f" x {len(scenario.contracts)} contracts, warm-up set to 0; wall time {seconds:.2f} s"
        f" (best of {args.repeat})"
    )
    print(f"    generated base incidents per replication (shared): {generated.first().mean():,.0f}")
    print("    per contract, summed over replications (processed = incidents + prevented):")
    print("      " + per.astype(int).to_string().replace("\n", "\n      "))
    print(f"    incidents processed, all contracts: {total:,.0f} -> {total / seconds:,.0f} incidents/s")
    print(
        f"    generated incidents (counted once per replication): {generated.first().sum():,.0f} -> "
        f"{generated.first().sum() / seconds:,.0f} incidents/s"
    )

    if not args.no_tracemalloc:
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"    tracemalloc peak during one run: {peak / 2**20:,.1f} MiB")
    print(f"    max RSS of the process so far: {max_rss_mib():,.1f} MiB")


# --------------------------------------------------------------------------------------------- (b) M/M/c


def simpy_mmc(arrival: list[float], service: list[float], servers: int, priority: bool) -> list[float]:
    """Idiomatic SimPy M/M/c: a source process starts one process per customer, who queues for a resource.

    Returns each customer's start of service.
    """
    env = simpy.Environment()
    start = [math.nan] * len(arrival)
    fifo = simpy.Resource(env, capacity=servers)
    ranked = simpy.PriorityResource(env, capacity=servers)

    def fifo_customer(env: simpy.Environment, i: int) -> Any:
        with fifo.request() as req:
            yield req
            start[i] = env.now
            yield env.timeout(service[i])

    def ranked_customer(env: simpy.Environment, i: int) -> Any:
        with ranked.request(priority=3) as req:
            yield req
            start[i] = env.now
            yield env.timeout(service[i])

    customer = ranked_customer if priority else fifo_customer

    def source(env: simpy.Environment) -> Any:
        for i, t in enumerate(arrival):
            yield env.timeout(t - env.now)
            env.process(customer(env, i))

    env.process(source(env))
    env.run()
    return start


def bench_mmc(args: argparse.Namespace) -> None:
    servers, mean_service = args.servers, 1.0
    rate = args.rho * servers / mean_service
    rng = np.random.default_rng(args.seed)
    n = args.customers
    arrival = np.cumsum(rng.exponential(1 / rate, n))
    service = rng.exponential(mean_service, n)
    priority = np.full(n, 3, dtype=np.int8)

    pool, t_pool = timed(lambda: run_pool(arrival, priority, service, servers), args.repeat)
    arr_l, svc_l = arrival.tolist(), service.tolist()
    fifo, t_fifo = timed(lambda: simpy_mmc(arr_l, svc_l, servers, priority=False), args.repeat)
    prio, t_prio = timed(lambda: simpy_mmc(arr_l, svc_l, servers, priority=True), args.repeat)
    wait_pool = pool.start - arrival
    diff = max(
        float(np.max(np.abs(np.asarray(fifo) - pool.start))),
        float(np.max(np.abs(np.asarray(prio) - pool.start))),
    )

    print(f"(b) M/M/{servers}, rho={args.rho}, lambda={rate:g}/h, E[S]={mean_service:g} h, {n:,} customers")
    print(f"    (best of {args.repeat}; same arrivals and services in every model)")
    for label, seconds in (
        ("run_pool (SimPy as a bare scheduler)", t_pool),
        ("SimPy process per customer, Resource", t_fifo),
        ("SimPy process per customer, PriorityResource", t_prio),
    ):
        print(f"    {label:<46} {n / seconds:>10,.0f} customers/s  ({seconds:.2f} s)")
    print(
        f"    speed-up of run_pool: {t_fifo / t_pool:.1f}x vs Resource,"
        f" {t_prio / t_pool:.1f}x vs PriorityResource"
    )
    print(
        f"    mean wait {wait_pool.mean():.4f} h"
        f" (Erlang C {erlang_c_wait(servers, rate, mean_service):.4f} h); "
        f"max |start difference| between models {diff:.2e} h"
    )

    helpers = load_helpers()
    scenario = load_scenario(
        helpers.mmc_scenario(
            servers,
            rate,
            mean_service,
            horizon_months=args.mmc_months,
            replications=args.mmc_replications,
            seed=args.seed,
        )
    )
    simulate(scenario, replications=1, workers=1)  # warm
    results, seconds = timed(lambda: simulate(scenario, workers=1))
    incidents = float(results.replications["incidents"].sum())
    print(
        f"    full engine, M/M/{servers}-like scenario (1 client, 1 category, 24x7, no delays, 1 contract): "
        f"{args.mmc_months} months x {args.mmc_replications} replications"
    )
    print(
        f"    {incidents:,.0f} incidents in {seconds:.2f} s -> {incidents / seconds:,.0f} incidents/s "
        f"(mean response {results.replications['mean_response_hours'].mean():.3f} h)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=10, help="baseline replications (default 10)")
    parser.add_argument("--months", type=int, default=0, help="baseline horizon; 0 keeps the scenario's (24)")
    parser.add_argument("--customers", type=int, default=200_000, help="M/M/c customers (default 200000)")
    parser.add_argument("--servers", type=int, default=2, help="M/M/c servers (default 2)")
    parser.add_argument("--rho", type=float, default=0.75, help="M/M/c utilisation (default 0.75)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timings: best of this many runs (baseline and M/M/c)"
    )
    parser.add_argument("--mmc-months", type=int, default=12, help="engine M/M/c horizon (default 12)")
    parser.add_argument(
        "--mmc-replications", type=int, default=10, help="engine M/M/c replications (default 10)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the M/M/c draws and scenario")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the traced (slower) baseline run")
    parser.add_argument("--only", choices=("baseline", "mmc"), help="run one part only")
    args = parser.parse_args(argv)
    if args.only != "mmc":
        bench_baseline(args)
    if args.only != "baseline":
        bench_mmc(args)
    print(f"max RSS of the process at the end: {max_rss_mib():,.1f} MiB")


if __name__ == "__main__":
    main()
