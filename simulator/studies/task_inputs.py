"""What the tasks of one analysis share in a process: the scenario, sent to each task as pickled bytes and read
once, its client table, and the incidents of its replications, generated once and kept for the next task on the
same replication.

An incentive analysis sends a worker many small tasks of the same scenario (a refinement step is one lever
setting on each replication): reading the scenario and generating a replication's incidents again for each would
cost about a tenth of the work. The incidents are the same numbers either way (named streams, DESIGN.md §5); the
simulation only reads them, and the arrays kept are made read-only so that nothing can change them unseen.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict

import numpy as np

from simulator.base.records import field_names
from simulator.config import Scenario
from simulator.engine.incidents import ClientTable, IncidentSet, client_table, generate_incidents

__all__ = ["INCIDENT_BYTES", "incidents", "pack", "unpack"]

INCIDENT_BYTES = 256 * 2**20
"""Most bytes of incident arrays a process keeps; the replications used longest ago go first."""


def pack(scenario: Scenario) -> bytes:
    """The scenario as the bytes a task carries."""
    return pickle.dumps(scenario, protocol=pickle.HIGHEST_PROTOCOL)


class _Memo:
    """One scenario's shared inputs in this process (a new scenario replaces them)."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.scenario: Scenario = pickle.loads(blob)
        self.clients = client_table(self.scenario)
        self.incidents: OrderedDict[tuple[int, int, float], IncidentSet] = OrderedDict()
        self.size = 0


_memo: _Memo | None = None


def _current(blob: bytes) -> _Memo:
    global _memo
    if _memo is None or _memo.blob != blob:
        _memo = _Memo(blob)
    return _memo


def unpack(blob: bytes) -> tuple[Scenario, ClientTable]:
    """The scenario packed in ``blob`` and its client table, read once per process for a run of tasks."""
    memo = _current(blob)
    return memo.scenario, memo.clients


def incidents(blob: bytes, replication: int, seed: int, extra: float = 0.0) -> IncidentSet:
    """:func:`~simulator.engine.incidents.generate_incidents` of the scenario packed in ``blob``, kept (read-only)
    for the next task on the same replication, within :data:`INCIDENT_BYTES`."""
    memo = _current(blob)
    key = (replication, seed, extra)
    found = memo.incidents.get(key)
    if found is not None:
        memo.incidents.move_to_end(key)
        return found
    found = generate_incidents(memo.scenario, memo.clients, replication, seed, extra)
    for array in _arrays(found):
        array.flags.writeable = False
    memo.incidents[key] = found
    memo.size += _nbytes(found)
    while memo.size > INCIDENT_BYTES and len(memo.incidents) > 1:
        memo.size -= _nbytes(memo.incidents.popitem(last=False)[1])
    return found


def _arrays(incidents: IncidentSet) -> list[np.ndarray]:
    return [getattr(incidents, name) for name in field_names(IncidentSet)]


def _nbytes(incidents: IncidentSet) -> int:
    return sum(a.nbytes for a in _arrays(incidents))
