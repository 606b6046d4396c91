"""Business-hours arithmetic: hand-worked examples and properties against a brute-force reference.

The clock starts on Monday at 00:00; the default calendar is Mon–Fri 08:00–18:00 (50 business hours a week).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simulator.base.calendar import HOURS_PER_WEEK, WeekCalendar, scalar_maps
from simulator.config import Calendar

DEFAULT = WeekCalendar()
MON, TUE, WED, FRI, SAT = 0.0, 24.0, 48.0, 96.0, 120.0
WEEK = HOURS_PER_WEEK


# --------------------------------------------------------------------------------------------- by hand


@pytest.mark.parametrize(
    ("clock", "business"),
    [
        (0.0, 0.0),
        (MON + 8, 0.0),  # opening
        (MON + 9, 1.0),
        (MON + 13.5, 5.5),
        (MON + 18, 10.0),  # closing
        (MON + 23, 10.0),  # evening: closed
        (TUE + 8, 10.0),
        (TUE + 12, 14.0),
        (WED + 12, 24.0),
        (FRI + 18, 50.0),  # end of the week's business hours
        (SAT + 12, 50.0),
        (WEEK, 50.0),
        (WEEK + 8, 50.0),
        (WEEK + 10, 52.0),
        (2 * WEEK + WED + 12, 124.0),
    ],
)
def test_business_time_by_hand(clock: float, business: float) -> None:
    assert float(DEFAULT.business_time(clock)) == pytest.approx(business)


@pytest.mark.parametrize(
    ("business", "next_opening", "last_closing"),
    [
        (1.0, MON + 9, MON + 9),  # inside a day both agree
        (5.5, MON + 13.5, MON + 13.5),
        (10.0, TUE + 8, MON + 18),  # Monday's closing is Tuesday's opening
        (20.0, WED + 8, TUE + 18),
        (24.0, WED + 12, WED + 12),
        (50.0, WEEK + 8, FRI + 18),  # across the weekend
        (52.0, WEEK + 10, WEEK + 10),
        (100.0, 2 * WEEK + 8, WEEK + FRI + 18),
        (124.0, 2 * WEEK + WED + 12, 2 * WEEK + WED + 12),
    ],
)
def test_clock_time_by_hand(business: float, next_opening: float, last_closing: float) -> None:
    assert float(DEFAULT.clock_time(business, earliest=False)) == pytest.approx(next_opening)
    assert float(DEFAULT.clock_time(business, earliest=True)) == pytest.approx(last_closing)
    _, clock_scalar = scalar_maps(DEFAULT)
    assert clock_scalar(business, False) == pytest.approx(next_opening)
    assert clock_scalar(business, True) == pytest.approx(last_closing)


def test_clock_time_vectorised() -> None:
    b = np.array([0.5, 10.0, 50.0, 75.0])
    np.testing.assert_allclose(DEFAULT.clock_time(b, earliest=False), [8.5, 32.0, 176.0, WEEK + WED + 13])


def test_business_hours_between_by_hand() -> None:
    start = np.array([MON + 17, FRI + 17, MON + 9, SAT, MON + 20])
    end = np.array([TUE + 9, WEEK + 9, MON + 9, SAT + 24, TUE + 7])
    # 17–18 + 08–09; Friday 17–18 + Monday 08–09; empty; a Saturday; a night.
    np.testing.assert_allclose(DEFAULT.business_hours_between(start, end), [2.0, 2.0, 0.0, 0.0, 0.0])
    assert float(DEFAULT.business_hours_between(0.0, 4 * WEEK)) == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("clock", "open_"),
    [
        (MON + 7.99, False),
        (MON + 8, True),  # the opening instant is open
        (MON + 12, True),
        (MON + 17.99, True),
        (MON + 18, False),  # the closing instant is closed
        (FRI + 12, True),
        (SAT + 12, False),
        (SAT + 24 + 12, False),  # Sunday
        (WEEK + 8, True),
    ],
)
def test_is_open_by_hand(clock: float, open_: bool) -> None:
    assert bool(DEFAULT.is_open(clock)) is open_


def test_hours_per_week() -> None:
    assert DEFAULT.hours_per_week == 50.0
    assert WeekCalendar((5, 6), 10.0, 14.0).hours_per_week == 8.0
    assert WeekCalendar(always_open=True).hours_per_week == WEEK
    assert WeekCalendar(tuple(range(7)), 0.0, 24.0).hours_per_week == WEEK


def test_always_open_is_the_identity() -> None:
    cal = WeekCalendar(always_open=True)
    t = np.array([0.0, 7.5, 18.0, 130.25, 1000.0, 1e5])
    np.testing.assert_array_equal(cal.business_time(t), t)
    np.testing.assert_array_equal(cal.clock_time(t, earliest=True), t)
    np.testing.assert_array_equal(cal.clock_time(t, earliest=False), t)
    np.testing.assert_array_equal(cal.business_hours_between(t, t + 3.0), np.full(len(t), 3.0))
    assert cal.is_open(t).all()
    business, clock = scalar_maps(cal)
    assert business(130.25) == 130.25 and clock(130.25, True) == 130.25


def test_every_day_all_day_equals_the_clock() -> None:
    """Seven days 00–24 (users' calendar of a 24x7 scenario) is the identity, though not ``always_open``."""
    cal = WeekCalendar(tuple(range(7)), 0.0, 24.0)
    t = np.random.default_rng(2).random(1000) * 10 * WEEK
    np.testing.assert_allclose(cal.business_time(t), t, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cal.clock_time(t, earliest=False), t, rtol=1e-12, atol=1e-9)
    assert cal.is_open(t).all()


def test_config_calendar_maps_to_week_calendars() -> None:
    cal = Calendar()
    assert cal.users() == DEFAULT
    assert cal.coverage() == DEFAULT
    round_the_clock = Calendar(hours="24x7", business_days=["sat", "sun"], open_hour=9, close_hour=17)
    assert round_the_clock.coverage().always_open
    assert round_the_clock.users() == WeekCalendar((5, 6), 9.0, 17.0)


# --------------------------------------------------------------------------------------------- properties


@st.composite
def calendars(draw: st.DrawFn) -> WeekCalendar:
    days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1))))
    quarters_open = draw(st.integers(0, 95))
    quarters_close = draw(st.integers(quarters_open + 1, 96))
    return WeekCalendar(days, quarters_open / 4, quarters_close / 4)


