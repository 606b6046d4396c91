"""Ranking and selection of the incentive search: the screening rule on known numbers, its invariants, and the
optima it finds against the exhaustive search on the shipped scenario (reduced)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator import load_scenario
from simulator.studies.incentives import analyze_incentives
from simulator.studies.selection import contenders, schedule


def test_the_schedule_screens_then_doubles_up_to_every_replication() -> None:
    assert schedule(3, 10) == [3, 6, 10]
    assert schedule(2, 16) == [2, 4, 8, 16]
    assert schedule(5, 5) == [5]
    assert schedule(5, 4) == [4]


def test_a_setting_worse_on_every_replication_by_more_than_its_noise_is_dropped() -> None:
    # Three replications; setting 1 trails the leader (0) by 10 ± 1, setting 2 by 1 ± 3 (not significant): paired
    # gaps 9, 10, 11 (mean 10, sd 1, 99% half-width 9.925·1/√3 = 5.73 → out) and 4, -2, 1 (mean 1, sd 3 → in).
    base = np.array([100.0, 200.0, 50.0])
    values = np.stack([base, base - [9.0, 10.0, 11.0], base - [4.0, -2.0, 1.0]])
    assert contenders(values, +1.0).tolist() == [True, False, True]
    # The same numbers as costs: the lowest leads, and the signs turn round.
    assert contenders(-values, -1.0).tolist() == [True, False, True]
    # At 90% the half-width of setting 2's gap is 2.92·3/√3 = 5.06 > 1: still in.
    assert contenders(values, +1.0, confidence=0.90).tolist() == [True, False, True]


def test_identical_settings_all_stay() -> None:
    values = np.tile([1.0, 2.0, 3.0], (4, 1))
    assert contenders(values, +1.0).all()


def test_a_reservation_drops_settings_surely_below_it_and_picks_the_leader_among_those_that_meet_it() -> None:
    # Client costs (lower better): setting 0 is cheapest but the provider surely loses money there; setting 1 meets
    # the reservation; setting 2 is far dearer than 1; setting 3 is cheaper than 1 and may yet meet it.
    cost = np.array([[10.0, 11, 12], [20, 21, 22], [40, 41, 42], [15, 16, 17]])
    profit = np.array([[-100.0, -101, -99], [5, 6, 7], [50, 51, 52], [-3, 1, 1]])
    keep = contenders(cost, -1.0, profit=profit, reservation=0.0)
    assert keep.tolist() == [False, True, False, True]
    # Nobody can meet it: nothing is dropped for it, the cheapest leads.
    keep = contenders(cost, -1.0, profit=profit - 1000.0, reservation=0.0)
    assert keep.tolist() == [True, False, False, False]


def test_ranking_needs_two_replications() -> None:
    with pytest.raises(ValueError, match="two replications"):
        contenders(np.ones((3, 1)), +1.0)


@settings(max_examples=60, deadline=None)
@given(
    values=arrays(np.float64, (5, 4), elements=st.floats(-1e4, 1e4)),
    shift=arrays(np.float64, (4,), elements=st.floats(-1e4, 1e4)),
)
def test_what_the_replications_share_does_not_change_the_contenders(
    values: np.ndarray, shift: np.ndarray
) -> None:
    # Common random numbers: a shift common to every setting on a replication cancels in the paired gaps (up to
    # rounding, so values are kept on a grid where the sums are exact).
    values, shift = np.round(values), np.round(shift)
    keep = contenders(values, +1.0)
    assert keep.any()
    assert keep[int(np.argmax(values.mean(axis=1)))]
    np.testing.assert_array_equal(contenders(values + shift[None, :], +1.0), keep)


# ----------------------------------------------------------------------------- against the exhaustive search


def _reduced(relationship: bool, method: str) -> Any:
    """The shipped incentives scenario on a smaller search: the break/fix T&M and the managed contract,
    prevention at 0, 0.25 or 0.5 h, 1-3 technicians, monitoring on or off, three levels of care, two credit levels;
    6 replications, the grid refined."""
    import yaml

    with open("scenarios/incentives.yaml", encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data["contracts"] = [c for c in data["contracts"] if c["name"] in ("break-fix-tm", "managed-services")]
    data["replications"] = 6
    inc = data["incentives"]
    inc["levers"] = {
        "prevention_hours_per_endpoint_month": {"low": 0.0, "high": 0.5, "points": 3},
        "technicians": {"low": 1, "high": 3},
        "monitoring": [False, True],
        "thoroughness": {"low": 0.8, "high": 1.2, "points": 3},
    }
    inc["design"] = {"per_downtime_hour": [0.0, 20.0], "per_breach": []}
    inc["search"] = {"method": method, "screening_replications": 2}
    if not relationship:
        inc["relationship"] = None
        data["contracts"][1]["sla"]["termination"] = None
    return analyze_incentives(load_scenario(data), workers=2)


@pytest.mark.slow
@pytest.mark.parametrize("relationship", [True, False], ids=["relationship", "one-shot"])
def test_ranking_finds_the_exhaustive_searchs_optima_and_ranges_with_fewer_simulations(
    relationship: bool,
) -> None:
    ranked, every = _reduced(relationship, "selection"), _reduced(relationship, "exhaustive")
    for name in ("best_response", "misalignment", "design", "curves"):
        pd.testing.assert_frame_equal(getattr(ranked, name), getattr(every, name), check_exact=True, obj=name)
    spent, full = ranked.search["replications"], every.search["replications"]
    assert (full == 6).all()
    assert set(spent) <= {2, 4, 6}
    assert spent.sum() < full.sum()
    # Every optimum's setting was a contender to the end, and each kept all six replications.
    finalists = ranked.search[ranked.search["contender_for"] != ""]
    assert (finalists["replications"] == 6).all()
    grid = ranked.best_response.merge(ranked.search, on=["contract", "point"], how="inner")
    assert (grid["replications"] == 6).all()


@pytest.mark.parametrize("method", ["exhaustive", "selection"])
def test_the_progress_counts_replications_not_tasks(method: str) -> None:
    # Exhaustive, without refinement: the grid's 3 replications, the curves' 3 and the marginal profits' 3, one
    # step each however many tasks a replication is split into. Ranking has a stage per doubling: the count may
    # grow past the first total, and ends where the work does.
    scenario = load_scenario(
        "scenarios/incentives.yaml", {"horizon_months": 2, "warmup_months": 0, "replications": 3}
    )
    inc = scenario.incentives.model_copy(
        update={
            "relationship": None,
            "refine": False,
            "search": scenario.incentives.search.model_copy(
                update={"method": method, "screening_replications": 2}
            ),
        }
    )
    scenario = scenario.model_copy(update={"incentives": inc})
    steps: list[tuple[int, int]] = []
    analyze_incentives(
        scenario, levers=("technicians",), steps=lambda done, total: steps.append((done, total))
    )
    assert [done for done, _ in steps] == list(range(1, len(steps) + 1))
    assert steps[-1][0] == steps[-1][1]
    if method == "exhaustive":
        assert steps[-1] == (9, 9)
