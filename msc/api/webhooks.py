"""Webhooks: a partner organisation's system is told when one of its referrals moves.

A subscription (an organisation, an https address, the events it takes) is created by an administrator,
who is shown its signing secret once. Each move of a referral addressed to the organisation writes one
delivery per subscription that takes the event, in the same transaction as the move; the job runner
sends it, signed, and tries again with growing pauses when the partner does not answer 2xx. The body
names the referral and its new status only: the partner reads the person's shared data through the API,
where each read is a recorded disclosure.

A delivery is POSTed as JSON with these headers:

    X-MSC-Event: referral.accepted
    X-MSC-Delivery: <the delivery's uid: the same on every attempt>
    X-MSC-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>

The receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant time,
and refuses a timestamp more than five minutes old (a replay).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc.api.models import WebhookDelivery, WebhookSubscription
from msc.crypto import DataKey, new_uid
from msc.db import rows_changed, session, utcnow
from msc.errors import DomainError
from msc.jobs import runner
from msc.partners.models import Organisation
from msc.referrals.models import Referral, ReferralStatus
from msc.security import audit
from msc.security.actor import Actor
from msc.signals import referral_status_moved

#: the events a partner may take: a referral addressed to it moved to this status
EVENTS = {
    "referral.sent": _l("A referral was sent to the organisation"),
    "referral.cancelled": _l("A referral to the organisation was cancelled"),
    "referral.accepted": _l("A referral was accepted"),
    "referral.declined": _l("A referral was declined"),
    "referral.no_show": _l("The person did not come"),
    "referral.completed": _l("A referral was completed"),
}
DELIVERY_STATES = {
    "pending": _l("Waiting to be sent"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed: no more attempts"),
}
#: why an attempt failed (WebhookDelivery.last_error), in words; http_NNN is the partner's HTTP answer
DELIVERY_ERRORS = {
    "timeout": _l("No answer in time"),
    "unreachable": _l("Could not connect"),
    "refused_address": _l("Refused: the address is in a private network"),
    "stopped": _l("The subscription was stopped"),
}
#: the pause before each attempt after a failed one: about a day of trying in all
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(hours=1),
    dt.timedelta(hours=3),
    dt.timedelta(hours=6),
    dt.timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
#: how long a sender holds a delivery it took (another worker leaves it alone meanwhile)
LEASE = dt.timedelta(minutes=5)
#: deliveries sent by one run of the job at most
BATCH = 200
SECRET_PREFIX = "whsec_"
TASK = "webhooks.deliver"
#: the session's flag that a delivery run is queued for this transaction already
_QUEUED = "msc.webhooks.queued"


class WebhookError(DomainError):
    """A subscription refused, in words."""


@dataclass
class Created:
    subscription: WebhookSubscription
    #: shown once, on the page that created it
    secret: str


# ---- subscriptions (the administrator's) -------------------------------------------------------------


def check_url(url: str) -> str:
    """An address deliveries may go to: https (http only where WEBHOOK_ALLOW_HTTP, in development), a host,
    no user or password in it."""
    url = (url or "").strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if current_app.config["WEBHOOK_ALLOW_HTTP"] else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise WebhookError(_l("Give an https:// address."), field="url")
    if parts.username or parts.password:
        raise WebhookError(_l("The address cannot hold a user name or password."), field="url")
    if len(url) > 500:
        raise WebhookError(_l("The address is too long (at most 500 characters)."), field="url")
    return url


def subscribe(user: Actor, organisation: Organisation, url: str, events: list[str]) -> Created:
    """A new subscription for an active partner organisation; its secret is returned once."""
    if not organisation.active:
        raise WebhookError(_l("Choose an active partner organisation."), field="organisation_id")
    chosen = [e for e in EVENTS if e in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise WebhookError(_l("Choose at least one event."), field="events")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    subscription = WebhookSubscription(
        organisation_id=organisation.id,
        url=check_url(url),
        events=",".join(chosen),
        data_key=DataKey.generate(),
        created_by_id=user.id,
    )
    subscription.secret = secret
    session.add(subscription)
    session.flush()
    audit.record("webhook.subscribe", object_type="webhook", object_id=subscription.id, detail=",".join(chosen))
    return Created(subscription, secret)


def deactivate(user: Actor, subscription: WebhookSubscription) -> None:
    """Stop a subscription: nothing more is written for it, and what waits is not sent."""
    if not subscription.active:
        raise WebhookError(_l("This subscription is already stopped."))
    subscription.active = False
    subscription.deactivated_at = utcnow()
    session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription.id, WebhookDelivery.state == "pending")
        .values(state="failed", next_attempt_at=None, last_error="stopped")
    )
    audit.record("webhook.stop", object_type="webhook", object_id=subscription.id)


def subscriptions() -> list[WebhookSubscription]:
    return list(
        session.scalars(
            sa.select(WebhookSubscription).order_by(
                WebhookSubscription.active.desc(), WebhookSubscription.created_at.desc()
            )
        )
    )


def log_of(subscription: WebhookSubscription, limit: int = 100) -> list[WebhookDelivery]:
    """The latest deliveries of a subscription, newest first."""
    return list(
        session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def retry(user: Actor, delivery: WebhookDelivery) -> None:
    """Send a failed delivery again, from its first pause (the partner says it is back)."""
    if delivery.state != "failed" or not delivery.subscription.active:
        raise WebhookError(_l("Only a failed delivery of an active subscription can be sent again."))
    delivery.state = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    _queue_run()
    audit.record("webhook.retry", object_type="webhook", object_id=delivery.subscription_id, detail=delivery.uid)


# ---- events ----------------------------------------------------------------------------------------


def register_listeners() -> None:
    """Write the deliveries of each referral's move, and forget at the end of each transaction that it
    queued its run (once per process, however many apps)."""
    referral_status_moved.connect(_on_referral_moved, weak=False)
    if not sa.event.contains(so.Session, "after_commit", _forget_queued):
        sa.event.listen(so.Session, "after_commit", _forget_queued)
        sa.event.listen(so.Session, "after_rollback", _forget_queued)


def _on_referral_moved(referral: Referral, *, to_status: str, **_kw: Any) -> None:
    event = f"referral.{to_status}"
    if event not in EVENTS or to_status == ReferralStatus.DRAFT:
        return
    listening = [
        s
        for s in session.scalars(
            sa.select(WebhookSubscription).where(
                WebhookSubscription.organisation_id == referral.organisation_id,
                WebhookSubscription.active.is_(True),
            )
        )
        if event in s.event_list
    ]
    if not listening:
        return
    now = utcnow()
    for s in listening:
        delivery = WebhookDelivery(subscription_id=s.id, event=event, next_attempt_at=now, created_at=now)
        delivery.uid = new_uid()
        delivery.body = json.dumps(
            {
                "id": delivery.uid,
                "event": event,
                "occurred_at": now.isoformat(timespec="seconds"),
                "referral": {"uid": referral.uid, "status": to_status},
            },
            separators=(",", ":"),
        )
        session.add(delivery)
    _queue_run()


def _queue_run() -> None:
    """One run of the sender for this transaction's deliveries, started once it commits (the schedule's
    run each minute takes what is left)."""
    if session.info.get(_QUEUED):
        return
    session.info[_QUEUED] = True
    runner.enqueue(TASK)


def _forget_queued(db_session: so.Session) -> None:
    db_session.info.pop(_QUEUED, None)


# ---- sending ---------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: str) -> str:
    """The X-MSC-Signature header's value for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def due(now: dt.datetime, limit: int = BATCH) -> list[int]:
    """The ids of the deliveries whose attempt is due, oldest first."""
    return list(
        session.scalars(
            sa.select(WebhookDelivery.id)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def send_due(now: dt.datetime | None = None) -> tuple[int, int]:
    """Attempt every due delivery once: (delivered, failed attempts). Each is taken with a lease first and
    committed, so two workers never send the same attempt, and a crash leaves it for the next run."""
    delivered = failed = 0
    for delivery_id in due(now or utcnow()):
        delivery = _take(delivery_id)
        if delivery is None:
            continue
        if attempt(delivery):
            delivered += 1
        else:
            failed += 1
        session.commit()
    return delivered, failed


def _take(delivery_id: int) -> WebhookDelivery | None:
    now = utcnow()
    taken = rows_changed(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE)
    )
    session.commit()
    return session.get(WebhookDelivery, delivery_id) if taken else None


def attempt(delivery: WebhookDelivery) -> bool:
    """POST the delivery once, signed; record the answer and when to try again. True when delivered."""
    subscription = delivery.subscription
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if not subscription.active:
        delivery.state, delivery.next_attempt_at, delivery.last_error = "failed", None, "stopped"
        return False
    status, error = _post(subscription.url, delivery, subscription.secret or "")
    delivery.last_status, delivery.last_error = status, error
    if error is None:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        return True
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
    return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to follow (it could point inside our network)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


class _RefusedPeer(OSError):
    """The connection reached an address that is not public."""


def _connect_public(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    """socket.create_connection, refused when the peer it reached is not public. The address checked before
    sending (_public_address) is looked up again to connect: a partner's name server could answer a public
    address the first time and one inside our network the second (DNS rebinding). So the connection
    itself is checked, before TLS or a byte of the request."""
    sock = socket.create_connection(address, *args, **kwargs)
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE"] and not _public(str(sock.getpeername()[0])):
        sock.close()
        raise _RefusedPeer("refused_address")
    return sock


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


_opener = urllib.request.build_opener(_NoRedirect, _PublicHTTPHandler, _PublicHTTPSHandler)


def _post(url: str, delivery: WebhookDelivery, secret: str) -> tuple[int | None, str | None]:
    """(HTTP status or None, None when delivered else why in a word)."""
    if not _public_address(url):
        return None, "refused_address"
    timestamp = int(utcnow().timestamp())
    request = urllib.request.Request(
        url,
        data=delivery.body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "MSC-Case-Webhooks/1",
            "X-MSC-Event": delivery.event,
            "X-MSC-Delivery": delivery.uid,
            "X-MSC-Signature": sign(secret, timestamp, delivery.body),
        },
    )
    try:
        with _opener.open(request, timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"]) as answer:
            status = answer.status
    except urllib.error.HTTPError as err:
        return err.code, f"http_{err.code}"
    except TimeoutError:
        return None, "timeout"
    except urllib.error.URLError as err:
        return None, "refused_address" if isinstance(err.reason, _RefusedPeer) else "unreachable"
    except (OSError, ValueError):
        return None, "unreachable"
    return status, None if 200 <= status < 300 else f"http_{status}"


def _public_address(url: str) -> bool:
    """Whether every address the host names is public (no loopback, private, link-local or reserved
    network), unless WEBHOOK_ALLOW_PRIVATE (development, tests)."""
    if current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        return True
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return False
    return bool(infos) and all(_public(str(info[4][0])) for info in infos)


def _public(address: str) -> bool:
    """Whether an IP address is public: no loopback, private, link-local, reserved or multicast network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast
