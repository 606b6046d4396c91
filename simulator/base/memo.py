"""One-entry memos: the last result of a computation, kept with what it was computed from.

Some computations are asked for again and again of the same objects in a row: one ticket log billed under several
price lists (the incentive analysis's credit levels) has the same SLA outcomes under each; one scenario's
replications read the same category table. Each such computation keeps its last result under a name of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["forget", "remembered"]

T = TypeVar("T")

_LAST: dict[str, tuple[tuple[object, ...], tuple[object, ...], Any]] = {}


def remembered(name: str, same: tuple[object, ...], equal: tuple[object, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its last result under ``name`` when that was computed from the same objects ``same``
    (compared by identity: a log, a calendar) and equal values ``equal`` (terms). The result is shared: do not
    change it. Holding the objects of the last call keeps their identities from being reused."""
    last = _LAST.get(name)  # read once: another thread may replace it meanwhile
    if (
        last is not None
        and len(last[0]) == len(same)
        and all(a is b for a, b in zip(last[0], same, strict=True))
        and last[1] == equal
    ):
        return cast(T, last[2])
    result = compute()
    _LAST[name] = (same, equal, result)
    return result


def forget() -> None:
    """Let go of every remembered result (the next call of each computes it again)."""
    _LAST.clear()
