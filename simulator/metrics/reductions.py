"""Sums, percentiles and variability of several runs' figures at once, each what NumPy gives for the run's own
values, to the bit: a run's figures must not depend on the runs measured beside it, nor on how many."""

from __future__ import annotations

import numpy as np

__all__ = ["percentile", "row_cvs", "row_sums", "segment_percentiles", "segment_sums"]


def percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (its default, linear interpolation between the two nearest ranks, as NumPy
    computes it, NaN when ``x`` holds one) for a non-empty 1-d array, without the general function's set-up, which
    outweighs the work on the short arrays of a replication."""
    return float(segment_percentiles(x, np.array([len(x)]), q)[0])


def segment_percentiles(values: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """:func:`percentile` of each consecutive segment of ``values`` (``counts[k]`` values in the k-th; NaN for an
    empty one), all at once."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    run = np.repeat(np.arange(len(counts)), counts)
    # Each segment ranked (NaN last, as np.sort puts it).
    ranked = np.sort(values) if len(counts) == 1 else values[np.lexsort((values, run))]
    n = counts.astype(float)
    virtual = (n - 1) * (q / 100)
    last = virtual >= n - 1  # NumPy takes the last value twice, its weight measured from index −1
    below = np.where(last, n - 1, np.floor(virtual))
    above = np.where(last, n - 1, below + 1)
    gamma = np.where(last, virtual + 1.0, virtual - below)
    full = counts > 0
    starts = (ends - counts)[full]
    a = np.full(len(counts), np.nan)
    b = np.full(len(counts), np.nan)
    a[full] = ranked[starts + below[full].astype(np.int64)]
    b[full] = ranked[starts + above[full].astype(np.int64)]
    with np.errstate(invalid="ignore"):
        step = b - a
        out = np.where(gamma >= 0.5, b - step * (1 - gamma), a + step * gamma)
    out[~full] = np.nan
    out[full] = np.where(np.isnan(ranked[ends[full] - 1]), np.nan, out[full])
    return out


def row_cvs(x: np.ndarray) -> np.ndarray:
    """The coefficient of variation of each row of ``x``, ``np.std(row, ddof=1) / np.mean(row)`` as NumPy computes
    it for the row alone; NaN with fewer than two values or a mean not above 0."""
    k, n = x.shape
    if n < 2:
        return np.full(k, np.nan)
    mean = row_sums(x) / n
    deviation = x - mean[:, None]
    std = np.sqrt(row_sums(deviation * deviation) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, std / mean, np.nan)


def row_sums(x: np.ndarray) -> np.ndarray:
    """Each row's sum, added as NumPy adds a 1-d array (pairwise): a 2-d array's sum along an axis may add in
    another order, and a run's figures must not depend on the runs measured beside it."""
    return np.array([np.add.reduce(row) for row in x], dtype=float).reshape(len(x))


def segment_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The sums of consecutive segments of ``values`` (``counts[k]`` values in the k-th), each added as NumPy
    adds a 1-d array."""
    ends = np.cumsum(counts)
    return np.array(
        [np.add.reduce(values[end - count : end]) for end, count in zip(ends, counts, strict=True)],
        dtype=float,
    ).reshape(len(counts))
