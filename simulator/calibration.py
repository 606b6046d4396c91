"""Calibrating a scenario from a client's ticket history (what ``msp-sim calibrate`` does, as functions):
``calibrate_files`` reads an export through its map and fits the base scenario; ``check_model`` sets the
calibrated model beside the history; ``results_of`` gathers both for the results folder, its charts and report."""

from .config.ticket_map import TicketMap, load_ticket_map
from .studies.calibration.check import check_model
from .studies.calibration.export import ClientSize, ExportError, History, read_clients, read_export
from .studies.calibration.files import calibrate_files
from .studies.calibration.fit import Calibration, CalibrationError, calibrate
from .studies.calibration.results import CalibrationResults, results_of
from .studies.calibration.scenario_file import calibrated_text

__all__ = [
    "Calibration",
    "CalibrationError",
    "CalibrationResults",
    "ClientSize",
    "ExportError",
    "History",
    "TicketMap",
    "calibrate",
    "calibrate_files",
    "calibrated_text",
    "check_model",
    "load_ticket_map",
    "read_clients",
    "read_export",
    "results_of",
]
