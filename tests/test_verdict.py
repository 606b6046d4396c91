"""How far a run's verdict holds: switching values against closed forms, re-pricing against re-simulation, the
money-only inputs leave what happens alone, the fee window, and the command line's files, sentences and errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import category, client, managed_contract, msp_sim, scenario, tm_contract
from scipy import optimize, stats

from simulator.config import Scenario, apply_overrides, load_scenario
from simulator.engine.incidents import client_table, generate_incidents
from simulator.engine.replication import simulate_contract
from simulator.studies.run import simulate
from simulator.studies.verdict import analyze_verdict, default_inputs, money_only, resolve_inputs

USERS = 20


def _two_contracts(inputs: list[dict[str, Any]], **robustness: Any) -> dict[str, Any]:
    """T&M against a flat fee per user (no credits, nothing out of scope), break/fix clients calling in half of
    their incidents; labour costed on hours worked, so the two contracts' delivery costs differ."""
    data = scenario(
        clients=[client(users=USERS, endpoints=USERS, call_in_share=0.5)],
        categories=[category(rate_per_user_month=0.5)],
        contracts=[tm_contract(), managed_contract()],
        horizon_months=4,
        replications=6,
        provider_fields={"labour_cost_basis": "worked"},
    )
    data["warmup_months"] = 1
    data["robustness"] = {"inputs": inputs, **robustness}
    return data


DOWNTIME = {
    "label": "the cost of downtime",
    "paths": ["clients.*.downtime_cost_per_user_hour"],
    "low": 0.0,
    "high": 10000.0,
    "unit": "per user-hour",
}
FEE = {
    "label": "the fee",
    "paths": ["contracts.managed.fee_per_user_month"],
    "low": 0.0,
    "high": 400.0,
    "unit": "per user-month",
}


@pytest.fixture(scope="module")
def two() -> tuple[Any, Any]:
    sc = load_scenario(_two_contracts([DOWNTIME, FEE]))
    results = simulate(sc)
    return results, analyze_verdict(results)


def _found(row: pd.Series) -> float:
    """The one switching value of a row whose costs are straight lines in the input (they cross once)."""
    values = [
        float(row[f"switch_{side}"]) for side in ("below", "above") if np.isfinite(row[f"switch_{side}"])
    ]
    assert len(values) == 1, f"expected one switching value, got {values}"
    return values[0]


def _row(verdict: Any, label: str, question: str) -> pd.Series:
    t = verdict.table
    return t[(t["input"] == label) & (t["question"] == question)].iloc[0]


def test_downtime_switching_values_equal_their_closed_forms(two: tuple[Any, Any]) -> None:
    """Client cost F + x·U and social cost P + x·U are straight lines in the value x of a downtime hour, so the
    two contracts swap where F_m + x·U_m = F_t + x·U_t, and P_m + x·U_m = P_t + x·U_t (means over replications)."""
    results, verdict = two
    m = results.replications.groupby("contract")[
        ["client_fees", "downtime_user_hours", "provider_cost"]
    ].mean()
    fees, hours, cost = m["client_fees"], m["downtime_user_hours"], m["provider_cost"]
    assert hours["tm"] > hours["managed"]  # break/fix clients work around half their incidents
    client_x = (fees["managed"] - fees["tm"]) / (hours["tm"] - hours["managed"])
    social_x = (cost["managed"] - cost["tm"]) / (hours["tm"] - hours["managed"])
    assert 0 < client_x < 10000 and 0 < social_x < 10000, (
        "the scenario must put both break-evens inside the range"
    )
    assert _found(_row(verdict, "the cost of downtime", "client")) == pytest.approx(client_x, rel=1e-9)
    assert _found(_row(verdict, "the cost of downtime", "social")) == pytest.approx(social_x, rel=1e-9)


