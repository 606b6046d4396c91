"""A calibration from a ticket history (``msp-sim calibrate``): the hands-on hours against the fitted
distributions, the calibrated incident rates against the base scenario's values, when the tickets were opened, and the
calibrated model checked against the history."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, PercentFormatter

from .style import (
    PALETTE,
    SOURCE_COLOR,
    add_source,
    axes_or_new,
    figure_title,
    format_hours,
    panel_title,
    source_line,
    tick_hours,
)

if TYPE_CHECKING:
    import pandas as pd

    from simulator.base.distributions import Distribution
    from simulator.studies.calibration.results import CalibrationResults

__all__ = [
    "MIN_HOURS",
    "arrival_figure",
    "arrival_headline",
    "calibration_charts",
    "check_figure",
    "check_headline",
    "check_value",
    "effort_categories",
    "effort_factor",
    "effort_figure",
    "plot_arrival",
    "plot_check",
    "plot_effort",
    "plot_rates",
    "rates_figure",
    "rates_headline",
]

MIN_HOURS = 10
"""Fewest tickets with positive hands-on hours for a category to get a panel of the effort chart."""

HOUR_TICKS = (1 / 60, 5 / 60, 0.25, 1.0, 4.0, 24.0, 100.0, 500.0, 2000.0)
"""Ticks of the hands-on hours (1 min, 5 min, 15 min, 1 h, 4 h, …), about two a decade."""
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHECK_CAP = 3.0
"""The model check's axis ends at three times the model's mean; a history beyond it is drawn at the edge."""
WITHIN = "#009E73"
OUTSIDE = "#D55E00"


def _source(results: CalibrationResults, what: str = "") -> str:
    """The line under a calibration chart: the calibrated scenario, and the history it comes from."""
    m = results.meta
    start, end = str(m.get("start", ""))[:10], str(m.get("end", ""))[:10]
    history = (
        f"History: {Path(str(m.get('export', ''))).name}, {int(m.get('tickets', len(results.tickets))):,} tickets "
        f"from {start} to {end}, recorded under {m.get('recorded', '?')}."
    )
    return source_line(results.scenario, what=f"{history} {what}".strip())


def _percent(share: float) -> str:
    """A share for a title: whole percent, one decimal below 10%, 'under 0.1%' for a sliver."""
    if not math.isfinite(share):
        return "–"
    if 0 < share < 0.001:
        return "under 0.1%"
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


# ----------------------------------------------------------------------------------------------- effort


def effort_factor(results: CalibrationResults) -> float:
    """The recorded contract's effort factor (thoroughness, tooling): the history's hands-on hours divided by it
    are the hours at thoroughness 1 without tooling that the scenario's effort distributions describe."""
    from simulator.studies.calibration.fit import effort_factor

    recorded = str(results.meta.get("recorded", ""))
    if recorded not in {c.name for c in results.scenario.contracts}:
        return 1.0
    factor = effort_factor(results.scenario, recorded)
    return factor if factor > 0 else 1.0


def _distributions(results: CalibrationResults) -> dict[str, Distribution]:
    """Each category's effort distribution in the calibrated scenario, major incidents last."""
    from simulator.config.sections import MAJOR

    inc = results.scenario.incidents
    out: dict[str, Distribution] = {c.name: c.effort_hours for c in inc.categories}
    out[MAJOR] = inc.major.effort_hours
    return out


def _hours(results: CalibrationResults, category: str, factor: float) -> np.ndarray:
    """The history's positive hands-on hours of a category, divided by the effort factor."""
    t = results.tickets
    hours = t.loc[t["category"].astype(str) == category, "hours"].to_numpy(dtype=float) / factor
    return hours[np.isfinite(hours) & (hours > 0)]


def effort_categories(results: CalibrationResults) -> list[str]:
    """The categories (major incidents last) with at least :data:`MIN_HOURS` tickets with positive hours."""
    factor = effort_factor(results)
    return [name for name in _distributions(results) if len(_hours(results, name, factor)) >= MIN_HOURS]


def _log_bins(x: np.ndarray) -> np.ndarray:
    """Bin edges of equal width on a log scale over ``x`` (positive), more bins for more values."""
    low, high = float(x.min()), float(x.max())
    if high <= low * 1.05:
        low, high = low / 1.5, high * 1.5
    count = int(np.clip(round(2 * len(x) ** (1 / 3)), 6, 30))
    return np.logspace(math.log10(low), math.log10(high), count + 1)


