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
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)
from scipy import stats

from simulator.base.files import (
    FolderBusy,
    atomic_file,
    clean_temporaries,
    folder_lock,
    read_csv,
    write_csv,
    write_text,
)
from simulator.base.limits import REPLICATIONS, SEED, Label, PathText, Text
from simulator.base.processes import parent_watch_plugin, process_pool
from simulator.config import (
    Scenario,
    ScenarioError,
    apply_overrides,
    dump_scenario,
    dump_yaml,
    fix_for,
    format_validation_error,
    read_yaml,
)
from simulator.contracts.terms import Managed
from simulator.metrics import METRICS

from .run import simulate

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

DESIGN_KINDS = ("grid", "random", "latin_hypercube", "sobol")
ID_COLUMNS = ("point_id", "replication", "seed")
RESERVED = {*ID_COLUMNS, "contract", "sample", "measured_months", *METRICS}
FORMAT = 1
"""Version of the results-folder layout (``manifest.json``)."""
CONNECT_TIMEOUT_SECONDS = 10.0
"""How long to try to reach a Dask scheduler before giving up."""


class SweepError(ScenarioError):
    """A sweep file or results folder that cannot be used; the message names the file, field and fix."""


class SweepRunError(RuntimeError):
    """A sweep that could not finish (no scheduler, disk full, worker died); finished points are kept."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, validate_default=True, allow_inf_nan=False
    )


SWEPT = 1e19
"""Largest magnitude of a swept value, bound or multiplier (a little more than the largest seed)."""
Number = Annotated[float, Field(ge=-SWEPT, le=SWEPT)]


def _scalar(value: Any) -> Any:
    """A grid value: true/false, text, or a finite number of magnitude at most :data:`SWEPT` (kept as given)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number (.inf and .nan are not allowed)")
    if isinstance(value, int | float):
        if abs(value) > SWEPT:
            shown = (
                f"{value:.3g}" if isinstance(value, float) else f"an integer of {len(str(abs(value)))} digits"
            )
            raise ValueError(f"{shown} is too large; swept values are at most {SWEPT:.0e} in size")
        return value
    raise ValueError(f"a value must be a number, true/false or text, not {type(value).__name__}")


Scalar = Annotated[Any, AfterValidator(_scalar)]
"""One value of a grid (validated by :func:`_scalar`, so that a bad value gives one message, not one per type)."""


def _grid_entry(value: Any) -> str:
    return "axis" if isinstance(value, dict | Axis) else "values"


MAX_POINTS = 1_000_000
"""Most points of a grid (every combination of its values), as for the sampled designs."""


class Axis(_Model):
    """A grid axis written out in full: its values and, optionally, several paths or multipliers."""

    values: list[Scalar] = Field(min_length=1)
    """Values taken, in order."""
    paths: list[str] | None = None
    """Dotted paths the value is written to (default: the parameter's name); ``*`` matches every list item."""
    relative: bool = False
    """Values are multipliers of the base scenario's value at each path (integer fields are rounded)."""


class Range(_Model):
    """A continuous parameter sampled uniformly between ``low`` and ``high``."""

    low: Number
    """Lowest value (or multiplier, with ``relative``)."""
    high: Number
    """Highest value (or multiplier, with ``relative``)."""
    paths: list[str] | None = None
    """Dotted paths the value is written to (default: the parameter's name); ``*`` matches every list item."""
    relative: bool = False
    """The value multiplies the base scenario's value at each path (integer fields are rounded)."""

    @model_validator(mode="after")
    def _order(self) -> Range:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must be greater than low ({self.low:g})")
        return self


class Grid(_Model):
    """Every combination of the listed values (a full factorial)."""

    kind: Literal["grid"]
    parameters: dict[
        str,
        Annotated[
            Annotated[list[Scalar], Field(min_length=1), Tag("values")] | Annotated[Axis, Tag("axis")],
            Discriminator(_grid_entry),
        ],
    ] = Field(min_length=1)
    """Per dotted path, the list of values (at least one); or ``{values, paths, relative}`` to write one value
    to several paths or to multiply the base value."""

    @model_validator(mode="after")
    def _size(self) -> Grid:
        size = math.prod(len(v.values if isinstance(v, Axis) else v) for v in self.parameters.values())
        if size > MAX_POINTS:
            raise ValueError(
                f"the grid has {size:,} points (every combination of the values), more than {MAX_POINTS:,}; "
                "list fewer values, or sample the space with random, latin_hypercube or sobol"
            )
        return self


class _Sampled(_Model):
    points: int = Field(ge=1, le=1_000_000)
    """Number of points."""
    seed: int | None = Field(None, ge=0, le=SEED)
    """Seed of the sampler (default: the sweep seed)."""
    parameters: dict[str, Range] = Field(min_length=1)
    """Per dotted path (or label with ``paths``), the range ``{low, high}``."""


class RandomDesign(_Sampled):
    """Points drawn independently and uniformly from the ranges."""

    kind: Literal["random"]


class LatinHypercube(_Sampled):
    """A Latin hypercube (scipy.stats.qmc): each range cut into ``points`` strata, each stratum used once."""

    kind: Literal["latin_hypercube"]
    points: int = Field(ge=2, le=1_000_000)
    """Number of points (and of strata per parameter)."""
    optimization: Literal["random-cd", "lloyd"] | None = None
    """Optional space-filling optimisation of the hypercube (scipy.stats.qmc.LatinHypercube)."""


