"""How long the consultant outputs take: the report (charts rendered to inline SVG) and the Excel workbook.

Runs the baseline scenario once (30 replications unless -r is given) into a temporary folder, then times
``write_report`` and ``write_workbook`` over a few repetitions and prints seconds, file sizes and peak memory.

    .venv/bin/python benchmarks/bench_report.py [-r REPLICATIONS] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

from simulator import load_scenario, simulate
from simulator.outputs.folders import write_results
from simulator.outputs.report import write_report
from simulator.outputs.workbook import write_workbook

ROOT = Path(__file__).resolve().parents[1]


def _timed(label: str, repeat: int, action: object) -> None:
    assert callable(action)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        target = action()
        times.append(time.perf_counter() - start)
    tracemalloc.start()  # a separate pass: tracing slows allocation-heavy drawing down twofold
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = Path(target).stat().st_size
    print(
        f"{label:<10} best {min(times):6.2f} s  median {sorted(times)[len(times) // 2]:6.2f} s  "
        f"file {size / 1e6:5.2f} MB  peak traced memory {peak / 2**20:6.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--replications", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "baseline"
        start = time.perf_counter()
        write_results(simulate(scenario, replications=args.replications, workers=0), folder)
        print(
            f"baseline, {args.replications} replications: simulated and written in "
            f"{time.perf_counter() - start:.1f} s"
        )
        _timed("report", args.repeat, lambda: write_report(folder, Path(tmp) / "report.html"))
        _timed("workbook", args.repeat, lambda: write_workbook(folder, Path(tmp) / "results.xlsx"))


if __name__ == "__main__":
    main()
