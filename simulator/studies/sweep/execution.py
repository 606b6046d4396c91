"""Running a sweep: one point per task, in this process, on a local process pool or on a Dask cluster;
finished points go to the part writer as they come in, and the results are built when every point is in."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.base.processes import parent_watch_plugin, process_pool
from simulator.config import Scenario, apply_overrides
from simulator.studies.run import simulate

from .design import PointTask, SweepPlan
from .errors import SweepRunError
from .results import SweepResults, finalize
from .storage import PartWriter, create_folder, drop_derived, open_folder, sweep_lock

__all__ = ["CONNECT_TIMEOUT_SECONDS", "Progress", "SweepRun", "run_point", "run_sweep"]

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long to try to reach a Dask scheduler before giving up."""


def run_point(task: PointTask) -> tuple[pd.DataFrame, float]:
    """Simulate one point (all its replications in this process); its tidy rows and the seconds it took.

    Rows: ``point_id, replication, seed, <swept parameters>, contract, <metrics>``.
    """
    start = time.perf_counter()
    scenario = Scenario.model_validate(apply_overrides(task.base, task.overrides))
    reps = simulate(
        scenario, replications=task.replications, seed=task.seed, workers=1, series=False
    ).replications
    frame = reps.drop(columns=["replication", "seed", "contract"])
    head = pd.DataFrame(
        {
            "point_id": task.point_id,
            "replication": reps["replication"].to_numpy(),
            "seed": reps["seed"].to_numpy(),
            **{name: [value] * len(reps) for name, value in task.values.items()},
            "contract": reps["contract"].to_numpy(),
        }
    )
    out = pd.concat([head, frame.reset_index(drop=True)], axis=1)
    return out, time.perf_counter() - start


@dataclass
class SweepRun:
    """What a call of :func:`run_sweep` did."""

    out: Path
    total: int
    skipped: int
    computed: int
    elapsed_seconds: float
    compute_seconds: float
    parts_written: int
    results: SweepResults | None = None

    @property
    def points_per_second(self) -> float:
        """Points computed per wall-clock second in this call."""
        return (
            self.computed / self.elapsed_seconds if self.computed and self.elapsed_seconds > 0 else math.nan
        )


Progress = Callable[[int, int], None]
"""``progress(done, total)``: called once at the start (with the points already done) and after each point."""


def run_sweep(
    plan: SweepPlan,
    out: str | Path,
    workers: int = 0,
    scheduler: str | None = None,
    resume: bool = False,
    chunk_points: int = 25,
    chunk_seconds: float = 10.0,
    progress: Progress | None = None,
) -> SweepRun:
    """Simulate every point of ``plan`` not yet in ``out`` and write the results folder.

    ``workers``: local processes (0 = all cores, 1 = in this process). ``scheduler``: a Dask scheduler address
    (``tcp://host:port``) or ``"local"`` to start a ``LocalCluster`` of ``workers`` processes. Finished points
    are written every ``chunk_points`` points or ``chunk_seconds`` seconds as ``parts/part-NNNNNN.parquet``
    (atomically); points already in ``out`` are skipped. Results do not depend on where the points ran.

    Raises :class:`SweepError` (unusable folder, ``resume`` with nothing to resume) and :class:`SweepRunError`
    (scheduler unreachable, a worker died, a write failed); in every case the points finished so far are on
    disk.
    """
    out = Path(out)
    start = time.perf_counter()
    parts = create_folder(plan, out, resume)
    with sweep_lock(out):
        done = open_folder(plan, out)
        ids = plan.point_ids
        todo = [pid for pid in ids if pid not in done]
        skipped = len(ids) - len(todo)
        if progress:
            progress(skipped, len(ids))
        writer = PartWriter(parts, chunk_points, chunk_seconds)
        tally = _Tally(writer, skipped, len(ids), progress)
        if todo:
            drop_derived(out)
        try:
            _dispatch(plan.tasks(todo), len(todo), workers, scheduler, tally.finished, writer)
        finally:
            writer.flush()
        results = finalize(plan, out)
    return SweepRun(
        out=out,
        total=len(ids),
        skipped=skipped,
        computed=tally.computed,
        elapsed_seconds=time.perf_counter() - start,
        compute_seconds=tally.compute_seconds,
        parts_written=writer.written,
        results=results,
    )


Finished = Callable[[pd.DataFrame, float], None]
"""``finished(rows, seconds)``: called in this process with each finished point's rows and compute time."""


@dataclass
class _Tally:
    """The points computed in this call and their compute time; each finished point goes to the writer."""

    writer: PartWriter
    skipped: int
    total: int
    progress: Progress | None
    computed: int = 0
    compute_seconds: float = 0.0

    def finished(self, frame: pd.DataFrame, seconds: float) -> None:
        """Count a finished point, buffer its rows and report progress."""
        self.compute_seconds += seconds
        self.computed += 1
        self.writer.add(frame)
        if self.progress:
            self.progress(self.skipped + self.computed, self.total)


def _dispatch(
    tasks: Iterator[PointTask],
    count: int,
    workers: int,
    scheduler: str | None,
    finished: Finished,
    writer: PartWriter,
) -> None:
    """Run ``count`` points where they were asked to run: a Dask cluster, a local pool, or this process."""
    if not count:
        return
    if scheduler is not None:
        _run_dask(tasks, scheduler, workers, finished, writer)
        return
    n = workers if workers > 0 else (os.cpu_count() or 1)
    n = max(1, min(n, count))
    if n == 1:
        _run_here(tasks, finished, writer)
    else:
        _run_pool(tasks, n, finished, writer)