class SobolDesign(_Sampled):
    """Saltelli's scheme on a scrambled Sobol' sequence (SALib), for Sobol sensitivity indices.

    ``points`` is the base sample N (a power of 2); the design has N·(D+2) points for D parameters, or
    N·(2D+2) with ``second_order``."""

    kind: Literal["sobol"]
    points: int = Field(ge=2, le=1_048_576)
    """Base sample size N, a power of 2 (the design has N·(D+2) points)."""
    second_order: bool = False
    """Also estimate second-order indices (N·(2D+2) points)."""

    @model_validator(mode="after")
    def _power_of_two(self) -> SobolDesign:
        if self.points & (self.points - 1):
            lower = 1 << (self.points.bit_length() - 1)
            raise ValueError(
                f"points must be a power of 2 for a Sobol' sequence (got {self.points}); "
                f"use {lower} or {lower * 2}"
            )
        return self


Design = Annotated[Grid | RandomDesign | LatinHypercube | SobolDesign, Field(discriminator="kind")]


class Sweep(_Model):
    """A sweep file: a base scenario, fixed overrides, a design over dotted paths, replications and a seed."""

    name: Label | None = None
    """Sweep label (default: the file name without extension); results go to results/<name>."""
    description: Text = ""
    """What the sweep asks."""
    base: PathText
    """The base scenario file, relative to the sweep file's folder."""
    overrides: dict[str, Any] = {}
    """Fixed overrides of the base scenario by dotted path, applied before the design (like ``--set``)."""
    replications: int | None = Field(None, ge=2, le=REPLICATIONS)
    """Replications per point (default: the base scenario's)."""
    seed: int | None = Field(None, ge=0, le=SEED)
    """Seed of every point: common random numbers across the sweep (default: the base scenario's)."""
    reference_contract: str | None = None
    """Contract the others are compared with, paired by replication (default: the base scenario's)."""
    contract: str | None = None
    """Contract whose advantage over the reference the analyses map (default: the first managed contract)."""
    design: Design
    """The design: ``kind`` is one of grid, random, latin_hypercube, sobol."""


# ----------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to simulate one point (picklable; no shared state)."""

    point_id: str
    values: dict[str, Any]
    overrides: dict[str, Any]
    base: dict[str, Any]
    replications: int
    seed: int


@dataclass
class SweepPlan:
    """A validated, expanded sweep: the design table (one row per sample) and the unique points to run."""

    path: Path
    spec: Sweep
    base: Scenario
    base_data: dict[str, Any]
    parameters: list[str]
    design: pd.DataFrame
    overrides: dict[str, dict[str, Any]]
    fingerprint: str

    @property
    def name(self) -> str:
        """The sweep's name."""
        return str(self.spec.name)

    @property
    def replications(self) -> int:
        """Replications per point."""
        return int(self.spec.replications or 0)

    @property
    def seed(self) -> int:
        """The seed of every point."""
        return int(self.spec.seed or 0)

    @property
    def point_ids(self) -> list[str]:
        """Unique point ids in design order."""
        return list(self.overrides)

    def tasks(self, point_ids: list[str] | None = None) -> Iterator[PointTask]:
        """Work orders in design order (all points, or the given ids)."""
        first = self.design.drop_duplicates("point_id").set_index("point_id")
        for pid in self.point_ids if point_ids is None else point_ids:
            row = first.loc[pid]
            yield PointTask(
                point_id=pid,
                values={p: _python(row[p]) for p in self.parameters},
                overrides=self.overrides[pid],
                base=self.base_data,
                replications=self.replications,
                seed=self.seed,
            )


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def load_sweep(path: str | Path) -> SweepPlan:
    """Read, validate and expand a sweep file.

    Raises :class:`SweepError` naming the sweep file, the field and the fix: for a bad key or value, a path
    that does not exist in the base scenario, or a point that is not a valid scenario.
    """
    path = Path(path)
    try:
        missing, folder = not path.exists(), path.is_dir()
    except OSError:  # a name too long, say: read_yaml tells
        missing, folder = False, False
    if missing:
        raise SweepError(
            f"{path}: file not found. Give the path to a sweep YAML file, e.g. "
            "scenarios/sweeps/fee-downtime-grid.yaml."
        )
    if folder:
        raise SweepError(f"{path}: is a folder; give the path to a sweep YAML file.")
    try:
        data = read_yaml(path)
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None
    try:
        spec = Sweep.model_validate(data)
    except ValidationError as exc:
        raise SweepError(_format_errors(str(path), exc, data)) from None
    return plan_sweep(spec, path)


def plan_sweep(spec: Sweep, path: Path) -> SweepPlan:
    """Expand a validated sweep model (``path`` locates the base scenario and labels messages)."""
    label = str(path)
    try:
        base_path = (
            (path.parent / spec.base).resolve() if not Path(spec.base).is_absolute() else Path(spec.base)
        )
        base_raw = read_yaml(base_path)
    except (ScenarioError, OSError, RuntimeError) as exc:
        raise SweepError(f"{label}: field 'base' ({spec.base}): {exc}") from None
    try:
        data = apply_overrides(base_raw, spec.overrides, f"{label}: field 'overrides'")
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None
    try:
        base = Scenario.model_validate(data)
    except ValidationError as exc:
        raise SweepError(
            f"{label}: the base scenario with the sweep's overrides is not valid:\n"
            + format_validation_error(str(base_path), exc, data)
        ) from None
    base_data = base.model_dump(mode="json")
    contracts = [c.name for c in base.contracts]
    reference = spec.reference_contract or base.reference
    if reference not in contracts:
        raise SweepError(_unknown(label, "reference_contract", reference, contracts))
    contract = spec.contract
    if contract is None:
        others = [c for c in base.contracts if c.name != reference]
        managed = [c.name for c in others if isinstance(c, Managed)]
        candidates = managed or [c.name for c in others]
        contract = candidates[0] if candidates else None
    elif contract not in contracts:
        raise SweepError(_unknown(label, "contract", contract, contracts))
    elif contract == reference:
        raise SweepError(
            f"{label}: field 'contract': '{contract}' is also the reference contract. Fix: name another "
            "contract (the analyses compare it with the reference)."
        )
    spec = spec.model_copy(
        update={
            "name": spec.name or path.stem,
            "replications": spec.replications or base.replications,
            "seed": spec.seed if spec.seed is not None else base.seed,
            "reference_contract": reference,
            "contract": contract,
        }
    )
    params = _resolve_parameters(label, spec, base_data)
    values = _sample(spec, params)
    return _expand(label, path, spec, base, base_data, params, values)


