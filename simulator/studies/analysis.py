"""Analyses over sweep results: what drives the outcome, and where a contract beats the reference.

Pure functions of a sweep's tables (pandas, numpy, scipy, SALib). Two outcomes per point, both paired by
replication on common random numbers and expressed per measured month:

- ``client_saving``: what the client saves with the contract instead of the reference (reference − contract
  ``client_total_cost``; fees plus downtime). Positive: the contract is cheaper for the client.
- ``provider_gain``: what the provider earns more under the contract (contract − reference
  ``provider_net_profit``).
  Positive: the contract is more profitable for the provider.

:func:`sensitivity` ranks the swept parameters (Sobol indices via SALib for a ``sobol`` design, standardised
regression coefficients otherwise), :func:`tornado` gives the outcome at each parameter's low and high end,
and :func:`break_even` bins two parameters into a map of the outcome, its uncertainty and the probability that
the contract wins.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from .sweep import SweepResults

__all__ = [
    "OUTCOMES",
    "BreakEvenMap",
    "SweepAnalysis",
    "analyze_sweep",
    "break_even",
    "point_outcomes",
    "sensitivity",
    "tornado",
    "win_shares",
]

OUTCOMES: dict[str, tuple[str, float, str]] = {
    "client_saving": (
        "client_total_cost",
        -1.0,
        "What the client saves per month with the contract instead of the reference (fees + downtime) "
        "[currency/month]",
    ),
    "provider_gain": (
        "provider_net_profit",
        1.0,
        "What the provider earns more per month under the contract than under the reference [currency/month]",
    ),
}
"""Outcome -> (metric, sign of contract − reference, description)."""

DISCRETE_LEVELS = 12
"""A parameter with at most this many distinct values is treated as discrete (its levels, not bins)."""


def _pair(results: SweepResults, contract: str | None, reference: str | None) -> tuple[str, str]:
    reference = reference or results.reference
    contract = contract or results.contract
    contracts = list(results.rows["contract"].unique())
    if contract is None:
        raise ValueError("the sweep has a single contract: there is nothing to compare")
    for name in (contract, reference):
        if name not in contracts:
            raise ValueError(f"'{name}' is not a contract of this sweep; contracts: {', '.join(contracts)}")
    if contract == reference:
        raise ValueError(
            f"the contract and the reference are both '{contract}'; choose two different contracts"
        )
    return contract, reference


def point_outcomes(
    results: SweepResults, contract: str | None = None, reference: str | None = None
) -> pd.DataFrame:
    """Per point: each outcome's mean per month over replications, standard error, 95% t-interval and the
    probability that it is positive (Student t on the paired replications).

    Columns: ``point_id, <parameters>, measured_months, n``, then per outcome ``<o>, <o>_se, <o>_ci_low,
    <o>_ci_high, <o>_p``.
    """
    contract, reference = _pair(results, contract, reference)
    params = results.parameters
    rows = results.rows
    key = ["point_id", "replication"]
    a = rows[rows["contract"] == contract].set_index(key)
    b = rows[rows["contract"] == reference].set_index(key)
    common = a.index.intersection(b.index)
    a, b = a.loc[common], b.loc[common]
    months = results.design.drop_duplicates("point_id").set_index("point_id")["measured_months"]
    per_month = months.reindex(common.get_level_values("point_id")).to_numpy(dtype=float)
    diffs = pd.DataFrame(index=common)
    for outcome, (metric, sign, _) in OUTCOMES.items():
        delta = a[metric].to_numpy(dtype=float) - b[metric].to_numpy(dtype=float)
        diffs[outcome] = sign * delta / per_month
    grouped = diffs.groupby(level="point_id", sort=False)
    first = rows.drop_duplicates("point_id").set_index("point_id")
    out = first.loc[grouped.size().index, params].reset_index()
    out["measured_months"] = months.reindex(out["point_id"]).to_numpy()
    n = grouped.size().to_numpy()
    out["n"] = n
    for outcome in OUTCOMES:
        mean = grouped[outcome].mean().to_numpy()
        sd = grouped[outcome].std(ddof=1).to_numpy()
        se = sd / np.sqrt(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)), np.nan) * se
            out[outcome] = mean
            out[f"{outcome}_se"] = se
            out[f"{outcome}_ci_low"] = mean - half
            out[f"{outcome}_ci_high"] = mean + half
            out[f"{outcome}_p"] = _probability(mean, se, n - 1)
    return out


def _probability(mean: np.ndarray, se: np.ndarray, df: np.ndarray | float | None = None) -> np.ndarray:
    """P(true mean > 0): Student t (or normal without ``df``) on mean/se; 1, 0 or ½ when se is 0."""
    mean = np.asarray(mean, dtype=float)
    se = np.asarray(se, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = mean / se
        p = stats.norm.cdf(z) if df is None else stats.t.cdf(z, np.maximum(np.asarray(df, dtype=float), 1))
    exact = se == 0
    return np.where(exact, np.where(mean > 0, 1.0, np.where(mean < 0, 0.0, 0.5)), p)


def win_shares(outcomes: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per outcome, how many points have it positive on average, significantly positive and significantly
    negative (95% interval)."""
    shares: dict[str, dict[str, int]] = {}
    for outcome in OUTCOMES:
        shares[outcome] = {
            "points": len(outcomes),
            "positive": int((outcomes[outcome] > 0).sum()),
            "significant": int((outcomes[f"{outcome}_ci_low"] > 0).sum()),
            "significant_negative": int((outcomes[f"{outcome}_ci_high"] < 0).sum()),
        }
    return shares


