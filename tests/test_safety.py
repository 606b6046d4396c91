"""A user's files are never lost, their text never runs, and long or impossible work is announced or refused.

Every command is run as a user would, in a workspace of its own (``results/`` with another study in it, files of
the user's beside and inside the output folder), and the workspace is compared byte for byte before and after.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pandas as pd
import pytest
import yaml
from helpers import msp_sim

from simulator.base.files import tool_wrote

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "scenarios" / "small-office.yaml"
INCENTIVES = ROOT / "scenarios" / "incentives.yaml"
TRANSITION = ROOT / "scenarios" / "transition.yaml"
SHORT = ["-r", "2", "--set", "horizon_months=2", "--set", "warmup_months=0"]


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``, hidden ones included, with its bytes (None for a folder)."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A user's folder: results/ holding another study and a note, a note beside where output goes."""
    other = tmp_path / "results" / "other-study"
    other.mkdir(parents=True)
    (other / "summary.csv").write_text("contract,metric,mean\n")
    (other / "scenario.resolved.yaml").write_text("name: other\n")
    (tmp_path / "results" / "README.txt").write_text("my notes about these studies\n")
    (tmp_path / "notes.txt").write_text("beside the results\n")
    return tmp_path


def sweep_file(folder: Path, name: str = "tiny") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "base": str(SMALL),
                "replications": 2,
                "overrides": {"horizon_months": 2, "warmup_months": 0},
                "design": {
                    "kind": "grid",
                    "parameters": {"clients.accounting-office.downtime_cost_per_user_hour": [30, 60]},
                },
            }
        )
    )
    return path


# ------------------------------------------------------------------------------ a folder of the user's


COMMANDS = {
    "run": lambda ws, out: ["run", SMALL, *SHORT, "--out", out],
    "incentives": lambda ws, out: [
        "incentives", INCENTIVES, "-r", "2", "-w", "1", "--levers", "technicians", "--set", "horizon_months=2",
        "--set", "warmup_months=0", "--set", "incentives.refine=false", "--out", out,
    ],
    "transition": lambda ws, out: [
        "transition", TRANSITION, "-r", "2", "-w", "1", "--strategies", "stay", "--set", "horizon_months=3",
        "--out", out,
    ],
    "sweep": lambda ws, out: ["sweep", sweep_file(ws), "-w", "1", "--out", out],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_folder_of_the_users_is_never_replaced(workspace: Path, command: str) -> None:
    out = workspace / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    args = COMMANDS[command](workspace, out)
    if command == "sweep":
        sweep_file(workspace)  # written before the snapshot
    before = tree(workspace)
    done = msp_sim(*args, cwd=workspace)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(out) in done.stderr and "thesis.docx" in done.stderr
    assert tree(workspace) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_files_beside_the_results_survive(workspace: Path, command: str) -> None:
    out = workspace / "results" / "new"
    args = COMMANDS[command](workspace, out)
    before = {k: v for k, v in tree(workspace).items() if not k.startswith("results/new")}
    done = msp_sim(*args, cwd=workspace)
    assert done.returncode == 0, done.stderr
    after = {k: v for k, v in tree(workspace).items() if not k.startswith("results/new")}
    assert after == before
    again = msp_sim(*args, cwd=workspace)  # into its own folder again: replaced (or resumed) without a word
    assert again.returncode == 0, again.stderr
    assert {k: v for k, v in tree(workspace).items() if not k.startswith("results/new")} == before


def test_analyze_and_report_leave_the_users_files(workspace: Path) -> None:
    out = workspace / "results" / "sw"
    assert msp_sim("sweep", sweep_file(workspace), "-w", "1", "--out", out, cwd=workspace).returncode == 0
    mine = workspace / "analysis-of-mine"
    mine.mkdir()
    (mine / "draft.txt").write_text("mine")
    page = workspace / "page.html"
    page.write_text("<html>my own page</html>")
    book = workspace / "book.xlsx"
    book.write_bytes(b"PK not really a workbook")
    before = tree(workspace)
    refused = [
        msp_sim("analyze", out, "--out", mine, cwd=workspace),
        msp_sim("report", out, "--out", page, cwd=workspace),
    ]
    for done in refused:
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "did not write" in done.stderr
    run = workspace / "results" / "run"
    assert msp_sim("run", SMALL, *SHORT, "--out", run, cwd=workspace).returncode == 0
    done = msp_sim("report", run, "--xlsx", book, cwd=workspace)
    assert done.returncode == 2 and "book.xlsx" in done.stderr and "did not write" in done.stderr
    assert {k: v for k, v in tree(workspace).items() if not k.startswith("results/run")} == before
    # What the tool wrote itself it may write again.
    assert msp_sim("report", run, "--out", workspace / "r.html", cwd=workspace).returncode == 0
    assert tool_wrote(workspace / "r.html")
    assert msp_sim("report", run, "--out", workspace / "r.html", cwd=workspace).returncode == 0
    assert msp_sim("analyze", out, cwd=workspace).returncode == 0


@pytest.mark.parametrize(
    ("name", "folder"),
    [("../escaped", "escaped"), ("/tmp/absolute/folder", "tmp-absolute-folder")],  # more names: test_files.py
)
def test_a_scenario_name_always_lands_under_results(workspace: Path, name: str, folder: str) -> None:
    before = tree(workspace)
    done = msp_sim("run", SMALL, *SHORT, "--set", f"name={name}", cwd=workspace)
    assert done.returncode == 0, done.stderr
    after = tree(workspace)
    new = {k for k in after if k not in before}
    assert new and all(k.startswith(f"results/{folder}") for k in new)
    assert {k: after[k] for k in before} == before
    assert not Path("/tmp/absolute/folder").exists() or name != "/tmp/absolute/folder"


def test_a_sweep_name_always_lands_under_results(workspace: Path) -> None:
    path = sweep_file(workspace)
    spec = yaml.safe_load(path.read_text())
    spec["name"] = "../../x"
    path.write_text(yaml.safe_dump(spec))
    before = tree(workspace)
    done = msp_sim("sweep", path, "-w", "1", cwd=workspace)
    assert done.returncode == 0, done.stderr
    new = {k for k in tree(workspace) if k not in before}
    assert new and all(k.startswith("results/x") for k in new)


# ------------------------------------------------------------------------------ interrupted and concurrent


def test_a_second_writer_is_turned_away(workspace: Path) -> None:
    out = workspace / "results" / "busy"
    first = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", SMALL, "-r", "40", "--out", out],
        cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lock = workspace / "results" / ".busy.lock"
        deadline = time.monotonic() + 60
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.exists()
        second = msp_sim("run", SMALL, *SHORT, "--out", out, cwd=workspace)
        assert second.returncode == 1 and "another msp-sim command is writing" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    reps = pd.read_csv(out / "replications.csv")
    assert reps["replication"].nunique() == 40  # the first run's results, complete
    assert not lock.exists()


def test_a_run_killed_while_writing_loses_nothing(workspace: Path) -> None:
    out = workspace / "results" / "k"
    assert msp_sim("run", SMALL, *SHORT, "--out", out, cwd=workspace).returncode == 0
    previous = tree(out)
    victim = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", SMALL, *SHORT, "--report", "--out", out],
        cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while victim.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".k.tmp-") for p in (workspace / "results").iterdir()):
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    victim.wait()
    if victim.returncode == 0:
        pytest.skip("the run finished before it could be killed while writing")
    assert tree(out) == previous  # the previous results, intact
    done = msp_sim("run", SMALL, *SHORT, "--out", out, cwd=workspace)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (workspace / "results").iterdir())
    assert names == ["README.txt", "k", "other-study"]  # the temporary folder and the lock are gone


