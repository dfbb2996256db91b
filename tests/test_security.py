"""Accounts, sessions, MFA, headers and CSRF."""

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from msc.db import session, utcnow
from msc.security import passwords
from msc.security.models import AuditEvent, LoginThrottle, User, UserSession
from tests.conftest import PASSWORD, csrf, limited_app, statements_run
from tests.test_qr import assert_scalable_qr


def _actions(app):
    with app.app_context():
        return [e.action for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))]


# ---- passwords -----------------------------------------------------------------------------


def test_argon2id_parameters():
    h = passwords.hash_password("a long enough passphrase")
    assert h.startswith("$argon2id$") and "m=19456,t=2,p=1" in h
    assert passwords.verify_password(h, "a long enough passphrase")
    assert not passwords.verify_password(h, "another passphrase")


@pytest.mark.parametrize(
    "pw",
    ["short", "123456789012", "qwerty123456", "passwordpassword", "contraseña2024", "aaaaaaaaaaaaaaa", "Password1234!"],
)
def test_weak_passwords_are_refused(ctx, pw):
    assert passwords.password_problem(pw) is not None


def test_no_composition_rules(ctx):
    assert passwords.password_problem("tortuga verde sobre la mesa") is None
    assert passwords.password_problem("mi clave de laura", username="laura") is not None


# ---- login, lockout, rate limit ----------------------------------------------------------------


def test_login_and_logout(app, make, auth, client):
    make.user("clerk", "reception")
    res = auth.login("clerk")
    assert res.status_code == 302 and res.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302  # back to login
    assert {"login", "logout"} <= set(_actions(app))


def test_wrong_password_says_so_and_keeps_the_username(make, auth):
    make.user("clerk", "reception")
    res = auth.login("clerk", "wrong password here")
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "Wrong username or password." in html and 'value="clerk"' in html
    assert "wrong password here" not in html


