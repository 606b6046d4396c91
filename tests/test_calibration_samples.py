"""The shipped sample ticket exports and their maps: they read cleanly, agree with the layouts they were written
in, and are what examples/make_samples.py makes from the known truth; a simulated export keeps its times across
daylight-saving changes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

from simulator.base.calendar import HOURS_PER_MONTH
from simulator.base.records import Handling
from simulator.config import Scenario, load_scenario
from simulator.config.ticket_map import TicketMap, load_ticket_map
from simulator.studies.calibration.export import read_export
from simulator.studies.calibration.layouts import (
    LAYOUT_DELIMITER,
    LAYOUTS,
    TICKET_BASE,
    simulated_export,
    write_export,
)
from simulator.studies.run import simulate

EXAMPLES = ROOT / "examples"
TRUTH = EXAMPLES / "tickets-truth.yaml"
SAMPLES = {"psa": "tickets-sample.csv", "helpdesk": "helpdesk-sample.csv"}
MADE = [*SAMPLES.values(), "tickets-sample-clients.csv", "helpdesk-sample-clients.csv"]


@pytest.fixture(scope="module")
def truth() -> Scenario:
    return load_scenario(TRUTH)


@pytest.fixture(scope="module")
def log(truth: Scenario) -> pd.DataFrame:
    tickets = simulate(truth, replications=1, tickets=True).tickets
    assert tickets is not None
    return tickets[tickets["contract"] == "break-fix-tm"]


def _map(layout: str) -> TicketMap:
    return load_ticket_map(EXAMPLES / "maps" / f"{layout}.yaml")


def _categories(scenario: Scenario) -> list[str]:
    return [c.name for c in scenario.incidents.categories]


def _exported(log: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The log's tickets created before the horizon's end, by incident id."""
    end = scenario.horizon_months * HOURS_PER_MONTH
    t = log[(log["handling"] == Handling.TICKET) & (log["created"] < end)]
    return t.set_index("incident")


def test_maps_load() -> None:
    for layout in LAYOUTS:
        tmap = _map(layout)
        assert tmap.delimiter == LAYOUT_DELIMITER[layout]


@pytest.mark.parametrize("layout", list(SAMPLES))
def test_samples_read_cleanly(layout: str, truth: Scenario, log: pd.DataFrame) -> None:
    history = read_export(EXAMPLES / SAMPLES[layout], _map(layout), _categories(truth), layout)
    t = history.tickets
    assert history.unusable["rows"].sum() == 0
    assert history.left_out.empty
    assert len(t) == history.rows
    scenario = truth if layout == "psa" else truth.model_copy(update={"horizon_months": 12})
    assert len(t) == len(_exported(log, scenario))
    assert set(t["category"]) <= {*_categories(truth), "major"}
    assert set(t["priority"]) == {1, 2, 3, 4}
    assert (t["recurrence"] == (t["parent"] != "")).all()
    assert t["recurrence"].any()
    assert set(t.loc[t["recurrence"], "parent"]) <= set(t["ticket"])
    assert t["hours"].notna().all() and t["onsite"].isin([0.0, 1.0]).all()