def _unknown(label: str, fld: str, name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1)
    fix = f"did you mean '{hint[0]}'?" if hint else f"use one of {', '.join(known)}."
    return f"{label}: field '{fld}': '{name}' is not a contract of the base scenario. Fix: {fix}"


@dataclass
class _Param:
    name: str
    paths: list[tuple[str, Any]]
    relative: bool
    integer: bool
    values: list[Any] | None = None
    low: float = 0.0
    high: float = 1.0


def _resolve_parameters(label: str, spec: Sweep, base: dict[str, Any]) -> list[_Param]:
    design = spec.design
    params: list[_Param] = []
    for name, raw in design.parameters.items():
        where = f"design.parameters.{name}"
        if name in RESERVED:
            raise SweepError(
                f"{label}: field '{where}': '{name}' is a column of the results; give the parameter another "
                "name and its paths in `paths`."
            )
        if isinstance(raw, list):
            paths_given, relative, values = [name], False, list(raw)
        elif isinstance(raw, Axis):
            paths_given, relative, values = raw.paths or [name], raw.relative, list(raw.values)
        else:
            paths_given, relative, values = raw.paths or [name], raw.relative, None
        concrete: list[tuple[str, Any]] = []
        for p in paths_given:
            try:
                found = _find(base, p)
            except _PathError as exc:
                explicit = not isinstance(raw, list) and raw.paths is not None
                fix = "" if explicit else " (a parameter's name is its dotted path unless it has `paths`)"
                raise SweepError(f"{label}: field '{where}': path '{p}' {exc}{fix}") from None
            wildcard = "*" in p.split(".")
            usable = [(cp, v) for cp, v in found if not (wildcard and v is None)]
            if not usable:
                raise SweepError(
                    f"{label}: field '{where}': path '{p}' matches no set value in the base scenario."
                )
            concrete += usable
        numeric = [v for _, v in concrete if isinstance(v, int | float) and not isinstance(v, bool)]
        continuous = values is None
        if relative or continuous:
            bad = [cp for cp, v in concrete if not (v is None and not relative) and not _is_number(v)]
            if bad:
                what = "a multiplier (relative)" if relative else "a range"
                raise SweepError(
                    f"{label}: field '{where}': {what} needs numbers, but '{bad[0]}' is "
                    f"{_describe(dict(concrete)[bad[0]])} in the base scenario. Fix: list the values as a "
                    "grid parameter, or sweep a numeric field."
                )
        integer = bool(numeric) and all(isinstance(v, int) and not isinstance(v, bool) for _, v in concrete)
        if relative and values is not None:
            bad_values = [v for v in values if not _is_number(v)]
            if bad_values:
                raise SweepError(
                    f"{label}: field '{where}.values': multipliers must be numbers, got {bad_values[0]!r}."
                )
        lo, hi = (raw.low, raw.high) if isinstance(raw, Range) else (0.0, 1.0)
        params.append(_Param(name, concrete, relative, integer, values, lo, hi))
    return params


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _describe(v: Any) -> str:
    if v is None:
        return "empty (null)"
    return f"{type(v).__name__} {v!r}" if not isinstance(v, dict | list) else f"a {type(v).__name__}"


class _PathError(Exception):
    pass


def _find(data: Any, path: str) -> list[tuple[str, Any]]:
    """Concrete paths (list items by name) and base values that ``path`` names; ``*`` matches every item."""
    keys = path.split(".")
    found: list[tuple[str, Any]] = []

    def walk(node: Any, i: int, prefix: list[str]) -> None:
        if i == len(keys):
            found.append((".".join(prefix), node))
            return
        key = keys[i]
        here = ".".join([*prefix, key]) if prefix else key
        if isinstance(node, list):
            names = [item.get("name") if isinstance(item, dict) else None for item in node]
            if key == "*":
                for idx, item in enumerate(node):
                    walk(item, i + 1, [*prefix, names[idx] or str(idx)])
                return
            if key.lstrip("-").isdigit() and -len(node) <= int(key) < len(node):
                idx = int(key) % len(node)
                walk(node[idx], i + 1, [*prefix, names[idx] or str(idx)])
                return
            if key in names:
                walk(node[names.index(key)], i + 1, [*prefix, key])
                return
            known = [n for n in names if n]
            hint = difflib.get_close_matches(key, known, n=1)
            extra = f"did you mean '{hint[0]}'?" if hint else f"items are {known or list(range(len(node)))}."
            raise _PathError(f"does not exist: no list item '{key}' at '{here}'. Fix: {extra}")
        if isinstance(node, dict):
            if key == "*":
                raise _PathError(f"uses '*' at '{here}', which is a section, not a list.")
            if key not in node:
                hint = difflib.get_close_matches(key, [str(k) for k in node], n=1)
                extra = (
                    f"did you mean '{hint[0]}'?" if hint else f"keys here are {', '.join(map(str, node))}."
                )
                raise _PathError(f"does not exist in the base scenario: no field '{here}'. Fix: {extra}")
            walk(node[key], i + 1, [*prefix, key])
            return
        raise _PathError(f"does not exist: '{'.'.join(prefix)}' is a value, not a section.")

    walk(data, 0, [])
    return found


def _sample(spec: Sweep, params: list[_Param]) -> list[list[Any]]:
    """The design's points as parameter values (before rounding), one list per sample."""
    design = spec.design
    if isinstance(design, Grid):
        axes = [list(p.values or []) for p in params]
        return [list(combo) for combo in itertools.product(*axes)]
    d = len(params)
    seed = design.seed if design.seed is not None else int(spec.seed or 0)
    if isinstance(design, RandomDesign):
        unit = np.random.default_rng(seed).random((design.points, d))
    elif isinstance(design, LatinHypercube):
        from scipy.stats import qmc

        gen = np.random.default_rng(seed)
        try:
            sampler = qmc.LatinHypercube(d, optimization=design.optimization, rng=gen)
        except TypeError:  # SciPy < 1.15 calls it `seed`
            sampler = qmc.LatinHypercube(d, optimization=design.optimization, seed=gen)
        unit = sampler.random(design.points)
    else:
        from SALib.sample import sobol as salib_sobol  # type: ignore[import-untyped]

        problem = {"num_vars": d, "names": [p.name for p in params], "bounds": [[0.0, 1.0]] * d}
        unit = salib_sobol.sample(
            problem, design.points, calc_second_order=design.second_order, scramble=True, seed=seed
        )
    lows = np.array([p.low for p in params])
    highs = np.array([p.high for p in params])
    scaled = lows + unit * (highs - lows)
    return [[float(v) for v in row] for row in scaled]


def _resolve_value(param: _Param, value: Any, continuous: bool) -> tuple[Any, dict[str, Any]]:
    """The column value and the overrides a parameter value means."""
    overrides: dict[str, Any] = {}
    if param.relative:
        for cp, base_value in param.paths:
            new = base_value * value
            overrides[cp] = round(new) if isinstance(base_value, int) else float(new)
        return value, overrides
    if continuous and param.integer:
        value = round(value)
    for cp, _ in param.paths:
        overrides[cp] = value
    return value, overrides


def _expand(
    label: str,
    path: Path,
    spec: Sweep,
    base: Scenario,
    base_data: dict[str, Any],
    params: list[_Param],
    samples: list[list[Any]],
) -> SweepPlan:
    continuous = not isinstance(spec.design, Grid)
    base_digest = _digest(base_data)
    rows: list[dict[str, Any]] = []
    overrides_by_id: dict[str, dict[str, Any]] = {}
    months_by_id: dict[str, int] = {}
    for sample, raw in enumerate(samples):
        values: dict[str, Any] = {}
        overrides: dict[str, Any] = {}
        for param, v in zip(params, raw, strict=True):
            values[param.name], more = _resolve_value(param, v, continuous)
            overrides.update(more)
        pid = point_id(base_digest, overrides, int(spec.seed or 0), int(spec.replications or 0))
        if pid not in overrides_by_id:
            try:
                point = apply_overrides(base_data, overrides, f"{label} point {sample}")
                scenario = Scenario.model_validate(point)
            except ValidationError as exc:
                shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
                raise SweepError(
                    f"{label}: design point {sample} ({shown}) is not a valid scenario:\n"
                    + format_validation_error(f"{label} point {sample}", exc, point)
                    + "\nFix: narrow the ranges (or values) in design.parameters so every point is valid."
                ) from None
            except ScenarioError as exc:
                raise SweepError(str(exc)) from None
            overrides_by_id[pid] = overrides
            months_by_id[pid] = scenario.measured_months
        rows.append({"sample": sample, "point_id": pid, **values, "measured_months": months_by_id[pid]})
    design = pd.DataFrame(rows, columns=["sample", "point_id", *(p.name for p in params), "measured_months"])
    fingerprint = _digest(
        {
            "base": base_digest,
            "parameters": [p.name for p in params],
            "seed": spec.seed,
            "replications": spec.replications,
        }
    )
    return SweepPlan(
        path=path,
        spec=spec,
        base=base,
        base_data=base_data,
        parameters=[p.name for p in params],
        design=design,
        overrides=overrides_by_id,
        fingerprint=fingerprint,
    )


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def point_id(base_digest: str, overrides: Mapping[str, Any], seed: int, replications: int) -> str:
    """A point's stable id: 16 hex digits of the sha256 of its resolved overrides, the base scenario's digest,
    the seed and the replications (canonical JSON)."""
    payload = {"base": base_digest, "overrides": dict(overrides), "seed": seed, "replications": replications}
    return _digest(payload)[:16]


def _format_errors(label: str, exc: ValidationError, data: dict[str, Any]) -> str:
    """One line per problem: the sweep file, the field path, what is wrong and the fix."""
    lines = []
    errors = exc.errors(include_url=False)
    for err in errors[:8]:
        loc = [str(k) for i, k in enumerate(err["loc"]) if not _is_tag(k, data) and not _is_axis_tag(i, k)]
        where = ".".join(loc) or "(top level)"
        kind = err["type"]
        msg = str(err["msg"])
        got = err.get("input")
        if kind == "extra_forbidden":
            allowed = _allowed(err["loc"][:-1], data)
            hint = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
            fix = f"did you mean '{hint[0]}'?" if hint else f"allowed keys here: {', '.join(allowed)}."
            text = f"unknown key. Fix: {fix}"
        elif kind == "missing":
            text = "required field is missing. Fix: add it (see the examples in scenarios/sweeps/)."
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            text = f"{msg}. Fix: set design.kind to one of {', '.join(DESIGN_KINDS)}."
        elif kind == "value_error":
            text = msg.removeprefix("Value error, ")
        else:
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            text = f"{msg}{shown}. Fix: {fix_for(kind)}"
        lines.append(f"{label}: field '{where}': {text}")
    if len(errors) > 8:
        lines.append(f"... and {len(errors) - 8} more problems.")
    return "\n".join(lines)


def _is_axis_tag(index: int, key: Any) -> bool:
    """The tag pydantic inserts after ``design.<kind>.parameters.<name>`` for a ``{values, paths}`` entry."""
    return index == 4 and key == "axis"


def _is_tag(key: Any, data: dict[str, Any]) -> bool:
    design = data.get("design")
    return isinstance(design, dict) and key == design.get("kind") and key in DESIGN_KINDS


_DESIGNS: dict[str, type[BaseModel]] = {
    "grid": Grid,
    "random": RandomDesign,
    "latin_hypercube": LatinHypercube,
    "sobol": SobolDesign,
}


def _allowed(loc: tuple[Any, ...], data: dict[str, Any]) -> list[str]:
    """Field names of the sweep model at ``loc``."""
    keys = [k for i, k in enumerate(loc) if not _is_tag(k, data) and not _is_axis_tag(i, k)]
    if not keys:
        return sorted(Sweep.model_fields)
    design = data.get("design") if isinstance(data.get("design"), dict) else {}
    model = _DESIGNS.get(str((design or {}).get("kind")))
    if keys == ["design"]:
        return sorted(model.model_fields) if model else ["kind"]
    if len(keys) == 3 and keys[:2] == ["design", "parameters"]:
        return (
            sorted(Axis.model_fields)
            if isinstance(model, type) and model is Grid
            else sorted(Range.model_fields)
        )
    return []


# ----------------------------------------------------------------------------------------------- running


def run_point(task: PointTask) -> tuple[pd.DataFrame, float]:
    """Simulate one point (all its replications in this process); its tidy rows and the seconds it took.

    Rows: ``point_id, replication, seed, <swept parameters>, contract, <metrics>``.
    """
    start = time.perf_counter()
    scenario = Scenario.model_validate(apply_overrides(task.base, task.overrides))
    reps = simulate(scenario, replications=task.replications, seed=task.seed, workers=1).replications
    frame = reps.drop(columns=["replication", "seed", "contract"])
    head = pd.DataFrame(
        {
            "point_id": task.point_id,
            "replication": reps["replication"].to_numpy(),
            "seed": reps["seed"].to_numpy(),
            **{name: [value] * len(reps) for name, value in task.values.items()},
            "contract": reps["contract"].to_numpy(),
        }
    )
    out = pd.concat([head, frame.reset_index(drop=True)], axis=1)
    return out, time.perf_counter() - start


@dataclass
class SweepRun:
    """What a call of :func:`run_sweep` did."""

    out: Path
    total: int
    skipped: int
    computed: int
    elapsed_seconds: float
    compute_seconds: float
    parts_written: int
    results: SweepResults | None = None

    @property
    def points_per_second(self) -> float:
        """Points computed per wall-clock second in this call."""
        return (
            self.computed / self.elapsed_seconds if self.computed and self.elapsed_seconds > 0 else math.nan
        )


Progress = Callable[[int, int], None]
"""``progress(done, total)``: called once at the start (with the points already done) and after each point."""


def run_sweep(
    plan: SweepPlan,
    out: str | Path,
    workers: int = 0,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_points: int = 25,
    chunk_seconds: float = 10.0,
    progress: Progress | None = None,
) -> SweepRun:
    """Simulate every point of ``plan`` not yet in ``out`` and write the results folder.

    ``workers``: local processes (0 = all cores, 1 = in this process). ``scheduler``: a Dask scheduler address
    (``tcp://host:port``) or ``"local"`` to start a ``LocalCluster`` of ``workers`` processes. Finished points
    are written every ``chunk_points`` points or ``chunk_seconds`` seconds as ``parts/part-NNNNNN.parquet``
    (atomically); points already in ``out`` are skipped. Results do not depend on where the points ran.

    Raises :class:`SweepError` (unusable folder, ``resume`` with nothing to resume) and :class:`SweepRunError`
    (scheduler unreachable, a worker died, a write failed); in every case the points finished so far are on
    disk.
    """
    out = Path(out)
    start = time.perf_counter()
    if resume and not (out / "manifest.json").exists():
        raise SweepError(
            f"{out}: nothing to resume (no manifest.json from an earlier run of this sweep). Fix: run "
            "without --resume, or give the --out folder of the interrupted run."
        )
    _check_folder(plan, out)  # before anything is created: a refused folder stays exactly as it was
    parts = out / "parts"
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepRunError(f"could not create the results folder {out}: {exc.strerror or exc}.") from None
    with _sweep_lock(out):
        _check_folder(plan, out)
        for folder in (out, parts):
            clean_temporaries(folder)
        with contextlib.suppress(FileNotFoundError):
            (out / ".lock").unlink()  # the lock file of earlier versions
        try:
            _write_state(plan, out)
        except OSError as exc:
            raise SweepRunError(_write_failure(out, exc)) from None
        done = _finished_ids(parts)
        ids = plan.point_ids
        todo = [pid for pid in ids if pid not in done]
        skipped = len(ids) - len(todo)
        if progress:
            progress(skipped, len(ids))
        writer = _PartWriter(parts, chunk_points, chunk_seconds)
        compute = 0.0
        computed = 0

        def finished(frame: pd.DataFrame, seconds: float) -> None:
            nonlocal compute, computed
            compute += seconds
            computed += 1
            writer.add(frame)
            if progress:
                progress(skipped + computed, len(ids))

        if todo:  # the derived tables no longer cover the design: rebuilt when every point is in
            for name in ("points.parquet", "summary.csv", "differences.csv"):
                with contextlib.suppress(FileNotFoundError):
                    (out / name).unlink()
        try:
            tasks = plan.tasks(todo)
            if not todo:
                pass
            elif scheduler is not None:
                _run_dask(tasks, scheduler, workers, finished, writer)
            else:
                n = workers if workers > 0 else (os.cpu_count() or 1)
                n = max(1, min(n, len(todo)))
                if n == 1:
                    for task in tasks:
                        finished(*run_point(task))
                        writer.maybe_flush()
                else:
                    _run_pool(tasks, n, finished, writer)
        finally:
            writer.flush()
        results = _finalize(plan, out)
    return SweepRun(
        out=out,
        total=len(ids),
        skipped=skipped,
        computed=computed,
        elapsed_seconds=time.perf_counter() - start,
        compute_seconds=compute,
        parts_written=writer.written,
        results=results,
    )


