"""Every shipped scenario validates and runs on a short horizon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario, simulate

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def test_there_are_scenarios() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"baseline", "small-office", "downtime-sensitive-practice"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_short(path: Path) -> None:
    scenario = load_scenario(path, {"horizon_months": 3, "warmup_months": 0})
    results = simulate(scenario, replications=2)
    reps = results.replications
    assert len(reps) == 2 * len(scenario.contracts)
    assert np.isfinite(reps["client_total_cost"]).all()
    # Definitions hold row by row.
    assert np.allclose(reps["provider_revenue"], reps["client_fees"])
    assert np.allclose(reps["provider_gross_profit"], reps["provider_revenue"] - reps["provider_cost"])
    assert np.allclose(reps["provider_net_profit"], reps["provider_gross_profit"] - reps["provider_overhead"])
    own_it = reps["client_it_cost"]  # the client's own IT under co-management, 0 otherwise
    assert np.allclose(reps["client_total_cost"], reps["client_fees"] + reps["client_downtime_cost"] + own_it)
    assert np.allclose(reps["social_cost"], reps["provider_cost"] + reps["client_downtime_cost"] + own_it)
    assert (reps["tickets"] <= reps["incidents"]).all()
    assert ((reps["technician_utilization"] >= 0) & (reps["technician_utilization"] <= 1)).all()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_has_comment_header(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ")
