"""Named random streams: every stream is seeded from (scenario seed, replication, stream name).

A stream's name, not the order in which streams are created, decides its numbers, so adding a client segment or a
category leaves every other stream untouched, and the same seed gives the same numbers in any worker process.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream", "stream_key"]


def stream_key(name: str) -> int:
    """A stable 32-bit integer for a stream name (CRC-32, identical on every platform and Python run)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for one named stream of one replication."""
    sequence = np.random.SeedSequence([int(seed), int(replication), stream_key(name)])
    return np.random.Generator(np.random.PCG64(sequence))
