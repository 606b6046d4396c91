"""The comparison of a run's contracts: what the client pays, what the provider earns, the downtime, the
three-panel figure, and the headlines that state the finding for the client and for the provider."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import (
    DOWNTIME_HATCH,
    add_source,
    axes_or_new,
    ci_whiskers,
    figure_title,
    finite_max,
    finite_min,
    format_money,
    money_formatter,
    money_labels,
    palette_colors,
    panel_title,
    run_source,
    set_ylim,
    style_columns,
)

if TYPE_CHECKING:
    from simulator.studies.run import Results

__all__ = [
    "comparison_figure",
    "efficiency_headline",
    "headline",
    "plot_client_cost",
    "plot_downtime",
    "plot_provider_profit",
    "provider_headline",
    "unstable_caveat",
]


def _per_month(results: Results, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and CI bounds of a horizon total, per measured month, in contract order."""
    t = results.table(metric)
    months = results.scenario.measured_months
    return (t["mean"].to_numpy() / months, t["ci_low"].to_numpy() / months, t["ci_high"].to_numpy() / months)


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


def plot_client_cost(results: Results, ax: Axes | None = None) -> Axes:
    """The client's monthly cost: fees net of SLA credits (solid) plus downtime (hatched), credits received drawn
    below zero, with the 95% CI of the total."""
    shown = results.scenario.label_of
    ax = axes_or_new(ax, run_source(results, "Whiskers: 95% confidence intervals."))
    names = results.contracts
    x = np.arange(len(names))
    currency, locale = results.scenario.currency, results.scenario.locale
    fees, _, _ = _per_month(results, "client_fees")
    down, _, _ = _per_month(results, "client_downtime_cost")
    credits, _, _ = _per_month(results, "sla_credits")
    total, lo, hi = _per_month(results, "client_total_cost")
    colors = palette_colors(len(names))
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
    top = finite_max(hi, total)
    visible = finite_max(credits) > 0.01 * top
    if visible:
        ax.bar(x, -credits, color="white", edgecolor=colors, hatch="..", lw=1, label="SLA credits received")
    ci_whiskers(ax, total, lo, hi, money_labels(list(total), currency, locale), bold=True)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(money_formatter(currency, locale))
    ax.set_ylabel("per month, all clients")
    best, runner, significant = _ranked(results, "client_total_cost", lowest=True)
    if runner is None:
        title = f"Client: {format_money(total[0], currency, locale=locale)} per month, downtime included"
    elif significant:
        title = f"Client: {shown(best)} costs least, downtime included"
    else:
        title = f"Client: {shown(best)} and {shown(runner)} cost about the same"
    panel_title(ax, title)
    low = -finite_max(credits) * 1.4 if visible else 0.0
    set_ylim(ax, low, top * 1.3)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    style_columns(ax, [shown(n) for n in names])
    return ax


def plot_provider_profit(results: Results, ax: Axes | None = None) -> Axes:
    """The provider's monthly revenue (light), service delivery cost (grey), overhead (hatched on the cost) and net
    profit (solid, with its 95% CI) per contract."""
    shown = results.scenario.label_of
    ax = axes_or_new(ax, run_source(results, "Whiskers: 95% confidence intervals."))
    names = results.contracts
    x = np.arange(len(names))
    currency, locale = results.scenario.currency, results.scenario.locale
    profit, lo, hi = _per_month(results, "provider_net_profit")
    revenue, _, _ = _per_month(results, "provider_revenue")
    cost, _, _ = _per_month(results, "provider_cost")
    overhead, _, _ = _per_month(results, "provider_overhead")
    colors = palette_colors(len(names))
    w = 0.26
    ax.bar(x - w, revenue, w, color=colors, alpha=0.4, label="revenue")
    ax.bar(x, cost, w, color="#999999", label="delivery cost")
    if np.any(overhead > 0):
        ax.bar(x, overhead, w, bottom=cost, color="white", edgecolor="#999999", hatch="//", label="overhead")
    ax.bar(x + w, profit, w, color=colors, edgecolor="black", lw=0.6, label="net profit")
    ci_whiskers(ax, profit, lo, hi, money_labels(list(profit), currency, locale), bold=True, x=x + w)
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_formatter(money_formatter(currency, locale))
    ax.set_ylabel("per month")
    best, runner, significant = _ranked(results, "provider_net_profit", lowest=False)
    margin = float(results.table("provider_net_margin")["mean"][best])
    if runner is None or significant:
        # No revenue, no margin (its mean is NaN).
        title = f"Provider: {shown(best)} earns most" + (
            f" ({margin:.0%} net margin after overhead)" if np.isfinite(margin) else ""
        )
    else:
        title = f"Provider: {shown(best)} and {shown(runner)} earn about the same"
    panel_title(ax, title)
    set_ylim(
        ax, min(0.0, finite_min(lo, profit) * 1.2), finite_max(revenue, hi, profit, cost + overhead) * 1.25
    )
    ax.legend(fontsize=8, loc="upper left", framealpha=0.9, ncol=2)
    style_columns(ax, [shown(n) for n in names])
    return ax