def _run_here(tasks: Iterator[PointTask], finished: Finished, writer: PartWriter) -> None:
    """Run the points one after the other in this process."""
    for task in tasks:
        finished(*run_point(task))
        writer.maybe_flush()


def _run_pool(
    tasks: Iterator[PointTask],
    workers: int,
    finished: Finished,
    writer: PartWriter,
) -> None:
    """Run the points on a local pool of ``workers`` processes, four tasks per process in flight."""
    # Ctrl-C is the main process's business: it saves the finished points and stops the pool.
    pool = process_pool(workers, ignore_interrupt=True)
    pending: dict[Future[tuple[pd.DataFrame, float]], str] = {}
    window = 4 * workers
    interrupted = False
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                pending[pool.submit(run_point, task)] = task.point_id
            if not pending:
                break
            done, _ = wait(pending, timeout=writer.seconds_left(), return_when=FIRST_COMPLETED)
            failure: SweepRunError | None = None
            for fut in done:  # keep every finished point before reporting a failure
                pid = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    failure = failure or SweepRunError(
                        f"a worker process died while simulating point {pid} (killed, or out of memory). The "
                        "points finished so far are saved; rerun with --resume to complete the sweep."
                    )
                except Exception as exc:
                    failure = failure or SweepRunError(f"point {pid} failed: {type(exc).__name__}: {exc}")
                else:
                    finished(*result)
            if failure is not None:
                raise failure
            writer.maybe_flush()
    except KeyboardInterrupt:
        interrupted = True  # do not wait for the points in progress
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)


def _run_dask(
    tasks: Iterator[PointTask],
    scheduler: str,
    workers: int,
    finished: Finished,
    writer: PartWriter,
) -> None:
    """Run the points on the Dask cluster at ``scheduler``, or on a ``LocalCluster`` of ``workers`` processes
    started for this sweep (``"local"``) and closed when it ends."""
    dist = _distributed()
    client, cluster = _connect(dist, scheduler, workers)
    try:
        _run_on_cluster(dist, client, tasks, finished, writer)
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _distributed() -> Any:
    """The ``distributed`` module (an untyped library), imported only when a sweep asks for Dask."""
    try:
        import distributed
    except ImportError:
        raise SweepRunError(
            "--scheduler needs Dask: install it with `pip install 'msp-sim[dask]'` (or dask[distributed])."
        ) from None
    return distributed


def _connect(dist: Any, scheduler: str, workers: int) -> tuple[Any, Any]:
    """A Dask client and the ``LocalCluster`` started for it (``None`` for a scheduler address); a cluster that
    cannot be started or reached is a :class:`SweepRunError` that says how to start one."""
    import logging

    cluster = None
    try:
        if scheduler == "local":
            n = workers if workers > 0 else (os.cpu_count() or 1)
            cluster = dist.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = dist.Client(cluster)
            client.register_plugin(parent_watch_plugin(os.getpid()))  # no orphans if we are killed
        else:
            client = dist.Client(scheduler, timeout=CONNECT_TIMEOUT_SECONDS)
    except Exception as exc:
        if cluster is not None:
            cluster.close()
        where = (
            "start a local Dask cluster"
            if scheduler == "local"
            else f"reach the Dask scheduler at {scheduler}"
        )
        raise SweepRunError(
            f"could not {where}: {exc}. Start one with `dask scheduler` and workers with `dask worker "
            "tcp://HOST:8786`, or leave out --scheduler to use local processes."
        ) from None
    return client, cluster


def _run_on_cluster(
    dist: Any,
    client: Any,
    tasks: Iterator[PointTask],
    finished: Finished,
    writer: PartWriter,
) -> None:
    """Keep four tasks per worker thread (at least eight) on the cluster and hand each finished point to
    ``finished``; a failure is raised once every point finished with it is kept."""
    pending: dict[Any, str] = {}
    exhausted = False
    while True:
        window = max(8, 4 * sum(client.nthreads().values()))
        while not exhausted and len(pending) < window:
            task = next(tasks, None)
            if task is None:
                exhausted = True
                break
            fut = client.submit(run_point, task, key=f"msp-sim-point-{task.point_id}", pure=False)
            pending[fut] = task.point_id
        if not pending:
            break
        try:
            done = dist.wait(list(pending), timeout=writer.seconds_left(), return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        failure: SweepRunError | None = None
        for fut in done:  # keep every finished point before reporting a failure
            pid = pending.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:
                failure = failure or SweepRunError(_dask_failure(pid, exc))
            else:
                finished(*result)
            finally:
                fut.release()
        if failure is not None:
            raise failure
        writer.maybe_flush()


def _dask_failure(pid: str, exc: BaseException) -> str:
    """The message for a point that failed on a Dask worker: what happened and how to go on."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return (
            f"Dask workers died while simulating point {pid} (killed, or out of memory), too often to retry. "
            "The points finished so far are saved; rerun with --resume to complete the sweep."
        )
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"point {pid}: a Dask worker cannot import the simulator ({exc}). Install msp-sim on every "
            "worker (`pip install -e /path/to/msp-sim`) and start the workers from that environment."
        )
    return f"point {pid} failed on a Dask worker: {name}: {exc}"
