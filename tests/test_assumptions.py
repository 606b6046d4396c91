"""The assumptions a report and a workbook state: every parameter in plain words, and the key ones as sentences
whose figures are worked out by hand from the bundled baseline scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import load_scenario
from simulator.outputs.assumptions import assumptions, format_value, key_assumptions
from simulator.outputs.tables import format_price

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def sentences(*overrides: str) -> dict[str, str]:
    table = key_assumptions(load_scenario(BASELINE, list(overrides)))
    assert list(table.columns) == ["topic", "assumption"]
    return dict(zip(table["topic"], table["assumption"], strict=True))


def test_key_assumptions_of_the_baseline() -> None:
    key = sentences()
    assert list(key) == [
        "Simulation",
        "Clients",
        "Cost of downtime",
        "What goes wrong",
        "Calling the provider",
        "Provider's costs",
        "break-fix-tm",
        "break-fix-fixed-price",
        "managed-services",
    ]
    assert key["Simulation"].startswith(
        "24 months, the first 1 left out as warm-up; 30 replications from seed"
    )
    assert "08:00 to 18:00, Mon–Fri" in key["Simulation"]
    # 6 offices of 10 users, 3 firms of 25, one multi-site of 60: 195 users; 6x12 + 3x30 + 72 = 234 endpoints.
    assert "10 clients in 3 segments" in key["Clients"]
    assert "195 users, 234 endpoints, 6 servers in all" in key["Clients"]
    assert key["Cost of downtime"] == "A blocked user-hour costs the client $45; in a site outage $200."
    # Rates per user-month 0.2 + 0.2 + 0.12 + 0.1 + 0.004 + 0.04 + 0.12 = 0.784: 9.4 a year, 152.9 a month for
    # 195 users; password and software 0.2 / 0.784 = 25.5% each.
    assert key["What goes wrong"].startswith(
        "9.4 incidents per user a year before prevention (153 a month in all"
    )
    assert "password 25.5%, software 25.5% and hardware 15.3%" in key["What goes wrong"]
    assert "10% chance a year of a major incident" in key["What goes wrong"]
    assert (
        "40% of incidents" in key["Calling the provider"]
        and "managed services for 100%" in key["Calling the provider"]
    )
    assert "$40.38" in key["Provider's costs"] and "$20 per endpoint-month" in key["Provider's costs"]
    tm = key["break-fix-tm"]
    assert (
        "$135/h remote, $150/h on site, billed in 0.25 h steps (minimum 0.5 h remote and 1 h on site)" in tm
    )
    assert "parts at cost + 30%" in tm and "1 technician, with no prevention and no monitoring" in tm
    fixed = key["break-fix-fixed-price"]
    assert "password $150" in fixed and "hardware $295" in fixed and "hours beyond 2 h are absorbed" in fixed
    managed = key["managed-services"]
    # $150 x 195 users + $200 x 6 servers = $30,450 a month.
    assert (
        "A flat $150 per user-month and $200 per server-month ($30,450 a month for these clients)" in managed
    )
    assert "P1 0.5 h response, 4 h resolution" in managed and "capped at 30% of the fee" in managed
    assert "5% below 95%, 10% below 90% and 20% below 85%" in managed
    assert "1 technician, with 0.1 h of prevention per endpoint-month and monitoring on" in managed


def test_segments_that_differ_give_a_range_with_the_user_weighted_mean() -> None:
    key = sentences("clients.small-office.downtime_cost_per_user_hour=30")
    # 60 users at $30 and 135 at $45: (1,800 + 6,075) / 195 = $40.38.
    assert key["Cost of downtime"].startswith(
        "A blocked user-hour costs the client $30 to $45 (weighted mean $40.38)"
    )


def test_other_terms_currencies_and_calendars_read_right() -> None:
    key = sentences(
        "currency=EUR",
        "calendar.hours=24x7",
        "contracts.managed-services.sla.credit={kind: per_downtime_hour, amount_per_user_hour: 12.5}",
        "contracts.managed-services.sla.cap_percent_of_fee=null",
        "contracts.break-fix-fixed-price.overrun=billed",
    )
    assert "working hours round the clock" in key["Simulation"]
    assert "€150 per user-month" in key["managed-services"]
    assert "a credit of €12.50 per blocked user-hour." in key["managed-services"]
    assert "capped" not in key["managed-services"]
    assert "hours beyond 2 h are billed at T&M rates" in key["break-fix-fixed-price"]


def test_format_price_and_value() -> None:
    assert format_price(135, "USD") == "$135"
    assert format_price(40.38, "GBP") == "£40.38"
    assert format_price(1200, "CHF") == "CHF1,200"  # CLDR's en_US style
    assert format_price(1200, "CHF", "de_CH") == "CHF\xa01'200"
    assert format_price(1200.5, "EUR", "de_DE") == "1.200,50\xa0€"
    assert format_value(0.25, "share") == "25%"
    assert format_value(0.125, "share") == "12.5%"


@pytest.mark.parametrize("path", sorted((BASELINE.parent).glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_scenario_states_its_assumptions(path: Path) -> None:
    scenario = load_scenario(path)
    key = key_assumptions(scenario)
    assert set(key["topic"]) >= {c.name for c in scenario.contracts}
    assert key["assumption"].str.len().min() > 20
    every = assumptions(scenario)
    assert not every.empty and (every["meaning"].str.len() > 0).all()
