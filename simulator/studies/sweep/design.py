"""A sweep's design: its parameters resolved against the base scenario, the samples (grid, random, Latin
hypercube, Sobol'), their expansion into valid points with stable ids, and the plan that holds them."""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from simulator.config import (
    Scenario,
    ScenarioError,
    apply_overrides,
    format_validation_error,
    read_yaml,
)
from simulator.metrics import METRICS

from .errors import SweepError
from .spec import Axis, Grid, LatinHypercube, RandomDesign, Range, Sweep, format_errors

__all__ = [
    "ID_COLUMNS",
    "RESERVED",
    "PointTask",
    "SweepPlan",
    "load_sweep",
    "plan_sweep",
    "point_id",
]

ID_COLUMNS = ("point_id", "replication", "seed")
RESERVED = {*ID_COLUMNS, "contract", "sample", "measured_months", *METRICS}


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
        raise SweepError(format_errors(str(path), exc, data)) from None
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
    base_data = base.model_dump(mode="json", by_alias=True)
    contracts = [c.name for c in base.contracts]
    reference = spec.reference_contract or base.reference
    if reference not in contracts:
        raise SweepError(_unknown(label, "reference_contract", reference, contracts))
    contract = spec.contract
    if contract is None:
        others = [c for c in base.contracts if c.name != reference]
        managed = [c.name for c in others if c.managed]
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
