"""Who a message to a centre's public page is counted against, so that nobody can silence the page:

- each device (a random id in a cookie the page sets: nothing about the person) may send
  FEEDBACK_RATE_LIMIT; a sender without that cookie is counted with everyone else of its address;
- each address (after the trusted proxy) may send FEEDBACK_ADDRESS_LIMIT in all, a ceiling high enough
  for the people behind one shared Wi-Fi;
- a centre's kiosk — a tablet a centre manager marked as the centre's, which then holds no staff
  session — sends as many as FEEDBACK_KIOSK_RATE_LIMIT, counted on its own, and neither of the above.

A flooder therefore uses up their own device's allowance and at most their address's, never a centre's or
another address's; a kiosk in a busy centre is not stopped by the people who queue to use it."""

from __future__ import annotations

import re
import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from msc.extensions import client_network

DEVICE_COOKIE = "msc_fb_device"
KIOSK_COOKIE = "msc_fb_kiosk"
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
_YEAR = 365 * 24 * 3600


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="feedback-kiosk")


def kiosk_token(centre_code: str) -> str:
    """The signed cookie value that makes a device the kiosk of a centre."""
    return _signer().dumps({"centre": centre_code, "kiosk": secrets.token_urlsafe(12)})


def kiosk() -> dict | None:
    """The kiosk this request comes from, if its cookie is genuine and not older than FEEDBACK_KIOSK_DAYS."""
    raw = request.cookies.get(KIOSK_COOKIE)
    if not raw:
        return None
    try:
        found = _signer().loads(raw, max_age=int(current_app.config["FEEDBACK_KIOSK_DAYS"]) * 24 * 3600)
    except BadSignature:
        return None
    return found if isinstance(found, dict) and {"centre", "kiosk"} <= set(found) else None


def on_kiosk() -> bool:
    """A kiosk sends to its own centre's pages (and the status page) under the kiosk's allowance."""
    found = kiosk()
    if found is None:
        return False
    code = (request.view_args or {}).get("code")
    return code is None or str(code).upper() == found["centre"]


def not_on_kiosk() -> bool:
    return not on_kiosk()


def kiosk_key() -> str:
    found = kiosk()
    return f"kiosk:{found['kiosk']}" if found else f"addr:{client_network()}"


def device_key() -> str:
    device = request.cookies.get(DEVICE_COOKIE, "")
    return f"device:{device}" if _DEVICE_ID.fullmatch(device) else f"addr:{client_network()}"


def address_key() -> str:
    return f"addr:{client_network()}"


def device_limit() -> str:
    return str(current_app.config["FEEDBACK_RATE_LIMIT"])


def address_limit() -> str:
    return str(current_app.config["FEEDBACK_ADDRESS_LIMIT"])


def kiosk_limit() -> str:
    return str(current_app.config["FEEDBACK_KIOSK_RATE_LIMIT"])


def give_device_id(response: Response) -> Response:
    """A device that has none gets its random id with the page (it sends it back with its message)."""
    if not _DEVICE_ID.fullmatch(request.cookies.get(DEVICE_COOKIE, "")):
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(24),
            max_age=_YEAR,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    return response


def make_kiosk(response: Response, centre_code: str) -> Response:
    response.set_cookie(
        KIOSK_COOKIE,
        kiosk_token(centre_code),
        max_age=int(current_app.config["FEEDBACK_KIOSK_DAYS"]) * 24 * 3600,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response
