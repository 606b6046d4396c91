"""Incentive analysis (DESIGN.md §4): what each contract makes the provider do, and how far that is from the best.

For every contract the provider's levers (prevention, technicians, monitoring, thoroughness) are searched on a grid,
then continuous levers are refined with a bounded scalar search. Every lever setting is simulated on the same
incidents (common random numbers), so objectives differ only through the levers and the argmax is stable. Three
optima are read off the same evaluations:

- ``provider``: the best response, maximum expected provider profit;
- ``client``: minimum client total cost, subject to the provider earning at least its outside option when
  participation is on;
- ``social``: minimum social cost (provider's real costs + client downtime; payments cancel).

Each optimum comes with the range of lever values whose objective is not significantly worse (paired 95% CI).
With ``incentives.relationship`` the objectives are the values of a relationship over several terms, in which
clients may leave (:mod:`.relationship`).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from simulator.base.processes import process_pool
from simulator.base.records import BillingContext
from simulator.config import LeverSpace, Relationship, Scenario
from simulator.contracts import Contract, CreditScheme, PerBreach, PerDowntimeHour
from simulator.contracts.billing import bill_credit_levels
from simulator.engine.incidents import ClientTable, client_table
from simulator.engine.replication import ContractRun, simulate_contract, simulate_staffing
from simulator.metrics import billing_context, measure, measure_levels, productive_hours_per_month, run_facts

from . import selection, task_inputs
from .checkpoints import Checkpoints
from .relationship import client_costs, client_months
from .relationship import value as relationship_value
from .run import worker_count

__all__ = [
    "COST_BASES",
    "LEVERS",
    "ROLES",
    "IncentiveResults",
    "analyze_incentives",
    "best_of",
    "compare_cost_bases",
    "evaluate",
    "lever_grid",
    "tolerance",
    "with_levers",
]

COST_BASES = ("paid", "worked", "capacity")
"""The provider's labour cost bases ``--cost-bases`` compares (see ``provider.labour_cost_basis``)."""

LEVERS = ("prevention_hours_per_endpoint_month", "technicians", "monitoring", "thoroughness")
CONTINUOUS = ("prevention_hours_per_endpoint_month", "thoroughness")
ROLES = {
    "provider": ("provider_net_profit", 1.0),
    "client": ("client_total_cost", -1.0),
    "social": ("social_cost", -1.0),
}
"""Role -> (objective metric, sign: +1 maximise, −1 minimise)."""
REPORTED = (
    "provider_net_profit",
    "provider_revenue",
    "provider_cost",
    "client_total_cost",
    "client_fees",
    "client_downtime_cost",
    "client_it_cost",
    "social_cost",
    "incidents",
    "tickets",
    "recurrences",
    "downtime_user_hours",
    "sla_credits",
    "technician_utilization",
    "offered_load",
    "backlog_hours_at_end",
    "marginal_profit_per_incident",
)

RELATIONSHIP = ("clients_remaining", "clients_terminated")
"""Who stays: the share of clients still on the contract in the relationship's last month (expected), and the
share whose SLA termination right ended it."""

SATURATED = 0.98
"""Utilisation at or above which an optimum is a saturated queue, not a steady state [share]."""

Levers = dict[str, Any]


def levers_of(values: Any) -> Levers:
    """The levers of a table row (or a mapping holding them) as a policy takes them: a whole number of
    technicians, monitoring on or off."""
    levers: Levers = {lever: values[lever] for lever in LEVERS}
    levers["technicians"] = int(levers["technicians"])
    levers["monitoring"] = bool(levers["monitoring"])
    return levers


def with_levers(contract: Contract, levers: Levers) -> Contract:
    """The contract with its policy's levers replaced."""
    return contract.model_copy(update={"policy": contract.policy.model_copy(update=levers)})


def lever_grid(contract: Contract, space: LeverSpace, only: tuple[str, ...] | None = None) -> list[Levers]:
    """Every lever combination of the coarse grid; levers not searched, and those the contract's terms fix, stay
    at the contract's policy value."""
    policy = contract.policy
    axes: dict[str, list[Any]] = {}
    fixed = contract.fixed_levers()
    for lever in LEVERS:
        spec = getattr(space, lever)
        if spec is None or lever in fixed or (only is not None and lever not in only):
            axes[lever] = [getattr(policy, lever)]
        elif lever == "technicians":
            axes[lever] = list(range(spec.low, spec.high + 1))
        elif lever == "monitoring":
            axes[lever] = list(dict.fromkeys(spec))
        else:
            axes[lever] = [float(v) for v in np.linspace(spec.low, spec.high, spec.points)]
    return [dict(zip(LEVERS, combo, strict=True)) for combo in itertools.product(*axes.values())]


# ----------------------------------------------------------------------------------------------- evaluation

Job = tuple[int, int, Levers, list[tuple[str, Contract]]]
"""(contract index, point id, levers, [(variant label, priced contract)]): one simulation, several price lists."""


def outside_contract(scenario: Scenario) -> str:
    """The client's outside option: the scenario's reference contract, else its first break/fix contract, else its
    first."""
    if scenario.reference_contract is not None:
        return scenario.reference_contract
    return next((c.name for c in scenario.contracts if c.break_fix), scenario.contracts[0].name)


def _terms(scenario: Scenario) -> Relationship:
    """The relationship valued: the scenario's, or one period of the measured months nobody leaves (one-shot)."""
    terms = scenario.incentives.relationship
    if terms is not None:
        return terms
    return Relationship(horizon_months=scenario.measured_months, renewal=None)


PER_CLIENT = "_per_client"
"""Column of the per-client arrays a row carries until :func:`finish` has used them."""


def _evaluate_replication(args: tuple[bytes, int, int, list[Job]]) -> list[dict[str, Any]]:
    """The rows of every job on one replication, in job order. Jobs of one contract that differ only in their
    technicians are simulated together (:func:`simulate_staffing`)."""
    blob, replication, seed, jobs = args
    scenario, clients = task_inputs.unpack(blob)
    ctx = billing_context(scenario, clients)
    if scenario.incentives.relationship is not None:
        ctx = dataclasses.replace(ctx, terminate_from=scenario.warmup_months)
    incidents = task_inputs.incidents(blob, replication, seed)
    staffing: dict[tuple[Any, ...], list[int]] = {}
    for k, (index, _, levers, _) in enumerate(jobs):
        staffing.setdefault((index, *(levers[x] for x in LEVERS if x != "technicians")), []).append(k)
    found: dict[int, list[dict[str, Any]]] = {}
    for members in staffing.values():
        contracts = [with_levers(scenario.contracts[jobs[k][0]], jobs[k][2]) for k in members]
        runs = simulate_staffing(scenario, contracts, incidents, clients, seed, replication)
        for k, contract, run in zip(members, contracts, runs, strict=True):
            found[k] = _valued_rows(scenario, clients, ctx, replication, jobs[k], contract, run)
    return [row for k in range(len(jobs)) for row in found[k]]


