"""Numbers as the reader reads them: amounts, counts, decimals and shares formatted in the language of
the page (Babel, through the Jinja filters `money`, `number`, `decimal`, `percent` and `cell`), and amounts
typed in that language read back exactly, or refused with an example — never guessed.

Downloads (CSV, XLSX) are data for other programs: they keep plain numbers (`machine`), not these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import NumberFormatError, format_currency, format_decimal, format_percent, parse_decimal
from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from msc.errors import DomainError

#: the largest amount the fund records, in whole units (its columns hold minor units in a BIGINT)
MAX_WHOLE_DIGITS = 12
#: what an amount may be typed with: ASCII digits and the marks that group or separate decimals
_AMOUNT_CHARS = re.compile(r"[0-9.,]+")


@dataclass(frozen=True)
class Money:
    """An amount in minor units (cents) of a currency, as a report's cell."""

    minor: int
    currency: str


@dataclass(frozen=True)
class Share:
    """A part of a whole, as a report's cell: shown as a percentage with `digits` decimals."""

    part: int | float
    whole: int | float
    digits: int = 1

    @property
    def ratio(self) -> float:
        return self.part / self.whole


@dataclass(frozen=True)
class Measure:
    """A decimal figure (an average, a median) shown with `digits` decimals."""

    value: float
    digits: int = 1


def _locale() -> Locale:
    return get_locale() or Locale.parse("es")


def money(minor: int, currency: str, locale: str | Locale | None = None) -> str:
    """Minor units as the reader writes money: 20000000000 COP -> "200.000.000 COP" in Spanish (the page's
    language unless `locale` names another). The currency's own decimals (none for COP and CLP), unless the
    amount has cents: those are never hidden."""
    amount = Decimal(minor) / 100
    return format_currency(amount, currency, locale=locale or _locale(), currency_digits=not minor % 100)


def number(value: int | float | Decimal, signed: bool = False) -> str:
    """A count or a whole number with the reader's grouping: 12345 -> "12.345" in Spanish; `signed` shows
    the sign of a change either way ("+3", "-2")."""
    return format_decimal(value, format="+#,##0.###;-#,##0.###" if signed else None, locale=_locale())


def decimal(value: float | Decimal, digits: int = 1) -> str:
    """A figure with exactly `digits` decimals: 2.25 -> "2,2" in Spanish (half to even)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_locale())


def percent(ratio: float | Decimal, digits: int = 0) -> str:
    """A ratio as the reader writes a percentage: 0.643 -> "64,3 %" in Spanish, "64,3%" in Portuguese."""
    locale = _locale()
    pattern = locale.percent_formats[None].pattern
    if digits:
        last = pattern.rfind("0")
        pattern = pattern[: last + 1] + "." + "0" * digits + pattern[last + 1 :]
    return format_percent(ratio, format=pattern, locale=locale)


def cell(value: object) -> object:
    """A report's cell as shown: counts grouped, money, shares and measures in the reader's language;
    text (a hidden count's "<5" or "x", "—") as it is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return number(value)
    if isinstance(value, Money):
        return money(value.minor, value.currency)
    if isinstance(value, Share):
        return percent(value.ratio, value.digits)
    if isinstance(value, Measure):
        return decimal(value.value, value.digits)
    return value


def machine(value: object) -> object:
    """A report's cell as downloaded, for other programs: counts as integers, money as a plain decimal in
    its currency's units ("1500.00"), shares as percentages with a dot (64.3), measures as decimals."""
    if isinstance(value, Money):
        return Decimal(value.minor) / 100
    if isinstance(value, Share):
        return round(Decimal(value.part) * 100 / Decimal(value.whole), value.digits)
    if isinstance(value, Measure):
        return round(Decimal(str(value.value)), value.digits)
    return value


def amount_example() -> str:
    """How an amount with cents is written in the reader's language ("1.500,50" in Spanish)."""
    return format_decimal(Decimal("1500.50"), format="#,##0.00", locale=_locale())


def parse_amount(text: str | None, field: str = "amount") -> int:
    """An amount typed in the reader's language as minor units: "1.234,50" in Spanish or Portuguese and
    "1,234.50" in English are 123450. A value written another way ("1234.5" in Spanish, "1,5" in English),
    with more than two decimals, or not a number at all is refused with an example, never guessed."""
    raw = (text or "").strip()
    if not raw:
        raise DomainError(_l("Give the amount."), field=field)
    if raw.startswith("-"):
        raise DomainError(_l("The amount cannot be negative."), field=field)
    example = amount_example()
    wrong = DomainError(
        _l("Write the amount as numbers are written here, for example %(example)s.", example=example), field
    )
    if not _AMOUNT_CHARS.fullmatch(raw):
        raise wrong
    try:
        value = parse_decimal(raw, locale=_locale(), strict=True)
    except (NumberFormatError, InvalidOperation):
        raise wrong from None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:  # "1.234" in English: a thousand, or one and a bit?
        raise DomainError(_l("An amount has at most two decimals, for example %(example)s.", example=example), field)
    if value >= 10**MAX_WHOLE_DIGITS:
        raise DomainError(_l("This amount is too large to be right."), field=field)
    return int(value.quantize(Decimal("0.01")) * 100)


def register(app: Flask) -> None:
    """The filters every template formats numbers with (one place for the whole app)."""
    app.jinja_env.filters.update(money=money, number=number, decimal=decimal, percent=percent, cell=cell)
