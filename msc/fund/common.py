"""What the fund's modules share: its error, the categories and currencies it pays in, and amounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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


def money(amount: int, currency: str) -> str:
    """Minor units as a plain amount with its currency: 150000 COP -> "1,500.00 COP"."""
    return f"{amount / 100:,.2f} {currency}"


def parse_money(text: str | None, field: str = "amount") -> int:
    """What was typed ("1500", "1.500,50", "1500.5") as minor units, or a translated reason."""
    raw = (text or "").strip().replace(" ", "")
    if not raw:
        raise FundError(_l("Give the amount."), field=field)
    if raw.startswith("-"):
        raise FundError(_l("The amount cannot be negative."), field=field)
    decimal = max(raw.rfind("."), raw.rfind(","))
    whole, cents = (raw, "") if decimal < 0 or len(raw) - decimal - 1 == 3 else (raw[:decimal], raw[decimal + 1 :])
    whole = whole.replace(".", "").replace(",", "")
    if not whole.isdigit() or (cents and not (cents.isdigit() and len(cents) <= 2)) or len(whole) > 12:
        raise FundError(_l("Give the amount as a number, for example 1500 or 1500.50."), field=field)
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))