def _valued_rows(
    scenario: Scenario,
    clients: ClientTable,
    ctx: BillingContext,
    replication: int,
    job: Job,
    contract: Contract,
    run: ContractRun,
) -> list[dict[str, Any]]:
    """A job's rows: its simulation ``run`` billed under each of its price lists and valued."""
    _, point, levers, variants = job
    terms = _terms(scenario)
    users = clients.users.astype(float)
    option = scenario.incentives.provider_outside_option
    facts = run_facts(scenario, run, ctx)
    # The run's per-client costs, from its first billing (shared by the price lists after it).
    costs = None
    priced = [with_levers(p, levers) for _, p in variants]
    bills = bill_credit_levels(priced[0], priced, run.tickets, run.prevention, ctx)
    rows = []
    for (label, _), billed, (row, flows, ledger) in zip(
        variants, priced, measure_levels(facts, priced, bills), strict=True
    ):
        if costs is None:
            costs = client_costs(run, ctx, flows)
        months = client_months(scenario, billed, run, ctx, ledger, flows, costs)
        valued = relationship_value(terms, months, users, option)
        arrays: dict[str, np.ndarray] = {
            "provider": valued.provider,
            "client_stay": valued.client_stay,
            "social_stay": valued.social_stay,
            "exposure": valued.exposure,
        }
        if label == "base":
            arrays["departed"] = valued.departed
            if contract.name == outside_contract(scenario):
                arrays["client_cost"], arrays["social_cost"] = months.client_cost, months.social_cost
        rows.append(
            {
                "contract": contract.name,
                "variant": label,
                "point": point,
                "replication": replication,
                **levers,
                **{m: row[m] for m in REPORTED},
                "clients_remaining": float(valued.remaining.mean()),
                "clients_terminated": float(valued.terminated.mean()),
                PER_CLIENT: arrays,
            }
        )
    return rows


Outside = dict[int, tuple[np.ndarray, np.ndarray]]
"""Per replication, the client's cost and the social cost per client and month under its outside option."""


TASK_JOBS = 30
"""Most jobs one task simulates (on one replication, its incidents generated once)."""


def _setting(index: int, levers: Levers) -> tuple[Any, ...]:
    """A contract's lever setting as a key: the same levers give the same simulation."""
    return (index, *(float(levers[lever]) for lever in LEVERS))


class Evaluations:
    """The raw rows (see :func:`finish`) simulated so far for a list of jobs: per job (by its place in the list)
    and replication, the rows of its variants. :meth:`fill` simulates what is missing, in tasks of up to
    :data:`TASK_JOBS` jobs on one replication (its incidents generated once per task); ``tick`` is called as the
    last task of a replication finishes. With ``saved``, each task's rows are kept on disk as it finishes and
    tasks found there are not simulated again."""

    def __init__(
        self,
        scenario: Scenario,
        jobs: list[Job],
        seed: int,
        pool: ProcessPoolExecutor | None = None,
        tick: Callable[[], None] | None = None,
        saved: Checkpoints | None = None,
    ) -> None:
        self.scenario, self.jobs, self.seed, self.pool, self.tick, self.saved = (
            scenario,
            jobs,
            seed,
            pool,
            tick,
            saved,
        )
        self.rows: list[dict[int, list[dict[str, Any]]]] = [{} for _ in jobs]
        self.simulated = 0
        """Jobs × replications :meth:`fill` simulated (or found on disk), not taken from elsewhere."""
        self._scenario_key = scenario.model_dump_json() if saved is not None else ""

    def fill(self, which: list[int], replications: int) -> int:
        """Simulate replications ``0 .. replications-1`` of the jobs ``which`` where they are missing; the number
        of replications that had something missing (and were ticked)."""
        tasks: list[tuple[int, list[int]]] = []
        for r in range(replications):
            missing = [j for j in which if r not in self.rows[j]]
            # A few settings per task: the workers stay busy when a stage has fewer replications than workers.
            tasks += [(r, missing[k : k + TASK_JOBS]) for k in range(0, len(missing), TASK_JOBS)]
            self.simulated += len(missing)
        left = Counter(r for r, _ in tasks)  # tasks still to finish, per replication

        def finished(r: int) -> None:
            left[r] -= 1
            if left[r] == 0 and self.tick is not None:
                self.tick()

        keys: list[str] = []
        todo: list[tuple[int, list[int]]] = []
        for r, missing in tasks:
            key = ""
            if self.saved is not None:
                batch = [self.jobs[j] for j in missing]
                key = self.saved.key(self.saved.key(self._scenario_key, self.seed, batch), r)
                found = self.saved.load(key)
                if found is not None:
                    self._keep(r, missing, found)
                    finished(r)
                    continue
            keys.append(key)
            todo.append((r, missing))
        blob = task_inputs.pack(self.scenario)
        args = [(blob, r, self.seed, [self.jobs[j] for j in missing]) for r, missing in todo]
        results = (
            self.pool.map(_evaluate_replication, args)
            if self.pool is not None
            else map(_evaluate_replication, args)
        )
        for (r, missing), key, found in zip(todo, keys, results, strict=True):
            if self.saved is not None:
                self.saved.save(key, found)
            self._keep(r, missing, found)
            finished(r)
        return len(left)

    def _keep(self, replication: int, which: list[int], rows: list[dict[str, Any]]) -> None:
        """File a task's rows (in job order, each job's variants together) under their jobs."""
        by_point: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in rows:
            by_point.setdefault((str(row["contract"]), int(row["point"])), []).append(row)
        for j in which:
            index, point = self.jobs[j][0], self.jobs[j][1]
            self.rows[j][replication] = by_point[(self.scenario.contracts[index].name, point)]

    def reuse(self, other: Evaluations) -> None:
        """Take the rows ``other`` has of the same contract and levers (renumbered to this list's points, only the
        variants a job here prices): the same simulation, on common random numbers, need not run twice."""
        known = {_setting(index, levers): j for j, (index, _, levers, _) in enumerate(other.jobs)}
        for j, (index, point, levers, variants) in enumerate(self.jobs):
            source = known.get(_setting(index, levers))
            if source is None:
                continue
            labels = {label for label, _ in variants}
            for r, rows in other.rows[source].items():
                self.rows[j].setdefault(
                    r, [{**row, "point": point} for row in rows if row["variant"] in labels]
                )

    def count(self, job: int) -> int:
        """Replications of a job simulated so far."""
        return len(self.rows[job])

    def frame(
        self, outside: Outside | None, which: list[int] | None = None, replications: int | None = None
    ) -> pd.DataFrame:
        """The rows of the jobs ``which`` (all by default) over their replications (only the first
        ``replications`` when given), replication by replication in job order, completed by :func:`finish`."""
        jobs = range(len(self.jobs)) if which is None else which
        top = max((max(self.rows[j], default=-1) for j in jobs), default=-1) + 1
        last = top if replications is None else min(top, replications)
        rows = [row for r in range(last) for j in jobs if r in self.rows[j] for row in self.rows[j][r]]
        return finish(self.scenario, pd.DataFrame(rows), outside)