def plot_effort(results: CalibrationResults, category: str, ax: Axes | None = None) -> Axes:
    """One category's hands-on hours per ticket: the history's (÷ the effort factor; bars, on log-spaced bins)
    and the calibrated scenario's distribution (line), both as the share of tickets per bin."""
    ax = axes_or_new(ax, _source(results), (5.0, 3.6))
    spec = _distributions(results)[category]
    x = _hours(results, category, effort_factor(results))
    if not len(x):
        ax.text(0.5, 0.5, "no hours", ha="center", va="center", transform=ax.transAxes, color=SOURCE_COLOR)
        panel_title(ax, category, 10, 36)
        return ax
    edges = _log_bins(x)
    ax.hist(
        x, bins=list(edges), weights=np.full(len(x), 1.0 / len(x)), color="#9ecae1", edgecolor="white", lw=0.6
    )
    width = math.log10(edges[1] / edges[0])  # every bin is this wide in log10(hours)
    data = spec.model_dump()
    if data["dist"] == "fixed":
        ax.axvline(float(data["mean"]), color=PALETTE[0], lw=2)
    else:
        from simulator.studies.calibration.families import pdf

        grid = np.logspace(math.log10(edges[0]) - 0.3, math.log10(edges[-1]) + 0.3, 300)
        # the share of a bin as wide as the bars around each hour: density per log10(hour) times the width
        ax.plot(grid, pdf(spec, grid) * grid * math.log(10) * width, color=PALETTE[0], lw=2)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(HOUR_TICKS))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos=None: tick_hours(v)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos=None: ""))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.tick_params(labelsize=8)
    ax.set_ylim(bottom=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    mean = float(spec.expected)
    ax.set_title(
        f"{category} (n = {len(x):,})\n{data['dist']}, mean {format_hours(mean)}",
        loc="left",
        fontsize=10,
        parse_math=False,
    )
    return ax


def effort_figure(results: CalibrationResults) -> Figure:
    """Small multiples, one per category with enough hours (:func:`effort_categories`): the history's hands-on
    hours per ticket against the fitted distribution."""
    names = effort_categories(results)
    if not names:
        raise ValueError(f"no category has {MIN_HOURS} tickets with hands-on hours: nothing to draw")
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    width = max(3.7 * cols + 0.6, 7.5)
    fig, grid = plt.subplots(
        rows, cols, figsize=(width, 2.9 * rows + 1.3), layout="constrained", squeeze=False
    )
    axes = grid.ravel()
    for ax, name in zip(axes, names, strict=False):
        plot_effort(results, name, ax)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in grid[:, 0]:
        ax.set_ylabel("share of tickets", fontsize=9)
    for col in range(cols):  # under the lowest panel of each column
        last = (len(names) - 1 - col) // cols
        grid[last, col].set_xlabel("hands-on hours per ticket", fontsize=9)
    figure_title(
        fig,
        "Hands-on hours per ticket: the history (bars) and the fitted distributions (lines)",
        width=int(width * 8),
    )
    factor = effort_factor(results)
    scaled = (
        f"The history's hours are divided by {factor:.3g}, the effort factor of {results.meta.get('recorded')} "
        "(thoroughness, tooling), as the scenario's distributions are hours without them. "
        if factor != 1
        else ""
    )
    add_source(
        fig,
        _source(
            results,
            f"{scaled}Bars: share of tickets in each bin (equal widths on the log scale); lines: the share the "
            "fitted distribution puts in a bin as wide; tickets with no or zero hours left out.",
        ),
    )
    return fig


# ----------------------------------------------------------------------------------------------- rates


def _rate_rows(results: CalibrationResults) -> pd.DataFrame:
    from simulator.config.sections import MAJOR

    r = results.rates
    return r[r["category"].astype(str) != MAJOR].reset_index(drop=True)


def _outside(rates: pd.DataFrame) -> list[str]:
    """Categories whose base rate is outside the history's 95% interval of the incident rate."""
    out = []
    for r in rates.to_dict("records"):
        base, low, high = (float(r[c]) for c in ("base_rate", "rate_low", "rate_high"))
        if all(math.isfinite(v) for v in (base, low, high)) and not low <= base <= high:
            out.append(str(r["category"]))
    return out


def rates_headline(results: CalibrationResults) -> str:
    """How many categories' base rates fall outside the history's intervals (naming up to three)."""
    rates = _rate_rows(results)
    outside = _outside(rates)
    n = len(rates)
    if not outside:
        where = "the one category" if n == 1 else f"all {n} categories"
        return f"The base scenario's incident rate lies within the history's 95% interval in {where}"
    names = f" ({', '.join(outside)})" if len(outside) <= 3 else ""
    return (
        f"The base scenario's incident rate lies outside the history's 95% interval in {len(outside)} of {n} "
        f"categories{names}"
    )


def plot_rates(results: CalibrationResults, ax: Axes | None = None) -> Axes:
    """Each category's calibrated incident rate with its 95% interval (dot and whisker), the tickets per unit the
    history shows (grey) and the base scenario's rate (diamond); one row per category, its
    unit in the label, the numbers at the right."""
    rates = _rate_rows(results)
    ax = axes_or_new(ax, _source(results), (8.0, 0.5 * len(rates) + 1.6))
    y = np.arange(len(rates))[::-1]
    rate, low, high = (rates[c].to_numpy(dtype=float) for c in ("rate", "rate_low", "rate_high"))
    ticket = rates["ticket_rate"].to_numpy(dtype=float)
    base = rates["base_rate"].to_numpy(dtype=float)
    outside = set(_outside(rates))
    lo = np.where(np.isfinite(low), rate - low, 0.0)
    hi = np.where(np.isfinite(high), high - rate, 0.0)
    ax.errorbar(
        rate,
        y,
        xerr=[lo, hi],
        fmt="o",
        color=PALETTE[0],
        ecolor=PALETTE[0],
        capsize=3,
        lw=1.4,
        ms=6,
        label="incident rate, calibrated (95% interval)",
    )
    ax.plot(ticket, y, "|", color=SOURCE_COLOR, ms=10, mew=1.6, label="tickets per unit in the history")
    ax.plot(base, y, "D", mfc="none", mec=PALETTE[1], mew=1.8, ms=7, label="the base scenario's rate")
    labels = [f"{r['category']} (per {r['unit']})" for r in rates.to_dict("records")]
    ax.set_yticks(y, labels, fontsize=9)
    for tick, name in zip(ax.get_yticklabels(), rates["category"].astype(str), strict=True):
        if name in outside:
            tick.set_color(OUTSIDE)
    counts = rates["tickets"].to_numpy(dtype=float)
    for yi, r, b, n, name in zip(y, rate, base, counts, rates["category"].astype(str), strict=True):
        text = f"{r:.3g} vs {b:.3g}" if n > 0 else f"no tickets: {b:.3g} kept"
        text += " ✗" if name in outside else ""
        ax.annotate(
            text,
            (1.01, yi),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
            color=OUTSIDE if name in outside else "black",
        )
    ax.set_xlim(-0.015 * ax.get_xlim()[1], None)  # a rate of zero stays in sight
    ax.set_ylim(-0.7, len(rates) - 0.3)
    ax.set_xlabel("incidents per unit (the unit in each row's label)", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    handles, names = ax.get_legend_handles_labels()
    order = [names.index(n) for n in sorted(names, key=lambda n: not n.startswith("incident rate"))]
    ax.legend(
        [handles[i] for i in order],
        [names[i] for i in order],
        fontsize=8,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=3,
        frameon=False,
    )
    return ax


def rates_figure(results: CalibrationResults) -> Figure:
    """The calibrated incident rates against the base scenario's values, one row per category."""
    n = len(_rate_rows(results))
    fig, ax = plt.subplots(figsize=(10.5, 0.42 * n + 2.4), layout="constrained")
    plot_rates(results, ax)
    figure_title(fig, rates_headline(results), width=95)
    add_source(
        fig,
        _source(
            results,
            "Incident rate = tickets per unit ÷ the share of incidents that become tickets under the recorded "
            "contract (the base's behaviours); exact Poisson 95% intervals. Numbers at the right: calibrated "
            "vs the base's rate.",
        ),
    )
    return fig


# ----------------------------------------------------------------------------------------------- arrival


def _arrival_grid(results: CalibrationResults) -> tuple[np.ndarray, np.ndarray]:
    """Tickets created (weekday × hour) and whether each hour is a business hour."""
    a = results.arrival
    counts = np.zeros((7, 24))
    business = np.zeros((7, 24), dtype=bool)
    for r in a.to_dict("records"):
        d, h = int(r["weekday"]), int(r["hour"])
        counts[d, h] += float(r["tickets"])
        business[d, h] = bool(r["business"])
    return counts, business


def _outside_share(results: CalibrationResults) -> float:
    counts, business = _arrival_grid(results)
    total = counts.sum()
    return float(counts[~business].sum() / total) if total else math.nan


def arrival_headline(results: CalibrationResults) -> str:
    """The share of tickets opened outside business hours, beside what the model does."""
    share = _outside_share(results)
    if not math.isfinite(share):
        return "No tickets to place in the week"
    if share == 0:
        return "Every ticket was opened within business hours, where the model's incidents arrive"
    return (
        f"{_percent(share).capitalize()} of tickets were opened outside business hours (the model's incidents "
        "arrive within them)"
    )


def _outline(ax: Axes, mask: np.ndarray) -> None:
    """Outline the cells of ``mask`` (rows × columns of an image drawn with cell centres at integers)."""
    rows, cols = mask.shape
    padded = np.pad(mask, 1)
    segments = []
    for i in range(rows):
        for j in range(cols):
            if not mask[i, j]:
                continue
            if not padded[i, j + 1]:  # the row above on screen (lower index)
                segments.append(((j - 0.5, i - 0.5), (j + 0.5, i - 0.5)))
            if not padded[i + 2, j + 1]:
                segments.append(((j - 0.5, i + 0.5), (j + 0.5, i + 0.5)))
            if not padded[i + 1, j]:
                segments.append(((j - 0.5, i - 0.5), (j - 0.5, i + 0.5)))
            if not padded[i + 1, j + 2]:
                segments.append(((j + 0.5, i - 0.5), (j + 0.5, i + 0.5)))
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(segments, colors="black", linewidths=1.6))


def plot_arrival(results: CalibrationResults, ax: Axes | None = None) -> Axes:
    """Tickets created by weekday and hour (local time), as a share of all tickets; business hours outlined; each
    weekday's share at the right."""
    ax = axes_or_new(ax, _source(results), (10.0, 3.8))
    counts, business = _arrival_grid(results)
    total = counts.sum()
    share = counts / total if total else counts
    top = float(share.max()) if total else 1.0
    image = ax.imshow(share, cmap="Blues", aspect="auto", vmin=0, vmax=top, interpolation="nearest")
    _outline(ax, business)
    ax.set_yticks(range(7), WEEKDAYS, fontsize=9)
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)], fontsize=8)
    ax.set_xlabel(f"hour the ticket was opened (local time, {results.meta.get('timezone', '')})", fontsize=9)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for d in range(7):
        day = share[d].sum()
        ax.annotate(
            f"{day:.0%}" if day >= 0.01 or day == 0 else "<1%",
            (1.005, d),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
            color=SOURCE_COLOR,
        )
    bar = ax.figure.colorbar(image, ax=ax, pad=0.05, fraction=0.04)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos=None: f"{v:.1%}"))
    bar.ax.tick_params(labelsize=8)
    bar.set_label("share of tickets", fontsize=9)
    return ax


