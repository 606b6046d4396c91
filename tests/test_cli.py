"""The command line end to end: a run writes every output; bad input gets a clear message, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = ["--set", "horizon_months=3", "--set", "warmup_months=0"]


def msp_sim(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "baseline"
    done = msp_sim("run", BASELINE, "-r", "3", *SHORT, "--out", out, "--tickets")
    assert done.returncode == 0, done.stderr
    assert "Client total cost" in done.stdout
    assert "does not keep up" not in done.stdout  # the baseline's queues are stable
    return out


def test_run_writes_every_output(run_dir: Path) -> None:
    names = {p.name for p in run_dir.iterdir()}
    assert names == {
        "replications.csv",
        "summary.csv",
        "differences.csv",
        "monthly.csv",
        "benchmarks.csv",
        "scenario.resolved.yaml",
        "comparison.png",
        "comparison.svg",
        "tickets.parquet",
        "ticket_times.csv",
        "invoices.csv",
        "revenue.png",
        "revenue.svg",
        "service.png",
        "service.svg",
        "verdict.csv",
        "pricing.csv",
        "risk.csv",
        "verdict.png",
        "verdict.svg",
        ".msp-sim.json",
    }
    reps = pd.read_csv(run_dir / "replications.csv")
    assert list(reps.columns[:3]) == ["contract", "replication", "seed"]
    for col in (
        "provider_revenue",
        "provider_cost",
        "provider_net_profit",
        "client_fees",
        "client_downtime_cost",
        "client_total_cost",
        "social_cost",
        "incidents",
        "tickets",
        "downtime_user_hours",
        "mean_response_hours",
        "mean_resolution_hours",
        "sla_breaches",
        "sla_credits",
        "technician_utilization",
        "prevention_hours",
        "revenue_monthly_cv",
    ):
        assert col in reps.columns
    assert len(reps) == 9
    summary = pd.read_csv(run_dir / "summary.csv")
    assert list(summary.columns) == ["contract", "metric", "mean", "std", "ci_low", "ci_high", "n"]
    tickets = pd.read_parquet(run_dir / "tickets.parquet")
    assert set(tickets["contract"]) == set(reps["contract"])
    assert (run_dir / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (run_dir / "comparison.svg").read_text()[:500]


def test_resolved_scenario_reruns_identically(run_dir: Path, tmp_path: Path) -> None:
    # --replications is written into the resolved scenario: rerunning it needs no flags.
    again = msp_sim("run", run_dir / "scenario.resolved.yaml", "--out", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    a = pd.read_csv(run_dir / "replications.csv")
    b = pd.read_csv(tmp_path / "again" / "replications.csv")
    pd.testing.assert_frame_equal(a, b)


def test_validate_and_schema() -> None:
    ok = msp_sim("validate", BASELINE)
    assert ok.returncode == 0 and "valid" in ok.stdout
    schema = msp_sim("schema")
    assert schema.returncode == 0 and "contracts[].policy.thoroughness" in schema.stdout
    js = msp_sim("schema", "--json")
    assert js.returncode == 0 and js.stdout.lstrip().startswith("{")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        # A value out of range, named by field path with the list item's name.
        (
            ["--set", "clients.small-office.break_fix.call_in_share=2"],
            ["clients[small-office].break_fix.call_in_share", "less than or equal to 1"],
        ),
        # An unknown key, with the closest valid one suggested.
        (["--set", "provider.cost_per_tech_hour=40"], ["provider.cost_per_tech_hour", "unknown key"]),
        # An override path that does not exist.
        (["--set", "contracts.msp.fee_per_user_month=99"], ["no list item named 'msp'"]),
    ],
)
def test_bad_input_exit_2_no_traceback_nothing_written(
    args: list[str], needles: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "never"
    done = msp_sim("run", BASELINE, *args, "--out", out)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr
    assert str(BASELINE) in done.stderr or "override" in done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nclients: [\n")
    done = msp_sim("validate", broken)
    assert done.returncode == 2 and "not valid YAML at line" in done.stderr and "Traceback" not in done.stderr
    missing = msp_sim("validate", tmp_path / "missing.yaml")
    assert missing.returncode == 2 and "file not found" in missing.stderr
    bad_option = msp_sim("run", BASELINE, "--replications", "1")
    assert bad_option.returncode == 2 and "Traceback" not in bad_option.stderr


def test_failed_write_leaves_previous_results_intact(run_dir: Path, tmp_path: Path) -> None:
    """The results folder is replaced atomically: a run that cannot finish leaves the old folder as it was."""
    from simulator import load_scenario, simulate
    from simulator.outputs.folders import write_results

    results = simulate(load_scenario(BASELINE, {"horizon_months": 2, "warmup_months": 0}), replications=2)
    target = tmp_path / "res"
    write_results(results, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def explode(_tmp: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_results(results, target, extra=explode)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


def _short_incentives(
    out: Path, replications: int, levers: str, *more: str, flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``msp-sim incentives`` on the shipped scenario cut to two months, one process, no refinement; ``more``
    settings (``--set``) and ``flags``."""
    settings = ("horizon_months=2", "warmup_months=0", "incentives.refine=false", *more)
    return msp_sim(
        "incentives",
        ROOT / "scenarios" / "incentives.yaml",
        "-r",
        str(replications),
        "-w",
        "1",
        "--levers",
        levers,
        *(arg for setting in settings for arg in ("--set", setting)),
        *flags,
        "--out",
        out,
    )


