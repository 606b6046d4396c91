"""The incentive analysis against closed forms (DESIGN.md §4): prevention optima, staffing against
Erlang C, the sign of the marginal incident, credit schemes, determinism and common random numbers.

The prevention scenario is built so that every optimum has a closed form. One client with U users and
E endpoints, one category: Poisson incidents at ``RATE`` per user-month, fixed effort w, fully blocking,
reported after a fixed delay d; no triage, travel, parts, recurrences, majors or monitoring; 50 technicians
(no queueing); labour costs only the hours worked; 24x7 calendar (business time = clock). Over M months at
prevention e [h/endpoint-month]:

    N(e) = RATE·U·M·((1 − p) + p·exp(−θe))                  incidents
    each costs w·c_h labour and (d + w)·c_d downtime;      prevention costs c_h·e·E·M.

Whoever bears k per incident and the prevention hours minimises c_h·e·E·M + N(e)·k, so
e*(k) = ln(RATE·U·p·θ·k / (c_h·E)) / θ (0 if negative): the managed provider (flat fee, no credit) bears
k = w·c_h, society k = w·c_h + (d + w)·c_d, a provider paying a credit A per blocked user-hour
k = w·c_h + A·(d + w). ``RATE`` and c_d are chosen so that e*_provider = 0.30 and e*_social = 0.70 fall on
the 0.05 grid.

Sampling noise: incidents are common random numbers across e (nested prevented sets), so the sample
objective is the expectation plus a random walk in e. For J(e) = a·(e − e*)² + σ·B(e) the argmax is
(σ/a)^(2/3) times Chernoff's distribution (sd ≈ 0.52), with a = c_h·E·M·θ/2 and σ² = k·c_h·E·M/n per unit
of e (n replications): ``argmax_sd`` below. At these sizes it is 0.005–0.025, inside the one-grid-step
tolerance (a numpy Monte Carlo of the same sample objective put the found grid point more than one step
away in < 0.1% of seeds).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import category, client, fixed_price_contract, managed_contract, scenario, sla_terms, tm_contract
from scipy import optimize, stats

from simulator import Scenario, load_scenario, simulate
from simulator.base.calendar import HOURS_PER_MONTH
from simulator.config import LeverSpace, Span, Staffing
from simulator.engine.incidents import client_table, generate_incidents
from simulator.studies.incentives import (
    IncentiveResults,
    analyze_incentives,
    best_of,
    evaluate,
    lever_grid,
    with_levers,
)

PREVENTION = "prevention_hours_per_endpoint_month"
ONLY_PREVENTION = (PREVENTION,)

# --------------------------------------------------------------------------- closed-form prevention scenario

THETA = 3.0  # prevention effectiveness [1/(h/endpoint-month)]
PREVENTABLE = 0.8
EFFORT = 1.0  # w [h]
DELAY = 1.0  # d, reporting delay [h]
C_H = 40.0  # technician hour [currency/h]
USERS = ENDPOINTS = 1000
MONTHS = 4
REPS = 6
E_PROVIDER, E_SOCIAL = 0.30, 0.70  # targets the parameters are solved for
# e*(w·c_h) = E_PROVIDER  <=>  RATE·p·θ·w = exp(θ·E_PROVIDER)   (U = E)
RATE = math.exp(THETA * E_PROVIDER) / (PREVENTABLE * THETA * EFFORT)  # ≈ 1.025 incidents/user-month
# e*(w·c_h + (d + w)·c_d) − e*(w·c_h) = ln(1 + (d + w)·c_d / (w·c_h)) / θ = E_SOCIAL − E_PROVIDER
C_D = EFFORT * C_H * (math.exp(THETA * (E_SOCIAL - E_PROVIDER)) - 1.0) / (DELAY + EFFORT)  # ≈ 46.40


def credit_for(e: float) -> float:
    """The per-downtime-hour credit A whose best response is e: w·c_h + A·(d + w) = w·c_h·exp(θ(e − e*_p))."""
    return EFFORT * C_H * (math.exp(THETA * (e - E_PROVIDER)) - 1.0) / (DELAY + EFFORT)


DESIGN_CREDITS = [0.0, credit_for(0.5), C_D, credit_for(0.9)]  # best responses 0.3, 0.5, 0.7, 0.9
STEP = 0.05
FINE = {"low": 0.0, "high": 1.25, "points": 26}  # step 0.05
COARSE = {"low": 0.0, "high": 1.25, "points": 6}  # step 0.25: enough to show a best response of 0
TM_RATE, FP_PRICE = 135.0, 120.0  # both above the cost of an incident, w·c_h = 40
TIER_P4_SHARE = 0.2  # P4 tickets always miss their 0.5 h resolution target (the fix takes w = 1 h)


def survival(e: float) -> float:
    """Share of the base rate left at prevention e."""
    return (1.0 - PREVENTABLE) + PREVENTABLE * math.exp(-THETA * e)


def expected_incidents(e: float) -> float:
    return RATE * USERS * MONTHS * survival(e)


def prevention_optimum(cost_per_incident: float) -> float:
    """argmin over e >= 0 of c_h·e·E·M + N(e)·k: ln(RATE·U·p·θ·k / (c_h·E)) / θ, or 0."""
    return max(
        0.0, math.log(RATE * USERS * PREVENTABLE * THETA * cost_per_incident / (C_H * ENDPOINTS)) / THETA
    )


def argmax_sd(cost_per_incident: float, replications: int) -> float:
    """Approximate sd of the sample argmax (module docstring): 0.52·(σ/a)^(2/3) with
    σ/a = 2·sqrt(k/(c_h·E·M·n))/θ."""
    ratio = 2.0 * math.sqrt(cost_per_incident / (C_H * ENDPOINTS * MONTHS * replications)) / THETA
    return 0.52 * ratio ** (2.0 / 3.0)


def managed_profit(e: float, fee: float) -> float:
    """Expected managed profit over the horizon: fees − prevention − labour on incidents (no credit)."""
    return fee * USERS * MONTHS - C_H * e * ENDPOINTS * MONTHS - expected_incidents(e) * EFFORT * C_H


# The fee makes the provider break even at e = 1.025, half way between grid points, so that the client's
# preferred prevention (the most the provider still accepts) is crisp: 1.00 on the grid.
FEE = round(-managed_profit(1.025, 0.0) / (USERS * MONTHS), 2)
E_BREAK_EVEN = float(optimize.brentq(lambda e: managed_profit(e, FEE), E_PROVIDER, FINE["high"]))


def prevention_dict(
    contracts: list[dict[str, Any]],
    *,
    space: dict[str, Any],
    refine: bool,
    replications: int = REPS,
    per_contract: dict[str, Any] | None = None,
    design: list[float] | None = None,
    priority_mix: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The closed-form scenario (module docstring). The lever space keeps the default technician, monitoring
    and thoroughness ranges: the analysis must be told ``levers=(prevention,)`` to leave them at the policy
    values."""
    cat = category(
        "cat",
        rate_per_user_month=RATE,
        effort_hours={"dist": "fixed", "mean": EFFORT},
        blocking_share=1.0,
        preventable=PREVENTABLE,
        theta=THETA,
        priority_mix=priority_mix or {"P3": 1.0},
    )
    who = client(users=USERS, endpoints=ENDPOINTS)
    who["downtime_cost_per_user_hour"] = C_D
    for kind in ("break_fix", "managed"):
        who[kind]["reporting_delay_hours"] = {"dist": "fixed", "mean": DELAY}
    data = scenario(
        categories=[cat],
        clients=[who],
        contracts=contracts,
        horizon_months=MONTHS,
        replications=replications,
        seed=2024,
        provider_fields={"cost_per_technician_hour": C_H, "labour_cost_basis": "worked"},
    )
    data["incentives"] = {
        "refine": refine,
        "levers": {PREVENTION: space},
        "contracts": {name: {PREVENTION: s} for name, s in (per_contract or {}).items()},
        "design": {"per_downtime_hour": design or [], "per_breach": []},
    }
    return data


