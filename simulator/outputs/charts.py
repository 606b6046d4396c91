"""Charts, one look for all: matplotlib lives here only (DESIGN.md §7).

Every plot function takes ``ax=None`` (a new figure with a source line when None) and returns the Axes. Colours
are Okabe–Ito (colour-blind safe); a contract keeps its colour, by scenario order, on every chart; migration
strategies get their own colours and line styles. Titles state the finding; money is shown in the scenario's
currency, durations in hours.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from scipy import stats

from .tables import CURRENCY_SYMBOLS

if TYPE_CHECKING:
    from simulator.config import Scenario
    from simulator.studies.incentives import IncentiveResults
    from simulator.studies.run import Results
    from simulator.studies.transition import TransitionResults

__all__ = [
    "PALETTE",
    "STRATEGY_PALETTE",
    "break_even_figure",
    "comparison_figure",
    "contract_colors",
    "format_hours",
    "format_money",
    "headline",
    "incentives_figure",
    "incentives_headline",
    "plot_break_even",
    "plot_cash",
    "plot_client_cost",
    "plot_clients",
    "plot_downtime",
    "plot_incentive_curve",
    "plot_misalignment",
    "plot_mrr_share",
    "plot_provider_profit",
    "plot_revenue_band",
    "plot_ticket_times",
    "plot_tornado",
    "plot_transition_revenue",
    "provider_headline",
    "revenue_figure",
    "service_figure",
    "service_headline",
    "share_within",
    "source_line",
    "tornado_figure",
    "transition_figure",
    "unstable_caveat",
]

# Okabe–Ito, colour-blind safe; one colour per contract, in scenario order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Strategies of a transition are not contracts: black first, then colours contracts rarely use, and line styles.
STRATEGY_PALETTE = ("#000000", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
STRATEGY_STYLES = ("-", "--", "-.", ":")
# Line styles for contracts where lines of equal contracts can overlap (break/fix variants share their tickets).
CONTRACT_STYLES: tuple[Any, ...] = ("-", (0, (4, 2)), "-", (0, (4, 2)), "-")
CONTRACT_WIDTHS = (2.8, 1.6, 2.0, 1.6, 2.0)
DOWNTIME_HATCH = "///"
SOURCE_COLOR = "dimgrey"


def contract_colors(scenario: Scenario) -> dict[str, str]:
    """Each contract's colour, by scenario order: the same on every chart of the scenario."""
    return {c.name: PALETTE[i % len(PALETTE)] for i, c in enumerate(scenario.contracts)}


def format_money(value: float, currency: str, precise: bool = False) -> str:
    """Money for people: $12k, $1.2M, −$340, or 12k CHF for currencies without a symbol; ``precise`` keeps
    one decimal in thousands; – when there is no number (NaN)."""
    if not np.isfinite(value):
        return "–"
    symbol = CURRENCY_SYMBOLS.get(currency, "")
    sign = "−" if value < 0 else ""
    x = abs(value)
    if x >= 1e6:
        text = f"{x / 1e6:.2f}M" if precise else f"{x / 1e6:.1f}M"
    elif x >= 1e3:
        text = f"{x / 1e3:.1f}k" if precise else f"{x / 1e3:.0f}k"
    else:
        text = f"{x:.0f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def format_hours(value: float) -> str:
    """A duration for people: minutes below an hour, then hours."""
    if not np.isfinite(value):
        return "–"
    if value < 1:
        return f"{value * 60:.0f} min"
    return f"{value:.1f} h" if value < 10 else f"{value:,.0f} h"


def _tick_hours(value: float) -> str:
    return f"{value * 60:g} min" if value < 1 else f"{value:g} h"


def _money(currency: str) -> FuncFormatter:
    return FuncFormatter(lambda x, _pos=None: format_money(x, currency))


def source_line(scenario: Scenario, replications: int | None = None, what: str = "") -> str:
    """The line under every chart: where the numbers come from."""
    text = f"Source: msp-sim, scenario '{scenario.name}', seed {scenario.seed}"
    if replications:
        text += f", {replications} replications of {scenario.measured_months} measured months"
    return text + (f". {what}" if what else ".")


def _add_source(fig: Figure, *lines: str, y: float = -0.01) -> None:
    """The source line, and any notes after it, in small grey type under the figure (empty lines left out)."""
    text = "\n".join(line for line in lines if line)
    fig.text(0.01, y, text, fontsize=8, color=SOURCE_COLOR, ha="left", va="top", parse_math=False)


def _axes(ax: Axes | None, source: str | None = None, size: tuple[float, float] = (6.4, 4.4)) -> Axes:
    """``ax``, or a new figure's axes carrying the source line."""
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        if source:
            _add_source(fig, source)
    return ax


def _n(results: Results) -> int:
    return int(results.replications["replication"].nunique())


def _source(results: Results, what: str = "") -> str:
    return source_line(results.scenario, _n(results), what)