def intervals(cal: WeekCalendar, weeks: int) -> list[tuple[float, float]]:
    """Open intervals of weeks 0..weeks, in order."""
    return [
        (WEEK * w + 24 * d + cal.open_hour, WEEK * w + 24 * d + cal.close_hour)
        for w in range(weeks + 1)
        for d in sorted(set(cal.days))
    ]


def reference_business_time(cal: WeekCalendar, t: float) -> float:
    return sum(min(max(t - s, 0.0), e - s) for s, e in intervals(cal, int(t // WEEK) + 1))


def reference_is_open(cal: WeekCalendar, t: float) -> bool:
    return any(s <= t < e for s, e in intervals(cal, int(t // WEEK) + 1))


times = st.floats(0.0, 8 * WEEK, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), t=times)
def test_business_time_matches_reference(cal: WeekCalendar, t: float) -> None:
    assert float(cal.business_time(t)) == pytest.approx(reference_business_time(cal, t), abs=1e-9)
    assert bool(cal.is_open(t)) == reference_is_open(cal, t)
    business, _ = scalar_maps(cal)
    assert business(t) == pytest.approx(float(cal.business_time(t)), abs=1e-9)
    # Periodic with one week's business hours per week.
    assert float(cal.business_time(t + WEEK)) == pytest.approx(
        float(cal.business_time(t)) + cal.hours_per_week
    )


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), t0=times, dt=st.floats(0.0, 3 * WEEK))
def test_business_hours_between_is_monotone_and_additive(cal: WeekCalendar, t0: float, dt: float) -> None:
    t1, t2 = t0 + dt / 2, t0 + dt
    a = float(cal.business_hours_between(t0, t1))
    b = float(cal.business_hours_between(t1, t2))
    assert a >= -1e-9 and b >= -1e-9
    assert a + b == pytest.approx(float(cal.business_hours_between(t0, t2)), abs=1e-9)
    assert a <= dt / 2 + 1e-9  # never more business hours than clock hours


@settings(max_examples=400, deadline=None)
@given(cal=calendars(), t=times)
def test_round_trip(cal: WeekCalendar, t: float) -> None:
    """clock_time(business_time(t)) is t while open; in closed hours the next opening (earliest=False) or the
    last closing (earliest=True)."""
    spans = intervals(cal, int(t // WEEK) + 2)
    b = cal.business_time(t)
    late = float(cal.clock_time(b, earliest=False))
    early = float(cal.clock_time(b, earliest=True))
    _, clock = scalar_maps(cal)
    assert clock(float(b), False) == pytest.approx(late, abs=1e-9)
    assert clock(float(b), True) == pytest.approx(early, abs=1e-9)
    if reference_is_open(cal, t):
        assert late == pytest.approx(t, abs=1e-9)
        at_opening = any(s == t for s, _ in spans)
        if not at_opening:
            assert early == pytest.approx(t, abs=1e-9)
    else:
        assert late == pytest.approx(min(s for s, _ in spans if s >= t), abs=1e-9)
        closings = [e for _, e in spans if e <= t]
        assume(closings)  # before the first closing there is no earlier moment at which work stopped
        assert early == pytest.approx(max(closings), abs=1e-9)
    # Either way the round trip lands on a moment with the same business time.
    assert float(cal.business_time(late)) == pytest.approx(float(b), abs=1e-9)
    assert float(cal.business_time(early)) == pytest.approx(float(b), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), b=st.floats(0.0, 400.0))
def test_business_time_inverts_clock_time(cal: WeekCalendar, b: float) -> None:
    for earliest in (True, False):
        t = float(cal.clock_time(b, earliest=earliest))
        assert float(cal.business_time(t)) == pytest.approx(b, abs=1e-9)
    assert float(cal.clock_time(b, earliest=True)) <= float(cal.clock_time(b, earliest=False)) + 1e-9
    # earliest=False lands where work can go on: open (up to rounding at a closing instant).
    late = float(cal.clock_time(b, earliest=False))
    assert reference_is_open(cal, late) or reference_is_open(cal, late - 1e-9)


def test_month_of_puts_a_missing_time_in_month_0_and_times_outside_the_horizon_at_its_ends() -> None:
    from simulator.base.calendar import HOURS_PER_MONTH
    from simulator.engine.plan import month_of

    t = np.array(
        [np.nan, -5.0, 0.0, HOURS_PER_MONTH - 1e-9, HOURS_PER_MONTH, 2.5 * HOURS_PER_MONTH, 1e300, np.inf]
    )
    np.testing.assert_array_equal(month_of(t, 3), [0, 0, 0, 0, 1, 2, 2, 2])
    assert month_of(t, 3).dtype == np.int64
