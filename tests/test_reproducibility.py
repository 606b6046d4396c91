"""Same seed, same numbers (any worker count); common random numbers across contracts (DESIGN.md §5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator import Results, Scenario, load_scenario, simulate
from simulator.engine.incidents import client_table, generate_incidents

BASELINE = "scenarios/baseline.yaml"
SMALL = {"horizon_months": 4, "warmup_months": 0, "replications": 3}
TM, FIXED, MANAGED = "break-fix-tm", "break-fix-fixed-price", "managed-services"

# Metrics that depend only on what happened, not on the price list: equal for contracts with equal levers.
OPERATIONAL = [
    "incidents",
    "tickets",
    "self_handled",
    "auto_remediated",
    "recurrences",
    "prevented",
    "downtime_user_hours",
    "client_downtime_cost",
    "mean_response_hours",
    "p90_resolution_hours",
    "technician_utilization",
    "technician_hours_worked",
]


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load_scenario(BASELINE, SMALL)


@pytest.fixture(scope="module")
def run(small: Scenario) -> Results:
    return simulate(small, tickets=True)


def test_same_seed_same_numbers(small: Scenario, run: Results) -> None:
    again = simulate(small, tickets=True)
    pd.testing.assert_frame_equal(run.replications, again.replications)
    pd.testing.assert_frame_equal(run.monthly, again.monthly)
    assert run.tickets is not None and again.tickets is not None
    pd.testing.assert_frame_equal(run.tickets, again.tickets)


def test_worker_count_does_not_matter(small: Scenario, run: Results) -> None:
    parallel = simulate(small, workers=2, tickets=True)
    pd.testing.assert_frame_equal(run.replications, parallel.replications)
    pd.testing.assert_frame_equal(run.monthly, parallel.monthly)
    assert parallel.tickets is not None and run.tickets is not None
    pd.testing.assert_frame_equal(run.tickets, parallel.tickets)


def test_a_replication_does_not_depend_on_the_others(small: Scenario, run: Results) -> None:
    """Replication r's streams depend on (seed, r) only: more replications leave the first ones alone."""
    more = simulate(small, replications=4).replications
    pd.testing.assert_frame_equal(run.replications, more[more["replication"] < 3].reset_index(drop=True))


def test_different_seed_different_numbers(small: Scenario, run: Results) -> None:
    other = simulate(small, seed=small.seed + 1).replications
    assert (other["seed"] == small.seed + 1).all()
    for metric in ("incidents", "provider_revenue", "client_downtime_cost"):
        assert not np.array_equal(run.replications[metric].to_numpy(), other[metric].to_numpy()), metric
    # ... and different replications of one seed differ from each other.
    tm = run.replications[run.replications["contract"] == TM]
    assert tm["provider_revenue"].nunique() == len(tm)


def by_replication(reps: pd.DataFrame, contract: str, metric: str) -> np.ndarray:
    rows = reps[reps["contract"] == contract].sort_values("replication")
    return rows[metric].to_numpy(dtype=float)


def test_equal_levers_see_equal_incidents(run: Results) -> None:
    """T&M and fixed price share policy and client behaviour: everything but the money is identical."""
    reps = run.replications
    for metric in OPERATIONAL:
        np.testing.assert_array_equal(
            by_replication(reps, TM, metric), by_replication(reps, FIXED, metric), metric
        )
    assert run.tickets is not None
    t = run.tickets.drop(columns="contract")
    pd.testing.assert_frame_equal(
        t[run.tickets["contract"] == TM].reset_index(drop=True),
        t[run.tickets["contract"] == FIXED].reset_index(drop=True),
    )
    # The money differs (otherwise the comparison above would be trivial).
    assert not np.array_equal(
        by_replication(reps, TM, "provider_revenue"), by_replication(reps, FIXED, "provider_revenue")
    )


def occurred(tickets: pd.DataFrame, contract: str, replication: int) -> np.ndarray:
    """Sorted occurrence times of the incidents that were not recurrences."""
    t = tickets[(tickets["contract"] == contract) & (tickets["replication"] == replication)]
    return np.sort(t.loc[~t["recurrence"], "occurred"].to_numpy())


