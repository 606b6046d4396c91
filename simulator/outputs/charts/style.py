"""The look every chart shares: the palettes, each contract's colour and line style, money and hour formats,
the source line under a figure, panel and figure titles, and the helpers that set up and finish an Axes."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

from simulator.outputs.money import DEFAULT_LOCALE, SIGNIFICANT_DIGITS, money, money_labels

if TYPE_CHECKING:
    from simulator.config import Scenario
    from simulator.studies.run import Results

__all__ = [
    "CONTRACT_STYLES",
    "CONTRACT_WIDTHS",
    "DOWNTIME_HATCH",
    "PALETTE",
    "SOURCE_COLOR",
    "STRATEGY_PALETTE",
    "STRATEGY_STYLES",
    "MoneyFormatter",
    "add_source",
    "axes_or_new",
    "ci_whiskers",
    "contract_colors",
    "figure_title",
    "finite_max",
    "finite_min",
    "format_hours",
    "format_money",
    "money_formatter",
    "money_labels",
    "palette_colors",
    "panel_title",
    "replication_count",
    "run_source",
    "set_ylim",
    "source_line",
    "style_columns",
    "tick_hours",
]

# Okabe–Ito, colour-blind safe; one colour per contract, in scenario order.
# Beyond eight contracts (a menu of offers), Paul Tol's muted colours, also colour-blind safe.
PALETTE = (
    *("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"),
    *("#882255", "#44AA99", "#999933", "#AA4499", "#888888"),
)
# Strategies of a transition are not contracts: black first, then colours contracts rarely use, and line styles.
STRATEGY_PALETTE = ("#000000", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
STRATEGY_STYLES = ("-", "--", "-.", ":")
# Line styles for contracts where lines of equal contracts can overlap (break/fix variants share their tickets).
CONTRACT_STYLES: tuple[Any, ...] = ("-", (0, (4, 2)), "-", (0, (4, 2)), "-")
CONTRACT_WIDTHS = (2.8, 1.6, 2.0, 1.6, 2.0)
DOWNTIME_HATCH = "///"
CROWDED = 6
"""More contracts than this and their names under the columns are slanted."""
SOURCE_COLOR = "dimgrey"


def contract_colors(scenario: Scenario) -> dict[str, str]:
    """Each contract's colour, by scenario order: the same on every chart of the scenario."""
    return {c.name: PALETTE[i % len(PALETTE)] for i, c in enumerate(scenario.contracts)}


def format_money(value: float, currency: str, precise: bool = False, locale: str = DEFAULT_LOCALE) -> str:
    """Money for people in the locale's compact style, three significant digits ($1.36K, $12.3K, −$340,
    1,2 Mio. €); ``precise`` keeps four; – when there is no number (NaN)."""
    return money(value, currency, locale, SIGNIFICANT_DIGITS + (1 if precise else 0))


def format_hours(value: float) -> str:
    """A duration for people: minutes below an hour, then hours."""
    if not np.isfinite(value):
        return "–"
    if value < 1:
        return f"{value * 60:.0f} min"
    return f"{value:.1f} h" if value < 10 else f"{value:,.0f} h"


def tick_hours(value: float) -> str:
    """An axis tick for a duration [hours]: minutes below an hour, then hours, no needless digits."""
    return f"{value * 60:g} min" if value < 1 else f"{value:g} h"


class MoneyFormatter(Formatter):
    """Axis ticks in money, as :func:`format_money` writes them, with as many digits as it takes for the ticks of
    one axis never to print alike ($1.2K, $1.4K, not $1K twice)."""

    def __init__(self, currency: str, locale: str = DEFAULT_LOCALE) -> None:
        self.currency = currency
        self.locale = locale

    def __call__(self, x: float, pos: int | None = None) -> str:
        return money(x, self.currency, self.locale)

    def format_ticks(self, values: Any) -> list[str]:
        return money_labels(list(values), self.currency, self.locale)


def money_formatter(currency: str, locale: str = DEFAULT_LOCALE) -> MoneyFormatter:
    """Axis ticks in money (see :class:`MoneyFormatter`)."""
    return MoneyFormatter(currency, locale)


def source_line(scenario: Scenario, replications: int | None = None, what: str = "") -> str:
    """The line under every chart: where the numbers come from."""
    text = f"Source: msp-sim, scenario '{scenario.name}', seed {scenario.seed}"
    if replications:
        text += f", {replications} replications of {scenario.measured_months} measured months"
    if scenario.what_if:
        text += f"; what-if: {', '.join(scenario.what_if)}"
    return text + (f". {what}" if what else ".")


def add_source(fig: Figure, *lines: str, y: float = -0.01) -> None:
    """The source line, and any notes after it, in small grey type under the figure (empty lines left out)."""
    width = max(40, int(fig.get_figwidth() * 17))  # characters of 8-point type across the figure
    text = "\n".join(textwrap.fill(line, width) for line in lines if line)
    fig.text(0.01, y, text, fontsize=8, color=SOURCE_COLOR, ha="left", va="top", parse_math=False)


def axes_or_new(ax: Axes | None, source: str | None = None, size: tuple[float, float] = (6.4, 4.4)) -> Axes:
    """``ax``, or a new figure's axes carrying the source line."""
    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        if source:
            add_source(fig, source)
    return ax


def replication_count(results: Results) -> int:
    """How many replications a run holds."""
    return int(results.replications["replication"].nunique())


def run_source(results: Results, what: str = "") -> str:
    """The source line of a run's chart, with its replications and an optional note ``what``."""
    return source_line(results.scenario, replication_count(results), what)


def _column_label(name: str) -> str:
    """A contract's name under its column: a label of words wrapped, a slug broken at its first hyphen."""
    return textwrap.fill(name, 16) if " " in name else name.replace("-", "\n", 1)


def style_columns(ax: Axes, names: list[str]) -> None:
    """One column per contract: its name (or label) under it, broken to fit, a light horizontal grid, no top or
    right frame."""
    if len(names) > CROWDED:  # too many to sit side by side: slanted, on one line each
        ax.set_xticks(range(len(names)), names, fontsize=8, rotation=35, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(range(len(names)), [_column_label(n) for n in names], fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def palette_colors(n: int) -> list[str]:
    """The first ``n`` colours of the palette, repeating when there are more contracts than colours."""
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def finite_max(*values: Any, default: float = 0.0) -> float:
    """The largest finite number among ``values`` (arrays or scalars), or ``default`` when there is none."""
    x = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if values else np.zeros(0)
    x = x[np.isfinite(x)]
    return float(x.max()) if len(x) else default


def finite_min(*values: Any, default: float = 0.0) -> float:
    """The smallest finite number among ``values``, or ``default`` when there is none."""
    return -finite_max(*(-np.asarray(v, dtype=float) for v in values), default=-default)


def set_ylim(ax: Axes, low: float, high: float) -> None:
    """Vertical limits that matplotlib accepts: an empty range (every value zero) becomes one unit tall."""
    ax.set_ylim(low, high if high > low else low + 1.0)


def panel_title(ax: Axes, text: str, size: float = 11, width: int = 50) -> None:
    """A panel title stating the finding, wrapped to stay over its panel."""
    ax.set_title(textwrap.fill(text, width), loc="left", fontsize=size, parse_math=False)


def figure_title(fig: Figure, text: str, size: float = 13, width: int = 125) -> None:
    """A figure title stating the finding, bold, left-aligned and wrapped."""
    fig.suptitle(
        textwrap.fill(text, width), fontsize=size, fontweight="bold", x=0.01, ha="left", parse_math=False
    )


def ci_whiskers(
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