def test_fee_switching_value_and_fee_window_equal_their_closed_forms(two: tuple[Any, Any]) -> None:
    """Without credits the managed client pays fee × users × measured months: it costs the client as much as T&M
    at f* = (C_t − D_m) / (users × months); the provider's gross margin reaches the target t where revenue equals
    cost / (1 − t); the fee changes who pays, never the social cost."""
    results, verdict = two
    sc = results.scenario
    months = sc.measured_months
    m = results.replications.groupby("contract")[
        ["client_total_cost", "client_downtime_cost", "provider_cost"]
    ].mean()
    break_even = (m.loc["tm", "client_total_cost"] - m.loc["managed", "client_downtime_cost"]) / (
        USERS * months
    )
    assert 0 < break_even < 400
    assert _found(_row(verdict, "the fee", "client")) == pytest.approx(break_even, rel=1e-9)
    social = _row(verdict, "the fee", "social")
    assert (
        not social["affects"]
        and not np.isfinite(social["switch_below"])
        and not np.isfinite(social["switch_above"])
    )

    window = verdict.pricing.set_index("contract").loc["managed"]
    assert window["client_break_even_fee"] == pytest.approx(break_even, rel=1e-9)
    target = sc.provider.target_gross_margin
    needed = m.loc["managed", "provider_cost"] / (1 - target)
    assert window["target_margin_fee"] == pytest.approx(needed / (USERS * months), rel=1e-9)
    assert window["provider_break_even_fee"] == pytest.approx(
        m.loc["managed", "provider_cost"] / (USERS * months), rel=1e-9
    )
    assert window["alternative"] == "tm"
    saving = (m.loc["tm", "client_total_cost"] - m.loc["managed", "client_total_cost"]) / months
    assert window["client_saving_per_month_at_quoted"] == pytest.approx(saving, rel=1e-9)


def test_the_tornado_ends_are_the_costs_at_the_ends_of_the_range(two: tuple[Any, Any]) -> None:
    """The saving at the scenario's values is the run's own difference; at the ends, the straight lines'."""
    results, verdict = two
    months = results.scenario.measured_months
    m = results.replications.groupby("contract")[
        ["client_fees", "downtime_user_hours", "client_total_cost"]
    ].mean()
    row = _row(verdict, "the cost of downtime", "client")
    best = row["lowest_at_base"]
    other = "tm" if best == "managed" else "managed"
    assert row["saving_per_month_at_base"] == pytest.approx(
        (m.loc[other, "client_total_cost"] - m.loc[best, "client_total_cost"]) / months, rel=1e-9
    )
    for end in ("low", "high"):
        x = float(row[end])

        def cost(c: str, x: float = x) -> float:
            return float(m.loc[c, "client_fees"] + x * m.loc[c, "downtime_user_hours"])

        assert row[f"saving_per_month_at_{end}"] == pytest.approx(
            (cost(other) - cost(best)) / months, rel=1e-9
        )


def test_re_simulation_finds_the_re_priced_switching_value_within_its_bracket() -> None:
    """The same money input searched by re-simulation on the same replications (common random numbers) brackets
    the exact re-priced value."""
    resim = dict(DOWNTIME, label="re-simulated", method="resimulate")
    sc = load_scenario(_two_contracts([DOWNTIME, resim], replications=6, steps=6))
    verdict = analyze_verdict(simulate(sc))
    for question in ("client", "social"):
        exact = _found(_row(verdict, "the cost of downtime", question))
        row = _row(verdict, "re-simulated", question)
        side = "below" if np.isfinite(row["switch_below"]) else "above"
        assert row["method"] == "resimulate" and row["replications"] == 6
        assert abs(float(row[f"switch_{side}"]) - exact) <= float(row[f"precision_{side}"]) + 1e-6
        assert float(row[f"precision_{side}"]) <= 10000 / 2**6


def test_integer_inputs_switch_at_a_whole_number() -> None:
    """Technicians are searched over whole numbers: the switching value is the first count at which another
    contract is lowest."""
    techs = {"label": "tm's technicians", "paths": ["contracts.tm.policy.technicians"], "low": 1, "high": 3}
    sc = load_scenario(_two_contracts([techs]))
    verdict = analyze_verdict(simulate(sc))
    for _, row in verdict.table.iterrows():
        assert row["integer"] and row["method"] == "resimulate"
        for side in ("below", "above"):
            value = float(row[f"switch_{side}"])
            assert not np.isfinite(value) or value.is_integer()


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario("scenarios/baseline.yaml", {"horizon_months": 3, "warmup_months": 1})


