"""Contracts shown by their labels: tables, sentences, charts and the report name a contract by its ``label``,
while files and ``--set`` paths keep its name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from helpers import category, client, managed_contract, msp_sim, scenario, tm_contract

from simulator.config import ScenarioError, load_scenario

LABELS = {"tm": "Break/fix by the hour", "managed": "Managed services"}


def _labelled() -> dict[str, Any]:
    data = scenario(
        clients=[client(users=10, endpoints=10, call_in_share=0.5)],
        categories=[category(rate_per_user_month=0.5)],
        contracts=[tm_contract(), managed_contract()],
        horizon_months=3,
        replications=3,
    )
    for contract in data["contracts"]:
        contract["label"] = LABELS[contract["name"]]
    return data


def test_labels_must_tell_contracts_apart() -> None:
    data = _labelled()
    data["contracts"][1]["label"] = LABELS["tm"]
    with pytest.raises(ScenarioError, match="give each its own label"):
        load_scenario(data)


def test_a_contract_without_a_label_is_shown_by_its_name() -> None:
    data = _labelled()
    del data["contracts"][0]["label"]
    sc = load_scenario(data)
    assert sc.label_of("tm") == "tm" and sc.label_of("managed") == "Managed services"


def test_run_shows_labels_and_keeps_names_in_files(tmp_path: Path) -> None:
    path = tmp_path / "labelled.yaml"
    path.write_text(yaml.safe_dump(_labelled()), encoding="utf-8")
    out = tmp_path / "out"
    done = msp_sim("run", path, "--out", out, "--report", "--set", "contracts.managed.fee_per_user_month=90")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "Managed services" in text and "Break/fix by the hour" in text
    assert any(f"{label} costs the client least" in text for label in LABELS.values())
    assert "uses the fewest real resources" in text
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["contract"]) == {"tm", "managed"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Managed services</th>" in html and "Break/fix by the hour</th>" in html
    assert 'data-contract="managed"' in html