def flat_fee(name: str = "managed", **terms: Any) -> dict[str, Any]:
    contract = managed_contract(name, technicians=50)
    contract["fee_per_user_month"] = FEE
    contract["sla"] = sla_terms(**terms)
    return contract


@pytest.fixture(scope="module")
def prevention_results() -> IncentiveResults:
    """Managed (flat fee, no credit), managed with compliance tiers, T&M and fixed price; grid search only."""
    tiers = {
        "kind": "compliance_tiers",
        "tiers": [{"below": 0.95, "percent_of_fee": 0.10}, {"below": 0.5, "percent_of_fee": 0.30}],
    }
    contracts = [
        flat_fee("managed"),
        flat_fee(
            "managed-tiers",
            response_hours={"P1": 4, "P2": 4, "P3": 4, "P4": 0.5},
            resolution_hours={"P1": 24, "P2": 24, "P3": 24, "P4": 0.5},
            credit=tiers,
        ),
        {**tm_contract("tm", technicians=50), "remote_rate": TM_RATE},
        fixed_price_contract("fixed", {"cat": FP_PRICE}, technicians=50),
    ]
    data = prevention_dict(
        contracts,
        space=FINE,
        refine=False,
        per_contract={"tm": COARSE, "fixed": COARSE},
        design=DESIGN_CREDITS,
        priority_mix={"P3": 1.0 - TIER_P4_SHARE, "P4": TIER_P4_SHARE},
    )
    return analyze_incentives(load_scenario(data), levers=ONLY_PREVENTION)


def optimum(results: IncentiveResults, contract: str, role: str) -> pd.Series:
    best = results.best_response
    return best[(best["contract"] == contract) & (best["role"] == role)].iloc[0]


def test_closed_forms_are_interior_and_on_the_grid() -> None:
    """The scenario's own arithmetic: the optima it is built for, and noise well inside the tolerance."""
    assert prevention_optimum(EFFORT * C_H) == pytest.approx(E_PROVIDER)
    assert prevention_optimum(EFFORT * C_H + (DELAY + EFFORT) * C_D) == pytest.approx(E_SOCIAL)
    assert [prevention_optimum(EFFORT * C_H + a * (DELAY + EFFORT)) for a in DESIGN_CREDITS] == pytest.approx(
        [0.3, 0.5, 0.7, 0.9]
    )
    assert 1.0 < E_BREAK_EVEN < 1.05
    # Optima on the grid: the found point is two steps off only when the sample argmax is 1.5 steps away,
    # which even in the noisiest case (largest k) is > 2.7 sd of Chernoff's distribution, whose tails fall
    # like exp(−c·z³). Below that the tolerance is one step.
    worst = EFFORT * C_H + DESIGN_CREDITS[-1] * (DELAY + EFFORT)
    assert argmax_sd(worst, REPS) < 1.5 * STEP / 2.7