def _per_month(results: Results, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and CI bounds of a horizon total, per measured month, in contract order."""
    t = results.table(metric)
    months = results.scenario.measured_months
    return (t["mean"].to_numpy() / months, t["ci_low"].to_numpy() / months, t["ci_high"].to_numpy() / months)


def _style(ax: Axes, names: list[str]) -> None:
    ax.set_xticks(range(len(names)), [n.replace("-", "\n", 1) for n in names], fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _colors(n: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def _finite_max(*values: Any, default: float = 0.0) -> float:
    """The largest finite number among ``values`` (arrays or scalars), or ``default`` when there is none."""
    x = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if values else np.zeros(0)
    x = x[np.isfinite(x)]
    return float(x.max()) if len(x) else default


def _finite_min(*values: Any, default: float = 0.0) -> float:
    """The smallest finite number among ``values``, or ``default`` when there is none."""
    return -_finite_max(*(-np.asarray(v, dtype=float) for v in values), default=-default)


def _set_ylim(ax: Axes, low: float, high: float) -> None:
    """Vertical limits that matplotlib accepts: an empty range (every value zero) becomes one unit tall."""
    ax.set_ylim(low, high if high > low else low + 1.0)


def _title(ax: Axes, text: str, size: float = 11, width: int = 50) -> None:
    """A panel title stating the finding, wrapped to stay over its panel."""
    ax.set_title(textwrap.fill(text, width), loc="left", fontsize=size, parse_math=False)


def _suptitle(fig: Figure, text: str, size: float = 13, width: int = 125) -> None:
    fig.suptitle(
        textwrap.fill(text, width), fontsize=size, fontweight="bold", x=0.01, ha="left", parse_math=False
    )


def _ci(
    ax: Axes,
    mean: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    labels: list[str] | None = None,
    bold: bool = False,
    x: np.ndarray | None = None,
) -> None:
    """95% CI whiskers at each contract, with an optional label above each."""
    x = np.arange(len(mean)) if x is None else x
    ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="none", ecolor="black", capsize=4, lw=1.1)
    top = np.where(np.isfinite(hi), hi, mean)  # one replication has no interval: the label sits on the bar
    for xi, text in zip(x, labels or [], strict=False):
        ax.annotate(
            text,
            (xi, top[list(x).index(xi)]),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=8.5,
            fontweight="bold" if bold else "normal",
        )


def _ranked(results: Results, metric: str, lowest: bool) -> tuple[str, str | None, bool]:
    """The best contract on a metric, the runner-up, and whether their paired difference is significant."""
    from simulator.studies.run import paired_differences

    mean = results.table(metric)["mean"]
    best = str(mean.idxmin() if lowest else mean.idxmax())
    others = mean.drop(best)
    if others.empty:
        return best, None, False
    runner = str(others.idxmin() if lowest else others.idxmax())
    diff = paired_differences(results.replications, best)
    row = diff[(diff["contract"] == runner) & (diff["metric"] == metric)]
    if row.empty or not np.isfinite(row["ci_low"].iloc[0]):
        return best, runner, False
    lo, hi = float(row["ci_low"].iloc[0]), float(row["ci_high"].iloc[0])
    return best, runner, lo > 0 or hi < 0


# ----------------------------------------------------------------------------------------------- run results


def plot_client_cost(results: Results, ax: Axes | None = None) -> Axes:
    """The client's monthly cost: fees net of SLA credits (solid) plus downtime (hatched), credits received drawn
    below zero, with the 95% CI of the total."""
    ax = _axes(ax, _source(results, "Whiskers: 95% confidence intervals."))
    names = results.contracts
    x = np.arange(len(names))
    currency = results.scenario.currency
    fees, _, _ = _per_month(results, "client_fees")
    down, _, _ = _per_month(results, "client_downtime_cost")
    credits, _, _ = _per_month(results, "sla_credits")
    total, lo, hi = _per_month(results, "client_total_cost")
    colors = _colors(len(names))
    ax.bar(x, fees, color=colors, label="fees (net of SLA credits)")
    ax.bar(
        x,
        down,
        bottom=fees,
        color=colors,
        alpha=0.35,
        hatch=DOWNTIME_HATCH,
        edgecolor="white",
        label="downtime and staff time lost",
    )
    top = _finite_max(hi, total)
    visible = _finite_max(credits) > 0.01 * top
    if visible:
        ax.bar(x, -credits, color="white", edgecolor=colors, hatch="..", lw=1, label="SLA credits received")
    _ci(ax, total, lo, hi, [format_money(t, currency) for t in total], bold=True)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(_money(currency))
    ax.set_ylabel("per month, all clients")
    best, runner, significant = _ranked(results, "client_total_cost", lowest=True)
    if runner is None:
        title = f"Client: {format_money(total[0], currency)} per month, downtime included"
    elif significant:
        title = f"Client: {best} costs least, downtime included"
    else:
        title = f"Client: {best} and {runner} cost about the same"
    _title(ax, title)
    low = -_finite_max(credits) * 1.4 if visible else 0.0
    _set_ylim(ax, low, top * 1.3)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    _style(ax, names)
    return ax


def plot_provider_profit(results: Results, ax: Axes | None = None) -> Axes:
    """The provider's monthly revenue (light), cost (grey) and profit (solid, with its 95% CI) per contract."""
    ax = _axes(ax, _source(results, "Whiskers: 95% confidence intervals."))
    names = results.contracts
    x = np.arange(len(names))
    currency = results.scenario.currency
    profit, lo, hi = _per_month(results, "provider_profit")
    revenue, _, _ = _per_month(results, "provider_revenue")
    cost, _, _ = _per_month(results, "provider_cost")
    colors = _colors(len(names))
    w = 0.26
    ax.bar(x - w, revenue, w, color=colors, alpha=0.4, label="revenue")
    ax.bar(x, cost, w, color="#999999", label="cost")
    ax.bar(x + w, profit, w, color=colors, edgecolor="black", lw=0.6, label="profit")
    _ci(ax, profit, lo, hi, [format_money(p, currency) for p in profit], bold=True, x=x + w)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(_money(currency))
    ax.set_ylabel("per month")
    best, runner, significant = _ranked(results, "provider_profit", lowest=False)
    margin = float(results.table("provider_margin")["mean"][best])
    if runner is None or significant:
        # No revenue, no margin (its mean is NaN).
        title = f"Provider: {best} earns most" + (f" ({margin:.0%} margin)" if np.isfinite(margin) else "")
    else:
        title = f"Provider: {best} and {runner} earn about the same"
    _title(ax, title)
    _set_ylim(ax, min(0.0, _finite_min(lo, profit) * 1.2), _finite_max(revenue, hi, profit) * 1.25)
    ax.legend(fontsize=8, loc="upper left", framealpha=0.9, ncol=3)
    _style(ax, names)
    return ax


def _spread(n: int) -> np.ndarray:
    """Deterministic horizontal offsets for a strip of ``n`` points (golden-ratio sequence)."""
    return ((np.arange(n) * 0.6180339887) % 1.0 - 0.5) * 0.35


def plot_downtime(results: Results, ax: Axes | None = None) -> Axes:
    """Lost working hours per user and year: each replication a dot, the box its quartiles, the label the mean."""
    ax = _axes(ax, _source(results, "Dots: replications; boxes: quartiles; labels: means."))
    names = results.contracts
    reps = results.replications
    values = [reps.loc[reps["contract"] == n, "downtime_hours_per_user_year"].to_numpy(float) for n in names]
    colors = _colors(len(names))
    box = ax.boxplot(
        values,
        positions=np.arange(len(names)),
        widths=0.5,
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "black"},
    )
    for patch, color in zip(box["boxes"], colors, strict=True):
        patch.set_facecolor(color)
        patch.set_alpha(0.35)
    for i, (v, color) in enumerate(zip(values, colors, strict=True)):
        ax.scatter(i + _spread(len(v)), v, s=12, color=color, edgecolor="white", lw=0.4, zorder=3)
        if len(v):
            ax.annotate(
                f"{np.mean(v):.0f} h",
                (i, float(np.max(v))),
                textcoords="offset points",
                xytext=(0, 5),
                ha="center",
                fontsize=9,
                fontweight="bold",
            )
    _set_ylim(ax, 0.0, _finite_max(*values, default=1.0) * 1.18)
    ax.set_ylabel("hours per user per year")
    means = results.table("downtime_hours_per_user_year")["mean"]
    if len(names) > 1:
        title = f"Downtime: {means.min():.0f} h per user-year under {means.idxmin()} vs {means.max():.0f} h"
    else:
        title = f"Downtime: {means.iloc[0]:.0f} h per user-year"
    _title(ax, title)
    _style(ax, names)
    return ax


def plot_revenue_band(results: Results, ax: Axes | None = None) -> Axes:
    """The provider's monthly revenue per contract: the median over replications and the band holding 80% of
    them (10th to 90th percentile); a narrow, flat band means predictable revenue."""
    ax = _axes(
        ax, _source(results, "Lines: medians over replications; bands: 10th–90th percentile."), (8, 4.4)
    )
    monthly = results.monthly
    colors = contract_colors(results.scenario)
    for name in results.contracts:
        g = monthly[monthly["contract"] == name].groupby("month")["provider_revenue"]
        q = g.quantile(np.array([0.1, 0.5, 0.9])).unstack()
        ax.plot(q.index, q[0.5], color=colors[name], lw=2, label=name)
        ax.fill_between(q.index, q[0.1], q[0.9], color=colors[name], alpha=0.2, lw=0)
    ax.yaxis.set_major_formatter(_money(results.scenario.currency))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("month")
    ax.set_ylabel("provider revenue per month")
    cv = results.table("revenue_monthly_cv")["mean"].dropna()
    if len(cv) > 1:
        title = (
            f"Revenue predictability: {cv.idxmin()} varies ±{cv.min():.0%} month to month, "
            f"{cv.idxmax()} ±{cv.max():.0%}"
        )
    else:
        title = "Monthly revenue"
    _title(ax, title)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.9, ncol=min(3, len(results.contracts)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)
    return ax


def revenue_figure(results: Results) -> Figure:
    """Monthly revenue with its band, on its own figure."""
    ax = plot_revenue_band(results)
    return ax.figure  # type: ignore[return-value]


def _targets(results: Results, measure: str, priority: str) -> dict[str, float]:
    """SLA targets [hours] of each managed contract for one measure and priority."""
    from simulator.contracts.terms import Managed

    out = {}
    for c in results.scenario.contracts:
        if isinstance(c, Managed):
            t = c.sla.targets[priority]  # type: ignore[index]
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
    ax = _axes(ax, _source(results, "Ticket times pooled over replications."))
    colors = contract_colors(results.scenario)
    targets = _targets(results, measure, priority)
    target = next(iter(targets.values()), None)
    from simulator.metrics import sla_clock, time_edges

    clock = "business hours" if sla_clock(results.scenario) == "business" else "clock hours"
    # The last bin is open (longer than the longest finite edge): a ticket there has no point on the curve.
    limit = format_hours(float(time_edges(results.scenario)[-2]))
    done = "answered" if measure == "response" else "resolved"
    drawn = tickets = False
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
            ax.plot([], [], label=f"{name}: none {done} within {limit}", **style)
            continue
        drawn = True
        label = name
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
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos=None: _tick_hours(x)))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos=None: f"{y:.0%}"))
    ax.set_xlabel(f"{measure} time [{clock}]", fontsize=9)
    ax.set_ylabel("share of tickets", fontsize=9)
    _title(ax, f"{priority} {measure}", 10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)
    return ax


def service_headline(results: Results) -> str:
    """One sentence on service: each contract's share of tickets answered within the SLA response targets."""
    from simulator.contracts.terms import PRIORITIES

    targets = {p: _targets(results, "response", p) for p in PRIORITIES}
    if not any(targets.values()):
        return "Ticket response and resolution times"
    parts = []
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
        parts.append(f"{name} {met / total:.0%}" if total else f"{name} no tickets")
    if not any(part.endswith("%") for part in parts):
        return "No tickets in the measured months"
    managed = next(iter(next(t for t in targets.values() if t)))
    return f"Tickets answered within the response targets of {managed}: " + ", ".join(parts)


def service_figure(results: Results) -> Figure:
    """Response (top) and resolution (bottom) time distributions per priority, against the SLA targets."""
    from simulator.contracts.terms import PRIORITIES

    fig, grid = plt.subplots(2, len(PRIORITIES), figsize=(16, 9.4), layout="constrained", squeeze=False)
    for row, measure in enumerate(("response", "resolution")):
        for col, p in enumerate(PRIORITIES):
            plot_ticket_times(results, measure, p, grid[row, col])
    fig.suptitle(
        service_headline(results), fontsize=13, fontweight="bold", x=0.01, ha="left", parse_math=False
    )
    _add_source(
        fig,
        _source(
            results,
            "Ticket times pooled over replications; dashed: SLA targets; break/fix "
            "contracts have none, the managed targets are drawn for comparison.",
        ),
    )
    return fig


def unstable_caveat(results: Results, names: list[str]) -> str:
    """The clause a headline naming ``names`` adds for those of them whose queue does not keep up (see
    :func:`simulator.metrics.unstable_contracts`): '' when every one keeps up."""
    from simulator.metrics import unstable_contracts

    found = {u.contract: u for u in unstable_contracts(results.scenario, results.summary)}
    hit = [found[name] for name in dict.fromkeys(names) if name in found]
    if not hit:
        return ""
    if len(hit) > 1 and len({u.meaning for u in hit}) == 1:
        reasons = ", ".join(f"{u.contract}: {u.reason}" for u in hit)
        both = "neither keeps up" if len(hit) == 2 else "none of them keeps up"
        return f"; but {both} ({reasons}): their figures describe {hit[0].meaning}"
    return "".join(
        f"; but {u.contract} does not keep up ({u.reason}): its figures describe {u.meaning}" for u in hit
    )


def _significance(row: Any, months: int) -> tuple[float, float, bool]:
    """A paired difference's 95% interval per month and whether it excludes zero (without an interval, as from
    one replication: not significant)."""
    lo, hi = float(row["ci_low"]) / months, float(row["ci_high"]) / months
    return lo, hi, bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def headline(results: Results) -> str:
    """One sentence stating the finding for the client, with the paired difference's 95% CI, and whether the
    contracts it names keep up with their work."""
    from simulator.studies.run import paired_differences

    months = results.scenario.measured_months
    total = results.table("client_total_cost")["mean"] / months
    best = str(total.idxmin())
    currency = results.scenario.currency

    def money(x: float) -> str:
        return format_money(x, currency)

    others = total.drop(best)
    if others.empty:
        return (
            f"{best}: {money(float(total[best]))} per month for the client, fees and downtime together"
            + unstable_caveat(results, [best])
        )
    runner_up = str(others.idxmin())
    diff = paired_differences(results.replications, best)
    row = diff[(diff["contract"] == runner_up) & (diff["metric"] == "client_total_cost")].iloc[0]
    lo, hi, significant = _significance(row, months)
    caveat = unstable_caveat(results, [best, runner_up])
    if not significant:
        why = "difference not significant" if np.isfinite(lo) else "one replication: no interval"
        return (
            f"{best} and {runner_up} cost the client about the same: {money(float(total[best]))} vs "
            f"{money(float(total[runner_up]))}/month including downtime ({why})" + caveat
        )
    return (
        f"{best} costs the client least: {money(float(total[best]))}/month including downtime, "
        f"{money(float(row['mean']) / months)} less than {runner_up} (95% CI {money(lo)} to {money(hi)})"
        + caveat
    )


