"""A portfolio's move from break/fix to managed services: cumulative cash (as collected, with
``portfolio.finance``), the enterprise value, the recurring share of revenue, monthly revenue and clients per
contract, one line (or stack) per migration strategy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import stats

from .style import (
    SOURCE_COLOR,
    STRATEGY_PALETTE,
    STRATEGY_STYLES,
    add_source,
    axes_or_new,
    contract_colors,
    figure_title,
    money_formatter,
    source_line,
)

if TYPE_CHECKING:
    from simulator.studies.transition import TransitionResults

__all__ = [
    "plot_cash",
    "plot_clients",
    "plot_enterprise_value",
    "plot_mrr_share",
    "plot_transition_revenue",
    "transition_figure",
]


def _strategy_band(transition: TransitionResults, column: str, ax: Axes, scale: float = 1.0) -> None:
    """Mean over replications with a 95% band, one line per strategy."""
    monthly = transition.monthly
    for i, strategy in enumerate(transition.strategies):
        g = monthly[monthly["strategy"] == strategy].groupby("month")[column]
        mean, sd, n = g.mean() * scale, g.std(ddof=1) * scale, g.count()
        half: Any = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
        color = STRATEGY_PALETTE[i % len(STRATEGY_PALETTE)]
        style = STRATEGY_STYLES[i % len(STRATEGY_STYLES)]
        ax.plot(mean.index, mean.to_numpy(), color=color, ls=style, lw=2, label=strategy)
        ax.fill_between(
            mean.index, (mean - half).to_numpy(), (mean + half).to_numpy(), color=color, alpha=0.2
        )
    ax.set_xlabel("month")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)


def _transition_source(transition: TransitionResults) -> str:
    n = int(transition.monthly["replication"].nunique())
    return source_line(
        transition.scenario, what=f"{n} replications; lines: means, bands: 95% confidence intervals."
    )


def _valued(transition: TransitionResults) -> bool:
    """Whether the run counted cash as collected and valued the business (``portfolio.finance``)."""
    return "enterprise_value" in transition.monthly.columns


def plot_cash(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Cumulative cash per strategy with its 95% band: the dip of the switch and the recovery; with
    ``portfolio.finance`` the cash balance as collected (fees when paid, costs and overhead when incurred)."""
    ax = axes_or_new(ax, _transition_source(transition))
    _strategy_band(transition, "cash", ax)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(money_formatter(transition.scenario.currency, transition.scenario.locale))
    title = (
        "Cash balance as collected: the dip and the recovery"
        if _valued(transition)
        else "Cumulative cash: the dip and the recovery"
    )
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_enterprise_value(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Enterprise value per strategy with its 95% band: EBITDA of the last 12 months times the multiple at the
    recurring share (an assumed table, ``portfolio.finance.ev_multiples``); from month 11, a full year in."""
    ax = axes_or_new(ax, _transition_source(transition))
    if _valued(transition):
        _strategy_band(transition, "enterprise_value", ax)
        ax.axhline(0, color="black", lw=0.8)
        last = max(transition.scenario.horizon_months - 1, 1)
        ax.set_xlim(-0.05 * last, 1.05 * last)  # the other panels' months; the first year has no value
        ax.yaxis.set_major_formatter(
            money_formatter(transition.scenario.currency, transition.scenario.locale)
        )
        ax.legend(fontsize=8, loc="upper left")
    else:
        ax.text(
            0.5,
            0.5,
            "no valuation (portfolio.finance)",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=SOURCE_COLOR,
        )
    ax.set_title("Enterprise value: EBITDA (last 12 m) × assumed multiple", loc="left", fontsize=11)
    return ax


def plot_mrr_share(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Share of monthly revenue that is recurring (managed fees net of credits)."""
    ax = axes_or_new(ax, _transition_source(transition))
    _strategy_band(transition, "mrr_share", ax, scale=100.0)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of monthly revenue")
    ax.set_title("Recurring revenue share", loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_transition_revenue(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Monthly revenue per strategy with its 95% band (a narrow band means predictable revenue)."""
    ax = axes_or_new(ax, _transition_source(transition))
    _strategy_band(transition, "revenue", ax)
    ax.yaxis.set_major_formatter(money_formatter(transition.scenario.currency, transition.scenario.locale))
    ax.set_title("Monthly revenue", loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_clients(transition: TransitionResults, strategy: str, ax: Axes | None = None) -> Axes:
    """Clients per contract over time under one strategy (mean over replications), stacked; contracts in their
    colours."""
    ax = axes_or_new(ax, _transition_source(transition))
    m = transition.monthly[transition.monthly["strategy"] == strategy]
    columns = [c for c in m.columns if c.startswith("clients_") and m[c].any()]
    if columns:
        mean = m.groupby("month")[columns].mean()
        by_name = contract_colors(transition.scenario)
        colors = [by_name.get(c.removeprefix("clients_"), "#999999") for c in columns]
        ax.stackplot(
            mean.index,
            mean.to_numpy().T,
            labels=[c.removeprefix("clients_") for c in columns],
            colors=colors,
            alpha=0.85,
        )
        ax.legend(fontsize=8, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no clients", ha="center", va="center", transform=ax.transAxes, color=SOURCE_COLOR)
    ax.set_xlabel("month")
    ax.set_ylabel("clients")
    ax.set_title(f"Clients by contract: {strategy}", loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def transition_figure(transition: TransitionResults) -> Figure:
    """Cash, recurring share, revenue, and clients per contract for each strategy; with ``portfolio.finance`` the
    cash as collected and the enterprise value beside it."""
    strategies = transition.strategies
    valued = _valued(transition)
    panels = [plot_cash, plot_enterprise_value] if valued else [plot_cash]
    panels += [plot_mrr_share, plot_transition_revenue]
    first = len(panels) + 1  # the words, then one panel of clients per strategy
    rows = (first + len(strategies) + 1) // 2
    fig, grid = plt.subplots(rows, 2, figsize=(13, 4.0 * rows), layout="constrained", squeeze=False)
    axes = grid.ravel()
    for plot, ax in zip(panels, axes, strict=False):
        plot(transition, ax)
    words = axes[len(panels)]
    s = transition.summary
    lows = s[s["metric"] == "lowest_cash"].set_index("strategy")["mean"]
    paybacks = s[s["metric"] == "payback_month"].set_index("strategy")["mean"]
    money = money_formatter(transition.scenario.currency, transition.scenario.locale)
    stay = next(
        (
            st.name
            for st in (transition.scenario.portfolio.strategies if transition.scenario.portfolio else [])
            if st.kind == "stay"
        ),
        None,
    )
    versus = f"'{stay}'" if stay else "zero"

    values = s[s["metric"] == "enterprise_value"].set_index("strategy")["mean"]

    def line(name: str) -> str:
        text = f"{name}: lowest {'cash' if valued else 'cumulative cash'} {money(float(lows[name]))}"
        if name != stay:
            if np.isfinite(paybacks[name]):
                text += f"; catches up with {versus} by month {paybacks[name]:.0f} (mean)"
            else:
                text += f"; does not catch up with {versus} in {transition.scenario.horizon_months} months"
        if name in values.index and np.isfinite(values[name]):
            text += f"\n    enterprise value at the end {money(float(values[name]))} (assumed multiples)"
        return text

    text = "\n".join(line(name) for name in strategies)
    words.axis("off")
    words.text(0.0, 1.0, text, va="top", ha="left", fontsize=10, parse_math=False, transform=words.transAxes)
    for ax, name in zip(axes[first:], strategies, strict=False):
        plot_clients(transition, name, ax)
    for ax in axes[first + len(strategies) :]:
        ax.set_visible(False)
    finals = s[s["metric"] == "final_cash"].set_index("strategy")["mean"].dropna()
    if finals.empty:
        title = "Moving to managed services: cumulative cash, recurring revenue and clients by strategy"
    else:
        best = str(finals.idxmax())
        title = (
            f"Moving to managed services: '{best}' ends {transition.scenario.horizon_months} months with the "
            f"most cash ({money(float(finals[best]))}), after a low of {money(float(lows[best]))}"
        )
    figure_title(fig, title)
    add_source(fig, _transition_source(transition))
    return fig