def evaluate(
    scenario: Scenario,
    jobs: list[Job],
    replications: int,
    seed: int,
    pool: ProcessPoolExecutor | None = None,
    tick: Callable[[], None] | None = None,
    outside: Outside | None = None,
    saved: Checkpoints | None = None,
) -> pd.DataFrame:
    """Simulate every job on every replication (common random numbers); one row per job × variant × replication.
    ``tick`` is called as each replication finishes. The relationship's columns are completed with ``outside``
    (see :func:`finish`); without it, rows keep what completing them needs. With ``saved``, each replication's
    rows are kept on disk as it finishes, and replications found there are not simulated again."""
    grid = Evaluations(scenario, jobs, seed, pool, tick, saved)
    grid.fill(list(range(len(jobs))), replications)
    return grid.frame(outside)


Goal = tuple[int, str, str]
"""An optimum the grid search looks for: (contract index, variant label, role)."""


def _goals(scenario: Scenario, jobs: list[Job], roles: tuple[str, ...]) -> dict[Goal, list[int]]:
    """The optima of ``roles`` for every contract, and the provider's under every credit level of the design,
    each with the jobs (places in ``jobs``) that may hold it: every setting of its contract."""
    goals: dict[Goal, list[int]] = {}
    for j, (index, _, _, variants) in enumerate(jobs):
        for label, _ in variants:
            for role in roles if label == "base" else ("provider",) if "provider" in roles else ():
                goals.setdefault((index, label, role), []).append(j)
    return goals


def select(
    scenario: Scenario,
    grid: Evaluations,
    goals: dict[Goal, list[int]],
    replications: int,
    outside: Outside | None,
    reservation: float | None,
) -> dict[Goal, list[int]]:
    """Ranking and selection over the grid (see :class:`simulator.config.Search`): every job of every goal gets
    the screening replications, then at each stage of :func:`simulator.studies.selection.schedule` the jobs that
    are still a contender for some goal get the stage's replications, and each goal drops the jobs significantly
    worse than its leader over them. Returns each goal's contenders after the last stage (with every replication).
    """
    search = scenario.incentives.search
    alive = {goal: list(which) for goal, which in goals.items()}
    for stage in selection.schedule(search.screening_replications, replications):
        active = sorted({j for which in alive.values() for j in which})
        grid.fill(active, stage)
        rows = grid.frame(outside, active, stage)
        for goal, which in alive.items():
            index, label, role = goal
            metric, sign = ROLES[role]
            mine = rows[(rows["contract"] == scenario.contracts[index].name) & (rows["variant"] == label)]
            points = [grid.jobs[j][1] for j in which]
            wide = mine.pivot_table(index="point", columns="replication", values=metric, aggfunc="first")
            values = wide.reindex(points).to_numpy(dtype=float)
            profit = None
            if role == "client" and reservation is not None:
                profit = mine.pivot_table(
                    index="point", columns="replication", values="provider_net_profit", aggfunc="first"
                ).reindex(points)
            keep = selection.contenders(
                values,
                sign,
                tolerance(scenario, role),
                None if profit is None else profit.to_numpy(dtype=float),
                reservation if role == "client" else None,
                search.confidence,
                replications,
            )
            alive[goal] = [j for j, k in zip(which, keep, strict=True) if k]
    return alive


def search_table(scenario: Scenario, grid: Evaluations, alive: dict[Goal, list[int]]) -> pd.DataFrame:
    """Per grid setting: its contract, levers, the replications simulated and the optima it was a contender for
    to the end (``contender_for``: roles, and ``provider@<credit level>`` for the design's)."""
    finalists: dict[int, list[str]] = {}
    for (_, label, role), which in alive.items():
        for j in which:
            finalists.setdefault(j, []).append(role if label == "base" else f"{role}@{label}")
    return pd.DataFrame(
        [
            {
                "contract": scenario.contracts[index].name,
                "point": point,
                **levers,
                "replications": grid.count(j),
                "contender_for": ", ".join(finalists.get(j, [])),
            }
            for j, (index, point, levers, _) in enumerate(grid.jobs)
        ]
    )


def finish(scenario: Scenario, rows: pd.DataFrame, outside: Outside | None) -> pd.DataFrame:
    """The relationship's values in the objective columns (with a relationship; one-shot rows keep the
    simulation's totals): the provider's (``provider_net_profit``) at once, the client's and the social cost once
    ``outside`` (the outside option's costs) is known, or right away when one-shot (nobody leaves). Values are
    level monthly equivalents times the months, so that one-shot and relationship read alike. Completed rows carry
    per-client vectors (``_client``, ``_provider``, ``_exposure``) for the participation checks."""
    if rows.empty or PER_CLIENT not in rows:
        return rows
    relationship = scenario.incentives.relationship is not None
    scale = scenario.measured_months / float(_terms(scenario).weights().sum())
    arrays: list[dict[str, np.ndarray]] = list(rows[PER_CLIENT])
    rows = rows.copy()
    if relationship:
        rows["provider_net_profit"] = [float(a["provider"].sum()) * scale for a in arrays]
    if relationship and outside is None:
        return rows
    departed = {
        (c, p, r): a["departed"]
        for c, p, r, a in zip(rows["contract"], rows["point"], rows["replication"], arrays, strict=True)
        if "departed" in a
    }
    client, social = [], []
    for c, p, r, a in zip(rows["contract"], rows["point"], rows["replication"], arrays, strict=True):
        leave_client = leave_social = 0.0
        if outside is not None and relationship:
            gone = departed[(c, p, r)]
            leave_client = (gone * outside[int(r)][0]).sum(axis=1)
            leave_social = (gone * outside[int(r)][1]).sum(axis=1)
        client.append((a["client_stay"] + leave_client) * scale)
        social.append(float((a["social_stay"] + leave_social).sum()) * scale)
    if relationship:
        rows["client_total_cost"] = [float(v.sum()) for v in client]
        rows["social_cost"] = social
    vectors: dict[str, list[np.ndarray]] = {
        "_client": client,
        "_provider": [a["provider"] * scale for a in arrays],
        "_exposure": [a["exposure"] * scale for a in arrays],
    }
    for column, values in vectors.items():
        rows[column] = pd.Series(values, index=rows.index, dtype=object)
    return rows.drop(columns=[PER_CLIENT])


def outside_option(scenario: Scenario, rows: pd.DataFrame) -> Outside:
    """The reference contract's best response among ``rows`` (its base rows, provider values known) and, per
    replication, the client's and the social cost per client and month there: what a client who leaves pays."""
    mine = rows[(rows["contract"] == outside_contract(scenario)) & (rows["variant"] == "base")]
    point, _ = best_of(mine, "provider", None, tolerance(scenario, "provider"))
    chosen = mine[mine["point"] == point]
    outside = {
        int(r): (a["client_cost"], a["social_cost"])
        for r, a in zip(chosen["replication"], chosen[PER_CLIENT], strict=True)
    }
    return outside


# ----------------------------------------------------------------------------------------------- optima


