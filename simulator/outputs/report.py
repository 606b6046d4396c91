"""The consultant's report: one self-contained HTML file (Jinja2, charts as inline SVG, no network needed) built
from one or more results folders (``msp-sim run``, ``incentives``, ``transition``, ``calibrate``, ``sweep``)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from simulator.base.files import read_csv, write_text
from simulator.config import Scenario
from simulator.metrics import METRICS, unstable_contracts
from simulator.studies.calibration.families import MIN_FIT
from simulator.studies.run import Results
from simulator.studies.verdict import Verdict

from . import charts
from .assumptions import SECTIONS, assumptions, key_assumptions
from .charts import PREVENTION
from .charts.calibration import check_headline, check_value, rates_headline
from .charts.style import add_source, run_source
from .folders import (
    CALIBRATION_FILES,
    RUN_FILES,
    read_calibration,
    read_incentives,
    read_results,
    read_scenario,
    read_transition,
    read_verdict,
)
from .money import price as money_price
from .tables import (
    RISK_ROWS,
    RUN_ROWS,
    TRANSITION_ROWS,
    client_prefers,
    format_number,
    incentive_notes,
    search_note,
    shown_per_month,
    strategy_differences,
    valuation_note,
)

if TYPE_CHECKING:
    from simulator.studies.calibration.results import CalibrationResults
    from simulator.studies.incentives import IncentiveResults

__all__ = ["ReportError", "find_results", "render_report", "svg", "write_report"]

KINDS = ("run", "incentives", "transition", "calibration", "sweep")


class ReportError(ValueError):
    """A folder the report cannot be built from; the message says which and what to run first."""


def _kind(folder: Path) -> str | None:
    """What wrote ``folder``: one of KINDS, or None."""
    if (folder / "manifest.json").is_file():
        return "sweep"
    if all((folder / name).is_file() for name in RUN_FILES):
        return "run"
    if (folder / "best_response.csv").is_file() and (folder / "scenario.resolved.yaml").is_file():
        return "incentives"
    if (folder / "transition_summary.csv").is_file() and (folder / "scenario.resolved.yaml").is_file():
        return "transition"
    if all((folder / name).is_file() for name in CALIBRATION_FILES):
        return "calibration"
    return None


def find_results(folder: Path) -> list[tuple[str, Path]]:
    """The results folders to report: ``folder`` itself if a command wrote it, else its subfolders that one
    did (runs first, then incentives, transitions, calibrations and sweeps; by name within a kind)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(
            f"{folder}: no such folder. Fix: give a folder written by `msp-sim run` (or incentives, "
            "transition, calibrate, sweep), e.g. results/baseline."
        )
    kind = _kind(folder)
    if kind is not None:
        return [(kind, folder)]
    subfolders = sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
    )  # no temporaries
    found = [(k, sub) for sub in subfolders if (k := _kind(sub))]
    if not found:
        raise ReportError(
            f"{folder} holds no results: no summary.csv (msp-sim run), best_response.csv (incentives), "
            "transition_summary.csv (transition), calibration.json (calibrate) or manifest.json (sweep) in it or "
            "its subfolders. Fix: run "
            "`msp-sim run SCENARIO --out DIR` first, then `msp-sim report DIR`."
        )
    return sorted(found, key=lambda kp: KINDS.index(kp[0]))


# ----------------------------------------------------------------------------------------------- SVG


_ID = re.compile(r'\bid="([^"]+)"')


def svg(fig: Any, prefix: str) -> Markup:
    """A figure as an inline ``<svg>`` element: fonts as paths, no metadata, every id prefixed so that several
    charts can live in one page, scaled to the page width. The figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    ids = set(_ID.findall(text))
    text = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(
        r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"' if m.group(1) in ids else m[0], text
    )
    text = re.sub(
        r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})" if m.group(1) in ids else m[0], text
    )
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%"', text, count=1)
    return Markup(text.replace("<svg", f'<svg role="img" aria-labelledby="{prefix}-title"', 1))


@dataclass
class _Chart:
    key: str
    title: str
    caption: str
    svg: Markup
    wide: bool = True


@dataclass
class _Section:
    kind: str
    key: str
    title: str
    scenario: Scenario
    data: dict[str, Any] = field(default_factory=dict)
    charts: list[_Chart] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------- run


def _cell(row: Any, unit: str, scale: float = 1.0) -> dict[str, Any]:
    """A table cell: the text shown (mean and 95% CI, scaled) and the raw summary numbers as data."""
    mean, lo, hi = (float(row[c]) for c in ("mean", "ci_low", "ci_high"))
    text = format_number(mean / scale, unit)
    interval = ""
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        interval = f"{format_number(lo / scale, unit)} – {format_number(hi / scale, unit)}"
    return {"text": text, "interval": interval, "mean": repr(mean), "low": repr(lo), "high": repr(hi)}


def _unit(metric: str) -> str:
    match = re.search(r"\[([^\]]+)\]\s*$", METRICS.get(metric, ""))
    return match.group(1) if match else ""


def _kind_of_unit(unit: str) -> str:
    if unit.startswith("currency"):
        return "money"
    if unit in ("share", "ratio"):
        return unit
    if "hours" in unit or unit.startswith("user-hours"):
        return "hours"
    return "count"


_TITLES = {
    "run": "Comparison",
    "incentives": "Incentives",
    "transition": "Moving to managed services",
    "calibration": "Calibration from a ticket history",
    "sweep": "Sweep",
}
"""The heading of each kind of section, followed by the scenario's name (a sweep: its folder's)."""


def _section_title(kind: str, folder: Path) -> str:
    """A section's heading, without building the section."""
    return f"{_TITLES[kind]}: {folder.name if kind == 'sweep' else read_scenario(folder).name}"


