"""The HTML report and its charts: valid, self-contained, every chart and number there, and it renders.

The browser test opens the report in headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it and sets
MSP_SIM_REQUIRE_BROWSER=1 so that CI cannot skip it) and checks that the page logs no console error, that the
screenshot is not blank and that it prints to a PDF of several pages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from helpers import msp_sim
from markupsafe import escape

from simulator import charts, load_scenario, simulate
from simulator.outputs.assumptions import key_assumptions
from simulator.outputs.folders import read_results, write_results, write_transition
from simulator.outputs.report import ReportError, find_results, render_report, write_report
from simulator.outputs.tables import format_number
from simulator.studies.transition import simulate_transition

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small-office.yaml"
TRANSITION = ROOT / "scenarios" / "transition.yaml"
RUN_CHARTS = {"client-cost", "provider", "downtime", "revenue", "service"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module")
def results_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results/ with a run folder and a transition folder, as the CLI would write them."""
    root = tmp_path_factory.mktemp("results")
    sc = load_scenario(SMALL, ["horizon_months=5", "warmup_months=1"])
    write_results(simulate(sc, replications=3, invoices=True), root / "small-office")
    tr = load_scenario(TRANSITION, ["horizon_months=13"])
    write_transition(simulate_transition(tr, replications=2), root / "transition")
    return root


@pytest.fixture(scope="module")
def run_html(results_root: Path) -> str:
    return write_report(results_root / "small-office").read_text(encoding="utf-8")