@pytest.mark.slow
def test_prevention_best_response_matches_closed_form(prevention_results: IncentiveResults) -> None:
    r = prevention_results
    evals = r.evaluations
    assert (evals["technicians"] == 50).all() and (~evals["monitoring"].astype(bool)).all()
    assert (evals["thoroughness"] == 1.0).all()  # levers=(prevention,) leaves the other levers alone

    provider = optimum(r, "managed", "provider")
    social = optimum(r, "managed", "social")
    assert abs(provider[PREVENTION] - E_PROVIDER) <= STEP + 1e-9
    assert abs(social[PREVENTION] - E_SOCIAL) <= STEP + 1e-9
    # Well separated: the ranges of "not significantly worse" prevention levels do not overlap.
    assert provider[f"{PREVENTION}_low"] <= provider[PREVENTION] <= provider[f"{PREVENTION}_high"]
    assert provider[f"{PREVENTION}_high"] < social[f"{PREVENTION}_low"]
    # The social optimum does not depend on who pays whom: the same under every contract (break/fix on its
    # own coarser grid).
    for name in ("managed-tiers", "tm", "fixed"):
        step = 0.25 if name in ("tm", "fixed") else STEP
        assert abs(optimum(r, name, "social")[PREVENTION] - E_SOCIAL) <= step + 1e-9

    # Break/fix: every incident earns more than it costs, so the provider prevents nothing.
    for name in ("tm", "fixed"):
        assert optimum(r, name, "provider")[PREVENTION] == 0.0
        assert optimum(r, name, "provider")[f"{PREVENTION}_high"] == 0.0

    # Expected profit at the best response inside a wide (99.9%) interval of the replications.
    base = evals[evals["variant"] == "base"]
    rows = base[(base["contract"] == "managed") & (base["point"] == provider["point"])]
    profit = rows["provider_net_profit"].to_numpy()
    half = stats.t.ppf(0.9995, len(profit) - 1) * profit.std(ddof=1) / math.sqrt(len(profit))
    assert abs(profit.mean() - managed_profit(provider[PREVENTION], FEE)) <= half


@pytest.mark.slow
def test_client_prefers_most_prevention_the_provider_accepts(prevention_results: IncentiveResults) -> None:
    """Under a flat fee the client does not pay for prevention: its cost falls in e until the provider's
    participation (profit >= 0) binds, at the closed-form break-even e with profit(e) = 0."""
    r = prevention_results
    chosen = optimum(r, "managed", "client")
    assert chosen["provider_participates"]
    assert chosen[PREVENTION] <= E_BREAK_EVEN < chosen[PREVENTION] + STEP
    managed = r.evaluations[(r.evaluations["contract"] == "managed") & (r.evaluations["variant"] == "base")]
    profit = managed.groupby(PREVENTION)["provider_net_profit"].mean()
    assert profit[profit.index > chosen[PREVENTION] + 1e-9].max() < 0  # every higher level loses money


@pytest.mark.slow
def test_misalignment_of_the_flat_fee(prevention_results: IncentiveResults) -> None:
    """The flat-fee provider under-prevents against the social optimum: more incidents, a welfare loss."""
    mis = prevention_results.misalignment.set_index("contract")
    managed = mis.loc["managed"]
    assert managed["best_response_prevention"] < managed["social_optimum_prevention"]
    # Expected extra incidents between the two closed forms, within the one-step tolerance on each side.
    low = expected_incidents(E_PROVIDER + STEP) - expected_incidents(E_SOCIAL - STEP)
    high = expected_incidents(E_PROVIDER - STEP) - expected_incidents(E_SOCIAL + STEP)
    assert low <= managed["extra_incidents"] <= high
    assert managed["welfare_loss_ci_low"] > 0
    for name in ("tm", "fixed"):
        assert mis.loc[name, "welfare_loss"] > managed["welfare_loss"]


@pytest.mark.slow
def test_average_profit_per_incident_in_misalignment(prevention_results: IncentiveResults) -> None:
    """The average contribution, fixed effort w = 1 h at c_h = 40: T&M earns 135 − 40, a menu price 120 − 40, a
    flat fee nothing − 40."""
    mis = prevention_results.misalignment.set_index("contract")["average_profit_per_incident"]
    assert mis["tm"] == pytest.approx(TM_RATE - EFFORT * C_H)
    assert mis["fixed"] == pytest.approx(FP_PRICE - EFFORT * C_H)
    assert mis["managed"] == pytest.approx(-EFFORT * C_H)


@pytest.mark.slow
def test_marginal_profit_per_incident_is_the_finite_difference_under_worked_costing(
    prevention_results: IncentiveResults,
) -> None:
    """Under ``worked`` costing an hour worked costs c_h × the gross-up (paid / productive hours / shared
    utilisation): one more incident brings its price less w·g·c_h, within 5% and inside its interval."""
    sc = prevention_results.scenario
    cost = EFFORT * sc.provider.worked_hour_gross_up * C_H
    mis = prevention_results.misalignment.set_index("contract")
    for name, price in (("tm", TM_RATE), ("fixed", FP_PRICE), ("managed", 0.0)):
        row = mis.loc[name]
        assert row["marginal_profit_per_incident"] == pytest.approx(price - cost, rel=0.05), name
        assert row["marginal_profit_per_incident_ci_low"] <= price - cost + 1e-6, name
        assert row["marginal_profit_per_incident_ci_high"] >= price - cost - 1e-6, name


