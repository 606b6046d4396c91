"""Calibrating a scenario from a ticket history: estimators against hand-computed figures, a round trip from a
simulated history back to the scenario it came from, and the treatment of bad exports."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import EXPORT_COLUMNS, history_export
from scipy import stats

from simulator.cli import main
from simulator.config import load_scenario, read_yaml
from simulator.config.ticket_map import TicketMap
from simulator.studies.calibration.export import ExportError, read_export
from simulator.studies.calibration.families import fit_family
from simulator.studies.calibration.fit import ClientSize, calibrate, report_shares
from simulator.studies.calibration.scenario_file import calibrated_text
from simulator.studies.run import simulate

BASE = Path("scenarios/baseline.yaml")
TMAP = TicketMap.model_validate({"columns": EXPORT_COLUMNS})


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASE)


def _export(base, contract: str, months: int = 24) -> tuple[pd.DataFrame, list[ClientSize]]:
    """One simulated replication of ``contract`` as a simple export, and its clients."""
    return history_export(base, contract, months)


def _z(k: int, level: float = 0.99) -> float:
    """The normal quantile of a two-sided interval at ``level`` for each of ``k`` estimates (Bonferroni)."""
    return float(stats.norm.ppf(1 - (1 - level) / (2 * k)))


@pytest.mark.parametrize("contract", ["break-fix-tm", "managed-services"])
def test_round_trip_recovers_rates_effort_and_onsite(base, tmp_path, contract):
    """A history simulated from the baseline under break/fix (a share called in) or managed services (monitoring,
    auto-remediation, prevention, tooling) comes back as the baseline's rates, effort means and on-site shares,
    each within its standard error (Bonferroni over the categories, 99% family-wise)."""
    frame, sizes = _export(base, contract)
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    history = read_export(path, TMAP, [c.name for c in base.incidents.categories])
    assert history.unusable.empty and len(history.tickets) == len(frame)
    cal = calibrate(history, base, read_yaml(BASE), contract, sizes)
    rates = cal.rates.set_index("category")
    truth = {c.name: c for c in base.incidents.categories}
    big = [n for n in truth if rates.loc[n, "tickets"] >= 50]
    assert len(big) >= 6
    z = _z(len(big))
    for name in big:
        r = rates.loc[name]
        true_rate = truth[name].rate_per_user_month or truth[name].rate_per_site_month
        se = math.sqrt(true_rate * r["report_share"] * r["exposure"]) / (r["exposure"] * r["report_share"])
        assert abs(r["rate"] - true_rate) <= z * se, (name, r["rate"], true_rate, se)
        assert r["rate_low"] < r["rate"] < r["rate_high"]
    effort = cal.effort.set_index("category")
    shares = cal.shares[cal.shares["measure"] == "onsite"].set_index("category")
    monitored = contract == "managed-services"
    for name in big:
        e = effort.loc[name]
        true_mean = truth[name].effort_hours.expected
        assert abs(e["mean"] - true_mean) <= z * e["sd"] / math.sqrt(e["n"]), (name, e["mean"], true_mean)
        s = shares.loc[name]
        keep = 1 - truth[name].remote_with_monitoring if monitored else 1.0
        p = truth[name].onsite_share * keep
        assert abs(s["share"] - p) <= z * math.sqrt(p * (1 - p) / s["n"]) + 1e-12, (name, s["share"], p)
        assert s["written"] == pytest.approx(min(1.0, s["share"] / keep))
    rec = cal.recurrence
    assert rec["observed"]
    p = base.provider.recurrence.probability
    assert abs(rec["share"] - p) <= _z(1) * math.sqrt(p / rec["weight"])
    text, scenario = calibrated_text(cal, read_yaml(BASE), str(BASE), "map")
    assert load_scenario(scenario.model_dump(mode="json", by_alias=True)) == scenario
    assert text.startswith("# Calibrated by msp-sim calibrate")
    assert "history" in text and "95% CI" in text
    run = simulate(scenario.model_copy(update={"horizon_months": 3}), replications=1)
    assert (run.replications["tickets"] > 0).all()


def test_report_share_is_the_engines_routing_by_hand(base):
    """Under break/fix without monitoring a password incident (80% blocking, called in at 95%; the rest at 40%)
    becomes a ticket with probability 0.8 x 0.95 + 0.2 x 0.4 = 0.84; a site outage always does; under managed
    services with monitoring a detected incident is a ticket unless auto-remediated, prevention removes
    preventable x (1 - exp(-theta e))."""
    tm = report_shares(base, "break-fix-tm")
    first = tm[tm["client"] == 0].set_index("category")
    assert first.loc["password", "share"] == pytest.approx(0.8 * 0.95 + 0.2 * 0.4)
    assert first.loc["site-outage", "share"] == pytest.approx(1.0)
    ms = report_shares(base, "managed-services")
    pw = ms[ms["client"] == 0].set_index("category").loc["password"]
    cat = next(c for c in base.incidents.categories if c.name == "password")
    e = next(
        c for c in base.contracts if c.name == "managed-services"
    ).policy.prevention_hours_per_endpoint_month
    d, a = cat.detectable, cat.auto_remediable
    expected = (1 - cat.preventable * -math.expm1(-cat.theta * e)) * (d * (1 - a) + (1 - d) * 1.0)
    assert pw["share"] == pytest.approx(expected)


def test_rate_is_tickets_over_exposure_over_report_share(base, tmp_path):
    """12 password tickets of one 10-user client over one month (30.42 days) at a report share of 0.84: an
    incident rate of 12 / 10 / 0.84 per user-month, with the exact Poisson interval."""
    start = pd.Timestamp("2025-03-03")
    rows = [
        {
            "id": str(i),
            "created": (start + pd.Timedelta(hours=9 + 24 * i)).strftime("%Y-%m-%d %H:%M"),
            "cat": "password",
        }
        for i in range(12)
    ]
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    tmap = TicketMap.model_validate({"columns": {"ticket": "id", "created": "created", "category": "cat"}})
    end = start + pd.Timedelta(hours=730)
    history = read_export(path, tmap, [c.name for c in base.incidents.categories], start=start, end=end)
    cal = calibrate(history, base, read_yaml(BASE), "break-fix-tm", [ClientSize("client", 10, 12)])
    r = cal.rates.set_index("category").loc["password"]
    assert r["exposure"] == pytest.approx(10.0)
    assert r["rate"] == pytest.approx(12 / 10 / 0.84)
    assert r["rate_low"] == pytest.approx(stats.chi2.ppf(0.025, 24) / 2 / 10 / 0.84)
    assert r["rate_high"] == pytest.approx(stats.chi2.ppf(0.975, 26) / 2 / 10 / 0.84)
    assert any("software: no tickets" in n for n in cal.notes)  # kept the base's rate, said so


@pytest.mark.parametrize(
    ("family", "draw"),
    [
        ("lognormal", lambda rng: rng.lognormal(0.0, 0.7, 3000)),
        ("gamma", lambda rng: rng.gamma(3.0, 0.5, 3000)),
        ("exponential", lambda rng: rng.exponential(1.2, 3000)),
    ],
)
def test_family_chosen_by_likelihood(family, draw):
    fit = fit_family(draw(np.random.default_rng(7)))
    assert fit.family == family
    assert fit.ks < 0.03


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return path


MAP_YAML = """columns:
  ticket: Ticket
  created: Opened
  resolved: Closed
  priority: Priority
  category: Type