def _alive(pgid: int) -> list[str]:
    """The processes of a group that still run (zombies waiting to be reaped do not)."""
    ps = subprocess.run(["ps", "-o", "stat=,pid=,args=", "-g", str(pgid)], capture_output=True, text=True)
    return [line for line in ps.stdout.splitlines() if line.strip() and not line.strip().startswith("Z")]


@pytest.mark.parametrize("scheduler", [None, pytest.param("local", marks=pytest.mark.slow)])
def test_a_killed_sweep_leaves_no_process_behind(workspace: Path, scheduler: str | None) -> None:
    path = workspace / "long.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": str(SMALL),
                "replications": 3,
                "design": {
                    "kind": "latin_hypercube",
                    "points": 400,
                    "parameters": {
                        "clients.accounting-office.downtime_cost_per_user_hour": {"low": 20, "high": 150}
                    },
                },
            }
        )
    )
    args = ["sweep", path, "-w", "2", "--out", workspace / "results" / "long"]
    if scheduler:
        args += ["--scheduler", scheduler]
    sweep = subprocess.Popen(
        [sys.executable, "-m", "simulator", *map(str, args)],
        cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    parts = workspace / "results" / "long" / "parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (len(_alive(sweep.pid)) >= 3 and parts.is_dir()):
        time.sleep(0.1)
    workers = _alive(sweep.pid)
    assert len(workers) >= 3, workers  # the sweep and its worker processes are running
    time.sleep(1.0)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    deadline = time.monotonic() + 10
    while _alive(sweep.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(sweep.pid) == []


# ------------------------------------------------------------------------------ size


def test_an_oversized_job_is_refused_before_it_allocates(workspace: Path) -> None:
    before = tree(workspace)
    args = ["--set", "clients.0.count=5000", "--set", "horizon_months=600", "--set", "replications=1000"]
    started = time.monotonic()
    done = msp_sim("run", SMALL, *args, cwd=workspace, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "memory at the peak" in done.stderr and "GiB" in done.stderr and "--force" in done.stderr
    assert "fewer replications" in done.stderr
    assert time.monotonic() - started < 60
    assert tree(workspace) == before
    checked = msp_sim("validate", SMALL, *args, cwd=workspace)
    assert checked.returncode == 0 and "does not fit" in checked.stdout
    ok = msp_sim("validate", SMALL, cwd=workspace)
    assert ok.returncode == 0 and "fits in this machine's memory" in ok.stdout


def test_an_oversized_incentive_grid_is_refused(workspace: Path) -> None:
    args = [
        "--set", "incentives.levers.prevention_hours_per_endpoint_month.points=101",
        "--set", "incentives.levers.thoroughness.points=101",
        "--set", "incentives.levers.technicians.high=50",
    ]  # fmt: skip
    done = msp_sim("incentives", INCENTIVES, *args, cwd=workspace, timeout=60)
    assert done.returncode == 2 and "lever settings" in done.stderr and "Traceback" not in done.stderr
    assert not (workspace / "results" / "incentives-incentives").exists()


# ------------------------------------------------------------------------------ text that must not run


HOSTILE = {
    "name": '<script>alert("name")</script>',
    "segment": "<img src=x onerror=alert(1)>",
    "contract": "=1+1 managed",
    "link": '=HYPERLINK("http://evil.example","x")',
    "comment": "--><script>alert(2)</script><!--",
}


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._in_script = True
        if tag in ("img", "iframe", "object", "embed"):
            self.handlers.append((tag, str(attrs)))
        self.handlers += [(tag, k) for k, _v in attrs if k.startswith("on")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.texts).append(data)


def test_hostile_names_are_only_ever_text(workspace: Path) -> None:
    data = yaml.safe_load(SMALL.read_text())
    data["name"] = HOSTILE["name"]
    data["description"] = HOSTILE["comment"]
    old_segment = data["clients"][0]["name"]
    data["clients"][0]["name"] = HOSTILE["segment"]
    for c in data["contracts"]:
        if c["kind"] == "managed":
            c["name"] = HOSTILE["contract"]
        elif c["kind"] == "fixed_price":
            c["name"] = HOSTILE["link"]
    data["reference_contract"] = data.get("reference_contract") or data["contracts"][0]["name"]
    text = yaml.safe_dump(data, allow_unicode=True).replace(old_segment, HOSTILE["segment"])
    path = workspace / "hostile.yaml"
    path.write_text(text)
    out = workspace / "results" / "hostile"
    done = msp_sim("run", path, *SHORT, "--report", "--out", out, cwd=workspace)
    assert done.returncode == 0, done.stderr

    html = (out / "report.html").read_text(encoding="utf-8")
    page = _Scripts()
    page.feed(html)
    assert page.handlers == []  # no element with an event handler, no injected image
    assert not any(word in s for s in page.scripts for word in ("alert", "evil.example"))
    shown = " ".join(page.texts)
    assert HOSTILE["name"] in shown and HOSTILE["contract"] in shown  # shown to the reader, as text
    assert "<script>alert" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")

    book = openpyxl.load_workbook(out / "results.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    named = [c for c in cells if c.value.startswith("=")]
    assert named, "the contract names are in the workbook"
    assert all(c.data_type == "s" for c in named)  # text, never a formula
    assert {HOSTILE["contract"], HOSTILE["link"]} <= {c.value for c in named}

    for csv in out.glob("*.csv"):
        for line in csv.read_text(encoding="utf-8").splitlines():
            for cell in line.split(","):
                assert not cell.strip('"').startswith(("=", "+", "@")), (csv.name, cell)
    summary = pd.read_csv(out / "summary.csv")
    assert "'" + HOSTILE["contract"] in set(summary["contract"])  # neutralised the usual way
    from simulator.outputs.folders import read_results

    assert HOSTILE["contract"] in read_results(out).contracts  # and read back as it was
    marker = json.loads((out / ".msp-sim.json").read_text())
    assert marker["written_by"] == "msp-sim" and "report.html" in marker["files"]


# ------------------------------------------------------------------------------ every bad input, as a user meets it


def _bad_rows() -> list[tuple[Path, str, str]]:
    from test_validation import BAD_VALUES

    return [(source, override, field) for source, override, field, _needle in BAD_VALUES if field is not None]


@pytest.mark.parametrize(("source", "override", "field"), _bad_rows())
def test_every_bad_input_is_a_clear_error_and_touches_nothing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, source: Path, override: str, field: str
) -> None:
    """Through the command line, in-process: exit code 2, one message naming the file and the field, no
    traceback, and the workspace (an earlier results folder of the tool's included) exactly as it was."""
    from click.testing import CliRunner

    from simulator.base.files import atomic_dir
    from simulator.cli import main

    out = workspace / "results" / "earlier"
    with atomic_dir(out, "run") as tmp:
        (tmp / "summary.csv").write_text("earlier results\n")
    before = tree(workspace)
    monkeypatch.chdir(workspace)
    runner = CliRunner()
    for args in (["run", str(source), "--set", override, "--out", str(out), "-r", "2"],
                 ["run", str(source), "--set", override],
                 ["validate", str(source), "--set", override]):  # fmt: skip
        done = runner.invoke(main, args)
        assert done.exit_code == 2, (args, done.output)
        assert isinstance(done.exception, SystemExit), done.exception
        assert "Traceback" not in done.output
        assert f"{source}: field '{field}'" in done.stderr, done.stderr
        assert tree(workspace) == before