def _spread(n: int) -> np.ndarray:
    """Deterministic horizontal offsets for a strip of ``n`` points (golden-ratio sequence)."""
    return ((np.arange(n) * 0.6180339887) % 1.0 - 0.5) * 0.35


def plot_downtime(results: Results, ax: Axes | None = None) -> Axes:
    """Lost working hours per user and year: each replication a dot, the box its quartiles, the label the mean."""
    shown = results.scenario.label_of
    ax = axes_or_new(ax, run_source(results, "Dots: replications; boxes: quartiles; labels: means."))
    names = results.contracts
    reps = results.replications
    values = [reps.loc[reps["contract"] == n, "downtime_hours_per_user_year"].to_numpy(float) for n in names]
    colors = palette_colors(len(names))
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
    set_ylim(ax, 0.0, finite_max(*values, default=1.0) * 1.18)
    ax.set_ylabel("hours per user per year")
    means = results.table("downtime_hours_per_user_year")["mean"]
    if len(names) > 1:
        title = f"Downtime: {means.min():.0f} h per user-year under {shown(str(means.idxmin()))} vs {means.max():.0f} h"
    else:
        title = f"Downtime: {means.iloc[0]:.0f} h per user-year"
    panel_title(ax, title)
    style_columns(ax, [shown(n) for n in names])
    return ax


def unstable_caveat(results: Results, names: list[str]) -> str:
    """The clause a headline naming ``names`` adds for those of them whose queue does not keep up (see
    :func:`simulator.metrics.unstable_contracts`): '' when every one keeps up."""
    shown = results.scenario.label_of
    from simulator.metrics import unstable_contracts

    found = {u.contract: u for u in unstable_contracts(results.scenario, results.summary)}
    hit = [found[name] for name in dict.fromkeys(names) if name in found]
    if not hit:
        return ""
    if len(hit) > 1 and len({u.meaning for u in hit}) == 1:
        reasons = ", ".join(f"{shown(u.contract)}: {u.reason}" for u in hit)
        both = "neither keeps up" if len(hit) == 2 else "none of them keeps up"
        return f"; but {both} ({reasons}): their figures describe {hit[0].meaning}"
    return "".join(
        f"; but {shown(u.contract)} does not keep up ({u.reason}): its figures describe {u.meaning}"
        for u in hit
    )


def _significance(row: Any, months: int) -> tuple[float, float, bool]:
    """A paired difference's 95% interval per month and whether it excludes zero (without an interval, as from
    one replication: not significant)."""
    lo, hi = float(row["ci_low"]) / months, float(row["ci_high"]) / months
    return lo, hi, bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def _not_significant(results: Results, row: Any, sign: float) -> str:
    """Why two contracts read as about the same: the paired difference per month (``sign`` turns it the way the
    sentence reads), its 95% interval, and about how many replications would likely separate them."""
    from simulator.studies.run import replications_to_separate

    months = results.scenario.measured_months
    mean = sign * float(row["mean"]) / months
    lo, hi = sorted((sign * float(row["ci_low"]) / months, sign * float(row["ci_high"]) / months))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "one replication: no interval"
    gap, gap_lo, gap_hi = _amounts(results, mean, lo, hi)
    text = f"difference {gap}, 95% CI {gap_lo} to {gap_hi}: not significant"
    needed = replications_to_separate(float(row["mean"]), float(row["std"]))
    n = int(row["n"])
    if needed is None:
        return text + "; no number of replications would separate them"
    if needed > 100 * n:
        return text + f"; even {100 * n:,} replications would likely not separate them"
    return text + f"; about {needed:,} replications (now {n:,}) would likely separate them"


def _amounts(results: Results, *values: float) -> list[str]:
    """Amounts shown in one sentence, in the scenario's currency and locale, never two distinct ones alike."""
    s = results.scenario
    return money_labels([float(v) for v in values], s.currency, s.locale)


def headline(results: Results) -> str:
    """One sentence stating the finding for the client, with the paired difference's 95% CI, and whether the
    contracts it names keep up with their work."""
    return _lowest(
        results,
        "client_total_cost",
        (
            "costs the client least",
            "cost the client about the same",
            "per month for the client, fees and downtime together",
        ),
        "including downtime",
    )