def arrival_figure(results: CalibrationResults) -> Figure:
    """When the history's tickets were opened, against the base's business hours."""
    fig, ax = plt.subplots(figsize=(11.5, 4.2), layout="constrained")
    plot_arrival(results, ax)
    figure_title(fig, arrival_headline(results), width=95)
    add_source(
        fig,
        _source(
            results,
            "Outlined: the business hours of the scenario's calendar; at the right: each weekday's share. Reported, "
            "not modelled: the model's incidents arrive within business hours (those monitoring catches and site "
            "outages open a ticket at once).",
        ),
    )
    return fig


# ----------------------------------------------------------------------------------------------- check


def _check_rows(results: CalibrationResults) -> pd.DataFrame:
    c = results.check
    keep = np.isfinite(c["history"].to_numpy(dtype=float)) & np.isfinite(
        c["model_mean"].to_numpy(dtype=float)
    )
    return c[keep].reset_index(drop=True)


def check_headline(results: CalibrationResults) -> str:
    """How many of the history's figures the model reproduces within its 95% range."""
    c = _check_rows(results)
    within = int(c["within"].astype(bool).sum())
    return f"The calibrated model reproduces {within} of {len(c)} figures of the history within its 95% range"


def check_value(x: float, unit: str) -> str:
    """A figure of the model check in its unit (count, hours, share, business hours), for the chart and the
    report's table."""
    if not math.isfinite(x):
        return "–"
    if unit == "share":
        return f"{x:.1%}" if abs(x) >= 0.001 or x == 0 else f"{x:.2%}"
    if unit == "hours":
        return format_hours(x)
    if unit == "business hours":
        return f"{x:.1f} bh"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def plot_check(results: CalibrationResults, ax: Axes | None = None) -> Axes:
    """One row per figure: the model's 95% range (bar) and mean (tick at 1) and the history's value (dot), each
    divided by the model's mean so that counts, hours and shares share an axis; the values at the right, the
    figures outside the range marked."""
    c = _check_rows(results)
    ax = axes_or_new(ax, _source(results), (9.0, 0.32 * len(c) + 1.6))
    y = np.arange(len(c))[::-1]
    widest = 1.5
    for yi, r in zip(y, c.to_dict("records"), strict=True):
        hist, mean, low, high = (float(r[k]) for k in ("history", "model_mean", "model_low", "model_high"))
        if mean > 0:
            ratio, lo, hi = hist / mean, low / mean, high / mean
        else:  # every simulated history has none: any history above zero is infinitely many times that
            ratio, lo, hi = (1.0 if hist <= 0 else math.inf), 1.0, 1.0
        inside = bool(r["within"])
        widest = max(widest, ratio, hi)
        ax.barh(yi, hi - lo, left=lo, height=0.55, color="#c6dbef", lw=0)
        ax.plot([1.0, 1.0], [yi - 0.3, yi + 0.3], color="black", lw=1.2)
        beyond = ratio > CHECK_CAP  # drawn at the edge, pointing on
        ax.plot(
            min(ratio, CHECK_CAP),
            yi,
            ">" if beyond else "o" if inside else "X",
            color=WITHIN if inside else OUTSIDE,
            ms=7 if inside else 9,
            zorder=3,
            clip_on=False,
        )
        unit = str(r["unit"])
        ax.annotate(
            f"{'✓' if inside else '✗'} {check_value(hist, unit)}  (model {check_value(mean, unit)}, "
            f"{check_value(low, unit)}–{check_value(high, unit)})",
            (1.01, yi),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
            color="black" if inside else OUTSIDE,
        )
    ax.set_yticks(y, c["figure"].astype(str).tolist(), fontsize=8.5)
    for tick, ok in zip(ax.get_yticklabels(), c["within"].astype(bool), strict=True):
        if not ok:
            tick.set_color(OUTSIDE)
    ax.axvline(1.0, color=SOURCE_COLOR, lw=0.8, ls=":")
    ax.set_ylim(-0.7, len(c) - 0.3)
    ax.set_xlim(0, min(widest, CHECK_CAP) * 1.04)
    ax.set_xlabel("÷ the model's mean (1 = the mean of the simulated histories)", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], marker="o", color=WITHIN, ls="none", label="history, within the range"),
        Line2D([], [], marker="X", color=OUTSIDE, ls="none", ms=8, label="history, outside it"),
        Patch(color="#c6dbef", label="model: 95% of simulated histories"),
        Line2D([], [], color="black", lw=1.2, label="model: mean"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=4, frameon=False)
    return ax