class _Checker(HTMLParser):
    """Balanced tags, unique ids, every figure and table cell collected."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.figures: list[dict[str, str | None]] = []
        self.svgs_in_figures = 0
        self.cells: list[dict[str, str | None]] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "figure":
            self.figures.append(a)
        if tag == "svg" and "figure" in self.stack:
            self.svgs_in_figures += 1
        if tag == "tr":
            self.metric = a.get("data-metric")
        if tag == "td" and a.get("data-mean") is not None:
            self.cells.append({**a, "metric": self.metric})
        if tag not in VOID:
            self.stack.append(tag)

    metric: str | None = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def _check(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker


def test_report_is_valid_html_with_every_chart_inline(run_html: str) -> None:
    c = _check(run_html)
    assert c.doctype.lower() == "doctype html"
    assert c.errors == []
    assert c.stack == []
    duplicated = {i for i in c.ids if c.ids.count(i) > 1}
    assert not duplicated, f"duplicated ids: {sorted(duplicated)[:5]}"
    assert {f["data-chart"] for f in c.figures} == RUN_CHARTS
    assert c.svgs_in_figures == len(RUN_CHARTS)
    assert '<html lang="en">' in run_html and "<title>" in run_html


def test_report_has_no_external_references(run_html: str) -> None:
    # Every src/href is an in-page anchor; no stylesheet, script, font or image is fetched.
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', run_html)
    assert refs and all(r.startswith("#") for r in refs), [r for r in refs if not r.startswith("#")][:5]
    assert "<link" not in run_html and "<script" not in run_html and "@import" not in run_html
    assert "<img" not in run_html and "url(http" not in run_html
    # The only URLs left are XML namespace names, which are identifiers, not downloads.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", run_html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls


def test_report_numbers_equal_the_summary(results_root: Path, run_html: str) -> None:
    folder = results_root / "small-office"
    summary = pd.read_csv(folder / "summary.csv")
    months = read_results(folder).scenario.measured_months
    c = _check(run_html)
    table = re.search(r'<table class="all-metrics small".*?</table>', run_html, flags=re.S)
    assert table is not None
    cells = {(m, d["data-contract"]): d for d in _check(table.group(0)).cells if (m := d["metric"])}
    assert len(cells) == len(summary), "every contract x metric of summary.csv is in the report"
    for r in summary.itertuples():
        cell = cells[(r.metric, r.contract)]
        for column, attr in (("mean", "data-mean"), ("ci_low", "data-ci-low"), ("ci_high", "data-ci-high")):
            expected, shown = float(getattr(r, column)), float(str(cell[attr]))
            assert shown == expected or (np.isnan(shown) and np.isnan(expected)), (
                r.metric,
                r.contract,
                column,
            )
    # The comparison table shows money per month: the shown text is the summary mean / months, formatted.
    main = re.search(r'<table class="comparison".*?</table>', run_html, flags=re.S)
    assert main is not None
    row = re.search(
        r'<tr data-metric="client_total_cost">.*?data-contract="managed[^"]*" data-mean="([^"]+)"[^>]*>([^<]+)<',
        main.group(0),
        flags=re.S,
    )
    assert row is not None
    managed = summary[
        (summary["metric"] == "client_total_cost") & summary["contract"].str.startswith("managed")
    ]
    assert float(row.group(1)) == float(managed["mean"].iloc[0])
    assert row.group(2) == format_number(float(managed["mean"].iloc[0]) / months, "money")
    for contract in summary["contract"].unique():
        assert '<th class="num"><span class="swatch"' in run_html and contract in run_html
    assert len(c.cells) >= len(summary)


def test_report_states_the_findings_and_the_assumptions(results_root: Path, run_html: str) -> None:
    results = read_results(results_root / "small-office")
    assert charts.headline(results) in run_html.replace("&#39;", "'")
    assert (
        charts.provider_headline(results).replace("'", "&#39;") in run_html
        or charts.provider_headline(results) in run_html
    )
    sc = results.scenario
    for needle in (
        "Assumptions",
        "Common random numbers",
        "95% confidence interval",
        "downtime_cost_per_user_hour",
    ):
        assert needle in run_html
    # The key assumptions, sentence by sentence, as key_assumptions states them.
    for topic, sentence in key_assumptions(sc).itertuples(index=False):
        assert f'<th scope="row">{escape(topic)}</th><td>{escape(sentence)}</td>' in run_html
    # A parameter in plain words with its value and unit.
    assert "Loaded labour cost of a technician hour" in run_html
    assert f"{sc.provider.cost_per_technician_hour:g}" in run_html


def test_a_parent_folder_gives_one_report_with_every_section(results_root: Path) -> None:
    found = find_results(results_root)
    assert [kind for kind, _ in found] == ["run", "transition"]
    html = render_report(results_root)
    c = _check(html)
    assert c.errors == [] and not {i for i in c.ids if c.ids.count(i) > 1}
    assert {f["data-chart"] for f in c.figures} == RUN_CHARTS | {"transition"}
    assert 'data-kind="transition"' in html and "Lowest cash balance" in html


def test_a_folder_without_results_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="holds no results"):
        find_results(tmp_path)
    with pytest.raises(ReportError, match="no such folder"):
        find_results(tmp_path / "missing")


def test_reportmsp_sim(results_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "client.html"
    xlsx = tmp_path / "client.xlsx"
    done = msp_sim("report", results_root / "small-office", "--out", out, "--xlsx", xlsx)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert xlsx.read_bytes()[:2] == b"PK"
    bad = msp_sim("report", tmp_path / "empty-does-not-exist")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "no such folder" in bad.stderr
    (tmp_path / "empty").mkdir()
    bad = msp_sim("report", tmp_path / "empty")
    assert bad.returncode == 2 and "msp-sim run" in bad.stderr


def test_run_with_report_writes_both_files(tmp_path: Path) -> None:
    out = tmp_path / "small"
    done = msp_sim(
        "run",
        SMALL,
        "-r",
        "2",
        "--set",
        "horizon_months=3",
        "--set",
        "warmup_months=0",
        "--out",
        out,
        "--report",
    )
    assert done.returncode == 0, done.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "tmp-" not in html, "the report names the final folder, not the temporary one"
    assert (out / "results.xlsx").is_file()


def test_every_plot_function_takes_an_axes_and_returns_it(results_root: Path) -> None:
    results = read_results(results_root / "small-office")
    for plot in (
        charts.plot_client_cost,
        charts.plot_provider_profit,
        charts.plot_downtime,
        charts.plot_revenue_band,
        charts.plot_ticket_times,
    ):
        fig, ax = plt.subplots()
        assert plot(results, ax=ax) is ax
        plt.close(fig)
        own = plot(results)  # a new figure with its source line
        texts = [t.get_text() for t in own.figure.texts]
        assert any(t.startswith("Source: msp-sim, scenario") for t in texts), plot.__name__
        plt.close(own.figure)


def test_contracts_keep_their_colour_across_charts(results_root: Path) -> None:
    results = read_results(results_root / "small-office")
    colours = charts.contract_colors(results.scenario)
    ax = charts.plot_revenue_band(results)
    lines = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert lines == colours
    plt.close(ax.figure)
    ax = charts.plot_ticket_times(results, "response", "P2")
    for line in ax.get_lines():
        name = str(line.get_label()).split(":")[0]
        if name in colours:
            assert line.get_color() == colours[name]
    plt.close(ax.figure)


# ----------------------------------------------------------------------------------------------- browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("MSP_SIM_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (MSP_SIM_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium; .ci/run does this)")
    return found


def _open(page: Path, tmp_path: Path, *action: str) -> list[str]:
    """Open ``page`` in headless Chromium doing ``action``; the console messages it logged."""
    done = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *action, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_the_console_check_catches_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><script>missingFunction();</script></body></html>")
    console = _open(page, tmp_path, f"--screenshot={tmp_path / 'bad.png'}")
    assert any("missingFunction" in line for line in console)


@pytest.mark.slow
def test_report_renders_in_chromium(results_root: Path, tmp_path: Path) -> None:
    page = write_report(results_root, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    console = _open(page, tmp_path, "--window-size=1280,2400", f"--screenshot={shot}")
    assert console == []
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    not_white = (pixels < 0.9).any(axis=-1).mean()
    assert not_white > 0.03, f"only {not_white:.1%} of the screenshot is not white"
    assert len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50, "colours drawn"
    pdf = tmp_path / "report.pdf"
    console = _open(page, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert console == []
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) >= 4


_PROBE = """<script>addEventListener("load", () => {
  const page = document.documentElement.scrollWidth;
  const out = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest(".scroll"))
    .map((e) => e.tagName + "." + e.className).slice(0, 5);
  console.log("WIDTH " + page + " " + innerWidth + " " + JSON.stringify(out));
});</script>"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1366])
def test_the_report_fits_the_width_of_a_phone_and_a_laptop(
    results_root: Path, tmp_path: Path, width: int
) -> None:
    """At 390 px (a phone) and 1366 px nothing sticks out of the page: wide tables scroll inside their own box,
    long parameter values wrap. The report is measured in a frame of that width (headless windows have a
    minimum width)."""
    sc = load_scenario(
        SMALL, ["horizon_months=3", "warmup_months=1", f"description={'a-very-long-word' * 12}"]
    )
    folder = tmp_path / "long"
    write_results(simulate(sc, replications=2), folder)
    html = render_report(folder).replace("</body>", _PROBE + "</body>")
    (tmp_path / "probe.html").write_text(html, encoding="utf-8")
    frame = tmp_path / "frame.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe src="probe.html" '
        f'style="width:{width}px;height:900px;border:0"></iframe></body></html>',
        encoding="utf-8",
    )
    console = _open(frame, tmp_path, "--window-size=1400,900", f"--screenshot={tmp_path / 'shot.png'}")
    measured = [line.split('"WIDTH ', 1)[1] for line in console if '"WIDTH ' in line]
    assert len(measured) == 1, console
    page, inner, out = measured[0].split(" ", 2)
    assert int(inner) == width
    assert int(page) <= width, f"the page is {page} px wide at {width} px; sticking out: {out}"
    assert out.startswith("[]"), out


