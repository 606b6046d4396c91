"""Re-pricing: the same replications billed, costed and valued again under variants of a scenario that change
only money (contracts are pure functions of the ticket log), and the two costs the verdict compares."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulator.config import Scenario
from simulator.contracts.billing import bill
from simulator.engine.incidents import client_table, generate_incidents
from simulator.engine.replication import ContractRun, simulate_contract
from simulator.metrics import billing_context, cost_ledger, monthly_flows
from simulator.studies.run import Results

__all__ = ["COMPONENTS", "QUESTIONS", "components_of", "downtime_rates", "metric", "price_task"]

QUESTIONS = {"client": "client_total_cost", "social": "social_cost"}
"""Question -> the metric whose lowest contract it asks about."""


COMPONENTS = ("fees", "downtime", "cost")
"""What re-pricing returns per contract: the client's payments net of credits, the client's downtime cost (with
its own IT's time under co-management) and the provider's service delivery cost, totals over the measured months
[currency]."""


def downtime_rates(scenario: Scenario, clients: Any, category: np.ndarray, client: np.ndarray) -> np.ndarray:
    """The value of a user-hour of each incident's downtime: site-scope and major incidents at the client's site
    outage cost, the others at its downtime cost [currency/user-hour] (as the engine values them)."""
    site = np.array([c.scope == "site" for c in scenario.incidents.categories] + [True])
    return np.where(site[category], clients.site_cost[client], clients.downtime_cost[client])


def _components(scenario: Scenario, contract: Any, run: ContractRun, ctx: Any, clients: Any) -> np.ndarray:
    """(fees, downtime, cost) of one contract's run priced under ``scenario`` (totals over the measured months)."""
    return np.array(
        [
            _fees(scenario, contract, run, ctx),
            _downtime(scenario, contract, run, ctx, clients),
            _cost(scenario, run, ctx),
        ]
    )


def _measured(scenario: Scenario, ctx: Any) -> np.ndarray:
    return np.arange(ctx.months) >= scenario.warmup_months


def _fees(scenario: Scenario, contract: Any, run: ContractRun, ctx: Any) -> float:
    ledger = bill(contract, run.tickets, run.prevention, ctx)
    flows = monthly_flows(ledger, run.tickets, ctx.months, scenario.provider.overhead)
    return float(flows.revenue[_measured(scenario, ctx)].sum())


def _cost(scenario: Scenario, run: ContractRun, ctx: Any) -> float:
    flows = monthly_flows(
        cost_ledger(scenario, run, ctx), run.tickets, ctx.months, scenario.provider.overhead
    )
    return float(flows.cost[_measured(scenario, ctx)].sum())


def _downtime(scenario: Scenario, contract: Any, run: ContractRun, ctx: Any, clients: Any) -> float:
    """The client's downtime cost and its own IT's time (co-managed), at the contract's price of that time."""
    log = run.tickets
    cost = log.downtime_user_hours * downtime_rates(scenario, clients, log.category, log.client)
    co = contract.co_management
    if co is not None:
        cost = cost + log.client_it_hours * co.client_it_cost_per_hour
    by_month = np.bincount(log.month, weights=cost, minlength=ctx.months).astype(float)
    return float(by_month[_measured(scenario, ctx)].sum())


def price_task(args: tuple[Scenario, list[Scenario], list[int], int]) -> np.ndarray:
    """Replications simulated once each and priced under the base scenario and each variant: shape
    (replications, 1 + variants, contracts, :data:`COMPONENTS`). A part a variant does not change (the contract,
    the clients' downtime values, the provider's costs) is taken from the base."""
    scenario, variants, replications, seed = args
    clients = client_table(scenario)
    ctx = billing_context(scenario, clients)
    tables = [None if v.clients == scenario.clients else client_table(v) for v in variants]
    same_provider = [v.provider == scenario.provider for v in variants]
    out = np.zeros((len(replications), 1 + len(variants), len(scenario.contracts), len(COMPONENTS)))
    for r, replication in enumerate(replications):
        incidents = generate_incidents(scenario, clients, replication, seed)
        for c, contract in enumerate(scenario.contracts):
            run = simulate_contract(scenario, contract, incidents, clients, seed, replication)
            base = _components(scenario, contract, run, ctx, clients)
            out[r, 0, c] = base
            for v, variant in enumerate(variants, start=1):
                other = variant.contracts[c]
                table = tables[v - 1]
                out[r, v, c] = (
                    base[0] if other == contract else _fees(variant, other, run, ctx),
                    base[1]
                    if table is None and other.co_management == contract.co_management
                    else _downtime(variant, other, run, ctx, clients if table is None else table),
                    base[2] if same_provider[v - 1] else _cost(variant, run, ctx),
                )
    return out


def metric(values: np.ndarray, question: str) -> np.ndarray:
    """Client total cost or social cost from (..., COMPONENTS)."""
    fees, downtime, cost = values[..., 0], values[..., 1], values[..., 2]
    return fees + downtime if question == "client" else cost + downtime


def components_of(results: Results) -> np.ndarray:
    """(replications, contracts, COMPONENTS) from a run's replication rows."""
    reps = results.replications
    names = results.contracts
    out = np.zeros((reps["replication"].nunique(), len(names), len(COMPONENTS)))
    for c, name in enumerate(names):
        rows = reps[reps["contract"] == name].sort_values("replication")
        out[:, c, 0] = rows["client_fees"].to_numpy(dtype=float)
        own_it = rows.get("client_it_cost", 0.0)
        out[:, c, 1] = (rows["client_downtime_cost"] + own_it).to_numpy(dtype=float)
        out[:, c, 2] = rows["provider_cost"].to_numpy(dtype=float)
    return out