@pytest.mark.slow
def test_marginal_profit_of_a_salaried_pool_with_idle_time_is_the_parts_it_uses() -> None:
    """Salaried technicians (``paid``) at well under 50% utilisation, no credits, parts included in the flat fee
    at a fixed 25 each, no site visits: one more incident costs the provider its parts and nothing else, so the
    managed marginal's interval covers −25."""
    data = prevention_dict([flat_fee("managed")], space={"low": 0.0, "high": 0.0, "points": 1}, refine=False)
    data["provider"]["labour_cost_basis"] = "paid"
    data["incidents"]["categories"][0]["parts"] = {
        "probability": 1.0,
        "cost": {"dist": "fixed", "mean": 25.0},
    }
    data["contracts"][0]["includes"] = {"remote": True, "onsite": True, "parts": True}
    result = analyze_incentives(load_scenario(data), levers=ONLY_PREVENTION)
    best = result.best_response.set_index("role").loc["provider"]
    assert best["technician_utilization"] < 0.5
    row = result.misalignment.set_index("contract").loc["managed"]
    assert row["marginal_profit_per_incident_ci_low"] <= -25.0 <= row["marginal_profit_per_incident_ci_high"]
    assert row["marginal_profit_per_incident"] == pytest.approx(-25.0, abs=2.5)


@pytest.mark.slow
def test_per_downtime_hour_credit_moves_prevention_to_closed_form(
    prevention_results: IncentiveResults,
) -> None:
    """A credit A per blocked user-hour makes the provider bear A·(d + w) per incident: its best response is
    e*(w·c_h + A·(d + w)), rising with A, and at A = c_d it is the social optimum."""
    design = prevention_results.design
    mine = design[(design["contract"] == "managed") & (design["scheme"] == "per_downtime_hour")]
    mine = mine.sort_values("credit")
    assert len(mine) == len(DESIGN_CREDITS)
    found = mine[PREVENTION].to_numpy()
    expected = [prevention_optimum(EFFORT * C_H + a * (DELAY + EFFORT)) for a in DESIGN_CREDITS]
    assert np.abs(found - expected).max() <= STEP + 1e-9
    assert (np.diff(found) >= 0).all() and found[-1] > found[0]
    assert found[0] == optimum(prevention_results, "managed", "provider")[PREVENTION]  # A = 0: no credit
    at_cd = mine.iloc[DESIGN_CREDITS.index(C_D)]
    assert at_cd[PREVENTION] == pytest.approx(optimum(prevention_results, "managed", "social")[PREVENTION])
    assert at_cd["recommended"]  # the smallest social gap, with a fee zone both sides accept
    assert (mine["sla_credits"].iloc[1:] > 0).all()


@pytest.mark.slow
def test_compliance_tiers_do_not_reward_prevention(prevention_results: IncentiveResults) -> None:
    """Compliance is the share of tickets meeting their targets, a per-ticket matter: with ample capacity
    prevention removes tickets but not the share (≈ 80% here: P4 tickets always miss), so the tier credit is a
    lump sum (10% of the fee every month) and the best response stays at the no-credit one."""
    r = prevention_results
    tiers = optimum(r, "managed-tiers", "provider")
    plain = optimum(r, "managed", "provider")
    assert tiers["sla_credits"] == pytest.approx(0.10 * FEE * USERS * MONTHS)
    assert tiers[PREVENTION] <= plain[PREVENTION]
    assert abs(tiers[PREVENTION] - E_PROVIDER) <= STEP + 1e-9
    # The same contract re-priced with a credit per downtime hour of c_d or more does prevent more. (The
    # table's credit column is read back from a label with 6 significant digits.)
    downtime_credit = r.design[(r.design["contract"] == "managed-tiers") & (r.design["credit"] > C_D - 0.01)]
    assert len(downtime_credit) == 2
    assert (downtime_credit[PREVENTION] > tiers[PREVENTION]).all()
    # The credit is the same at every prevention level: it cannot pay to prevent.
    rows = r.evaluations[
        (r.evaluations["contract"] == "managed-tiers") & (r.evaluations["variant"] == "base")
    ]
    assert rows["sla_credits"].nunique() == 1


@pytest.mark.slow
def test_payments_cancel_in_social_cost(prevention_results: IncentiveResults) -> None:
    """At the same levers and client behaviour, social cost is the same under every price list, replication by
    replication (common random numbers)."""
    base = prevention_results.evaluations
    base = base[base["variant"] == "base"]
    wide = base.pivot_table(index=[PREVENTION, "replication"], columns="contract", values="social_cost")
    # The T&M and fixed-price grids are coarser, and the ranking gives a setting it drops fewer replications: the
    # settings every contract simulated on the same replication, every coarse point on the screening ones at least.
    wide = wide.dropna()
    screened = prevention_results.scenario.incentives.search.screening_replications
    assert set(wide.index.get_level_values(0)) == set(
        np.linspace(COARSE["low"], COARSE["high"], COARSE["points"])
    )
    assert len(wide) >= COARSE["points"] * screened
    for name in ("managed-tiers", "tm", "fixed"):
        np.testing.assert_allclose(wide[name], wide["managed"], rtol=1e-12)


# ------------------------------------------------------------------------------------------- refinement

REFINE_GRID = {"low": 0.0, "high": 1.2, "points": 13}  # step 0.1
REFINE_STEP = 0.1
REFINE_REPS = 4


@pytest.fixture(scope="module")
def refined() -> IncentiveResults:
    data = prevention_dict([flat_fee("managed")], space=REFINE_GRID, refine=True, replications=REFINE_REPS)
    return analyze_incentives(load_scenario(data), levers=ONLY_PREVENTION)


@pytest.mark.slow
def test_refined_optima_within_a_grid_step_of_closed_form(refined: IncentiveResults) -> None:
    """refine: true searches between the grid neighbours of each role's grid optimum (step 0.1 here) and
    stays within a grid step of the closed forms."""
    expected = {"provider": E_PROVIDER, "social": E_SOCIAL, "client": E_BREAK_EVEN}
    for role, e in expected.items():
        found = optimum(refined, "managed", role)[PREVENTION]
        assert abs(found - e) <= REFINE_STEP, role
    grid = np.linspace(REFINE_GRID["low"], REFINE_GRID["high"], REFINE_GRID["points"])
    assert not np.isin(refined.evaluations[PREVENTION].round(9), grid.round(9)).all()  # refinement ran


@pytest.mark.slow
def test_refined_optima_report_their_own_levers(refined: IncentiveResults) -> None:
    """Each optimum's metrics are those of its reported levers: a fresh evaluation of the levers on the same
    seed and replications gives the same numbers, and each evaluated point id stands for one lever setting."""
    scen = refined.scenario
    evals = refined.evaluations
    for role in ("provider", "client", "social"):
        row = optimum(refined, "managed", role)
        levers = {
            PREVENTION: float(row[PREVENTION]),
            "technicians": 50,
            "monitoring": False,
            "thoroughness": 1.0,
        }
        fresh = evaluate(scen, [(0, 0, levers, [("base", scen.contracts[0])])], REFINE_REPS, scen.seed)
        for metric in ("provider_net_profit", "client_total_cost", "social_cost"):
            assert row[metric] == pytest.approx(fresh[metric].mean(), rel=1e-12), (role, metric)
    assert optimum(refined, "managed", "client")["provider_net_profit"] >= 0
    assert (evals.groupby(["contract", "point"])[PREVENTION].nunique() == 1).all()


# ------------------------------------------------------------------------------- staffing against Erlang C

ARRIVALS = 3.2  # λ [tickets/h]
SERVICE = 0.25  # 1/μ [h], exponential
RESPONSE_TARGET = 0.0625  # T [h]
PAID_HOURS = 730.0  # a 24x7 slot costs 730·c_h per month
STAFF_MONTHS, STAFF_REPS = 4, 6
BREACH_CREDITS = [0.0, 50.0, 250.0, 1500.0]
OWN_CREDIT = 250.0
TECHNICIANS = range(1, 7)


def erlang_c(servers: int, offered: float) -> float:
    """M/M/c probability of waiting C(c, a), a = λ/μ < c."""
    top = offered**servers / math.factorial(servers) / (1.0 - offered / servers)
    return top / (sum(offered**k / math.factorial(k) for k in range(servers)) + top)


def late_share(servers: int) -> float:
    """P(W > T) = C(c, a)·exp(−(cμ − λ)T) for FCFS M/M/c."""
    return erlang_c(servers, ARRIVALS * SERVICE) * math.exp(-(servers / SERVICE - ARRIVALS) * RESPONSE_TARGET)


def expected_staff_profit(servers: int, credit: float) -> float:
    """Per month, up to the fee: −c·730·c_h − A·λ·730·P(W > T)."""
    return -servers * PAID_HOURS * C_H - credit * ARRIVALS * 730.0 * late_share(servers)


def best_staffing(credit: float) -> int:
    return max(TECHNICIANS, key=lambda c: expected_staff_profit(c, credit))


@pytest.fixture(scope="module")
def staffing() -> IncentiveResults:
    contract = managed_contract("managed", technicians=1)
    contract["fee_per_user_month"] = 200_000.0
    targets = {p: 1000.0 for p in ("P1", "P2", "P3", "P4")}
    contract["sla"] = sla_terms(
        response_hours={**targets, "P3": RESPONSE_TARGET},
        resolution_hours=targets,
        credit={"kind": "per_breach", "amount": OWN_CREDIT},
        clock="clock",
    )
    data = scenario(
        categories=[category("p3", rate_per_user_month=ARRIVALS * 730.0, mean_effort_hours=SERVICE)],
        contracts=[contract],
        horizon_months=STAFF_MONTHS,
        replications=STAFF_REPS,
        seed=7,
        provider_fields={
            "cost_per_technician_hour": C_H,
            "labour_cost_basis": "paid",
            "paid_hours_per_technician_month": PAID_HOURS,
        },
    )
    data["incentives"] = {
        "refine": False,
        "levers": {"technicians": {"low": TECHNICIANS[0], "high": TECHNICIANS[-1]}},
        "design": {"per_downtime_hour": [], "per_breach": BREACH_CREDITS},
    }
    return analyze_incentives(load_scenario(data), levers=("technicians",))


def test_erlang_c_staffing_choices_are_distinct() -> None:
    """The credit levels sit well inside the ranges where each count is best (each runner-up at least
    10,000 a month worse), so the simulated argmax can be compared exactly."""
    assert [best_staffing(a) for a in BREACH_CREDITS] == [1, 2, 3, 4]
    for a in BREACH_CREDITS:
        profits = sorted(expected_staff_profit(c, a) for c in TECHNICIANS)
        assert profits[-1] - profits[-2] > 10_000