def _t_half(x: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan


def tolerance(scenario: Scenario, role: str) -> float | None:
    """The risk tolerance a role chooses with, for the values over the months the analysis measures (the yearly
    tolerance × months / 12: the certainty equivalent of a year's worth, scaled back); None: by expected value."""
    objective = scenario.incentives.objective
    yearly = {
        "provider": scenario.risk.provider_risk_tolerance
        if objective.provider == "certainty_equivalent"
        else None,
        "client": scenario.risk.client_risk_tolerance if objective.client == "certainty_equivalent" else None,
    }.get(role)
    return None if yearly is None else yearly * scenario.measured_months / 12.0


def best_of(
    rows: pd.DataFrame, role: str, reservation: float | None, risk: float | None = None
) -> tuple[int, pd.DataFrame]:
    """The best point for a role among evaluated points of one contract, and each point's paired gap to it.

    The objective is the mean over the replications, or with a risk tolerance ``risk`` (see :func:`tolerance`)
    the certainty equivalent. The gap is the per-replication difference of the metric (best minus point, signed so
    that a worse point has a positive gap) with its 95% t-interval; ``near`` marks points not significantly worse
    than the best. With a ``reservation`` profit the client's choice is limited to points where the provider earns
    at least that (when there are any).
    """
    metric, sign = ROLES[role]
    wide = rows.pivot_table(index="point", columns="replication", values=metric, aggfunc="first")
    # Only points with every replication compete: a setting the ranking dropped early has fewer, and its mean over
    # them is not comparable (its gap stays NaN, so it is not "near" either).
    counts = rows.groupby("point")["replication"].nunique().reindex(wide.index)
    complete = wide[counts == counts.max()]
    wide = complete.reindex(wide.index)
    means = pd.Series(
        [selection.objective_value(v, sign, risk) for v in complete.to_numpy(dtype=float)],
        index=complete.index,
    )
    if role == "client" and reservation is not None:
        profit = rows.groupby("point")["provider_net_profit"].mean()
        feasible = profit.reindex(means.index) >= reservation
        if feasible.any():
            means = means[feasible]
    best = int(np.asarray(means.index)[int(np.argmax(means.to_numpy()))])
    gaps = (wide.loc[best].to_numpy()[None, :] - wide.to_numpy()) * sign
    mean = gaps.mean(axis=1)
    half = np.array([_t_half(g) for g in gaps])
    table = pd.DataFrame({"point": wide.index, "gap": mean, "gap_half": half})
    table["near"] = (mean - half <= 0) & table["point"].isin(means.index)
    return best, table


def _summary(rows: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in (*REPORTED, *RELATIONSHIP):
        x = rows[m].to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        mean = float(x.mean()) if len(x) else np.nan
        half = _t_half(x) if len(x) > 1 else np.nan
        out[m], out[f"{m}_ci_low"], out[f"{m}_ci_high"] = mean, mean - half, mean + half
    return out


@dataclass
class IncentiveResults:
    """Tidy outputs of the incentive analysis."""

    scenario: Scenario
    evaluations: pd.DataFrame  # every simulated lever point × replication
    best_response: pd.DataFrame  # contract, role, levers, ranges, metrics with CIs
    misalignment: pd.DataFrame
    curves: pd.DataFrame
    design: pd.DataFrame
    search: pd.DataFrame | None = None  # per grid setting: replications simulated, optima it contended for
    simulations: dict[str, int] | None = None  # contract simulations (one contract, one replication) by phase
    cost_bases: pd.DataFrame | None = (
        None  # the misalignment under each labour cost basis (compare_cost_bases)
    )

    @property
    def incidents_simulated(self) -> int:
        """Incidents simulated across every evaluation (recurrences included, prevented ones excluded)."""
        base = self.evaluations[self.evaluations["variant"] == "base"]
        return int(base["incidents"].sum())

    def most_misaligned(self) -> pd.Series | None:
        """The misalignment row of the contract whose provider's profit-maximising choices lose the most welfare
        (contracts whose loss could not be measured left out); None when no loss could be measured."""
        m = self.misalignment
        known = m[np.isfinite(m["welfare_loss"].to_numpy(dtype=float))]
        return None if known.empty else known.sort_values("welfare_loss").iloc[-1]


def analyze_incentives(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    levers: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = None,
    steps: Callable[[int, int], None] | None = None,
    saved: Checkpoints | None = None,
) -> IncentiveResults:
    """Best response, client-preferred and socially optimal levers for every contract; misalignment; design.
    ``progress`` is told what is being done; ``steps(done, total)`` counts the work: the grid's replications,
    one step per contract and role refined, then the replications of the curves through the optima and of the
    marginal profits. With ``saved`` every finished replication of the grid, the refinements and the curves is
    kept on disk, and a rerun of the same analysis reuses it (the caller removes it once the results are
    written)."""
    scenario = scenario.for_incentives()
    settings = scenario.incentives
    n = replications or settings.replications or scenario.replications
    s = scenario.seed if seed is None else seed
    if levers is not None:
        unknown = sorted(set(levers) - set(LEVERS))
        if unknown:
            raise ValueError(f"unknown levers {unknown}; choose from {', '.join(LEVERS)}")
    workers = worker_count(workers, n)
    say = progress or (lambda _msg: None)
    total = 3 * n + (len(scenario.contracts) * len(ROLES) if settings.refine else 0)
    done = 0

    counting = threading.Lock()  # the refinements of several contracts count from threads of their own

    def tick() -> None:
        nonlocal done, total
        with counting:
            done += 1
            total = max(
                total, done
            )  # the ranking's stages may take more replication tasks than one grid pass
            if steps is not None:
                steps(done, total)

    # Ctrl-C is the parent's to handle: it stops the pool at once, keeping what is saved.
    pool = process_pool(workers, ignore_interrupt=True) if workers > 1 else None
    finished = False
    try:
        spaces = {c.name: settings.contracts.get(c.name, settings.levers) for c in scenario.contracts}
        grids = {c.name: lever_grid(c, spaces[c.name], levers) for c in scenario.contracts}
        jobs: list[Job] = []
        for i, c in enumerate(scenario.contracts):
            variants = [("base", c), *_design_variants(c, scenario)]
            jobs += [(i, p, lv, variants) for p, lv in enumerate(grids[c.name])]
        grid = Evaluations(scenario, jobs, s, pool, tick, saved)
        simulated = [grid]  # every setting simulated so far: the refinement and the curves reuse them
        reservation = _reservation(scenario)
        relationship = settings.relationship is not None
        alive: dict[Goal, list[int]] = {}
        if settings.search.method == "exhaustive":
            say(f"grid: {len(jobs)} lever settings × {n} replications")
            grid.fill(list(range(len(jobs))), n)
        else:
            first = settings.search.screening_replications
            say(f"grid: ranking {len(jobs)} lever settings ({first} replications to screen)")
            # With a relationship the client's and the social values need the outside option, found below.
            roles = ("provider",) if relationship else tuple(ROLES)
            alive = select(scenario, grid, _goals(scenario, jobs, roles), n, None, reservation)
        evals = grid.frame(None)
        found: dict[tuple[str, str], pd.DataFrame] = {}
        outside: Outside | None = None
        if relationship:
            # A client who leaves moves to the reference contract at its best response: find that first.
            name = outside_contract(scenario)
            index = [c.name for c in scenario.contracts].index(name)
            reference = evals[(evals["contract"] == name) & (evals["variant"] == "base")]
            if settings.refine:
                say(f"refining {name} / provider")
                found[(name, "provider")] = _refine(
                    scenario,
                    index,
                    reference,
                    "provider",
                    spaces[name],
                    levers,
                    n,
                    s,
                    pool,
                    reservation,
                    None,
                    saved,
                    simulated,
                )
                reference = pd.concat([reference, found[(name, "provider")]], ignore_index=True)
                tick()
            outside = outside_option(scenario, reference)
            if settings.search.method != "exhaustive":
                say("grid: ranking for the client's and the social optimum")
                alive |= select(
                    scenario, grid, _goals(scenario, jobs, ("client", "social")), n, outside, reservation
                )
            evals = grid.frame(outside)
            found = {k: finish(scenario, v, outside) for k, v in found.items()}
        base = evals[evals["variant"] == "base"]

        # Refinement of continuous levers around each role's grid optimum.
        if settings.refine:
            todo = [c.name for c in scenario.contracts if any((c.name, r) not in found for r in ROLES)]
            if todo:
                side = pool is not None and len(todo) > 1
                say(f"refining {len(todo)} contracts side by side" if side else f"refining {', '.join(todo)}")

            def refine_contract(i: int) -> tuple[dict[str, pd.DataFrame], list[Evaluations]]:
                """A contract's roles refined in turn (later roles number their points after the earlier ones'
                and may start from them), and the settings it simulated."""
                c = scenario.contracts[i]
                mine = base[base["contract"] == c.name]
                known = list(simulated)
                out: dict[str, pd.DataFrame] = {}
                for role in ROLES:
                    if (c.name, role) in found:
                        out[role] = found[(c.name, role)]
                    else:
                        out[role] = _refine(
                            scenario,
                            i,
                            mine,
                            role,
                            spaces[c.name],
                            levers,
                            n,
                            s,
                            pool,
                            reservation,
                            outside,
                            saved,
                            known,
                        )
                        tick()
                    mine = pd.concat([mine, out[role]], ignore_index=True)
                return out, known[len(simulated) :]

            # The contracts are independent: with worker processes, their refinements run side by side, so that
            # the workers have the next setting's replications while one contract's search picks its next point.
            indices = range(len(scenario.contracts))
            if pool is not None:
                with ThreadPoolExecutor(len(indices)) as threads:
                    refined = list(threads.map(refine_contract, indices))
            else:
                refined = [refine_contract(i) for i in indices]
            extra = []
            for c, (out, settings_simulated) in zip(scenario.contracts, refined, strict=True):
                simulated += settings_simulated
                for role in ROLES:
                    found[(c.name, role)] = out[role]
                    extra.append(out[role])
            base = pd.concat([base, *extra], ignore_index=True)
        best = _best_table(scenario, base, reservation)
        say("curves through each optimum")
        curve_jobs, what = _curve_jobs(scenario, best, grids)
        along = Evaluations(scenario, curve_jobs, s, pool, tick, saved)
        for known in simulated:  # a curve through a setting simulated already: its replications are done
            along.reuse(known)
        for _ in range(n - along.fill(list(range(len(curve_jobs))), n)):
            tick()  # a replication the grid had done already counts as done
        curves = _curves(along.frame(outside), what)
        say("marginal profit of an incident at each best response")
        marginals = marginal_profits(scenario, best, n, s, pool, tick)
        result = IncentiveResults(
            scenario=scenario,
            evaluations=_public(pd.concat([base, evals[evals["variant"] != "base"]], ignore_index=True)),
            best_response=best,
            misalignment=_misalignment(scenario, base, best, marginals),
            curves=curves,
            design=_design(scenario, evals, best, base),
            search=search_table(scenario, grid, alive),
            simulations={
                "grid": grid.simulated,
                "refinement": sum(e.simulated for e in simulated[1:]),
                "curves": along.simulated,
                "marginal_profits": 2 * len(scenario.contracts) * n,
            },
        )
        finished = True
        return result
    finally:
        if pool is not None:
            # Interrupted or failed: drop the queued work instead of doing it first.
            pool.shutdown(wait=finished, cancel_futures=not finished)


def compare_cost_bases(
    scenario: Scenario,
    result: IncentiveResults,
    progress: Callable[[str], None] | None = None,
    **search: Any,
) -> pd.DataFrame:
    """The misalignment at the provider's best response under each labour cost basis of :data:`COST_BASES`, the
    scenario's own taken from ``result``, the others searched again (``search``: the arguments of
    :func:`analyze_incentives`): per basis and contract the provider's levers, the welfare loss with its interval
    (none where the queue is unstable), the marginal profit of an incident, whether every client segment prefers
    the contract, and which contracts lose the most and the least welfare under that basis (ties marked alike)."""
    out = []
    for basis in COST_BASES:
        if basis == scenario.provider.labour_cost_basis:
            found = result
        else:
            if progress is not None:
                progress(f"labour cost basis {basis}")
            provider = scenario.provider.model_copy(update={"labour_cost_basis": basis})
            found = analyze_incentives(
                scenario.model_copy(update={"provider": provider}), progress=progress, **search
            )
        best = found.best_response[found.best_response["role"] == "provider"].set_index("contract")
        mis = found.misalignment.set_index("contract")
        known = mis["welfare_loss"].dropna()
        for c in scenario.contracts:
            row: Any = mis.loc[c.name]
            chosen: Any = best.loc[c.name]
            out.append(
                {
                    "basis": basis,
                    "contract": c.name,
                    **{lever: chosen[lever] for lever in LEVERS},
                    "technician_utilization": float(chosen["technician_utilization"]),
                    "welfare_loss": float(row["welfare_loss"]),
                    "welfare_loss_ci_low": float(row["welfare_loss_ci_low"]),
                    "welfare_loss_ci_high": float(row["welfare_loss_ci_high"]),
                    "unstable": str(row["unstable"] or ""),
                    "marginal_profit_per_incident": float(row["marginal_profit_per_incident"]),
                    "client_participates": bool(chosen["client_participates"]),
                    "most_misaligned": bool(c.name in known.index and np.isclose(known[c.name], known.max())),
                    "least_misaligned": bool(
                        c.name in known.index and np.isclose(known[c.name], known.min())
                    ),
                }
            )
    return pd.DataFrame(out)


def _reservation(scenario: Scenario) -> float | None:
    """The least profit over the months at which the provider takes a contract (its outside option); None when
    the client's choice is not limited by the provider's participation."""
    settings = scenario.incentives
    return settings.provider_outside_option * scenario.measured_months if settings.participation else None


def _public(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows without the per-client vectors the analysis uses internally."""
    return rows.drop(columns=[c for c in rows.columns if str(c).startswith("_")])


def _refine(
    scenario: Scenario,
    index: int,
    rows: pd.DataFrame,
    role: str,
    space: LeverSpace,
    only: tuple[str, ...] | None,
    n: int,
    seed: int,
    pool: ProcessPoolExecutor | None,
    reservation: float | None,
    outside: Outside | None = None,
    saved: Checkpoints | None = None,
    known: list[Evaluations] | None = None,
) -> pd.DataFrame:
    """One coordinate pass of bounded Brent searches over each continuous lever, between the grid neighbours. A
    setting already simulated in one of ``known`` is not simulated again; each new one is added to it."""
    metric, sign = ROLES[role]
    risk = tolerance(scenario, role)
    best, _ = best_of(rows, role, reservation, risk)
    point_levers: Levers = {str(k): v for k, v in rows[rows["point"] == best].iloc[0][list(LEVERS)].items()}
    next_point = int(rows["point"].max()) + 1
    found: list[pd.DataFrame] = []
    contract = scenario.contracts[index]

    def score(frame: pd.DataFrame) -> float:
        """The objective to minimise: −profit or cost, with infeasible client points pushed out."""
        value = -selection.objective_value(frame[metric].to_numpy(dtype=float), sign, risk)
        if role == "client" and reservation is not None and frame["provider_net_profit"].mean() < reservation:
            value += abs(value) + 1e9  # the provider would not take the contract
        return value

    current = score(rows[rows["point"] == best])
    for lever in CONTINUOUS:
        spec = getattr(space, lever)
        if spec is None or spec.points < 2 or (only is not None and lever not in only):
            continue
        step = (spec.high - spec.low) / (spec.points - 1)
        x0 = float(point_levers[lever])
        lo, hi = max(spec.low, x0 - step), min(spec.high, x0 + step)

        def objective(x: float, lever: str = lever) -> float:
            nonlocal next_point
            levers = levers_of({**point_levers, lever: float(x)})
            setting = Evaluations(
                scenario, [(index, next_point, levers, [("base", contract)])], seed, pool, None, saved
            )
            for other in known or []:
                setting.reuse(other)
            setting.fill([0], n)
            if known is not None:
                known.append(setting)
            frame = setting.frame(outside)
            next_point += 1
            found.append(frame)
            return score(frame)

        res = optimize.minimize_scalar(
            objective, bounds=(lo, hi), method="bounded", options={"xatol": step / 20, "maxiter": 12}
        )
        if float(res.fun) < current:
            point_levers[lever], current = float(res.x), float(res.fun)
    return pd.concat(found, ignore_index=True) if found else rows.iloc[0:0]


def _per_client(rows: pd.DataFrame, column: str) -> np.ndarray:
    """The mean over replications of a per-client vector column."""
    return np.asarray(np.mean(np.stack(list(rows[column])), axis=0))


def _by_segment(scenario: Scenario, per_client: np.ndarray) -> np.ndarray:
    """A per-client vector summed by client segment."""
    segment = client_table(scenario).segment
    return np.bincount(segment, weights=per_client, minlength=len(scenario.clients))


def _client_participates(scenario: Scenario, chosen: pd.DataFrame, outside: pd.DataFrame) -> list[str]:
    """The client segments that prefer the contract at ``chosen`` to the reference contract at its best response
    (``outside``): their cost over the relationship is no higher."""
    mine = _by_segment(scenario, _per_client(chosen, "_client"))
    theirs = _by_segment(scenario, _per_client(outside, "_client"))
    return [
        seg.name for seg, a, b in zip(scenario.clients, mine, theirs, strict=True) if a <= b + 1e-6 * abs(b)
    ]


def _best_table(scenario: Scenario, rows: pd.DataFrame, reservation: float | None) -> pd.DataFrame:
    out = []
    reference = rows[rows["contract"] == outside_contract(scenario)]
    reference_best, _ = best_of(reference, "provider", reservation, tolerance(scenario, "provider"))
    outside = reference[reference["point"] == reference_best]
    for c in scenario.contracts:
        mine = rows[rows["contract"] == c.name]
        for role in ROLES:
            best, gaps = best_of(mine, role, reservation, tolerance(scenario, role))
            chosen = mine[mine["point"] == best]
            levers = chosen.iloc[0][list(LEVERS)].to_dict()
            near = mine[mine["point"].isin(gaps.loc[gaps["near"], "point"])]
            record: dict[str, Any] = {
                "contract": c.name,
                "kind": c.kind,
                "role": role,
                "point": best,
                "objective": "expected" if tolerance(scenario, role) is None else "certainty_equivalent",
            }
            edge = []
            for lever in LEVERS:
                record[lever] = levers[lever]
                if lever == "monitoring":
                    record[f"{lever}_options"] = "/".join(sorted({str(bool(v)).lower() for v in near[lever]}))
                else:
                    record[f"{lever}_low"] = float(near[lever].min())
                    record[f"{lever}_high"] = float(near[lever].max())
                    if _at_bound(lever, mine[lever], levers[lever]):
                        edge.append(lever)
            # An optimum at the edge of the range searched may lie beyond it: it is not reported as an optimum.
            record["at_bound"] = ", ".join(edge)
            profit = chosen["provider_net_profit"].mean()
            record["provider_participates"] = bool(profit >= (reservation or 0.0))
            segments = _client_participates(scenario, chosen, outside)
            record["client_participates"] = len(segments) == len(scenario.clients)
            record["client_participates_segments"] = ", ".join(segments)
            record["unstable"] = _unstable(
                scenario, with_levers(c, {str(k): v for k, v in levers.items()}), chosen
            )
            record.update(_summary(chosen))
            out.append(record)
    return pd.DataFrame(out)


def _unstable(scenario: Scenario, contract: Contract, rows: pd.DataFrame) -> str:
    """Why an optimum's queue is not a steady state ('' when it is): utilisation of :data:`SATURATED` or more,
    work arriving at least as fast as the pool can do it, or more than a month of the pool's productive hours
    still queued at the end (see :func:`simulator.metrics.unstable_contracts`); means over replications."""
    utilisation = float(rows["technician_utilization"].mean())
    load = float(rows["offered_load"].mean())
    backlog = float(rows["backlog_hours_at_end"].mean())
    if utilisation >= SATURATED:
        return f"utilisation {utilisation:.0%}"
    if load >= 1.0:
        return f"offered load {load:.2f}"
    if backlog > productive_hours_per_month(scenario, contract):
        return f"{backlog:,.0f} h of work queued at the end"
    return ""


LEVER_FLOORS = {"prevention_hours_per_endpoint_month": 0.0, "technicians": 1}
"""The least a lever can be: an optimum there is not cut off by the range searched."""


def _at_bound(lever: str, values: pd.Series, chosen: Any) -> bool:
    """Whether a lever's chosen value is the lowest or highest of the values searched (of which there are at least
    two), unless that is the least the lever can be (no prevention, one technician)."""
    tried = values.astype(float)
    low, high = float(tried.min()), float(tried.max())
    value = float(chosen)
    floor = LEVER_FLOORS.get(lever)
    at_low = np.isclose(value, low) and not (floor is not None and np.isclose(low, floor))
    return bool(high > low and (at_low or np.isclose(value, high)))


def _paired(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> tuple[float, float, float]:
    diff = a.set_index("replication")[metric] - b.set_index("replication")[metric]
    x = diff.dropna().to_numpy()
    mean = float(x.mean())
    half = _t_half(x)
    return mean, mean - half, mean + half


def _misalignment(
    scenario: Scenario, rows: pd.DataFrame, best: pd.DataFrame, marginals: dict[str, dict[str, float]]
) -> pd.DataFrame:
    """At each contract's best response: welfare loss against the social optimum, what it does to the client, the
    marginal profit of an incident (:func:`marginal_profits`) and the average one (what an incident is billed, less
    the average credit, its hands-on hours at the hour cost and its parts)."""
    out = []
    best_social = best[best["role"] == "social"]["social_cost"].min()
    for c in scenario.contracts:
        mine = rows[rows["contract"] == c.name]
        pick: Any = best[best["contract"] == c.name].set_index("role")
        br = mine[mine["point"] == pick.loc["provider", "point"]]
        so = mine[mine["point"] == pick.loc["social", "point"]]
        cp = mine[mine["point"] == pick.loc["client", "point"]]
        loss = _paired(br, so, "social_cost")
        unstable = str(pick.loc["provider", "unstable"] or "")
        if unstable:  # a saturated queue has no steady-state welfare figure: say so instead
            loss = (float("nan"), float("nan"), float("nan"))
        record = {
            "contract": c.name,
            "kind": c.kind,
            "welfare_loss": loss[0],
            "welfare_loss_ci_low": loss[1],
            "welfare_loss_ci_high": loss[2],
            "welfare_loss_vs_best_contract": float("nan")
            if unstable
            else float(br["social_cost"].mean() - best_social),
            "unstable": unstable,
            "extra_downtime_user_hours": _paired(br, so, "downtime_user_hours")[0],
            "extra_incidents": _paired(br, so, "incidents")[0],
            "client_cost_vs_client_preferred": _paired(br, cp, "client_total_cost")[0],
            "client_cost_vs_social_optimum": _paired(br, so, "client_total_cost")[0],
            **marginals[c.name],
            "average_profit_per_incident": float(br["marginal_profit_per_incident"].mean()),
            "best_response_prevention": float(pick.loc["provider", "prevention_hours_per_endpoint_month"]),
            "social_optimum_prevention": float(pick.loc["social", "prevention_hours_per_endpoint_month"]),
            "best_response_technicians": int(pick.loc["provider", "technicians"]),
            "social_optimum_technicians": int(pick.loc["social", "technicians"]),
        }
        out.append(record)
    return pd.DataFrame(out)


MARGIN = 0.01
"""The finite difference of the marginal profit: every incident rate this share higher [share]."""


def _marginal_replication(args: tuple[bytes, int, int, list[tuple[int, Levers]]]) -> list[dict[str, Any]]:
    blob, replication, seed, jobs = args
    scenario, clients = task_inputs.unpack(blob)
    ctx = billing_context(scenario, clients)
    incidents = task_inputs.incidents(blob, replication, seed)
    more = task_inputs.incidents(blob, replication, seed, extra=MARGIN)
    rows = []
    for index, levers in jobs:
        contract = with_levers(scenario.contracts[index], levers)
        base, _, _ = measure(
            scenario,
            contract,
            simulate_contract(scenario, contract, incidents, clients, seed, replication),
            ctx,
        )
        plus, _, _ = measure(
            scenario, contract, simulate_contract(scenario, contract, more, clients, seed, replication), ctx
        )
        rows.append(
            {
                "contract": contract.name,
                "profit": plus["provider_net_profit"] - base["provider_net_profit"],
                "incidents": plus["incidents"] - base["incidents"],
            }
        )
    return rows


def marginal_profits(
    scenario: Scenario,
    best: pd.DataFrame,
    replications: int,
    seed: int,
    pool: ProcessPoolExecutor | None = None,
    tick: Callable[[], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Per contract, the marginal profit of an incident at the provider's best response with its 95% interval:
    the change in the provider's net profit over the simulated months when every incident rate is :data:`MARGIN`
    higher (the same incidents plus more, common random numbers), per incident more (a ratio estimator, its
    interval by the delta method); under the scenario's labour cost basis, with every client staying."""
    table = best[best["role"] == "provider"].set_index("contract")
    jobs = []
    for i, c in enumerate(scenario.contracts):
        jobs.append((i, levers_of(table.loc[c.name])))
    blob = task_inputs.pack(scenario)
    tasks = [(blob, r, seed, jobs) for r in range(replications)]
    found = pool.map(_marginal_replication, tasks) if pool is not None else map(_marginal_replication, tasks)
    rows = []
    for part in found:
        rows += part
        if tick is not None:
            tick()
    frame = pd.DataFrame(rows)
    out = {}
    for name, group in frame.groupby("contract", sort=False):
        profit, more = group["profit"].to_numpy(float), group["incidents"].to_numpy(float)
        marginal = float(profit.sum() / more.sum()) if more.sum() > 0 else float("nan")
        half = _t_half(profit - marginal * more) / float(more.mean()) if more.sum() > 0 else float("nan")
        out[str(name)] = {
            "marginal_profit_per_incident": marginal,
            "marginal_profit_per_incident_ci_low": marginal - half,
            "marginal_profit_per_incident_ci_high": marginal + half,
        }
    return out


CURVE_ROLES = ("provider", "social")
"""The optima the curves pass through: the provider's best response and the social optimum."""


def _curve_jobs(
    scenario: Scenario, best: pd.DataFrame, grids: dict[str, list[Levers]]
) -> tuple[list[Job], dict[int, tuple[str, str, str]]]:
    """The lever settings of the curves: for each contract, role of :data:`CURVE_ROLES` and lever searched, the
    lever's grid values and its value at the role's optimum, every other lever held at that optimum; and each
    job's (contract, role, lever)."""
    jobs: list[Job] = []
    what: dict[int, tuple[str, str, str]] = {}
    table = best.set_index(["contract", "role"])
    for i, c in enumerate(scenario.contracts):
        grid = grids[c.name]
        for role in CURVE_ROLES:
            optimum = levers_of(table.loc[(c.name, role)])
            for lever in LEVERS:
                values = list(dict.fromkeys([*(g[lever] for g in grid), optimum[lever]]))
                if len(values) < 2:
                    continue
                for value in sorted(values):
                    point = len(jobs)
                    jobs.append((i, point, {**optimum, lever: value}, [("base", c)]))
                    what[point] = (c.name, role, lever)
    return jobs, what


def _curves(rows: pd.DataFrame, what: dict[int, tuple[str, str, str]]) -> pd.DataFrame:
    """Each objective along each lever through each role's optimum (see :func:`_curve_jobs`), with 95%
    intervals: ``contract, role, lever, value``, then each objective's mean and interval (no rows when no lever
    was searched)."""
    columns = ["contract", "role", "lever", "value"]
    for m in ("provider_net_profit", "client_total_cost", "social_cost"):
        columns += [m, f"{m}_ci_low", f"{m}_ci_high"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for point, group in rows.groupby("point", sort=True):
        contract, role, lever = what[int(point)]  # type: ignore[arg-type]
        rec: dict[str, Any] = {
            "contract": contract,
            "role": role,
            "lever": lever,
            "value": float(group[lever].iloc[0]),
        }
        for m in ("provider_net_profit", "client_total_cost", "social_cost"):
            x = group[m].to_numpy(dtype=float)
            half = _t_half(x)
            rec[m], rec[f"{m}_ci_low"], rec[f"{m}_ci_high"] = x.mean(), x.mean() - half, x.mean() + half
        out.append(rec)
    return pd.DataFrame(out, columns=columns)


# ----------------------------------------------------------------------------------------------- contract design


def _design_variants(contract: Contract, scenario: Scenario) -> list[tuple[str, Contract]]:
    """Contracts with an SLA re-priced with each credit level tried (the simulation is shared; only billing
    differs)."""
    if contract.sla_terms is None:
        return []
    design = scenario.incentives.design
    credits: list[tuple[str, CreditScheme]] = [
        (f"per_downtime_hour={a:g}", PerDowntimeHour(kind="per_downtime_hour", amount_per_user_hour=a))
        for a in design.per_downtime_hour
    ]
    credits += [(f"per_breach={a:g}", PerBreach(kind="per_breach", amount=a)) for a in design.per_breach]
    variants: list[tuple[str, Contract]] = []
    for label, credit in credits:
        priced = contract.with_credit(credit)
        if priced is not None:
            variants.append((label, priced))
    return variants


def _segments_by_replication(
    scenario: Scenario, rows: pd.DataFrame, column: str, weights: np.ndarray | None = None
) -> np.ndarray:
    """A per-client vector column (times ``weights`` per client), summed by client segment: shape (replications,
    segments), in the order of the replications."""
    per_client = np.stack(list(rows.sort_values("replication")[column]))
    if weights is not None:
        per_client = per_client * weights[None, :]
    segment = client_table(scenario).segment
    return np.stack([np.bincount(segment, weights=v, minlength=len(scenario.clients)) for v in per_client])


def _break_even(
    values: np.ndarray, exposure: np.ndarray, other: np.ndarray, fee: float, risk: float | None, cost: bool
) -> float:
    """The fee at which one side is as well off as with the other contract: its objective (the mean, or with a
    risk tolerance the certainty equivalent) of ``values + (f − fee)·exposure`` over the replications equals that
    of ``other``. The mean moves one for one with the fee (a closed form); a certainty equivalent is solved for.
    NaN when the side never pays a fee (it leaves at once in every replication)."""
    if not float(exposure.mean()) > 0:
        return float("nan")
    start = fee + (float(other.mean()) - float(values.mean())) / float(exposure.mean())
    if risk is None:
        return start
    sign = -1.0 if cost else 1.0
    target = selection.objective_value(other, sign, risk)

    def gap(f: float) -> float:
        return selection.objective_value(values + (f - fee) * exposure, sign, risk) - target

    step = max(abs(start - fee), 1.0)
    while gap(start - step) * gap(start + step) > 0 and step < MONEY_BRACKET:
        step *= 2.0
    return float(optimize.brentq(gap, start - step, start + step))


MONEY_BRACKET = 1e12
"""How far a break-even fee is looked for around the risk-neutral one before giving up [currency/user-month]."""


def _design(scenario: Scenario, evals: pd.DataFrame, best: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """For each managed contract and credit level: the provider's best response, its social-cost gap, and the fee
    zone in which both sides prefer the managed contract to the reference contract at that contract's own best
    response, for the portfolio and for each client segment (``window_segments``: the segments with a zone).

    The fee per user-month is a lump sum: it moves profit and client cost one for one with the user-months the
    client stays (discounted, with a relationship) and leaves the best response unchanged, so the zone is the
    interval of fees between the provider's and the client's break-even fees (SLA credits are held at their value
    under the contract's own fee).
    """
    name = outside_contract(scenario)
    alternative: Any = best[(best["contract"] == name) & (best["role"] == "provider")].iloc[0]
    alt_rows = base[(base["contract"] == name) & (base["point"] == int(alternative["point"]))]
    alt_client = _segments_by_replication(scenario, alt_rows, "_client")
    alt_provider = _segments_by_replication(scenario, alt_rows, "_provider")
    users = client_table(scenario).users.astype(float)
    risk = {side: tolerance(scenario, side) for side in ("provider", "client")}
    out = []
    for c in scenario.contracts:
        if c.sla_terms is None:
            continue
        mine = evals[evals["contract"] == c.name]
        social = best[(best["contract"] == c.name) & (best["role"] == "social")].iloc[0]
        for label, group in mine[mine["variant"] != "base"].groupby("variant", sort=False):
            scheme, _ = str(label).split("=")
            # The label shows the amount rounded; take the exact level from the design it came from.
            levels: list[float] = getattr(scenario.incentives.design, scheme)
            amount = next(a for a in levels if f"{scheme}={a:g}" == label)
            point, _ = best_of(group, "provider", None, tolerance(scenario, "provider"))
            chosen = group[group["point"] == point]
            # Per segment: profit(fee) = profit + (fee − fee0)·U >= alternative's; client(fee) = client + (fee − fee0)·U
            # <= alternative's, with U the user-months the segment stays on the contract (per replication).
            exposure = _segments_by_replication(scenario, chosen, "_exposure", users)
            provider = _segments_by_replication(scenario, chosen, "_provider")
            client = _segments_by_replication(scenario, chosen, "_client")

            def even(
                values: np.ndarray, other: np.ndarray, units: np.ndarray, side: str, fee: float = c.user_fee()
            ) -> float:
                return _break_even(values, units, other, fee, risk[side], cost=side == "client")

            lows = [
                even(provider[:, g], alt_provider[:, g], exposure[:, g], "provider")
                for g in range(len(scenario.clients))
            ]
            highs = [
                even(client[:, g], alt_client[:, g], exposure[:, g], "client")
                for g in range(len(scenario.clients))
            ]
            fee_min = even(provider.sum(axis=1), alt_provider.sum(axis=1), exposure.sum(axis=1), "provider")
            fee_max = even(client.sum(axis=1), alt_client.sum(axis=1), exposure.sum(axis=1), "client")
            out.append(
                {
                    "contract": c.name,
                    "scheme": scheme,
                    "credit": float(amount),
                    "prevention_hours_per_endpoint_month": float(
                        chosen["prevention_hours_per_endpoint_month"].iloc[0]
                    ),
                    "technicians": int(chosen["technicians"].iloc[0]),
                    "monitoring": bool(chosen["monitoring"].iloc[0]),
                    "thoroughness": float(chosen["thoroughness"].iloc[0]),
                    "social_cost": float(chosen["social_cost"].mean()),
                    "social_gap": float(chosen["social_cost"].mean() - social["social_cost"]),
                    "sla_credits": float(chosen["sla_credits"].mean()),
                    "fee_min": fee_min,
                    "fee_max": fee_max,
                    "zone_exists": bool(max(fee_min, 0.0) <= fee_max),
                    "window_segments": ", ".join(
                        seg.name
                        for seg, lo, hi in zip(scenario.clients, lows, highs, strict=True)
                        if max(lo, 0.0) <= hi
                    ),
                    **{
                        f"fee_min[{seg.name}]": float(v)
                        for seg, v in zip(scenario.clients, lows, strict=True)
                    },
                    **{
                        f"fee_max[{seg.name}]": float(v)
                        for seg, v in zip(scenario.clients, highs, strict=True)
                    },
                }
            )
    table = pd.DataFrame(out)
    if not table.empty:
        table["recommended"] = False
        for _, group in table.groupby("contract"):
            ok = group[group["zone_exists"]]
            if not ok.empty:
                table.loc[ok["social_gap"].idxmin(), "recommended"] = True
    return table
