"""A provider's money as an owner sees it: cash as collected, discounted cash flows, recurring-revenue retention,
and the value of the business as a multiple of its earnings.

Pure functions of monthly arrays (month 0 first). Money flows of a month happen at its end: a flow in month t is
discounted over t + 1 months. A month is 365/12 days (the model's 730-hour month).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = [
    "DAYS_PER_MONTH",
    "Collections",
    "annual_irr",
    "annual_mirr",
    "collect",
    "discount_factors",
    "enterprise_value",
    "interpolate_multiple",
    "ltv_to_cac",
    "monthly_rate",
    "npv",
    "retention",
    "trailing_sum",
    "valuation_multiple",
]

DAYS_PER_MONTH = 365.0 / 12.0
"""Days in one model month (730 hours / 24) [days]."""


@dataclass(frozen=True)
class Collections:
    """What is billed each month, as cash received, written off and still owed, month by month [currency]."""

    received: np.ndarray
    written_off: np.ndarray
    receivables: np.ndarray  # at the end of each month


def collect(billed: np.ndarray, days: float, bad_debt_share: float = 0.0) -> Collections:
    """Cash from invoices paid ``days`` after the month they are billed in, less a share never paid.

    An amount billed in month m falls due at m + d, d = days / (365/12): the share 1 − frac(d) in month
    m + floor(d), the rest a month later. At that time (1 − ``bad_debt_share``) of it is received and the rest
    written off. What falls due after the last month stays a receivable. At a steady billing R a month the
    receivables settle at R × d (days sales outstanding × daily revenue), by which cash lags the revenue billed.

    ``billed`` [currency/month], ``days`` [days], ``bad_debt_share`` [share]."""
    billed = np.asarray(billed, dtype=float)
    months = len(billed)
    delay = days / DAYS_PER_MONTH
    whole = math.floor(delay)
    frac = delay - whole
    due = np.zeros(months)
    if whole < months:
        due[whole:] += (1.0 - frac) * billed[: months - whole]
    if whole + 1 < months and frac > 0:
        due[whole + 1 :] += frac * billed[: months - whole - 1]
    written_off = bad_debt_share * due
    received = due - written_off
    receivables = np.cumsum(billed) - np.cumsum(due)
    return Collections(received, written_off, receivables)


def monthly_rate(annual: float) -> float:
    """The monthly rate equivalent to a yearly one, compounded: (1 + r)^(1/12) − 1 [share/month]."""
    return float((1.0 + annual) ** (1.0 / 12.0) - 1.0)


def discount_factors(months: int, monthly: float) -> np.ndarray:
    """1 / (1 + i)^(t + 1) for t = 0 … months − 1: each month's flow discounted from its end to the start."""
    return np.asarray((1.0 + monthly) ** -(np.arange(months) + 1.0))


def npv(flows: np.ndarray, annual_rate: float) -> float:
    """Net present value at the start of month 0 of monthly net cash flows [currency], discounted at the yearly
    ``annual_rate`` compounded monthly. A constant flow C over n months gives the annuity
    C × (1 − (1 + i)^−n) / i with i = (1 + r)^(1/12) − 1."""
    flows = np.asarray(flows, dtype=float)
    return float(flows @ discount_factors(len(flows), monthly_rate(annual_rate)))


def _npv_monthly(flows: np.ndarray, monthly: float) -> float:
    return float(flows @ discount_factors(len(flows), monthly))


def annual_irr(flows: np.ndarray) -> float:
    """The yearly internal rate of return of monthly cash flows: the monthly rate i at which their NPV is zero,
    as (1 + i)^12 − 1 [share/year]; NaN when the flows do not start with an investment (a first flow below zero),
    do not change sign, or the NPV has no root between −99% and +1,000% a month. Of several roots, the one nearest
    zero (Brent's method on the brackets of a grid)."""
    flows = np.asarray(flows, dtype=float)
    scale = float(np.abs(flows).max()) if len(flows) else 0.0
    if scale == 0.0 or not ((flows > 1e-9 * scale).any() and (flows < -1e-9 * scale).any()):
        return float("nan")
    first = flows[np.flatnonzero(np.abs(flows) > 1e-9 * scale)[0]]
    if first > 0:  # no investment first: a return on it is not defined
        return float("nan")
    grid = np.concatenate([-np.geomspace(0.99, 1e-4, 40), [0.0], np.geomspace(1e-4, 10.0, 60)])
    values = np.array([_npv_monthly(flows, g) for g in grid])
    roots = []
    for a, b, fa, fb in zip(grid[:-1], grid[1:], values[:-1], values[1:], strict=True):
        if fa == 0.0:
            roots.append(a)
        elif fa * fb < 0:
            roots.append(brentq(lambda r: _npv_monthly(flows, r), a, b, xtol=1e-12))
    if values[-1] == 0.0:
        roots.append(grid[-1])
    if not roots:
        return float("nan")
    best = min(roots, key=abs)
    return float((1.0 + best) ** 12 - 1.0)


