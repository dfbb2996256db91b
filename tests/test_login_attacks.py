"""Attacks on the login, performed: a forged cookie, a second enrolment, guessing codes, telling which
usernames exist, keeping staff locked out, flooding past the rate limiter. Each test fails if the
attack works again."""

from __future__ import annotations

import datetime as dt
import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from msc.db import session, utcnow
from msc.security import passwords, service, throttle
from msc.security.models import AuditEvent, LoginChallenge, LoginThrottle, User
from tests.conftest import PASSWORD, csrf, limited_app
from tests.test_access import login_as

DPO_SECRET = pyotp.random_base32()


class Clock:
    """The back-off's clock, moved forward by the test (TOTP and sessions keep the real one)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(throttle, "utcnow", c)
    return c


@pytest.fixture
def dpo(make):
    return make.user("dpo", "dpo", scope="region", mfa_secret=DPO_SECRET)


def _client(app, address: str):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def _login(client, username: str, password: str = PASSWORD):
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf(client, "/login")}
    )


def _code(client, code: str, path: str = "/login/code"):
    return client.post(path, data={"code": code, "csrf_token": csrf(client, "/login")})


def _message(res) -> str:
    """The error the page shows on its form."""
    m = re.search(r'<p class="error" id="[\w-]+">(.*?)</p>', res.get_data(as_text=True), re.S)
    assert m, res.get_data(as_text=True)[:2000]
    return m.group(1).strip()


def _actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


# ---- a cookie signed with a leaked secret key ---------------------------------------------


def _forge(app, client, data: dict) -> None:
    """Put a session cookie signed with the app's secret key (what a leaked key allows) in the client,
    keeping what the cookie held (its CSRF token: a leaked key forges that as well)."""
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    value = serializer.dumps({**(serializer.loads(cookie.value) if cookie else {}), **data})
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)


@pytest.mark.parametrize("stage", ["verify", "enrol"])
def test_a_cookie_forged_with_the_secret_key_does_not_log_in_as_the_dpo(app, dpo, stage):
    attacker = app.test_client()
    now = utcnow().timestamp()
    forged = [
        {"pending": {"user_id": dpo, "stage": stage, "at": now, "next": "/dpo/"}},  # the state the cookie held
        {"login_challenge": "made-up-token-" + "x" * 30},
        {"login_challenge": "made-up", "pending": {"user_id": dpo, "stage": stage, "at": now}},
    ]
    path = "/login/code" if stage == "verify" else "/login/enrol"
    for data in forged:
        _forge(app, attacker, data)
        page = attacker.get(path)
        assert page.status_code == 302 and page.headers["Location"] == "/login"
        token = csrf(attacker, "/login")
        _forge(app, attacker, data)
        res = attacker.post(path, data={"code": pyotp.TOTP(DPO_SECRET).now(), "csrf_token": token})
        assert res.status_code == 302 and res.headers["Location"] == "/login"
        assert not _logged_in(attacker)
    with app.app_context():
        user = session.get(User, dpo)
        assert user.mfa_secret == DPO_SECRET and user.mfa_pending_secret is None  # authenticator untouched
    assert not _actions(app, "login") and not _actions(app, "mfa.enrolled")


def test_a_real_challenge_token_works_once_and_only_for_its_own_login(app, make, dpo):
    """The token is single use: replaying the cookie of a finished login reaches nothing."""
    client = app.test_client()
    _login(client, "dpo")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert _code(client, pyotp.TOTP(DPO_SECRET).now()).status_code == 302
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert replay.get("/login/code").status_code == 302
    with app.app_context():
        row = session.scalars(sa.select(LoginChallenge)).one()
        assert row.consumed_at is not None
        raw = session.execute(sa.text("SELECT token_hash FROM login_challenges")).scalar()
    serializer = app.session_interface.get_signing_serializer(app)
    token = serializer.loads(cookie)["login_challenge"]
    assert token not in raw and len(raw) == 64  # only its hash is kept


def test_logout_and_a_new_login_end_a_pending_challenge(app, dpo):
    client = app.test_client()
    _login(client, "dpo")
    _login(client, "someone else", "whatever password")  # a new login attempt drops the pending one
    assert client.get("/login/code").status_code == 302
    with app.app_context():
        assert session.scalars(sa.select(LoginChallenge)).one().consumed_at is not None


def test_an_expired_challenge_is_refused(app, dpo):
    client = app.test_client()
    _login(client, "dpo")
    with app.app_context():
        row = session.scalars(sa.select(LoginChallenge)).one()
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    assert _code(client, pyotp.TOTP(DPO_SECRET).now()).headers["Location"] == "/login"
    assert not _logged_in(client)


# ---- enrolling over an existing authenticator ---------------------------------------------


def test_enrolment_never_replaces_an_existing_authenticator(app, make, dpo):
    with app.test_request_context():
        user = session.get(User, dpo)
        with pytest.raises(service.AccountError, match="already has a second factor"):
            service.begin_mfa_enrolment(user)
        keys = throttle.keys_for(user.username, "127.0.0.1")
        attacker_secret = pyotp.random_base32()
        user.mfa_pending_secret = attacker_secret  # even with a pending secret of the attacker's
        with pytest.raises(service.AccountError, match="already has a second factor"):
            service.confirm_mfa_enrolment(user, pyotp.TOTP(attacker_secret).now(), keys)
        assert user.mfa_secret == DPO_SECRET


def test_the_enrolment_page_closes_once_the_user_has_enrolled(app, make):
    """Two logins at the enrolment step: once one enrols, the other cannot enrol a second authenticator."""
    make.user("officer", "protection_officer", scope="region")
    first, second = app.test_client(), app.test_client()
    assert _login(first, "officer").headers["Location"] == "/login/enrol"
    assert _login(second, "officer").headers["Location"] == "/login/enrol"
    page = first.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    assert _code(first, pyotp.TOTP(secret).now(), "/login/enrol").status_code == 302
    assert second.get("/login/enrol").headers["Location"] == "/login"
    res = _code(second, pyotp.TOTP(secret).now(), "/login/enrol")
    assert res.headers["Location"] == "/login" and not _logged_in(second)
    with app.app_context():
        assert session.scalar(sa.select(User).where(User.username == "officer")).mfa_secret == secret


def test_after_an_admin_reset_the_user_enrols_again(app, make):
    uid = make.user("officer", "protection_officer", scope="region", mfa_secret=pyotp.random_base32())
    with app.test_request_context():
        service.reset_mfa(session.get(User, uid))
        session.commit()
    client = app.test_client()
    assert _login(client, "officer").headers["Location"] == "/login/enrol"
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', client.get("/login/enrol").get_data(True)).group(1)
    cookie = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    )
    assert set(cookie) <= {"login_challenge", "csrf_token", "_flashes", "_fresh"} and secret not in str(cookie)
    assert _code(client, pyotp.TOTP(secret).now(), "/login/enrol").status_code == 302 and _logged_in(client)


# ---- guessing codes -------------------------------------------------------------------------


def test_twenty_wrong_codes_slow_the_account_down(app, dpo, clock):
    client = app.test_client()
    assert _login(client, "dpo").headers["Location"] == "/login/code"
    waits = []
    for i in range(20):
        res = _code(client, "000000")
        if i < 6:
            assert res.status_code == 422 and "not right" in _message(res), i
            continue
        # inside the wait: refused unchecked, even a right code would be
        assert res.status_code == 429 and "Too many attempts" in _message(res), i
        waits.append(int(res.headers["Retry-After"]))
        assert _code(client, pyotp.TOTP(DPO_SECRET).now()).status_code == 429
        clock.advance(waits[-1])
        res = _code(client, "000000")  # past the wait: checked, wrong, counted
        assert res.status_code == 422 and "not right" in _message(res), i
    assert waits == sorted(waits) and waits[0] == 1 and waits[-1] >= 60  # it only gets slower
    assert len(_actions(app, "login.mfa_failed")) == 6 + len(waits)
    res = _code(client, pyotp.TOTP(DPO_SECRET).now())
    assert res.status_code == 429  # the right code, still inside the last wait
    clock.advance(int(res.headers["Retry-After"]))
    assert _code(client, pyotp.TOTP(DPO_SECRET).now()).status_code == 302 and _logged_in(client)


def test_a_right_password_does_not_clear_wrong_codes(app, dpo, clock):
    """Knowing the password, one cannot log in again and again to get fresh free guesses at the code."""
    client = app.test_client()
    for _ in range(6):
        assert _login(client, "dpo").headers["Location"] == "/login/code"
        assert _code(client, "000000").status_code == 422
    assert _login(client, "dpo").status_code == 429


# ---- telling which usernames exist -----------------------------------------------------------


def _normalised(res, username: str) -> str:
    html = res.get_data(as_text=True).replace(username, "NAME")
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_an_unknown_username_behaves_exactly_like_a_known_one(app, make, clock):
    make.user("clerk", "reception")
    known, unknown = _client(app, "10.0.0.1"), _client(app, "10.0.0.2")
    for i in range(9):
        a, b = _login(known, "clerk", "not the password!"), _login(unknown, "clurk", "not the password!")
        assert (a.status_code, _message(a)) == (b.status_code, _message(b)), i
        assert _normalised(a, "clerk") == _normalised(b, "clurk"), i
        assert a.headers.get("Retry-After") == b.headers.get("Retry-After"), i
        if i >= 6:
            assert a.status_code == 429 and "Too many attempts: try again in" in _message(a)
    # and never "locked" after a handful of failures: the right password goes through after the wait
    clock.advance(60)
    assert _login(known, "clerk").status_code == 302


def test_the_password_hasher_runs_for_unknown_usernames_too(app, make, monkeypatch):
    make.user("clerk", "reception")
    calls = []
    real = passwords.verify_password

    def spy(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", spy)

    def timed(username: str, address: str) -> float:
        with app.test_request_context():
            start = time.perf_counter()
            with pytest.raises(service.AccountError):
                service.authenticate(username, "not the password!", address)
            took = time.perf_counter() - start
            session.rollback()
            return took

    known, unknown = [], []
    for i in range(4):  # interleaved, so a busy machine slows both alike
        known.append(timed("clerk", f"10.1.0.{i}"))
        unknown.append(timed(f"ghost{i}", f"10.2.0.{i}"))
    assert len(calls) == 8 and all(c.startswith("$argon2id$") for c in calls)
    assert min(unknown) > 0.5 * min(known)  # the fastest of each: the least disturbed by other work


# ---- keeping staff locked out -------------------------------------------------------------------


def test_a_flood_from_one_address_keeps_the_dpo_out_for_a_minute_at_most(app, dpo, clock):
    """An attacker at address A keeps sending wrong passwords for the DPO for two hours (as fast as the
    back-off lets a check through). The attacker's own address ends up waiting 15 minutes between tries;
    the DPO, at address B, waits at most the account's short cap after the attacker's latest failure."""
    attacker, desk = _client(app, "203.0.113.9"), _client(app, "198.51.100.7")
    failures, longest = 0, 0
    end = clock() + dt.timedelta(hours=2)
    while clock() < end:
        res = _login(attacker, "dpo", f"guess number {failures}")
        if res.status_code == 422:
            failures += 1
            continue
        assert res.status_code == 429
        wait = int(res.headers["Retry-After"])
        longest = max(longest, wait)
        clock.advance(wait)
    assert longest == app.config["LOGIN_BACKOFF_SOURCE_MAX_SECONDS"] == 900  # the attacker waits 15 minutes
    assert failures < 30  # two hours of flooding landed few guesses
    _login(attacker, "dpo", "one more guess")  # the latest failure, right before the DPO arrives
    res = _login(desk, "dpo")
    assert res.status_code == 429 and int(res.headers["Retry-After"]) <= 60
    clock.advance(60)
    assert _login(desk, "dpo").headers["Location"] == "/login/code"
    assert _code(desk, pyotp.TOTP(DPO_SECRET).now()).status_code == 302 and _logged_in(desk)
    assert _login(attacker, "dpo").status_code == 429  # even the right password: the address still waits
    assert not _actions(app, "login.lockout")


def test_a_hard_lock_only_at_100_failures_in_a_row_and_an_admin_unlocks_it(app, make, clock):
    uid = make.user("clerk", "reception")
    assert app.config["LOGIN_HARD_LOCK_FAILURES"] == 100

    def attempt(username: str, password: str, i: int) -> service.AccountError | None:
        with app.test_request_context():
            try:
                service.authenticate(username, password, f"10.9.{i // 250}.{i % 250}")  # a spread-out attack
            except service.AccountError as err:
                return err
            finally:
                session.commit()
        return None

    for name in ("clerk", "clark"):  # a real account and an unknown name lock alike
        for i in range(99):
            err = attempt(name, "not the password!", i)
            if isinstance(err, service.Throttled):
                clock.advance(err.retry_after)
                err = attempt(name, "not the password!", i)
            assert err is not None and not isinstance(err, service.Throttled), (name, i)
        clock.advance(60)
        assert "Wrong username or password" in attempt(name, "not the password!", 100).message  # the 100th
        clock.advance(3600)
        err = attempt(name, PASSWORD, 101)
        assert isinstance(err, service.Throttled) and "locked" in err.message
    assert len(_actions(app, "login.lockout")) == 2
    with app.test_request_context():
        assert service.locked_usernames([session.get(User, uid)]) == {"clerk"}
        raw = session.scalars(sa.select(LoginThrottle.key_hash)).all()
        assert not any("clerk" in k or "clark" in k for k in raw)
    # the admin pages say so, and the admin's unlock lifts it
    admin = make.user("root", "admin", scope="region", mfa_secret=pyotp.random_base32())
    client = app.test_client()
    login_as(app, client, admin)
    assert "Locked" in client.get("/admin/users").get_data(as_text=True)
    token = csrf(client, f"/admin/users/{uid}")
    assert client.post(f"/admin/users/{uid}/unlock", data={"csrf_token": token}).status_code == 302
    assert _actions(app, "user.unlock")
    assert attempt("clerk", PASSWORD, 102) is None


def test_a_login_starts_the_account_count_again_but_not_the_address_count(app, make, clock):
    make.user("clerk", "reception")
    make.user("mole", "reception")
    client = _client(app, "10.3.0.1")
    for _ in range(6):
        _login(client, "clerk", "not the password!")
    res = _login(client, "mole")  # the guesser's own account, from the same address
    assert res.status_code == 429
    clock.advance(int(res.headers["Retry-After"]))
    assert _login(client, "mole").status_code == 302
    client.post("/logout", data={"csrf_token": csrf(client, "/account")})
    _login(client, "clerk", "not the password!")  # the 7th failure from this address: a longer wait
    res = _login(client, "clerk")
    assert res.status_code == 429 and int(res.headers["Retry-After"]) == 2


def test_counts_are_forgotten_after_a_quiet_spell(app, make, clock):
    make.user("clerk", "reception")
    client = _client(app, "10.4.0.1")
    for _ in range(6):
        _login(client, "clerk", "not the password!")
    assert _login(client, "clerk").status_code == 429
    clock.advance(25 * 3600)
    assert _login(client, "clerk", "not the password!").status_code == 422
    with app.app_context():
        assert session.scalar(sa.select(sa.func.max(LoginThrottle.failures))) == 1


# ---- the rate limiter ----------------------------------------------------------------------------


def test_requests_refused_by_the_rate_limiter_are_audited(app):
    limited = limited_app(app, LOGIN_RATE_LIMIT="2 per minute")
    try:
        c = limited.test_client()
        token = csrf(c, "/login")
        codes = [
            c.post("/login", data={"username": "dpo", "password": "y" * 12, "csrf_token": token}).status_code
            for _ in range(6)
        ]
        assert codes == [422, 422, 429, 429, 429, 429]
        events = _actions(app, "security.rate_limited")
        assert len(events) == 1  # one record a minute per address and endpoint, not one per request
        assert events[0].detail == "auth.login" and events[0].user_id is None
        other = limited.test_client()
        other.environ_base["REMOTE_ADDR"] = "10.5.0.1"
        token = csrf(other, "/login")
        for _ in range(3):
            other.post("/login", data={"username": "dpo", "password": "y" * 12, "csrf_token": token})
        assert len(_actions(app, "security.rate_limited")) == 2
        with app.app_context():
            from msc.security import audit

            assert audit.verify().ok
    finally:
        limited.extensions["msc.engine"].dispose()


def test_behind_a_proxy_each_client_address_is_counted_apart(app, make):
    """With PROXY_FIX_X_FOR set, a guesser behind the proxy slows down only itself, not every client."""
    from msc import create_app

    make.user("clerk", "reception")

    def flood_then_login(application) -> int:
        guesser, desk = application.test_client(), application.test_client()
        guesser.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        desk.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
        for i in range(7):
            _login(guesser, f"name{i}", "not the password!")  # a new name each time: only the address counts
        return _login(desk, "clerk").status_code

    proxied = create_app(
        "testing",
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "KEYS_FILE": app.config["KEYS_FILE"],
            "BABEL_DEFAULT_LOCALE": "en",
            "PROXY_FIX_X_FOR": 1,
        },
    )
    try:
        assert flood_then_login(proxied) == 302
    finally:
        proxied.extensions["msc.engine"].dispose()
    assert flood_then_login(app) == 429  # without it, everyone behind the proxy shares one address


# ---- a centre's shared Wi-Fi: one guesser there keeps out only browsers that never logged in ------


WIFI = "190.85.12.34"


def _guess_until_the_address_waits_the_most(app, clock) -> None:
    """Someone on the centre's Wi-Fi types made-up names until the address's wait is at its cap."""
    guesser = _client(app, WIFI)
    for i in range(40):
        res = _login(guesser, f"name{i}", "not the password!")
        if res.status_code == 429:
            clock.advance(int(res.headers["Retry-After"]))
    res = _login(guesser, "one more", "not the password!")
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 600


def test_a_browser_that_logged_in_before_passes_the_address_wait_a_new_one_does_not(app, make, clock):
    make.user("clerk", "reception")
    desk = _client(app, WIFI)
    assert _login(desk, "clerk").status_code == 302  # the desk's browser, yesterday
    desk.post("/logout", data={"csrf_token": csrf(desk, "/account")})
    _guess_until_the_address_waits_the_most(app, clock)
    assert _login(desk, "clerk").status_code == 302  # right name, right password, a known browser
    stranger = _client(app, WIFI)  # a browser that never logged in here: the spraying guard holds
    res = _login(stranger, "clerk")
    assert res.status_code == 429 and "Retry-After" in res.headers


def test_a_known_browser_is_known_to_its_own_account_only(app, make, clock):
    make.user("clerk", "reception")
    make.user("manager", "centre_manager")
    desk = _client(app, WIFI)
    assert _login(desk, "clerk").status_code == 302
    desk.post("/logout", data={"csrf_token": csrf(desk, "/account")})
    _guess_until_the_address_waits_the_most(app, clock)
    assert _login(desk, "manager").status_code == 429  # another name from the same browser still waits
    forged = _client(app, WIFI)
    forged.set_cookie("msc_known", desk.get_cookie("msc_known").value[:-2] + "xx")
    assert _login(forged, "clerk").status_code == 429  # a cookie not signed by the server counts for nothing


def test_a_known_browsers_wrong_passwords_still_count_against_the_account(app, make, clock):
    make.user("clerk", "reception")
    desk = _client(app, WIFI)
    assert _login(desk, "clerk").status_code == 302
    desk.post("/logout", data={"csrf_token": csrf(desk, "/account")})
    codes = [_login(desk, "clerk", "not the password!").status_code for _ in range(8)]
    assert 429 in codes  # the account's own back-off holds every browser


def test_a_phone_flooding_the_form_on_the_wifi_does_not_stop_a_known_desk(app, make):
    make.user("clerk", "reception")
    limited = limited_app(app)
    try:
        desk, phone = limited.test_client(), limited.test_client()
        phone.environ_base["REMOTE_ADDR"] = desk.environ_base["REMOTE_ADDR"] = WIFI
        assert _login(desk, "clerk").status_code == 302
        desk.post("/logout", data={"csrf_token": csrf(desk, "/account")})
        token = csrf(phone, "/login")
        for i in range(10):
            phone.post("/login", data={"username": f"x{i}", "password": "y" * 12, "csrf_token": token})
        assert (
            phone.post("/login", data={"username": "x", "password": "y" * 12, "csrf_token": token}).status_code == 429
        )
        assert _login(desk, "clerk").status_code == 302
    finally:
        limited.extensions["msc.engine"].dispose()
