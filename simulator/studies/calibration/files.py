"""A calibration from its files: the export, its map, the base scenario and the clients, read, checked and
calibrated in one call (what ``msp-sim calibrate`` does before it checks the model and writes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.config import Scenario, load_scenario, read_yaml
from simulator.config.ticket_map import load_ticket_map

from .export import ClientSize, ExportError, read_clients, read_export
from .fit import Calibration, calibrate
from .scenario_file import calibrated_text

__all__ = ["calibrate_files"]


def calibrate_files(
    tickets: str | Path,
    map_path: str | Path,
    base_path: str | Path,
    clients: str | Path | ClientSize,
    recorded: str | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> tuple[Calibration, str, Scenario]:
    """Calibrate the base scenario at ``base_path`` from the export ``tickets`` read through ``map_path``:
    the calibration, the calibrated scenario's YAML text and the scenario it loads as.

    ``clients`` is a clients file (one row per client of the export), or one client's size: then the export is one
    client's (named as the export names it, if the map gives a client column). The window is [start, end) in the
    business's local time (default: the export's days). Problems raise ``ScenarioError`` (map, base, the
    calibrated scenario), :class:`ExportError` (export, clients file) or ``CalibrationError``, each naming the file
    and the fix.
    """
    tmap = load_ticket_map(map_path)
    base = load_scenario(base_path)
    base_data = read_yaml(Path(base_path))
    history = read_export(
        tickets, tmap, [c.name for c in base.incidents.categories], str(map_path), start=start, end=end
    )
    if isinstance(clients, ClientSize):
        named = sorted(set(history.tickets["client"]))
        sizes = [ClientSize(named[0], *_size(clients)) if len(named) == 1 else clients]
    else:
        sizes = read_clients(clients)
        if "client" not in history.given:
            if len(sizes) > 1:
                raise ExportError(
                    f"--clients {clients} lists {len(sizes)} clients but the map {map_path} names no client column, "
                    "so every ticket is one client's. Fix: set columns.client in the map to the export's client "
                    "(company) column, or give the one client's size with --users and --endpoints."
                )
            history.tickets["client"] = sizes[0].name
    cal = calibrate(history, base, base_data, recorded, sizes)
    text, scenario = calibrated_text(cal, base_data, str(base_path), str(map_path))
    return cal, text, scenario


def _size(c: ClientSize) -> tuple[int, int, int, int]:
    return c.users, c.endpoints, c.servers, c.sites
