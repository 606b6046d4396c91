"""A calibration's results folder, its charts and its report section: a year simulated from the baseline under
break/fix, exported, read back through a ticket map and calibrated, then written, read and reported."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import EXPORT_COLUMNS, history_export
from markupsafe import escape

from simulator.config import load_scenario, read_yaml
from simulator.config.ticket_map import TicketMap
from simulator.outputs.charts import calibration_charts
from simulator.outputs.folders import read_calibration, write_calibration, write_results
from simulator.outputs.report import KINDS, find_results, render_report
from simulator.studies.calibration.check import check_model
from simulator.studies.calibration.export import read_export
from simulator.studies.calibration.fit import calibrate
from simulator.studies.calibration.layouts import client_names_of
from simulator.studies.calibration.results import TABLES, CalibrationResults, results_of
from simulator.studies.calibration.scenario_file import calibrated_text
from simulator.studies.run import simulate

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "baseline.yaml"
RECORDED = "break-fix-tm"
HOSTILE = "<script>alert(1)</script> & Sons"
CHARTS = ("effort", "rates", "arrival", "check")
TMAP = TicketMap.model_validate({"columns": EXPORT_COLUMNS})


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Tags(HTMLParser):
    """Every id, and every end tag that does not close the element open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and (not self.stack or self.stack.pop() != tag):
            self.errors.append(tag)


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> tuple[CalibrationResults, str]:
    """A year of the baseline's tickets under break/fix as an export (the first client's name is hostile HTML),
    calibrated and checked: the results and the calibrated scenario's text."""
    base = load_scenario(BASE)
    names = client_names_of(base)
    names[0] = HOSTILE
    export, sizes = history_export(base, RECORDED, 12, names)
    path = tmp_path_factory.mktemp("export") / "tickets.csv"
    export.to_csv(path, index=False)
    history = read_export(path, TMAP, [c.name for c in base.incidents.categories])
    data = read_yaml(BASE)
    cal = calibrate(history, base, data, RECORDED, sizes)
    text, scenario = calibrated_text(cal, data, str(BASE), "map.yaml")
    check = check_model(cal, scenario, replications=4)
    return results_of(cal, scenario, check, {"export": str(path), "map": "map.yaml", "base": str(BASE)}), text


@pytest.fixture(scope="module")
def folder(calibration: tuple[CalibrationResults, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    res, text = calibration
    return write_calibration(res, text, tmp_path_factory.mktemp("results") / "calibration")


def test_the_folder_holds_every_table_and_the_four_charts(folder: Path) -> None:
    for name in TABLES:
        assert (folder / f"{name}.csv").is_file(), name
    for stem in CHARTS:
        assert (folder / f"{stem}.png").stat().st_size > 5_000, stem
        assert (folder / f"{stem}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert (folder / "calibrated.yaml").is_file() and (folder / "calibration.json").is_file()


def _text(column: pd.Series) -> pd.Series:
    """A text column with a missing value as empty text."""
    return column.astype(object).where(column.notna(), "").astype(str)


def _same(written: pd.DataFrame, read: pd.DataFrame, name: str) -> None:
    """Equal tables: datetimes as the same instants at any resolution, an empty text as empty (or missing)."""
    written, read = written.reset_index(drop=True).copy(), read.copy()
    assert list(read.columns) == list(written.columns), name
    assert len(read) == len(written), name
    for column in written.columns:
        if pd.api.types.is_datetime64_any_dtype(written[column]):
            read[column] = read[column].astype(written[column].dtype)
        elif not pd.api.types.is_numeric_dtype(written[column]) and not pd.api.types.is_bool_dtype(
            written[column]
        ):
            written[column], read[column] = _text(written[column]), _text(read[column])
    if len(written):
        pd.testing.assert_frame_equal(read, written, check_dtype=False, check_exact=False, obj=name)


def test_the_tables_read_back_as_written(calibration: tuple[CalibrationResults, str], folder: Path) -> None:
    res, _ = calibration
    back = read_calibration(folder)
    assert back.scenario == res.scenario
    assert back.meta == res.meta
    for name in TABLES:
        written, read = getattr(res, name), getattr(back, name)
        _same(written, read, name)
    assert HOSTILE in set(back.tickets["client"]) and HOSTILE in set(back.clients["client"])


def test_reopened_tickets_keep_their_parents_id(
    calibration: tuple[CalibrationResults, str], folder: Path
) -> None:
    res, _ = calibration
    back = read_calibration(folder)
    assert (back.tickets["parent"] == res.tickets["parent"].fillna("").astype(str)).all()
    reopened = back.tickets[back.tickets["recurrence"]]
    assert reopened["parent"].isin(set(back.tickets["ticket"])).mean() > 0.5


def test_charts_are_skipped_without_their_data(calibration: tuple[CalibrationResults, str]) -> None:
    """No hands-on hours: no effort chart; no model check: no check chart; the rest still drawn."""
    import dataclasses

    res, _ = calibration
    one = res.tickets[res.tickets["category"] == "hardware"]
    bare = dataclasses.replace(res, tickets=one.assign(hours=np.nan), check=res.check.iloc[:0])
    assert [stem for stem, _, _ in calibration_charts(bare)] == ["rates", "arrival"]
    assert [stem for stem, _, _ in calibration_charts(res)] == list(CHARTS)
    few = dataclasses.replace(res, tickets=one.head(12))
    import matplotlib.pyplot as plt

    for _, make, _ in calibration_charts(few):
        plt.close(make())


def test_the_report_shows_the_history_the_fit_and_the_check(
    calibration: tuple[CalibrationResults, str], folder: Path
) -> None:
    res, _ = calibration
    assert find_results(folder) == [("calibration", folder)]
    html = render_report(folder)
    tags = _Tags()
    tags.feed(html)
    assert not tags.errors and not tags.stack, (tags.errors, tags.stack)
    assert not [i for i, n in Counter(tags.ids).items() if n > 1]
    section = html[html.index('data-kind="calibration"') :]
    assert "Calibration from a ticket history" in html
    for category in res.rates["category"]:
        if category != "major":
            assert f"<td>{category}" in section, category
    assert "small-office 2" in section
    assert section.count("<svg") == len(CHARTS)
    assert "What the calibration assumes" in section
    assert all(str(escape(note)) in section for note in res.meta["notes"])
    checked = res.check.dropna(subset=["history"])
    assert len(re.findall(r'<tr data-within="(yes|no)">', section)) == len(checked)
    assert f"reproduces {int(checked['within'].sum())} of {len(checked)} figures" in section
    # what a client put into its ticket system is text, never markup
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons" in section
    # a calibration is the client's own history: the client's version shows it
    client = render_report(folder, audience="client")
    assert 'data-kind="calibration"' in client and "small-office 2" in client


def test_a_parent_folder_lists_runs_then_calibrations(folder: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "results"
    shutil.copytree(folder, root / "a-calibration")
    sc = load_scenario(ROOT / "scenarios" / "small-office.yaml", ["horizon_months=2", "warmup_months=0"])
    write_results(simulate(sc, replications=2), root / "z-run")
    found = find_results(root)
    assert [kind for kind, _ in found] == ["run", "calibration"]
    assert KINDS.index("run") < KINDS.index("calibration") < KINDS.index("sweep")
    client = render_report(root, audience="client")
    assert client.index('data-kind="run"') < client.index('data-kind="calibration"')
