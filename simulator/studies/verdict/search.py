"""The search for a switching value: where the contract with the lowest cost changes along one input, on a grid
of re-priced values or by bisection of re-simulations."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .inputs import Input
from .pricing import metric

__all__ = ["Curve", "bisect", "interval", "lowest", "scan"]


@dataclass
class Curve:
    """An input's evaluated values: per value, per replication and contract, (fees, downtime, cost)."""

    values: list[float] = field(default_factory=list)
    priced: list[np.ndarray] = field(default_factory=list)  # each (replications, contracts, COMPONENTS)

    def add(self, x: float, priced: np.ndarray) -> None:
        self.values.append(x)
        self.priced.append(priced)

    def at(self, x: float) -> np.ndarray:
        return self.priced[self.values.index(x)]

    def means(self, x: float, question: str) -> np.ndarray:
        return metric(self.at(x), question).mean(axis=0)


def lowest(means: np.ndarray) -> int:
    return int(np.argmin(means))


def _crossing(curve: Curve, a: float, b: float, question: str, best: int) -> tuple[float, int]:
    """Where, between ``a`` (``best`` lowest) and ``b`` (another lowest), another contract first becomes lower
    than ``best``: the smallest root of a linear interpolation of each difference; (value, that contract)."""
    ma, mb = curve.means(a, question), curve.means(b, question)
    roots = []
    for c in range(len(ma)):
        if c == best:
            continue
        da, db = ma[best] - ma[c], mb[best] - mb[c]  # ≤ 0 where best is lowest
        if db > 0 and da <= 0:
            t = -da / (db - da) if db != da else 0.0
            roots.append((abs(t * (b - a)), a + t * (b - a), c))
    if not roots:  # a tie on the grid: the value where the other is lowest
        return b, lowest(mb)
    _, x, c = min(roots)
    return float(x), c


def scan(curve: Curve, base: float, question: str, best: int, side: int) -> tuple[float, int, float] | None:
    """The first change of the lowest contract from the base value towards one end of a re-priced grid:
    (switching value, the contract lowest beyond it, precision 0: exact between grid points)."""
    grid = sorted(curve.values)
    i = grid.index(base)
    previous = base
    for x in grid[i + side :: side] if side > 0 else grid[i - 1 :: -1]:
        if lowest(curve.means(x, question)) != best:
            value, winner = _crossing(curve, previous, x, question, best)
            return value, winner, 0.0
        previous = x
    return None


def bisect(
    curve: Curve,
    evaluate: Callable[[float], None],
    item: Input,
    end: float,
    question: str,
    best: int,
    steps: int,
) -> tuple[float, int, float] | None:
    """Where the lowest contract changes between the base value and ``end`` of a re-simulated input: bisection
    on whether ``best`` is still lowest until the bracket is 2^-steps of the distance to ``end``, then a linear
    interpolation inside it; (value, the contract lowest beyond it, half the bracket's width). None when ``best``
    is still lowest at ``end``."""
    evaluate(end)
    if lowest(curve.means(end, question)) == best:
        return None
    # The bracket starts from what is known already (the other question's search evaluated points too).
    inside, outside = item.base, end
    for x in sorted(
        (v for v in curve.values if min(item.base, end) <= v <= max(item.base, end)),
        key=lambda v: abs(v - item.base),
    ):
        if lowest(curve.means(x, question)) == best:
            inside = x
        else:
            outside = x
            break
    width = abs(end - item.base) / 2**steps
    while abs(outside - inside) > (1 if item.integer else width):
        mid = (inside + outside) / 2
        if item.integer:
            mid = float(math.floor(mid) if outside > inside else math.ceil(mid))
        evaluate(mid)
        if lowest(curve.means(mid, question)) == best:
            inside = mid
        else:
            outside = mid
    if item.integer:
        return outside, lowest(curve.means(outside, question)), 0.0
    value, winner = _crossing(curve, inside, outside, question, best)
    return value, winner, abs(outside - inside) / 2


def interval(curve: Curve, at: float, question: str, best: int, other: int) -> tuple[float, float]:
    """The values around the switching value ``at`` of a re-priced input at which ``best`` and ``other`` are not
    told apart: their paired difference's 95% t-interval over the replications holds 0. Each end is where the
    difference's mean plus or minus its half-width crosses 0 nearest ``at``, solved between the two grid values
    around it with each replication's difference linear between them (exact where the money is linear in the
    input there, as the switching value itself); NaN on a side where the range ends first."""
    from scipy import optimize, stats

    grid = np.array(sorted(curve.values))
    diff = np.array(
        [metric(curve.at(x), question)[:, best] - metric(curve.at(x), question)[:, other] for x in grid]
    )
    n = diff.shape[1]
    if n < 2:
        return float("nan"), float("nan")
    t = float(stats.t.ppf(0.975, n - 1)) / math.sqrt(n)

    def bound(sign: float) -> float:
        y = diff.mean(axis=1) + sign * t * diff.std(axis=1, ddof=1)
        roots = []
        for i in range(1, len(grid)):
            if y[i - 1] == 0:
                roots.append(float(grid[i - 1]))
            elif (y[i - 1] < 0) != (y[i] < 0):
                a, b, da, db = grid[i - 1], grid[i], diff[i - 1], diff[i]

                def g(
                    x: float, a: float = a, b: float = b, da: np.ndarray = da, db: np.ndarray = db
                ) -> float:
                    d = da + (db - da) * (x - a) / (b - a)
                    return float(d.mean() + sign * t * d.std(ddof=1))

                roots.append(float(optimize.brentq(g, a, b, xtol=1e-12 * max(1.0, abs(b)))))
        if len(y) and y[-1] == 0:
            roots.append(float(grid[-1]))
        return min(roots, key=lambda r: abs(r - at)) if roots else float("nan")

    ends = [bound(-1.0), bound(1.0)]  # one on each side of ``at``
    low = min((e for e in ends if e <= at), default=float("nan"))
    high = max((e for e in ends if e >= at), default=float("nan"))
    return low, high