def test_same_prevention_and_monitoring_same_incidents() -> None:
    """T&M given the managed contract's prevention and monitoring sees the very same incidents occur, although
    its clients behave differently (they call in fewer) and its prices differ."""
    managed = next(c for c in load_scenario(BASELINE).contracts if c.name == MANAGED).policy
    sc = load_scenario(
        BASELINE,
        {
            **SMALL,
            "contracts.break-fix-tm.policy.prevention_hours_per_endpoint_month": (
                managed.prevention_hours_per_endpoint_month
            ),
            "contracts.break-fix-tm.policy.monitoring": managed.monitoring,
        },
    )
    res = simulate(sc, tickets=True)
    assert res.tickets is not None
    for r in range(sc.replications):
        np.testing.assert_array_equal(occurred(res.tickets, TM, r), occurred(res.tickets, MANAGED, r))
    reps = res.replications
    np.testing.assert_array_equal(
        by_replication(reps, TM, "prevented"), by_replication(reps, MANAGED, "prevented")
    )
    # Behaviour differs: under break/fix some incidents are worked around, under the flat fee none.
    assert by_replication(reps, TM, "self_handled").sum() > 0
    assert by_replication(reps, MANAGED, "self_handled").sum() == 0


def test_more_prevention_sees_a_subset(small: Scenario, run: Results) -> None:
    """Managed (prevention 0.25) sees a subset of the incidents T&M (no prevention) sees, and together with
    the prevented ones exactly the generated set."""
    assert run.tickets is not None
    clients = client_table(small)
    for r in range(small.replications):
        tm, managed = occurred(run.tickets, TM, r), occurred(run.tickets, MANAGED, r)
        assert np.isin(managed, tm).all()
        generated = np.sort(generate_incidents(small, clients, r, small.seed).occurred)
        np.testing.assert_array_equal(tm, generated)
        prevented = by_replication(run.replications, MANAGED, "prevented")[r]
        assert len(managed) + prevented == len(generated)


def test_paired_differences_are_tighter(run: Results) -> None:
    """Common random numbers: the paired interval of fixed price − T&M is far narrower than unpaired."""
    reps = run.replications
    metric = "client_total_cost"
    a, b = by_replication(reps, FIXED, metric), by_replication(reps, TM, metric)
    n = len(a)
    row = run.differences[
        (run.differences["contract"] == FIXED) & (run.differences["metric"] == metric)
    ].iloc[0]
    assert row["reference"] == TM and row["n"] == n
    assert row["mean"] == pytest.approx(float(np.mean(a - b)))
    paired_half = (row["ci_high"] - row["ci_low"]) / 2
    t = stats.t.ppf(0.975, n - 1)
    assert paired_half == pytest.approx(t * np.std(a - b, ddof=1) / np.sqrt(n))
    # Welch (unpaired) interval of the same difference.
    va, vb = a.var(ddof=1) / n, b.var(ddof=1) / n
    df = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (n - 1))
    unpaired_half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert paired_half < 0.5 * unpaired_half, (paired_half, unpaired_half)
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_totals_only_give_the_same_replications(small: Scenario, run: Results) -> None:
    """What a sweep point asks for (``series=False``: no monthly series, no ticket-time histograms) gives the
    replications of a full run to the byte."""
    totals = simulate(small, series=False)
    pd.testing.assert_frame_equal(run.replications, totals.replications, check_exact=True)
    assert totals.monthly.empty and totals.times is None