def test_incentives_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "inc"
    done = _short_incentives(out, 2, "prevention_hours_per_endpoint_month,technicians")
    assert done.returncode == 0, done.stderr
    assert "welfare loss" in done.stdout
    names = {p.name for p in out.iterdir()}
    assert {
        "best_response.csv",
        "misalignment.csv",
        "curves.csv",
        "design.csv",
        "evaluations.parquet",
        "incentives.png",
        "incentives.svg",
        "scenario.resolved.yaml",
    } <= names
    best = pd.read_csv(out / "best_response.csv")
    assert set(best["role"]) == {"provider", "client", "social"}
    assert len(best) == 9
    search = pd.read_csv(out / "search.csv")
    assert len(search) == len(
        pd.read_parquet(out / "evaluations.parquet")[["contract", "point"]].drop_duplicates()
    )
    assert "ranked on common random numbers" in done.stdout


def test_incentives_exhaustive_simulates_every_setting_on_every_replication(tmp_path: Path) -> None:
    out = tmp_path / "inc"
    done = _short_incentives(out, 3, "technicians", "incentives.relationship=null", flags=("--exhaustive",))
    assert done.returncode == 0, done.stderr
    assert "every one simulated (exhaustive)" in done.stdout
    search = pd.read_csv(out / "search.csv")
    assert (search["replications"] == 3).all()


def test_incentives_bad_lever(tmp_path: Path) -> None:
    done = msp_sim(
        "incentives",
        ROOT / "scenarios" / "incentives.yaml",
        "--levers",
        "prevention,staff",
        "--out",
        tmp_path / "x",
    )
    assert done.returncode == 2 and "unknown lever(s) prevention, staff" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


def test_transition_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "tr"
    done = msp_sim(
        "transition",
        ROOT / "scenarios" / "transition.yaml",
        "-r",
        "2",
        "-w",
        "1",
        "--strategies",
        "stay,gradual",
        "--set",
        "horizon_months=6",
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    assert "Lowest cash balance" in done.stdout
    assert {p.name for p in out.iterdir()} == {
        "transition_monthly.csv",
        "transition_summary.csv",
        "transition.png",
        "transition.svg",
        "scenario.resolved.yaml",
        ".msp-sim.json",
    }
    monthly = pd.read_csv(out / "transition_monthly.csv")
    assert set(monthly["strategy"]) == {"stay", "gradual"} and len(monthly) == 2 * 2 * 6


def test_transition_bad_input(tmp_path: Path) -> None:
    done = msp_sim(
        "transition",
        ROOT / "scenarios" / "transition.yaml",
        "--strategies",
        "stay,big-bang",
        "--out",
        tmp_path / "x",
    )
    assert (
        done.returncode == 2 and "unknown strategy big-bang" in done.stderr and "Traceback" not in done.stderr
    )
    no_portfolio = msp_sim("transition", BASELINE, "--out", tmp_path / "y")
    assert no_portfolio.returncode == 2 and "no `portfolio:` section" in no_portfolio.stderr
    bad = msp_sim(
        "transition",
        ROOT / "scenarios" / "transition.yaml",
        "--set",
        "portfolio.strategies.gradual.to=nowhere",
        "--out",
        tmp_path / "z",
    )
    assert (
        bad.returncode == 2 and "portfolio.strategies[gradual].to" in bad.stderr and "nowhere" in bad.stderr
    )
    assert not any(tmp_path.iterdir())
