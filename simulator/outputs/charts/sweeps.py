"""The charts of a sweep's analysis: the tornado of an outcome's drivers and the break-even map over two
parameters, for the client and for the provider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulator.outputs.money import DEFAULT_LOCALE

from .style import PALETTE, SOURCE_COLOR, add_source, axes_or_new, finite_max, finite_min, money_formatter

if TYPE_CHECKING:
    import pandas as pd

    from simulator.studies.analysis import BreakEvenMap

__all__ = [
    "OUTCOME_LABELS",
    "break_even_figure",
    "plot_break_even",
    "plot_tornado",
    "tornado_figure",
]

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
    locale: str = DEFAULT_LOCALE,
) -> Axes:
    """Tornado chart of an outcome's drivers (from :func:`simulator.analysis.tornado`): per parameter, the
    outcome at its low end (orange) and high end (blue) against the average over the sweep, with 95%
    intervals; the largest swing on top."""
    ax = axes_or_new(ax)
    rows = table.iloc[::-1].reset_index(drop=True)
    y = np.arange(len(rows))
    base = float(rows["baseline"].iloc[0]) if len(rows) else 0.0
    if tornado_bars(ax, rows, y):
        mark_break_even(ax, rows)
    else:
        ax.text(
            0.5,
            0.5,
            "no outcome to show",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=SOURCE_COLOR,
        )
    ax.set_yticks(y, [_param_label(p) for p in rows["parameter"]] if len(rows) else [], fontsize=9)
    ax.xaxis.set_major_formatter(money_formatter(currency, locale))
    outcome = str(rows["outcome"].iloc[0]) if len(rows) else "client_saving"
    ax.set_xlabel(f"{OUTCOME_LABELS.get(outcome, outcome)}: {contract} vs {reference}")
    ax.set_title(
        f"What drives the {OUTCOME_LABELS.get(outcome, outcome)} (average {money_formatter(currency, locale)(base)})",
        loc="left",
        fontsize=11,
    )
    tornado_legend(ax)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


_TORNADO_ENDS = (("low", PALETTE[1]), ("high", PALETTE[0]))


def tornado_bars(ax: Axes, rows: pd.DataFrame, y: np.ndarray) -> bool:
    """One bar per parameter end from the row's ``baseline`` to the outcome there, its 95% interval (``at_low_se``,
    ``at_high_se``, when given) and the parameter's value there (``low_text``/``high_text`` when given, else the
    number ``low_value``/``high_value``); each row's baseline as a line. Whether any bar was drawn."""
    drawn = False
    bases = set()
    for yi, r in zip(y, rows.to_dict("records"), strict=True):
        base = float(r["baseline"])
        if not np.isfinite(base):
            continue
        bases.add(base)
        # The longer bar first: when both ends lie on one side of the baseline, the shorter one stays visible.
        ends = sorted(_TORNADO_ENDS, key=lambda e: -abs(float(r[f"at_{e[0]}"]) - base))
        for end, color in ends:
            value = float(r[f"at_{end}"])
            if not np.isfinite(value):  # no points at that end: no bar
                continue
            drawn = True
            ax.barh(yi, value - base, left=base, height=0.6, color=color, alpha=0.85)
            se = float(r.get(f"at_{end}_se", np.nan))
            if np.isfinite(se):
                ax.errorbar(value, yi, xerr=1.96 * se, fmt="none", ecolor="black", capsize=3, lw=1)
            text = r.get(f"{end}_text")
            ax.annotate(
                str(text) if isinstance(text, str) else _number(float(r[f"{end}_value"])),
                (value, yi),
                textcoords="offset points",
                xytext=(6 if value >= base else -6, 7),
                ha="left" if value >= base else "right",
                fontsize=8,
                color=color,
                fontweight="bold",
            )
    if len(bases) == 1:
        ax.axvline(bases.pop(), color="black", lw=1)
    elif bases:  # each row its own baseline: a tick across its bars
        for yi, base in zip(y, rows["baseline"], strict=True):
            ax.plot([base, base], [yi - 0.4, yi + 0.4], color="black", lw=1.2)
    return drawn


def mark_break_even(ax: Axes, rows: pd.DataFrame, label: str = "break-even") -> None:
    """A dashed line at zero, named ``label``, when the bars cross it."""
    span = np.r_[rows["at_low"], rows["at_high"], rows["baseline"]]
    if finite_min(span) < 0 < finite_max(span):
        ax.axvline(0, color="dimgrey", lw=1, ls="--")
        ax.annotate(
            label,
            (0, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -10),
            textcoords="offset points",
            fontsize=8,
            color="dimgrey",
        )


def tornado_legend(ax: Axes, what: str = "parameter") -> None:
    """Which colour is which end of a parameter's range, beside the axes."""
    from matplotlib.patches import Patch

    (_, low_color), (_, high_color) = _TORNADO_ENDS
    ax.legend(
        handles=[
            Patch(color=low_color, label=f"{what} at its low end"),
            Patch(color=high_color, label=f"{what} at its high end"),
        ],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        frameon=False,
    )


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
    ax = axes_or_new(ax)
    ax.set_facecolor("#D9D9D9")  # cells without points
    money = money_formatter(be.currency, be.locale)
    values = be.grid(outcome)
    prob = be.grid(f"{outcome}_p")
    limit = finite_max(np.abs(values))
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
        lowest, highest = finite_min(prob, default=np.nan), finite_max(prob, default=np.nan)
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
    add_source(
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
    table: pd.DataFrame,
    currency: str,
    contract: str,
    reference: str,
    source: str = "",
    locale: str = DEFAULT_LOCALE,
) -> Figure:
    """The tornado chart on its own figure (not managed by pyplot), with ``source`` (e.g.
    :attr:`SweepAnalysis.source`) as the first line of the note under it."""
    fig = Figure(figsize=(10, 1.2 + 0.7 * max(len(table), 2)), layout="constrained")
    plot_tornado(
        table, fig.subplots(), currency=currency, contract=contract, reference=reference, locale=locale
    )
    add_source(
        fig,
        source,
        "Low/high end: the lowest/highest level of a grid parameter, else its lowest/highest 20% of points; "
        "the other parameters average over the sweep. Whiskers: 95% intervals.",
        y=-0.02,
    )
    return fig
