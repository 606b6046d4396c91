"""The technician pool: non-preemptive priority queue, FCFS within a priority, run on SimPy.

SimPy is used as a bare event scheduler with callbacks (no process per ticket): a ticket costs two events, its
arrival and its completion. The pool runs in *coverage time*, the clock with the technicians' off-duty hours cut
out, so a job that spans closing time simply continues at the next opening; callers map times back to the clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

__all__ = ["Job", "PoolResult", "run_pool"]

Job = tuple[float, int, float]
"""A job submitted while the pool runs: (arrival in coverage time, priority, service hours)."""


@dataclass(frozen=True)
class PoolResult:
    """Start and end (coverage time) of every job, in submission order; jobs added during the run come last."""

    arrival: np.ndarray
    priority: np.ndarray
    service: np.ndarray
    start: np.ndarray
    end: np.ndarray


def run_pool(
    arrival: np.ndarray,
    priority: np.ndarray,
    service: np.ndarray,
    servers: int,
    on_done: Callable[[int, float], Job | None] | None = None,
    added: list[tuple[float, int]] | None = None,
) -> PoolResult:
    """Serve jobs with ``servers`` identical technicians.

    ``arrival`` must be sorted. Lower ``priority`` numbers go first; ties go to the earlier arrival, then the
    earlier submission. ``on_done(job, end)`` may return a new job (a recurrence) to submit at its arrival time.
    ``added`` lists (time, count) of technicians joining the pool (hiring).
    """
    env = simpy.Environment()
    arr: list[float] = arrival.tolist()
    pri: list[int] = priority.tolist()
    svc: list[float] = service.tolist()
    n = len(arr)
    start = [np.nan] * n
    end = [np.nan] * n
    waiting: list[tuple[int, float, int]] = []
    free = servers
    heappush, heappop = heapq.heappush, heapq.heappop
    timeout = env.timeout

    def begin(i: int, now: float) -> None:
        start[i] = now
        timeout(svc[i], i).callbacks.append(finish)

    def finish(ev: simpy.Event) -> None:
        nonlocal free
        i: int = ev.value  # type: ignore[assignment]
        now = env.now
        end[i] = now
        if waiting:
            begin(heappop(waiting)[2], now)
        else:
            free += 1
        if on_done is not None:
            job = on_done(i, now)
            if job is not None:
                k = len(arr)
                arr.append(job[0])
                pri.append(job[1])
                svc.append(job[2])
                start.append(np.nan)
                end.append(np.nan)
                timeout(max(job[0] - now, 0.0), k).callbacks.append(arrive)

    def arrive(ev: simpy.Event) -> None:
        nonlocal free
        i: int = ev.value  # type: ignore[assignment]
        if free:
            free -= 1
            begin(i, env.now)
        else:
            heappush(waiting, (pri[i], arr[i], i))

    # Arrivals are fed one at a time so the event heap stays small: each arrival, when it comes, schedules the
    # next (the arrival's own work is done here rather than in a second call).
    next_index = 0

    def feed(ev: simpy.Event | None = None) -> None:
        nonlocal next_index, free
        now = env.now
        if ev is not None:
            i: int = ev.value  # type: ignore[assignment]
            if free:
                free -= 1
                begin(i, now)
            else:
                heappush(waiting, (pri[i], arr[i], i))
        if next_index < n:
            j = next_index
            next_index += 1
            timeout(max(arr[j] - now, 0.0), j).callbacks.append(feed)

    def hire(ev: simpy.Event) -> None:
        nonlocal free
        count: int = ev.value  # type: ignore[assignment]
        free += count
        while free and waiting:
            free -= 1
            begin(heappop(waiting)[2], env.now)

    for when, count in added or []:
        timeout(max(when, 0.0), count).callbacks.append(hire)
    feed()
    env.run()
    result = PoolResult(
        arrival=np.asarray(arr, dtype=float),
        priority=np.asarray(pri, dtype=np.int8),
        service=np.asarray(svc, dtype=float),
        start=np.asarray(start, dtype=float),
        end=np.asarray(end, dtype=float),
    )
    # The callbacks refer to each other (a reference cycle that only the garbage collector would break): let go
    # of what they hold now, so the lists and the caller's recurrence chain are freed at once.
    for held in (arr, pri, svc, start, end):
        held.clear()
    on_done = None
    return result