def _run_pool(
    tasks: Iterator[PointTask],
    workers: int,
    finished: Callable[[pd.DataFrame, float], None],
    writer: _PartWriter,
) -> None:
    # Ctrl-C is the main process's business: it saves the finished points and stops the pool.
    pool = process_pool(workers, ignore_interrupt=True)
    pending: dict[Future[tuple[pd.DataFrame, float]], str] = {}
    window = 4 * workers
    interrupted = False
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                pending[pool.submit(run_point, task)] = task.point_id
            if not pending:
                break
            done, _ = wait(pending, timeout=writer.seconds_left(), return_when=FIRST_COMPLETED)
            failure: SweepRunError | None = None
            for fut in done:  # keep every finished point before reporting a failure
                pid = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    failure = failure or SweepRunError(
                        f"a worker process died while simulating point {pid} (killed, or out of memory). The "
                        "points finished so far are saved; rerun with --resume to complete the sweep."
                    )
                except Exception as exc:
                    failure = failure or SweepRunError(f"point {pid} failed: {type(exc).__name__}: {exc}")
                else:
                    finished(*result)
            if failure is not None:
                raise failure
            writer.maybe_flush()
    except KeyboardInterrupt:
        interrupted = True  # do not wait for the points in progress
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)


def _run_dask(
    tasks: Iterator[PointTask],
    scheduler: str,
    workers: int,
    finished: Callable[[pd.DataFrame, float], None],
    writer: _PartWriter,
) -> None:
    try:
        import distributed
    except ImportError:
        raise SweepRunError(
            "--scheduler needs Dask: install it with `pip install 'msp-sim[dask]'` (or dask[distributed])."
        ) from None
    import logging

    dist: Any = distributed  # untyped library
    cluster = None
    try:
        if scheduler == "local":
            n = workers if workers > 0 else (os.cpu_count() or 1)
            cluster = dist.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = dist.Client(cluster)
            client.register_plugin(parent_watch_plugin(os.getpid()))  # no orphans if we are killed
        else:
            client = dist.Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
    except Exception as exc:
        if cluster is not None:
            cluster.close()
        where = (
            "start a local Dask cluster"
            if scheduler == "local"
            else f"reach the Dask scheduler at {scheduler}"
        )
        raise SweepRunError(
            f"could not {where}: {exc}. Start one with `dask scheduler` and workers with `dask worker "
            "tcp://HOST:8786`, or leave out --scheduler to use local processes."
        ) from None
    try:
        pending: dict[Any, str] = {}
        exhausted = False
        while True:
            window = max(8, 4 * sum(client.nthreads().values()))
            while not exhausted and len(pending) < window:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                fut = client.submit(run_point, task, key=f"msp-sim-point-{task.point_id}", pure=False)
                pending[fut] = task.point_id
            if not pending:
                break
            try:
                done = dist.wait(
                    list(pending), timeout=writer.seconds_left(), return_when="FIRST_COMPLETED"
                ).done
            except TimeoutError:
                done = set()
            failure: SweepRunError | None = None
            for fut in done:  # keep every finished point before reporting a failure
                pid = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:
                    failure = failure or SweepRunError(_dask_failure(pid, exc))
                else:
                    finished(*result)
                finally:
                    fut.release()
            if failure is not None:
                raise failure
            writer.maybe_flush()
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _dask_failure(pid: str, exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return (
            f"Dask workers died while simulating point {pid} (killed, or out of memory), too often to retry. "
            "The points finished so far are saved; rerun with --resume to complete the sweep."
        )
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"point {pid}: a Dask worker cannot import the simulator ({exc}). Install msp-sim on every "
            "worker (`pip install -e /path/to/msp-sim`) and start the workers from that environment."
        )
    return f"point {pid} failed on a Dask worker: {name}: {exc}"


# ----------------------------------------------------------------------------------------------- files


class _PartWriter:
    """Buffers finished points and writes them as numbered Parquet parts (temp file + os.replace each)."""

    def __init__(self, folder: Path, chunk_points: int, chunk_seconds: float) -> None:
        self.folder = folder
        self.chunk_points = max(1, chunk_points)
        self.chunk_seconds = chunk_seconds
        self.buffer: list[pd.DataFrame] = []
        self.last = time.monotonic()
        self.written = 0
        existing = [int(p.stem.split("-")[1]) for p in folder.glob("part-*.parquet")]
        self.next = max(existing, default=-1) + 1

    def add(self, frame: pd.DataFrame) -> None:
        self.buffer.append(frame)

    def seconds_left(self) -> float:
        return max(0.05, self.chunk_seconds - (time.monotonic() - self.last))

    def maybe_flush(self) -> None:
        if len(self.buffer) >= self.chunk_points or (
            self.buffer and time.monotonic() - self.last >= self.chunk_seconds
        ):
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.buffer:
            return
        frame = pd.concat(self.buffer, ignore_index=True)
        target = self.folder / f"part-{self.next:06d}.parquet"
        try:
            atomic_file(target, lambda tmp: frame.to_parquet(tmp, index=False))
        except OSError as exc:
            raise SweepRunError(_write_failure(self.folder.parent, exc)) from None
        self.buffer.clear()
        self.next += 1
        self.written += 1