values:
  priority: {Critical: P1, High: P2, Medium: P3, Low: P4}
  category: {Password Reset: password, Internal: null}
"""


def _cli(tmp_path: Path, export: str, *extra: str):
    (tmp_path / "map.yaml").write_text(MAP_YAML, encoding="utf-8")
    path = _write(tmp_path, export)
    args = [
        "calibrate",
        str(path),
        "--map",
        str(tmp_path / "map.yaml"),
        "--users",
        "10",
        "--endpoints",
        "12",
        "--results",
        str(tmp_path / "out"),
        "--out",
        str(tmp_path / "cal.yaml"),
        "--check-replications",
        "2",
        *extra,
    ]
    return CliRunner().invoke(main, args)


GOOD = """Ticket,Opened,Closed,Priority,Type
1,2025-03-03 09:00,2025-03-03 10:00,High,Password Reset
2,2025-03-04 09:00,2025-03-04 11:00,Low,Password Reset
"""


@pytest.mark.parametrize(
    ("export", "says"),
    [
        (GOOD.replace("Opened", "Created"), ["'Opened' (columns.created) is not in the export", "map.yaml"]),
        (
            GOOD.replace("2025-03-04 09:00", "04/03/2025 9am"),
            ["row 3, column 'Opened'", "'04/03/2025 9am'", "dates.format"],
        ),
        (GOOD.replace(",Low,", ",Sev-A,"), ["row 3, column 'Priority'", "'Sev-A'", "values.priority"]),
        (
            GOOD.replace("Password Reset\n2", "Printer\n2"),
            ["row 2, column 'Type'", "'Printer'", "values.category"],
        ),
        ("", ["is empty"]),
    ],
)
def test_malformed_export_gets_a_clear_error_and_nothing_is_written(tmp_path, export, says):
    result = _cli(tmp_path, export)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "Traceback" not in message
    for s in says:
        assert s in message, message
    assert not (tmp_path / "out").exists() and not (tmp_path / "cal.yaml").exists()


def test_unusable_rows_are_counted_and_reported(tmp_path):
    export = GOOD + (
        "3,,2025-03-05 10:00,High,Password Reset\n"  # no created time
        "4,2025-03-05 12:00,2025-03-05 10:00,High,Password Reset\n"  # resolved before created
        "5,2025-03-05 12:00,,High,Internal\n"  # left out by the map
        "6,2025-03-06 12:00,,High,\n"  # no category
    )
    result = _cli(tmp_path, export)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "not usable: 1 rows, no created time (first rows 4)" in text
    assert "not usable: 1 rows, resolved before created (first rows 5)" in text
    assert "not usable: 1 rows, no category (first rows 7)" in text
    assert "left out by the map: 1 rows with category 'Internal'" in text
    unusable = pd.read_csv(tmp_path / "out" / "unusable.csv")
    assert unusable["rows"].sum() == 3
    assert (tmp_path / "cal.yaml").read_text().startswith("# Calibrated by msp-sim calibrate")
    again = _cli(tmp_path, export)  # its own file may be replaced
    assert again.exit_code == 0, again.output


def test_out_never_replaces_a_users_file(tmp_path):
    (tmp_path / "cal.yaml").write_text("name: mine\n", encoding="utf-8")
    result = _cli(tmp_path, GOOD)
    assert result.exit_code == 2
    assert "msp-sim did not write it" in " ".join(result.output.split())
    assert (tmp_path / "cal.yaml").read_text() == "name: mine\n"
    assert not (tmp_path / "out").exists()


def test_times_with_offsets_are_read_in_the_business_time_zone(base, tmp_path):
    """A UTC time is converted to the map's zone; a naive one is local; elapsed hours count daylight saving."""
    path = _write(
        tmp_path,
        "Ticket,Opened,Closed,Type\n"
        "1,2025-03-29T08:00:00Z,2025-03-31T08:00:00Z,password\n"  # Berlin: 09:00 CET to 10:00 CEST
        "2,2025-03-31 09:00,,password\n",
    )
    tmap = TicketMap.model_validate(
        {
            "columns": {"ticket": "Ticket", "created": "Opened", "resolved": "Closed", "category": "Type"},
            "dates": {"timezone": "Europe/Berlin"},
        }
    )
    h = read_export(path, tmap, ["password"])
    t = h.tickets
    assert t.loc[0, "created"] == pd.Timestamp("2025-03-29 09:00")
    assert t.loc[0, "resolved"] == pd.Timestamp("2025-03-31 10:00")
    assert t.loc[0, "resolution_hours"] == pytest.approx(48.0)
    assert t.loc[1, "created"] == pd.Timestamp("2025-03-31 09:00")
    assert h.start == pd.Timestamp("2025-03-29") and h.end == pd.Timestamp("2025-04-01")


