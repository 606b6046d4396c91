"""The job-size estimate against what a job really takes (a script, not a test).

Run ``python benchmarks/bench_estimate.py [--workers N]``. For a few scenario sizes, from one small office to a
few hundred clients, it runs ``simulate`` in a fresh process and prints, side by side, what
``simulator.studies.estimate.estimate_run`` predicted and what was measured: incidents simulated, wall time, incidents
per second and peak memory (the child's maximum resident set, all its worker processes included). The estimate
is meant to be on the high side (it counts incidents before prevention); a ratio measured/estimated well below 1
is what it should show, and a ratio above 1 means the constants in ``simulator/estimate.py`` need raising.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from simulator import load_scenario
from simulator.studies.estimate import estimate_run, size

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("small office, 1 client", "scenarios/small-office.yaml", []),
    ("baseline, 10 clients", "scenarios/baseline.yaml", []),
    ("baseline, 48 months", "scenarios/baseline.yaml", ["horizon_months=48"]),
    ("300 small offices", "scenarios/small-office.yaml", ["clients.0.count=300"]),
    (
        "1,000 small offices, 36 months",
        "scenarios/small-office.yaml",
        ["clients.0.count=1000", "horizon_months=36"],
    ),
]

CHILD = """
import json, resource, sys, time
from simulator import load_scenario, simulate
path, overrides, replications, workers = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sc = load_scenario(path, overrides)
t = time.perf_counter()
res = simulate(sc, replications=replications, workers=workers)
seconds = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
incidents = float(res.replications["incidents"].sum())
print(json.dumps({"seconds": seconds, "rss_kib": own + (workers - 1) * children if workers > 1 else own,
                  "incidents": incidents}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", "-r", type=int, default=6)
    parser.add_argument("--workers", "-w", type=int, default=1)
    args = parser.parse_args()
    print(
        f"{'case':34} {'incidents est/meas':>22} {'seconds est/meas':>18} {'inc/s meas':>11} "
        f"{'peak est/meas':>20}"
    )
    for label, path, overrides in CASES:
        scenario = load_scenario(ROOT / path, overrides)
        est = estimate_run(scenario, args.replications, args.workers)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT / path), json.dumps(overrides), str(args.replications),
             str(args.workers)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        m = json.loads(done.stdout)
        rate = m["incidents"] / m["seconds"]
        print(
            f"{label:34} {est.incidents:>11,.0f}/{m['incidents']:<10,.0f} {est.seconds:>8.2f}/{m['seconds']:<9.2f} "
            f"{rate:>11,.0f} {size(est.peak_bytes):>9}/{size(m['rss_kib'] * 1024):<10}"
        )
    print(
        "Measured incidents are those of the measured months under each contract, after prevention; the estimate "
        "counts every month before prevention."
    )


if __name__ == "__main__":
    main()
