"""What the verdict costs, and what re-pricing saves: the switching values of one money input found by billing the
same tickets again (exact) beside the same input found by a bracketing search of re-simulations, then the whole
default verdict, each beside the run it tests.

Prints seconds, replication-values (one replication at one value of the input) per second, peak traced memory
and the switching value each way (they must agree to within the re-simulation's bracket).

    .venv/bin/python benchmarks/bench_verdict.py [SCENARIO] [-r REPLICATIONS] [--workers N]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from simulator import load_scenario, simulate
from simulator.studies.verdict import analyze_verdict

ROOT = Path(__file__).resolve().parents[1]


def _timed(action: Any) -> tuple[Any, float, float]:
    """The action's result, its seconds, and its peak traced memory [MiB] (a second pass, traced)."""
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def _switch(table: Any, label: str) -> str:
    row = table[(table["input"] == label) & (table["question"] == "client")].iloc[0]
    found = [
        f"{side} {float(row[f'switch_{side}']):.4g} ± {float(row[f'precision_{side}']):.2g}"
        for side in ("below", "above")
        if np.isfinite(row[f"switch_{side}"])
    ]
    return ", ".join(found) or "none within range"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("-r", "--replications", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    base = load_scenario(args.scenario)
    downtime = {
        "label": "the cost of downtime",
        "paths": ["clients.*.downtime_cost_per_user_hour"],
        "low": 0.0,
        "high": 400.0,
        "scale": False,
    }
    values = [c.downtime_cost_per_user_hour for c in base.clients]
    if len(set(values)) > 1:
        downtime.update(low=0.0, high=10.0, scale=True)
    n = args.replications
    results, run_seconds, run_peak = _timed(lambda: simulate(base, replications=n, workers=args.workers))
    print(f"{base.name}: run of {n} replications {run_seconds:6.2f} s, peak {run_peak:6.1f} MiB")
    for method in ("reprice", "resimulate"):
        sc = load_scenario(
            args.scenario,
            {
                "replications": n,
                "robustness": {"inputs": [{**downtime, "method": method}], "replications": n, "steps": 6},
            },
        )
        one = simulate(sc, replications=n, workers=args.workers)
        counted: list[int] = []
        verdict, seconds, peak = _timed(
            lambda one=one, counted=counted: analyze_verdict(
                one, workers=args.workers, progress=lambda done, total: counted.append(done)
            )
        )
        # Values tried × replications: re-pricing bills every replication at each grid value (the scenario's
        # value added); the search re-simulates every replication at each value it tries.
        tried = (sc.robustness.points + 1) * n if method == "reprice" else (counted[-1] if counted else 0) * n
        print(
            f"  {method:<10} one input: {seconds:6.2f} s, {tried / seconds:8.1f} replication-values/s, "
            f"peak {peak:6.1f} MiB; switching value {_switch(verdict.table, 'the cost of downtime')}"
        )
    verdict, seconds, peak = _timed(lambda: analyze_verdict(results, workers=args.workers))
    inputs = verdict.table["input"].nunique()
    print(
        f"  default verdict ({inputs} inputs): {seconds:6.2f} s, {seconds / run_seconds:4.1f}× the run, "
        f"peak {peak:6.1f} MiB"
    )


if __name__ == "__main__":
    main()