def test_repeated_failures_slow_down_rather_than_lock(app, make, auth):
    """(The attacks on the back-off are in tests/test_login_attacks.py.)"""
    make.user("clerk", "reception")
    for _ in range(app.config["LOGIN_BACKOFF_FREE"] + 1):
        assert auth.login("clerk", "not the password!").status_code == 422
    res = auth.login("clerk")  # even the right password is refused inside the wait
    assert res.status_code == 429 and "Too many attempts: try again in 1 second." in res.get_data(as_text=True)
    assert res.headers["Retry-After"] == "1"
    assert "login.throttled" in _actions(app) and "login.lockout" not in _actions(app)
    with app.app_context():
        session.execute(sa.update(LoginThrottle).values(blocked_until=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    assert auth.login("clerk").status_code == 302


def test_unknown_user_failure_is_audited_without_the_name(app, auth):
    auth.login("nobody-here", "whatever password")
    with app.app_context():
        ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login.failed")).one()
        assert "nobody" not in (ev.detail or "") and ev.user_id is None


def test_login_is_rate_limited(app, make):
    limited = limited_app(app, LOGIN_RATE_LIMIT="3 per minute")
    c = limited.test_client()
    token = csrf(c, "/login")
    codes = [
        c.post("/login", data={"username": "x", "password": "y" * 12, "csrf_token": token}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [422, 422, 422] and codes[3] == 429
    assert "Too many attempts" in c.post("/login", data={"csrf_token": token}).get_data(as_text=True)
    limited.extensions["msc.engine"].dispose()


def test_inactive_user_cannot_log_in(app, make, auth):
    uid = make.user("clerk", "reception")
    with app.app_context():
        session.get(User, uid).active = False
        session.commit()
    assert auth.login("clerk").status_code == 422


# ---- MFA -----------------------------------------------------------------------------------


def test_mfa_role_must_enrol_then_a_code_works_once(app, make, auth, client):
    make.user("officer", "protection_officer", scope="region")
    res = auth.login("officer")
    assert res.headers["Location"] == "/login/enrol"
    page = client.get("/login/enrol").get_data(as_text=True)
    assert "<svg" in page
    assert_scalable_qr(page)
    with app.app_context():
        secret = session.scalar(sa.select(User).where(User.username == "officer")).mfa_pending_secret
    assert secret and secret in page
    # the QR code is only shown; the secret is stored encrypted
    with app.app_context():
        raw = session.execute(sa.text("SELECT mfa_pending_ct FROM users WHERE username='officer'")).scalar()
        assert secret.encode() not in raw
    res = client.post("/login/enrol", data={"code": "000000", "csrf_token": csrf(client, "/login/enrol")})
    assert res.status_code == 422 and "not right" in res.get_data(as_text=True)
    code = pyotp.TOTP(secret).now()
    res = client.post("/login/enrol", data={"code": code, "csrf_token": csrf(client, "/login/enrol")})
    assert res.status_code == 302 and client.get("/").status_code == 200
    auth.logout()
    # next login asks for a code; the code just used is refused (a code works once)
    assert auth.login("officer").headers["Location"] == "/login/code"
    res = client.post("/login/code", data={"code": code, "csrf_token": csrf(client, "/login/code")})
    assert res.status_code == 422 and "already used" in res.get_data(as_text=True)
    with app.app_context():
        user = session.scalar(sa.select(User).where(User.username == "officer"))
        user.mfa_last_step -= 2  # as if the last code was a minute ago
        session.commit()
    res = client.post("/login/code", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf(client, "/login/code")})
    assert res.status_code == 302


def test_mfa_step_cannot_be_skipped(make, auth, client):
    make.user("admin1", "admin", scope="region", mfa_secret=pyotp.random_base32())
    auth.login("admin1")
    assert client.get("/admin/users").status_code == 302  # not logged in yet
    assert client.get("/login/enrol").status_code == 302  # wrong stage


# ---- sessions -------------------------------------------------------------------------------


def _sessions(app, username):
    with app.app_context():
        return list(session.scalars(sa.select(UserSession).join(User).where(User.username == username)))


def test_idle_timeout_ends_the_session(app, make, auth, client):
    make.user("clerk", "reception")
    auth.login("clerk")
    with app.app_context():
        s = session.scalars(sa.select(UserSession)).one()
        s.last_seen_at = utcnow() - dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
        session.commit()
    assert client.get("/").status_code == 302
    assert _sessions(app, "clerk")[0].revoked_reason == "idle"


def test_absolute_lifetime_ends_the_session(app, make, auth, client):
    make.user("clerk", "reception")
    auth.login("clerk")
    with app.app_context():
        s = session.scalars(sa.select(UserSession)).one()
        s.created_at = utcnow() - dt.timedelta(minutes=app.config["SESSION_ABSOLUTE_MINUTES"] + 1)
        session.commit()
    assert client.get("/").status_code == 302


def test_logout_revokes_the_session_server_side(app, make, auth, client):
    make.user("clerk", "reception")
    auth.login("clerk")
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    auth.logout()
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert other.get("/").status_code == 302


def test_a_request_loads_its_user_and_centres_with_the_session_in_one_statement_without_keys(app, make, auth, client):
    """Every request reads its session, user and centres in one statement, and never the data keys: joined,
    PostgreSQL planned that statement as a merge join over every person's data key whenever the users'
    statistics were older than the user (20 ms a request at 100,000 people)."""
    make.user("clerk", "reception")
    auth.login("clerk")
    with app.app_context():
        engine = session.get_bind()
    with statements_run(engine) as seen:
        assert client.get("/account").status_code == 200
    of_users = [s for s in seen if "FROM users" in s or "JOIN users" in s]
    assert of_users and not any("data_keys" in s for s in of_users)
    assert not any("FROM user_sessions" in s and "JOIN users" not in s for s in seen)
    assert not any(s.lstrip().startswith("SELECT user_centres") for s in seen), "the centres come with the user"


def test_deactivation_and_password_change_end_other_sessions(app, make, auth, client):
    uid = make.user("clerk", "reception")
    auth.login("clerk")
    second = app.test_client()
    from tests.conftest import Auth

    Auth(second).login("clerk")
    res = client.post(
        "/account",
        data={
            "pw-current_password": PASSWORD,
            "pw-new_password": "a brand new passphrase",
            "pw-csrf_token": csrf(client, "/account"),
        },
    )
    assert res.status_code == 302
    assert client.get("/").status_code == 200  # this device stays in
    assert second.get("/").status_code == 302  # the other one is out
    from msc.security import service

    with app.app_context():
        service.revoke_all_sessions(session.get(User, uid), "deactivated")
        session.commit()
    assert client.get("/").status_code == 302


def test_password_change_refuses_a_weak_password_with_a_message(make, auth, client):
    make.user("clerk", "reception")
    auth.login("clerk")
    res = client.post(
        "/account",
        data={
            "pw-current_password": PASSWORD,
            "pw-new_password": "123456789012",
            "pw-csrf_token": csrf(client, "/account"),
        },
    )
    assert res.status_code == 422 and "too common" in res.get_data(as_text=True)


def test_language_is_stored_per_user(app, make, auth, client):
    make.user("clerk", "reception", locale="en")
    auth.login("clerk")
    client.post("/language", data={"lang": "pt_BR", "next": "/", "csrf_token": csrf(client, "/")})
    with app.app_context():
        assert session.scalar(sa.select(User.locale).where(User.username == "clerk")) == "pt_BR"


# ---- redirects, headers, CSRF --------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_never_leaves_the_site(make, client, target):
    make.user("clerk", "reception")
    client.get("/login")
    res = client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "next": target, "csrf_token": csrf(client, "/login")}
    )
    assert res.headers["Location"] == "/"


def test_next_within_the_site_is_followed(make, client):
    make.user("clerk", "reception")
    res = client.post(
        "/login",
        data={
            "username": "clerk",
            "password": PASSWORD,
            "next": "/account",
            "csrf_token": csrf(client, "/login?next=/account"),
        },
    )
    assert res.headers["Location"] == "/account"


def test_security_headers(client):
    res = client.get("/login")
    csp = res.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Cache-Control"] == "no-store"
    cookie_res = client.post("/language", data={"lang": "en", "csrf_token": csrf(client, "/login")})
    cookie = cookie_res.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_hsts_and_secure_cookies_in_production_settings(app):
    from msc.settings import CONFIG_DIR

    ns = {}
    exec((CONFIG_DIR / "production.example.py").read_text(), ns)
    assert ns["HSTS"] is True and ns["SESSION_COOKIE_SECURE"] is True


def test_state_changes_need_csrf(make, auth, client):
    make.user("clerk", "reception")
    auth.login("clerk")
    res = client.post("/search", data={"q": "ana"})
    assert res.status_code == 400 and "expired" in res.get_data(as_text=True)
    res = client.post("/logout")
    assert res.status_code == 400


def test_no_page_leaks_a_stack_trace(app, make, auth, client, monkeypatch):
    make.user("clerk", "reception")
    auth.login("clerk")
    from msc.beneficiaries import search as search_mod

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(search_mod, "search", boom)
    res = client.post("/search", data={"q": "ana", "csrf_token": csrf(client, "/")})
    html = res.get_data(as_text=True)
    assert res.status_code == 500 and "secret internals" not in html and "Traceback" not in html
