"""Numbers in the reader's language: what Babel writes for amounts, counts, decimals and shares in es, pt_BR
and en; amounts typed in each language read exactly or refused; the fund's pages and forms use them."""

import datetime as dt
from decimal import Decimal

import pyotp
import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from msc import numbers
from msc.clock import today as local_today
from msc.db import session
from msc.errors import DomainError
from msc.fund.models import FundAllocation
from msc.numbers import Measure, Money, Share
from msc.reports.tables import Table
from tests.conftest import csrf
from tests.test_access import login_as

NBSP = "\xa0"

FORMATTED = [
    # (locale, function, arguments, what the reader sees) — exactly what Babel writes for the locale
    ("es", numbers.money, (200_000_000_00, "COP"), f"200.000.000{NBSP}COP"),  # COP has no decimals in CLDR
    ("es", numbers.money, (1_500_50, "COP"), f"1.500,50{NBSP}COP"),  # cents that are there are never hidden
    ("es", numbers.money, (1_234_50, "BRL"), f"1.234,50{NBSP}BRL"),
    ("es", numbers.money, (1_234_50, "USD"), f"1.234,50{NBSP}US$"),
    ("es", numbers.money, (1_500_00, "CLP"), f"1.500{NBSP}CLP"),
    ("pt_BR", numbers.money, (200_000_000_00, "COP"), f"COP{NBSP}200.000.000"),
    ("pt_BR", numbers.money, (1_234_50, "BRL"), f"R${NBSP}1.234,50"),
    ("pt_BR", numbers.money, (1_234_50, "USD"), f"US${NBSP}1.234,50"),
    ("en", numbers.money, (200_000_000_00, "COP"), "COP200,000,000"),
    ("en", numbers.money, (1_234_50, "BRL"), "R$1,234.50"),
    ("en", numbers.money, (1_234_50, "USD"), "$1,234.50"),
    ("en", numbers.money, (1_234_50, "PEN"), "PEN1,234.50"),
    ("es", numbers.number, (12345,), "12.345"),
    ("pt_BR", numbers.number, (12345,), "12.345"),
    ("en", numbers.number, (12345,), "12,345"),
    ("es", lambda n: numbers.number(n, signed=True), (3,), "+3"),
    ("en", lambda n: numbers.number(n, signed=True), (-1200,), "-1,200"),
    ("es", numbers.decimal, (2.25,), "2,2"),
    ("pt_BR", numbers.decimal, (3.0,), "3,0"),
    ("en", numbers.decimal, (1234.56,), "1,234.6"),
    ("es", numbers.percent, (0.643, 1), f"64,3{NBSP}%"),
    ("pt_BR", numbers.percent, (0.643, 1), "64,3%"),
    ("en", numbers.percent, (0.643, 1), "64.3%"),
    ("es", numbers.percent, (0.5,), f"50{NBSP}%"),
    ("en", numbers.percent, (2 / 3,), "67%"),
    ("es", numbers.cell, (Share(7, 17),), f"41,2{NBSP}%"),
    ("pt_BR", numbers.cell, (Money(1_000_000_00, "BRL"),), f"R${NBSP}1.000.000,00"),
    ("en", numbers.cell, (Measure(4.25),), "4.2"),
    ("es", numbers.cell, (1234,), "1.234"),
    ("es", numbers.cell, ("<5",), "<5"),
]


@pytest.mark.parametrize(("locale", "fn", "args", "shown"), FORMATTED)
def test_numbers_are_written_in_the_readers_language(app, locale, fn, args, shown):
    with app.test_request_context(), force_locale(locale):
        assert fn(*args) == shown


PARSED = [
    ("es", "1.234,50", 1_234_50),
    ("es", "1234,5", 1_234_50),
    ("es", "1.234", 1_234_00),
    ("es", "200.000.000", 200_000_000_00),
    ("es", "0,05", 5),
    ("es", " 800.000 ", 800_000_00),
    ("pt_BR", "1.234,50", 1_234_50),
    ("pt_BR", "1500", 1_500_00),
    ("en", "1,234.50", 1_234_50),
    ("en", "1234.5", 1_234_50),
    ("en", "1,234", 1_234_00),
    ("en", "0.05", 5),
]


