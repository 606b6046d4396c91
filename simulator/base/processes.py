"""Worker processes that never outlive the command that started them.

A process pool's workers wait on a queue that their siblings keep open, so when the parent is killed (kill -9,
the out-of-memory killer, a closed terminal) they would wait for ever. Every worker the tool starts, in a local
pool or in a Dask ``LocalCluster``, therefore watches its parent: on Linux the kernel sends it SIGKILL when the
parent dies (``PR_SET_PDEATHSIG``), and everywhere a watchdog thread ends it once it has been orphaned.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["WATCH_SECONDS", "parent_watch_plugin", "process_pool", "watch_parent"]

WATCH_SECONDS = 0.5
"""How often the watchdog checks that the parent is alive [seconds]."""
_PR_SET_PDEATHSIG = 1


def watch_parent(parent: int | None = None, ignore_interrupt: bool = False) -> None:
    """Make this process end when ``parent`` (default: its parent) dies.

    ``ignore_interrupt``: leave Ctrl-C to the parent, which stops the pool and saves what is finished.
    """
    direct = parent is None or parent == os.getppid()
    parent = os.getppid() if parent is None else parent
    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if direct and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def alive() -> bool:
        if direct:
            return os.getppid() == parent  # an orphan is adopted by another process
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    if not alive():  # the parent died before the watch began
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if not alive():
                os._exit(1)

    threading.Thread(target=watch, name="msp-sim-parent-watch", daemon=True).start()


def _pool_worker(parent: int, ignore_interrupt: bool) -> None:
    watch_parent(parent, ignore_interrupt)


def process_pool(workers: int, ignore_interrupt: bool = False) -> ProcessPoolExecutor:
    """A process pool whose workers end when this process dies."""
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_pool_worker, initargs=(os.getpid(), ignore_interrupt)
    )


def parent_watch_plugin(parent: int) -> Any:
    """A Dask worker plugin that makes each worker end when the process ``parent`` (the one that started the
    ``LocalCluster``) dies; register it with ``client.register_plugin``. Needs ``distributed``."""
    from distributed import WorkerPlugin

    class ParentWatch(WorkerPlugin):  # type: ignore[misc]
        name = "msp-sim-parent-watch"

        def setup(self, worker: Any) -> None:
            if os.getpid() != parent:  # never in the parent itself
                watch_parent(parent)

    return ParentWatch()
