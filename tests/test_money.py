"""Money for people: three significant digits in the locale's style, amounts shown together never alike,
exact prices to the currency's smallest unit, and the scenario's currency and locale validated."""

from __future__ import annotations

import math

import pytest
from helpers import scenario
from hypothesis import given
from hypothesis import strategies as st

from simulator import ScenarioError, load_scenario
from simulator.outputs.charts.style import money_formatter
from simulator.outputs.money import money, money_labels, price

CURRENCIES = ("USD", "EUR", "GBP")
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
AMOUNTS = st.floats(min_value=-1e13, max_value=1e13, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("value", "currency", "locale", "text"),
    [
        (1364, "USD", "en_US", "$1.36K"),
        (1436, "USD", "en_US", "$1.44K"),
        (12345, "USD", "en_US", "$12.3K"),
        (1.2e6, "USD", "en_US", "$1.2M"),
        (-340, "USD", "en_US", "-$340"),
        (40.38, "USD", "en_US", "$40.4"),
        (1364, "EUR", "en_US", "€1.36K"),
        (1364, "GBP", "en_GB", "£1.36k"),
        (1364, "EUR", "de_DE", "1.360\xa0€"),  # German has no short form below a million
        (1.2e6, "EUR", "de_DE", "1,2\xa0Mio.\xa0€"),
        (math.nan, "USD", "en_US", "–"),
    ],
)
def test_compact_amounts_keep_three_significant_digits(
    value: float, currency: str, locale: str, text: str
) -> None:
    assert money(value, currency, locale) == text


def test_the_small_office_axis_no_longer_reads_1k_1k_1k() -> None:
    ticks = [1000, 1200, 1400, 1600, 1800, 2000]
    assert money_labels(ticks, "USD") == ["$1K", "$1.2K", "$1.4K", "$1.6K", "$1.8K", "$2K"]
    assert money_formatter("EUR").format_ticks(ticks) == ["€1K", "€1.2K", "€1.4K", "€1.6K", "€1.8K", "€2K"]
    assert money_labels([1364.2, 1364.9], "USD") == ["$1.364K", "$1.365K"]


@given(st.lists(AMOUNTS, min_size=1, max_size=12), st.sampled_from(CURRENCIES), st.sampled_from(LOCALES))
def test_distinct_amounts_shown_together_never_print_the_same(
    values: list[float], currency: str, locale: str
) -> None:
    labels = money_labels(values, currency, locale)
    assert len(labels) == len(values)
    shown = {}
    for value, label in zip(values, labels, strict=True):
        assert shown.setdefault(label, value) == value, (label, shown[label], value)


@given(AMOUNTS, st.sampled_from(CURRENCIES), st.sampled_from(LOCALES))
def test_one_amount_prints_the_same_alone_and_in_a_set_of_itself(
    value: float, currency: str, locale: str
) -> None:
    assert money_labels([value, value], currency, locale) == [money(value, currency, locale)] * 2


@pytest.mark.parametrize(
    ("value", "currency", "locale", "text"),
    [
        (135, "USD", "en_US", "$135"),
        (40.38, "USD", "en_US", "$40.38"),
        (0.1 + 0.2, "USD", "en_US", "$0.30"),
        (1200, "EUR", "de_DE", "1.200\xa0€"),
        (12.5, "EUR", "en_US", "€12.50"),
        (1200.4, "JPY", "ja_JP", "￥1,200"),  # no minor unit
    ],
)
def test_exact_prices_go_to_the_currency_s_smallest_unit(
    value: float, currency: str, locale: str, text: str
) -> None:
    assert price(value, currency, locale) == text


def test_a_scenario_names_a_real_currency_and_locale() -> None:
    assert load_scenario(scenario() | {"currency": "CHF", "locale": "de-CH"}).locale == "de_CH"
    with pytest.raises(
        ScenarioError, match=r"field 'currency'.*'usd' is not an ISO 4217.*did you mean USD\?"
    ):
        load_scenario(scenario() | {"currency": "usd"})
    with pytest.raises(ScenarioError, match=r"field 'locale'.*'xx_YY' is not a known locale"):
        load_scenario(scenario() | {"locale": "xx_YY"})