@pytest.mark.parametrize(
    ("layout", "start", "zone"),
    [
        ("psa", "2024-03-04", "America/Chicago"),  # summer time from 10 March
        ("helpdesk", "2024-10-07", "Europe/Berlin"),  # winter time from 27 October
    ],
)
def test_simulated_export_round_trip(
    layout: str, start: str, zone: str, truth: Scenario, log: pd.DataFrame, tmp_path: Path
) -> None:
    scenario = truth.model_copy(update={"horizon_months": 2})
    begin = pd.Timestamp(start)
    frame = simulated_export(log, scenario, layout, begin, zone)
    path = write_export(frame, tmp_path / "export.csv", layout)
    history = read_export(path, _map(layout), _categories(truth), layout)
    t = history.tickets.set_index(history.tickets["ticket"].astype(int) - TICKET_BASE)
    sim = _exported(log, scenario)
    assert len(t) == len(sim) and set(t.index) == set(sim.index)
    sim = sim.loc[t.index]

    def wall(hours: pd.Series) -> np.ndarray:
        """Local wall times of clock hours, to the minute."""
        return (begin + pd.to_timedelta(np.round(hours.to_numpy(float) * 60), unit="min")).to_numpy()

    expected = pd.Series(wall(sim["created"]), index=t.index)
    skipped = expected.dt.tz_localize(zone, ambiguous=np.ones(len(t), bool), nonexistent="NaT").isna()
    assert not skipped.any()  # no ticket is created in an hour daylight saving skips
    change = {"psa": pd.Timestamp("2024-03-10"), "helpdesk": pd.Timestamp("2024-10-27")}[layout]
    assert (expected < change).any() and (expected > change).any()
    assert (t["created"] == expected).all()

    end = scenario.horizon_months * HOURS_PER_MONTH
    closed = (sim["resolved"] <= end).to_numpy()
    assert closed.any() and (~closed).any()
    assert t["resolved"].isna().to_numpy().tolist() == (~closed).tolist()
    assert (t.loc[closed, "resolved"] == wall(sim.loc[closed, "resolved"])).all()
    if layout == "helpdesk":
        began = (sim["started"] <= end).to_numpy()
        assert (t.loc[began, "responded"] == wall(sim.loc[began, "started"])).all()
        assert t.loc[~began, "responded"].isna().all()
    tolerance = 0.005 if layout == "psa" else 1 / 120
    assert np.allclose(t.loc[closed, "hours"], sim.loc[closed, "work_hours"], atol=tolerance)
    assert np.allclose(t["parts_cost"], sim["parts_cost"], atol=0.005)
    assert (t["onsite"].astype(bool) == sim["onsite"].astype(bool)).all()
    assert (t["priority"] == sim["priority"]).all()
    names = np.array([*_categories(truth), "major"])
    assert (t["category"].to_numpy() == names[sim["category"].to_numpy(int)]).all()
    parents = np.where(sim["parent"] >= 0, (sim["parent"] + TICKET_BASE).astype(str), "")
    assert (t["parent"].to_numpy() == parents).all()


def test_start_must_be_a_monday_midnight(truth: Scenario, log: pd.DataFrame) -> None:
    for start in ("2024-03-05", "2024-03-04 08:00"):
        with pytest.raises(ValueError, match="Monday 00:00"):
            simulated_export(log, truth, "psa", pd.Timestamp(start), "America/Chicago")
    with pytest.raises(ValueError, match="layout"):
        simulated_export(log, truth, "xlsx", pd.Timestamp("2024-03-04"), "America/Chicago")


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_labels_agree_with_the_shipped_maps(layout: str, truth: Scenario) -> None:
    spec, tmap = LAYOUTS[layout], _map(layout)
    names = set(_categories(truth))
    assert names | {"major"} <= set(spec.categories)
    for name, label in spec.categories.items():
        assert tmap.mapped_category(label, names) == (True, name)
    mapped = {v for v in tmap.values.category.values() if v is not None}
    assert mapped == set(spec.categories)
    folded = {k.strip().casefold(): v for k, v in tmap.values.priority.items()}
    assert [folded[label.casefold()] for label in spec.priorities] == ["P1", "P2", "P3", "P4"]


def test_left_out_category(truth: Scenario, tmp_path: Path) -> None:
    text = (EXAMPLES / SAMPLES["psa"]).read_text(encoding="utf-8").splitlines()
    extra = (
        "999999,law-firm 1,Internal,Priority 3 - Normal Response,Closed,01/03/2023 09:00 AM,,1.00,Remote,,"
    )
    path = tmp_path / "with-internal.csv"
    path.write_text("\n".join([*text, extra]) + "\n", encoding="utf-8")
    history = read_export(path, _map("psa"), _categories(truth), "psa")
    assert len(history.tickets) == len(text) - 1
    assert history.left_out[["value", "rows"]].values.tolist() == [["Internal", 1]]


def test_make_samples_reproduces_the_shipped_files(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", EXAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in MADE:
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
