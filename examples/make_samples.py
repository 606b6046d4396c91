"""Make the sample ticket exports from the known truth, examples/tickets-truth.yaml.

    python examples/make_samples.py [OUT_DIR]

simulates one replication of the truth with its seed and writes, into OUT_DIR (default: this folder),

- tickets-sample.csv: every break-fix-tm ticket of the 24 months as a PSA service-board export (from Monday
  2 January 2023, America/Chicago), and tickets-sample-clients.csv, its five clients' sizes;
- helpdesk-sample.csv: the tickets of the first 12 months as a help desk export with European settings (from
  Monday 1 January 2024, Europe/Berlin, the clients under other names), and helpdesk-sample-clients.csv.

The same truth gives the same files, byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from simulator.base.files import atomic_file
from simulator.config import Scenario, load_scenario
from simulator.studies.calibration.layouts import client_names_of, simulated_export, write_export
from simulator.studies.run import simulate

HERE = Path(__file__).resolve().parent
TRUTH = HERE / "tickets-truth.yaml"
CONTRACT = "break-fix-tm"
"""The contract the history is recorded under."""

PSA_START = pd.Timestamp("2023-01-02")  # a Monday
PSA_ZONE = "America/Chicago"
HELPDESK_START = pd.Timestamp("2024-01-01")  # a Monday
HELPDESK_ZONE = "Europe/Berlin"
HELPDESK_MONTHS = 12
HELPDESK_NAMES = [
    "Zahnarztpraxis Dr. Köhler",
    "Zahnarztpraxis Dr. Weber",
    "Kanzlei Schmidt & Partner",
    "Steuerberatung Becker",
    "Hofmann Maschinenbau GmbH",
]
"""The help desk's names of the truth's five clients, in the scenario's order."""


def clients_table(scenario: Scenario, names: list[str]) -> pd.DataFrame:
    """Each client's name and size, one row per client, as ``--clients`` reads them."""
    rows = [
        {
            "client": None,
            "users": seg.users,
            "endpoints": seg.endpoints,
            "servers": seg.servers,
            "sites": seg.sites,
        }
        for seg in scenario.clients
        for _ in range(seg.count)
    ]
    frame = pd.DataFrame(rows)
    frame["client"] = names
    return frame


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_file(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8"))


def main(out_dir: str | Path = HERE) -> list[Path]:
    """Write the samples into ``out_dir``; the paths written."""
    out = Path(out_dir)
    scenario = load_scenario(TRUTH)
    log = simulate(scenario, replications=1, tickets=True).tickets
    assert log is not None
    log = log[(log["contract"] == CONTRACT) & (log["replication"] == 0)]

    psa = simulated_export(log, scenario, "psa", PSA_START, PSA_ZONE)
    first_year = scenario.model_copy(update={"horizon_months": HELPDESK_MONTHS})
    helpdesk = simulated_export(log, first_year, "helpdesk", HELPDESK_START, HELPDESK_ZONE, HELPDESK_NAMES)

    written = [
        write_export(psa, out / "tickets-sample.csv", "psa"),
        write_export(helpdesk, out / "helpdesk-sample.csv", "helpdesk"),
    ]
    clients = {
        "tickets-sample-clients.csv": client_names_of(scenario),
        "helpdesk-sample-clients.csv": HELPDESK_NAMES,
    }
    for name, names in clients.items():
        _write_csv(clients_table(scenario, names), out / name)
        written.append(out / name)
    return written


if __name__ == "__main__":
    for path in main(sys.argv[1] if len(sys.argv) > 1 else HERE):
        print(path)