def check_figure(results: CalibrationResults) -> Figure:
    """The calibrated model checked against the history: each figure of the history against the range of the
    model's simulated histories of the same length, under the contract the history was recorded under."""
    c = _check_rows(results)
    if c.empty:
        raise ValueError("the model check has no figures: nothing to draw")
    fig, ax = plt.subplots(figsize=(11.5, 0.3 * len(c) + 2.2), layout="constrained")
    plot_check(results, ax)
    figure_title(fig, check_headline(results), width=95)
    add_source(
        fig,
        _source(
            results,
            f"Model: the calibrated scenario simulated under {results.meta.get('recorded', '?')} over histories as "
            "long as this one; bars: the range 95% of them fall in; values at the right: the history, then the "
            "model's mean and range.",
        ),
    )
    return fig


# ----------------------------------------------------------------------------------------------- all


def calibration_charts(results: CalibrationResults) -> list[tuple[str, Callable[[], Any], int]]:
    """The charts of a calibration folder: (file stem, figure function, PNG resolution); the effort chart only
    when a category has enough hours, the check only when the model was checked."""
    charts: list[tuple[str, Callable[[], Any], int]] = []
    if effort_categories(results):
        charts.append(("effort", lambda: effort_figure(results), 110))
    charts.append(("rates", lambda: rates_figure(results), 110))
    charts.append(("arrival", lambda: arrival_figure(results), 110))
    if not _check_rows(results).empty:
        charts.append(("check", lambda: check_figure(results), 110))
    return charts
