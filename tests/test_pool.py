"""The technician pool against a plain event-list model of the same queue.

The pool gives no arrival an event of its own (an end or a hiring takes in what has arrived by its time, a free
technician takes an arrival as it comes when no event comes first); these tests hold it to the textbook model,
where every arrival, end and hiring is an event: the same start and end of every job, with priorities, hiring and
jobs added as others end (recurrences).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.pool import run_pool


def reference_pool(
    arrival: np.ndarray,
    priority: np.ndarray,
    service: np.ndarray,
    servers: int,
    recur: dict[int, tuple[float, int, float]],
    added: list[tuple[float, int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of every job, every arrival an event. ``recur[j] = (lag, priority, service)``: when job j
    ends, a new job arrives ``lag`` hours later. Events at one time: hirings and ends before arrivals."""
    arr, pri, svc = list(map(float, arrival)), list(map(int, priority)), list(map(float, service))
    start = [math.nan] * len(arr)
    end = [math.nan] * len(arr)
    events: list[tuple[float, int, int, int]] = []  # (time, kind 0 hire / 1 end / 2 arrival, sequence, index)
    seq = 0

    def push(time: float, kind: int, index: int) -> None:
        nonlocal seq
        heapq.heappush(events, (time, kind, seq, index))
        seq += 1

    for i, t in enumerate(arr):
        push(t, 2, i)
    for k, (when, _) in enumerate(added):
        push(when, 0, k)
    waiting: list[tuple[int, float, int]] = []
    free = servers
    while events:
        now, kind, _, i = heapq.heappop(events)
        if kind == 0:
            free += added[i][1]
        elif kind == 1:
            end[i] = now
            free += 1
            if i in recur:
                lag, p, s = recur[i]
                arr.append(now + lag)
                pri.append(p)
                svc.append(s)
                start.append(math.nan)
                end.append(math.nan)
                push(now + lag, 2, len(arr) - 1)
        else:
            heapq.heappush(waiting, (pri[i], arr[i], i))
        # Serve once every event of this moment is in.
        if events and events[0][0] == now:
            continue
        while free and waiting:
            _, _, j = heapq.heappop(waiting)
            free -= 1
            start[j] = now
            push(now + svc[j], 1, j)
    return np.array(start), np.array(end)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    servers=st.integers(0, 4),
    load=st.floats(0.2, 2.0),
    share_recurring=st.floats(0.0, 0.5),
    hires=st.integers(0, 3),
)
def test_the_pool_serves_every_job_as_the_event_list_model_does(
    seed: int, n: int, servers: int, load: float, share_recurring: float, hires: int
) -> None:
    rng = np.random.default_rng(seed)
    capacity = max(servers, 1)
    arrival = np.sort(rng.uniform(0.0, n / capacity * 1.0 / load, n))
    priority = rng.integers(1, 6, n).astype(np.int8)
    service = rng.exponential(1.0, n)
    recur = {
        int(j): (float(rng.exponential(2.0)), int(rng.integers(1, 6)), float(rng.exponential(1.0)))
        for j in np.flatnonzero(rng.random(n) < share_recurring)
    }
    added = [(float(rng.uniform(0.0, arrival[-1] + 1.0)), int(rng.integers(1, 3))) for _ in range(hires)]

    def on_done(job: int, end: float) -> tuple[float, int, float] | None:
        if job not in recur:
            return None
        lag, p, s = recur[job]
        return (end + lag, p, s)

    pool = run_pool(arrival, priority, service, servers, on_done=on_done, added=added)
    start, end = reference_pool(arrival, priority, service, servers, recur, added)
    np.testing.assert_allclose(pool.start, start, rtol=1e-12, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(pool.end, end, rtol=1e-12, atol=1e-9, equal_nan=True)
    served = ~np.isnan(pool.start)
    if servers > 0 or hires > 0:
        assert served.all()
    np.testing.assert_allclose(pool.end[served], pool.start[served] + pool.service[served], rtol=1e-12)


def test_a_job_that_arrives_while_every_technician_is_busy_waits_its_turn_by_priority() -> None:
    # One technician busy from 0 to 10; jobs arrive at 1 (P3), 2 (P1) and 3 (P3) without events of their own:
    # when the technician frees up, the P1 job goes first, then the P3 jobs by arrival.
    pool = run_pool(
        np.array([0.0, 1.0, 2.0, 3.0]),
        np.array([3, 3, 1, 3], dtype=np.int8),
        np.array([10.0, 1.0, 1.0, 1.0]),
        1,
    )
    np.testing.assert_array_equal(pool.start, [0.0, 11.0, 10.0, 12.0])


def test_a_free_technician_takes_a_recurrence_that_comes_before_the_next_arrival() -> None:
    # Job 0 ends at 1 and recurs at 1.5; job 1 arrives at 2. The free technician takes the recurrence first.
    pool = run_pool(
        np.array([0.0, 2.0]),
        np.array([3, 1], dtype=np.int8),
        np.array([1.0, 1.0]),
        1,
        on_done=lambda job, end: (end + 0.5, 3, 1.0) if job == 0 else None,
    )
    np.testing.assert_array_equal(pool.start, [0.0, 2.5, 1.5])
    np.testing.assert_array_equal(pool.end, [1.0, 3.5, 2.5])


def test_only_the_ends_of_reported_jobs_reach_on_done_and_a_returned_job_brings_its_own_entry() -> None:
    from array import array

    reports = array("b", [1, 0, 1])
    heard: list[int] = []

    def on_done(job: int, end: float) -> tuple[float, int, float] | None:
        heard.append(job)
        if job == 0:
            reports.append(1)  # job 3, the recurrence of job 0, is reported too
            return (end + 1.0, 3, 1.0)
        return None

    run_pool(
        np.array([0.0, 0.5, 1.0]),
        np.array([3, 3, 3], dtype=np.int8),
        np.array([1.0, 1.0, 1.0]),
        3,
        on_done=on_done,
        reports=reports,
    )
    assert sorted(heard) == [0, 2, 3]