def test_default_inputs_cover_the_decisive_inputs(baseline: Scenario) -> None:
    inputs = resolve_inputs(baseline, default_inputs(baseline), "robustness.inputs")
    methods = {i.label: i.method for i in inputs}
    assert methods["the cost of downtime"] == "reprice"
    assert methods["managed-services's fee"] == "reprice"
    assert methods["break-fix-tm's remote rate"] == "reprice"
    assert methods["the break/fix call-in share"] == "resimulate"
    assert methods["the incident rates"] == "resimulate"
    assert methods["managed-services's technicians"] == "resimulate"
    fee = next(i for i in inputs if i.label == "managed-services's fee")
    assert fee.fields[0][0].endswith(
        "fee_per_user_month"
    )  # the fee that brings the most, not the largest number
    assert (fee.low, fee.high) == (0.0, 3 * baseline.contracts[2].fee_per_user_month)


def test_money_only_inputs_leave_what_happens_alone(baseline: Scenario) -> None:
    """Every default input re-priced instead of re-simulated changes nothing in the ticket log but the value of
    downtime: simulated at the far end of its range, every contract's log is the same, column for column."""
    inputs = [i for i in resolve_inputs(baseline, default_inputs(baseline), "x") if i.method == "reprice"]
    assert all(money_only(path) for i in inputs for path, _ in i.fields)
    data = baseline.model_dump(mode="json", by_alias=True)
    clients = client_table(baseline)
    incidents = generate_incidents(baseline, clients, 0, baseline.seed)
    base = [
        simulate_contract(baseline, c, incidents, clients, baseline.seed, 0).tickets.to_frame()
        for c in baseline.contracts
    ]
    for item in inputs:
        variant = Scenario.model_validate(apply_overrides(data, item.overrides(item.high)))
        vc = client_table(variant)
        vi = generate_incidents(variant, vc, 0, variant.seed)
        for c, frame in zip(variant.contracts, base, strict=True):
            log = simulate_contract(variant, c, vi, vc, variant.seed, 0).tickets.to_frame()
            pd.testing.assert_frame_equal(
                log.drop(columns="downtime_cost"), frame.drop(columns="downtime_cost")
            )


def test_same_verdict_for_any_number_of_workers() -> None:
    sc = load_scenario(_two_contracts([DOWNTIME, FEE, {**DOWNTIME, "label": "r", "method": "resimulate"}]))
    results = simulate(sc)
    one = analyze_verdict(results, workers=1)
    two = analyze_verdict(results, workers=2)
    pd.testing.assert_frame_equal(one.table, two.table)
    pd.testing.assert_frame_equal(one.pricing, two.pricing)


