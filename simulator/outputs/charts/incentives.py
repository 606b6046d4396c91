"""What each contract makes the provider do: profit and social cost against prevention effort, the
provider's and society's choices, and the welfare lost at the provider's choice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import (
    PALETTE,
    add_source,
    axes_or_new,
    ci_whiskers,
    finite_max,
    finite_min,
    format_money,
    money_formatter,
    money_labels,
    palette_colors,
    set_ylim,
    source_line,
    style_columns,
)

if TYPE_CHECKING:
    from simulator.studies.incentives import IncentiveResults

__all__ = [
    "PREVENTION",
    "incentives_figure",
    "incentives_headline",
    "plot_incentive_curve",
    "plot_misalignment",
]

PREVENTION = "prevention_hours_per_endpoint_month"


def _slice(incentives: IncentiveResults, contract: str, role: str, lever: str = PREVENTION) -> Any:
    """The curve along ``lever`` through ``role``'s optimum (the other levers at that optimum), by value."""
    c = incentives.curves
    if "role" in c.columns:
        c = c[c["role"] == role]
    return c[(c["contract"] == contract) & (c["lever"] == lever)].sort_values("value")


def plot_incentive_curve(incentives: IncentiveResults, contract: str, ax: Axes | None = None) -> Axes:
    """Provider net profit (left axis) and social cost (right axis) per month against prevention hours for one
    contract. Each curve passes through the optimum it marks: the profit curve holds the other levers at the
    provider's best response, the social-cost curve at the social optimum; the marks sit on them."""
    ax = axes_or_new(ax, source_line(incentives.scenario, what="Bands: 95% confidence intervals."))
    s = incentives.scenario
    months = s.measured_months
    names = [c.name for c in s.contracts]
    color = PALETTE[names.index(contract) % len(PALETTE)]
    money = money_formatter(s.currency, s.locale)
    best: Any = incentives.best_response.set_index(["contract", "role"])
    e_br = float(best.loc[(contract, "provider"), PREVENTION])
    e_so = float(best.loc[(contract, "social"), PREVENTION])
    profit, social = _slice(incentives, contract, "provider"), _slice(incentives, contract, "social")
    right = ax.twinx()
    if not profit.empty:
        x = profit["value"].to_numpy()
        ax.plot(
            x, profit["provider_net_profit"] / months, color=color, lw=2, label="provider net profit (left)"
        )
        ax.fill_between(
            x,
            profit["provider_net_profit_ci_low"] / months,
            profit["provider_net_profit_ci_high"] / months,
            color=color,
            alpha=0.2,
        )
        _mark(ax, profit, e_br, "provider_net_profit", months, color, "provider's choice")
    if not social.empty:
        x = social["value"].to_numpy()
        right.plot(
            x, social["social_cost"] / months, color="dimgrey", lw=1.5, ls="--", label="social cost (right)"
        )
        right.fill_between(
            x,
            social["social_cost_ci_low"] / months,
            social["social_cost_ci_high"] / months,
            color="grey",
            alpha=0.15,
        )
        _mark(right, social, e_so, "social_cost", months, "black", "best for society")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    if handles:
        ax.legend(handles=handles, fontsize=8, loc="lower left", framealpha=0.9)
    ax.yaxis.set_major_formatter(money)
    right.yaxis.set_major_formatter(money)
    right.spines[["top"]].set_visible(False)
    ax.set_xlabel("prevention [hours per endpoint-month]")
    ax.set_ylabel(f"provider net profit per month [{s.currency}]")
    right.set_ylabel(f"social cost per month [{s.currency}]")
    shown = s.label_of(contract)
    ax.set_title(f"{shown}: provider picks {e_br:.2f} h, society {e_so:.2f} h", loc="left", fontsize=10)
    ax.spines[["top"]].set_visible(False)
    ax.grid(alpha=0.3)
    return ax


def _mark(ax: Axes, curve: Any, at: float, metric: str, months: int, color: str, text: str) -> None:
    """A point on ``curve`` at the lever value ``at`` (which the curve holds), with its name."""
    row = curve[np.isclose(curve["value"].to_numpy(dtype=float), at)]
    if row.empty:
        return
    y = float(row[metric].iloc[0]) / months
    ax.plot([at], [y], marker="o", ms=7, color=color, mec="white", zorder=5, ls="none", gid=f"mark-{metric}")
    ax.annotate(text, (at, y), xytext=(6, 6), textcoords="offset points", fontsize=8, color=color)