@pytest.mark.slow
def test_staffing_best_response_matches_erlang_c(staffing: IncentiveResults) -> None:
    """A 24x7 pool paid 730 h a slot, P3 tickets with a response target T and a credit A per breach: the
    expected profit per month is fee − c·730·c_h − A·λ·730·C(c, a)·exp(−(cμ − λ)T). The best response (the
    contract's own credit, and each credit level of the design table) is the Erlang C argmax, and it rises
    with A."""
    best = optimum(staffing, "managed", "provider")
    assert best["technicians"] == best_staffing(OWN_CREDIT)
    assert best["technicians_low"] <= best_staffing(OWN_CREDIT) <= best["technicians_high"]

    design = staffing.design.sort_values("credit")
    assert design["credit"].tolist() == BREACH_CREDITS
    found = design["technicians"].tolist()
    assert found == [best_staffing(a) for a in BREACH_CREDITS]
    assert all(b >= a for a, b in itertools.pairwise(found)) and found[-1] > found[0]

    # The Erlang C argmax is never significantly worse than the point found (paired 95% interval).
    evals = staffing.evaluations
    for a in BREACH_CREDITS:
        rows = evals[evals["variant"] == f"per_breach={a:g}"]
        _, gaps = best_of(rows, "provider", None)
        techs = rows.groupby("point")["technicians"].first()
        near = set(techs[gaps.set_index("point")["near"]].astype(int))
        assert best_staffing(a) in near


@pytest.mark.slow
def test_simulated_breaches_follow_erlang_c(staffing: IncentiveResults) -> None:
    """The formula the staffing test relies on describes the simulated pool: breaches per month (credits / A)
    inside a 99.9% interval of λ·730·P(W > T) for each technician count."""
    a = BREACH_CREDITS[-1]
    rows = staffing.evaluations[staffing.evaluations["variant"] == f"per_breach={a:g}"]
    for servers, group in rows.groupby("technicians"):
        monthly = group["sla_credits"].to_numpy() / a / STAFF_MONTHS
        theory = ARRIVALS * 730.0 * late_share(int(servers))
        half = stats.t.ppf(0.9995, len(monthly) - 1) * monthly.std(ddof=1) / math.sqrt(len(monthly))
        if theory > 5:  # counts of a handful a month say little
            assert abs(monthly.mean() - theory) <= half, servers
        if theory > 100:
            assert half < 0.3 * theory  # the interval is narrow enough to mean something


# ----------------------------------------------------------------------------- marginal profit per incident


def test_marginal_profit_per_incident_in_simulate() -> None:
    """The per-replication metric: positive under T&M and a menu above cost, negative under a flat fee
    (minus the average SLA credit per incident when the SLA pays out)."""
    cat = category("cat", rate_per_user_month=3.0, effort_hours={"dist": "fixed", "mean": EFFORT})
    strict = flat_fee("managed-credit", response_hours=0.01, resolution_hours=0.5)
    strict["sla"]["credit"] = {"kind": "per_breach", "amount": 10.0}
    data = scenario(
        categories=[cat],
        clients=[client(users=20, endpoints=20)],
        contracts=[
            tm_contract("tm", technicians=2),
            fixed_price_contract("fixed", {"cat": FP_PRICE}, technicians=2),
            {**flat_fee("managed"), "policy": {"technicians": 2}},
            {**strict, "policy": {"technicians": 2}},
        ],
        horizon_months=2,
        replications=2,
        provider_fields={"cost_per_technician_hour": C_H},
    )
    reps = simulate(load_scenario(data)).replications.set_index(["contract", "replication"])
    mp = reps["marginal_profit_per_incident"]
    assert (mp.loc["tm"] == TM_RATE - EFFORT * C_H).all()
    assert (mp.loc["fixed"] == FP_PRICE - EFFORT * C_H).all()
    assert (mp.loc["managed"] == -EFFORT * C_H).all()
    credited = reps.loc["managed-credit"]
    assert (credited["sla_credits"] > 0).all()
    np.testing.assert_allclose(
        mp.loc["managed-credit"], -EFFORT * C_H - credited["sla_credits"] / credited["incidents"]
    )


# --------------------------------------------------------------------- determinism and common random numbers

CRN_THETA, CRN_PREVENTABLE = 2.0, 0.6


def crn_scenario() -> Scenario:
    cat = category(
        "cat", rate_per_user_month=3.0, mean_effort_hours=0.5, preventable=CRN_PREVENTABLE, theta=CRN_THETA
    )
    data = scenario(
        categories=[cat],
        clients=[client(users=15, endpoints=15)],
        contracts=[tm_contract("tm"), managed_contract("managed")],
        horizon_months=2,
        replications=3,
        seed=99,
    )
    data["incentives"] = {
        "refine": True,
        "levers": {
            PREVENTION: {"low": 0.0, "high": 1.0, "points": 3},
            "technicians": {"low": 1, "high": 2},
            "monitoring": None,
            "thoroughness": None,
        },
        "design": {"per_downtime_hour": [0.0, 20.0], "per_breach": [0.0, 50.0]},
    }
    return load_scenario(data)


@pytest.fixture(scope="module")
def crn_runs() -> tuple[Scenario, list[IncentiveResults]]:
    scen = crn_scenario()
    return scen, [analyze_incentives(scen, workers=w) for w in (1, 1, 2)]