def test_unparseable_number_names_row_and_column(tmp_path):
    path = _write(
        tmp_path,
        "Ticket,Opened,Type,Hours\n1,2025-03-03 09:00,password,1:30\n2,2025-03-03 10:00,password,abc\n",
    )
    tmap = TicketMap.model_validate(
        {"columns": {"ticket": "Ticket", "created": "Opened", "category": "Type", "hours": "Hours"}}
    )
    with pytest.raises(ExportError, match=r"row 3, column 'Hours': 'abc' is not a number"):
        read_export(path, tmap, ["password"])


@pytest.mark.parametrize(
    ("unit", "decimal", "value", "hours"),
    [
        ("hours", ".", "1:30", 1.5),
        ("minutes", ".", "1:30", 1.5),
        ("minutes", ".", "90", 1.5),
        ("hours", ",", "1,5", 1.5),
        ("hours", ".", "1,250", 1250.0),
    ],
)
def test_hours_in_either_unit_and_h_mm(tmp_path, unit, decimal, value, hours):
    sep = ";" if decimal == "," else ","
    path = _write(
        tmp_path, f'Ticket{sep}Opened{sep}Type{sep}Hours\n1{sep}2025-03-03 09:00{sep}password{sep}"{value}"\n'
    )
    tmap = TicketMap.model_validate(
        {
            "columns": {"ticket": "Ticket", "created": "Opened", "category": "Type", "hours": "Hours"},
            "hours_unit": unit,
            "decimal": decimal,
            "delimiter": sep,
        }
    )
    assert read_export(path, tmap, ["password"]).tickets.loc[0, "hours"] == pytest.approx(hours)


