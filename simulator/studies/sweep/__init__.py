"""Parameter sweeps (DESIGN.md §6): a base scenario, a design over dotted paths, thousands of points,
resumable.

A sweep file names a base scenario and a design (``grid``, ``random``, ``latin_hypercube`` or ``sobol``) over
dotted paths of it. :func:`load_sweep` validates the file, expands the design into points and checks that
every point is a valid scenario; :func:`run_sweep` simulates the points (one point per task) on local
processes or a Dask cluster and writes finished points to ``parts/part-NNNNNN.parquet`` in chunks, each
atomically. A point's id is a hash of its resolved overrides, the base scenario, the seed and the
replications, so a rerun into the same folder (``--resume``) skips what is already there: nothing lost,
nothing duplicated, nothing recomputed.

Every point uses the sweep seed: common random numbers across the whole sweep, so neighbouring points differ
by their parameters, not by their luck.

Modules, bottom to top: :mod:`.errors`; :mod:`.spec` (the sweep file and its messages); :mod:`.design`
(parameters, samples, points, the plan); :mod:`.storage` (the results folder while it runs: check, lock,
manifest, parts); :mod:`.results` (the finished tables); :mod:`.execution` (``run_point``, ``run_sweep`` and
their backends).
"""

from __future__ import annotations

from .design import ID_COLUMNS as ID_COLUMNS
from .design import RESERVED as RESERVED
from .design import PointTask, SweepPlan, load_sweep
from .design import plan_sweep as plan_sweep
from .design import point_id as point_id
from .errors import SweepError, SweepRunError
from .execution import CONNECT_TIMEOUT_SECONDS as CONNECT_TIMEOUT_SECONDS
from .execution import Progress as Progress
from .execution import SweepRun, run_point, run_sweep
from .results import SweepResults, load_results, point_differences, summarize_points
from .spec import DESIGN_KINDS, Sweep
from .spec import MAX_POINTS as MAX_POINTS
from .spec import SWEPT as SWEPT
from .spec import Axis as Axis
from .spec import Design as Design
from .spec import Grid as Grid
from .spec import LatinHypercube as LatinHypercube
from .spec import Number as Number
from .spec import RandomDesign as RandomDesign
from .spec import Range as Range
from .spec import Scalar as Scalar
from .spec import SobolDesign as SobolDesign
from .storage import FORMAT as FORMAT

__all__ = [
    "DESIGN_KINDS",
    "PointTask",
    "Sweep",
    "SweepError",
    "SweepPlan",
    "SweepResults",
    "SweepRun",
    "SweepRunError",
    "load_results",
    "load_sweep",
    "point_differences",
    "run_point",
    "run_sweep",
    "summarize_points",
]