def _run_section(folder: Path, key: str, client: bool = False) -> _Section:
    """A run's section; ``client``: without the provider's charts (see :func:`_for_client` for the rest)."""
    results = read_results(folder)
    s = results.scenario
    months = s.measured_months
    table = results.summary.set_index(["contract", "metric"])
    contracts = results.contracts
    main_rows = []
    for metric, label, unit in RUN_ROWS:
        if (contracts[0], metric) not in table.index:
            continue
        shown, shown_unit, scale = shown_per_month(metric, label, unit, months)
        main_rows.append(
            {
                "metric": metric,
                "label": shown,
                "cells": [_cell(table.loc[(c, metric)], shown_unit, scale) for c in contracts],
            }
        )
    all_rows = [
        {
            "metric": metric,
            "description": METRICS.get(metric, ""),
            "cells": [_cell(table.loc[(c, metric)], _kind_of_unit(_unit(metric))) for c in contracts],
        }
        for metric in dict.fromkeys(results.summary["metric"])
    ]
    diffs = []
    d = results.differences
    for metric, label, unit, scale in (
        ("client_total_cost", "Client total cost per month", "money", months),
        ("provider_net_profit", "Provider net profit per month", "money", months),
        ("downtime_hours_per_user_year", "Downtime h/user-year", "hours", 1.0),
        ("revenue_monthly_cv", "Revenue CV (monthly)", "ratio", 1.0),
    ):
        for _, r in d[d["metric"] == metric].iterrows():
            lo, hi = float(r["ci_low"]), float(r["ci_high"])
            diffs.append(
                {
                    "metric": metric,
                    "label": label,
                    "contract": s.label_of(str(r["contract"])),
                    "reference": s.label_of(str(r["reference"])),
                    "cell": _cell(r, unit, scale),
                    "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0)),
                }
            )
    n = int(results.replications["replication"].nunique())
    verdict = read_verdict(folder)
    section = _Section("run", key, f"{_TITLES['run']}: {s.name}", s)
    section.data = {
        "contracts": contracts,
        "labels": {c: s.label_of(c) for c in contracts},
        "colors": charts.contract_colors(s),
        "efficiency": charts.efficiency_headline(results),
        "headline_client": charts.headline(results),
        "headline_provider": charts.provider_headline(results),
        "headline_service": charts.service_headline(results) if results.times is not None else "",
        "unstable": [u.note for u in unstable_contracts(s, results.summary)],
        "rows": main_rows,
        "all_rows": all_rows,
        "differences": diffs,
        "reference": s.label_of(s.reference),
        "replications": n,
        "months": months,
        "key_assumptions": key_assumptions(s).to_dict("records"),
        "assumptions": _grouped(assumptions(s)),
        "benchmarks": _benchmark_rows(folder, contracts),
        **_verdict_data(verdict, s),
        "risk": _risk_rows(folder, s),
        "invoices": _sample_invoices(results),
    }
    section.charts = _run_charts(results, key, _PROVIDER_CHARTS if client else frozenset())
    if verdict is not None and len(verdict.table):
        section.charts.append(
            _Chart(
                "verdict",
                "How far the verdict holds",
                "How much less the cheapest contract costs the client than the next cheapest, per month, with each "
                "input at the ends of its range (the others as in the scenario). Where a bar crosses the dashed "
                "line, another contract becomes the cheapest; the table below gives the exact values.",
                svg(charts.verdict_figure(verdict.table, s, run_source(results)), f"{key}-verdict"),
            )
        )
    return section


def _sample_invoices(results: Results) -> list[dict[str, Any]]:
    """One sample invoice per contract from the run's invoices (invoices.csv, the first replication): the first
    client's invoice of the first measured month (the first client and month with an invoice, if that one has
    none), its lines as table cells and its total; empty for a folder without invoices."""
    lines = results.invoices
    if lines is None or not len(lines):
        return []
    s = results.scenario

    def money(value: float) -> str:
        return money_price(value, s.currency, s.locale, cents=True)

    segments = [segment.name for segment in s.clients for _ in range(segment.count)]
    samples = []
    for contract in results.contracts:
        own = lines[lines["contract"] == contract]
        if not len(own):
            continue
        month = s.warmup_months if (own["month"] == s.warmup_months).any() else int(own["month"].min())
        client = int(own.loc[own["month"] == month, "client"].min())
        invoice = own[(own["month"] == month) & (own["client"] == client)].sort_values("line")
        rows = []
        for r in invoice.to_dict("records"):
            quantity, each = float(r["quantity"]), float(r["unit_price"])
            about = [f"ticket {int(r['incident'])}" if int(r["incident"]) >= 0 else "", str(r["category"])]
            rows.append(
                {
                    "item": str(r["item"]),
                    "about": " · ".join(a for a in about if a),
                    "quantity": _quantity(quantity, str(r["unit"])) if np.isfinite(quantity) else "",
                    "unit_price": money(each) if np.isfinite(each) else "",
                    "amount": money(float(r["amount"])),
                }
            )
        cents = int(np.round(invoice["amount"].to_numpy(dtype=float) * 100).sum())
        samples.append(
            {
                "contract": contract,
                "label": s.label_of(contract),
                "client": client,
                "segment": segments[client] if client < len(segments) else "",
                "month": month,
                "first_measured": month == s.warmup_months,
                "rows": rows,
                "total": money(cents / 100),
            }
        )
    return samples


def _quantity(quantity: float, unit: str) -> str:
    """An invoice line's quantity with its unit, a word in the plural when it is not one (2 trips, 25
    user-months; 2.25 h)."""
    plural = quantity != 1 and unit not in ("", "h", "each")
    return f"{quantity:g} {unit}{'s' if plural else ''}".strip()