TABLES = ("evaluations", "best_response", "misalignment", "curves", "design")


@pytest.mark.slow
def test_same_seed_same_tables_any_worker_count(crn_runs: tuple[Scenario, list[IncentiveResults]]) -> None:
    _, (first, again, parallel) = crn_runs
    for other in (again, parallel):
        for table in TABLES:
            pd.testing.assert_frame_equal(getattr(first, table), getattr(other, table), check_exact=True)


@pytest.mark.slow
def test_other_seed_other_numbers(crn_runs: tuple[Scenario, list[IncentiveResults]]) -> None:
    scen, (first, *_) = crn_runs
    other = analyze_incentives(scen, seed=scen.seed + 1, levers=("technicians",))
    mine = first.evaluations
    mine = mine[(mine["variant"] == "base") & (mine[PREVENTION] == 0.0)]
    theirs = other.evaluations[other.evaluations["variant"] == "base"]
    assert not np.array_equal(
        np.sort(mine["social_cost"].to_numpy()), np.sort(theirs["social_cost"].to_numpy())
    )


@pytest.mark.slow
def test_every_lever_value_sees_the_same_incidents(crn_runs: tuple[Scenario, list[IncentiveResults]]) -> None:
    """With recurrences off, incidents(e) = base incidents − those whose prevention uniform falls under
    p·(1 − exp(−θe)), for every lever setting (grid and refined) of every contract, replication by
    replication: the analysis runs every setting on the replication's one incident set."""
    scen, (first, *_) = crn_runs
    evals = first.evaluations[first.evaluations["variant"] == "base"]
    assert evals["technicians"].nunique() == 2 and evals[PREVENTION].nunique() > 3
    clients = client_table(scen)
    for replication, group in evals.groupby("replication"):
        incidents = generate_incidents(scen, clients, int(replication), scen.seed)
        for e, rows in group.groupby(PREVENTION):
            prevented = np.sum(incidents.u_prevent < CRN_PREVENTABLE * -np.expm1(-CRN_THETA * float(e)))
            assert (rows["incidents"] == len(incidents) - prevented).all(), (replication, e)
    # Nested prevented sets: fewer incidents at more prevention, never more.
    by_e = evals.groupby(["replication", PREVENTION])["incidents"].first().unstack()
    assert (np.diff(by_e.to_numpy(), axis=1) <= 0).all()


# ----------------------------------------------------------------------------------------------- the grid


def test_lever_grid_searches_only_the_named_levers() -> None:
    scen = crn_scenario()
    contract = scen.contracts[0]
    space = LeverSpace(
        prevention_hours_per_endpoint_month=Span(low=0.0, high=1.0, points=3),
        technicians=Staffing(low=1, high=2),
    )
    full = lever_grid(contract, space)
    assert len(full) == 3 * 2 * 2 * 5
    only = lever_grid(contract, space, ("technicians",))
    assert only == [
        {PREVENTION: 0.0, "technicians": t, "monitoring": False, "thoroughness": 1.0} for t in (1, 2)
    ]
    assert with_levers(contract, only[1]).policy.technicians == 2
    with pytest.raises(ValueError, match="unknown levers"):
        analyze_incentives(scen, levers=("staff",))


# ----------------------------------------------------------------------------------------------- the chart


def test_each_curve_passes_through_the_optimum_it_marks(refined: IncentiveResults) -> None:
    """The profit curve goes through the provider's best response and the social-cost curve through the social
    optimum (the other levers held there); on the chart each mark sits on its own curve, the social one at the
    curve's lowest point, and money is per month."""
    import matplotlib.pyplot as plt

    from simulator.outputs.charts import PREVENTION, plot_incentive_curve

    months = refined.scenario.measured_months
    curves = refined.curves
    for c in refined.scenario.contracts:
        for role in ("provider", "social"):
            along = curves[
                (curves["contract"] == c.name) & (curves["role"] == role) & (curves["lever"] == PREVENTION)
            ]
            assert np.isclose(along["value"], optimum(refined, c.name, role)[PREVENTION]).any(), (
                c.name,
                role,
            )
        fig, ax = plt.subplots()
        plot_incentive_curve(refined, c.name, ax)
        for axes in fig.axes:
            lines = {str(line.get_label()): line for line in axes.get_lines()}
            curve = next(line for label, line in lines.items() if "(left)" in label or "(right)" in label)
            for line in axes.get_lines():
                if not str(line.get_gid()).startswith("mark-"):
                    continue
                (x,), (y,) = line.get_xdata(), line.get_ydata()
                xs, ys = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
                assert y == pytest.approx(float(ys[np.isclose(xs, x)][0])), (c.name, line.get_gid())
                if line.get_gid() == "mark-social_cost":
                    assert x == pytest.approx(optimum(refined, c.name, "social")[PREVENTION])
                    assert y == pytest.approx(float(ys.min()))
                    social = optimum(refined, c.name, "social")["social_cost"]
                    assert y == pytest.approx(social / months)
        plt.close(fig)


