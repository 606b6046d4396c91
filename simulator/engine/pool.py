"""The technician pool: non-preemptive priority queue, FCFS within a priority, run on SimPy.

SimPy is used as a bare event scheduler with callbacks (no process per ticket): a ticket costs its completion
event, and an arrival event only when a technician is free and something else happens first (see ``run_pool``;
1.34 events a ticket over the shipped incentive scenario's grid, where every arrival was an event before). The
pool runs in *coverage time*, the clock with the technicians' off-duty hours cut out, so a job that spans closing
time simply continues at the next opening; callers map times back to the clock.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import NORMAL

__all__ = ["Job", "PoolResult", "run_pool"]

Job = tuple[float, int, float]
"""A job submitted while the pool runs: (arrival in coverage time, priority, service hours)."""


class _Due(simpy.events.Timeout):
    """A timeout made with its one callback, carrying a number (a job's index, a hiring's count) as ``n``: what
    SimPy's own ``Timeout`` constructor does (it inlines ``Event``'s), with the callback list built at once instead
    of appended to after, and the number read as a plain attribute rather than through the ``value`` property (two
    calls less per event on the pool's hot path). The delay is never negative here."""

    def __init__(self, env: simpy.Environment, delay: float, n: int, callback: Callable[[_Due], None]):
        self.env = env
        self.callbacks = [callback]  # type: ignore[list-item]
        self._value = n
        self._delay = delay
        self._ok = True
        self.n = n
        env.schedule(self, NORMAL, delay)


def _delay(now: float, at: float) -> float:
    """The delay that brings the clock from ``now`` to exactly ``at`` (a timeout's time is now + delay, rounded:
    ``at − now`` may miss it by a unit in the last place)."""
    delay = at - now
    for _ in range(4):
        reached = now + delay
        if reached == at:
            break
        delay = math.nextafter(delay, math.inf if reached < at else -math.inf)
    return delay


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
    reports: array[int] | None = None,
) -> PoolResult:
    """Serve jobs with ``servers`` identical technicians.

    ``arrival`` must be sorted. Lower ``priority`` numbers go first; ties go to the earlier arrival, then the
    earlier submission. ``on_done(job, end)`` may return a new job (a recurrence) to submit at its arrival time.
    ``added`` lists (time, count) of technicians joining the pool (hiring). ``reports[i]`` says whether job i's
    end is reported to ``on_done`` (None: every job's); ``on_done`` appends the entry of each job it returns.
    """
    env = simpy.Environment()
    # Typed arrays rather than lists: 8 bytes an entry instead of a pointer to a float object (40), as fast to
    # index, and they grow as recurrences are added.
    arr = array("d", np.ascontiguousarray(arrival, dtype=float).tobytes())
    pri = array("q", np.ascontiguousarray(priority, dtype=np.int64).tobytes())
    svc = array("d", np.ascontiguousarray(service, dtype=float).tobytes())
    n = len(arr)
    start = array("d", [math.nan]) * n
    end = array("d", [math.nan]) * n
    waiting: list[tuple[int, float, int]] = []
    free = servers
    heappush, heappop = heapq.heappush, heapq.heappop
    due = _Due

    def begin(i: int, now: float) -> None:
        start[i] = now
        due(env, svc[i], i, finish)

    # The jobs known before the run arrive in order; ``nxt`` is the first not in the system yet. An arrival needs
    # an event of its own only when a technician is free and something else happens first or at the same time:
    # - while every technician is busy, nothing can start before one frees up, so the jobs that arrived meanwhile
    #   join the queue then (``absorb``) and the queue's order decides, as it would have had they joined as they
    #   came;
    # - while one is free and the next arrival comes before any other event, nothing can take the technician
    #   first: the job starts as it arrives, its end scheduled at once (``feed_next``).
    # Otherwise the arrival is an event (``feeding``: the event of ``nxt`` is scheduled). A pool then handles about
    # one event per job (its end) instead of two.
    nxt = 0
    feeding = False
    peek = env.peek

    def absorb(now: float) -> None:
        nonlocal nxt
        while nxt < n and arr[nxt] <= now:
            heappush(waiting, (pri[nxt], arr[nxt], nxt))
            nxt += 1

    def feed_next(now: float) -> None:
        # Called with a technician free and no job waiting.
        nonlocal feeding, nxt, free
        while nxt < n:
            wait = arr[nxt] - now
            if wait < 0.0:
                wait = 0.0
            at = now + wait  # when its arrival event would come
            if at >= peek():
                feeding = True
                due(env, wait, nxt, feed)
                return
            i = nxt
            nxt += 1
            free -= 1
            start[i] = at
            due(env, _delay(now, at + svc[i]), i, finish)
            if not free:
                return

    def feed(ev: _Due) -> None:
        nonlocal nxt, free, feeding
        now = env.now
        i = ev.n
        nxt = i + 1
        feeding = False
        if free:
            free -= 1
            begin(i, now)
            if free:
                feed_next(now)
        else:
            heappush(waiting, (pri[i], arr[i], i))

    def finish(ev: _Due) -> None:
        nonlocal free
        i = ev.n
        now = env.now
        end[i] = now
        if not feeding:
            absorb(now)
        if waiting:
            begin(heappop(waiting)[2], now)
        else:
            free += 1
        if on_done is not None and (reports is None or reports[i]):
            job = on_done(i, now)
            if job is not None:
                k = len(arr)
                arr.append(job[0])
                pri.append(job[1])
                svc.append(job[2])
                start.append(math.nan)
                end.append(math.nan)
                wait = job[0] - now
                due(env, wait if wait > 0.0 else 0.0, k, arrive)
        if free and not feeding:  # after the recurrence's arrival is scheduled: it may come first
            feed_next(now)

    def arrive(ev: _Due) -> None:
        nonlocal free
        i = ev.n
        if free:
            free -= 1
            begin(i, env.now)
        else:
            heappush(waiting, (pri[i], arr[i], i))

    def hire(ev: _Due) -> None:
        nonlocal free
        now = env.now
        if not feeding:
            absorb(now)
        free += ev.n
        while free and waiting:
            free -= 1
            begin(heappop(waiting)[2], now)
        if free and not feeding:
            feed_next(now)

    for when, count in added or []:
        due(env, max(when, 0.0), count, hire)
    if free:
        feed_next(env.now)
    env.run()
    # Copies (np.array, not a view of the buffers), so that the typed arrays can be let go of below.
    result = PoolResult(
        arrival=np.array(arr, dtype=float),
        priority=np.array(pri, dtype=np.int8),
        service=np.array(svc, dtype=float),
        start=np.array(start, dtype=float),
        end=np.array(end, dtype=float),
    )
    # The callbacks refer to each other (a reference cycle that only the garbage collector would break): let go
    # of what they hold now, so the arrays and the caller's recurrence chain are freed at once.
    for held in (arr, pri, svc, start, end):
        del held[:]
    on_done = None
    return result