def test_write_report_is_atomic(results_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report")

    def broken(*_args: object, **_kw: object) -> str:
        raise OSError(28, "No space left on device")

    import simulator.base.files as files

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(OSError):
        write_report(results_root / "small-office", target)
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_sweep_folder_gets_its_section(tmp_path: Path) -> None:
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(
        f"name: tiny\nbase: {SMALL}\noverrides: {{horizon_months: 3, warmup_months: 0}}\nreplications: 2\n"
        "design:\n  kind: grid\n  parameters:\n"
        "    contracts.managed-per-device.fee_per_endpoint_month: [60, 180]\n"
        "    clients.*.downtime_cost_per_user_hour: [20, 100]\n"
    )
    done = msp_sim("sweep", sweep, "--out", tmp_path / "results" / "tiny", "-w", "1")
    assert done.returncode == 0, done.stderr
    html = render_report(tmp_path / "results")
    c = _check(html)
    assert c.errors == [] and not {i for i in c.ids if c.ids.count(i) > 1}
    assert {f["data-chart"] for f in c.figures} == {"tornado", "break-even"}
    assert 'data-kind="sweep"' in html and "4 parameter combinations" in html


def test_the_client_s_version_holds_no_provider_economics(results_root: Path, tmp_path: Path) -> None:
    """``--audience client``: the run's comparison without the provider's revenue, costs, profit, margins,
    staffing costs or parameters; the provider's own analyses (the transition) are left out and named."""
    full = render_report(results_root)
    client = render_report(results_root, audience="client")
    for provider_only in (
        "earns the provider",
        "Provider net profit",
        "Gross margin",
        "Net margin",
        "overhead",
    ):
        assert provider_only in full
    for text in (
        "earns the provider",
        "net profit",
        "Net profit",
        "Gross margin",
        "Net margin",
        "gross margin",
        "net margin",
        'data-metric="provider_',
        'data-metric="social_cost"',
        "Revenue per technician hour",
        "Provider's costs",
        "cost_per_technician_hour",
        'id="s0-provider"',
        "headline-provider",
    ):
        assert text not in client, text
    assert "headline-client" in client and "Client total cost per month" in client
    assert "The client's version" in client and "Moving to managed services" in client  # what was left out
    assert client.count('class="section-run"') == 1 and 'class="section-transition"' not in client
    with pytest.raises(ReportError, match="not one of full, client"):
        render_report(results_root, audience="cfo")
    done = msp_sim(
        "report", results_root / "transition", "--audience", "client", "--out", tmp_path / "c.html"
    )
    assert done.returncode == 2 and "holds no results of `msp-sim run`" in done.stderr
    done = msp_sim("report", results_root, "--audience", "client", "--xlsx", tmp_path / "c.xlsx")
    assert done.returncode == 2 and "not made for the client" in done.stderr
    assert not (tmp_path / "c.html").exists() and not (tmp_path / "c.xlsx").exists()