@pytest.mark.parametrize(("locale", "typed", "minor"), PARSED)
def test_an_amount_typed_in_the_readers_language_is_read_exactly(app, locale, typed, minor):
    with app.test_request_context(), force_locale(locale):
        assert numbers.parse_amount(typed) == minor


REFUSED = [
    ("es", "1,234.50", "como se escriben aquí los números, por ejemplo 1.500,50"),  # English on a Spanish page
    ("es", "1234.5", "como se escriben aquí los números"),
    ("es", "1,234", "como máximo dos decimales"),  # one and a bit, or a thousand? not guessed
    ("es", "tres mil", "como se escriben aquí los números"),
    ("es", "١٢٣", "como se escriben aquí los números"),  # digits of another script
    ("es", "1e5", "como se escriben aquí los números"),
    ("es", "$1.500", "como se escriben aquí los números"),
    ("es", "-5", "no puede ser negativo"),
    ("es", "", "Indique el monto"),
    ("es", "1.234.567.890.123", "demasiado grande"),
    ("pt_BR", "1,234.50", "como os números são escritos aqui, por exemplo 1.500,50"),
    ("pt_BR", "12,34,5", "como os números são escritos aqui"),
    ("en", "1.234,50", "as numbers are written here, for example 1,500.50"),
    ("en", "1,5", "as numbers are written here"),
    ("en", "1.234", "at most two decimals"),
    ("en", "1 234", "as numbers are written here"),
]


@pytest.mark.parametrize(("locale", "typed", "says"), REFUSED)
def test_an_amount_written_another_way_is_refused_not_guessed(app, locale, typed, says):
    with app.test_request_context(), force_locale(locale), pytest.raises(DomainError) as err:
        numbers.parse_amount(typed, field="amount")
    assert says in err.value.message and err.value.field == "amount"


def test_downloads_keep_plain_numbers(app):
    table = Table(
        "t",
        "T",
        ["Country"],
        ["People", "Share", "Allocated"],
        [("Colombia",)],
        [[1234, Share(7, 17), Money(1_500_000_50, "COP")]],
        [],
    )
    with app.test_request_context(), force_locale("es"):
        assert table.export_rows() == [["Colombia", 1234, Decimal("41.2"), Decimal("1500000.50")]]


def _fund_admin(app, make, locale):
    client = app.test_client()
    login_as(app, client, make.user("root", "admin", scope="region", locale=locale, mfa_secret=pyotp.random_base32()))
    return client


def test_a_spanish_page_shows_amounts_as_spanish_readers_write_them(app, make):
    today = local_today("COL")
    admin = _fund_admin(app, make, "es")
    with app.app_context():
        session.add(
            FundAllocation(
                country="COL",
                currency="COP",
                amount=200_000_000_00,
                disbursed=0,
                starts_on=today,
                ends_on=today + dt.timedelta(days=365),
            )
        )
        session.commit()
    page = admin.get("/fund/setup").get_data(as_text=True)
    assert f"200.000.000{NBSP}COP" in page and "200,000,000" not in page


def test_a_fund_amount_typed_in_spanish_is_saved_as_typed(app, make):
    today = local_today("PER")
    admin = _fund_admin(app, make, "es")
    alloc = {
        "csrf_token": csrf(admin, "/fund/setup"),
        "country": "PER",
        "currency": "PEN",
        "starts_on": today.isoformat(),
        "ends_on": (today + dt.timedelta(days=90)).isoformat(),
    }
    res = admin.post("/fund/allocations", data=alloc | {"amount": "1,234,567.50"})
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Escriba el monto como se escriben aquí los números, por ejemplo 1.500,50." in page
    assert 'value="1,234,567.50"' in page  # what was typed stays
    assert admin.post("/fund/allocations", data=alloc | {"amount": "1.234.567,50"}).status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(FundAllocation.amount).where(FundAllocation.country == "PER")) == 1_234_567_50
    assert f"1.234.567,50{NBSP}PEN" in admin.get("/fund/setup").get_data(as_text=True)