def _interval(values: np.ndarray) -> dict[str, float]:
    x = values[~np.isnan(values)]
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    sd = float(x.std(ddof=1)) if n > 1 else np.nan
    half = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n) if n > 1 else np.nan
    return {"mean": mean, "std": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def test_summaries_are_computed_when_asked_and_equal_metric_by_metric(run: Results) -> None:
    """The summary and the paired differences are worked out on first use, and equal the plain computation of
    each metric's interval on its own (contract by contract, replication by replication) to the byte."""
    from simulator.metrics import METRICS

    fresh = Results(scenario=run.scenario, replications=run.replications, monthly=run.monthly)
    assert "summary" not in vars(fresh) and "differences" not in vars(fresh)
    reps = run.replications
    expected = pd.DataFrame(
        [
            {"contract": c, "metric": m, **_interval(g[m].to_numpy(dtype=float))}
            for c, g in reps.groupby("contract", sort=False)
            for m in METRICS
        ]
    )
    pd.testing.assert_frame_equal(fresh.summary, expected, check_exact=True)
    ref = reps[reps["contract"] == TM].set_index("replication")
    rows = []
    for c, g in reps.groupby("contract", sort=False):
        if c == TM:
            continue
        g = g.set_index("replication")
        for m in METRICS:
            diff = g.loc[ref.index, m].to_numpy(dtype=float) - ref[m].to_numpy(dtype=float)
            rows.append({"contract": c, "reference": TM, "metric": m, **_interval(diff)})
    pd.testing.assert_frame_equal(fresh.differences, pd.DataFrame(rows), check_exact=True)


def test_a_block_of_mixed_categories_gets_the_attributes_each_category_would_alone() -> None:
    import numpy as np

    from simulator import load_scenario
    from simulator.engine.incidents import IncidentSet, U, attributes_from_uniforms, client_table

    sc = load_scenario("scenarios/baseline.yaml")
    clients = client_table(sc)
    rng = np.random.default_rng(7)
    n = 400
    k = rng.integers(0, len(sc.incidents.categories) + 1, n)  # the last: a major incident
    client = rng.integers(0, clients.count, n)
    occurred, u, features = rng.uniform(0, 1000, n), rng.random((n, U.COUNT)), rng.random((n, 2))
    mixed = attributes_from_uniforms(sc, clients, client, k, occurred, u, features)
    for c in np.unique(k):
        m = np.flatnonzero(k == c)
        alone: IncidentSet = attributes_from_uniforms(
            sc, clients, client[m], int(c), occurred[m], u[m], features[m]
        )
        for name, values in vars(alone).items():
            np.testing.assert_array_equal(getattr(mixed, name)[m], values, err_msg=f"{name}, category {c}")


def _assert_same(a: object, b: object) -> None:
    """Two runs (or records of them) equal field by field, arrays to the bit."""
    import dataclasses

    if dataclasses.is_dataclass(a):
        for field in dataclasses.fields(a):
            _assert_same(getattr(a, field.name), getattr(b, field.name))
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def test_staffing_levels_run_together_as_each_would_alone() -> None:
    # The incentive grid runs the staffing levels of a lever setting together, sharing what comes before the pool
    # (thinning, routes, the recurrences drawn): each run must be what simulating its contract alone gives.
    from simulator.engine.replication import simulate_contract, simulate_staffing

    sc = load_scenario("scenarios/incentives.yaml", {"horizon_months": 6, "warmup_months": 1})
    clients = client_table(sc)
    incidents = generate_incidents(sc, clients, 1, sc.seed)
    for contract in sc.contracts:
        levels = [
            contract.model_copy(update={"policy": contract.policy.model_copy(update={"technicians": t})})
            for t in (1, 2, 4)
        ]
        together = list(simulate_staffing(sc, levels, incidents, clients, sc.seed, 1))
        assert len(together) == len(levels)
        for level, run in zip(levels, together, strict=True):
            _assert_same(run, simulate_contract(sc, level, incidents, clients, sc.seed, 1))
        # Staffing matters: the tickets start at other times.
        assert not np.array_equal(together[0].tickets.started, together[2].tickets.started, equal_nan=True)
    thorough = levels[0].model_copy(
        update={"policy": levels[0].policy.model_copy(update={"thoroughness": 1.3})}
    )
    with pytest.raises(ValueError, match="more than its technicians"):
        list(simulate_staffing(sc, [levels[0], thorough], incidents, clients, sc.seed, 1))


def test_the_incidents_a_worker_keeps_are_those_generated_and_cannot_be_changed() -> None:
    from simulator.studies import task_inputs

    sc = load_scenario("scenarios/small-office.yaml", {"horizon_months": 3})
    blob = task_inputs.pack(sc)
    scenario, clients = task_inputs.unpack(blob)
    assert scenario == sc
    assert clients.count == client_table(sc).count
    kept = task_inputs.incidents(blob, 2, 7)
    assert task_inputs.incidents(blob, 2, 7) is kept  # the second task on the replication reads it again
    fresh = generate_incidents(sc, client_table(sc), 2, 7)
    _assert_same(kept, fresh)
    with pytest.raises(ValueError, match="read-only"):
        kept.occurred[0] = 0.0
    more = task_inputs.incidents(blob, 2, 7, extra=0.1)
    assert len(more) > len(kept)


def test_a_worker_keeps_incidents_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.studies import task_inputs

    sc = load_scenario("scenarios/small-office.yaml", {"horizon_months": 3})
    blob = task_inputs.pack(sc)
    sizes = [task_inputs._nbytes(generate_incidents(sc, client_table(sc), r, 1)) for r in range(3)]
    # Room for all but one byte of three replications: the one used longest ago goes when the third comes.
    monkeypatch.setattr(task_inputs, "INCIDENT_BYTES", sum(sizes) - 1)
    first = task_inputs.incidents(blob, 0, 1)
    second = task_inputs.incidents(blob, 1, 1)
    task_inputs.incidents(blob, 0, 1)  # used again: now the newest
    task_inputs.incidents(blob, 2, 1)
    assert task_inputs.incidents(blob, 0, 1) is first
    assert task_inputs.incidents(blob, 1, 1) is not second
    # With no room at all the last one is still kept.
    monkeypatch.setattr(task_inputs, "INCIDENT_BYTES", 0)
    assert task_inputs.incidents(blob, 3, 1) is task_inputs.incidents(blob, 3, 1)


@pytest.mark.parametrize(
    "name", ["baseline", "contract-menu", "downtime-sensitive-practice", "small-office", "transition"]
)
def test_replications_run_side_by_side_as_each_would_alone(name: str) -> None:
    # A run batches small replications: their incidents are generated and stacked as one portfolio (the clients
    # once per replication), each with its own pool and streams, then billed and measured the same way. Every
    # contract's run of every replication must be, to the bit, what simulating that replication alone gives: the
    # incidents, the ticket log (clients, incident numbers and parent rows numbered as alone), the prevention log,
    # every monthly figure, the bill, the metrics and the money by month.
    import dataclasses

    from simulator.base import memo
    from simulator.engine.replication import Stack, contract_setup, simulate_contract, simulate_replications
    from simulator.metrics import billing_context, measure, measure_runs, monthly_flows

    sc = load_scenario(f"scenarios/{name}.yaml", {"horizon_months": 5, "warmup_months": 1})
    clients = client_table(sc)
    ctx = billing_context(sc, clients)
    replications = [3, 4, 7]
    incidents = [generate_incidents(sc, clients, r, sc.seed) for r in replications]
    stack = Stack.generate(sc, clients, replications, sc.seed)
    _assert_same(stack, Stack.of(incidents, clients, replications))
    for contract in sc.contracts:
        setup = contract_setup(sc, contract, clients)
        together = simulate_replications(sc, setup, stack, sc.seed)
        measured = measure_runs(sc, contract, together, ctx)
        assert len({len(run.tickets) for run in together}) > 1 or len(together[0].tickets) == 0
        for k, (r, inc, run) in enumerate(zip(replications, incidents, together, strict=True)):
            alone = simulate_contract(sc, contract, inc, clients, sc.seed, r, setup)
            _assert_same(dataclasses.replace(run, batch=None, place=0), alone)
            memo.forget()  # nothing remembered from the runs measured together
            row, flows, ledger = measure(sc, contract, alone, ctx)
            assert list(measured.rows[k]) == list(row)
            assert measured.rows[k] == pytest.approx(row, nan_ok=True, rel=0, abs=0)
            _assert_same(measured.monthly(k), flows)
            _assert_same(measured.ledger(k), ledger)
            # The money by month is the ledger's, as re-pricing and the transition read it.
            _assert_same(flows, monthly_flows(ledger, alone.tickets, ctx.months, sc.provider.overhead))


def test_a_run_batches_small_replications_and_gives_every_worker_a_batch() -> None:
    from simulator.studies.run import MOST_BATCHED, batches

    small = load_scenario("scenarios/small-office.yaml")
    one = batches(small, 40, 1)
    assert [r for batch in one for r in batch] == list(range(40))
    assert max(len(b) for b in one) == MOST_BATCHED
    two = batches(small, 10, 2)
    assert [len(b) for b in two] == [5, 5]  # one batch per worker process
    base = load_scenario("scenarios/baseline.yaml")
    big = base.model_copy(
        update={"clients": [c.model_copy(update={"count": c.count * 20}) for c in base.clients]}
    )
    assert all(len(b) == 1 for b in batches(big, 6, 1))  # a large replication runs alone


@settings(max_examples=150, deadline=None)
@given(
    seed=st.one_of(st.integers(0, 2**32 + 5), st.integers(0, 2**70)),
    named=st.lists(
        st.tuples(st.one_of(st.integers(0, 50), st.integers(0, 2**40)), st.text(max_size=30)),
        min_size=1,
        max_size=8,
    ),
)
def test_streams_seeded_together_are_each_streams_own(seed: int, named: list[tuple[int, str]]) -> None:
    # A batch's streams are seeded together, the seed sequences' hashing on arrays: each must give the numbers
    # NumPy's own SeedSequence gives that (seed, replication, name), whatever the entropy's length in 32-bit words.
    from simulator.base.rng import TOGETHER, seeded_together, stream, streams

    many = named * (TOGETHER // len(named) + 1)  # enough for streams() to seed them together
    for (replication, name), made in zip(many, streams(seed, many), strict=True):
        assert made.random() == stream(seed, replication, name).random()
    for (replication, name), made in zip(named, seeded_together(seed, named), strict=True):
        own = stream(seed, replication, name)
        np.testing.assert_array_equal(made.random(4), own.random(4))
        assert made.integers(0, 2**62) == own.integers(0, 2**62)
