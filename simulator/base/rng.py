"""Named random streams: every stream is seeded from (scenario seed, replication, stream name).

A stream's name, not the order in which streams are created, decides its numbers, so adding a client segment or a
category leaves every other stream untouched, and the same seed gives the same numbers in any worker process.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISeedSequence

__all__ = ["TOGETHER", "seeded_together", "stream", "stream_key", "streams"]


def stream_key(name: str) -> int:
    """A stable 32-bit integer for a stream name (CRC-32, identical on every platform and Python run)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for one named stream of one replication."""
    sequence = np.random.SeedSequence([int(seed), int(replication), stream_key(name)])
    return np.random.Generator(np.random.PCG64(sequence))


# NumPy's SeedSequence (O'Neill's seed_seq alternative, a pool of four 32-bit words), whose hashing NumPy documents
# and keeps stable across versions: its constants and steps, on arrays of many entropies at once.
_POOL = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_SHIFT = 16
_MASK = 0xFFFFFFFF


TOGETHER = 16
"""From how many streams :func:`streams` seeds them together (below, one by one is quicker)."""


def streams(seed: int, named: Sequence[tuple[int, str]]) -> list[np.random.Generator]:
    """:func:`stream` of each (replication, name) of ``named``: the same generators, seeded together when there
    are many (:func:`seeded_together`)."""
    if len(named) < TOGETHER:
        return [stream(seed, replication, name) for replication, name in named]
    return seeded_together(seed, named)


def seeded_together(seed: int, named: Sequence[tuple[int, str]]) -> list[np.random.Generator]:
    """:func:`stream` of each (replication, name) of ``named``, all seeded at once: the seed sequences' hashing
    done on arrays (a few hundred array operations for all of them rather than a few dozen per stream)."""
    if not named:
        return []
    rows = [_words(int(seed)) + _words(int(r)) + [stream_key(name)] for r, name in named]
    out: list[np.random.Generator | None] = [None] * len(rows)
    for length in sorted({len(row) for row in rows}):
        mine = [i for i, row in enumerate(rows) if len(row) == length]
        states = _generate_state(_pool(np.array([rows[i] for i in mine], dtype=np.uint32)))
        for i, state in zip(mine, states, strict=True):
            # NumPy's bit generators take any ISeedSequence as their seed (its stubs name only SeedSequence).
            out[i] = np.random.Generator(np.random.PCG64(_Drawn(state)))  # type: ignore[arg-type]
    return [g for g in out if g is not None]


def _words(n: int) -> list[int]:
    """A non-negative integer as NumPy's seed sequences take it: its 32-bit words, least significant first."""
    if n < 0:
        raise ValueError("a seed must not be negative")
    words = [] if n else [0]
    while n > 0:
        words.append(n & _MASK)
        n >>= 32
    return words


class _Hash:
    """The hash constant a seed sequence updates as it hashes, the same for every row."""

    def __init__(self) -> None:
        self.value = _INIT_A

    def mix(self, value: np.ndarray) -> np.ndarray:
        value = value ^ np.uint32(self.value)
        self.value = (self.value * _MULT_A) & _MASK
        value = value * np.uint32(self.value)
        return value ^ (value >> np.uint32(_SHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
    return result ^ (result >> np.uint32(_SHIFT))


def _pool(entropy: np.ndarray) -> np.ndarray:
    """The pools of rows of entropy words (all of one length), shape (rows, 4)."""
    rows, length = entropy.shape
    hashing = _Hash()
    zero = np.zeros(rows, dtype=np.uint32)
    mixer = [hashing.mix(entropy[:, i] if i < length else zero) for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                mixer[dst] = _mix(mixer[dst], hashing.mix(mixer[src]))
    for src in range(_POOL, length):
        for dst in range(_POOL):
            mixer[dst] = _mix(mixer[dst], hashing.mix(entropy[:, src]))
    return np.stack(mixer, axis=1)


def _generate_state(pool: np.ndarray) -> np.ndarray:
    """Four 64-bit words of state from each pool (a seed sequence's ``generate_state(4, np.uint64)``)."""
    value = _INIT_B
    words = []
    for i in range(8):
        data = pool[:, i % _POOL] ^ np.uint32(value)
        value = (value * _MULT_B) & _MASK
        data = data * np.uint32(value)
        words.append(data ^ (data >> np.uint32(_SHIFT)))
    little = np.stack(words, axis=1).astype("<u4")
    return np.ascontiguousarray(little).view("<u8").astype(np.uint64)


class _Drawn(ISeedSequence):
    """A seed sequence whose state is worked out already (by :func:`seeded_together`)."""

    def __init__(self, state: np.ndarray) -> None:
        self.state = state

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.uint64:
            raise ValueError("a drawn seed sequence gives four 64-bit words")
        return self.state
