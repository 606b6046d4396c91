"""The sweep file (pydantic models: a base scenario, fixed overrides, a design over dotted paths) and the
messages for a file that does not validate: one line per problem, naming the file, the field and the fix."""

from __future__ import annotations

import difflib
import math
from typing import Annotated, Any, Literal

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

from simulator.base.limits import REPLICATIONS, SEED, Label, PathText, Text
from simulator.config import fix_for

__all__ = [
    "DESIGN_KINDS",
    "MAX_POINTS",
    "SWEPT",
    "Axis",
    "Design",
    "Grid",
    "LatinHypercube",
    "Number",
    "RandomDesign",
    "Range",
    "Scalar",
    "SobolDesign",
    "Sweep",
    "format_errors",
]

DESIGN_KINDS = ("grid", "random", "latin_hypercube", "sobol")


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


# ----------------------------------------------------------------------------------------------- messages


def format_errors(label: str, exc: ValidationError, data: dict[str, Any]) -> str:
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
