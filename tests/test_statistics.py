"""The simulator against queueing and probability theory (STYLE.md: tolerances from the estimate's own SE).

Every check is "theory inside a wide confidence interval of the estimate" (99.9% unless said otherwise),
plus a check that the interval is narrow enough for the comparison to mean something. Seeds are fixed, so a
failure is reproducible; the wide level keeps a correct model passing for almost every seed.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import category, client, managed_contract, mmc_scenario, scenario, tm_contract
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator import Results, Scenario, load_scenario, simulate
from simulator.base.calendar import HOURS_PER_MONTH
from simulator.base.records import Handling
from simulator.engine.incidents import client_table, generate_incidents
from simulator.engine.pool import run_pool

LEVEL = 0.999
Z = float(stats.norm.ppf(0.5 + LEVEL / 2))  # ≈ 3.29


def erlang_c(servers: int, arrival_rate: float, mean_service: float) -> tuple[float, float]:
    """M/M/c: probability of waiting C(c, a) and mean wait in queue Wq = C / (c·μ − λ) [hours]."""
    a = arrival_rate * mean_service  # offered load [erlangs]
    rho = a / servers
    assert rho < 1
    top = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait, p_wait / (servers / mean_service - arrival_rate)


def t_half_width(x: np.ndarray, level: float = LEVEL) -> float:
    """Half-width of the two-sided t-interval of the mean of independent samples ``x``."""
    n = len(x)
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * np.std(x, ddof=1) / math.sqrt(n))


def batch_means(x: np.ndarray, batches: int) -> np.ndarray:
    """Means of ``batches`` consecutive equal batches (the remainder at the end is dropped)."""
    size = len(x) // batches
    return x[: size * batches].reshape(batches, size).mean(axis=1)


def test_erlang_c_formula() -> None:
    # M/M/1 special case: C = ρ, Wq = ρ/(μ − λ).
    p, wq = erlang_c(1, 0.8, 1.0)
    assert p == pytest.approx(0.8)
    assert wq == pytest.approx(4.0)
    # Textbook value: c = 2, a = 1.5 → C = 4.5/7.
    assert erlang_c(2, 1.5, 1.0)[0] == pytest.approx(4.5 / 7)


# --------------------------------------------------------------------------------------------- M/M/c


@pytest.mark.slow
@pytest.mark.parametrize(("servers", "rate", "mean_service"), [(2, 1.5, 1.0), (3, 2.4, 1.0)])
def test_run_pool_matches_erlang_c(servers: int, rate: float, mean_service: float) -> None:
    """The bare technician pool with Poisson arrivals and exponential service is an M/M/c queue."""
    rng = np.random.default_rng(20240601 + servers)
    n, warmup, batches = 300_000, 5_000, 30
    arrival = np.cumsum(rng.exponential(1 / rate, n))
    service = rng.exponential(mean_service, n)
    pool = run_pool(arrival, np.full(n, 3, dtype=np.int8), service, servers)

    # FCFS, work-conserving, every job served exactly once.
    assert np.all(pool.end == pytest.approx(pool.start + service))
    assert np.all(pool.start >= pool.arrival)
    assert np.all(np.diff(pool.start) >= 0)
    wait = (pool.start - pool.arrival)[warmup:]
    p_wait, wq = erlang_c(servers, rate, mean_service)

    # Batch means absorb the autocorrelation of successive waits.
    means = batch_means(wait, batches)
    half = t_half_width(means)
    assert abs(means.mean() - wq) <= half, (means.mean(), wq, half)
    assert half < 0.1 * wq  # the check has power

    waited = batch_means((wait > 1e-12).astype(float), batches)
    assert abs(waited.mean() - p_wait) <= t_half_width(waited)


def test_run_pool_priorities_and_on_done() -> None:
    """Non-preemptive priority, FCFS within a priority; a job returned by on_done is queued at its arrival."""
    arrival = np.array([0.0, 0.1, 0.2, 0.3])
    priority = np.array([3, 3, 1, 3], dtype=np.int8)
    service = np.array([1.0, 1.0, 1.0, 1.0])

    def recur_first(job: int, end: float) -> tuple[float, int, float] | None:
        return (end + 5.0, 2, 0.5) if job == 0 else None

    pool = run_pool(arrival, priority, service, 1, on_done=recur_first)
    # Job 0 runs at once; the P1 job 2 overtakes jobs 1 and 3, which then go in arrival order.
    np.testing.assert_allclose(pool.start[:4], [0.0, 2.0, 1.0, 3.0])
    np.testing.assert_allclose(pool.start[4:], [6.0])  # the recurrence arrives 5 h after job 0 ends
    np.testing.assert_allclose(pool.end, pool.start + pool.service)


# The M/M/2 queue through the whole scenario engine: λ = 1.5/h, E[S] = 1 h, ρ = 0.75.
MMC_SERVERS, MMC_RATE, MMC_SERVICE, MMC_MONTHS = 2, 1.5, 1.0, 3


@pytest.fixture(scope="module")
def mmc_run() -> Results:
    sc = load_scenario(
        mmc_scenario(MMC_SERVERS, MMC_RATE, MMC_SERVICE, horizon_months=MMC_MONTHS, replications=40, seed=11)
    )
    res = simulate(sc, tickets=True)
    assert res.tickets is not None
    return res


@pytest.mark.slow
def test_engine_matches_erlang_c(mmc_run: Results) -> None:
    """End to end: a one-category, all-P3, 24x7 scenario is M/M/c; replications are independent samples."""
    tickets = mmc_run.tickets
    assert tickets is not None
    assert (tickets["handling"] == Handling.TICKET).all() and not tickets["recurrence"].any()
    # No reporting or triage delay and business time = clock: a ticket is created when it occurs.
    np.testing.assert_allclose(tickets["created"], tickets["occurred"], atol=1e-9)
    # The response metric is the mean of the log's waits (no warm-up: every ticket counts).
    all_waits = (tickets["started"] - tickets["created"]).groupby(tickets["replication"]).mean()
    np.testing.assert_allclose(mmc_run.replications["mean_response_hours"], all_waits.to_numpy(), rtol=1e-9)
    # Each replication starts empty: drop the first 100 h (≈ twice the relaxation time 1/(μ(1 − √ρ))²).
    steady = tickets[tickets["created"] >= 100.0]
    wait = steady["started"] - steady["created"]
    mean_wait = wait.groupby(steady["replication"]).mean().to_numpy()
    p_wait, wq = erlang_c(MMC_SERVERS, MMC_RATE, MMC_SERVICE)
    half = t_half_width(mean_wait)
    assert abs(mean_wait.mean() - wq) <= half, (mean_wait.mean(), wq, half)
    assert half < 0.2 * wq
    waited = (wait > 1e-9).groupby(steady["replication"]).mean().to_numpy()
    assert abs(waited.mean() - p_wait) <= t_half_width(waited), (waited.mean(), p_wait)

    # Inter-arrival times are exponential with rate λ (Poisson in clock time).
    created = tickets.groupby("replication")["created"]
    gaps = np.concatenate([np.diff(np.sort(g.to_numpy())) for _, g in created])
    assert abs(gaps.mean() - 1 / MMC_RATE) <= Z * (1 / MMC_RATE) / math.sqrt(len(gaps))
    assert stats.kstest(gaps, stats.expon(scale=1 / MMC_RATE).cdf).pvalue > 1 - LEVEL


def test_utilisation_is_offered_load_per_server(mmc_run: Results) -> None:
    """technician_utilization ≈ λ·E[S]/c (every arrival in the horizon is served; busy time counts once)."""
    reps = mmc_run.replications
    util = reps["technician_utilization"].to_numpy()
    assert abs(util.mean() - MMC_RATE * MMC_SERVICE / MMC_SERVERS) <= t_half_width(util)
    # Little's law on the servers: busy servers on average = λ·E[S], measured as worked hours / horizon.
    busy = reps["technician_hours_worked"].to_numpy() / (MMC_MONTHS * HOURS_PER_MONTH)
    assert abs(busy.mean() - MMC_RATE * MMC_SERVICE) <= t_half_width(busy)


# --------------------------------------------------------------------------------------------- arrivals


def count_scenario(replications: int) -> dict[str, Any]:
    """Three identical clients, a per-user and a per-endpoint category, on the default business calendar."""
    return scenario(
        categories=[
            category("per-user", rate_per_user_month=0.3),
            category("per-endpoint", rate_per_user_month=None, rate_per_endpoint_month=0.2),
        ],
        clients=[client(count=3, users=8, endpoints=10)],
        horizon_months=6,
        replications=replications,
        calendar={},  # Mon–Fri 08–18
    )


def test_incident_counts_are_poisson() -> None:
    """Counts per category and replication: mean rate × units × months × clients, variance/mean ≈ 1."""
    reps = 400
    sc = load_scenario(count_scenario(reps))
    clients = client_table(sc)
    sets = [generate_incidents(sc, clients, r, sc.seed) for r in range(reps)]
    for index, expected in ((0, 0.3 * 8 * 6 * 3), (1, 0.2 * 10 * 6 * 3)):
        totals = np.array([np.sum(s.category == index) for s in sets], dtype=float)
        assert abs(totals.mean() - expected) <= Z * math.sqrt(expected / reps), (
            index,
            totals.mean(),
            expected,
        )
        # Index of dispersion: (n − 1)·s²/x̄ ~ χ²(n − 1) for Poisson counts.
        d = (reps - 1) * totals.var(ddof=1) / totals.mean()
        lo, hi = stats.chi2.ppf([(1 - LEVEL) / 2, (1 + LEVEL) / 2], reps - 1)
        assert lo <= d <= hi, (index, d / (reps - 1))
        # Each client's own count is Poisson with a third of the mean.
        per_client = np.array(
            [np.bincount(s.client[s.category == index], minlength=3) for s in sets], dtype=float
        ).ravel()
        d = (len(per_client) - 1) * per_client.var(ddof=1) / per_client.mean()
        lo, hi = stats.chi2.ppf([(1 - LEVEL) / 2, (1 + LEVEL) / 2], len(per_client) - 1)
        assert lo <= d <= hi


def test_arrivals_are_uniform_in_business_time() -> None:
    """Incidents arrive while users work, uniformly in business time (a Poisson process in business time)."""
    sc = load_scenario(count_scenario(2))
    users = sc.calendar.users()
    inc = generate_incidents(sc, client_table(sc), 0, sc.seed)
    assert users.is_open(inc.occurred).all()
    assert np.all(np.diff(inc.occurred) >= 0)
    b = users.business_time(inc.occurred)
    b_horizon = float(users.business_time(sc.horizon_months * HOURS_PER_MONTH))
    assert stats.kstest(b / b_horizon, "uniform").pvalue > 1 - LEVEL


# --------------------------------------------------------------------------------------------- prevention

PREVENTABLE, THETA = 0.6, 2.0
EFFORTS = (0.0, 0.25, 0.5, 1.0)


def prevention_scenario(replications: int) -> dict[str, Any]:
    return scenario(
        categories=[
            category(
                "preventable",
                rate_per_user_month=None,
                rate_per_endpoint_month=0.5,
                mean_effort_hours=0.5,
                preventable=PREVENTABLE,
                theta=THETA,
            )
        ],
        clients=[client(count=4, users=10, endpoints=10)],
        contracts=[tm_contract(f"e={e}", technicians=2, prevention=e) for e in EFFORTS],
        horizon_months=6,
        replications=replications,
    )


def surviving_share(e: float) -> float:
    """rate(e)/base = (1 − p) + p·exp(−θe) (DESIGN.md §2)."""
    return (1 - PREVENTABLE) + PREVENTABLE * math.exp(-THETA * e)


@pytest.fixture(scope="module")
def prevention_run() -> tuple[Scenario, pd.DataFrame]:
    sc = load_scenario(prevention_scenario(60))
    return sc, simulate(sc).replications


def test_prevention_curve(prevention_run: tuple[Scenario, pd.DataFrame]) -> None:
    """Measured incidents follow base × ((1 − p) + p·exp(−θe)); incidents + prevented is the base count."""
    _, reps = prevention_run
    base_mean = 0.5 * 10 * 6 * 4  # rate × endpoints × months × clients
    n = reps["replication"].nunique()
    for e in EFFORTS:
        rows = reps[reps["contract"] == f"e={e}"].set_index("replication").sort_index()
        f = surviving_share(e)
        # Poisson thinning: survivors per replication ~ Poisson(base_mean · f).
        survivors = rows["incidents"].to_numpy()
        assert abs(survivors.mean() - base_mean * f) <= Z * math.sqrt(base_mean * f / n), (
            e,
            survivors.mean(),
        )
        # Given the base incidents, each survives independently with probability f (binomial).
        total = (rows["incidents"] + rows["prevented"]).to_numpy()
        share = survivors.sum() / total.sum()
        assert abs(share - f) <= Z * math.sqrt(f * (1 - f) / total.sum()) + 1e-12, (e, share, f)
        # Every contract thins the same base incidents (common random numbers).
        ref = reps[reps["contract"] == "e=0.0"].set_index("replication").sort_index()
        np.testing.assert_array_equal(total, ref["incidents"].to_numpy())
        # Prevention is real work: e × endpoints × clients × months hours of it.
        np.testing.assert_allclose(rows["prevention_hours"], e * 10 * 4 * 6, rtol=1e-9)


def test_prevention_removes_nested_sets(prevention_run: tuple[Scenario, pd.DataFrame]) -> None:
    """More prevention removes a superset: prevented = u_prevent < preventable·(1 − exp(−θe))."""
    sc, reps = prevention_run
    clients = client_table(sc)
    for r in range(5):
        inc = generate_incidents(sc, clients, r, sc.seed)
        masks = [inc.u_prevent < inc.prevent_threshold * -np.expm1(-inc.theta * e) for e in EFFORTS]
        for smaller, larger in itertools.pairwise(masks):
            assert np.all(larger[smaller]), "an incident prevented at lower effort survived higher effort"
        for e, mask in zip(EFFORTS, masks, strict=True):
            row = reps[(reps["contract"] == f"e={e}") & (reps["replication"] == r)].iloc[0]
            assert row["prevented"] == mask.sum()
            assert row["incidents"] == len(inc) - mask.sum()


def test_utilisation_includes_prevention(prevention_run: tuple[Scenario, pd.DataFrame]) -> None:
    """Busy hours = incident work + prevention work, so utilisation ≈ (λ_e·E[S] + prevention) / (c·hours)."""
    _, reps = prevention_run
    horizon = 6 * HOURS_PER_MONTH
    for e in EFFORTS:
        util = reps.loc[reps["contract"] == f"e={e}", "technician_utilization"].to_numpy()
        expected = (0.5 * 10 * 4 * 6 * surviving_share(e) * 0.5 + e * 10 * 4 * 6) / (2 * horizon)
        assert abs(util.mean() - expected) <= t_half_width(util), (e, util.mean(), expected)


def test_prevented_respects_the_warm_up() -> None:
    """With a warm-up, prevented and surviving incidents are counted over the same months:
    prevented/(incidents + prevented) is still 1 − rate(e)/base."""
    data = prevention_scenario(20)
    data["horizon_months"], data["warmup_months"] = 6, 3
    reps = simulate(load_scenario(data)).replications
    e = 1.0
    rows = reps[reps["contract"] == f"e={e}"]
    total = float((rows["incidents"] + rows["prevented"]).sum())
    share = float(rows["prevented"].sum()) / total
    f = surviving_share(e)
    assert abs(share - (1 - f)) <= Z * math.sqrt(f * (1 - f) / total), (share, 1 - f)


# --------------------------------------------------------------------------------------------- behaviour


def test_self_handled_share_is_one_minus_call_in() -> None:
    """Under break/fix staff work around 1 − call_in_share of user incidents; under a flat fee, none."""
    call_in = 0.4
    sc = load_scenario(
        scenario(
            categories=[category("a", rate_per_user_month=0.5, mean_effort_hours=0.3)],
            clients=[client(count=5, users=10, endpoints=10, call_in_share=call_in)],
            contracts=[tm_contract("tm", technicians=2), managed_contract("managed", technicians=2)],
            horizon_months=6,
            replications=10,
        )
    )
    reps = simulate(sc).replications
    tm = reps[reps["contract"] == "tm"]
    n = tm["incidents"].sum()
    share = tm["self_handled"].sum() / n
    assert abs(share - (1 - call_in)) <= Z * math.sqrt(call_in * (1 - call_in) / n), share
    np.testing.assert_array_equal(tm["self_handled"] + tm["tickets"], tm["incidents"])
    managed = reps[reps["contract"] == "managed"]
    assert (managed["self_handled"] == 0).all()
    np.testing.assert_array_equal(managed["tickets"].to_numpy(), managed["incidents"].to_numpy())
    np.testing.assert_array_equal(managed["incidents"].to_numpy(), tm["incidents"].to_numpy())


def test_replications_to_separate_a_difference_follow_the_power_formula() -> None:
    """((1.96 + 0.84) · sd / |d|)² replications: for d = 1, sd = 2 that is 31.4, so 32; at that size a paired
    t-test finds the difference in about 80% of runs (simulated runs against the exact t power, 3 SE)."""
    from simulator.studies.run import interval, replications_to_separate

    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert replications_to_separate(1.0, 2.0) == math.ceil((z * 2.0) ** 2) == 32
    assert replications_to_separate(-1.0, 2.0) == 32
    assert replications_to_separate(0.0, 2.0) is None and replications_to_separate(1.0, float("nan")) is None
    assert replications_to_separate(10.0, 0.1) == 2
    n, trials = 32, 2000
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(trials):
        ci = interval(rng.normal(1.0, 2.0, n))
        hits += ci["ci_low"] > 0 or ci["ci_high"] < 0
    crit = stats.t.ppf(0.975, n - 1)
    exact = stats.nct.sf(crit, n - 1, np.sqrt(n) / 2) + stats.nct.cdf(-crit, n - 1, np.sqrt(n) / 2)
    assert exact > 0.75
    assert abs(hits / trials - exact) < 3 * np.sqrt(exact * (1 - exact) / trials)


@settings(max_examples=300, deadline=None)
@given(
    x=st.lists(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from([0.0, 1.0, 2.5, float("nan"), float("inf"), -float("inf")]),
        ),
        min_size=1,
        max_size=40,
    ),
    q=st.one_of(st.sampled_from([0.0, 50.0, 90.0, 95.0, 100.0]), st.floats(0.0, 100.0)),
)
def test_percentile_is_numpys_to_the_bit(x: list[float], q: float) -> None:
    from simulator.metrics import percentile

    a = np.array(x)
    with np.errstate(invalid="ignore"):
        expected = float(np.percentile(a, q))
        got = percentile(a, q)
    assert got == expected or (math.isnan(got) and math.isnan(expected)), (got, expected)


@settings(max_examples=200, deadline=None)
@given(
    segments=st.lists(
        st.lists(
            st.one_of(
                st.floats(-1e6, 1e6, allow_nan=False),
                st.sampled_from([0.0, 1.0, 2.5, float("nan"), float("inf"), -float("inf")]),
            ),
            max_size=20,
        ),
        min_size=1,
        max_size=6,
    ),
    q=st.one_of(st.sampled_from([0.0, 50.0, 90.0, 95.0, 100.0]), st.floats(0.0, 100.0)),
)
def test_segment_percentiles_are_each_segments_numpy_percentile(
    segments: list[list[float]], q: float
) -> None:
    # Runs measured side by side take the percentiles of their ticket times in one call: each must be NumPy's of
    # the run's own values, to the bit (NaN for a run without any).
    from simulator.metrics import segment_percentiles

    values = np.array([x for segment in segments for x in segment], dtype=float)
    got = segment_percentiles(values, np.array([len(s) for s in segments]), q)
    with np.errstate(invalid="ignore"):
        expected = [float(np.percentile(np.array(s), q)) if s else float("nan") for s in segments]
    assert got.tolist() == pytest.approx(expected, nan_ok=True, rel=0, abs=0)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.integers(1, 5).flatmap(
        lambda k: st.integers(1, 30).flatmap(
            lambda n: st.lists(
                st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=n, max_size=n),
                min_size=k,
                max_size=k,
            )
        )
    )
)
def test_coefficients_of_variation_side_by_side_are_each_rows_own(rows: list[list[float]]) -> None:
    # The monthly revenue's variability of runs measured side by side: each row's, to the bit, what NumPy gives
    # the row alone (the sums of a 2-d array along an axis may be added in another order).
    from simulator.metrics.reductions import row_cvs, row_sums

    x = np.array(rows)
    expected = []
    for row in x:
        mean = float(np.mean(row))
        expected.append(float(np.std(row, ddof=1) / mean) if len(row) > 1 and mean > 0 else float("nan"))
    assert row_cvs(x).tolist() == pytest.approx(expected, nan_ok=True, rel=0, abs=0)
    assert row_sums(x).tolist() == [float(row.sum()) for row in x]