def test_a_decimal_mark_the_map_does_not_expect_is_an_error(tmp_path):
    path = _write(tmp_path, "Ticket;Opened;Type;Hours\n1;2025-03-03 09:00;password;1.5\n")
    tmap = TicketMap.model_validate(
        {
            "columns": {"ticket": "Ticket", "created": "Opened", "category": "Type", "hours": "Hours"},
            "decimal": ",",
            "delimiter": ";",
        }
    )
    with pytest.raises(ExportError, match=r"row 2, column 'Hours': '1.5' has a '.' that is not a thousands"):
        read_export(path, tmap, ["password"])


@pytest.mark.slow
def test_round_trip_through_the_sample_layout_recovers_the_truth(tmp_path):
    """Histories simulated from the sample's known scenario (examples/tickets-truth.yaml), exported in the PSA
    layout, read through the shipped map and calibrated on the baseline: every category's 95% rate interval
    covers the truth in at least 95% of category-histories less a binomial allowance, the effort means and
    on-site shares are within their standard errors (Bonferroni), and the priority mixes pass a chi-square test
    against the truth's mix (Bonferroni)."""
    from simulator.config.ticket_map import load_ticket_map
    from simulator.studies.calibration.layouts import client_sizes_of, simulated_export, write_export

    truth = load_scenario("examples/tickets-truth.yaml")
    tmap = load_ticket_map("examples/maps/psa.yaml")
    base = load_scenario(BASE)
    sizes = client_sizes_of(truth)
    cats = {c.name: c for c in truth.incidents.categories}
    covered, tried = 0, 0
    for seed in range(4):
        res = simulate(truth, replications=1, seed=1000 + seed, tickets=True)
        frame = simulated_export(res.tickets, truth, "psa", pd.Timestamp("2023-01-02"), "America/Chicago")
        path = tmp_path / f"export-{seed}.csv"
        write_export(frame, path, "psa")
        end = pd.Timestamp("2023-01-02") + pd.Timedelta(hours=truth.horizon_months * 730)
        history = read_export(path, tmap, list(cats), start=pd.Timestamp("2023-01-02"), end=end)
        assert history.unusable.empty
        cal = calibrate(history, base, read_yaml(BASE), "break-fix-tm", sizes)
        rates = cal.rates.set_index("category")
        big = [n for n in cats if rates.loc[n, "tickets"] >= 50]
        z = _z(len(big))
        for name in cats:
            r = rates.loc[name]
            true_rate = cats[name].rate_per_user_month or cats[name].rate_per_site_month
            tried += 1
            covered += bool(r["rate_low"] <= true_rate <= r["rate_high"])
        effort = cal.effort.set_index("category")
        onsite = cal.shares[cal.shares["measure"] == "onsite"].set_index("category")
        mix = cal.priorities
        for name in big:
            e = effort.loc[name]
            assert abs(e["mean"] - cats[name].effort_hours.expected) <= z * e["sd"] / math.sqrt(e["n"]), name
            s = onsite.loc[name]
            p = cats[name].onsite_share
            assert abs(s["share"] - p) <= z * math.sqrt(p * (1 - p) / s["n"]), name
            counts = mix[mix["category"] == name].set_index("priority")["tickets"]
            expected_mix = cats[name].priority_mix or {}
            keep = [q for q in ("P1", "P2", "P3", "P4") if expected_mix.get(q, 0) > 0]
            assert counts.drop(keep).sum() == 0, name  # no ticket at a priority the truth never gives
            observed = counts.loc[keep].to_numpy(dtype=float)
            f_exp = np.array([expected_mix[q] for q in keep]) * observed.sum()
            if len(keep) > 1:
                assert stats.chisquare(observed, f_exp).pvalue > 0.01 / len(big), (name, observed, f_exp)
    # 95% intervals: the number covering is Binomial(tried, >= 0.95); allow its 1% lower quantile.
    assert covered >= stats.binom.ppf(0.01, tried, 0.95), (covered, tried)
