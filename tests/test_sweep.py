"""Sweeps: design expansion, stable point ids, validation messages, the results folder, resume after kill -9,
the same numbers on 1 or 2 processes or a Dask cluster, and failures that keep every finished point."""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import client, managed_contract, msp_sim, scenario, tm_contract

from simulator.metrics import METRICS
from simulator.studies.sweep import (
    SweepError,
    SweepPlan,
    SweepRunError,
    load_results,
    load_sweep,
    run_point,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
USERS = "clients.client.users"
DOWNTIME = "clients.client.downtime_cost_per_user_hour"
FEE = "contracts.managed.fee_per_user_month"
TECH_COST = "provider.cost_per_technician_hour"


def base_dict(horizon_months: int = 2) -> dict[str, Any]:
    """One 5-user client who calls in half its incidents under break/fix; T&M against a flat fee."""
    return scenario(
        clients=[client(users=5, endpoints=5, call_in_share=0.5)],
        contracts=[tm_contract("tm"), managed_contract("managed")],
        provider_fields={"labour_cost_basis": "worked"},
        horizon_months=horizon_months,
    )


def write_sweep(folder: Path, design: dict[str, Any], name: str = "sweep", **fields: Any) -> Path:
    """A base scenario and a sweep file beside it; ``fields`` override the sweep's top-level fields."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / "base.yaml"
    if not base.exists():
        base.write_text(yaml.safe_dump(base_dict()))
    sweep: dict[str, Any] = {"base": "base.yaml", "replications": 2, "seed": 5, "design": design, **fields}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False))
    return path


GRID = {"kind": "grid", "parameters": {FEE: [50, 100, 150], DOWNTIME: [20, 80]}}


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepPlan, Path]:
    folder = tmp_path_factory.mktemp("grid")
    plan = load_sweep(write_sweep(folder, GRID))
    out = folder / "out"
    run = run_sweep(plan, out, workers=1)
    assert run.computed == 6 and run.skipped == 0
    return plan, out


# ------------------------------------------------------------------------------- expansion


def test_grid_expansion(tmp_path: Path) -> None:
    plan = load_sweep(write_sweep(tmp_path, GRID))
    assert len(plan.design) == 6 and len(plan.point_ids) == 6
    assert list(plan.design.columns) == ["sample", "point_id", FEE, DOWNTIME, "measured_months"]
    combos = set(zip(plan.design[FEE], plan.design[DOWNTIME], strict=True))
    assert combos == {(f, d) for f in (50, 100, 150) for d in (20, 80)}
    assert plan.replications == 2 and plan.seed == 5
    assert plan.spec.reference_contract == "tm" and plan.spec.contract == "managed"


def test_linked_paths_relative_values_and_integer_rounding(tmp_path: Path) -> None:
    design = {
        "kind": "grid",
        "parameters": {
            "size": {"values": [1.5, 3.0], "paths": [USERS, "clients.client.endpoints"], "relative": True},
            "rate": {
                "values": [2.0],
                "paths": ["incidents.categories.*.rate_per_user_month"],
                "relative": True,
            },
        },
    }
    plan = load_sweep(write_sweep(tmp_path, design))
    first = plan.overrides[plan.point_ids[0]]
    # 5 users × 1.5 = 7.5 users, an integer field: rounded; the float rate is multiplied as is.
    assert first[USERS] == 8 and first["clients.client.endpoints"] == 8
    assert first["incidents.categories.cat.rate_per_user_month"] == 2.0
    assert plan.overrides[plan.point_ids[1]][USERS] == 15


def test_sampled_designs_counts_ranges_and_rounding(tmp_path: Path) -> None:
    params = {
        USERS: {"low": 2, "high": 40},
        DOWNTIME: {"low": 10.0, "high": 90.0},
        TECH_COST: {"low": 20.0, "high": 60.0},
    }
    counts = {
        ("random", 17, False): 17,
        ("latin_hypercube", 20, False): 20,
        ("sobol", 8, False): 8 * (3 + 2),
        ("sobol", 8, True): 8 * (2 * 3 + 2),
    }
    for (kind, points, second), expected in counts.items():
        design: dict[str, Any] = {"kind": kind, "points": points, "parameters": params}
        if second:
            design["second_order"] = True
        plan = load_sweep(write_sweep(tmp_path, design, name=f"{kind}-{second}"))
        d = plan.design
        assert len(d) == expected, kind
        assert d["sample"].tolist() == list(range(expected))
        for name, r in params.items():
            assert d[name].between(r["low"], r["high"]).all(), (kind, name)
        # An integer field is rounded for continuous designs; the column and the override are integers.
        assert pd.api.types.is_integer_dtype(d[USERS])
        assert all(isinstance(o[USERS], int) for o in plan.overrides.values())
    # A Latin hypercube uses each of the `points` strata of a continuous parameter exactly once.
    plan = load_sweep(
        write_sweep(tmp_path, {"kind": "latin_hypercube", "points": 20, "parameters": params}, "lhs")
    )
    strata = np.floor((plan.design[DOWNTIME] - 10.0) / 80.0 * 20).astype(int)
    assert sorted(strata) == list(range(20))


def test_point_ids_are_stable_short_and_specific(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, GRID)
    a, b = load_sweep(path), load_sweep(path)
    assert a.point_ids == b.point_ids
    assert all(len(p) == 16 and int(p, 16) >= 0 for p in a.point_ids)
    assert len(set(a.point_ids)) == 6
    # The id depends on the resolved values, not on the design's order: a reordered grid has the same ids.
    reordered = {"kind": "grid", "parameters": {DOWNTIME: [80, 20], FEE: [150, 100, 50]}}
    assert set(load_sweep(write_sweep(tmp_path, reordered, name="reordered")).point_ids) == set(a.point_ids)
    # ... and on the seed and the replications.
    assert not set(load_sweep(write_sweep(tmp_path, GRID, name="s", seed=6)).point_ids) & set(a.point_ids)
    assert not set(load_sweep(write_sweep(tmp_path, GRID, name="r", replications=3)).point_ids) & set(
        a.point_ids
    )


def test_duplicate_points_are_simulated_once(tmp_path: Path) -> None:
    plan = load_sweep(write_sweep(tmp_path, {"kind": "grid", "parameters": {FEE: [50, 50, 100]}}))
    assert len(plan.design) == 3 and len(plan.point_ids) == 2
    run = run_sweep(plan, tmp_path / "out", workers=1)
    assert run.computed == 2
    assert run.results is not None and run.results.rows["point_id"].nunique() == 2


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("fields", "design", "needles"),
    [
        ({"replicatons": 3}, GRID, ["field 'replicatons'", "did you mean 'replications'"]),
        ({}, {"kind": "latin", "points": 4, "parameters": {}}, ["field 'design'", "grid, random"]),
        (
            {},
            {"kind": "grid", "parameters": {"clients.client.user": [1]}},
            ["design.parameters.clients.client.user", "did you mean 'users'"],
        ),
        (
            {},
            {"kind": "grid", "parameters": {"clients.clinet.users": [1]}},
            ["no list item 'clinet'", "did you mean 'client'"],
        ),
        (
            {},
            {"kind": "random", "points": 8, "parameters": {USERS: {"low": 0, "high": 3}}},
            ["is not a valid scenario", "clients[client].users", "narrow the ranges"],
        ),
        (
            {},
            {"kind": "sobol", "points": 10, "parameters": {USERS: {"low": 1, "high": 3}}},
            ["power of 2", "use 8 or 16"],
        ),
        (
            {},
            {"kind": "random", "points": 4, "parameters": {USERS: {"low": 3, "high": 3}}},
            ["must be greater than low"],
        ),
        (
            {},
            {
                "kind": "random",
                "points": 4,
                "parameters": {"provider.labour_cost_basis": {"low": 0, "high": 1}},
            },
            ["needs numbers", "provider.labour_cost_basis"],
        ),
        (
            {},
            {"kind": "grid", "parameters": {"contract": {"values": [1], "paths": [USERS]}}},
            ["'contract' is a column of the results"],
        ),
        ({"reference_contract": "t-m"}, GRID, ["field 'reference_contract'", "did you mean 'tm'"]),
        ({"base": "missing.yaml"}, GRID, ["field 'base'", "missing.yaml", "file not found"]),
        ({"replications": 1}, GRID, ["field 'replications'", "greater than or equal to 2"]),
    ],
)
def test_bad_sweep_files_name_the_file_field_and_fix(
    tmp_path: Path, fields: dict[str, Any], design: dict[str, Any], needles: list[str]
) -> None:
    path = write_sweep(tmp_path, design, **fields)
    with pytest.raises(SweepError) as info:
        load_sweep(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message


def test_missing_sweep_file(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match="file not found"):
        load_sweep(tmp_path / "nope.yaml")


# ------------------------------------------------------------------------------- results folder


def test_results_folder_and_tidy_tables(grid_run: tuple[SweepPlan, Path]) -> None:
    plan, out = grid_run
    names = {p.name for p in out.iterdir()}
    assert {
        "points.parquet",
        "summary.csv",
        "differences.csv",
        "design.csv",
        "manifest.json",
        "sweep.resolved.yaml",
        "base.resolved.yaml",
        "parts",
    } <= names
    rows = pd.read_parquet(out / "points.parquet")
    assert list(rows.columns[:6]) == ["point_id", "replication", "seed", FEE, DOWNTIME, "contract"]
    assert list(rows.columns[6:]) == list(METRICS)
    assert len(rows) == 6 * 2 * 2
    assert not rows.duplicated(["point_id", "replication", "contract"]).any()
    assert (rows["seed"] == 5).all()
    # Design order, then replication, then contract.
    assert rows["point_id"].drop_duplicates().tolist() == plan.point_ids
    summary = pd.read_csv(out / "summary.csv", dtype={"point_id": str})
    assert list(summary.columns) == [
        "point_id",
        FEE,
        DOWNTIME,
        "contract",
        "metric",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "n",
    ]
    assert len(summary) == 6 * 2 * len(METRICS)
    pid = plan.point_ids[3]
    mine = rows[(rows["point_id"] == pid) & (rows["contract"] == "managed")]["client_total_cost"]
    row = summary[
        (summary["point_id"] == pid)
        & (summary["contract"] == "managed")
        & (summary["metric"] == "client_total_cost")
    ].iloc[0]
    assert row["mean"] == pytest.approx(mine.mean()) and row["n"] == 2
    assert row["ci_low"] < row["mean"] < row["ci_high"] or row["std"] == 0
    diff = pd.read_csv(out / "differences.csv", dtype={"point_id": str})
    assert set(diff["contract"]) == {"managed"} and set(diff["reference"]) == {"tm"}
    tm = rows[(rows["point_id"] == pid) & (rows["contract"] == "tm")]["client_total_cost"].to_numpy()
    d = diff[(diff["point_id"] == pid) & (diff["metric"] == "client_total_cost")].iloc[0]
    assert d["mean"] == pytest.approx(float(np.mean(mine.to_numpy() - tm)))
    loaded = load_results(out)
    pd.testing.assert_frame_equal(loaded.rows, rows)
    assert loaded.kind == "grid" and loaded.parameters == [FEE, DOWNTIME]


def test_rerun_skips_every_finished_point(grid_run: tuple[SweepPlan, Path]) -> None:
    plan, out = grid_run
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "parts").iterdir()}
    points = pd.read_parquet(out / "points.parquet")
    again = run_sweep(plan, out, workers=1, resume=True)
    assert (again.skipped, again.computed, again.parts_written) == (6, 0, 0)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "parts").iterdir()} == before
    pd.testing.assert_frame_equal(pd.read_parquet(out / "points.parquet"), points)
    # The resolved sweep file beside the results reruns the very same points.
    resolved = load_sweep(out / "sweep.resolved.yaml")
    assert resolved.point_ids == plan.point_ids and resolved.fingerprint == plan.fingerprint
    assert run_sweep(resolved, out, workers=1).computed == 0


def test_folder_of_another_sweep_is_refused(grid_run: tuple[SweepPlan, Path], tmp_path: Path) -> None:
    _, out = grid_run
    other = load_sweep(write_sweep(tmp_path, GRID, seed=99))
    with pytest.raises(SweepError, match="holds the results of another sweep"):
        run_sweep(other, out, workers=1)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match="not empty"):
        run_sweep(other, tmp_path / "busy", workers=1)
    with pytest.raises(SweepError, match="nothing to resume"):
        run_sweep(other, tmp_path / "fresh", workers=1, resume=True)


def test_one_writer_per_folder(grid_run: tuple[SweepPlan, Path]) -> None:
    plan, out = grid_run
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
         "fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
         str(out.parent / f".{out.name}.lock")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(SweepRunError, match="another msp-sim command is writing"):
            run_sweep(plan, out, workers=1)
    finally:
        holder.kill()
        holder.wait()
    assert run_sweep(plan, out, workers=1).computed == 0  # the lock goes with the process that held it


def test_extended_grid_reuses_the_points_it_has(grid_run: tuple[SweepPlan, Path], tmp_path: Path) -> None:
    plan, out = grid_run
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    wider = {"kind": "grid", "parameters": {FEE: [50, 100, 150, 200], DOWNTIME: [20, 80]}}
    bigger = load_sweep(write_sweep(plan.path.parent, wider, name="wider"))
    run = run_sweep(bigger, copy, workers=1)
    assert (run.skipped, run.computed) == (6, 2)
    assert run.results is not None and run.results.rows["point_id"].nunique() == 8


# ------------------------------------------------------------------------------- parallel runs


@pytest.mark.slow
def test_one_two_workers_and_dask_give_identical_results(tmp_path: Path) -> None:
    design = {
        "kind": "latin_hypercube",
        "points": 12,
        "parameters": {USERS: {"low": 2, "high": 12}, DOWNTIME: {"low": 10, "high": 90}},
    }
    plan = load_sweep(write_sweep(tmp_path, design))
    one = run_sweep(plan, tmp_path / "one", workers=1, chunk_points=5)
    two = run_sweep(plan, tmp_path / "two", workers=2, chunk_points=5)
    dask = run_sweep(plan, tmp_path / "dask", workers=2, scheduler="local", chunk_points=5)
    assert one.results is not None and two.results is not None and dask.results is not None
    assert len(one.results.rows) == 12 * 2 * 2
    for other in (two.results, dask.results):
        pd.testing.assert_frame_equal(one.results.rows, other.rows)
        pd.testing.assert_frame_equal(one.results.summary, other.summary)
        pd.testing.assert_frame_equal(one.results.differences, other.differences)
    for name in ("points.parquet", "summary.csv", "differences.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name


def reported(stdout: str, label: str) -> int:
    """A number from the summary table the sweep command prints."""
    found = re.search(rf"{re.escape(label)}\s*│\s*([\d,]+)", stdout)
    assert found, stdout
    return int(found.group(1).replace(",", ""))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_kill_9_in_the_middle_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    design = {
        "kind": "random",
        "points": 48,
        "parameters": {USERS: {"low": 5, "high": 30}, DOWNTIME: {"low": 10, "high": 90}},
    }
    path = write_sweep(tmp_path, design, replications=4)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base_dict(horizon_months=6)))
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "simulator",
        "sweep",
        str(path),
        "--out",
        str(out),
        "-w",
        "1",
        "--chunk",
        "3",
    ]
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    parts = out / "parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 2:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    survived = {p.name: (p.stat().st_mtime_ns, _digest(p)) for p in parts.glob("part-*.parquet")}
    done_before = pd.concat([pd.read_parquet(parts / n) for n in survived])["point_id"].nunique()
    assert 0 < done_before < 48, "the kill must land in the middle of the sweep"
    assert not (out / "points.parquet").exists()

    resumed = subprocess.run(
        [*cmd, "--resume"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert reported(resumed.stdout, "already done (skipped)") == done_before
    assert reported(resumed.stdout, "computed now") == 48 - done_before
    # The parts written before the kill were neither rewritten nor recomputed.
    for name, (mtime, digest) in survived.items():
        assert ((parts / name).stat().st_mtime_ns, _digest(parts / name)) == (mtime, digest)
    assert not list(out.rglob(".*.tmp-*"))

    clean = run_sweep(load_sweep(path), tmp_path / "clean", workers=1)
    assert clean.results is not None
    final = pd.read_parquet(out / "points.parquet")
    pd.testing.assert_frame_equal(final, clean.results.rows)
    every_part = pd.concat([pd.read_parquet(p) for p in sorted(parts.glob("part-*.parquet"))])
    assert len(every_part) == len(final) == 48 * 4 * 2
    assert not every_part.duplicated(["point_id", "replication", "contract"]).any()


# ------------------------------------------------------------------------------- failures


def test_full_disk_keeps_the_finished_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simulator.studies.sweep.storage as sweep_module

    plan = load_sweep(write_sweep(tmp_path, GRID))
    real = sweep_module.atomic_file
    parts_seen = []

    def full_after_first_part(target: Path, write: Any) -> None:
        if target.name.startswith("part-"):
            parts_seen.append(target.name)
            if len(parts_seen) > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(target, write)

    monkeypatch.setattr(sweep_module, "atomic_file", full_after_first_part)
    out = tmp_path / "out"
    with pytest.raises(SweepRunError, match="No space left on device") as info:
        run_sweep(plan, out, workers=1, chunk_points=2)
    assert "--resume" in str(info.value)
    assert [p.name for p in (out / "parts").iterdir()] == ["part-000000.parquet"]
    monkeypatch.undo()
    resumed = run_sweep(plan, out, workers=1, resume=True)
    assert (resumed.skipped, resumed.computed) == (2, 4)
    clean = run_sweep(plan, tmp_path / "clean", workers=1)
    assert resumed.results is not None and clean.results is not None
    pd.testing.assert_frame_equal(resumed.results.rows, clean.results.rows)


def _dies_on_third_point(task: Any) -> Any:
    if task.values[FEE] == 150 and task.values[DOWNTIME] == 20:
        os._exit(3)
    return run_point(task)


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="the patched worker needs fork")
def test_a_dying_worker_is_reported_and_finished_points_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simulator.studies.sweep.execution as sweep_module

    plan = load_sweep(write_sweep(tmp_path, GRID))
    monkeypatch.setattr(sweep_module, "run_point", _dies_on_third_point)
    out = tmp_path / "out"
    with pytest.raises(SweepRunError, match="worker process died") as info:
        run_sweep(plan, out, workers=2, chunk_points=1)
    assert "--resume" in str(info.value)
    monkeypatch.undo()
    parts = sorted((out / "parts").glob("part-*.parquet"))
    kept = {p.name: p.read_bytes() for p in parts}
    saved = pd.concat([pd.read_parquet(p) for p in parts])["point_id"].nunique() if parts else 0
    resumed = run_sweep(plan, out, workers=1, resume=True)
    assert resumed.skipped == saved and resumed.skipped + resumed.computed == 6
    assert {n: (out / "parts" / n).read_bytes() for n in kept} == kept
    clean = run_sweep(plan, tmp_path / "clean", workers=1)
    assert resumed.results is not None and clean.results is not None
    pd.testing.assert_frame_equal(resumed.results.rows, clean.results.rows)


# ------------------------------------------------------------------------------- shipped sweeps


def test_there_are_shipped_sweeps() -> None:
    kinds = {yaml.safe_load(p.read_text())["design"]["kind"] for p in SHIPPED}
    assert {"grid", "latin_hypercube", "sobol"} <= kinds


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_sweep_expands_and_its_first_point_runs(path: Path) -> None:
    assert path.read_text().splitlines()[0].startswith("# ")
    plan = load_sweep(path)
    assert len(plan.design) == {
        "size-rate-downtime-lhs": 200,
        "fee-downtime-grid": 25,
        "drivers-sobol": 448,
    }.get(plan.name, len(plan.design))
    task = next(plan.tasks())
    short = type(task)(
        point_id=task.point_id,
        values=task.values,
        overrides={**task.overrides, "horizon_months": 2, "warmup_months": 0},
        base=task.base,
        replications=2,
        seed=task.seed,
    )
    rows, seconds = run_point(short)
    assert seconds > 0
    assert list(rows.columns[: 3 + len(plan.parameters) + 1]) == [
        "point_id",
        "replication",
        "seed",
        *plan.parameters,
        "contract",
    ]
    assert len(rows) == 2 * len(plan.base.contracts)


# ------------------------------------------------------------------------------- command line


def test_cli_sweep_then_analyze(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, GRID)
    out = tmp_path / "out"
    done = msp_sim("sweep", path, "--out", out, "-w", "2")
    assert done.returncode == 0, done.stderr
    assert "Sweep finished" in done.stdout and reported(done.stdout, "computed now") == 6
    assert "cheaper for the client than tm at" in done.stdout
    again = msp_sim("sweep", path, "--out", out, "--resume")
    assert again.returncode == 0 and reported(again.stdout, "computed now") == 0
    analysis = msp_sim("analyze", out)
    assert analysis.returncode == 0, analysis.stderr
    assert "What drives the client's saving" in analysis.stdout
    names = {p.name for p in (out / "analysis").iterdir()}
    assert {
        "sensitivity.csv",
        "tornado.csv",
        "tornado.png",
        "break_even.csv",
        "break_even.png",
        "outcomes.csv",
    } <= names
    assert (out / "analysis" / "break_even.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_bad_input_exit_2_no_traceback_nothing_written(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, {"kind": "grid", "parameters": {"clients.client.user": [1]}})
    out = tmp_path / "never"
    done = msp_sim("sweep", path, "--out", out)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "did you mean 'users'" in done.stderr and not out.exists()


def invoke(*args: str | Path) -> Any:
    """The command line in this process (quick checks of messages and exit codes)."""
    from click.testing import CliRunner

    from simulator.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_option_errors(tmp_path: Path) -> None:
    good = write_sweep(tmp_path, GRID)
    out = tmp_path / "never"
    remote = invoke("sweep", good, "--scheduler", "tcp://127.0.0.1:8786", "-w", "2", "--out", out)
    assert remote.exit_code == 2 and "--workers applies to local processes" in remote.stderr
    bad_address = invoke("sweep", good, "--scheduler", "nowhere", "--out", out)
    assert bad_address.exit_code == 2 and "expected the address of a Dask scheduler" in bad_address.stderr
    not_a_sweep = invoke("analyze", tmp_path)
    assert not_a_sweep.exit_code == 2 and "not a sweep results folder" in not_a_sweep.stderr
    nothing = invoke("sweep", good, "--out", out, "--resume")
    assert nothing.exit_code == 2 and "nothing to resume" in nothing.stderr
    assert not out.exists()


def test_cli_unreachable_scheduler_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simulator.studies.sweep.execution as sweep_module

    monkeypatch.setattr(sweep_module, "CONNECT_TIMEOUT_SECONDS", 1.0)
    path = write_sweep(tmp_path, GRID)
    done = invoke("sweep", path, "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "out")
    assert done.exit_code == 1, done.output
    assert "could not reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "dask scheduler" in done.stderr and isinstance(done.exception, SystemExit)
