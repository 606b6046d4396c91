"""The technician pool: non-preemptive priority queue, FCFS within a priority, run on SimPy.

SimPy is used as a bare event scheduler with callbacks (no process per ticket): a job costs one event, its end.
Arrivals are not events: each end (or hiring) takes in the jobs that arrived by its time, and a free technician
takes a job as it arrives when no event comes first (see ``run_pool``). The pool runs in *coverage time*, the
clock with the technicians' off-duty hours cut out, so a job that spans closing time simply continues at the next
opening; callers map times back to the clock.
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

from simulator.base.records import field_names

__all__ = ["Job", "PoolResult", "run_pool"]

Job = tuple[float, int, float]
"""A job submitted while the pool runs: (arrival in coverage time, priority, service hours)."""


class _Due:
    """A pool's event: what SimPy's ``Environment.step`` reads of an event it pops from its queue (its
    ``callbacks``, called with it, and ``_ok``) and a number (a job's index, a hiring's count) as ``n``. Slotted
    and with a callback tuple shared by the pool's events, it is made without the attribute dictionary and the
    list of callbacks a ``Timeout`` builds for each event; SimPy schedules and steps it as it does its own. The
    delay is never negative here."""

    __slots__ = ("_ok", "callbacks", "n")

    def __init__(
        self, env: simpy.Environment, delay: float, n: int, callbacks: tuple[Callable[[_Due], None]]
    ):
        self.callbacks = callbacks
        self._ok = True
        self.n = n
        # ``env.schedule(self, NORMAL, delay)``, inlined.
        heapq.heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))  # type: ignore[attr-defined, misc]


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

    @staticmethod
    def concat(parts: list[PoolResult]) -> PoolResult:
        """The jobs of several pools, one pool's after the other's."""
        return PoolResult(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in field_names(PoolResult)}
        )


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
        due(env, svc[i], i, finished)

    # No arrival is an event: the jobs known before the run arrive in order (``nxt`` is the first not in the
    # system yet), the jobs added as others end wait in ``later`` by the time they come, and every event (an end,
    # a hiring) first takes in what has arrived by its time:
    # - while every technician is busy, nothing can start before one frees up, so the jobs that arrived meanwhile
    #   join the queue then (``absorb``) and the queue's order decides, as it would have had they joined as they
    #   came;
    # - while one is free, the next arrival starts as it comes if no event comes first (``feed_next``); if one
    #   does (or comes at the same time), that event takes the arrival in.
    # A pool handles one event per job (its end) instead of two.
    nxt = 0
    later: list[tuple[float, int]] = []
    # SimPy's event queue, read for the next event's time as ``env.peek()`` does, without a call per arrival.
    queue = env._queue  # type: ignore[attr-defined]
    inf = math.inf
    hear = on_done is not None

    def absorb(now: float) -> None:
        nonlocal nxt
        while nxt < n and arr[nxt] <= now:
            heappush(waiting, (pri[nxt], arr[nxt], nxt))
            nxt += 1
        while later and later[0][0] <= now:
            k = heappop(later)[1]
            heappush(waiting, (pri[k], arr[k], k))

    def feed_next(now: float) -> None:
        # Called with a technician free and no job waiting.
        nonlocal nxt, free
        while True:
            at = arr[nxt] if nxt < n else inf
            first = queue[0][0] if queue else inf  # the next event's time (``env.peek()``)
            if later and later[0][0] < at:
                at = later[0][0]
                if at >= first:
                    return
                i = heappop(later)[1]
            else:
                if at >= first:  # also when nothing is left to arrive (inf)
                    return
                i = nxt
                nxt += 1
            free -= 1
            start[i] = at
            done = at + svc[i]
            delay = done - now
            due(env, delay if now + delay == done else _delay(now, done), i, finished)
            if not free:
                return

    def finish(ev: _Due) -> None:
        nonlocal free
        i = ev.n
        now = env._now  # type: ignore[attr-defined]
        end[i] = now
        if (nxt < n and arr[nxt] <= now) or (later and later[0][0] <= now):
            absorb(now)
        if waiting:
            j = heappop(waiting)[2]
            start[j] = now
            due(env, svc[j], j, finished)
        else:
            free += 1
        if hear and (reports is None or reports[i]):
            job = on_done(i, now)  # type: ignore[misc]
            if job is not None:
                k = len(arr)
                arr.append(job[0])
                pri.append(job[1])
                svc.append(job[2])
                start.append(math.nan)
                end.append(math.nan)
                # It arrives now at the earliest; the queue orders it by the time it was due.
                heappush(later, (job[0] if job[0] > now else now, k))
        if free:
            feed_next(now)

    def hire(ev: _Due) -> None:
        nonlocal free
        now = env.now
        absorb(now)
        free += ev.n
        while free and waiting:
            free -= 1
            begin(heappop(waiting)[2], now)
        if free:
            feed_next(now)

    finished = (finish,)
    for when, count in added or []:
        due(env, max(when, 0.0), count, (hire,))
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
