"""The verdict table (verdict.csv) and the fee window (pricing.csv) of a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulator.config import Scenario, apply_overrides
from simulator.studies.run import Results, run_tasks, simulate

from .inputs import FEES, Input, default_inputs, fee_inputs, resolve_inputs
from .pricing import QUESTIONS, components_of, metric, price_task
from .search import Curve, bisect, interval, lowest, scan

__all__ = ["Verdict", "analyze_verdict", "verdict_inputs", "verdict_simulations"]


def verdict_inputs(scenario: Scenario) -> list[Input]:
    """The scenario's robustness inputs (its own, or the defaults), resolved and checked: a
    :class:`~simulator.config.ScenarioError` names a bad one."""
    settings = scenario.robustness
    specs = settings.inputs if settings.inputs is not None else default_inputs(scenario)
    return resolve_inputs(scenario, specs, "robustness.inputs")


def verdict_simulations(scenario: Scenario, replications: int) -> tuple[int, int]:
    """How many contract simulations the verdict adds to a run of ``replications``: (without a switch inside any
    re-simulated range, at most). One more pass over every replication (re-pricing), and for each re-simulated
    input its value in the scenario and the two ends, plus, where the verdict flips inside the range, the
    bisection steps of each question on each side."""
    settings = scenario.robustness
    resim = sum(1 for item in verdict_inputs(scenario) if item.method == "resimulate")
    searched = settings.replications or min(replications, 10)
    contracts = len(scenario.contracts)
    least = contracts * (replications + resim * 3 * searched)
    return least, least + contracts * resim * 4 * settings.steps * searched


@dataclass
class Verdict:
    """A run's verdict with its switching values (``table``, verdict.csv) and its fee window (``pricing``,
    pricing.csv); money per month."""

    scenario: Scenario
    table: pd.DataFrame
    pricing: pd.DataFrame


def _saving(means: np.ndarray, best: int) -> float:
    """How much less ``best`` costs than the lowest other contract (negative: more)."""
    others = np.delete(means, best)
    return float(others.min() - means[best]) if len(others) else float("nan")


def _row(
    scenario: Scenario,
    item: Input,
    question: str,
    curve: Curve,
    best: int,
    below: tuple[float, int, float] | None,
    above: tuple[float, int, float] | None,
    replications: int,
) -> dict[str, Any]:
    names = [c.name for c in scenario.contracts]
    months = scenario.measured_months

    def side(found: tuple[float, int, float] | None) -> tuple[float, str, float]:
        return (found[0], names[found[1]], found[2]) if found else (float("nan"), "", float("nan"))

    b_value, b_winner, b_precision = side(below)
    a_value, a_winner, a_precision = side(above)

    def ci(found: tuple[float, int, float] | None) -> tuple[float, float]:
        if found is None or item.method != "reprice":
            return float("nan"), float("nan")
        return interval(curve, found[0], question, best, found[1])

    b_low, b_high = ci(below)
    a_low, a_high = ci(above)
    moves = any(
        not np.allclose(metric(curve.at(x), question), metric(curve.at(item.base), question), rtol=1e-12)
        for x in curve.values
    )
    found = [
        f"{words} {value:.6g}{f' ± {precision:.2g}' if precision else ''}: {winner} lowest"
        for words, (value, winner, precision) in (
            ("below", (b_value, b_winner, b_precision)),
            ("above", (a_value, a_winner, a_precision)),
        )
        if np.isfinite(value)
    ]
    finding = "; ".join(found) if found else ("none within range" if moves else "no effect")
    return {
        "input": item.label,
        "question": question,
        "metric": QUESTIONS[question],
        "paths": item.paths,
        "method": item.method,
        "unit": item.unit or "",
        "scale": item.scale,
        "money": item.money,
        "integer": item.integer,
        "base_value": item.base,
        "low": item.low,
        "high": item.high,
        "lowest_at_base": names[best],
        "finding": finding,
        "switch_below": b_value,
        "lowest_below": b_winner,
        "precision_below": b_precision,
        "switch_below_ci_low": b_low,
        "switch_below_ci_high": b_high,
        "switch_above": a_value,
        "lowest_above": a_winner,
        "precision_above": a_precision,
        "switch_above_ci_low": a_low,
        "switch_above_ci_high": a_high,
        "affects": moves,
        "saving_per_month_at_low": _saving(curve.means(item.low, question), best) / months,
        "saving_per_month_at_base": _saving(curve.means(item.base, question), best) / months,
        "saving_per_month_at_high": _saving(curve.means(item.high, question), best) / months,
        "replications": replications,
    }


def _fee_window(scenario: Scenario, item: Input, curve: Curve, target: float) -> dict[str, Any]:
    """One managed contract's fee window from its re-priced fee: the fee at which the client pays as much in
    all (fees and downtime) as under its cheapest other contract, the fee that gives the provider the target
    gross margin, and the quoted fee's saving."""
    path = item.fields[0][0]
    c = int(path.split(".")[1])
    contract = scenario.contracts[c]
    grid = np.array(sorted(curve.values))
    client = np.array([curve.means(x, "client") for x in grid])  # (values, contracts)
    others = np.delete(client, c, axis=1)
    alternatives = [o.name for i, o in enumerate(scenario.contracts) if i != c]
    at_base = grid == item.base
    gap = client[:, c] - others.min(axis=1)  # < 0: this contract costs the client less
    revenue = np.array([curve.at(x)[:, c, 0].mean() for x in grid])
    cost = float(curve.at(item.base)[:, c, 2].mean())
    needed = cost / (1.0 - target)  # revenue at which (revenue − cost) / revenue = target
    unit = {name: words for name, _, words in FEES}[path.split(".")[-1]]
    months = scenario.measured_months
    return {
        "contract": contract.name,
        "fee_field": path.split(".")[-1],
        "unit": unit,
        "quoted_fee": item.base,
        "low": item.low,
        "high": item.high,
        "client_break_even_fee": _root(grid, gap),
        "target_gross_margin": target,
        "target_margin_fee": _root(grid, revenue - needed),
        "provider_break_even_fee": _root(grid, revenue - cost),
        "alternative": alternatives[int(np.argmin(others[at_base][0]))] if alternatives else "",
        "client_saving_per_month_at_quoted": -float(gap[at_base][0]) / months
        if alternatives
        else float("nan"),
        "provider_gross_margin_at_quoted": float((revenue[at_base][0] - cost) / revenue[at_base][0])
        if revenue[at_base][0]
        else float("nan"),
    }


def _is_fee(item: Input) -> bool:
    """Whether an input sets one managed contract's fee (so it gives a fee window)."""
    keys = item.fields[0][0].split(".")
    return (
        len(item.fields) == 1
        and not item.scale
        and keys[0] == "contracts"
        and keys[-1] in {f for f, _, _ in FEES}
    )


def _root(grid: np.ndarray, y: np.ndarray) -> float:
    """The first value where ``y`` (increasing in the grid, piecewise linear) crosses zero, by linear
    interpolation between the grid points around it; NaN when it does not within the grid."""
    for i in range(1, len(grid)):
        if (y[i - 1] < 0) != (y[i] < 0) or y[i - 1] == 0:
            if y[i] == y[i - 1]:
                return float(grid[i - 1])
            return float(grid[i - 1] + (grid[i] - grid[i - 1]) * (-y[i - 1]) / (y[i] - y[i - 1]))
    return float("nan")


def analyze_verdict(
    results: Results,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Verdict:
    """The switching values of the run's decisive inputs and the fee window of each managed contract, on the
    run's seed and replications (re-priced) or ``robustness.replications`` of them (re-simulated).

    ``progress(done, total)`` is called as work finishes (the total is an upper bound until the end)."""
    scenario = results.scenario
    settings = scenario.robustness
    inputs = verdict_inputs(scenario)
    extra = fee_inputs(scenario, inputs)
    reprice = [i for i in inputs if i.method == "reprice"] + extra
    resim = [i for i in inputs if i.method == "resimulate"]
    n = int(results.replications["replication"].nunique())
    seed = int(results.replications["seed"].iloc[0])
    r_search = settings.replications or min(n, 10)
    total = n + len(resim) * (3 + 4 * settings.steps)
    done = 0

    def tick(k: int = 1) -> None:
        nonlocal done
        done += k
        if progress:
            progress(min(done, total), total)

    data = scenario.model_dump(mode="json", by_alias=True)
    grids = [(item, item.values(settings.points)) for item in reprice]
    variants = [
        Scenario.model_validate(apply_overrides(data, item.overrides(float(x))))
        for item, g in grids
        for x in g
    ]
    chunks = [
        list(c) for c in np.array_split(np.arange(n), min(n, 1 if workers == 1 else 4 * max(workers, 2)))
    ]
    tasks = [(scenario, variants, [int(r) for r in chunk], seed) for chunk in chunks if len(chunk)]
    sizes = iter([len(t[2]) for t in tasks])
    priced = np.concatenate(
        run_tasks(price_task, tasks, workers, lambda: tick(next(sizes)))
    )  # (replications, 1 + variants, contracts, COMPONENTS)
    rows: list[dict[str, Any]] = []
    pricing: list[dict[str, Any]] = []
    k = 1
    at_base = priced[:, 0]
    for item, grid in grids:
        curve = Curve()
        for x in grid:
            curve.add(float(x), priced[:, k])
            k += 1
        if item.shown:
            for question in QUESTIONS:
                best = lowest(metric(at_base, question).mean(axis=0))
                rows.append(
                    _row(
                        scenario,
                        item,
                        question,
                        curve,
                        best,
                        scan(curve, item.base, question, best, -1),
                        scan(curve, item.base, question, best, +1),
                        n,
                    )
                )
        if _is_fee(item):
            pricing.append(_fee_window(scenario, item, curve, scenario.provider.target_gross_margin))
    for item in resim:
        curve = Curve()

        def evaluate(x: float, item: Input = item, curve: Curve = curve) -> None:
            if x in curve.values:
                return
            variant = Scenario.model_validate(apply_overrides(data, item.overrides(x)))
            sim = simulate(variant, replications=r_search, seed=seed, workers=workers)
            curve.add(x, components_of(sim))
            tick()

        evaluate(item.base)
        for question in QUESTIONS:
            best = lowest(curve.means(item.base, question))
            below = bisect(curve, evaluate, item, item.low, question, best, settings.steps)
            above = bisect(curve, evaluate, item, item.high, question, best, settings.steps)
            rows.append(_row(scenario, item, question, curve, best, below, above, r_search))
    if progress:
        progress(done, done)  # the work there was (the total was an upper bound)
    position = {item.label: i for i, item in enumerate(inputs)}
    rows.sort(key=lambda row: (_QORDER[row["question"]], position[row["input"]]))
    table = pd.DataFrame(rows)
    return Verdict(scenario=scenario, table=table, pricing=pd.DataFrame(pricing))


_QORDER = {q: i for i, q in enumerate(QUESTIONS)}
