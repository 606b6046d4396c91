"""Choosing a distribution for observed durations or costs among the families a scenario file can hold, by
likelihood: each family is fitted by maximum likelihood (location 0) and the one with the lowest AIC is chosen;
the fit is reported (log-likelihood and AIC of every family, the Kolmogorov-Smirnov distance of the chosen one)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from simulator.base.distributions import Distribution
from simulator.base.limits import CV_MAX, CV_MIN

__all__ = ["FAMILIES", "MIN_FIT", "Fit", "cdf", "fit_family", "mean_interval", "pdf", "to_distribution"]

FAMILIES = ("exponential", "gamma", "lognormal")
"""The families fitted (the scenario's families with a shape that can describe a duration or a cost; ``fixed``
when every value is the same)."""

MIN_FIT = 10
"""Fewest positive values for choosing a family; with fewer, the base's family and spread are kept and only the
mean is taken from the history."""


@dataclass(frozen=True)
class Fit:
    """A family fitted to positive values."""

    family: str
    mean: float  # the fitted distribution's mean
    cv: float  # its coefficient of variation (1 for the exponential, 0 fixed)
    loglik: dict[str, float]  # log-likelihood of each family at its maximum
    aic: dict[str, float]  # Akaike's criterion of each family (lower is better)
    ks: float  # Kolmogorov-Smirnov distance of the chosen fit from the values
    n: int

    def spec(self) -> dict[str, object]:
        """The distribution as a scenario file writes it."""
        return to_distribution(self.family, self.mean, self.cv)


def to_distribution(family: str, mean: float, cv: float) -> dict[str, object]:
    """A scenario file's distribution mapping of ``family`` with this mean and cv (cv kept in the file's range)."""
    mean = float(f"{mean:.4g}")
    if family in ("fixed", "exponential"):
        return {"dist": family, "mean": mean}
    return {"dist": family, "mean": mean, "cv": float(f"{min(max(cv, CV_MIN), CV_MAX):.3g}")}


def fit_family(values: np.ndarray) -> Fit:
    """Fit every family of :data:`FAMILIES` to ``values`` (positive, at least two) and choose by AIC."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0 or (x <= 0).any():
        raise ValueError("fit_family needs positive values")
    if np.ptp(x) == 0:
        return Fit("fixed", float(x[0]), 0.0, {}, {}, 0.0, n)
    loglik: dict[str, float] = {}
    params: dict[str, tuple[float, float]] = {}
    mean = float(x.mean())
    loglik["exponential"] = float(stats.expon.logpdf(x, scale=mean).sum())
    params["exponential"] = (mean, 1.0)
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    loglik["lognormal"] = float(stats.lognorm.logpdf(x, s=sigma, scale=math.exp(mu)).sum())
    params["lognormal"] = (math.exp(mu + sigma**2 / 2), math.sqrt(math.expm1(sigma**2)))
    shape, _, scale = stats.gamma.fit(x, floc=0)
    loglik["gamma"] = float(stats.gamma.logpdf(x, shape, scale=scale).sum())
    params["gamma"] = (shape * scale, 1.0 / math.sqrt(shape))
    k = {"exponential": 1, "lognormal": 2, "gamma": 2}
    aic = {f: 2 * k[f] - 2 * loglik[f] for f in FAMILIES}
    best = min(FAMILIES, key=lambda f: aic[f])
    m, cv = params[best]
    ks = float(stats.kstest(x, _cdf(best, m, cv)).statistic)
    return Fit(best, m, cv, loglik, aic, ks, n)


def _cdf(family: str, mean: float, cv: float) -> object:
    if family == "exponential":
        return stats.expon(scale=mean).cdf
    if family == "gamma":
        shape = 1.0 / cv**2
        return stats.gamma(shape, scale=mean / shape).cdf
    sigma2 = math.log1p(cv**2)
    return stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(mean) - sigma2 / 2)).cdf


def cdf(spec: Distribution) -> object:
    """The cumulative distribution function of a scenario distribution (for charts and tests)."""
    data = spec.model_dump()
    if data["dist"] == "fixed":
        return lambda v: (np.asarray(v) >= data["mean"]).astype(float)
    if data["dist"] == "uniform":
        return stats.uniform(loc=data["low"], scale=max(data["high"] - data["low"], 1e-300)).cdf
    return _cdf(data["dist"], data["mean"], data.get("cv", 1.0))


def pdf(spec: Distribution, x: np.ndarray) -> np.ndarray:
    """The density of a scenario distribution at ``x`` (zeros for ``fixed``)."""
    data = spec.model_dump()
    x = np.asarray(x, dtype=float)
    if data["dist"] == "fixed":
        return np.zeros_like(x)
    if data["dist"] == "uniform":
        return np.asarray(
            stats.uniform(loc=data["low"], scale=max(data["high"] - data["low"], 1e-300)).pdf(x)
        )
    mean, cv = data["mean"], data.get("cv", 1.0)
    if data["dist"] == "exponential":
        return np.asarray(stats.expon(scale=mean).pdf(x))
    if data["dist"] == "gamma":
        shape = 1.0 / cv**2
        return np.asarray(stats.gamma(shape, scale=mean / shape).pdf(x))
    sigma2 = math.log1p(cv**2)
    return np.asarray(stats.lognorm(s=math.sqrt(sigma2), scale=math.exp(math.log(mean) - sigma2 / 2)).pdf(x))


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """The sample mean and its t interval (NaN bounds with fewer than two values); for values that are never
    negative (hours, costs) the interval starts at 0 at the lowest."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    low = m - half
    return m, max(low, 0.0) if (x >= 0).all() else low, m + half
