"""How fast the command line answers before any work: ``msp-sim --help``, ``--version`` and ``run --help`` (a
script, not a test).

Run ``python benchmarks/bench_startup.py [--repeat N]``. Each command runs N times in a fresh process; the script
prints, side by side with the bare interpreter (``python -c pass``, the floor no command can beat) and with an
import of the simulation stack the commands load only when they work (numpy, pandas, scipy, pydantic,
matplotlib), the best and the median wall time and the peak memory (maximum resident set) of the child. The goal
is under 0.5 s for ``--help`` and ``--version`` on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("python -c pass (floor)", ["-c", "pass"]),
    ("msp-sim --help", ["-m", "simulator", "--help"]),
    ("msp-sim --version", ["-m", "simulator", "--version"]),
    ("msp-sim run --help", ["-m", "simulator", "run", "--help"]),
    (
        "import numpy, pandas, scipy, pydantic, matplotlib (peer)",
        ["-c", "import numpy, pandas, scipy.stats, pydantic, matplotlib.pyplot"],
    ),
]


def _once(args: list[str]) -> tuple[float, float]:
    """Wall time [s] and peak resident memory [MiB] of one child run (its own, from ``wait4``)."""
    t = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (default 7)")
    repeat = parser.parse_args().repeat
    print(f"{'command':58} {'best s':>7} {'median s':>9} {'peak MiB':>9}")
    for label, args in CASES:
        runs = [_once(args) for _ in range(repeat)]
        walls = [w for w, _ in runs]
        print(f"{label:58} {min(walls):7.3f} {statistics.median(walls):9.3f} {max(p for _, p in runs):9.0f}")


if __name__ == "__main__":
    main()
