"""Money for people, in the scenario's currency and locale (Babel's CLDR data): compact amounts with three
significant digits ($1.36K, €12.3K, 1,2 Mio. €), sets of amounts that never print two distinct values alike (the
ticks of an axis, the bars of a chart) and exact prices ($40.38, 1.200 €)."""

from __future__ import annotations

import copy
import math
import string
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, format_compact_currency, get_currency_precision, get_currency_symbol

__all__ = ["DEFAULT_LOCALE", "SIGNIFICANT_DIGITS", "money", "money_labels", "price"]

DEFAULT_LOCALE = "en_US"
SIGNIFICANT_DIGITS = 3
"""Significant digits of a compact amount: $1.36K, $12.3K, $340."""
_MAX_DIGITS = 17  # a float's round-trip precision: two distinct floats differ within it
_PLAIN = set(string.digits + "+-−.,'  \u00a0\u202f")


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=256)
def _pattern(locale: str, fraction: tuple[int, int]) -> NumberPattern:
    """The locale's currency pattern with ``fraction`` (fewest, most) decimals instead of the currency's own."""
    pattern = copy.copy(_locale(locale).currency_formats["standard"])
    pattern.frac_prec = fraction
    return pattern


def _plain(amount: Decimal, currency: str, locale: str, fraction: tuple[int, int]) -> str:
    return _pattern(locale, fraction).apply(
        amount, _locale(locale), currency=currency, currency_digits=False, decimal_quantization=False
    )


def _significant(value: float, digits: int) -> Decimal:
    """``value`` rounded to ``digits`` significant digits, exactly (a decimal, not a float)."""
    exact = Decimal(repr(float(value)))
    if exact == 0:
        return Decimal(0)
    return exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1))


def _compact(amount: Decimal, currency: str, locale: str, digits: int) -> str:
    loc = _locale(locale)
    text = format_compact_currency(amount, currency, locale=loc, fraction_digits=digits)
    symbol = get_currency_symbol(currency, locale=loc)
    if set(text.replace(symbol, "")) <= _PLAIN:
        # No short form at this size (any locale below a thousand, German below a million): the amount, grouped.
        text = _plain(amount, currency, locale, (0, _MAX_DIGITS))
    return text


def money(value: float, currency: str, locale: str = DEFAULT_LOCALE, digits: int = SIGNIFICANT_DIGITS) -> str:
    """``value`` as a compact amount with ``digits`` significant digits in the locale's style ($1.36K, −$340,
    CHF 12.3K, 1,2 Mio. €); – when there is no number (NaN or infinite)."""
    if not math.isfinite(value):
        return "–"
    return _compact(_significant(value, digits), currency, locale, digits)


def money_labels(
    values: Sequence[float], currency: str, locale: str = DEFAULT_LOCALE, digits: int = SIGNIFICANT_DIGITS
) -> list[str]:
    """Labels for amounts shown together (axis ticks, the bars of one chart): as :func:`money`, with as many
    more significant digits as it takes for distinct values never to print the same ($1.36K and $1.44K, not $1K
    twice)."""
    finite = [float(v) for v in values if math.isfinite(v)]
    for d in range(digits, _MAX_DIGITS + 1):
        labels = {v: money(v, currency, locale, d) for v in set(finite)}
        if len(set(labels.values())) == len(labels):
            break
    return [labels[float(v)] if math.isfinite(v) else "–" for v in values]


def price(value: float, currency: str, locale: str = DEFAULT_LOCALE, cents: bool = False) -> str:
    """An exact price, to the currency's smallest unit: whole amounts without decimals ($135, 1.200 €), others
    with the currency's decimals ($40.38); ``cents``: always with them ($135.00), as an invoice prints amounts."""
    if not math.isfinite(value):
        return "–"
    digits = get_currency_precision(currency)
    amount = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits))
    whole = amount == amount.to_integral_value() and not cents
    return _plain(amount, currency, locale, (0, 0) if whole else (digits, digits))