def _numeric(frame: pd.DataFrame, params: list[str]) -> list[str]:
    """The parameters that can be ordered (numbers and booleans) and actually vary."""
    out = []
    for p in params:
        col = frame[p]
        if (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)) and col.nunique() > 1:
            out.append(p)
    return out


# ----------------------------------------------------------------------------------------------- sensitivity


_SENSITIVITY_COLUMNS = [
    "outcome",
    "parameter",
    "method",
    "importance",
    "rank",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "src",
    "srrc",
    "r2",
]
"""The columns of :func:`sensitivity`, in order."""


def sensitivity(
    results: SweepResults,
    outcome: str = "client_saving",
    contract: str | None = None,
    reference: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Global sensitivity of an outcome (or of a metric of ``contract``) to the swept parameters.

    A ``sobol`` design gets Sobol indices from SALib (``S1``, ``ST`` and their 95% bootstrap half-widths),
    ranked by ``ST``. Other designs get standardised regression coefficients on the point means (``src``; its
    square is the share of variance a linear model attributes to the parameter, exact for a linear response
    and independent inputs) and on their ranks (``srrc``, for monotone non-linear responses), ranked by
    ``src²``. ``r2`` says how much of the variance the linear model explains. ``outcome`` is
    ``client_saving``, ``provider_gain``, or a metric name (its per-point mean for ``contract``).

    Columns: ``outcome, parameter, method, importance, rank, S1, S1_conf, ST, ST_conf, src, srrc, r2``.
    """
    y_points = _outcome_per_point(results, outcome, contract, reference)
    params = results.parameters
    first = results.design.drop_duplicates("point_id").set_index("point_id")
    unique = first.loc[y_points.index]
    numeric = _numeric(unique, params)
    table = pd.DataFrame({"parameter": params})
    table["outcome"] = outcome
    src, srrc, r2 = _regression(unique[numeric].astype(float).to_numpy(), y_points.to_numpy(dtype=float))
    table["src"] = table["parameter"].map(dict(zip(numeric, src, strict=True)))
    table["srrc"] = table["parameter"].map(dict(zip(numeric, srrc, strict=True)))
    table["r2"] = r2
    if results.kind == "sobol":
        si = _sobol_indices(results, y_points, seed)
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            table[key] = np.asarray(si[key], dtype=float)
        table["method"] = "sobol"
        table["importance"] = table["ST"]
    else:
        for key in ("S1", "S1_conf", "ST", "ST_conf"):
            table[key] = np.nan
        table["method"] = np.where(table["parameter"].isin(numeric), "regression", "not ranked (not numeric)")
        table["importance"] = table["src"] ** 2
    table = table.sort_values("importance", ascending=False, na_position="last", kind="stable")
    table["rank"] = np.arange(1, len(table) + 1)
    return table[_SENSITIVITY_COLUMNS].reset_index(drop=True)


def _sobol_indices(results: SweepResults, y_points: pd.Series, seed: int) -> dict[str, Any]:
    """First-order and total Sobol indices (``S1``, ``ST``) and their 95% bootstrap half-widths (SALib) from a
    complete Saltelli design, its points in sample order; zeros when the outcome does not vary."""
    params = results.parameters
    design = results.design
    y = y_points.reindex(design.sort_values("sample")["point_id"]).to_numpy(dtype=float)
    if np.isnan(y).any():
        raise ValueError("the Sobol design is not complete: finish the sweep (msp-sim sweep --resume) first")
    spec = results.manifest["design"]
    bounds = [[float(spec["parameters"][p]["low"]), float(spec["parameters"][p]["high"])] for p in params]
    problem = {"num_vars": len(params), "names": params, "bounds": bounds}
    if float(np.var(y)) == 0.0:
        zeros = np.zeros(len(params))
        return {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    from SALib.analyze import sobol as salib_sobol  # type: ignore[import-untyped]

    return salib_sobol.analyze(
        problem,
        y,
        calc_second_order=bool(spec.get("second_order", False)),
        num_resamples=200,
        conf_level=0.95,
        seed=seed or 1,  # SALib falls back to the global generator for a falsy seed
    )


def _outcome_per_point(
    results: SweepResults, outcome: str, contract: str | None, reference: str | None
) -> pd.Series:
    if outcome in OUTCOMES:
        out = point_outcomes(results, contract, reference)
        return out.set_index("point_id")[outcome]
    rows = results.rows
    if outcome not in rows.columns:
        raise ValueError(
            f"unknown outcome '{outcome}': use {', '.join(OUTCOMES)} or a metric (e.g. client_total_cost)"
        )
    name = contract or results.contract or results.reference
    chosen = rows[rows["contract"] == name]
    return chosen.groupby("point_id", sort=False)[outcome].mean()


def _regression(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Standardised regression coefficients on the values and on their ranks, and the R² of the first."""
    d = x.shape[1]
    if d == 0 or len(y) <= d + 1 or float(np.std(y)) == 0.0:
        zero = np.zeros(d)
        return zero, zero, math.nan

    def fit(xm: np.ndarray, ym: np.ndarray) -> tuple[np.ndarray, float]:
        xs = (xm - xm.mean(axis=0)) / xm.std(axis=0)
        ys = (ym - ym.mean()) / ym.std()
        coef, *_ = np.linalg.lstsq(xs, ys, rcond=None)
        resid = ys - xs @ coef
        return coef, 1.0 - float(resid @ resid) / float(ys @ ys)

    src, r2 = fit(x, y)
    ranks = np.column_stack([stats.rankdata(x[:, j]) for j in range(d)])
    srrc, _ = fit(ranks, stats.rankdata(y))
    return src, srrc, r2


# ----------------------------------------------------------------------------------------------- tornado


def tornado(
    results: SweepResults,
    outcome: str = "client_saving",
    contract: str | None = None,
    reference: str | None = None,
    share: float = 0.2,
) -> pd.DataFrame:
    """The outcome at each parameter's low and high end, averaged over the other parameters.

    A discrete parameter (a grid axis, or few values) compares its lowest and highest level; a continuous one
    the points in its lowest and highest ``share`` of values. Sorted by the size of the swing (largest first).

    Columns: ``parameter, low_value, high_value, at_low, at_low_se, at_high, at_high_se, swing, baseline,
    n_low, n_high, outcome`` (money per month for the two standard outcomes).
    """
    per_point = _outcome_per_point(results, outcome, contract, reference)
    first = results.design.drop_duplicates("point_id").set_index("point_id").loc[per_point.index]
    y = per_point.to_numpy(dtype=float)
    baseline = float(np.nanmean(y))
    rows = []
    for p in _numeric(first, results.parameters):
        x = first[p].astype(float).to_numpy()
        levels = np.unique(x)
        if len(levels) <= DISCRETE_LEVELS:
            low, high = x == levels[0], x == levels[-1]
        else:
            lo_q, hi_q = np.quantile(x, [share, 1 - share])
            low, high = x <= lo_q, x >= hi_q
        at_low, se_low = _mean_se(y[low])
        at_high, se_high = _mean_se(y[high])
        rows.append(
            {
                "parameter": p,
                "low_value": float(x[low].mean()),
                "high_value": float(x[high].mean()),
                "at_low": at_low,
                "at_low_se": se_low,
                "at_high": at_high,
                "at_high_se": se_high,
                "swing": at_high - at_low,
                "baseline": baseline,
                "n_low": int(low.sum()),
                "n_high": int(high.sum()),
                "outcome": outcome,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    order = table["swing"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    se = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return float(values.mean()), se


# ----------------------------------------------------------------------------------------------- break-even


@dataclass
class BreakEvenMap:
    """Two swept parameters binned into cells; per cell each outcome's mean, standard error and probability of
    being positive (the contract wins). Cells are ordered x fastest; ``grid(column)`` gives the (y, x) array.
    """

    x: str
    y: str
    x_edges: np.ndarray
    y_edges: np.ndarray
    x_centres: np.ndarray
    y_centres: np.ndarray
    cells: pd.DataFrame
    contract: str
    reference: str
    currency: str
    locale: str = "en_US"

    def grid(self, column: str) -> np.ndarray:
        """One column of the cells as a (len(y_centres), len(x_centres)) array; NaN where a cell is empty."""
        out = np.full((len(self.y_centres), len(self.x_centres)), np.nan)
        iy, ix = self.cells["iy"].to_numpy(dtype=np.int64), self.cells["ix"].to_numpy(dtype=np.int64)
        out[iy, ix] = self.cells[column].to_numpy(dtype=float)
        return out

    def to_df(self) -> pd.DataFrame:
        """The cell table with the parameter names as columns."""
        return self.cells.rename(columns={"x": self.x, "y": self.y})


def break_even(
    results: SweepResults,
    x: str | None = None,
    y: str | None = None,
    contract: str | None = None,
    reference: str | None = None,
    bins: int | None = None,
) -> BreakEvenMap:
    """Where the contract is cheaper for the client and more profitable for the provider, over two parameters.

    Each axis uses the parameter's levels when it has at most ``DISCRETE_LEVELS`` distinct values, else
    ``bins`` equal-width bins (default: about √(distinct (x, y) pairs / 4), from 3 to 10). A cell averages its
    points (the other parameters vary within it). Its standard error propagates the replications' noise for a
    grid design, and is the spread of its points' means for sampled designs; ``<outcome>_p`` = Φ(mean / se),
    the probability that the contract wins there. The 50% contour of ``client_saving_p`` is the break-even
    line; the 2.5% and 97.5% contours bound its 95% uncertainty band.

    ``x`` and ``y`` default to the two parameters that matter most for the client's saving
    (:func:`sensitivity`).
    """
    contract, reference = _pair(results, contract, reference)
    outcomes = point_outcomes(results, contract, reference)
    x, y = _map_axes(results, outcomes, x, y, contract, reference)
    n_pairs = len(outcomes[[x, y]].drop_duplicates())  # Saltelli's points share many (x, y) pairs
    nbins = bins or int(min(10, max(3, round(math.sqrt(n_pairs / 4)))))
    ix, x_edges, x_centres = _axis(outcomes[x].astype(float).to_numpy(), nbins)
    iy, y_edges, y_centres = _axis(outcomes[y].astype(float).to_numpy(), nbins)
    frame = outcomes.assign(ix=ix, iy=iy)
    cells = _cells(frame, x_edges, x_centres, y_edges, y_centres, sampled=results.kind != "grid")
    return BreakEvenMap(
        x=x,
        y=y,
        x_edges=x_edges,
        y_edges=y_edges,
        x_centres=x_centres,
        y_centres=y_centres,
        cells=cells,
        contract=contract,
        reference=reference,
        currency=results.currency,
        locale=results.locale,
    )


def _map_axes(
    results: SweepResults,
    outcomes: pd.DataFrame,
    x: str | None,
    y: str | None,
    contract: str,
    reference: str,
) -> tuple[str, str]:
    """The two parameters of a break-even map: those given, the others the ones that matter most for the
    client's saving; each must be a swept numeric parameter that varies, and the two must differ."""
    numeric = _numeric(outcomes, results.parameters)
    if x is None or y is None:
        ranked = sensitivity(results, "client_saving", contract, reference)
        top = [p for p in ranked["parameter"] if p in numeric and p not in (x, y)]
        if x is None:
            x = top.pop(0) if top else None
        if y is None:
            y = top.pop(0) if top else None
    for option, name in (("-x", x), ("-y", y)):
        if name is None:
            raise ValueError("a break-even map needs two swept numeric parameters; this sweep has fewer")
        if name not in numeric:
            raise ValueError(
                f"{option} {name}: '{name}' is not a swept numeric parameter that varies; choose from: "
                f"{', '.join(numeric) or '(none)'} (the sweep's parameters: {', '.join(results.parameters)})"
            )
    assert x is not None and y is not None
    if x == y:
        raise ValueError(f"x and y are both '{x}'; choose two different parameters")
    return x, y


def _cells(
    frame: pd.DataFrame,
    x_edges: np.ndarray,
    x_centres: np.ndarray,
    y_edges: np.ndarray,
    y_centres: np.ndarray,
    sampled: bool,
) -> pd.DataFrame:
    """One row per cell that holds points (``frame`` has their cell indices ``ix``, ``iy``): its centre, edges
    and number of points, and each outcome's mean, standard error and probability; ordered y, then x."""
    records = []
    for _, cell in frame.groupby(["ix", "iy"], sort=True):
        cx, cy = int(cell["ix"].iloc[0]), int(cell["iy"].iloc[0])
        rec: dict[str, Any] = {
            "ix": cx,
            "iy": cy,
            "x": float(x_centres[cx]),
            "y": float(y_centres[cy]),
            "x_low": float(x_edges[cx]),
            "x_high": float(x_edges[cx + 1]),
            "y_low": float(y_edges[cy]),
            "y_high": float(y_edges[cy + 1]),
            "n_points": len(cell),
        }
        rec.update(_cell_outcomes(cell, sampled))
        records.append(rec)
    return pd.DataFrame(records).sort_values(["iy", "ix"]).reset_index(drop=True)


def _cell_outcomes(cell: pd.DataFrame, sampled: bool) -> dict[str, float]:
    """Per outcome, a cell's mean, standard error and probability of being positive: the se is the spread of
    the points' means for a sampled design, else the replications' noise propagated from each point's se."""
    rec: dict[str, float] = {}
    for outcome in OUTCOMES:
        means = cell[outcome].to_numpy(dtype=float)
        ses = cell[f"{outcome}_se"].to_numpy(dtype=float)
        mean = float(means.mean())
        if sampled and len(means) > 1:
            se = float(means.std(ddof=1) / math.sqrt(len(means)))
        else:
            se = float(math.sqrt(np.nansum(ses**2)) / len(means))
        rec[outcome] = mean
        rec[f"{outcome}_se"] = se
        rec[f"{outcome}_p"] = float(_probability(np.array([mean]), np.array([se]))[0])
    return rec


def _axis(values: np.ndarray, nbins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell index of each value, the cell edges and the cell centres (levels for a discrete parameter)."""
    levels = np.unique(values)
    if len(levels) <= DISCRETE_LEVELS:
        index = np.searchsorted(levels, values)
        if len(levels) == 1:
            edges = np.array([levels[0] - 0.5, levels[0] + 0.5])
        else:
            mids = (levels[1:] + levels[:-1]) / 2
            edges = np.concatenate(
                [[levels[0] - (mids[0] - levels[0])], mids, [levels[-1] + (levels[-1] - mids[-1])]]
            )
        return index, edges, levels
    edges = np.linspace(values.min(), values.max(), nbins + 1)
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, nbins - 1)
    return index, edges, (edges[1:] + edges[:-1]) / 2


@dataclass
class SweepAnalysis:
    """Everything ``msp-sim analyze`` and the report show of a sweep."""

    contract: str
    reference: str
    outcomes: pd.DataFrame
    sensitivity: pd.DataFrame
    tornado: pd.DataFrame
    break_even: BreakEvenMap | None
    """None when fewer than two numeric parameters were swept."""
    source: str = ""
    """The line under every chart: the sweep, its design and seed."""


def analyze_sweep(
    results: SweepResults,
    contract: str | None = None,
    reference: str | None = None,
    x: str | None = None,
    y: str | None = None,
    bins: int | None = None,
) -> SweepAnalysis:
    """Point outcomes, sensitivity and tornado for both outcomes, and the break-even map over ``x`` and ``y``
    (default: the two parameters that matter most). An ``x`` or ``y`` the map cannot use is a ValueError that
    names the option (``-x``/``-y``) and the sweep's parameters."""
    for option, name in (("-x", x), ("-y", y)):
        if name is not None and name not in results.parameters:
            hint = difflib.get_close_matches(name, results.parameters, n=1)
            raise ValueError(
                f"{option} {name}: the sweep has no parameter '{name}'"
                + (f"; did you mean '{hint[0]}'?" if hint else ".")
                + f" Its parameters: {', '.join(results.parameters)}."
            )
    outcomes = point_outcomes(results, contract, reference)
    sens = pd.concat([sensitivity(results, o, contract, reference) for o in OUTCOMES], ignore_index=True)
    tor = pd.concat([tornado(results, o, contract, reference) for o in OUTCOMES], ignore_index=True)
    ranked = set(sens.loc[sens["method"] != "not ranked (not numeric)", "parameter"])
    numeric = [p for p in results.parameters if p in ranked]
    if len(numeric) < 2 and (x is not None or y is not None):
        raise ValueError(
            f"{'-x' if x is not None else '-y'}: a break-even map needs two swept numeric parameters that vary; "
            f"this sweep has {', '.join(numeric) or 'none'} (parameters: {', '.join(results.parameters)})."
        )
    be = break_even(results, x, y, contract, reference, bins) if len(numeric) >= 2 else None
    c, ref = _pair(results, contract, reference)
    return SweepAnalysis(c, ref, outcomes, sens, tor, be, sweep_source(results))


def sweep_source(results: SweepResults) -> str:
    """Where a sweep chart's numbers come from: sweep name, design, points done, replications and seed."""
    m = results.manifest
    done, total = results.rows["point_id"].nunique(), int(m["points"])
    points = f"{total:,} points" if done == total else f"{done:,} of {total:,} points"
    return (
        f"Source: msp-sim, sweep '{m['name']}' ({m['kind']} design, {points} × {m['replications']} "
        f"replications), seed {m['seed']}."
    )
