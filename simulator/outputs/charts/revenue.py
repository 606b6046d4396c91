"""The provider's monthly revenue per contract over a run: the median and the band holding 80% of the
replications (how predictable the revenue is)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import axes_or_new, contract_colors, money_formatter, panel_title, run_source

if TYPE_CHECKING:
    from simulator.studies.run import Results

__all__ = ["plot_revenue_band", "revenue_figure"]


def plot_revenue_band(results: Results, ax: Axes | None = None) -> Axes:
    """The provider's monthly revenue per contract: the median over replications and the band holding 80% of
    them (10th to 90th percentile); a narrow, flat band means predictable revenue."""
    ax = axes_or_new(
        ax, run_source(results, "Lines: medians over replications; bands: 10th–90th percentile."), (8, 4.4)
    )
    monthly = results.monthly
    colors = contract_colors(results.scenario)
    for name in results.contracts:
        g = monthly[monthly["contract"] == name].groupby("month")["provider_revenue"]
        q = g.quantile(np.array([0.1, 0.5, 0.9])).unstack()
        ax.plot(q.index, q[0.5], color=colors[name], lw=2, label=results.scenario.label_of(name))
        ax.fill_between(q.index, q[0.1], q[0.9], color=colors[name], alpha=0.2, lw=0)
    ax.yaxis.set_major_formatter(money_formatter(results.scenario.currency, results.scenario.locale))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("month")
    ax.set_ylabel("provider revenue per month")
    cv = results.table("revenue_monthly_cv")["mean"].dropna()
    shown = results.scenario.label_of
    if len(cv) > 1:
        title = (
            f"Revenue predictability: {shown(str(cv.idxmin()))} varies ±{cv.min():.0%} month to month, "
            f"{shown(str(cv.idxmax()))} ±{cv.max():.0%}"
        )
    else:
        title = "Monthly revenue"
    panel_title(ax, title)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.9, ncol=min(3, len(results.contracts)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)
    return ax


def revenue_figure(results: Results) -> Figure:
    """Monthly revenue with its band, on its own figure."""
    ax = plot_revenue_band(results)
    return ax.figure  # type: ignore[return-value]
