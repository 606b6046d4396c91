"""Estimating a scenario's incident sections from a ticket history.

What a history shows is the *tickets* the current provider saw under its contract, not every incident: under
break/fix the staff call in only a share of what goes wrong, monitoring fixes some incidents with no ticket,
prevention and a security stack stop some. So each category's incident rate is its ticket rate divided by the
share of its incidents that become tickets under the contract the history was recorded under (``recorded``, a
contract of the base scenario), worked out from the base's behaviours and that contract's levers exactly as the
engine routes incidents. Hands-on hours are divided by the contract's effort factor (thoroughness, tooling), the
on-site share by what monitoring turns into remote work, a reopen rate multiplied back to thoroughness 1.

Every estimate has a 95% interval: exact Poisson intervals for rates, t intervals for means, Wilson intervals for
shares. Fitted values become :class:`Change` entries (a path in the scenario file, the value, a comment with the
estimate, its interval and the sample size) that :mod:`.scenario_file` writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.config import Scenario, load_scenario
from simulator.config.sections import MAJOR
from simulator.engine.incidents import client_table
from simulator.engine.plan import Levers, Plan, contract_levers

from .export import ClientSize, History
from .families import MIN_FIT, fit_family, mean_interval, to_distribution

__all__ = [
    "Calibration",
    "CalibrationError",
    "Change",
    "ClientSize",
    "calibrate",
    "clock_hours",
    "effort_factor",
    "monday",
    "report_shares",
]

LEVEL = 0.95
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0


class CalibrationError(ValueError):
    """Inputs that cannot be calibrated together (clients, base scenario, contract); the message says the fix."""


@dataclass(frozen=True)
class Change:
    """A fitted value: where it goes in the scenario file, the value, and the comment beside it."""

    path: tuple[Any, ...]
    value: Any
    comment: str = ""
    remove: bool = False  # the key is taken out instead (a priority from impact replaced by a mix)


@dataclass
class Calibration:
    """What a history says, and the changes it makes to the base scenario."""

    history: History
    base: Scenario
    recorded: str
    clients: pd.DataFrame  # client, users, endpoints, servers, sites, months, tickets
    rates: pd.DataFrame
    effort: pd.DataFrame
    priorities: pd.DataFrame
    shares: pd.DataFrame  # category, measure (onsite/parts), n, k, share, low, high, written, base
    parts_cost: pd.DataFrame
    recurrence: dict[str, Any]
    arrival: pd.DataFrame
    service: pd.DataFrame
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def months(self) -> float:
        """Length of the window [months of 730 hours]."""
        return self.history.days / DAYS_PER_MONTH


def clock_hours(times: pd.Series | np.ndarray, epoch: pd.Timestamp) -> np.ndarray:
    """Local wall times as the engine's clock: hours since ``epoch`` (a Monday 00:00)."""
    return np.asarray((pd.to_datetime(pd.Series(times)) - epoch) / pd.Timedelta(hours=1), dtype=float)


def monday(t: pd.Timestamp) -> pd.Timestamp:
    """The Monday 00:00 on or before ``t`` (the engine's clock starts on a Monday)."""
    t = t.normalize()
    return t - pd.Timedelta(days=int(t.weekday()))


def _poisson(count: float, exposure: float) -> tuple[float, float, float]:
    """Rate and exact (Garwood) 95% interval of ``count`` events over ``exposure``."""
    a = 1 - LEVEL
    low = stats.chi2.ppf(a / 2, 2 * count) / 2 if count > 0 else 0.0
    high = stats.chi2.ppf(1 - a / 2, 2 * count + 2) / 2
    return count / exposure, low / exposure, high / exposure


def _wilson(k: int, n: int) -> tuple[float, float, float]:
    if n == 0:
        return math.nan, math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(LEVEL, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def _g(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _ci(low: float, high: float) -> str:
    return f"95% CI {_g(low)}-{_g(high)}"


# ----------------------------------------------------------------------------------------------- clients


def _clients(history: History, sizes: list[ClientSize]) -> pd.DataFrame:
    names = [c.name for c in sizes]
    if len(set(names)) != len(names):
        raise CalibrationError("the clients file names a client twice; give each client once")
    seen = set(history.tickets["client"])
    missing = sorted(seen - set(names))
    if missing:
        shown = ", ".join(f"'{m}'" for m in missing[:8])
        if len(sizes) == 1 and names == ["client"]:
            raise CalibrationError(
                f"{history.source}: the export holds tickets of {len(seen)} clients ({shown}) and --users/--endpoints "
                "give one client's size. Fix: give every client's size with --clients CLIENTS.csv (columns client, "
                "users, endpoints, and optionally servers, sites, start, end), or leave columns.client out of the "
                "map to count the export as one client of that size."
            )
        raise CalibrationError(
            f"{history.source}: tickets of {len(missing)} clients the clients file does not list ({shown}). Fix: "
            "add them to the clients file with their users and endpoints (names as the export writes them)."
        )
    rows = []
    for c in sizes:
        start = max(history.start, c.start) if c.start is not None else history.start
        end = min(history.end, c.end) if c.end is not None else history.end
        months = max((end - start) / pd.Timedelta(days=1), 0.0) / DAYS_PER_MONTH
        rows.append(
            {
                "client": c.name,
                "users": c.users,
                "endpoints": c.endpoints,
                "servers": c.servers,
                "sites": c.sites,
                "months": months,
                "tickets": int((history.tickets["client"] == c.name).sum()),
            }
        )
    frame = pd.DataFrame(rows)
    if (frame["months"] <= 0).any():
        bad = frame.loc[frame["months"] <= 0, "client"].iloc[0]
        raise CalibrationError(
            f"client '{bad}' was not a client during the export's window ({history.start:%Y-%m-%d} to "
            f"{history.end:%Y-%m-%d}). Fix: correct its start and end in the clients file, or leave it out."
        )
    return frame


def client_segments(base_data: dict[str, Any], clients: pd.DataFrame) -> list[dict[str, Any]]:
    """One segment (count 1) per client of the history, its size from the clients and everything else (costs,
    behaviours) from the base scenario's first segment; no incident propensity (the history is this client's)."""
    template = dict(base_data["clients"][0])
    template.pop("incident_propensity", None)
    out = []
    for row in clients.to_dict("records"):
        seg = dict(template)
        seg.update(
            name=str(row["client"]),
            count=1,
            users=int(row["users"]),
            endpoints=int(row["endpoints"]),
            servers=int(row["servers"]),
            sites=int(row["sites"]),
        )
        out.append(seg)
    return out


# ----------------------------------------------------------------------------------------------- report shares


def report_shares(scenario: Scenario, recorded: str, levers: Levers | None = None) -> pd.DataFrame:
    """For each category (major last) and client: the share of its incidents (at the base rate) that become a
    ticket under the contract ``recorded``, and the parts of it: prevention's survival, the security stack's, and
    the share of those left that are neither fixed by monitoring nor worked around by the staff. As the engine
    routes them (see :func:`simulator.engine.routing.route`): a detected incident is a ticket unless monitoring
    fixes it; a site-wide one always is; otherwise blocking ones are called in at the behaviour's blocking share,
    the others at its (price-responsive) share. ``levers`` are the contract's (worked out when not given)."""
    clients = client_table(scenario)
    levers = levers if levers is not None else _levers(scenario, recorded)
    if levers.client_it.used:
        raise CalibrationError(
            f"--recorded-under {recorded}: a co-managed contract, whose client IT takes tickets the history would "
            "not show in a way the export cannot tell apart. Fix: name the contract the history was recorded under "
            "without co-management."
        )
    k = int(levers.managed[0])
    e = float(levers.prevention[0])
    mon = bool(levers.monitoring[0])
    cats = scenario.incidents.categories
    major = scenario.incidents.major
    rows = []
    for s in range(clients.count):
        seg = int(clients.segment[s])
        for j in range(len(cats) + 1):
            if j < len(cats):
                c = cats[j]
                p, theta, d = c.preventable, c.theta, c.detectable * mon
                a = c.auto_remediable
                if c.scope == "site":
                    ticket = 1.0 - d * a
                else:
                    cn = (
                        float(levers.call_in_priced[0, seg, j])
                        if levers.call_in_priced is not None
                        else float(levers.call_in[k, seg])
                    )
                    cb = float(levers.call_in_blocking[k, seg])
                    b = c.blocking_share
                    ticket = d * (1 - a) + (1 - d) * (b * cb + (1 - b) * cn)
                name = c.name
            else:
                p, theta, ticket, name = major.preventable, major.theta, 1.0, MAJOR
            prevented = p * -math.expm1(-theta * e)
            survival = float(levers.security.survival[0, j]) if levers.security.used else 1.0
            rows.append(
                {
                    "client": s,
                    "category": name,
                    "prevention": 1.0 - prevented,
                    "security": survival,
                    "reported": ticket,
                    "share": (1.0 - prevented) * survival * ticket,
                }
            )
    return pd.DataFrame(rows)


def _levers(scenario: Scenario, recorded: str) -> Levers:
    contract = next(c for c in scenario.contracts if c.name == recorded)
    return contract_levers(
        scenario, Plan.constant(contract, client_table(scenario).count, scenario.horizon_months)
    )


def effort_factor(scenario: Scenario, recorded: str) -> float:
    """Hands-on hours per hour of effort at thoroughness 1 without tooling under ``recorded`` (tooling at full
    rollout)."""
    contract = next(c for c in scenario.contracts if c.name == recorded)
    tools = scenario.provider.tools_effort_factor if contract.policy.monitoring else 1.0
    return float(contract.policy.thoroughness * tools)


# ----------------------------------------------------------------------------------------------- calibration


def _unit(cat: dict[str, Any]) -> tuple[str, str]:
    for key, unit in (
        ("rate_per_site_month", "site-month"),
        ("rate_per_endpoint_month", "endpoint-month"),
        ("rate_per_user_month", "user-month"),
    ):
        if cat.get(key) is not None:
            return key, unit
    return "rate_per_user_month", "user-month"


def calibrate(
    history: History,
    base: Scenario,
    base_data: dict[str, Any],
    recorded: str | None = None,
    sizes: list[ClientSize] | None = None,
) -> Calibration:
    """Estimate the incident sections of ``base`` from ``history``; ``base_data`` is the base file's YAML data (the
    changes are paths into it). ``recorded`` is the contract the history was recorded under (default the base's
    reference contract); ``sizes`` the history's clients (default: one client the size of the base's first
    segment)."""
    recorded = recorded or base.reference
    names = [c.name for c in base.contracts]
    if recorded not in names:
        raise CalibrationError(
            f"--recorded-under '{recorded}' is not a contract of the base scenario ({', '.join(names)}). Fix: name "
            "the contract the history was recorded under (its calls, levers and effort are what the history shows)."
        )
    if sizes is None:
        first = base.clients[0]
        sizes = [ClientSize("client", first.users, first.endpoints, first.servers, first.sites)]
    t = history.tickets
    clients = _clients(history, sizes)
    changes: list[Change] = []
    notes: list[str] = []
    data = dict(base_data)
    data["clients"] = client_segments(base_data, clients)
    changes.append(
        Change(("clients",), data["clients"], "the clients of the history (sizes from the clients given)")
    )
    categories = [dict(c) for c in base_data["incidents"]["categories"]]
    n_hist = len(t)
    months = history.days / DAYS_PER_MONTH
    factor = effort_factor(base, recorded)
    contract = next(c for c in base.contracts if c.name == recorded)
    monitored = contract.policy.monitoring

    effort_rows, share_rows, prio_rows, parts_rows = [], [], [], []
    for i, cat in enumerate(categories):
        name = cat["name"]
        ct = t[t["category"] == name]
        at = ("incidents", "categories", i)
        # effort
        hours = ct["hours"].to_numpy(dtype=float) / factor
        positive = hours[np.isfinite(hours) & (hours > 0)]
        zero = int((np.isfinite(hours) & (hours == 0)).sum())
        row = _effort_row(name, positive, zero, base.incidents.categories[i].effort_hours.model_dump())
        effort_rows.append(row)
        if row["written"]:
            changes.append(Change((*at, "effort_hours"), row["spec"], row["comment"]))
            cat["effort_hours"] = row["spec"]
        # on-site share
        known = ct["onsite"].dropna()
        if len(known):
            k = int(known.sum())
            share, low, high = _wilson(k, len(known))
            shift = base.incidents.categories[i].remote_with_monitoring if monitored else 0.0
            keep = max(1.0 - shift, 1e-9)
            value = min(1.0, share / keep)
            note = f"; on-site tickets / {keep:g} (monitoring's remote share)" if monitored else ""
            changes.append(
                Change(
                    (*at, "onsite_share"),
                    round(value, 4),
                    f"history {k}/{len(known)} on site = {_g(share)}, {_ci(low, high)}{note}",
                )
            )
            share_rows.append(
                _share_row(name, "onsite", len(known), k, share, low, high, value, cat, "onsite_share")
            )
            cat["onsite_share"] = round(value, 4)
        # parts
        parts = ct["parts_cost"].dropna().to_numpy(dtype=float)
        if len(parts) and "parts_cost" in history.given:
            with_parts = parts[parts > 0]
            k = len(with_parts)
            share, low, high = _wilson(k, len(parts))
            spec, comment, fitted = _parts_spec(with_parts, cat.get("parts", {}))
            new_parts = {"probability": round(share, 4), "cost": spec}
            changes.append(
                Change(
                    (*at, "parts"),
                    new_parts,
                    f"history {k}/{len(parts)} tickets with parts = {_g(share)}, {_ci(low, high)}; cost {comment}",
                )
            )
            base_prob = float(base.incidents.categories[i].parts.probability)
            share_rows.append(
                {
                    "category": name,
                    "measure": "parts",
                    "n": len(parts),
                    "k": k,
                    "share": share,
                    "low": low,
                    "high": high,
                    "written": share,
                    "base": base_prob,
                }
            )
            parts_rows.append({"category": name, **fitted})
            cat["parts"] = new_parts
        # priority mix
        known_p = ct.loc[ct["priority"] > 0, "priority"]
        if len(known_p):
            counts = np.bincount(known_p.to_numpy(dtype=int), minlength=5)[1:]
            mix = _mix(counts)
            for p in range(4):
                s, lo, hi = _wilson(int(counts[p]), int(counts.sum()))
                prio_rows.append(
                    {
                        "category": name,
                        "priority": f"P{p + 1}",
                        "tickets": int(counts[p]),
                        "share": s,
                        "low": lo,
                        "high": hi,
                    }
                )
            shown = ", ".join(f"P{p + 1} {int(counts[p])}" for p in range(4))
            was = (
                "priority from impact replaced by the history's mix; "
                if cat.get("priority") is not None
                else ""
            )
            if cat.get("priority") is not None:
                changes.append(Change((*at, "priority"), None, remove=True))
            changes.append(
                Change((*at, "priority_mix"), mix, f"{was}history {shown} of {int(counts.sum())} tickets")
            )
            cat.pop("priority", None)
            cat["priority_mix"] = mix

    # The share of incidents that become tickets, with the fitted categories (its price response uses their
    # effort) and the history's clients.
    data["incidents"] = {**base_data["incidents"], "categories": categories}
    interim = load_scenario(data)
    levers = _levers(interim, recorded)
    shares = report_shares(interim, recorded, levers)
    rate_rows = []
    cl_exposure = {
        "user-month": (clients["users"] * clients["months"]).to_numpy(),
        "endpoint-month": (clients["endpoints"] * clients["months"]).to_numpy(),
        "site-month": (clients["sites"] * clients["months"]).to_numpy(),
        "client-year": (clients["months"] / 12.0).to_numpy(),
    }
    new = t[~t["recurrence"]]
    for i, cat in enumerate(categories):
        key, unit = _unit(cat)
        row = _rate_row(cat["name"], unit, new, shares, cl_exposure[unit], float(cat.get(key) or 0.0))
        extra = _extra_requests(interim, levers, cat["name"], cl_exposure["user-month"])
        if extra > 0:
            row["note"] = f"less {extra:.0f} expected extra requests (over-use of free calls)"
            row["tickets_net"] = max(row["tickets"] - extra, 0.0)
            row.update(_rates(row["tickets_net"], row["exposure"], row["report_share"]))
        rate_rows.append(row)
        if row["tickets"] > 0:
            value = float(f"{row['rate']:.4g}")
            changes.append(
                Change(
                    ("incidents", "categories", i, key),
                    value,
                    f"history {row['tickets']} new tickets over {_g(row['exposure'])} {unit}s = "
                    f"{_g(row['ticket_rate'])} tickets/{unit} ({_ci(row['ticket_low'], row['ticket_high'])}) / "
                    f"{_g(row['report_share'])} of incidents ticketed under {recorded} = {_g(row['rate'])} "
                    f"({_ci(row['rate_low'], row['rate_high'])})",
                )
            )
        else:
            notes.append(
                f"{cat['name']}: no tickets in the history; the base's rate is kept (the history's 95% upper bound "
                f"is {_g(row['rate_high'])} per {unit})"
            )
    major_row = _rate_row(MAJOR, "client-year", new, shares, cl_exposure["client-year"], math.nan)
    major_base = base.incidents.major.annual_probability
    major_row["base_rate"] = -math.log1p(-major_base) if major_base < 1 else math.inf
    rate_rows.append(major_row)
    if major_row["tickets"] > 0:
        prob = -math.expm1(-major_row["rate"])
        changes.append(
            Change(
                ("incidents", "major", "annual_probability"),
                float(f"{min(prob, 0.999):.4g}"),
                f"history {major_row['tickets']} major incidents over {_g(major_row['exposure'])} client-years "
                f"= {_g(major_row['rate'])} a year ({_ci(major_row['rate_low'], major_row['rate_high'])}); "
                "P(at least one) = 1 - exp(-rate)",
            )
        )
        mt = t[t["category"] == MAJOR]
        hours = mt["hours"].to_numpy(dtype=float) / factor
        positive = hours[np.isfinite(hours) & (hours > 0)]
        zero = int((np.isfinite(hours) & (hours == 0)).sum())
        row = _effort_row(MAJOR, positive, zero, base.incidents.major.effort_hours.model_dump())
        effort_rows.append(row)
        if row["written"]:
            changes.append(Change(("incidents", "major", "effort_hours"), row["spec"], row["comment"]))

    recurrence = _recurrence(history, base, contract, changes, notes)
    notes += _staffing_notes(base, clients)
    if "hours" not in history.given:
        notes.append("the map gives no hours column: effort distributions are the base's")
    if "onsite" not in history.given:
        notes.append("the map gives no on-site column: on-site shares are the base's")
    notes.append(
        f"rates assume the base's behaviours under {recorded} (call-in shares, blocking shares, reporting): the "
        "history shows tickets, and what share of incidents became tickets is the base's assumption"
    )
    return Calibration(
        history=history,
        base=base,
        recorded=recorded,
        clients=clients,
        rates=pd.DataFrame(rate_rows),
        effort=pd.DataFrame(effort_rows).drop(columns=["spec", "comment"]),
        priorities=pd.DataFrame(
            prio_rows, columns=["category", "priority", "tickets", "share", "low", "high"]
        ),
        shares=pd.DataFrame(
            share_rows, columns=["category", "measure", "n", "k", "share", "low", "high", "written", "base"]
        ),
        parts_cost=pd.DataFrame(parts_rows),
        recurrence=recurrence,
        arrival=_arrival(history, base),
        service=_service(history, base),
        changes=changes,
        notes=notes + _history_notes(history, n_hist, months),
    )


def _staffing_notes(base: Scenario, clients: pd.DataFrame) -> list[str]:
    """A note when the base's contracts are staffed for a portfolio of a very different size than the history's
    clients (their technicians are kept as the base has them)."""
    base_endpoints = sum(seg.count * seg.endpoints for seg in base.clients)
    endpoints = int(clients["endpoints"].sum())
    if not base_endpoints or not endpoints or 0.5 <= endpoints / base_endpoints <= 2.0:
        return []
    staffed = ", ".join(f"{c.policy.technicians} under {c.name}" for c in base.contracts)
    return [
        f"the contracts, their prices and their staffing are the base's, staffed for its {base_endpoints:,} "
        f"endpoints (technicians: {staffed}); the history's clients have {endpoints:,}: set each contract's "
        "policy.technicians to what serving them takes"
    ]


def _history_notes(history: History, n: int, months: float) -> list[str]:
    out = []
    if history.unusable_rows:
        out.append(f"{history.unusable_rows:,} export rows were not usable (reasons in unusable.csv)")
    if history.left_out_rows:
        out.append(f"{history.left_out_rows:,} rows were left out by the map (left_out.csv)")
    return out


def _effort_row(name: str, positive: np.ndarray, zero: int, base_spec: dict[str, Any]) -> dict[str, Any]:
    n = len(positive)
    mean, low, high = mean_interval(positive)
    row: dict[str, Any] = {
        "category": name,
        "n": n,
        "zero_hours": zero,
        "mean": mean,
        "mean_low": low,
        "mean_high": high,
        "sd": float(positive.std(ddof=1)) if n > 1 else math.nan,
        "family": base_spec["dist"],
        "fitted_mean": math.nan,
        "fitted_cv": math.nan,
        "ks": math.nan,
        "written": n > 0,
        "base_mean": _dist_mean(base_spec),
        "spec": None,
        "comment": "",
    }
    for f in ("exponential", "gamma", "lognormal"):
        row[f"aic_{f}"] = math.nan
    if n == 0:
        return row
    zeros = f"; {zero} ticket{'s' if zero != 1 else ''} with 0 hours left out" if zero else ""
    if n >= MIN_FIT:
        fit = fit_family(positive)
        row.update(family=fit.family, fitted_mean=fit.mean, fitted_cv=fit.cv, ks=fit.ks)
        for f, a in fit.aic.items():
            row[f"aic_{f}"] = a
        row["spec"] = fit.spec()
        ranked = sorted(fit.aic, key=lambda f: fit.aic[f])
        others = ", ".join(f"{f} +{fit.aic[f] - fit.aic[ranked[0]]:.1f}" for f in ranked[1:])
        row["comment"] = (
            f"history mean {_g(mean)} h ({_ci(low, high)}), n = {n}; {fit.family} by likelihood (AIC vs "
            f"{others or 'no other'}), KS distance {fit.ks:.3f}{zeros}"
        )
    else:
        cv = float(base_spec.get("cv", 1.0 if base_spec["dist"] == "exponential" else 0.0))
        family = base_spec["dist"] if base_spec["dist"] != "uniform" else "lognormal"
        row.update(family=family, fitted_mean=mean, fitted_cv=cv)
        row["spec"] = to_distribution(family, mean, cv or 0.5)
        row["comment"] = (
            f"history mean {_g(mean)} h ({_ci(low, high)}), n = {n}: too few to choose a family, the base's kept"
            f"{zeros}"
        )
    return row


def _dist_mean(spec: dict[str, Any]) -> float:
    if spec["dist"] == "uniform":
        return (spec["low"] + spec["high"]) / 2
    return float(spec["mean"])


def _share_row(
    name: str,
    measure: str,
    n: int,
    k: int,
    share: float,
    low: float,
    high: float,
    value: float,
    cat: dict[str, Any],
    key: str,
) -> dict[str, Any]:
    return {
        "category": name,
        "measure": measure,
        "n": n,
        "k": k,
        "share": share,
        "low": low,
        "high": high,
        "written": value,
        "base": cat.get(key, math.nan),
    }


def _parts_spec(values: np.ndarray, base_parts: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    n = len(values)
    mean, low, high = mean_interval(values)
    fitted = {"n": n, "mean": mean, "low": low, "high": high, "family": "", "ks": math.nan}
    if n >= MIN_FIT:
        fit = fit_family(values)
        fitted.update(family=fit.family, ks=fit.ks, fitted_mean=fit.mean, fitted_cv=fit.cv)
        return fit.spec(), f"mean {_g(mean)} ({_ci(low, high)}), {fit.family} by likelihood", fitted
    if n == 0:
        cost = base_parts.get("cost", {"dist": "fixed", "mean": 0.0})
        return cost, "as the base (no parts in the history)", fitted
    fitted.update(family="fixed")
    return (
        {"dist": "fixed", "mean": float(f"{mean:.4g}")},
        f"mean {_g(mean)} of {n}: too few for a family",
        fitted,
    )


def _mix(counts: np.ndarray) -> dict[str, float]:
    shares = np.round(counts / counts.sum(), 4)
    shares[int(np.argmax(shares))] += 1.0 - shares.sum()
    return {f"P{p + 1}": float(round(shares[p], 6)) for p in range(4) if counts[p] > 0 or shares[p] > 0}


def _rates(count: float, exposure: float, report: float) -> dict[str, float]:
    r, lo, hi = _poisson(count, exposure)
    return {
        "ticket_rate": r,
        "ticket_low": lo,
        "ticket_high": hi,
        "rate": r / report if report > 0 else math.nan,
        "rate_low": lo / report if report > 0 else math.nan,
        "rate_high": hi / report if report > 0 else math.nan,
    }


def _rate_row(
    name: str,
    unit: str,
    new: pd.DataFrame,
    shares: pd.DataFrame,
    exposure_by_client: np.ndarray,
    base_rate: float,
) -> dict[str, Any]:
    exposure = float(exposure_by_client.sum())
    by_client = shares[shares["category"] == name].sort_values("client")["share"].to_numpy()
    report = float((by_client * exposure_by_client).sum() / exposure) if exposure > 0 else math.nan
    count = int((new["category"] == name).sum())
    return {
        "category": name,
        "unit": unit,
        "tickets": count,
        "exposure": exposure,
        "report_share": report,
        **_rates(count, exposure, report),
        "base_rate": base_rate,
        "note": "",
    }


def _extra_requests(scenario: Scenario, levers: Levers, category: str, user_months: np.ndarray) -> float:
    """Expected extra requests (over-use of free calls) in ``category`` over the history, under the recorded
    contract (its ``levers``): they are tickets with no incident behind them, on top of the rate (see
    ``Behaviour.extra_requests_per_user_month``)."""
    names = [c.name for c in scenario.incidents.categories]
    if levers.free_call is None or category not in names or not levers.free_call[0, names.index(category)]:
        return 0.0
    managed = bool(levers.managed[0])
    total = 0.0
    for seg, months in zip(scenario.clients, user_months, strict=True):
        b = seg.managed if managed else seg.break_fix
        if b.over_uses and b.extra_request_category == category:
            total += b.extra_requests_per_user_month * float(months)
    return total


def _recurrence(
    history: History, base: Scenario, contract: Any, changes: list[Change], notes: list[str]
) -> dict[str, Any]:
    """The probability that a fix at thoroughness 1 recurs: recurrences seen over the fixes that could have
    recurred within the window (each fix weighted by the chance that its recurrence, after the base's delay in
    business hours, falls before the window ends), multiplied back from the contract's thoroughness."""
    t = history.tickets
    rec = base.provider.recurrence
    out: dict[str, Any] = {"observed": False, "base": rec.probability}
    if "parent" not in history.given:
        notes.append("the map gives no parent column: the reopen probability is the base's")
        return out
    cal = base.calendar.users()
    epoch = monday(history.start)
    fixed = t[t["resolved"].notna()]
    left = cal.business_hours_between(
        clock_hours(fixed["resolved"], epoch), clock_hours(pd.Series([history.end] * len(fixed)), epoch)
    )
    weights = np.asarray(_delay_cdf(rec.delay_hours, np.maximum(left, 0.0)))
    exposure = float(weights.sum())
    count = int(t["recurrence"].sum())
    if exposure <= 0:
        return out
    p, lo, hi = _poisson(count, exposure)
    k = contract.policy.thoroughness
    scale = k**rec.thoroughness_elasticity
    value = min(1.0, p * scale)
    out.update(
        observed=True,
        recurrences=count,
        fixes=len(fixed),
        weight=exposure,
        share=p,
        low=lo,
        high=hi,
        probability=value,
    )
    note = f" x {scale:.3g} (thoroughness {k:g} back to 1)" if scale != 1 else ""
    changes.append(
        Change(
            ("provider", "recurrence", "probability"),
            float(f"{value:.4g}"),
            f"history {count} reopened of {len(fixed)} fixes ({exposure:.0f} that could recur within the window)"
            f" = {_g(p)} ({_ci(lo, hi)}){note}",
        )
    )
    return out


def _delay_cdf(spec: Any, x: np.ndarray) -> np.ndarray:
    from .families import cdf

    return np.asarray(cdf(spec)(x))  # type: ignore[operator]


def _arrival(history: History, base: Scenario) -> pd.DataFrame:
    """Tickets created by weekday and hour (local time), and whether that hour is within the base's business
    hours (the engine's incidents arrive within them; tickets of incidents monitoring catches or of site
    outages are created at once)."""
    created = history.tickets["created"]
    counts = pd.crosstab(created.dt.day_of_week, created.dt.hour).reindex(
        index=range(7), columns=range(24), fill_value=0
    )
    cal = base.calendar.users()
    rows = []
    for d in range(7):
        for h in range(24):
            rows.append(
                {
                    "weekday": d,
                    "hour": h,
                    "tickets": int(counts.to_numpy()[d, h]),
                    "business": bool(cal.is_open(24.0 * d + h + 0.5)),
                }
            )
    return pd.DataFrame(rows)


def _service(history: History, base: Scenario) -> pd.DataFrame:
    """Response and resolution times the current provider achieved, by priority: elapsed hours and business
    hours of the base's calendar (for comparison with the model and the contracts' targets, not inputs)."""
    t = history.tickets
    cal = base.calendar.users()
    epoch = monday(history.start)
    created = clock_hours(t["created"], epoch)
    rows = []
    for measure, column in (("response", "responded"), ("resolution", "resolved")):
        end = t[column]
        ok = end.notna().to_numpy()
        if not ok.any():
            continue
        business = np.full(len(t), np.nan)
        business[ok] = cal.business_hours_between(created[ok], clock_hours(end[ok], epoch))
        elapsed = t["resolution_hours" if measure == "resolution" else "response_hours"].to_numpy(dtype=float)
        for p in (0, 1, 2, 3, 4):
            m = ok & ((t["priority"].to_numpy() == p) if p else True)
            if not m.any():
                continue
            b, e = business[m], elapsed[m]
            rows.append(
                {
                    "measure": measure,
                    "priority": f"P{p}" if p else "all",
                    "tickets": int(m.sum()),
                    "median_business_hours": float(np.median(b)),
                    "mean_business_hours": float(b.mean()),
                    "p90_business_hours": float(np.quantile(b, 0.9)),
                    "median_hours": float(np.nanmedian(e)),
                    "p90_hours": float(np.nanquantile(e, 0.9)),
                }
            )
    return pd.DataFrame(rows)
