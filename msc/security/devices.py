"""Browsers known to an account: one that completed a login to an account name (password, and the code
where one is asked) carries a signed cookie naming the name's keyed hash (never the name). At that name's
next login the address's back-off and the login rate limit per address do not hold it up: a guesser on a
centre's shared Wi-Fi, or a phone posting the form again and again there, keeps out only browsers that
never logged in at that centre. Password spraying from one address still meets the address's wait, as a
guesser's browser knows no account it has not logged in to; the account's own back-off and lock apply to
every browser."""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from msc.security.throttle import account_key

COOKIE = "msc_known"
#: the account names one browser stays known to (the latest ones)
KEPT = 8


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _max_age() -> int:
    return int(current_app.config["KNOWN_DEVICE_DAYS"]) * 24 * 3600


def _known_keys() -> list[str]:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return []
    try:
        keys = _signer().loads(raw, max_age=_max_age())
    except (BadSignature, ValueError, TypeError):
        return []
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def knows(username: str | None) -> bool:
    """Whether this browser completed a login to this account name within KNOWN_DEVICE_DAYS."""
    return bool(username) and account_key(username or "") in _known_keys()


def remember(response: Response, username: str) -> Response:
    """After a completed login: this browser is known to the account name (the latest KEPT names)."""
    key = account_key(username)
    keys = [key] + [k for k in _known_keys() if k != key][: KEPT - 1]
    response.set_cookie(
        COOKIE,
        _signer().dumps(keys),
        max_age=_max_age(),
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", True)),
        httponly=True,
        samesite="Lax",
    )
    return response
