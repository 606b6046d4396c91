"""The command line, ``msp-sim`` (also ``python -m simulator``): one module per command group, the options and
helpers they share in :mod:`.common`."""

from __future__ import annotations

import os

import click

from .calibrate import calibrate
from .common import PIPED_WIDTH, console, err
from .incentives import incentives
from .run import report, run, schema, validate
from .sweep import analyze, sweep_command
from .transition import transition

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="msp-sim")
def main() -> None:
    """Simulate IT-support economics: break/fix time and materials, fixed price per job, managed services."""
    os.environ.setdefault("MPLBACKEND", "Agg")  # charts are written to files, never shown
    if (
        "COLUMNS" not in os.environ
    ):  # into a file or a log: tables as wide as they need, not rich's 80 columns
        for c in (console, err):
            if not c.is_terminal:
                c.width = PIPED_WIDTH


for command in (run, report, incentives, transition, sweep_command, analyze, calibrate, validate, schema):
    main.add_command(command)
