"""How far a run's verdict holds, in words and in a chart: the switching values of its inputs (the sentence under
the headline), the fee window of each managed contract, and the tornado of the client's saving over the inputs'
ranges (from verdict.csv and pricing.csv, see :mod:`simulator.studies.verdict`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulator.outputs.money import money, price

from .style import add_source, axes_or_new, money_formatter
from .sweeps import mark_break_even, tornado_bars, tornado_legend

if TYPE_CHECKING:
    import pandas as pd

    from simulator.config import Scenario

__all__ = [
    "fee_window_sentence",
    "input_value",
    "plot_verdict",
    "switching_sentence",
    "verdict_figure",
]

_LOWEST = {
    "client": ("costs the client least", "the client's saving per month"),
    "social": (
        "uses the fewest real resources (provider's delivery cost plus downtime)",
        "the saving per month",
    ),
}


def _is_share(row: Any) -> bool:
    leaves = {p.split(".")[-1] for p in str(row["paths"]).split("; ")}
    return all(leaf.endswith("share") or leaf.endswith("percent_of_fee") for leaf in leaves)


def input_value(row: Any, value: float, scenario: Scenario, unit: bool = True) -> str:
    """A value of a verdict input in words: a multiple of the scenario's values (×0.52), a price ($9.86 per
    user-hour), a share (62%), a count (2) or a number (0.25)."""
    if not np.isfinite(value):
        return "–"
    if bool(row["scale"]):
        return f"×{value:.3g}"
    if bool(row["money"]):
        text = price(value, scenario.currency, scenario.locale)
    elif _is_share(row):
        text = f"{value:.0%}"
    elif bool(row["integer"]):
        text = f"{value:.0f}"
    else:
        text = f"{value:.3g}"
    words = str(row["unit"]) if isinstance(row["unit"], str) else ""
    return f"{text} {words}" if unit and words else text


def _verb(label: str) -> str:
    """'are' after a plural label (the incident rates, the reporting delays), else 'is'."""
    last = label.split()[-1] if label.split() else ""
    return "are" if last.endswith("s") and not last.endswith(("ss", "'s")) else "is"


def _condition(row: Any, side: str, scenario: Scenario) -> str:
    """'<input> is below <value> (then <contract>)': one way the verdict changes."""
    value = float(row[f"switch_{side}"])
    about = "about " if row["method"] == "resimulate" and not bool(row["integer"]) else ""
    if bool(row["integer"]):
        words = "at most" if side == "below" else "at least"
    else:
        words = "below" if side == "below" else "above"
    shown = about + input_value(row, value, scenario)
    then = scenario.label_of(str(row[f"lowest_{side}"]))
    return f"{row['input']} {_verb(str(row['input']))} {words} {shown} (then {then})"


def switching_sentence(
    table: pd.DataFrame, scenario: Scenario, question: str = "client", brief: bool = False
) -> str:
    """One sentence: the contract lowest on ``question`` (``client``: its total cost; ``social``: social cost),
    unless one of the inputs passes its switching value; the inputs that change nothing within their ranges
    named too (``brief``: counted)."""
    rows = table[table["question"] == question]
    if rows.empty:
        return ""
    leader = str(rows["lowest_at_base"].mode().iloc[0])
    best = scenario.label_of(leader)
    phrase, _ = _LOWEST[question]
    conditions = []
    holds = []
    for row in rows.to_dict("records"):
        found = [side for side in ("below", "above") if np.isfinite(float(row[f"switch_{side}"]))]
        if str(row["lowest_at_base"]) != leader:
            conditions.append(
                f"on the {int(row['replications'])} replications of the re-simulations, "
                f"{scenario.label_of(str(row['lowest_at_base']))} "
                f"is already lowest at {row['input']} as in the scenario"
            )
        elif found:
            conditions += [_condition(row, side, scenario) for side in found]
        elif bool(row["affects"]):
            holds.append(f"{row['input']} ({_range(row, scenario)})")
    named = f"{len(holds)} inputs (verdict.csv lists them)" if brief and len(holds) > 1 else ", ".join(holds)
    if not conditions:
        return f"{best} {phrase} at every value tried of {named}" if holds else f"{best} {phrase}"
    text = f"{best} {phrase} unless " + ", or ".join(conditions)
    if holds:
        text += f"; within their ranges, {'the other ' if brief else ''}{named} do not change that"
    return text


def _range(row: Any, scenario: Scenario) -> str:
    low = input_value(row, float(row["low"]), scenario, unit=False)
    return f"{low} to {input_value(row, float(row['high']), scenario)}"


def fee_window_sentence(row: Any, scenario: Scenario, provider: bool = True) -> str:
    """A managed contract's fee window in one sentence: the quoted fee, the fee at which the client's total cost
    equals its cheapest other contract's (break-even), and with ``provider`` the fee that gives the provider its
    target gross margin and its margin at the quoted fee."""

    def fee(value: float) -> str:
        return price(value, scenario.currency, scenario.locale)

    unit = str(row["unit"])
    quoted = float(row["quoted_fee"])
    text = f"{scenario.label_of(str(row['contract']))}'s fee of {fee(quoted)} {unit}"
    even = float(row["client_break_even_fee"])
    other = scenario.label_of(str(row["alternative"])) if isinstance(row["alternative"], str) else ""
    if other:
        if np.isfinite(even):
            text += f": the client breaks even with {other} at {fee(even)}"
        else:
            saving = float(row["client_saving_per_month_at_quoted"])
            where = float(row["high"]) if saving > 0 else float(row["low"])
            cheaper = "cheaper" if saving > 0 else "dearer"
            text += (
                f": it stays {cheaper} for the client than {other} at every fee from {fee(float(row['low']))} "
                f"to {fee(float(row['high']))} (no break-even up to {fee(where)})"
            )
    if provider:
        target = float(row["target_gross_margin"])
        at_target = float(row["target_margin_fee"])
        margin = float(row["provider_gross_margin_at_quoted"])
        reach = (
            f"reaches its {target:.0%} gross margin target at {fee(at_target)}"
            if np.isfinite(at_target)
            else f"does not reach its {target:.0%} gross margin target below {fee(float(row['high']))}"
        )
        text += f"; the provider {reach} (at the quoted fee it makes {margin:.0%})"
    return text


def plot_verdict(
    table: pd.DataFrame, scenario: Scenario, ax: Axes | None = None, question: str = "client"
) -> Axes:
    """Tornado of the saving of the contract lowest on ``question`` over the next lowest, per month, at each end
    of every input's range that changes it (the largest swing on top): where a bar crosses the dashed line the
    verdict flips."""
    ax = axes_or_new(ax)
    rows = table[(table["question"] == question) & table["affects"].astype(bool)].copy()
    rows["swing"] = (rows["saving_per_month_at_high"] - rows["saving_per_month_at_low"]).abs()
    rows = rows.sort_values("swing", ascending=False).iloc[::-1].reset_index(drop=True)
    shown = rows.assign(
        baseline=rows["saving_per_month_at_base"],
        # An end at the scenario's own value (one technician cannot be one fewer) has no bar.
        at_low=rows["saving_per_month_at_low"].where(rows["low"] != rows["base_value"]),
        at_high=rows["saving_per_month_at_high"].where(rows["high"] != rows["base_value"]),
        low_text=[input_value(r, float(r["low"]), scenario, unit=False) for r in rows.to_dict("records")],
        high_text=[input_value(r, float(r["high"]), scenario, unit=False) for r in rows.to_dict("records")],
    )
    y = np.arange(len(shown))
    if tornado_bars(ax, shown, y):
        mark_break_even(ax, shown, "verdict flips")
    else:
        ax.text(0.5, 0.5, "no input changes it", ha="center", va="center", transform=ax.transAxes)
    labels = [
        f"{r['input']} ({r['unit']})"
        if isinstance(r["unit"], str) and r["unit"] and not r["scale"]
        else str(r["input"])
        for r in rows.to_dict("records")
    ]
    ax.set_yticks(y, labels, fontsize=9)
    ax.xaxis.set_major_formatter(money_formatter(scenario.currency, scenario.locale))
    best = scenario.label_of(str(rows["lowest_at_base"].mode().iloc[0])) if len(rows) else ""
    _, what = _LOWEST[question]
    ax.set_xlabel(f"{what}: {best} against the next lowest contract")
    tornado_legend(ax, "input")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def verdict_figure(table: pd.DataFrame, scenario: Scenario, source: str) -> Figure:
    """The tornado of the client's saving on its own figure, titled with the verdict, with ``source`` and how
    the ends were computed under it."""
    rows = table[(table["question"] == "client") & table["affects"].astype(bool)]
    fig = Figure(figsize=(10.5, 1.6 + 0.55 * max(len(rows), 2)), layout="constrained")
    ax = fig.subplots()
    plot_verdict(table, scenario, ax)
    if len(rows):
        exact = rows[rows["method"] == "reprice"]
        base = float((exact if len(exact) else rows)["saving_per_month_at_base"].iloc[0])
        best = scenario.label_of(str(rows["lowest_at_base"].mode().iloc[0]))
        saving = money(base, scenario.currency, scenario.locale)
        title = f"How far the verdict holds: {best} saves the client {saving}/month against the next cheapest"
    else:
        title = "No input tried changes the client's cost"
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)
    resim = rows[rows["method"] == "resimulate"]
    note = (
        "Money-only inputs re-priced on the run's replications (exact); "
        + (
            f"the others re-simulated on {int(resim['replications'].iloc[0])} replications with common random "
            "numbers, each bar from that sample's saving at the scenario's values (black ticks). "
            if len(resim)
            else ""
        )
        + "Each input varied alone, the others as in the scenario."
    )
    add_source(fig, source, note, y=-0.02)
    return fig
