"""Distributions know their own mean and variance; samples agree within SE-derived tolerances."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from simulator.base.distributions import Distribution, Exponential, Fixed, Gamma, Lognormal, Uniform

ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)
Z = float(stats.norm.ppf(0.9995))  # two-sided 99.9%
N = 400_000


def parse(spec: dict[str, Any]) -> Any:
    return ADAPTER.validate_python(spec)


def fourth_central_moment(d: Any) -> float:
    """E[(X − μ)⁴] from the analytic excess kurtosis of each family."""
    var = d.variance
    if isinstance(d, Exponential):
        return 9.0 * var**2
    if isinstance(d, Gamma):
        return var**2 * (3.0 + 6.0 * d.cv**2)  # excess kurtosis 6/shape, shape = 1/cv²
    if isinstance(d, Lognormal):
        s2 = math.log1p(d.cv**2)
        excess = math.exp(4 * s2) + 2 * math.exp(3 * s2) + 3 * math.exp(2 * s2) - 6
        return var**2 * (3.0 + excess)
    if isinstance(d, Uniform):
        return (d.high - d.low) ** 4 / 80.0
    raise TypeError(d)


RANDOM_CASES = [
    {"dist": "exponential", "mean": 2.0},
    {"dist": "lognormal", "mean": 1.5, "cv": 0.8},
    {"dist": "lognormal", "mean": 0.25, "cv": 0.4},
    {"dist": "gamma", "mean": 2.0, "cv": 0.5},
    {"dist": "gamma", "mean": 0.75, "cv": 1.5},  # shape < 1
    {"dist": "uniform", "low": 1.0, "high": 3.0},
]


@pytest.mark.parametrize("spec", RANDOM_CASES, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_sample_moments_match_analytic(spec: dict[str, Any]) -> None:
    d = parse(spec)
    x = d.sample(np.random.default_rng(7), N)
    assert x.shape == (N,)
    assert np.all(x >= 0)
    # Mean: SE = σ/√n.
    assert abs(x.mean() - d.expected) <= Z * math.sqrt(d.variance / N), (x.mean(), d.expected)
    # Variance: SE of the sample variance ≈ √((μ₄ − σ⁴)/n).
    se_var = math.sqrt((fourth_central_moment(d) - d.variance**2) / N)
    assert abs(x.var(ddof=1) - d.variance) <= Z * se_var, (x.var(ddof=1), d.variance)


@pytest.mark.parametrize("spec", RANDOM_CASES, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_declared_mean_and_cv(spec: dict[str, Any]) -> None:
    """``expected`` and ``variance`` are the parameters the scenario gives (mean, cv) or (low, high)."""
    d = parse(spec)
    if "mean" in spec:
        assert d.expected == spec["mean"]
        cv = spec.get("cv", 1.0)
        assert d.variance == pytest.approx((cv * spec["mean"]) ** 2)
    else:
        assert d.expected == pytest.approx((spec["low"] + spec["high"]) / 2)
        assert d.variance == pytest.approx((spec["high"] - spec["low"]) ** 2 / 12)


def test_ppf_agrees_with_scipy() -> None:
    u = np.linspace(0.001, 0.999, 999)
    np.testing.assert_allclose(parse(RANDOM_CASES[0]).ppf(u), stats.expon(scale=2.0).ppf(u), rtol=1e-10)
    s = math.sqrt(math.log1p(0.8**2))
    lognorm = stats.lognorm(s, scale=1.5 * math.exp(-(s**2) / 2))
    np.testing.assert_allclose(parse(RANDOM_CASES[1]).ppf(u), lognorm.ppf(u), rtol=1e-9)
    gamma = stats.gamma(1 / 0.5**2, scale=2.0 * 0.5**2)
    np.testing.assert_allclose(parse(RANDOM_CASES[3]).ppf(u), gamma.ppf(u), rtol=1e-8)
    np.testing.assert_allclose(parse(RANDOM_CASES[5]).ppf(u), stats.uniform(1.0, 2.0).ppf(u), rtol=1e-12)


@pytest.mark.parametrize("spec", RANDOM_CASES, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_ppf_is_increasing(spec: dict[str, Any]) -> None:
    """Inverse-transform sampling: a larger uniform never gives a smaller value (monotone CRN)."""
    u = np.sort(np.random.default_rng(3).random(10_000))
    u = np.concatenate([[1e-12], u, [1 - 1e-12]])
    x = parse(spec).ppf(u)
    assert np.all(np.isfinite(x))
    assert np.all(np.diff(x) >= 0)
    assert x[-1] > x[0]


def test_ppf_grows_with_the_mean() -> None:
    """The same uniform gives a larger value when the mean grows (levers move outcomes monotonically)."""
    u = np.random.default_rng(5).random(1000)
    for family in ("exponential", "lognormal", "gamma", "fixed"):
        extra = {"cv": 0.7} if family in ("lognormal", "gamma") else {}
        small = parse({"dist": family, "mean": 1.0, **extra}).ppf(u)
        large = parse({"dist": family, "mean": 2.0, **extra}).ppf(u)
        assert np.all(large >= small)


def test_fixed_and_degenerate() -> None:
    d = parse({"dist": "fixed", "mean": 1.25})
    assert isinstance(d, Fixed)
    x = d.sample(np.random.default_rng(1), 100)
    assert np.all(x == 1.25)
    assert d.expected == 1.25 and d.variance == 0.0
    assert np.all(parse({"dist": "fixed", "mean": 0.0}).ppf(np.array([0.1, 0.9])) == 0.0)
    point = parse({"dist": "uniform", "low": 2.0, "high": 2.0})
    assert point.variance == 0.0
    assert np.all(point.sample(np.random.default_rng(1), 10) == 2.0)


def test_each_family_parses_to_its_class() -> None:
    classes = [Exponential, Lognormal, Lognormal, Gamma, Gamma, Uniform]
    for spec, cls in zip(RANDOM_CASES, classes, strict=True):
        assert isinstance(parse(spec), cls)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "fixed", "mean": -1.0},
        {"dist": "exponential", "mean": -1.0},
        {"dist": "exponential", "mean": 0.0},
        {"dist": "lognormal", "mean": -1.0, "cv": 0.5},
        {"dist": "gamma", "mean": -2.0, "cv": 0.5},
        {"dist": "lognormal", "mean": 1.0, "cv": 0.0},
        {"dist": "lognormal", "mean": 1.0, "cv": -0.5},
        {"dist": "gamma", "mean": 1.0, "cv": 0.0},
        {"dist": "uniform", "low": 3.0, "high": 1.0},
        {"dist": "uniform", "low": -1.0, "high": 1.0},
        {"dist": "exponential", "mean": 1.0, "cv": 1.0},  # exponential takes no cv
        {"dist": "fixed", "mean": 1.0, "sd": 0.1},
        {"dist": "lognormal", "mean": 1.0, "cv": 0.5, "shape": 2},
        {"dist": "uniform", "low": 0.0, "high": 1.0, "mean": 0.5},
        {"dist": "lognormal", "mean": 1.0},  # cv is required
        {"dist": "weibull", "mean": 1.0},
        {"mean": 1.0},
    ],
)
def test_validation_rejects(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse(spec)


def test_distributions_are_immutable() -> None:
    d = parse({"dist": "exponential", "mean": 1.0})
    with pytest.raises(ValidationError):
        d.mean = 2.0
