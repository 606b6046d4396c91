"""Finished work kept on disk, so that an interrupted study resumes where it stopped (``msp-sim incentives``).

A study's evaluations are batches of rows, one batch per replication of one piece of work. Each batch is saved
under a key made of everything that determines it (the resolved scenario, the seed, the work itself, the
replication): a rerun of the same command finds the batches already done and simulates only the rest, with the
same numbers as a run that was never interrupted. Rows hold plain values (saved as Parquet) and at most one dict
of numpy arrays each (saved as ``.npz``, read without pickle). Each file is written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.base.files import atomic_file

__all__ = ["Checkpoints"]

_KEY = re.compile(r"[0-9a-f]{32}\.(parquet|npz)")
"""The names of the files :class:`Checkpoints` writes."""


class Checkpoints:
    """The saved batches of one study in ``folder`` (created when the first batch is saved)."""

    def __init__(self, folder: Path | str, arrays: str) -> None:
        self.folder = Path(folder)
        self.arrays = arrays
        """The row field holding the dict of arrays."""

    def key(self, *parts: Any) -> str:
        """A key for the work described by ``parts`` (their ``repr``)."""
        return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.parquet", self.folder / f"{key}.npz"

    def load(self, key: str) -> list[dict[str, Any]] | None:
        """The rows saved under ``key``, or None when there are none (or they cannot be read: then redone)."""
        table, arrays = self._paths(key)
        if not (table.is_file() and arrays.is_file()):
            return None
        try:
            rows = [{str(k): v for k, v in row.items()} for row in pd.read_parquet(table).to_dict("records")]
            with np.load(arrays, allow_pickle=False) as saved:
                for name in saved.files:
                    index, field = name.split(":", 1)
                    rows[int(index)].setdefault(self.arrays, {})[field] = saved[name]
        except (OSError, ValueError, KeyError, IndexError):
            return None
        return rows

    def save(self, key: str, rows: list[dict[str, Any]]) -> None:
        """Save ``rows`` under ``key``: the arrays first, the table last (a batch counts once its table is there)."""
        table, arrays = self._paths(key)
        plain = [{k: v for k, v in row.items() if k != self.arrays} for row in rows]
        named = {
            f"{i}:{field}": value
            for i, row in enumerate(rows)
            for field, value in row.get(self.arrays, {}).items()
        }
        atomic_file(arrays, lambda tmp: _save_npz(tmp, named), sync=False)
        atomic_file(table, lambda tmp: pd.DataFrame(plain).to_parquet(tmp, index=False), sync=False)

    def remove(self) -> None:
        """Delete the saved batches (the study finished and wrote its results): only the files this class names,
        then the folder if that left it empty."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if _KEY.fullmatch(path.name):
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with path.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]