def _risk_rows(folder: Path, scenario: Scenario) -> list[dict[str, Any]]:
    """The risk table stored in the folder (risk.csv): per party and figure, one cell per contract, money per
    year; empty for a folder without one."""
    path = folder / "risk.csv"
    if not path.is_file():
        return []
    risk = read_csv(path)
    money = _money(scenario)
    contracts = [c.name for c in scenario.contracts]
    rows = []
    for party, group in risk.groupby("party", sort=False):
        by = group.set_index("contract")
        for column, label in RISK_ROWS:
            values = by[column].astype(float)
            if column == "certainty_equivalent" and values.isna().all():
                continue
            rows.append(
                {
                    "party": str(party),
                    "label": f"{by['measure'].iloc[0]}: {label}",
                    "cells": [money(float(values[c])) for c in contracts if c in values.index],
                    "years": int(by["years"].min()),
                }
            )
    return rows


def _verdict_data(verdict: Verdict | None, scenario: Scenario) -> dict[str, Any]:
    """The verdict's sentences, its table (one row per input: the range, the scenario's value, where the client's
    cheapest and the most efficient contract change) and the fee window; empty for a run without one."""
    if verdict is None:
        return {
            "switching_client": "",
            "switching_brief": "",
            "switching_social": "",
            "verdict": [],
            "pricing": [],
            "prices": [],
        }
    table = verdict.table
    rows = []
    for name, group in table.groupby("input", sort=False):
        by = {str(r["question"]): r for r in group.to_dict("records")}
        first = next(iter(by.values()))
        rows.append(
            {
                "input": name,
                "range": charts.input_value(first, float(first["low"]), scenario, unit=False)
                + " to "
                + charts.input_value(first, float(first["high"]), scenario),
                "base": charts.input_value(first, float(first["base_value"]), scenario),
                "method": "re-priced (exact)"
                if first["method"] == "reprice"
                else f"re-simulated ({int(first['replications'])} replications)",
                **{q: _switches(by[q], scenario) if q in by else "–" for q in ("client", "social")},
            }
        )
    return {
        "switching_client": charts.switching_sentence(table, scenario, "client"),
        "switching_brief": charts.switching_sentence(table, scenario, "client", brief=True),
        "switching_social": charts.switching_sentence(table, scenario, "social"),
        "verdict": rows,
        "pricing": [_price_row(r, scenario) for r in verdict.pricing.to_dict("records")],
        "prices": [charts.fee_window_sentence(r, scenario) for r in verdict.pricing.to_dict("records")],
        "prices_client": [
            charts.fee_window_sentence(r, scenario, provider=False)
            for r in verdict.pricing.to_dict("records")
        ],
    }


def _price_row(row: Any, scenario: Scenario) -> dict[str, str]:
    """One managed contract's fee window as table cells: fees as exact prices per unit, the margin as a share."""

    def fee(name: str) -> str:
        value = float(row[name])
        return (
            money_price(value, scenario.currency, scenario.locale)
            if np.isfinite(value)
            else "outside the range"
        )

    margin = float(row["provider_gross_margin_at_quoted"])
    return {
        "contract": scenario.label_of(str(row["contract"])),
        "unit": str(row["unit"]),
        "quoted": fee("quoted_fee"),
        "break_even": fee("client_break_even_fee"),
        "alternative": scenario.label_of(str(row["alternative"]))
        if isinstance(row["alternative"], str)
        else "",
        "target": f"{float(row['target_gross_margin']):.0%}",
        "target_fee": fee("target_margin_fee"),
        "provider_break_even": fee("provider_break_even_fee"),
        "margin": f"{margin:.0%}" if np.isfinite(margin) else "–",
        "range": f"{fee('low')} to {fee('high')}",
    }


def _switches(row: Any, scenario: Scenario) -> str:
    """Where the lowest contract changes along one input, in words: 'below X (then C)', 'above Y (then D)', or
    that it does not within the range (or that the input does not move that cost at all)."""
    if not bool(row["affects"]):
        return "no effect"
    parts = []
    for side in ("below", "above"):
        value = float(row[f"switch_{side}"])
        if not np.isfinite(value):
            continue
        about = "about " if row["method"] == "resimulate" and not bool(row["integer"]) else ""
        text = f"{side} {about}{charts.input_value(row, value, scenario)}"
        low, high = (float(row.get(f"switch_{side}_ci_{end}", np.nan)) for end in ("low", "high"))
        if np.isfinite(low) or np.isfinite(high):
            shown = [
                charts.input_value(row, v, scenario, unit=False) if np.isfinite(v) else beyond
                for v, beyond in ((low, "below the range"), (high, "beyond the range"))
            ]
            text += f" (95% CI {shown[0]} to {shown[1]})"
        parts.append(f"{text}: {scenario.label_of(str(row[f'lowest_{side}']))}")
    return "; ".join(parts) if parts else "none within range"


_FLAG_WORDS = {
    "below": "below",
    "above": "above",
    "within": "within",
    "assumed": "assumed",
    "no range": "",
    "not measured": "",
}


def _benchmark_rows(folder: Path, contracts: list[str]) -> list[dict[str, Any]]:
    """The benchmark panel stored in the folder (``benchmarks.csv``): per figure its label, source and one cell
    per contract (the value, its flag and the range it was held against); empty for a folder without one."""
    path = folder / "benchmarks.csv"
    if not path.is_file():
        return []
    panel = read_csv(path, keep_default_na=False, na_values=[""])
    rows = []
    for _, group in panel.groupby("figure", sort=False):
        records = {str(rec["contract"]): rec for rec in group.to_dict("records")}
        cells = []
        for c in contracts:
            r = records[c]
            unit = str(r["unit"])
            span = (
                f"{format_number(float(r['low']), unit)} to {format_number(float(r['high']), unit)}"
                if np.isfinite(float(r["low"]))
                else ""
            )
            cells.append(
                {
                    "text": format_number(float(r["mean"]), unit),
                    "flag": str(r["flag"]).replace(" ", "-"),
                    "words": _FLAG_WORDS.get(str(r["flag"]), ""),
                    "range": span,
                }
            )
        first = group.iloc[0]
        rows.append(
            {
                "figure": str(first["figure"]),
                "label": str(first["label"]),
                "source": str(first["source"]),
                "cells": cells,
            }
        )
    return rows