def _write_failure(out: Path, exc: OSError) -> str:
    return (
        f"could not write to {out}: {exc.strerror or exc}. The points saved before are intact; free some "
        "space (or fix the folder) and rerun with --resume."
    )


@contextlib.contextmanager
def _sweep_lock(out: Path) -> Iterator[None]:
    """One writer per sweep folder (see :func:`simulator.files.folder_lock`)."""
    try:
        lock = folder_lock(out)
        lock.__enter__()
    except FolderBusy:
        raise SweepRunError(
            f"{out}: another msp-sim command is writing to this folder. Wait for it to finish, or choose "
            "another --out folder."
        ) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def _manifest(plan: SweepPlan) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": plan.name,
        "fingerprint": plan.fingerprint,
        "kind": plan.spec.design.kind,
        "parameters": plan.parameters,
        "points": len(plan.point_ids),
        "samples": len(plan.design),
        "replications": plan.replications,
        "seed": plan.seed,
        "reference_contract": plan.spec.reference_contract,
        "contract": plan.spec.contract,
        "contracts": [c.name for c in plan.base.contracts],
        "currency": plan.base.currency,
        "design": plan.spec.design.model_dump(mode="json", exclude_none=True),
    }


def _check_folder(plan: SweepPlan, out: Path) -> None:
    """Refuse a folder this sweep may not write into (reads only): a file, another sweep's results, or a folder
    holding anything that is not this sweep's."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SweepError(f"{out}: exists and is not a folder. Fix: give --out a folder name.")
    if not out.exists():
        return
    manifest = out / "manifest.json"
    if manifest.exists():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if old.get("fingerprint") != plan.fingerprint:
            raise SweepError(
                f"{out}: holds the results of another sweep ('{old.get('name', '?')}': a different base "
                "scenario, parameters, seed or replications). Fix: choose another --out folder, or delete "
                "this one."
            )
        return
    parts = out / "parts"
    leftovers = [p for p in out.iterdir() if p.name not in ("parts", ".lock")]
    if (parts.is_dir() and any(parts.iterdir())) or (parts.exists() and not parts.is_dir()):
        leftovers.append(parts)
    if leftovers:
        shown = ", ".join(sorted(p.name for p in leftovers)[:5]) + (" ..." if len(leftovers) > 5 else "")
        raise SweepError(
            f"{out}: is not empty and holds no sweep results ({shown}), so it is left as it is. Fix: choose "
            "another --out folder (a new or empty one)."
        )


def _write_state(plan: SweepPlan, out: Path) -> None:
    """The resolved sweep and base scenario, the design table and the manifest (before any part)."""
    write_text(out / "base.resolved.yaml", dump_scenario(plan.base))
    resolved = plan.spec.model_dump(mode="json", exclude_none=True)
    resolved.update({"base": "base.resolved.yaml", "overrides": {}})
    write_text(
        out / "sweep.resolved.yaml",
        f"# Sweep '{plan.name}', every default written out; its base is the resolved scenario beside it.\n"
        + dump_yaml(resolved, default_flow_style=None, width=110),
    )
    atomic_file(out / "design.csv", lambda tmp: write_csv(plan.design, tmp))
    write_text(out / "manifest.json", json.dumps(_manifest(plan), indent=2) + "\n")


def _part_files(parts: Path) -> list[Path]:
    return sorted(parts.glob("part-*.parquet"))


def _finished_ids(parts: Path) -> set[str]:
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for part in _part_files(parts):
        try:
            ids.update(pq.read_table(part, columns=["point_id"]).column(0).to_pylist())
        except Exception as exc:
            raise SweepRunError(
                f"{part}: cannot be read ({exc}). Move it away and rerun with --resume (its points are run "
                "again)."
            ) from None
    return ids


def _read_parts(parts: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in _part_files(parts)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _finalize(plan: SweepPlan, out: Path) -> SweepResults | None:
    """When every point is in: the sorted tidy table, per-point summaries and paired differences."""
    rows = _read_parts(out / "parts")
    if rows.empty:
        return None
    ids = plan.point_ids
    rows = rows[rows["point_id"].isin(set(ids))]
    if rows["point_id"].nunique() < len(ids):
        return None
    rows = _order(rows, ids, [c.name for c in plan.base.contracts])
    reference = str(plan.spec.reference_contract)
    summary = summarize_points(rows, plan.parameters)
    differences = point_differences(rows, reference, plan.parameters)
    try:
        atomic_file(out / "points.parquet", lambda tmp: rows.to_parquet(tmp, index=False))
        atomic_file(out / "summary.csv", lambda tmp: write_csv(summary, tmp))
        atomic_file(out / "differences.csv", lambda tmp: write_csv(differences, tmp))
    except OSError as exc:
        raise SweepRunError(_write_failure(out, exc)) from None
    return SweepResults(
        out=out,
        manifest=_manifest(plan),
        design=plan.design,
        rows=rows,
        summary=summary,
        differences=differences,
    )


def _order(rows: pd.DataFrame, ids: list[str], contracts: list[str]) -> pd.DataFrame:
    """Design order of points, then replication, then scenario order of contracts; one copy of each row."""
    rows = rows.drop_duplicates(["point_id", "replication", "contract"])
    position = {pid: i for i, pid in enumerate(ids)}
    order = {c: i for i, c in enumerate(contracts)}
    key = pd.DataFrame(
        {
            "p": rows["point_id"].map(position),
            "r": rows["replication"],
            "c": rows["contract"].map(order),
        }
    )
    return rows.iloc[np.lexsort((key["c"], key["r"], key["p"]))].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- results


@dataclass
class SweepResults:
    """A finished sweep's tables: tidy rows, per-point summaries and paired differences, and the design."""

    out: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    rows: pd.DataFrame
    summary: pd.DataFrame = field(repr=False)
    differences: pd.DataFrame = field(repr=False)

    @property
    def parameters(self) -> list[str]:
        """Swept parameter names (columns of every table)."""
        return list(self.manifest["parameters"])

    @property
    def kind(self) -> str:
        """The design kind."""
        return str(self.manifest["kind"])

    @property
    def reference(self) -> str:
        """The reference contract."""
        return str(self.manifest["reference_contract"])

    @property
    def contract(self) -> str | None:
        """The contract the analyses compare with the reference."""
        c = self.manifest.get("contract")
        return None if c is None else str(c)

    @property
    def currency(self) -> str:
        """Currency of every money column."""
        return str(self.manifest.get("currency", "USD"))