def test_an_optimum_at_the_edge_of_the_range_says_so(prevention_results: IncentiveResults) -> None:
    """A search cut off below the closed-form optima (prevention 0 to 0.2 h against 0.30 and 0.70) ends at its
    upper edge, which best_response.csv flags (the best may lie beyond); no prevention at all, the least a lever
    can be, is not an edge, nor is an interior optimum."""
    narrow = {"low": 0.0, "high": 0.2, "points": 3}
    cut = analyze_incentives(
        load_scenario(prevention_dict([flat_fee("managed")], space=narrow, refine=False)),
        levers=ONLY_PREVENTION,
    )
    best = cut.best_response.set_index(["contract", "role"])
    for role in ("provider", "social"):
        assert best.loc[("managed", role), PREVENTION] == pytest.approx(0.2)
        assert best.loc[("managed", role), "at_bound"] == PREVENTION
    full = prevention_results.best_response.set_index(["contract", "role"])
    for contract in ("tm", "fixed"):
        assert full.loc[(contract, "provider"), PREVENTION] == 0.0
        assert full.loc[(contract, "provider"), "at_bound"] == ""
    social = full.loc[("managed", "social")]
    assert FINE["low"] < social[PREVENTION] < FINE["high"]
    assert social["at_bound"] == ""


def test_a_saturated_best_response_has_no_welfare_figure() -> None:
    """Work arriving at 1.2 times what one technician can do: every lever setting is a queue that grows without
    bound, so the best response is flagged unstable and its welfare loss is not a number (no steady state to
    compare), and the headline's most misaligned contract leaves it out."""
    data = scenario(
        categories=[category("mmc", rate_per_user_month=1.2 * HOURS_PER_MONTH, mean_effort_hours=1.0)],
        contracts=[managed_contract("flat", technicians=1)],
        horizon_months=2,
        replications=2,
    )
    data["incentives"] = {
        "refine": False,
        "levers": {PREVENTION: {"low": 0.0, "high": 0.1, "points": 2}},
        "design": {"per_downtime_hour": [], "per_breach": []},
    }
    result = analyze_incentives(load_scenario(data), levers=ONLY_PREVENTION)
    best = result.best_response.set_index(["contract", "role"])
    assert best.loc[("flat", "provider"), "unstable"].startswith(("utilisation", "offered load"))
    row = result.misalignment.set_index("contract").loc["flat"]
    assert row["unstable"] == best.loc[("flat", "provider"), "unstable"]
    assert np.isnan(row["welfare_loss"]) and np.isnan(row["welfare_loss_ci_low"])
    assert result.most_misaligned() is None


@pytest.mark.slow
def test_cost_bases_compares_the_misalignment_under_each_labour_cost_and_round_trips(tmp_path: Any) -> None:
    """One lever setting, salaried technicians nearly idle, parts of 25 in the fee: the scenario's ``paid`` rows
    are the analysis's own; under ``paid`` one more incident costs its parts, under ``worked`` also its hours at
    the gross-up (w·g·c_h)."""
    from simulator.outputs.folders import read_incentives, write_incentives
    from simulator.studies.incentives import COST_BASES, compare_cost_bases

    data = prevention_dict(
        [flat_fee("managed"), {**tm_contract("tm", technicians=50), "remote_rate": TM_RATE}],
        space={"low": 0.0, "high": 0.0, "points": 1},
        refine=False,
    )
    data["provider"]["labour_cost_basis"] = "paid"
    data["incidents"]["categories"][0]["parts"] = {
        "probability": 1.0,
        "cost": {"dist": "fixed", "mean": 25.0},
    }
    data["contracts"][0]["includes"] = {"remote": True, "onsite": True, "parts": True}
    sc = load_scenario(data)
    result = analyze_incentives(sc, levers=ONLY_PREVENTION)
    table = compare_cost_bases(sc, result, levers=ONLY_PREVENTION)
    assert list(dict.fromkeys(table["basis"])) == list(COST_BASES)
    assert len(table) == len(COST_BASES) * len(sc.contracts)
    rows = table.set_index(["basis", "contract"])
    own = result.misalignment.set_index("contract")
    for name in ("managed", "tm"):
        assert rows.loc[("paid", name), "welfare_loss"] == own.loc[name, "welfare_loss"]
    gross_up = EFFORT * sc.provider.worked_hour_gross_up * C_H
    assert rows.loc[("paid", "managed"), "marginal_profit_per_incident"] == pytest.approx(-25.0, abs=2.5)
    assert rows.loc[("worked", "managed"), "marginal_profit_per_incident"] == pytest.approx(
        -25.0 - gross_up, rel=0.05
    )
    for basis in COST_BASES:
        marks = rows.loc[basis]
        assert marks["most_misaligned"].sum() >= 1 and marks["least_misaligned"].sum() >= 1
    result.cost_bases = table
    again = read_incentives(write_incentives(result, tmp_path / "out"))
    assert again.cost_bases is not None
    pd.testing.assert_frame_equal(again.cost_bases[["basis", "contract"]], table[["basis", "contract"]])


def test_lever_grid_keeps_the_levers_a_contract_fixes() -> None:
    """A monitoring hybrid sells monitoring: the search never switches it off."""
    from simulator.contracts import MonitoringPlusTm

    scen = crn_scenario()
    hybrid = MonitoringPlusTm.model_validate(
        {
            "kind": "monitoring_plus_tm",
            "name": "hybrid",
            "fee_per_endpoint_month": 20.0,
            "tm": {"remote_rate": 100.0, "onsite_rate": 120.0},
            "policy": {"technicians": 1, "monitoring": True},
        }
    )
    space = LeverSpace(technicians=Staffing(low=1, high=2))
    grid = lever_grid(hybrid, space)
    assert {g["monitoring"] for g in grid} == {True}
    assert len(grid) == len(lever_grid(scen.contracts[0], space)) // 2
