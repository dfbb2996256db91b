"""What the fund's modules share: its error, the categories and currencies it pays in, and amounts."""

from __future__ import annotations

from msc import numbers
from msc.errors import DomainError

CATEGORIES = ("medical", "mhpss", "shelter", "legal", "education", "livelihood", "return_integration", "basic_needs")
#: the currency the fund pays in, per country
COUNTRY_CURRENCY = {"COL": "COP", "PER": "PEN", "ECU": "USD", "BRA": "BRL", "CHL": "CLP"}
MAX_TEXT = 4000


class FundError(DomainError):
    """A fund rule said no."""


def currency_of(country: str) -> str:
    """The currency the fund pays in, in a country (USD where none is set)."""
    return COUNTRY_CURRENCY.get(country, "USD")


def parse_money(text: str | None, field: str = "amount") -> int:
    """An amount typed in the reader's language as minor units, or the fund's translated no
    (msc.numbers.parse_amount: "1.500,50" in Spanish, "1,500.50" in English; never a guess)."""
    try:
        return numbers.parse_amount(text, field)
    except DomainError as err:
        raise FundError(err.message, field=err.field) from None
