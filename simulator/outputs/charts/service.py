"""Service: how fast tickets are answered and resolved, per priority, against the managed contracts' SLA
targets, and the headline on the share answered within target."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simulator.contracts import PRIORITIES

from .style import (
    CONTRACT_STYLES,
    CONTRACT_WIDTHS,
    SOURCE_COLOR,
    add_source,
    axes_or_new,
    contract_colors,
    format_hours,
    panel_title,
    run_source,
    tick_hours,
)

if TYPE_CHECKING:
    from simulator.studies.run import Results

__all__ = ["plot_ticket_times", "service_figure", "service_headline", "share_within"]


def _targets(results: Results, measure: str, priority: str) -> dict[str, float]:
    """SLA targets [hours] of each contract with an SLA for one measure and priority."""
    out = {}
    for c in results.scenario.contracts:
        sla = c.sla_terms
        if sla is not None:
            t = sla.targets[priority]  # type: ignore[index]
            out[c.name] = t.response_hours if measure == "response" else t.resolution_hours
    return out


def _ecdf(
    results: Results, contract: str, measure: str, priority: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Upper bin edges and the share of tickets at most that long (``priority`` None: all priorities)."""
    t = results.times
    if t is None or t.empty:
        return np.array([]), np.array([])
    sel = (t["contract"] == contract) & (t["measure"] == measure)
    if priority is not None:
        sel &= t["priority"] == priority
    g = t[sel].groupby("upper_hours")["count"].sum().sort_index()
    total = float(g.sum())
    if total == 0:
        return np.array([]), np.array([])
    return g.index.to_numpy(float), g.cumsum().to_numpy(float) / total


def share_within(results: Results, contract: str, measure: str, priority: str, hours: float) -> float:
    """Share of a contract's measured tickets of one priority whose ``measure`` took at most ``hours``."""
    upper, share = _ecdf(results, contract, measure, priority)
    if not len(upper):
        return float("nan")
    below = upper <= hours + 2e-9
    return float(share[below][-1]) if below.any() else 0.0


def plot_ticket_times(
    results: Results, measure: str = "response", priority: str = "P1", ax: Axes | None = None
) -> Axes:
    """Distribution (cumulative share of tickets) of response or resolution times for one priority, per
    contract, against each managed contract's SLA target (dashed); the legend gives the share within target."""
    ax = axes_or_new(ax, run_source(results, "Ticket times pooled over replications."))
    colors = contract_colors(results.scenario)
    targets = _targets(results, measure, priority)
    target = next(iter(targets.values()), None)
    from simulator.metrics import sla_clock, time_edges

    clock = "business hours" if sla_clock(results.scenario) == "business" else "clock hours"
    # The last bin is open (longer than the longest finite edge): a ticket there has no point on the curve.
    limit = format_hours(float(time_edges(results.scenario)[-2]))
    done = "answered" if measure == "response" else "resolved"
    drawn = tickets = False
    shown = results.scenario.label_of
    for i, name in enumerate(results.contracts):
        upper, share = _ecdf(results, name, measure, priority)
        if not len(upper):
            continue
        tickets = True
        finite = np.isfinite(upper)
        style = {
            "color": colors[name],
            "ls": CONTRACT_STYLES[i % len(CONTRACT_STYLES)],
            "lw": CONTRACT_WIDTHS[i % len(CONTRACT_WIDTHS)],
        }
        if not finite.any():  # every ticket took longer: a legend entry, no line
            ax.plot([], [], label=f"{shown(name)}: none {done} within {limit}", **style)
            continue
        drawn = True
        label = shown(name)
        if target is not None:
            label += f": {share_within(results, name, measure, priority, target):.0%} within target"
        ax.step(
            np.r_[upper[finite][0] / 2, upper[finite]],
            np.r_[0.0, share[finite]],
            where="post",
            label=label,
            **style,
        )
    for name, hours in targets.items():
        ax.axvline(hours, color=colors[name], ls="--", lw=1.2)
        ax.annotate(
            f"target\n{format_hours(hours)}",
            (hours, 0.03),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=7.5,
            color=colors[name],
            va="bottom",
        )
    if tickets:
        ax.set_xscale("log")
        from matplotlib.ticker import FixedLocator

        ax.xaxis.set_major_locator(FixedLocator([1 / 60, 0.1, 1.0, 10.0, 100.0, 1000.0, 8760.0]))
    if tickets and not drawn:
        ax.set_xlim(1 / 60, 8760.0)
    if not drawn:
        text = f"no {priority} ticket {done} within {limit}" if tickets else f"no {priority} tickets"
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=SOURCE_COLOR)
    if tickets:
        ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(0.0, -0.2), frameon=False)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos=None: tick_hours(x)))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos=None: f"{y:.0%}"))
    ax.set_xlabel(f"{measure} time [{clock}]", fontsize=9)
    ax.set_ylabel("share of tickets", fontsize=9)
    panel_title(ax, f"{priority} {measure}", 10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)
    return ax


def service_headline(results: Results) -> str:
    """One sentence on service: each contract's share of tickets answered within the SLA response targets."""
    targets = {p: _targets(results, "response", p) for p in PRIORITIES}
    if not any(targets.values()):
        return "Ticket response and resolution times"
    parts = []
    shown = results.scenario.label_of
    for name in results.contracts:
        met = total = 0.0
        for p in PRIORITIES:
            t = results.times
            if t is None:
                continue
            n = float(
                t[(t["contract"] == name) & (t["measure"] == "response") & (t["priority"] == p)][
                    "count"
                ].sum()
            )
            if n:  # a priority without tickets adds nothing (its share is undefined)
                met += share_within(results, name, "response", p, next(iter(targets[p].values()))) * n
                total += n
        parts.append(f"{shown(name)} {met / total:.0%}" if total else f"{shown(name)} no tickets")
    if not any(part.endswith("%") for part in parts):
        return "No tickets in the measured months"
    managed = next(iter(next(t for t in targets.values() if t)))
    return f"Tickets answered within the response targets of {shown(managed)}: " + ", ".join(parts)


def service_figure(results: Results) -> Figure:
    """Response (top) and resolution (bottom) time distributions per priority, against the SLA targets."""
    fig, grid = plt.subplots(2, len(PRIORITIES), figsize=(16, 9.4), layout="constrained", squeeze=False)
    for row, measure in enumerate(("response", "resolution")):
        for col, p in enumerate(PRIORITIES):
            plot_ticket_times(results, measure, p, grid[row, col])
    fig.suptitle(
        service_headline(results), fontsize=13, fontweight="bold", x=0.01, ha="left", parse_math=False
    )
    add_source(
        fig,
        run_source(
            results,
            "Ticket times pooled over replications; dashed: SLA targets; break/fix "
            "contracts have none, the managed targets are drawn for comparison.",
        ),
    )
    return fig