def _run_charts(results: Results, key: str, leave_out: frozenset[str]) -> list[_Chart]:
    """The run's charts, but those named in ``leave_out``."""
    import matplotlib.pyplot as plt

    def single(plot: Any, size: tuple[float, float]) -> Any:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
        plot(results, ax)
        add_source(fig, run_source(results))
        return fig

    singles = (
        (
            "client-cost",
            "What the client pays",
            "Fees (solid) and the cost of downtime and staff time lost (hatched) per month for all clients; "
            "SLA credits received are drawn below zero. Whiskers: 95% confidence interval of the total.",
            charts.plot_client_cost,
        ),
        (
            "provider",
            "What the provider earns",
            "Revenue, service delivery cost, overhead (hatched) and net profit per month; whiskers: 95% confidence "
            "interval of the net profit.",
            charts.plot_provider_profit,
        ),
        (
            "downtime",
            "How much working time the client loses",
            "Hours per user and year lost to IT problems (blocked time, partial losses weighted, site outages); "
            "each dot is one replication, boxes show the middle half.",
            charts.plot_downtime,
        ),
        (
            "revenue",
            "How predictable the provider's revenue is",
            "Monthly revenue: median over replications and the band holding 80% of them. A flat, narrow band "
            "is revenue the provider can plan on.",
            charts.plot_revenue_band,
        ),
    )
    out = [
        _Chart(slug, title, caption, svg(single(plot, (7, 5.2)), f"{key}-{slug}"), wide=False)
        for slug, title, caption, plot in singles
        if slug not in leave_out
    ]
    if results.times is not None and not results.times.empty:
        out.append(
            _Chart(
                "service",
                "How fast tickets are answered and fixed",
                "Share of tickets answered (top) and resolved (bottom) within a given time, per priority; dashed "
                "lines are the managed contract's SLA targets (break/fix contracts promise none).",
                svg(charts.service_figure(results), f"{key}-service"),
            )
        )
    return out