def annual_mirr(flows: np.ndarray, annual_rate: float) -> float:
    """The yearly modified internal rate of return of monthly cash flows: the money put in (the negative flows)
    discounted to the start and the money taken out (the positive flows) compounded to the end, both at the
    discount rate, and the rate that grows the one into the other over the months, (FV / PV)^(12 / n) − 1
    [share/year]. Unlike the IRR it has one value and does not explode when the money put in is small; NaN when
    nothing is put in or nothing comes out."""
    flows = np.asarray(flows, dtype=float)
    n = len(flows)
    i = monthly_rate(annual_rate)
    t = np.arange(n)
    put_in = float(-(np.minimum(flows, 0.0) / (1.0 + i) ** t).sum())
    taken_out = float((np.maximum(flows, 0.0) * (1.0 + i) ** (n - 1 - t)).sum())
    if n == 0 or put_in <= 0.0 or taken_out <= 0.0:
        return float("nan")
    return float((taken_out / put_in) ** (12.0 / n) - 1.0)


def trailing_sum(x: np.ndarray, window: int = 12) -> np.ndarray:
    """Sum over the last ``window`` months up to and including each month (axis −1); NaN before a full window."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, np.nan)
    if x.shape[-1] >= window:
        c = np.cumsum(x, axis=-1)
        head = c[..., window - 1 : window]
        out[..., window - 1 :] = np.concatenate([head, c[..., window:] - c[..., :-window]], axis=-1)
    return out


def retention(recurring: np.ndarray, lag: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Gross and net revenue retention of each month: the recurring revenue now of the clients that paid some
    ``lag`` months earlier, against what they paid then. Net: their revenue now over then (upsell counts, churn
    and downgrades subtract); gross: each client's revenue capped at what it paid then. NaN in the first ``lag``
    months and where the cohort paid nothing.

    ``recurring``: (clients, months) recurring revenue per client-month [currency]; returns two [share] arrays."""
    recurring = np.asarray(recurring, dtype=float)
    months = recurring.shape[1]
    gross, net = np.full(months, np.nan), np.full(months, np.nan)
    for m in range(lag, months):
        then = recurring[:, m - lag]
        cohort = then > 0
        base = then[cohort].sum()
        if base <= 0:
            continue
        now = recurring[cohort, m]
        net[m] = now.sum() / base
        gross[m] = np.minimum(now, then[cohort]).sum() / base
    return gross, net


def interpolate_multiple(share: np.ndarray, shares: np.ndarray, multiples: np.ndarray) -> np.ndarray:
    """The EBITDA multiple at each recurring share from a table (shares increasing): linear between rows, the
    first and last row's multiple beyond them; NaN where the share is NaN [factor]."""
    share = np.asarray(share, dtype=float)
    out = np.interp(share, np.asarray(shares, dtype=float), np.asarray(multiples, dtype=float))
    return np.asarray(np.where(np.isnan(share), np.nan, out))


def valuation_multiple(
    table_multiple: np.ndarray,
    churn_per_year: np.ndarray,
    largest_share: np.ndarray,
    churn_discount: float,
    concentration_threshold: float,
    concentration_discount: float,
) -> np.ndarray:
    """The table's multiple less ``churn_discount`` × yearly churn rate and ``concentration_discount`` × the
    largest client's share of revenue above ``concentration_threshold``; never below zero [factor]."""
    lowered = (
        np.asarray(table_multiple, dtype=float)
        - churn_discount * np.asarray(churn_per_year, dtype=float)
        - concentration_discount
        * np.maximum(np.asarray(largest_share, dtype=float) - concentration_threshold, 0)
    )
    return np.asarray(np.maximum(lowered, 0.0))


def enterprise_value(ebitda_ttm: np.ndarray, multiple: np.ndarray) -> np.ndarray:
    """Enterprise value: EBITDA of the trailing twelve months times the multiple, zero for a loss [currency]. An
    earnings multiple does not value a loss-making year (a higher multiple would make it worth less still); what
    its assets would fetch is not modelled."""
    ebitda = np.asarray(ebitda_ttm, dtype=float)
    return np.asarray(
        np.where(np.isnan(ebitda), np.nan, np.maximum(ebitda, 0.0)) * np.asarray(multiple, dtype=float)
    )


def ltv_to_cac(
    margin_per_client_month: np.ndarray, churn_per_month: np.ndarray, cac: np.ndarray
) -> np.ndarray:
    """Lifetime value over acquisition cost: (gross margin per client-month / monthly churn rate) / the cost of
    winning a client. NaN where a term is undefined: no churn (a lifetime without end), no client won (no
    acquisition cost) or a missing margin [ratio]."""
    margin = np.asarray(margin_per_client_month, dtype=float)
    churn = np.asarray(churn_per_month, dtype=float)
    cost = np.asarray(cac, dtype=float)
    ok = np.isfinite(margin) & np.isfinite(churn) & (churn > 0) & np.isfinite(cost) & (cost > 0)
    out = np.full(np.broadcast(margin, churn, cost).shape, np.nan)
    np.divide(margin / np.where(ok, churn, 1.0), np.where(ok, cost, 1.0), out=out, where=ok)
    return out