def provider_headline(results: Results) -> str:
    """One sentence stating the finding for the provider: the most profitable contract, by how much, and how
    predictable its revenue is."""
    from simulator.studies.run import paired_differences

    months = results.scenario.measured_months
    currency = results.scenario.currency
    profit = results.table("provider_profit")["mean"] / months
    cv = results.table("revenue_monthly_cv")["mean"]
    best = str(profit.idxmax())
    text = f"{best} earns the provider most: {format_money(float(profit[best]), currency)}/month profit"
    named = [best]
    others = profit.drop(best)
    if not others.empty:
        runner = str(others.idxmax())
        diff = paired_differences(results.replications, runner)
        row = diff[(diff["contract"] == best) & (diff["metric"] == "provider_profit")].iloc[0]
        lo, hi, significant = _significance(row, months)
        if significant:
            text += (
                f", {format_money(float(row['mean']) / months, currency)} more than {runner} "
                f"(95% CI {format_money(lo, currency)} to {format_money(hi, currency)})"
            )
        else:
            why = "difference not significant" if np.isfinite(lo) else "one replication: no interval"
            text = (
                f"{best} and {runner} earn the provider about the same: {format_money(float(profit[best]), currency)}"
                f" vs {format_money(float(profit[runner]), currency)}/month ({why})"
            )
        named.append(runner)
    if np.isfinite(cv[best]):
        text += f"; its monthly revenue varies by ±{cv[best]:.0%}"
        steadiest = str(cv.idxmin())
        if steadiest != best and np.isfinite(cv[steadiest]):
            text += f" ({steadiest}: ±{cv[steadiest]:.0%})"
    return text + unstable_caveat(results, named)


