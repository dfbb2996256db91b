"""A client on IPv6 is counted by its /64 network, as one connection is handed: changing the address on
every attempt starts no new count, neither at the login (the account's hard lock, the address's wait) nor
on a centre's public feedback page."""

from __future__ import annotations

import datetime as dt

import pytest

from msc.db import session
from msc.extensions import network_of
from msc.security import service
from tests.conftest import PASSWORD
from tests.test_login_attacks import Clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    from msc.security import throttle

    c = Clock()
    monkeypatch.setattr(throttle, "utcnow", c)
    return c


@pytest.mark.parametrize(
    "address, counted",
    [
        ("190.85.12.34", "190.85.12.34"),
        ("2001:db8:1:2::a", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::a", "2001:db8:1:3::/64"),
        ("::ffff:190.85.12.34", "190.85.12.34"),
        ("not an address", "not an address"),
        ("", "unknown"),
    ],
)
def test_an_address_is_counted_by_its_network(address, counted):
    assert network_of(address) == counted


def test_one_ipv6_client_changing_address_is_held_to_one_addresss_wait(app, make, clock):
    """An attacker with one ordinary IPv6 connection (a /64: 2**64 addresses) sends wrong passwords for
    'admin', one new address per try, waiting whatever it is told. Counted address by address it met only
    the account's short wait (60 s at most) and locked the account in an hour and a half; counted by its
    /64 it waits as one address (up to 15 minutes), and two hours of trying do not lock the account."""
    make.user("admin", "admin", scope="region")
    started = clock()

    def attempt(i: int, password: str = "not the password!"):
        with app.test_request_context():
            try:
                service.authenticate("admin", password, f"2001:db8:1:2::{i:x}")
            except service.AccountError as err:
                return err
            finally:
                session.commit()
        return None

    i, waits = 0, []
    while clock() - started < dt.timedelta(hours=2):
        err = attempt(i)
        i += 1
        if isinstance(err, service.Throttled) and err.retry_after:
            waits.append(err.retry_after)
            clock.advance(err.retry_after)
    assert max(waits) > 60  # the address's wait, not only the account's
    err = attempt(10**6, PASSWORD)  # the real admin, from its office, with the right password
    assert err is None, err.message


def test_one_ipv6_client_changing_address_gets_one_addresss_feedback_allowances(app, tmp_path, db_url, keys_file):
    """A flooder on one /64 sends from a new address each time, with a made-up device id: it is handed the
    /64's new device ids and shares the /64's ceiling, as one address would (counted address by address,
    every one of the 12 messages landed in the centre's queue)."""
    import secrets

    from tests.test_feedback_http import _limited, _send

    limited = _limited(
        tmp_path,
        db_url,
        keys_file,
        FEEDBACK_RATE_LIMIT="2 per hour",
        FEEDBACK_ADDRESS_LIMIT="3 per hour",
        FEEDBACK_NEW_DEVICES="2 per hour",
    )
    try:
        flooder = limited.test_client()
        codes = []
        for n in range(12):
            flooder.environ_base["REMOTE_ADDR"] = f"2001:db8:7:7::{n + 1:x}"
            flooder.set_cookie("msc_fb_device", secrets.token_urlsafe(24))
            codes.append(_send(limited, flooder, "suggestion", f"Spam {n}.").status_code)
        assert codes.count(200) <= 2 * 2 + 3 and codes[-1] == 429, codes  # two ids' allowances and the ceiling
    finally:
        limited.extensions["msc.engine"].dispose()
