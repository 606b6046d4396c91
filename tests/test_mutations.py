"""Randomly broken scenarios: every one is either refused with a clear error or runs with its money identities
intact. Hypothesis mutates the shipped scenarios (a leaf set to a hostile value, a key removed, an unknown key
added), with a fixed seed so that CI sees the same cases every time."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import load_scenario, simulate
from simulator.config import ScenarioError
from simulator.studies.estimate import estimate_run

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL_RUN = {"horizon_months": 2, "warmup_months": 0, "replications": 2}
RUN_SECONDS = 3.0
"""A mutated scenario that the estimate says would take longer than this is checked, not run."""


def _raw(path: Path) -> dict[str, Any]:
    return {**yaml.safe_load(path.read_text(encoding="utf-8")), **SMALL_RUN}


RAW = {p.name: _raw(p) for p in SCENARIOS}


def _leaves(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        out = [prefix] if prefix else []
        for k, v in node.items():
            out += _leaves(v, (*prefix, k))
        return out
    if isinstance(node, list):
        out = [prefix]
        for i, v in enumerate(node):
            out += _leaves(v, (*prefix, i))
        return out
    return [prefix]


PATHS = {name: _leaves(data) for name, data in RAW.items()}

HOSTILE = st.one_of(
    st.sampled_from(
        [math.inf, -math.inf, math.nan, 1e308, -1e308, 1e30, 1e20, 1e15, 1e12, 1e-300, 0, 0.0, -1, -0.5, 2**63,
         10**19, "", "\x00", "<script>", "=1+1", None, True, [], {}, [1, 2], {"dist": "fixed"}]
    ),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)  # fmt: skip


def _leaf(data: Any, path: tuple[Any, ...]) -> Any:
    node = data
    for key in path:
        node = node[key]
    return node


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _delete(data: Any, path: tuple[Any, ...]) -> None:
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


def _scalars(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _scalars(v, (*prefix, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _scalars(v, (*prefix, i))]
    return [prefix]


FACTORS = [0, 0.001, 0.01, 0.5, 2, 10, 100, 1000, -1]
"""Extreme but plausible changes of a number: the kind a run may accept, then crash on."""


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[str]]:
    """A shipped scenario with one or two changes: half of them a number scaled to an extreme, the others a
    hostile value anywhere (a section included), a key removed or an unknown key added."""
    name = draw(st.sampled_from(sorted(RAW)))
    data = copy.deepcopy(RAW[name])
    done = []
    for _ in range(draw(st.integers(1, 2))):
        action = draw(st.sampled_from(["scale"] * 5 + ["hostile", "hostile", "delete", "unknown"]))
        if action == "scale":
            numbers = [p for p in _scalars(data) if type(_leaf(data, p)) in (int, float)]
            path = draw(st.sampled_from(numbers))
            old = _leaf(data, path)
            factor = draw(st.sampled_from(FACTORS))
            value = old * factor if isinstance(old, float) else round(old * factor)
            _set(data, path, value)
            done.append(f"set {path}={value!r} (was {old!r})")
            continue
        path = draw(st.sampled_from(_leaves(data)))
        if action == "hostile":
            value = draw(HOSTILE)
            _set(data, path, value)
            done.append(f"set {path}={value!r}")
        elif action == "delete" and isinstance(path[-1], str):
            _delete(data, path)
            done.append(f"delete {path}")
        else:
            parent = data
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                parent["surprise_key"] = 1
                done.append(f"unknown key beside {path}")
    return name, data, done


MONEY = ("provider_revenue", "provider_cost", "provider_net_profit", "client_fees", "client_downtime_cost",
         "client_total_cost", "social_cost", "sla_credits")  # fmt: skip


def _identities_hold(reps: Any) -> None:
    for col in MONEY:
        values = reps[col].to_numpy(dtype=float)
        assert np.isfinite(values).all(), col
        assert (np.abs(values) < 1e15).all(), col  # far inside the integer-cents ledger
    scale = 1.0 + reps[list(MONEY)].abs().to_numpy().max()
    tol = 1e-9 * scale + 0.01

    def close(a: str, b: Any) -> None:
        assert np.allclose(reps[a].to_numpy(dtype=float), np.asarray(b, dtype=float), rtol=0, atol=tol), a

    close("client_fees", reps["provider_revenue"])
    close("provider_gross_profit", reps["provider_revenue"] - reps["provider_cost"])
    close("provider_net_profit", reps["provider_gross_profit"] - reps["provider_overhead"])
    close(
        "provider_cost",
        reps["provider_labour_cost"] + reps["provider_tools_cost"] + reps["provider_parts_cost"],
    )
    own_it = reps["client_it_cost"]  # the client's own IT under co-management, 0 otherwise
    close("client_total_cost", reps["client_fees"] + reps["client_downtime_cost"] + own_it)
    close("social_cost", reps["provider_cost"] + reps["client_downtime_cost"] + own_it)
    assert (reps["sla_credits"] >= 0).all() and (reps["provider_cost"] >= 0).all()
    assert (reps["client_downtime_cost"] >= 0).all() and (own_it >= 0).all()


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_a_broken_scenario_is_refused_or_runs_with_its_identities(
    case: tuple[str, dict[str, Any], list[str]],
) -> None:
    _name, data, _mutations = case
    try:
        scenario = load_scenario(data)
    except ScenarioError as exc:
        message = str(exc)
        assert message and "Traceback" not in message
        assert "field" in message or "override" in message or "<dict>" in message
        return
    estimate = estimate_run(scenario, scenario.replications)
    if estimate.seconds > RUN_SECONDS or not estimate.fits():
        return  # a valid but big job: announced or refused by the CLI, not run here
    results = simulate(scenario, workers=1)
    _identities_hold(results.replications)