# ----------------------------------------------------------------------------------------------- the command line


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_run_writes_the_verdict_and_says_how_far_it_holds(tmp_path: Path) -> None:
    path = _write(tmp_path, _two_contracts([DOWNTIME, FEE]))
    out = tmp_path / "out"
    done = msp_sim("run", path, "--out", out, "--report")
    assert done.returncode == 0, done.stderr
    for name in ("verdict.csv", "pricing.csv", "verdict.png", "verdict.svg"):
        assert (out / name).is_file(), name
    # Not a terminal: progress as plain lines, each phase started and done.
    for phase in ("simulating test", "switching values", "writing"):
        assert f"{phase}: started" in done.stderr and f"{phase}: done," in done.stderr, phase
    text = " ".join(done.stdout.split())
    assert "uses the fewest real resources" in text
    assert "the client breaks even with" in text
    assert "gross margin target at" in text
    assert "costs the client least unless" in text
    table = pd.read_csv(out / "verdict.csv")
    assert set(table["question"]) == {"client", "social"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "How far the verdict holds" in html and 'id="headline-efficiency"' in html and "Pricing" in html
    assert 'data-party="client"' in html and 'data-party="provider"' in html  # the risk table

    client = tmp_path / "client.html"
    assert msp_sim("report", out, "--audience", "client", "--out", client).returncode == 0
    page = client.read_text(encoding="utf-8")
    assert "How far the verdict holds" in page
    for provider_only in (
        'id="headline-efficiency"',
        "gross margin target",
        "The lowest social cost changes",
    ):
        assert provider_only not in page

    provider = tmp_path / "provider.html"
    assert msp_sim("report", out, "--audience", "provider", "--out", provider).returncode == 0
    page = provider.read_text(encoding="utf-8")
    assert page.index('id="headline-provider"') < page.index('id="headline-client"')
    assert "gross margin target" in page


def test_run_without_the_verdict(tmp_path: Path) -> None:
    path = _write(tmp_path, _two_contracts([DOWNTIME]))
    out = tmp_path / "out"
    assert msp_sim("run", path, "--out", out, "--no-verdict").returncode == 0
    assert not (out / "verdict.csv").exists() and (out / "summary.csv").is_file()
    # One contract: nothing to compare it with, so no verdict to test.
    data = _two_contracts([DOWNTIME])
    data["contracts"] = data["contracts"][:1]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    done = msp_sim("run", path, "--out", tmp_path / "one")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "one" / "verdict.csv").exists() and "unless" not in done.stdout


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({**DOWNTIME, "paths": ["clients.*.downtime_cost_per_hour"]}, "leads to no value"),
        ({**DOWNTIME, "low": 50.0, "high": 100.0}, "does not hold the scenario's value 45"),
        ({**DOWNTIME, "paths": ["clients.*.break_fix"]}, "not a number"),
        (
            {**DOWNTIME, "paths": ["clients.*.break_fix.call_in_share"], "method": "reprice"},
            "changes what happens",
        ),
        ({**DOWNTIME, "high": 0.0}, "must be more than low"),
    ],
)
def test_a_bad_robustness_input_is_refused_before_any_work(
    tmp_path: Path, spec: dict[str, Any], words: str
) -> None:
    path = _write(tmp_path, _two_contracts([spec]))
    out = tmp_path / "out"
    done = msp_sim("run", path, "--out", out)
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert words in message and "robustness" in message and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_re_priced_switching_value_has_the_interval_where_the_contracts_are_not_told_apart(
    two: tuple[Any, Any],
) -> None:
    """Around the downtime-hour switching value the two contracts' paired difference is not significant: its
    interval's ends are where mean ± t·sd/√n of the per-replication difference F_b − F_o + x·(U_b − U_o) is 0."""
    results, verdict = two
    reps = results.replications
    row = _row(verdict, "the cost of downtime", "client")
    side = "below" if np.isfinite(row["switch_below"]) else "above"
    best, other = row["lowest_at_base"], row[f"lowest_{side}"]

    def per_replication(contract: str, name: str) -> np.ndarray:
        return reps[reps["contract"] == contract].sort_values("replication")[name].to_numpy(dtype=float)

    fees = per_replication(best, "client_fees") - per_replication(other, "client_fees")
    hours = per_replication(best, "downtime_user_hours") - per_replication(other, "downtime_user_hours")
    n = len(fees)
    t = stats.t.ppf(0.975, n - 1) / math.sqrt(n)

    x_star = float(row[f"switch_{side}"])

    def end(sign: float) -> float:
        """The zero of mean ± t·sd nearest the switching value within the range tried, NaN without one."""

        def g(x: float) -> float:
            d = fees + x * hours
            return float(d.mean() + sign * t * d.std(ddof=1))

        xs = np.linspace(float(row["low"]), float(row["high"]), 2001)
        ys = np.array([g(x) for x in xs])
        roots = [
            float(optimize.brentq(g, xs[i - 1], xs[i]))
            for i in range(1, len(xs))
            if (ys[i - 1] < 0) != (ys[i] < 0)
        ]
        return min(roots, key=lambda r: abs(r - x_star)) if roots else float("nan")

    ends = [end(-1.0), end(1.0)]
    expected = [
        min((e for e in ends if e <= x_star), default=float("nan")),
        max((e for e in ends if e >= x_star), default=float("nan")),
    ]
    got = [float(row[f"switch_{side}_ci_low"]), float(row[f"switch_{side}_ci_high"])]
    assert any(np.isfinite(got)), "the interval has at least one end inside the range"
    assert got == pytest.approx(expected, rel=1e-6, nan_ok=True)
    assert all(not np.isfinite(e) or (e < x_star) == (k == 0) for k, e in enumerate(got))


def test_the_switching_sentence_names_contracts_by_label(two: tuple[Any, Any]) -> None:
    """A contract with a label is the leader of its own rows: the sentence gives its switching values, not a
    claim that another contract is 'already lowest'."""
    from simulator.outputs.charts.verdict import switching_sentence

    results, verdict = two
    plain = switching_sentence(verdict.table, results.scenario)
    data = _two_contracts([DOWNTIME, FEE])
    for c in data["contracts"]:
        c["label"] = f"The {c['name']} offer"
    labelled = switching_sentence(verdict.table, load_scenario(data))
    assert "already lowest" not in labelled
    for c in data["contracts"]:
        plain = plain.replace(c["name"], f"The {c['name']} offer") if c["name"] in plain else plain
    assert "unless" in labelled and labelled.count("(then") == plain.count("(then")