def efficiency_headline(results: Results) -> str:
    """One sentence stating which contract uses the fewest real resources: the lowest social cost (the
    provider's service delivery cost plus the client's downtime; what the client pays the provider cancels
    out), with the paired difference's 95% CI."""
    return _lowest(
        results,
        "social_cost",
        (
            "uses the fewest real resources",
            "use about the same real resources",
            "per month of provider delivery cost and client downtime",
        ),
        "of provider delivery cost and client downtime",
    )


def _lowest(results: Results, metric: str, words: tuple[str, str, str], what: str) -> str:
    """The contract lowest on ``metric`` per month, by how much against the next, its 95% CI, or why the two read
    as about the same; ``words``: (lowest, about the same, the amount's words when there is one contract)."""
    shown = results.scenario.label_of
    from simulator.studies.run import paired_differences

    least, same, alone = words
    months = results.scenario.measured_months
    total = results.table(metric)["mean"] / months
    best = str(total.idxmin())
    money = partial(_amounts, results)

    others = total.drop(best)
    if others.empty:
        return f"{shown(best)}: {money(total[best])[0]} {alone}" + unstable_caveat(results, [best])
    runner_up = str(others.idxmin())
    diff = paired_differences(results.replications, best)
    row = diff[(diff["contract"] == runner_up) & (diff["metric"] == metric)].iloc[0]
    lo, hi, significant = _significance(row, months)
    caveat = unstable_caveat(results, [best, runner_up])
    if not significant:
        first, second = money(total[best], total[runner_up])
        return (
            f"{shown(best)} and {shown(runner_up)} {same}: {first} vs {second}/month {what} "
            f"({_not_significant(results, row, -1.0)})" + caveat
        )
    gap, gap_lo, gap_hi = money(float(row["mean"]) / months, lo, hi)
    return (
        f"{shown(best)} {least}: {money(total[best])[0]}/month {what}, "
        f"{gap} less than {shown(runner_up)} (95% CI {gap_lo} to {gap_hi})" + caveat
    )


def provider_headline(results: Results) -> str:
    """One sentence stating the finding for the provider: the most profitable contract, by how much, and how
    predictable its revenue is."""
    shown = results.scenario.label_of
    from simulator.studies.run import paired_differences

    months = results.scenario.measured_months
    money = partial(_amounts, results)

    profit = results.table("provider_net_profit")["mean"] / months
    cv = results.table("revenue_monthly_cv")["mean"]
    best = str(profit.idxmax())
    text = f"{shown(best)} earns the provider most: {money(profit[best])[0]}/month net profit"
    named = [best]
    others = profit.drop(best)
    if not others.empty:
        runner = str(others.idxmax())
        diff = paired_differences(results.replications, runner)
        row = diff[(diff["contract"] == best) & (diff["metric"] == "provider_net_profit")].iloc[0]
        lo, hi, significant = _significance(row, months)
        if significant:
            gap, gap_lo, gap_hi = money(float(row["mean"]) / months, lo, hi)
            text += f", {gap} more than {shown(runner)} (95% CI {gap_lo} to {gap_hi})"
        else:
            first, second = money(profit[best], profit[runner])
            text = (
                f"{shown(best)} and {shown(runner)} earn the provider about the same: {first} vs {second}/month "
                f"({_not_significant(results, row, 1.0)})"
            )
        named.append(runner)
    if np.isfinite(cv[best]):
        text += f"; its monthly revenue varies by ±{cv[best]:.0%}"
        steadiest = str(cv.idxmin())
        if steadiest != best and np.isfinite(cv[steadiest]):
            text += f" ({shown(steadiest)}: ±{cv[steadiest]:.0%})"
    return text + unstable_caveat(results, named)


def comparison_figure(results: Results) -> Figure:
    """The three-panel comparison: client cost, provider revenue/cost/profit, downtime; the title states the
    finding for the client."""
    shown = results.scenario.label_of
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.4), layout="constrained")
    plot_client_cost(results, axes[0])
    plot_provider_profit(results, axes[1])
    plot_downtime(results, axes[2])
    figure_title(fig, headline(results))
    from simulator.metrics import unstable_contracts

    add_source(
        fig,
        run_source(results, "Bars are means, whiskers 95% confidence intervals; money per month."),
        *(
            f"{shown(u.contract)} does not keep up ({u.reason}): its figures describe {u.meaning}."
            for u in unstable_contracts(results.scenario, results.summary)
        ),
    )
    return fig