def _grouped(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Assumption rows grouped by section, for the template."""
    return [
        {"section": name, "rows": group.to_dict("records")}
        for name, group in frame.groupby("section", sort=False)
    ]


# ----------------------------------------------------------------------------------------------- incentives


def _money(scenario: Scenario) -> Callable[[float], str]:
    """Compact money in the scenario's currency and locale."""
    return lambda value: charts.format_money(value, scenario.currency, locale=scenario.locale)


def _price(scenario: Scenario) -> Callable[[float], str]:
    """A price rounded to whole units, in the scenario's currency and locale."""
    return lambda value: money_price(round(float(value)), scenario.currency, scenario.locale)


def _lever_rows(inc: IncentiveResults) -> list[dict[str, str]]:
    """The best-response table: each contract's lever settings for the provider, the client and society, with
    the provider's net profit per month."""
    money = _money(inc.scenario)
    months = inc.scenario.measured_months
    return [
        {
            "contract": inc.scenario.label_of(str(r["contract"])),
            "role": {
                "provider": "the provider (best response)",
                "client": "the client",
                "social": "society",
            }.get(r["role"], r["role"]),
            "prevention": _edge(r, "prevention_hours_per_endpoint_month", f"{r[PREVENTION]:.2f} h"),
            "technicians": _edge(r, "technicians", str(r["technicians"])),
            "monitoring": "on" if bool(r["monitoring"]) else "off",
            "thoroughness": _edge(r, "thoroughness", f"{r['thoroughness']:.2f}"),
            "profit": money(float(r["provider_net_profit"]) / months),
            "kept": f"{float(r['clients_remaining']):.0%}" if "clients_remaining" in r else "–",
            "prefers": client_prefers(r),
        }
        for _, r in inc.best_response.iterrows()
    ]


def _edge(row: Any, lever: str, text: str) -> str:
    """A lever's value, marked when it lies at the edge of the range searched (the best may lie beyond)."""
    edge = row.get("at_bound")
    return f"{text} (edge of the range)" if isinstance(edge, str) and lever in edge.split(", ") else text


def _gap_rows(inc: IncentiveResults) -> list[dict[str, str]]:
    """The misalignment table: each contract's welfare loss per month with its interval, extra downtime per month
    and the profit from one more incident ('–' where there is no number)."""
    money = _money(inc.scenario)
    months = inc.scenario.measured_months

    def monthly(value: Any) -> str:
        return money(float(value) / months)

    return [
        {
            "contract": inc.scenario.label_of(str(r["contract"])),
            "loss": f"unstable ({r['unstable']})"
            if isinstance(r.get("unstable"), str) and r.get("unstable")
            else monthly(r["welfare_loss"]),
            "interval": f"{monthly(r['welfare_loss_ci_low'])} – {monthly(r['welfare_loss_ci_high'])}"
            if np.isfinite([r["welfare_loss_ci_low"], r["welfare_loss_ci_high"]]).all()
            else "–",
            "downtime": f"{float(r['extra_downtime_user_hours']) / months:+,.0f}"
            if np.isfinite(r["extra_downtime_user_hours"])
            else "–",
            "marginal": money(float(r["marginal_profit_per_incident"]))
            if "marginal_profit_per_incident" in r
            else "–",
            "marginal_interval": f"{money(float(r['marginal_profit_per_incident_ci_low']))} – "
            f"{money(float(r['marginal_profit_per_incident_ci_high']))}"
            if "marginal_profit_per_incident_ci_low" in r
            and np.isfinite(
                [r["marginal_profit_per_incident_ci_low"], r["marginal_profit_per_incident_ci_high"]]
            ).all()
            else "",
        }
        for _, r in inc.misalignment.iterrows()
    ]


def _basis_rows(inc: IncentiveResults) -> dict[str, Any] | None:
    """The welfare loss per month at the provider's choice under each labour cost basis compared (none when the
    analysis compared none): the bases, and per contract its cells."""
    if inc.cost_bases is None or inc.cost_bases.empty:
        return None
    money = _money(inc.scenario)
    months = inc.scenario.measured_months
    frame = inc.cost_bases.set_index(["contract", "basis"])
    bases = list(dict.fromkeys(inc.cost_bases["basis"]))
    rows = []
    for c in inc.scenario.contracts:
        cells = []
        for basis in bases:
            r = frame.loc[(c.name, basis)]
            unstable = r["unstable"] if isinstance(r["unstable"], str) else ""
            text = f"unstable ({unstable})" if unstable else money(float(r["welfare_loss"]) / months)
            text += (
                " (most)" if bool(r["most_misaligned"]) else " (least)" if bool(r["least_misaligned"]) else ""
            )
            cells.append(text)
        rows.append({"contract": inc.scenario.label_of(c.name), "cells": cells})
    own = inc.scenario.provider.labour_cost_basis
    return {"bases": [f"{b} (the scenario's)" if b == own else b for b in bases], "rows": rows}


def _design_notes(inc: IncentiveResults) -> list[str]:
    """One sentence per managed contract on the credit and fee that leave both sides better off than the client's
    outside option, or that no level tried does."""
    from simulator.studies.incentives import outside_contract

    price = _price(inc.scenario)
    other = inc.scenario.label_of(outside_contract(inc.scenario))
    design = []
    if not inc.design.empty:
        for name, group in inc.design.groupby("contract", sort=False):
            rec = group[group["recommended"]]
            if rec.empty:
                design.append(f"{name}: no credit level tried gives a fee both sides prefer to {other}.")
            else:
                r = rec.iloc[0]
                design.append(
                    f"{name}: a {r['scheme'].replace('_', ' ')} credit of {r['credit']:g} with a fee between "
                    f"{price(max(r['fee_min'], 0.0))} and {price(r['fee_max'])} per user-month leaves both sides "
                    f"better off than {other}; the provider then picks "
                    f"{r['prevention_hours_per_endpoint_month']:.2f} h of prevention per endpoint-month and "
                    f"{r['technicians']} technicians."
                )
    return design


def _incentives_finding(inc: IncentiveResults) -> str:
    """The section's headline: the contract under which the provider's profit-maximising choices lose the most
    welfare (contracts whose loss could not be measured left out)."""
    s = inc.scenario
    worst = inc.most_misaligned()
    if worst is None:
        return "No contract's welfare loss could be measured: see the tables below."
    return (
        f"Under {s.label_of(str(worst['contract']))}, what maximises the provider's profit costs "
        f"{_money(s)(float(worst['welfare_loss']) / s.measured_months)} a month more than the best outcome for "
        "provider and client together."
    )


def _incentives_section(folder: Path, key: str) -> _Section:
    inc = read_incentives(folder)
    s = inc.scenario
    section = _Section("incentives", key, f"{_TITLES['incentives']}: {s.name}", s)
    section.data = {
        "levers": _lever_rows(inc),
        "relationship": inc.scenario.incentives.relationship is not None,
        "notes": incentive_notes(inc.scenario)
        + ([search_note(inc.scenario, inc.search)] if inc.search is not None else []),
        "gaps": _gap_rows(inc),
        "design": _design_notes(inc),
        "bases": _basis_rows(inc),
        "months": s.measured_months,
        "headline": _incentives_finding(inc),
        "assumptions": _grouped(assumptions(s, ("incentives",))),
    }
    section.charts = [
        _Chart(
            "incentives",
            "What each contract makes the provider do",
            "Provider profit (left axis) and social cost (right axis, dashed) against prevention effort; dotted "
            "lines mark the provider's choice and the best choice for society. Bars: welfare lost at the "
            "provider's choice.",
            svg(charts.incentives_figure(inc), f"{key}-incentives"),
        )
    ]
    return section


# ----------------------------------------------------------------------------------------------- transition


def _transition_section(folder: Path, key: str) -> _Section:
    tr = read_transition(folder)
    s = tr.scenario
    summary = tr.summary.set_index(["strategy", "metric"])
    rows = []
    for metric, label, unit in TRANSITION_ROWS:
        if (tr.strategies[0], metric) not in summary.index:
            continue
        rows.append(
            {
                "metric": metric,
                "label": label,
                "cells": [_cell(summary.loc[(name, metric)], unit) for name in tr.strategies],
            }
        )
    section = _Section("transition", key, f"{_TITLES['transition']}: {s.name}", s)
    section.data = {
        "strategies": tr.strategies,
        "rows": rows,
        "horizon": s.horizon_months,
        "replications": int(tr.monthly["replication"].nunique()),
        "assumptions": _grouped(assumptions(s, ("portfolio",))),
        "differences": strategy_differences(s),
        "valuation": valuation_note(s),
    }
    valued = s.portfolio is not None and s.portfolio.finance is not None
    section.charts = [
        _Chart(
            "transition",
            (
                "Cash, enterprise value, recurring revenue and clients month by month"
                if valued
                else "Cash, recurring revenue and clients month by month"
            ),
            "Lines are means over replications, bands 95% confidence intervals."
            + (
                " Cash as collected; the enterprise value rests on the assumed multiples (‡)."
                if valued
                else ""
            ),
            svg(charts.transition_figure(tr), f"{key}-transition"),
        )
    ]
    return section


# ----------------------------------------------------------------------------------------------- calibration


def _sig(value: Any) -> str:
    """A rate for people: three significant digits (0.206, 0.0312, 1.25); – when there is none."""
    value = float(value)
    return f"{value:.3g}" if np.isfinite(value) else "–"


def _interval(low: Any, high: Any, shown: Callable[[Any], str]) -> str:
    """A 95% interval as 'low – high' (empty when either end is missing)."""
    if not (np.isfinite(float(low)) and np.isfinite(float(high))):
        return ""
    return f"{shown(low)} – {shown(high)}"


def _share(value: Any) -> str:
    """A share as a percentage (62.5%)."""
    return format_number(float(value), "share")


def _calibration_lead(res: CalibrationResults) -> dict[str, Any]:
    """The history in a few facts: tickets, clients, window, contract, rows not used and why."""
    m = res.meta
    rows, tickets = int(m.get("rows", 0)), int(m.get("tickets", len(res.tickets)))
    reasons = [
        {
            "reason": str(r["reason"]),
            "rows": format_number(float(r["rows"]), "count"),
            "first_rows": "" if pd.isna(r["first_rows"]) else str(r["first_rows"]),
            "used": bool(r["used"]),
        }
        for r in res.unusable.to_dict("records")
    ]
    left_out = [
        {
            "column": str(r["column"]),
            "value": str(r["value"]),
            "rows": format_number(float(r["rows"]), "count"),
        }
        for r in res.left_out.to_dict("records")
    ]
    return {
        "tickets": format_number(tickets, "count"),
        "rows": format_number(rows, "count"),
        "not_used": format_number(max(rows - tickets, 0), "count"),
        "clients": len(res.clients),
        "start": str(m.get("start", ""))[:10],
        "end": str(m.get("end", ""))[:10],
        "months": f"{res.months:.1f}",
        "recorded": res.scenario.label_of(str(m.get("recorded", ""))),
        "timezone": str(m.get("timezone", "")),
        "export": Path(str(m.get("export", ""))).name,
        "base": Path(str(m.get("base", ""))).name,
        "reasons": reasons,
        "left_out": left_out,
        "client_rows": [
            {
                "client": str(r["client"]),
                "users": format_number(float(r["users"]), "count"),
                "endpoints": format_number(float(r["endpoints"]), "count"),
                "sites": format_number(float(r["sites"]), "count"),
                "months": format_number(float(r["months"]), "hours"),
                "tickets": format_number(float(r["tickets"]), "count"),
            }
            for r in res.clients.to_dict("records")
        ],
    }


def _calibration_rates(res: CalibrationResults) -> list[dict[str, Any]]:
    from simulator.config.sections import MAJOR

    rows = []
    for r in res.rates.to_dict("records"):
        major = str(r["category"]) == MAJOR
        rows.append(
            {
                "category": "major incidents" if major else str(r["category"]),
                "tickets": format_number(float(r["tickets"]), "count"),
                "unit": str(r["unit"]),
                "exposure": format_number(float(r["exposure"]), "count"),
                "ticket_rate": _sig(r["ticket_rate"]),
                "ticket_interval": _interval(r["ticket_low"], r["ticket_high"], _sig),
                "report_share": _share(r["report_share"]),
                "rate": _sig(r["rate"]) if float(r["tickets"]) > 0 else "no tickets",
                "interval": _interval(r["rate_low"], r["rate_high"], _sig),
                "base": _sig(r["base_rate"]),
                "outside": bool(
                    np.isfinite([r["base_rate"], r["rate_low"], r["rate_high"]]).all()
                    and not r["rate_low"] <= r["base_rate"] <= r["rate_high"]
                ),
                "note": str(r["note"]) if isinstance(r.get("note"), str) else "",
            }
        )
    return rows


def _calibration_effort(res: CalibrationResults) -> list[dict[str, Any]]:
    from simulator.config.sections import MAJOR

    hours = charts.format_hours
    rows = []
    for r in res.effort.to_dict("records"):
        n = int(r["n"])
        zero = int(r["zero_hours"]) if np.isfinite(float(r["zero_hours"])) else 0
        rows.append(
            {
                "category": "major incidents" if str(r["category"]) == MAJOR else str(r["category"]),
                "n": format_number(n, "count"),
                "zero": format_number(zero, "count") if zero else "",
                "mean": hours(float(r["mean"])),
                "interval": _interval(r["mean_low"], r["mean_high"], lambda v: hours(float(v))),
                "family": str(r["family"]) if n else "–",
                "chosen": n >= MIN_FIT,
                "ks": f"{float(r['ks']):.3f}" if np.isfinite(float(r["ks"])) else "–",
                "base": hours(float(r["base_mean"])),
            }
        )
    return rows


def _calibration_shares(res: CalibrationResults) -> list[dict[str, Any]]:
    """One row per category: the share of its tickets on site and with parts, each with its count, interval,
    the value written and the default, and the mean parts cost."""
    money = _money(res.scenario)
    costs = {str(r["category"]): float(r["mean"]) for r in res.parts_cost.to_dict("records")}
    rows: dict[str, dict[str, Any]] = {}
    for r in res.shares.to_dict("records"):
        name = str(r["category"])
        row = rows.setdefault(name, {"category": name, "onsite": None, "parts": None, "cost": ""})
        measure = "parts" if str(r["measure"]) == "parts" else "onsite"
        interval = _interval(r["low"], r["high"], _share)
        row[measure] = {
            "share": _share(r["share"]),
            "detail": f"{int(r['k']):,} of {int(r['n']):,}" + (f" · {interval}" if interval else ""),
            "written": _share(r["written"]),
            "base": _share(r["base"]),
        }
        mean = costs.get(name, np.nan)
        if measure == "parts" and np.isfinite(mean):
            row["cost"] = money(mean)
    return list(rows.values())


def _calibration_priorities(res: CalibrationResults) -> list[dict[str, Any]]:
    """One row per category: its tickets with a priority and the share at P1..P4."""
    p = res.priorities
    rows = []
    for category, group in p.groupby("category", sort=False):
        by = group.set_index("priority")
        rows.append(
            {
                "category": str(category),
                "tickets": format_number(float(group["tickets"].sum()), "count"),
                "cells": [
                    {
                        "share": _share(by.loc[f"P{i}", "share"]) if f"P{i}" in by.index else "–",
                        "interval": _interval(by.loc[f"P{i}", "low"], by.loc[f"P{i}", "high"], _share)
                        if f"P{i}" in by.index
                        else "",
                    }
                    for i in range(1, 5)
                ],
            }
        )
    return rows


def _calibration_reopen(res: CalibrationResults) -> str:
    """The reopen estimate in a sentence."""
    rec = res.meta.get("recurrence", {}) or {}
    base = float(rec.get("base", np.nan))
    if not rec.get("observed"):
        return (
            f"The export links no reopened ticket to its first (no parent column), so the reopen probability "
            f"is the base's, {_share(base)}."
        )
    return (
        f"{int(rec['recurrences']):,} of {int(rec['fixes']):,} fixed tickets were reopened; weighting each fix by "
        f"the chance that its reopening would fall within the window ({float(rec['weight']):,.0f} fixes' worth), "
        f"the reopen rate is {_share(rec['share'])} (95% interval {_share(rec['low'])} – {_share(rec['high'])}), "
        f"written as a reopen probability of {_share(rec['probability'])} at thoroughness 1 (base "
        f"{_share(base)})."
    )


def _calibration_service(res: CalibrationResults) -> list[dict[str, Any]]:
    def hours(value: Any) -> str:
        return format_number(float(value), "hours")

    return [
        {
            "measure": str(r["measure"]),
            "priority": str(r["priority"]),
            "tickets": format_number(float(r["tickets"]), "count"),
            "median_bh": hours(r["median_business_hours"]),
            "p90_bh": hours(r["p90_business_hours"]),
            "median_h": hours(r["median_hours"]),
            "p90_h": hours(r["p90_hours"]),
        }
        for r in res.service.to_dict("records")
    ]


def _calibration_check(res: CalibrationResults) -> list[dict[str, Any]]:
    shown = check_value
    rows = []
    for r in res.check.to_dict("records"):
        unit = str(r["unit"])
        rows.append(
            {
                "figure": str(r["figure"]),
                "unit": unit,
                "history": shown(float(r["history"]), unit),
                "mean": shown(float(r["model_mean"]), unit),
                "range": f"{shown(float(r['model_low']), unit)} – {shown(float(r['model_high']), unit)}",
                "within": bool(r["within"]),
            }
        )
    return rows


_CALIBRATION_CHARTS = {
    "effort": (
        "Hands-on hours per ticket",
        "Bars: the history's hands-on hours per ticket, divided by the recorded contract's effort factor (the "
        "scenario's hours are without thoroughness and tooling); lines: the distribution fitted to them and "
        "written to the calibrated scenario. Categories with at least 10 tickets with hours.",
    ),
    "rates": (
        "Incident rates against the base scenario's",
        "Dots and whiskers: each category's incident rate with its 95% interval, from the tickets per unit (grey) "
        "and the share of incidents that become tickets under the recorded contract; diamonds: the base "
        "scenario's rate.",
    ),
    "arrival": (
        "When tickets were opened",
        "Tickets opened by weekday and hour, as a share of all; outlined: the scenario's business hours. The "
        "model's incidents arrive within business hours, so tickets opened outside them are reported here, not "
        "modelled.",
    ),
    "check": (
        "The calibrated model against the history",
        "Each figure of the history (dot) against the range 95% of the calibrated model's simulated histories of "
        "the same length fall in (bar) and their mean (tick), all divided by the model's mean; the values are at "
        "the right and in the table below.",
    ),
}


def _calibration_section(folder: Path, key: str) -> _Section:
    """A calibration's section: the history, what was fitted from it, the model checked against it, the charts."""
    res = read_calibration(folder)
    s = res.scenario
    section = _Section("calibration", key, f"{_TITLES['calibration']}: {s.name}", s)
    checked = res.check.dropna(subset=["history", "model_mean"])
    section.data = {
        **_calibration_lead(res),
        "headline_check": check_headline(res) if len(checked) else "",
        "headline_rates": rates_headline(res),
        "rates": _calibration_rates(res),
        "effort": _calibration_effort(res) if "hours" in res.meta.get("given", []) else [],
        "min_fit": MIN_FIT,
        "shares": _calibration_shares(res),
        "priorities": _calibration_priorities(res),
        "reopen": _calibration_reopen(res),
        "service": _calibration_service(res),
        "check": _calibration_check(res),
        "notes": [str(n) for n in res.meta.get("notes", [])],
        "currency": s.currency,
    }
    section.charts = [
        _Chart(stem, *_CALIBRATION_CHARTS[stem], svg(make(), f"{key}-{stem}"))
        for stem, make, _dpi in charts.calibration_charts(res)
    ]
    return section


# ----------------------------------------------------------------------------------------------- sweep


def _sweep_section(folder: Path, key: str) -> _Section:
    from simulator.config import load_scenario
    from simulator.studies.analysis import OUTCOMES, analyze_sweep, win_shares
    from simulator.studies.sweep import load_results

    results = load_results(folder)
    analysis = analyze_sweep(results)
    base = folder / "base.resolved.yaml"
    scenario = load_scenario(base) if base.is_file() else None
    shares = win_shares(analysis.outcomes)
    section = _Section("sweep", key, f"{_TITLES['sweep']}: {folder.name}", scenario)  # type: ignore[arg-type]
    sens = analysis.sensitivity
    section.data = {
        "contract": analysis.contract,
        "reference": analysis.reference,
        "points": int(results.rows["point_id"].nunique()),
        "parameters": list(results.parameters),
        "shares": {o: shares[o] for o in OUTCOMES},
        "sensitivity": [
            {
                "outcome": {"client_saving": "client's saving", "provider_gain": "provider's gain"}[
                    r["outcome"]
                ],
                "parameter": r["parameter"],
                "method": r["method"],
                "importance": f"{float(r['importance']):.2f}" if np.isfinite(r["importance"]) else "–",
                "rank": int(r["rank"]),
            }
            for _, r in sens.iterrows()
        ],
    }
    tor = analysis.tornado
    section.charts = [
        _Chart(
            "tornado",
            "What drives the client's saving",
            "The client's saving per month at each parameter's low and high end; the largest swing on top.",
            svg(
                charts.tornado_figure(
                    tor[tor["outcome"] == "client_saving"],
                    results.currency,
                    analysis.contract,
                    analysis.reference,
                    analysis.source,
                    results.locale,
                ),
                f"{key}-tornado",
            ),
        )
    ]
    if analysis.break_even is not None:
        section.charts.append(
            _Chart(
                "break-even",
                "Where the contract wins",
                "Blue where the contract beats the reference, orange where it loses; the solid line is the "
                "break-even, dashed and dotted lines bound its 95% band.",
                svg(
                    charts.break_even_figure(analysis.break_even, source=analysis.source), f"{key}-break-even"
                ),
            )
        )
    return section


# ----------------------------------------------------------------------------------------------- page

_BUILDERS = {
    "run": _run_section,
    "incentives": _incentives_section,
    "transition": _transition_section,
    "calibration": _calibration_section,
    "sweep": _sweep_section,
}


AUDIENCES = ("full", "client", "provider")
"""Who a report is for: ``full`` shows everything; ``client`` is the version to hand to the client: the runs'
comparisons without the provider's revenue, costs, profit, margins, staffing costs or pricing sections, and any
calibration (the client's own history);
``provider`` shows everything too, led by the provider's findings and the pricing (the fee window with the fee
for the target margin, the provider's break-even fee and its margin at the quoted fee)."""

_PROVIDER_METRICS = ("provider_", "revenue_", "technician_", "prevention_", "social_")
"""Metrics (by prefix) that describe the provider's business or reveal its costs (the social cost holds the
provider's delivery cost), left out of a client's report."""
_PROVIDER_FIGURES = {"gross_margin", "net_margin", "effective_hourly_rate", "technician_utilization"}
_PROVIDER_CHARTS = frozenset({"provider", "revenue"})
_CLIENT_KINDS = ("run", "calibration")
"""The sections a client's report shows: run comparisons (without the provider's economics) and calibrations
(the client's own ticket history and the model of it, which hold none)."""


def _for_client(section: _Section) -> _Section:
    """A run section (built without the provider's charts) without the rest of the provider's economics: its
    rows, differences, benchmark figures, the provider's cost assumptions and the provider's parameters."""
    d = dict(section.data)
    d["headline_provider"] = ""
    d["efficiency"] = ""  # the social cost holds the provider's delivery cost
    d["switching_social"] = ""
    d["verdict"] = [{**r, "social": ""} for r in d["verdict"]]
    d["risk"] = [r for r in d["risk"] if r["party"] == "client"]
    d["prices"] = d.get("prices_client", [])
    d["pricing"] = []
    d["rows"] = [r for r in d["rows"] if not r["metric"].startswith(_PROVIDER_METRICS)]
    d["all_rows"] = [r for r in d["all_rows"] if not r["metric"].startswith(_PROVIDER_METRICS)]
    d["differences"] = [r for r in d["differences"] if not r["metric"].startswith(_PROVIDER_METRICS)]
    d["benchmarks"] = [r for r in d["benchmarks"] if r["figure"] not in _PROVIDER_FIGURES]
    d["key_assumptions"] = [a for a in d["key_assumptions"] if a["topic"] != "Provider's costs"]
    d["assumptions"] = [g for g in d["assumptions"] if g["section"] != SECTIONS["provider"]]
    return _Section(section.kind, section.key, section.title, section.scenario, d, section.charts)


def render_report(
    folder: Path, title: str | None = None, audience: str = "full", step: Callable[[str], None] | None = None
) -> str:
    """The report of every results folder found in ``folder`` (see :func:`find_results`) as HTML text, for
    ``audience`` (see :data:`AUDIENCES`); ``step`` is told each section as it starts."""

    if audience not in AUDIENCES:
        raise ReportError(f"--audience: '{audience}' is not one of {', '.join(AUDIENCES)}")
    found = find_results(Path(folder))
    left_out: list[str] = []
    if audience == "client":
        # Only the runs, built without the provider's charts, and calibrations (the client's own history, no
        # provider economics): the rest is never drawn.
        left_out = [_section_title(kind, path) for kind, path in found if kind not in _CLIENT_KINDS]
        found = [(kind, path) for kind, path in found if kind in _CLIENT_KINDS]
        if not found:
            raise ReportError(
                f"--audience client: {folder} holds no results of `msp-sim run` or `msp-sim calibrate`; the "
                "client's version of a report shows run comparisons and calibrations only (incentives, "
                "transitions and sweeps are the provider's)"
            )
    sections = []
    for i, (kind, path) in enumerate(found):
        if step is not None:
            step(_section_title(kind, path))
        if audience == "client" and kind == "run":
            sections.append(_for_client(_run_section(path, f"s{i}", client=True)))
        else:
            sections.append(_BUILDERS[kind](path, f"s{i}"))
    first = next((s for s in sections if s.kind == "run"), sections[0])
    env = Environment(
        loader=PackageLoader("simulator.outputs", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        version = metadata.version("msp-sim")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "dev"
    scenario = first.scenario
    if title is None and first.kind == "calibration":
        title = f"Your ticket history and its model: {scenario.name}"
    return env.get_template("report.html.j2").render(
        title=title or f"IT support options: {scenario.name if scenario else Path(folder).name}",
        description=scenario.description if scenario else "",
        sections=sections,
        first=first,
        audience=audience,
        left_out=left_out,
        generated=dt.date.today().isoformat(),
        version=version,
    )


def write_report(
    folder: Path,
    out: Path | None = None,
    title: str | None = None,
    audience: str = "full",
    step: Callable[[str], None] | None = None,
) -> Path:
    """Write the report of ``folder`` for ``audience`` to ``out`` (default: ``folder``/report.html) atomically;
    ``step`` is told each section as it starts."""
    folder = Path(folder)
    target = Path(out) if out is not None else folder / "report.html"
    html = render_report(folder, title, audience, step)
    write_text(target, html)
    return target