def plot_misalignment(incentives: IncentiveResults, ax: Axes | None = None) -> Axes:
    """Welfare loss at each contract's best response against its social optimum, with its paired 95% CI."""
    ax = axes_or_new(ax, source_line(incentives.scenario, what="Whiskers: paired 95% confidence intervals."))
    m = incentives.misalignment
    s = incentives.scenario
    months = s.measured_months
    names = list(m["contract"])
    mean = m["welfare_loss"].to_numpy(dtype=float) / months
    lo = m["welfare_loss_ci_low"].to_numpy(dtype=float) / months
    hi = m["welfare_loss_ci_high"].to_numpy(dtype=float) / months
    ax.bar(np.arange(len(names)), mean, color=palette_colors(len(names)))
    money = money_formatter(incentives.scenario.currency, incentives.scenario.locale)
    extra = m["extra_downtime_user_hours"].to_numpy(dtype=float) / months
    amounts = money_labels(list(mean), incentives.scenario.currency, incentives.scenario.locale)
    labels = [
        a + (f"\n{d:+,.0f} user-h" if np.isfinite(d) else "") for a, d in zip(amounts, extra, strict=True)
    ]
    ci_whiskers(ax, mean, lo, hi, labels)
    # A saturated queue has no welfare figure: its place says so, on the zero line.
    unstable = [str(u) if isinstance(u, str) else "" for u in m.get("unstable", [""] * len(names))]
    for i, reason in enumerate(unstable):
        if reason:
            ax.annotate(
                f"unstable:\n{reason}",
                (i, 0.0),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8.5,
            )
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(money)
    set_ylim(ax, min(0.0, finite_min(lo, mean) * 1.2), finite_max(hi, mean) * 1.35)
    ax.set_ylabel(f"welfare loss per month [{s.currency}]")
    ax.set_title(
        "Welfare loss per month: social cost at the provider's choice minus the best\n(labels: and the extra "
        "downtime per month)",
        loc="left",
        fontsize=10,
    )
    style_columns(ax, [s.label_of(n) for n in names])
    return ax


def incentives_headline(incentives: IncentiveResults) -> str:
    """The chart's title: the contract whose provider's choices lose the most welfare (contracts whose loss could
    not be measured left out), and the contracts whose best response is a queue that does not keep up."""
    worst = incentives.most_misaligned()
    s = incentives.scenario
    m = incentives.misalignment
    unstable = [
        f"{s.label_of(str(r['contract']))} ({r['unstable']})"
        for r in m.to_dict("records")
        if isinstance(r.get("unstable"), str) and r.get("unstable")
    ]
    tail = (
        f"; unstable at the provider's choice, so no welfare figure: {', '.join(unstable)}"
        if unstable
        else ""
    )
    if worst is None:
        return (
            "Incentives: the provider's profit-maximising choices against the social optimum, per contract"
            + tail
        )
    loss = float(worst["welfare_loss"]) / s.measured_months
    return (
        f"Incentives: under {s.label_of(str(worst['contract']))} the provider's profit-maximising choices cost "
        f"{format_money(loss, s.currency, locale=s.locale)} a month more than the social optimum" + tail
    )


def incentives_figure(incentives: IncentiveResults) -> Figure:
    """One curve panel per contract and the misalignment bars."""
    n = len(incentives.scenario.contracts)
    rows = (n + 2) // 2
    fig, grid = plt.subplots(rows, 2, figsize=(13, 4.6 * rows), layout="constrained", squeeze=False)
    axes = grid.ravel()
    for ax, c in zip(axes[:n], incentives.scenario.contracts, strict=False):
        plot_incentive_curve(incentives, c.name, ax)
    plot_misalignment(incentives, axes[n])
    for ax in axes[n + 1 :]:
        ax.set_visible(False)
    fig.suptitle(
        incentives_headline(incentives),
        fontsize=12,
        fontweight="bold",
        x=0.01,
        ha="left",
        parse_math=False,
    )
    s = incentives.scenario
    add_source(
        fig,
        source_line(
            s,
            what="Money per month. The profit curve holds the other levers at the provider's best response, the "
            "social-cost curve at the social optimum; bands and whiskers are 95% confidence intervals of the level "
            "(differences between lever values are paired on common random numbers and far tighter: see "
            "curves.csv and best_response.csv).",
        ),
    )
    return fig
