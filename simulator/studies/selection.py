"""Ranking and selection on common random numbers: which settings are still contenders for an optimum.

Every setting of a grid is simulated on the same replications (common random numbers), so two settings are
compared replication by replication: the paired differences cancel what the replications share. A setting whose
paired gap to the leader is significantly positive (worse) at the screening's confidence is out; the rest are
contenders and get more replications. :func:`schedule` says how many replications each stage has,
:func:`contenders` which settings survive a stage.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .utility import certainty_equivalent

__all__ = ["NEAR", "contenders", "objective_value", "schedule"]

NEAR = 0.95
"""Confidence of the paired interval that marks a setting "not significantly worse" than an optimum."""


def objective_value(values: np.ndarray, sign: float, risk: float | None) -> float:
    """A role's objective over the replications, higher better: the mean, or the certainty equivalent with risk
    tolerance ``risk``, signed (+ a profit, − a cost); missing replications (NaN) left out."""
    x = values[~np.isnan(values)]
    return sign * (float(x.mean()) if risk is None else certainty_equivalent(x, risk, cost=sign < 0))


def schedule(first: int, total: int) -> list[int]:
    """The replications each stage has: ``first`` to screen, then twice as many until ``total``."""
    stages = [min(first, total)]
    while stages[-1] < total:
        stages.append(min(2 * stages[-1], total))
    return stages


def _half(x: np.ndarray, confidence: float) -> np.ndarray:
    """Half-widths of the two-sided ``confidence`` t-intervals of the row means of ``x``."""
    m = x.shape[1]
    return np.asarray(stats.t.ppf(0.5 + confidence / 2, m - 1) * x.std(axis=1, ddof=1) / np.sqrt(m))


def contenders(
    values: np.ndarray,
    sign: float,
    risk: float | None = None,
    profit: np.ndarray | None = None,
    reservation: float | None = None,
    confidence: float = 0.99,
    final: int | None = None,
) -> np.ndarray:
    """Which settings are still contenders for the optimum of one objective.

    ``values`` holds one row per setting and one column per replication (the same replications for every row, at
    least two); ``sign`` is +1 when higher is better, −1 when lower is. A setting is out when the two-sided
    ``confidence`` t-interval of its paired gap to the leader (leader minus setting, signed so that worse is
    positive) lies above 0, or, when the optimum will be read off ``final`` replications, above the gap that
    would still count as not significantly worse there (the :data:`NEAR` t-interval's half-width over ``final``
    replications, with the spread seen so far): a setting that may yet fall in the optimum's range stays. The
    leader, the setting with the best objective (:func:`objective_value`), is always a contender.

    With a ``reservation`` the optimum is limited to settings whose mean ``profit`` (same shape as ``values``) is
    at least that, when there are any: a setting whose profit interval lies below it is out, and the leader is the
    best of those that meet it so far (of all when none does). When no setting could meet it, none is dropped for
    it: the optimum is then taken among all.
    """
    x = np.asarray(values, dtype=float)
    m = x.shape[1]
    if m < 2:
        raise ValueError("ranking needs at least two replications per setting")
    score = np.array([objective_value(row, sign, risk) for row in x])
    possible = np.ones(len(x), dtype=bool)
    allowed = possible
    if reservation is not None and profit is not None:
        p = np.asarray(profit, dtype=float)
        mean = p.mean(axis=1)
        if (mean + _half(p, confidence) >= reservation).any():
            possible = mean + _half(p, confidence) >= reservation
            allowed = mean >= reservation if (mean >= reservation).any() else possible
    leader = int(np.flatnonzero(allowed)[np.argmax(score[allowed])])
    gaps = (x[leader][None, :] - x) * sign
    spread = gaps.std(axis=1, ddof=1)
    near = (
        0.0
        if final is None or final < 2
        else stats.t.ppf(0.5 + NEAR / 2, final - 1) * spread / np.sqrt(final)
    )
    keep = possible & ~(gaps.mean(axis=1) - _half(gaps, confidence) > near)
    keep[leader] = True
    return np.asarray(keep)
