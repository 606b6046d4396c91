"""Scenario validation, overrides and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulator import ScenarioError, dump_scenario, load_scenario
from simulator.config import apply_overrides, parse_override

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def baseline_dict() -> dict:
    return yaml.safe_load(BASELINE.read_text())


def test_baseline_loads_with_defaults_filled() -> None:
    s = load_scenario(BASELINE)
    assert s.name == "baseline"
    assert [c.kind for c in s.contracts] == ["time_and_materials", "fixed_price", "managed"]
    assert s.provider.recurrence.probability == 0.05
    assert s.reference == "break-fix-tm"


def test_resolved_yaml_round_trips() -> None:
    s = load_scenario(BASELINE)
    again = load_scenario(yaml.safe_load(dump_scenario(s)))
    assert again == s


def test_override_by_name_and_index() -> None:
    s = load_scenario(
        BASELINE,
        [
            "contracts.managed-services.fee_per_user_month=120",
            "contracts.0.policy.technicians=3",
            "clients.small-office.count=2",
            "incidents.categories.password.theta=1.5",
        ],
    )
    assert s.contracts[2].fee_per_user_month == 120  # type: ignore[union-attr]
    assert s.contracts[0].policy.technicians == 3
    assert s.clients[0].count == 2
    assert s.incidents.categories[0].theta == 1.5


def test_override_star_sets_every_list_item() -> None:
    s = load_scenario(
        BASELINE, ["clients.*.downtime_cost_per_user_hour=60", "contracts.*.policy.thoroughness=0.9"]
    )
    assert {c.downtime_cost_per_user_hour for c in s.clients} == {60.0}
    assert {c.policy.thoroughness for c in s.contracts} == {0.9}
    with pytest.raises(ScenarioError, match=r"clients\.0\.no_such_field|no_such_field"):
        load_scenario(BASELINE, ["clients.*.no_such_field=1"])


def test_override_values_are_yaml() -> None:
    assert parse_override("a.b=0.5") == ("a.b", 0.5)
    assert parse_override("a=true") == ("a", True)
    assert parse_override("a=[1, 2]") == ("a", [1, 2])
    assert parse_override("name=my run") == ("name", "my run")


def test_override_does_not_mutate_input() -> None:
    data = baseline_dict()
    apply_overrides(data, ["horizon_months=3"])
    assert data["horizon_months"] == 24


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("contracts.managed.fee_per_user_month=1", "did you mean 'managed-services'"),
        ("contracts.9.name=x", "out of range"),
        ("nopath", "expected dotted.path=value"),
        ("name.sub=1", "is a value, not a section"),
    ],
)
def test_bad_override_paths(override: str, needle: str) -> None:
    with pytest.raises(ScenarioError, match=needle):
        load_scenario(BASELINE, [override])


@pytest.mark.parametrize(
    ("override", "path", "needle"),
    [
        (
            "clients.small-office.break_fix.call_in_share=1.5",
            "clients[small-office].break_fix.call_in_share",
            "less than or equal to 1",
        ),
        (
            "contracts.break-fix-tm.remote_rate=-5",
            "contracts[break-fix-tm].remote_rate",
            "greater than or equal to 0",
        ),
        (
            "incidents.categories.password.priority_mix.P1=0.5",
            "incidents.categories[password].priority_mix",
            "must sum to 1",
        ),
        ("provider.travel_hour=1", "provider.travel_hour", "did you mean 'travel_hours'"),
        (
            "contracts.managed-services.policy.monitorin=true",
            "contracts[managed-services].policy.monitorin",
            "did you mean 'monitoring'",
        ),
        (
            "contracts.managed-services.sla.credit.kind=per_minute",
            "contracts[managed-services].sla.credit",
            "per_breach",
        ),
        ("warmup_months=30", "warmup_months", "warmup_months must be smaller"),
        (
            "contracts.break-fix-fixed-price.menu.printer=100",
            "contracts[break-fix-fixed-price]",
            "unknown categories ['printer']",
        ),
        (
            "incidents.categories.password.effort_hours.dist=weibull",
            "incidents.categories[password].effort_hours",
            "fixed",
        ),
        (
            "incidents.categories.password.effort_hours.cv=-1",
            "effort_hours.cv",
            "greater than or equal to 0.001",
        ),
        (
            "contracts.managed-services.sla.targets.P1.resolution_hours=0.1",
            "sla.targets.P1",
            "resolution_hours must be at least response_hours",
        ),
    ],
)
def test_bad_values_name_file_field_and_fix(override: str, path: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, [override])
    message = str(info.value)
    assert str(BASELINE) in message
    assert path in message
    assert needle in message


def test_missing_field_and_duplicate_names() -> None:
    data = baseline_dict()
    del data["provider"]
    data["contracts"][1]["name"] = data["contracts"][0]["name"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    assert "provider" in str(info.value) and "required field is missing" in str(info.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        load_scenario(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="must hold a mapping"):
        load_scenario(listy)


def test_rate_needs_exactly_one_unit() -> None:
    with pytest.raises(ScenarioError, match="exactly one of rate_per_user_month"):
        load_scenario(BASELINE, ["incidents.categories.password.rate_per_endpoint_month=0.1"])
