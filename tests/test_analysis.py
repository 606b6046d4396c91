"""Analyses over sweep results, on sweeps whose answer is known.

The client's saving from the flat fee (T&M cost − managed cost) depends on the cost of a downtime hour
(downtime differs between the contracts) and not at all on the provider's technician cost; the provider's gain
depends on the technician cost (labour is costed by hours worked, and the contracts work different hours) and
not at all on the client's downtime cost. With common random numbers these are exact: the sensitivity indices
of the parameter that does not matter are zero, not merely small.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from test_sweep import DOWNTIME, FEE, TECH_COST, write_sweep

from simulator.outputs.charts import break_even_figure, plot_break_even, plot_tornado, tornado_figure
from simulator.studies.analysis import (
    analyze_sweep,
    break_even,
    point_outcomes,
    sensitivity,
    tornado,
    win_shares,
)
from simulator.studies.sweep import SweepResults, load_sweep, run_sweep

RANGES = {DOWNTIME: {"low": 10.0, "high": 100.0}, TECH_COST: {"low": 20.0, "high": 60.0}}


def run(folder: Path, design: dict[str, object], **fields: object) -> SweepResults:
    plan = load_sweep(write_sweep(folder, design, **fields))
    result = run_sweep(plan, folder / "out", workers=2).results
    assert result is not None
    return result


@pytest.fixture(scope="module")
def sobol(tmp_path_factory: pytest.TempPathFactory) -> SweepResults:
    return run(tmp_path_factory.mktemp("sobol"), {"kind": "sobol", "points": 64, "parameters": RANGES})


@pytest.fixture(scope="module")
def lhs(tmp_path_factory: pytest.TempPathFactory) -> SweepResults:
    return run(
        tmp_path_factory.mktemp("lhs"), {"kind": "latin_hypercube", "points": 40, "parameters": RANGES}
    )


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> SweepResults:
    design = {"kind": "grid", "parameters": {FEE: [0, 100, 200, 400], DOWNTIME: [20, 60, 100]}}
    return run(tmp_path_factory.mktemp("grid"), design)


def by_parameter(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("parameter")


@pytest.mark.slow
def test_sobol_indices_known_answer(sobol: SweepResults) -> None:
    assert len(sobol.design) == 64 * (2 + 2)
    client = by_parameter(sensitivity(sobol, "client_saving"))
    assert (client["method"] == "sobol").all()
    assert client.index[0] == DOWNTIME and client.loc[DOWNTIME, "rank"] == 1
    # The saving is linear in the downtime cost: all of its variance, first order and total.
    assert client.loc[DOWNTIME, "S1"] == pytest.approx(1.0, abs=0.15)
    assert client.loc[DOWNTIME, "ST"] == pytest.approx(1.0, abs=0.15)
    assert 0 < client.loc[DOWNTIME, "S1_conf"] < 0.5
    again = by_parameter(sensitivity(sobol, "client_saving"))
    pd.testing.assert_frame_equal(client, again)  # the bootstrap intervals are seeded
    # The technician cost does not enter what the client pays: exactly zero.
    assert abs(client.loc[TECH_COST, "S1"]) < 1e-9 and abs(client.loc[TECH_COST, "ST"]) < 1e-9
    provider = by_parameter(sensitivity(sobol, "provider_gain"))
    assert provider.index[0] == TECH_COST
    assert provider.loc[TECH_COST, "ST"] == pytest.approx(1.0, abs=0.15)
    assert abs(provider.loc[DOWNTIME, "S1"]) < 1e-9 and abs(provider.loc[DOWNTIME, "ST"]) < 1e-9


@pytest.mark.slow
def test_regression_ranking_known_answer(lhs: SweepResults) -> None:
    client = by_parameter(sensitivity(lhs, "client_saving"))
    assert (client["method"] == "regression").all()
    assert client.index[0] == DOWNTIME
    assert client.loc[DOWNTIME, "r2"] == pytest.approx(1.0, abs=1e-6)
    assert client.loc[DOWNTIME, "importance"] == pytest.approx(1.0, abs=1e-3)
    assert abs(client.loc[TECH_COST, "src"]) < 1e-3  # cents rounding aside
    # Managed clients lose fewer hours here: a dearer downtime hour raises the saving.
    assert client.loc[DOWNTIME, "src"] > 0 and client.loc[DOWNTIME, "srrc"] > 0.99
    provider = by_parameter(sensitivity(lhs, "provider_gain"))
    assert provider.index[0] == TECH_COST and abs(provider.loc[DOWNTIME, "src"]) < 1e-3
    # A raw metric of one contract works too.
    downtime_cost = by_parameter(sensitivity(lhs, "client_downtime_cost", contract="tm"))
    assert downtime_cost.index[0] == DOWNTIME


def test_point_outcomes_match_the_paired_differences(grid: SweepResults) -> None:
    out = point_outcomes(grid)
    assert len(out) == 12 and (out["n"] == 2).all()
    diff = grid.differences
    diff = diff[(diff["contract"] == "managed") & (diff["metric"] == "client_total_cost")].set_index(
        "point_id"
    )
    months = out.set_index("point_id")["measured_months"]
    expected = -diff["mean"] / months.reindex(diff.index)
    np.testing.assert_allclose(out.set_index("point_id")["client_saving"].reindex(diff.index), expected)
    assert ((out["client_saving_p"] > 0.5) == (out["client_saving"] > 0)).all()
    shares = win_shares(out)
    assert shares["client_saving"]["points"] == 12
    assert 0 < shares["client_saving"]["positive"] < 12


def test_break_even_map_on_a_tiny_grid(grid: SweepResults, tmp_path: Path) -> None:
    be = break_even(grid, x=DOWNTIME, y=FEE)
    cells = be.cells
    assert len(cells) == 12 and (cells["n_points"] == 1).all()
    np.testing.assert_array_equal(be.x_centres, [20, 60, 100])
    np.testing.assert_array_equal(be.y_centres, [0, 100, 200, 400])
    saving = be.grid("client_saving")
    gain = be.grid("provider_gain")
    users = 5
    # A fee one unit higher per user-month: the client pays `users` more per month and the provider earns it.
    np.testing.assert_allclose(
        np.diff(saving, axis=0), -np.diff(be.y_centres)[:, None] * users * np.ones((1, 3))
    )
    np.testing.assert_allclose(
        np.diff(gain, axis=0), np.diff(be.y_centres)[:, None] * users * np.ones((1, 3))
    )
    # The provider's gain does not depend on the client's downtime cost; the client's saving rises with it.
    np.testing.assert_array_equal(gain, gain[:, :1] * np.ones((1, 3)))
    assert (np.diff(saving, axis=1) > 0).all()
    # Break-even inside the map: a free flat fee wins for the client, the dearest loses.
    assert (saving[0] > 0).all() and (saving[-1] < 0).all()
    p = be.grid("client_saving_p")
    assert ((p > 0.5) == (saving > 0)).all()
    assert set(be.to_df().columns) >= {DOWNTIME, FEE, "client_saving", "client_saving_se", "provider_gain_p"}
    ax = plot_break_even(be)
    assert isinstance(ax, Axes) and ax.get_title(loc="left").startswith("Client: managed cheaper than tm")
    assert plot_break_even(be, "provider_gain").get_title(loc="left").startswith("Provider")
    fig = break_even_figure(be)
    fig.savefig(tmp_path / "be.png")
    assert (tmp_path / "be.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_break_even_bins_a_continuous_design(lhs: SweepResults) -> None:
    be = break_even(lhs, bins=4)
    assert {be.x, be.y} == {DOWNTIME, TECH_COST}
    assert len(be.x_edges) == 5 and len(be.y_edges) == 5
    assert be.cells["n_points"].sum() == 40
    lo, hi = RANGES[be.x]["low"], RANGES[be.x]["high"]
    assert lo <= be.x_edges[0] and be.x_edges[-1] <= hi


def test_tornado_on_a_grid(grid: SweepResults, tmp_path: Path) -> None:
    table = tornado(grid)
    assert list(table["parameter"]) == [FEE, DOWNTIME]  # the fee swings the saving most
    fee = table.iloc[0]
    assert (fee["low_value"], fee["high_value"]) == (0, 400)
    assert fee["at_high"] < fee["baseline"] < fee["at_low"]
    assert fee["swing"] == pytest.approx(-400 * 5)
    assert table.iloc[1]["swing"] > 0
    ax = plot_tornado(table, currency="USD", contract="managed", reference="tm")
    assert isinstance(ax, Axes)
    tornado_figure(table, "USD", "managed", "tm").savefig(tmp_path / "t.png")
    provider = tornado(grid, "provider_gain")
    assert provider.set_index("parameter").loc[DOWNTIME, "swing"] == 0


def test_sweep_charts_name_their_source(grid: SweepResults) -> None:
    analysis = analyze_sweep(grid, x=DOWNTIME, y=FEE)
    # The grid sweep: 4 fees x 3 downtime costs, 2 replications, seed 5 (test_sweep.write_sweep).
    assert (
        analysis.source == "Source: msp-sim, sweep 'sweep' (grid design, 12 points × 2 replications), seed 5."
    )
    table = analysis.tornado[analysis.tornado["outcome"] == "client_saving"]
    assert analysis.break_even is not None
    for fig in (
        tornado_figure(table, "USD", analysis.contract, analysis.reference, analysis.source),
        break_even_figure(analysis.break_even, source=analysis.source),
    ):
        notes = [t.get_text() for t in fig.texts]
        assert any(n.startswith(analysis.source + "\n") for n in notes)


def test_bad_requests_are_value_errors(grid: SweepResults) -> None:
    with pytest.raises(ValueError, match="not a contract"):
        point_outcomes(grid, contract="msp")
    with pytest.raises(ValueError, match="unknown outcome"):
        sensitivity(grid, "happiness")
    with pytest.raises(ValueError, match="not a swept numeric parameter"):
        break_even(grid, x="users", y=FEE)
