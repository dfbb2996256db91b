"""Who a message to a centre's public page is counted against, so that nobody can silence the page:

- each device (a random id the server signs, in a cookie the page sets: nothing about the person) may
  send FEEDBACK_RATE_LIMIT, and is not held by its address's ceiling;
- an address (after the trusted proxies; an IPv6 one by its /64) is handed at most FEEDBACK_NEW_DEVICES
  new device ids, so ids made up, or minted again and again, give a flooder no more allowances; a sender
  without a device id (none left to hand out, or no cookie kept) is counted with everyone else of its
  address, under FEEDBACK_ADDRESS_LIMIT, a ceiling high enough for the people behind one shared Wi-Fi;
- a centre's kiosk — a tablet a centre manager marked as the centre's, which then holds no staff
  session — sends as many as FEEDBACK_KIOSK_RATE_LIMIT, counted on its own, and neither of the above.

A flooder therefore uses up their own devices' allowances and at most their address's ceiling, never a
centre's, another address's, or a neighbour's device that already has its id; a kiosk in a busy centre is
not stopped by the people who queue to use it."""

from __future__ import annotations

import re
import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse
from werkzeug.wrappers import Response

from msc.extensions import client_network, limiter

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


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="feedback-device")


def device_id() -> str | None:
    """The device id this request carries, if the server signed it (within the last year)."""
    raw = request.cookies.get(DEVICE_COOKIE, "")
    if not raw or len(raw) > 200:
        return None
    try:
        found = _device_signer().loads(raw, max_age=_YEAR)
    except BadSignature:
        return None
    return found if isinstance(found, str) and _DEVICE_ID.fullmatch(found) else None


def kiosk_or_device() -> bool:
    """Not counted under the address's ceiling: a kiosk, or a device with its signed id."""
    return on_kiosk() or device_id() is not None


def device_key() -> str:
    device = device_id()
    return f"device:{device}" if device else f"addr:{client_network()}"


def address_key() -> str:
    return f"addr:{client_network()}"


def device_limit() -> str:
    return str(current_app.config["FEEDBACK_RATE_LIMIT"])


def address_limit() -> str:
    return str(current_app.config["FEEDBACK_ADDRESS_LIMIT"])


def kiosk_limit() -> str:
    return str(current_app.config["FEEDBACK_KIOSK_RATE_LIMIT"])


def _may_hand_out_a_device_id() -> bool:
    """Within the address's allowance of new device ids (FEEDBACK_NEW_DEVICES), counted as it is used."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    allowance = parse(str(current_app.config["FEEDBACK_NEW_DEVICES"]))
    return bool(limiter.limiter.hit(allowance, "feedback-new-device", client_network()))


def give_device_id(response: Response) -> Response:
    """A device that has none gets its random id, signed, with the page (it sends it back with its
    message), while its address has new ids to hand out."""
    if device_id() is None and _may_hand_out_a_device_id():
        response.set_cookie(
            DEVICE_COOKIE,
            _device_signer().dumps(secrets.token_urlsafe(24)),
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
