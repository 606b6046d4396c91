"""Probability distributions used in scenario files, each knowing its own analytic mean and variance.

In YAML a distribution is written ``{dist: lognormal, mean: 1.5, cv: 0.8}``; ``fixed`` and ``exponential`` take only
``mean``, ``uniform`` takes ``low`` and ``high``. Parameters are given by mean and coefficient of variation (cv =
standard deviation / mean) because those are what practitioners know; the sampler converts them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special

from .limits import CV_MAX, CV_MIN, VALUE

LARGEST_UNIFORM = 1.0 - 2.0**-53
"""The largest number ``Generator.random`` returns."""

__all__ = [
    "Distribution",
    "Exponential",
    "Fixed",
    "Gamma",
    "Lognormal",
    "Uniform",
]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)

    @property
    def expected(self) -> float:
        """Analytic mean."""
        raise NotImplementedError

    @property
    def variance(self) -> float:
        """Analytic variance."""
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: maps uniforms in (0, 1) to values (inverse-transform sampling).

        The simulator draws every attribute through this, so the same uniform gives a larger value when the mean
        grows: common random numbers stay monotone across parameter changes.
        """
        raise NotImplementedError

    @property
    def largest(self) -> float:
        """The largest value a draw can take: the quantile at the largest uniform numpy's generator returns
        (1 − 2⁻⁵³)."""
        return float(self.ppf(np.array([LARGEST_UNIFORM]))[0])

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` independent values."""
        return self.ppf(rng.random(size))


class Fixed(_Dist):
    """Always the same value."""

    dist: Literal["fixed"]
    mean: float = Field(ge=0, le=VALUE)
    """The value."""

    @property
    def expected(self) -> float:
        return self.mean

    @property
    def variance(self) -> float:
        return 0.0

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), self.mean)


class Exponential(_Dist):
    """Exponential with the given mean (cv is 1 by definition)."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0, le=VALUE)
    """Mean."""

    @property
    def expected(self) -> float:
        return self.mean

    @property
    def variance(self) -> float:
        return self.mean**2

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return -self.mean * np.log1p(-np.asarray(u))


class _MeanCv(_Dist):
    """A distribution given by its mean and coefficient of variation."""

    mean: float = Field(gt=0, le=VALUE)
    """Mean."""
    cv: float = Field(ge=CV_MIN, le=CV_MAX)
    """Coefficient of variation (standard deviation / mean)."""

    @property
    def expected(self) -> float:
        return self.mean

    @property
    def variance(self) -> float:
        return (self.cv * self.mean) ** 2


class Lognormal(_MeanCv):
    """Lognormal by mean and cv: sigma² = ln(1 + cv²), mu = ln(mean) − sigma²/2."""

    dist: Literal["lognormal"]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        return np.exp(math.log(self.mean) - sigma2 / 2 + math.sqrt(sigma2) * special.ndtri(u))


class Gamma(_MeanCv):
    """Gamma by mean and cv: shape = 1/cv², scale = mean·cv²."""

    dist: Literal["gamma"]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return special.gammaincinv(1.0 / self.cv**2, u) * (self.mean * self.cv**2)


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: float = Field(ge=0, le=VALUE)
    """Lower bound."""
    high: float = Field(ge=0, le=VALUE)
    """Upper bound (at least ``low``)."""

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be at least low ({self.low})")
        return self

    @property
    def expected(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * np.asarray(u)


Distribution = Annotated[Fixed | Exponential | Lognormal | Gamma | Uniform, Field(discriminator="dist")]
"""Any of the distributions, chosen by the ``dist`` key."""