def comparison_figure(results: Results) -> Figure:
    """The three-panel comparison: client cost, provider revenue/cost/profit, downtime; the title states the
    finding for the client."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.4), layout="constrained")
    plot_client_cost(results, axes[0])
    plot_provider_profit(results, axes[1])
    plot_downtime(results, axes[2])
    _suptitle(fig, headline(results))
    from simulator.metrics import unstable_contracts

    _add_source(
        fig,
        _source(results, "Bars are means, whiskers 95% confidence intervals; money per month."),
        *(
            f"{u.contract} does not keep up ({u.reason}): its figures describe {u.meaning}."
            for u in unstable_contracts(results.scenario, results.summary)
        ),
    )
    return fig


# ----------------------------------------------------------------------------------------------- transition


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


def plot_cash(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Cumulative cash per strategy with its 95% band: the dip of the switch and the recovery."""
    ax = _axes(ax, _transition_source(transition))
    _strategy_band(transition, "cash", ax)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(_money(transition.scenario.currency))
    ax.set_title("Cumulative cash: the dip and the recovery", loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_mrr_share(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Share of monthly revenue that is recurring (managed fees net of credits)."""
    ax = _axes(ax, _transition_source(transition))
    _strategy_band(transition, "mrr_share", ax, scale=100.0)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of monthly revenue")
    ax.set_title("Recurring revenue share", loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_transition_revenue(transition: TransitionResults, ax: Axes | None = None) -> Axes:
    """Monthly revenue per strategy with its 95% band (a narrow band means predictable revenue)."""
    ax = _axes(ax, _transition_source(transition))
    _strategy_band(transition, "revenue", ax)
    ax.yaxis.set_major_formatter(_money(transition.scenario.currency))
    ax.set_title("Monthly revenue", loc="left", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_clients(transition: TransitionResults, strategy: str, ax: Axes | None = None) -> Axes:
    """Clients per contract over time under one strategy (mean over replications), stacked; contracts in their
    colours."""
    ax = _axes(ax, _transition_source(transition))
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
    """Cash, recurring share, revenue, and clients per contract for each strategy."""
    strategies = transition.strategies
    rows = 2 + (len(strategies) + 1) // 2
    fig, grid = plt.subplots(rows, 2, figsize=(13, 4.0 * rows), layout="constrained", squeeze=False)
    axes = grid.ravel()
    plot_cash(transition, axes[0])
    plot_mrr_share(transition, axes[1])
    plot_transition_revenue(transition, axes[2])
    s = transition.summary
    lows = s[s["metric"] == "lowest_cash"].set_index("strategy")["mean"]
    paybacks = s[s["metric"] == "payback_month"].set_index("strategy")["mean"]
    money = _money(transition.scenario.currency)
    stay = next(
        (
            st.name
            for st in (transition.scenario.portfolio.strategies if transition.scenario.portfolio else [])
            if st.kind == "stay"
        ),
        None,
    )
    versus = f"'{stay}'" if stay else "zero"

    def line(name: str) -> str:
        text = f"{name}: lowest cumulative cash {money(float(lows[name]))}"
        if name == stay:
            return text
        if np.isfinite(paybacks[name]):
            return text + f"; catches up with {versus} by month {paybacks[name]:.0f} (mean)"
        return text + f"; does not catch up with {versus} in {transition.scenario.horizon_months} months"

    text = "\n".join(line(name) for name in strategies)
    axes[3].axis("off")
    axes[3].text(
        0.0, 1.0, text, va="top", ha="left", fontsize=10, parse_math=False, transform=axes[3].transAxes
    )
    for ax, name in zip(axes[4:], strategies, strict=False):
        plot_clients(transition, name, ax)
    for ax in axes[4 + len(strategies) :]:
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
    _suptitle(fig, title)
    _add_source(fig, _transition_source(transition))
    return fig


# ----------------------------------------------------------------------------------------------- incentives

PREVENTION = "prevention_hours_per_endpoint_month"


def plot_incentive_curve(incentives: IncentiveResults, contract: str, ax: Axes | None = None) -> Axes:
    """Provider profit (left axis) and social cost (right axis) against prevention hours for one contract, other
    levers at the provider's best response; the provider's and the socially best prevention marked."""
    ax = _axes(ax, source_line(incentives.scenario, what="Bands: 95% confidence intervals."))
    s = incentives.scenario
    names = [c.name for c in s.contracts]
    color = PALETTE[names.index(contract) % len(PALETTE)]
    curve = incentives.curves
    curve = curve[(curve["contract"] == contract) & (curve["lever"] == PREVENTION)].sort_values("value")
    money = _money(s.currency)
    best: Any = incentives.best_response.set_index(["contract", "role"])
    e_br = float(best.loc[(contract, "provider"), PREVENTION])
    e_so = float(best.loc[(contract, "social"), PREVENTION])
    if not curve.empty:
        x = curve["value"].to_numpy()
        ax.plot(x, curve["provider_profit"], color=color, lw=2, label="provider profit (left)")
        ax.fill_between(
            x, curve["provider_profit_ci_low"], curve["provider_profit_ci_high"], color=color, alpha=0.2
        )
        right = ax.twinx()
        right.plot(x, curve["social_cost"], color="dimgrey", lw=1.5, ls="--", label="social cost (right)")
        right.fill_between(
            x, curve["social_cost_ci_low"], curve["social_cost_ci_high"], color="grey", alpha=0.15
        )
        right.yaxis.set_major_formatter(money)
        right.spines[["top"]].set_visible(False)
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=8, loc="lower left", framealpha=0.9)
    ax.axvline(e_br, color=color, lw=1.2, ls=":")
    ax.axvline(e_so, color="black", lw=1.2, ls=":")
    ax.annotate(
        "provider's choice",
        (e_br, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(3, -12),
        textcoords="offset points",
        fontsize=8,
        color=color,
    )
    ax.annotate(
        "best for society",
        (e_so, 0.93),
        xycoords=("data", "axes fraction"),
        xytext=(3, -12),
        textcoords="offset points",
        fontsize=8,
    )
    ax.yaxis.set_major_formatter(money)
    ax.set_xlabel("prevention [hours per endpoint-month]")
    ax.set_title(f"{contract}: provider picks {e_br:.2f} h, society {e_so:.2f} h", loc="left", fontsize=10)
    ax.spines[["top"]].set_visible(False)
    ax.grid(alpha=0.3)
    return ax


def plot_misalignment(incentives: IncentiveResults, ax: Axes | None = None) -> Axes:
    """Welfare loss at each contract's best response against its social optimum, with its paired 95% CI."""
    ax = _axes(ax, source_line(incentives.scenario, what="Whiskers: paired 95% confidence intervals."))
    m = incentives.misalignment
    names = list(m["contract"])
    mean = m["welfare_loss"].to_numpy(dtype=float)
    lo = m["welfare_loss_ci_low"].to_numpy(dtype=float)
    hi = m["welfare_loss_ci_high"].to_numpy(dtype=float)
    ax.bar(np.arange(len(names)), mean, color=_colors(len(names)))
    money = _money(incentives.scenario.currency)
    extra = m["extra_downtime_user_hours"].to_numpy(dtype=float)
    labels = [
        (money(v) if np.isfinite(v) else "–") + (f"\n{d / 1000:+.1f}k user-h" if np.isfinite(d) else "")
        for v, d in zip(mean, extra, strict=True)
    ]
    _ci(ax, mean, lo, hi, labels)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(money)
    _set_ylim(ax, min(0.0, _finite_min(lo, mean) * 1.2), _finite_max(hi, mean) * 1.35)
    ax.set_ylabel(f"welfare loss over {incentives.scenario.measured_months} months")
    ax.set_title(
        "Welfare loss: social cost at the provider's choice minus the best\n(labels: and the extra downtime)",
        loc="left",
        fontsize=10,
    )
    _style(ax, names)
    return ax


def incentives_headline(incentives: IncentiveResults) -> str:
    """The chart's title: the contract whose provider's choices lose the most welfare (contracts whose loss could
    not be measured left out)."""
    m = incentives.misalignment
    known = m[np.isfinite(m["welfare_loss"].to_numpy(dtype=float))]
    if known.empty:
        return "Incentives: the provider's profit-maximising choices against the social optimum, per contract"
    worst = known.sort_values("welfare_loss").iloc[-1]
    return (
        f"Incentives: under {worst['contract']} the provider's profit-maximising choices cost "
        f"{_money(incentives.scenario.currency)(float(worst['welfare_loss']))} more than the social optimum"
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
    _add_source(
        fig,
        source_line(
            s,
            what="Curves hold the other levers at the provider's best response; bands and whiskers are 95% "
            "confidence intervals of the level (differences between lever values are paired on common random "
            "numbers and far tighter: see curves.csv and best_response.csv).",
        ),
    )
    return fig


# ----------------------------------------------------------------------------------------------- sweeps

if TYPE_CHECKING:
    import pandas as pd

    from simulator.studies.analysis import BreakEvenMap


OUTCOME_LABELS = {
    "client_saving": "client's saving per month",
    "provider_gain": "provider's extra profit per month",
}


def _param_label(name: str) -> str:
    """A dotted path as an axis label: the field in words, then where it is."""
    parts = name.split(".")
    field = parts[-1].replace("_", " ")
    return field if len(parts) == 1 else f"{field} ({'.'.join(parts[:-1])})"


def _number(value: float) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def plot_tornado(
    table: pd.DataFrame,
    ax: Axes | None = None,
    currency: str = "USD",
    contract: str = "the contract",
    reference: str = "the reference",
) -> Axes:
    """Tornado chart of an outcome's drivers (from :func:`simulator.analysis.tornado`): per parameter, the
    outcome at its low end (orange) and high end (blue) against the average over the sweep, with 95%
    intervals; the largest swing on top."""
    ax = _axes(ax)
    money = _money(currency)
    rows = table.iloc[::-1].reset_index(drop=True)
    y = np.arange(len(rows))
    base = float(rows["baseline"].iloc[0]) if len(rows) else 0.0
    low_color, high_color = PALETTE[1], PALETTE[0]
    drawn = False
    for yi, r in zip(y, rows.to_dict("records"), strict=True):
        for end, color in (("low", low_color), ("high", high_color)):
            value = float(r[f"at_{end}"])
            if not (np.isfinite(value) and np.isfinite(base)):  # no points at that end: no bar
                continue
            drawn = True
            ax.barh(yi, value - base, left=base, height=0.6, color=color, alpha=0.85)
            se = float(r[f"at_{end}_se"])
            if np.isfinite(se):
                ax.errorbar(value, yi, xerr=1.96 * se, fmt="none", ecolor="black", capsize=3, lw=1)
            ax.annotate(
                _number(float(r[f"{end}_value"])),
                (value, yi),
                textcoords="offset points",
                xytext=(6 if value >= base else -6, 7),
                ha="left" if value >= base else "right",
                fontsize=8,
                color=color,
                fontweight="bold",
            )
    if np.isfinite(base):
        ax.axvline(base, color="black", lw=1)
    if not drawn:
        ax.text(
            0.5,
            0.5,
            "no outcome to show",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=SOURCE_COLOR,
        )
    if drawn:
        span = np.r_[rows["at_low"], rows["at_high"], base]
        if _finite_min(span) < 0 < _finite_max(span):
            ax.axvline(0, color="dimgrey", lw=1, ls="--")
            ax.annotate(
                "break-even",
                (0, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -10),
                textcoords="offset points",
                fontsize=8,
                color="dimgrey",
            )
    ax.set_yticks(y, [_param_label(p) for p in rows["parameter"]] if len(rows) else [], fontsize=9)
    ax.xaxis.set_major_formatter(_money_fine(currency, ax))
    outcome = str(rows["outcome"].iloc[0]) if len(rows) else "client_saving"
    ax.set_xlabel(f"{OUTCOME_LABELS.get(outcome, outcome)}: {contract} vs {reference}")
    ax.set_title(
        f"What drives the {OUTCOME_LABELS.get(outcome, outcome)} (average {money(base)})",
        loc="left",
        fontsize=11,
    )
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=low_color, label="parameter at its low end"),
            Patch(color=high_color, label="parameter at its high end"),
        ],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def _money_fine(currency: str, ax: Axes) -> FuncFormatter:
    """Like ``_money``, with one decimal in thousands when the axis spans under 10k (no repeated labels)."""
    coarse = _money(currency)
    lo, hi = ax.get_xlim()
    if abs(hi - lo) >= 1e4 or max(abs(lo), abs(hi)) < 1e3:
        return coarse
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")

    def fmt(x: float, _pos: int | None = None) -> str:
        sign = "−" if x < 0 else ""
        text = f"{abs(x) / 1e3:.1f}k"
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"

    return FuncFormatter(fmt)


def _diverging() -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    # Okabe-Ito orange (the reference wins) through white to blue (the contract wins).
    return LinearSegmentedColormap.from_list("okabe_ito_diverging", [PALETTE[1], "#FFFFFF", PALETTE[0]])


def plot_break_even(
    be: BreakEvenMap, outcome: str = "client_saving", ax: Axes | None = None, annotate: bool | None = None
) -> Axes:
    """Heatmap of an outcome over two swept parameters (from :func:`simulator.analysis.break_even`): blue
    where the contract wins, orange where the reference does. The solid line is the break-even (probability
    50% that the contract wins); the dashed (97.5%) and dotted (2.5%) lines bound its 95% band."""
    ax = _axes(ax)
    ax.set_facecolor("#D9D9D9")  # cells without points
    money = _money(be.currency)
    values = be.grid(outcome)
    prob = be.grid(f"{outcome}_p")
    limit = _finite_max(np.abs(values))
    limit = limit if limit > 0 else 1.0  # every cell zero (or none measured): zero still sits on white
    mesh = ax.pcolormesh(
        be.x_edges,
        be.y_edges,
        np.ma.masked_invalid(values),
        cmap=_diverging(),
        vmin=-limit,
        vmax=limit,
        shading="flat",
    )
    bar = ax.figure.colorbar(mesh, ax=ax, format=money, pad=0.02)
    bar.set_label(OUTCOME_LABELS.get(outcome, outcome), fontsize=9)
    from matplotlib.lines import Line2D

    handles = []
    if prob.shape[0] >= 2 and prob.shape[1] >= 2:
        xs, ys = np.meshgrid(be.x_centres, be.y_centres)
        p = np.ma.masked_invalid(prob)
        lowest, highest = _finite_min(prob, default=np.nan), _finite_max(prob, default=np.nan)
        if lowest < 0.5 < highest:
            ax.contour(xs, ys, p, levels=[0.5], colors="black", linewidths=2)
            handles.append(Line2D([], [], color="black", lw=2, label="break-even (50%)"))
        for level, style, text in (
            (0.975, "--", f"97.5%: {be.contract} wins, 95% sure"),
            (0.025, ":", f"2.5%: {be.reference} wins, 95% sure"),
        ):
            if lowest < level < highest:
                ax.contour(xs, ys, p, levels=[level], colors="black", linewidths=1.2, linestyles=style)
                handles.append(Line2D([], [], color="black", lw=1.2, ls=style, label=text))
    if annotate if annotate is not None else values.size <= 30:
        for (iy, ix), v in np.ndenumerate(values):
            if np.isfinite(v):
                dark = abs(v) > 0.6 * limit
                ax.annotate(
                    money(float(v)),
                    (be.x_centres[ix], be.y_centres[iy]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    if handles:
        ax.legend(
            handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=2, frameon=False
        )
    ax.set_xlabel(_param_label(be.x), fontsize=9)
    ax.set_ylabel(_param_label(be.y), fontsize=9)
    if outcome == "client_saving":
        title = f"Client: {be.contract} cheaper than {be.reference} (blue)"
    elif outcome == "provider_gain":
        title = f"Provider: {be.contract} more profitable than {be.reference} (blue)"
    else:
        title = OUTCOME_LABELS.get(outcome, outcome)
    ax.set_title(title, loc="left", fontsize=10)
    return ax


def break_even_figure(be: BreakEvenMap, title: str | None = None, source: str = "") -> Figure:
    """The client's and the provider's break-even maps side by side (a Figure not managed by pyplot), with
    ``source`` (e.g. :attr:`SweepAnalysis.source`) as the first line of the note under it."""
    fig = Figure(figsize=(14, 6.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot_break_even(be, "client_saving", left)
    plot_break_even(be, "provider_gain", right)
    fig.suptitle(
        title or f"Where {be.contract} beats {be.reference}, for the client and for the provider",
        fontsize=12,
        fontweight="bold",
        x=0.01,
        ha="left",
        parse_math=False,
    )
    _add_source(
        fig,
        source,
        "Cells average the sweep's points (other parameters vary within a cell); money per month, paired by "
        "replication on common random numbers; grey: no points.\nLines: the probability that the contract "
        "wins is 50% (solid: break-even), 97.5% (dashed) or 2.5% (dotted); between the last two the sign is "
        "uncertain.",
        y=-0.02,
    )
    return fig


def tornado_figure(
    table: pd.DataFrame, currency: str, contract: str, reference: str, source: str = ""
) -> Figure:
    """The tornado chart on its own figure (not managed by pyplot), with ``source`` (e.g.
    :attr:`SweepAnalysis.source`) as the first line of the note under it."""
    fig = Figure(figsize=(10, 1.2 + 0.7 * max(len(table), 2)), layout="constrained")
    plot_tornado(table, fig.subplots(), currency=currency, contract=contract, reference=reference)
    _add_source(
        fig,
        source,
        "Low/high end: the lowest/highest level of a grid parameter, else its lowest/highest 20% of points; "
        "the other parameters average over the sweep. Whiskers: 95% intervals.",
        y=-0.02,
    )
    return fig
