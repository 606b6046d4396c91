"""A sweep's results folder while it runs: the check that this sweep may write there, one writer at a time,
the resolved sweep, design and manifest, the finished points as numbered Parquet parts, and reading them back."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.base.files import (
    FolderBusy,
    atomic_file,
    clean_temporaries,
    folder_lock,
    write_csv,
    write_text,
)
from simulator.config import dump_scenario, dump_yaml

from .design import SweepPlan
from .errors import SweepError, SweepRunError

__all__ = [
    "DERIVED",
    "FORMAT",
    "PartWriter",
    "create_folder",
    "drop_derived",
    "manifest_of",
    "open_folder",
    "order_rows",
    "read_parts",
    "sweep_lock",
    "write_failure",
]

FORMAT = 1
"""Version of the results-folder layout (``manifest.json``)."""
DERIVED = ("points.parquet", "summary.csv", "differences.csv")
"""The tables built from the parts when every point is in."""


def create_folder(plan: SweepPlan, out: Path, resume: bool) -> Path:
    """Check that this sweep may write into ``out``, then create it and its ``parts`` folder (returned).

    The checks come before anything is created: a refused folder stays exactly as it was."""
    if resume and not (out / "manifest.json").exists():
        raise SweepError(
            f"{out}: nothing to resume (no manifest.json from an earlier run of this sweep). Fix: run "
            "without --resume, or give the --out folder of the interrupted run."
        )
    _check_folder(plan, out)
    parts = out / "parts"
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepRunError(f"could not create the results folder {out}: {exc.strerror or exc}.") from None
    return parts


def open_folder(plan: SweepPlan, out: Path) -> set[str]:
    """Under the folder's lock: check it again, remove what interrupted writes left, write the sweep's state;
    the ids of the points already finished."""
    parts = out / "parts"
    _check_folder(plan, out)
    for folder in (out, parts):
        clean_temporaries(folder)
    with contextlib.suppress(FileNotFoundError):
        (out / ".lock").unlink()  # the lock file of earlier versions
    try:
        _write_state(plan, out)
    except OSError as exc:
        raise SweepRunError(write_failure(out, exc)) from None
    return _finished_ids(parts)


def drop_derived(out: Path) -> None:
    """Remove the derived tables: they no longer cover the design, and are rebuilt when every point is in."""
    for name in DERIVED:
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()


class PartWriter:
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
        """Buffer one finished point's rows."""
        self.buffer.append(frame)

    def seconds_left(self) -> float:
        """Seconds until the next timed flush is due (at least 0.05: a wait's timeout)."""
        return max(0.05, self.chunk_seconds - (time.monotonic() - self.last))

    def maybe_flush(self) -> None:
        """Write a part when ``chunk_points`` points are buffered or ``chunk_seconds`` have passed."""
        if len(self.buffer) >= self.chunk_points or (
            self.buffer and time.monotonic() - self.last >= self.chunk_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered points as the next part, if any (a full disk is a :class:`SweepRunError`)."""
        self.last = time.monotonic()
        if not self.buffer:
            return
        frame = pd.concat(self.buffer, ignore_index=True)
        target = self.folder / f"part-{self.next:06d}.parquet"
        try:
            atomic_file(target, lambda tmp: frame.to_parquet(tmp, index=False))
        except OSError as exc:
            raise SweepRunError(write_failure(self.folder.parent, exc)) from None
        self.buffer.clear()
        self.next += 1
        self.written += 1


def write_failure(out: Path, exc: OSError) -> str:
    """The message for a write into ``out`` that failed: what happened and how to go on."""
    return (
        f"could not write to {out}: {exc.strerror or exc}. The points saved before are intact; free some "
        "space (or fix the folder) and rerun with --resume."
    )


@contextlib.contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """One writer per sweep folder (see :func:`simulator.base.files.folder_lock`)."""
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


def manifest_of(plan: SweepPlan) -> dict[str, Any]:
    """What the folder holds (``manifest.json``): the sweep's name, fingerprint, design and contracts."""
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
        "locale": plan.base.locale,
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
    write_text(out / "manifest.json", json.dumps(manifest_of(plan), indent=2) + "\n")


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


def read_parts(parts: Path) -> pd.DataFrame:
    """Every finished point's rows, in part order (empty when there is no part)."""
    frames = [pd.read_parquet(p) for p in _part_files(parts)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def order_rows(rows: pd.DataFrame, ids: list[str], contracts: list[str]) -> pd.DataFrame:
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