def load_results(out: str | Path) -> SweepResults:
    """Read a sweep's results folder (from :func:`run_sweep`; if unfinished, without the missing points)."""
    out = Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise SweepError(
            f"{out}: not a sweep results folder (no manifest.json). Fix: give a folder that "
            "`msp-sim sweep --out` wrote."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    design = read_csv(out / "design.csv", dtype={"point_id": str})
    if (out / "points.parquet").exists():
        rows = pd.read_parquet(out / "points.parquet")
    else:
        ids = list(dict.fromkeys(design["point_id"]))
        rows = _read_parts(out / "parts")
        if rows.empty:
            raise SweepError(
                f"{out}: no finished points yet. Fix: run `msp-sim sweep` (with --resume) first."
            )
        rows = _order(rows[rows["point_id"].isin(set(ids))], ids, list(manifest["contracts"]))
    params = list(manifest["parameters"])
    return SweepResults(
        out=out,
        manifest=manifest,
        design=design,
        rows=rows,
        summary=summarize_points(rows, params),
        differences=point_differences(rows, str(manifest["reference_contract"]), params),
    )


def _metric_columns(rows: pd.DataFrame) -> list[str]:
    return [m for m in METRICS if m in rows.columns]


def _intervals(grouped: Any, metrics: list[str], keys: list[str]) -> pd.DataFrame:
    """Mean, std, 95% t-interval and n per group and metric (missing values ignored), in long form: groups in
    order of appearance, metrics in ``METRICS`` order within each group."""
    mean = grouped[metrics].mean()
    std = grouped[metrics].std(ddof=1).reindex(mean.index)
    n = grouped[metrics].count().reindex(mean.index)
    m = len(metrics)
    long = mean.index.to_frame(index=False).loc[np.repeat(np.arange(len(mean)), m)].reset_index(drop=True)
    long.columns = keys
    long["metric"] = np.tile(np.array(metrics, dtype=object), len(mean))
    long["mean"] = mean.to_numpy(dtype=float).ravel()
    long["std"] = std.to_numpy(dtype=float).ravel()
    nn = n.to_numpy(dtype=float).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(nn > 1, stats.t.ppf(0.975, np.maximum(nn - 1, 1)), np.nan)
        half = t * long["std"].to_numpy() / np.sqrt(nn)
    long["ci_low"] = long["mean"] - half
    long["ci_high"] = long["mean"] + half
    long["n"] = nn.astype(int)
    return long


def summarize_points(rows: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """Per point and contract, every metric's mean, std and 95% t-interval over replications:
    ``point_id, <parameters>, contract, metric, mean, std, ci_low, ci_high, n``."""
    metrics = _metric_columns(rows)
    long = _intervals(rows.groupby(["point_id", "contract"], sort=False), metrics, ["point_id", "contract"])
    values = rows.drop_duplicates("point_id").set_index("point_id")[parameters]
    long = long.join(values, on="point_id")
    cols = ["point_id", *parameters, "contract", "metric", "mean", "std", "ci_low", "ci_high", "n"]
    return long[cols]


def point_differences(rows: pd.DataFrame, reference: str, parameters: list[str]) -> pd.DataFrame:
    """Per point, each contract minus the reference contract, paired by replication, with a 95% t-interval:
    ``point_id, <parameters>, contract, reference, metric, mean, std, ci_low, ci_high, n``."""
    metrics = _metric_columns(rows)
    cols = [
        "point_id",
        *parameters,
        "contract",
        "reference",
        "metric",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "n",
    ]
    keyed = rows.set_index(["point_id", "replication"])
    ref = keyed[keyed["contract"] == reference][metrics]
    others = keyed[keyed["contract"] != reference]
    if others.empty or ref.empty:
        return pd.DataFrame(columns=cols)
    diff = others[metrics].sub(ref.reindex(others.index))
    diff["contract"] = others["contract"]
    diff = diff.reset_index()
    long = _intervals(diff.groupby(["point_id", "contract"], sort=False), metrics, ["point_id", "contract"])
    long["reference"] = reference
    values = rows.drop_duplicates("point_id").set_index("point_id")[parameters]
    long = long.join(values, on="point_id")
    return long[cols]
