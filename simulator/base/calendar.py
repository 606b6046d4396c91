"""Business-hours arithmetic, vectorised.

The clock starts on a Monday at 00:00 and runs in hours. A calendar says which hours of the week are business
hours. ``business_time(t)`` counts the business hours elapsed since 0; it is piecewise linear and non-decreasing, so
the technician queue can run in "coverage time" (where closed hours take no time at all) and be mapped back to the
clock with ``clock_time``. Both work on numpy arrays and on scalars.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["HOURS_PER_MONTH", "HOURS_PER_WEEK", "HOURS_PER_YEAR", "WeekCalendar", "scalar_maps"]

HOURS_PER_WEEK = 168.0
HOURS_PER_MONTH = 730.0
HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class WeekCalendar:
    """Open hours of a week: ``days`` (0 = Monday) open from ``open_hour`` to ``close_hour``, or always open."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    open_hour: float = 8.0
    close_hour: float = 18.0
    always_open: bool = False

    def __post_init__(self) -> None:
        if self.always_open:
            starts = np.array([0.0])
            ends = np.array([HOURS_PER_WEEK])
        else:
            days = sorted(set(self.days))
            starts = np.array([24.0 * d + self.open_hour for d in days])
            ends = np.array([24.0 * d + self.close_hour for d in days])
        lengths = ends - starts
        cum_start = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
        object.__setattr__(self, "_starts", starts)
        object.__setattr__(self, "_ends", ends)
        object.__setattr__(self, "_cum_start", cum_start)
        object.__setattr__(self, "_per_week", float(lengths.sum()))
        # Knots of the piecewise-linear map clock -> business time within one week.
        xs = np.concatenate([[0.0], np.column_stack([starts, ends]).ravel(), [HOURS_PER_WEEK]])
        ys = np.concatenate(
            [[0.0], np.column_stack([cum_start, cum_start + lengths]).ravel(), [lengths.sum()]]
        )
        object.__setattr__(self, "_xs", xs)
        object.__setattr__(self, "_ys", ys)

    @property
    def hours_per_week(self) -> float:
        """Business hours in a week."""
        return float(self._per_week)  # type: ignore[attr-defined]

    def business_time(self, t: np.ndarray | float) -> np.ndarray:
        """Business hours elapsed between clock 0 and clock ``t`` [hours]."""
        t = np.asarray(t, dtype=float)
        if self.always_open:
            return t.copy()
        weeks = np.floor(t / HOURS_PER_WEEK)
        within = t - weeks * HOURS_PER_WEEK
        return weeks * self._per_week + np.interp(within, self._xs, self._ys)  # type: ignore[attr-defined]

    def business_hours_between(self, start: np.ndarray | float, end: np.ndarray | float) -> np.ndarray:
        """Business hours inside the clock interval [start, end] [hours]."""
        return self.business_time(end) - self.business_time(start)

    def clock_time(self, b: np.ndarray | float, *, earliest: bool = True) -> np.ndarray:
        """The clock time at which ``b`` business hours have elapsed.

        Where several clock times share one business time (the closed hours), ``earliest=True`` gives the moment
        work stops (a job ending at closing time ends at 18:00), ``earliest=False`` the moment work can resume (a job
        starting then starts at the next opening).
        """
        b = np.asarray(b, dtype=float)
        if self.always_open:
            return b.copy()
        per_week: float = self._per_week  # type: ignore[attr-defined]
        weeks = np.floor(b / per_week)
        within = b - weeks * per_week
        cum_start: np.ndarray = self._cum_start  # type: ignore[attr-defined]
        starts: np.ndarray = self._starts  # type: ignore[attr-defined]
        ends: np.ndarray = self._ends  # type: ignore[attr-defined]
        idx = np.searchsorted(cum_start, within, side="right") - 1
        # As np.clip, without its overhead on small arrays.
        idx = np.minimum(np.maximum(idx, 0), len(starts) - 1)
        t = starts[idx] + (within - cum_start[idx])
        if earliest:
            # A business time that falls exactly on an interval's start is also the previous interval's end.
            at_start = (within == cum_start[idx]) & (idx > 0)
            t = np.where(at_start, ends[np.maximum(idx - 1, 0)], t)
            at_week_start = (within == 0.0) & (weeks > 0)
            t = np.where(at_week_start, ends[-1] - HOURS_PER_WEEK, t)
        return weeks * HOURS_PER_WEEK + t

    def is_open(self, t: np.ndarray | float) -> np.ndarray:
        """Whether clock time ``t`` falls in business hours."""
        t = np.asarray(t, dtype=float)
        if self.always_open:
            return np.ones(t.shape, dtype=bool)
        within = np.mod(t, HOURS_PER_WEEK)
        starts: np.ndarray = self._starts  # type: ignore[attr-defined]
        ends: np.ndarray = self._ends  # type: ignore[attr-defined]
        idx = np.searchsorted(starts, within, side="right") - 1
        ok = idx >= 0
        idx = np.maximum(idx, 0)
        return ok & (within < ends[idx])


def scalar_maps(cal: WeekCalendar) -> tuple[Callable[[float], float], Callable[[float, bool], float]]:
    """Pure-Python scalar versions of ``business_time`` and ``clock_time`` for use inside the event loop."""
    if cal.always_open:
        return (lambda t: t), (lambda b, earliest=True: b)
    xs: list[float] = cal._xs.tolist()  # type: ignore[attr-defined]
    ys: list[float] = cal._ys.tolist()  # type: ignore[attr-defined]
    per_week = cal.hours_per_week
    starts: list[float] = cal._starts.tolist()  # type: ignore[attr-defined]
    ends: list[float] = cal._ends.tolist()  # type: ignore[attr-defined]
    cum: list[float] = cal._cum_start.tolist()  # type: ignore[attr-defined]

    # Everything the maps read bound to locals of the closures (no global or attribute lookups per call).
    floor, bisect_right, week = math.floor, bisect.bisect_right, HOURS_PER_WEEK
    last_x, last_start = len(xs) - 2, len(starts) - 1
    week_end = ends[-1] - HOURS_PER_WEEK

    def business(t: float) -> float:
        weeks = floor(t / week)
        within = t - weeks * week
        i = bisect_right(xs, within) - 1
        i = 0 if i < 0 else (last_x if i > last_x else i)
        x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
        y = y0 if x1 == x0 else y0 + (y1 - y0) * (within - x0) / (x1 - x0)
        return weeks * per_week + y

    def clock(b: float, earliest: bool = True) -> float:
        weeks = floor(b / per_week)
        within = b - weeks * per_week
        i = bisect_right(cum, within) - 1
        i = 0 if i < 0 else (last_start if i > last_start else i)
        t = starts[i] + (within - cum[i])
        if earliest and within == cum[i]:
            if i > 0:
                t = ends[i - 1]
            elif weeks > 0 and within == 0.0:
                t = week_end
        return weeks * week + t

    return business, clock
