"""Measures of a risky amount, given as its values over replications: the value at risk, the conditional value at
risk and the certainty equivalent under constant absolute risk aversion (used by the risk and incentive studies)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

__all__ = ["LEVEL", "certainty_equivalent", "cvar", "value_at_risk"]

LEVEL = 0.95
"""The confidence level of the value at risk and the conditional value at risk."""


def value_at_risk(values: np.ndarray, cost: bool, level: float = LEVEL) -> float:
    """The value not exceeded (a cost) or reached (a profit) in ``level`` of the years: the ``level`` quantile of
    a cost, the 1 − ``level`` quantile of a profit (linear interpolation)."""
    return float(np.quantile(values, level if cost else 1.0 - level))


def cvar(values: np.ndarray, cost: bool, level: float = LEVEL) -> float:
    """The mean of the worst 1 − ``level`` of the years (the highest costs or the lowest profits), at least one
    year: the conditional value at risk (expected shortfall)."""
    ordered = np.sort(values)[::-1] if cost else np.sort(values)
    worst = max(1, math.ceil(round((1.0 - level) * len(values), 9)))  # 5% of 20 years is one, not 1.0000001
    return float(ordered[:worst].mean())


def certainty_equivalent(values: np.ndarray, tolerance: float, cost: bool) -> float:
    """The sure amount as good as the uncertain one under constant absolute risk aversion with risk tolerance T:
    T·log E[exp(X/T)] for a cost X (at least its mean), −T·log E[exp(−Y/T)] for a profit Y (at most its mean)."""
    sign = 1.0 if cost else -1.0
    mean = float(np.mean(values))
    scaled = sign * (values - mean) / tolerance  # around the mean: a sure amount gives exactly its mean
    if float(np.max(np.abs(scaled))) < 1.0:  # small spreads: log(1 + E[e^z − 1]) keeps every digit
        premium = math.log1p(float(np.mean(np.expm1(scaled))))
    else:
        premium = float(logsumexp(scaled)) - math.log(len(values))
    return mean + sign * tolerance * premium
