"""Webhooks for partner organisations: their referrals' events, signed, retried with back-off by the job
runner, never naming a person, with a delivery log the administrator reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from msc.api import webhooks
from msc.api.models import WebhookDelivery, WebhookSubscription
from msc.db import session, utcnow
from msc.jobs import runner
from msc.partners.models import Organisation
from msc.security.actor import SYSTEM
from msc.security.models import AuditEvent
from tests.conftest import csrf
from tests.test_access import login_as


class Receiver:
    """A partner's server on this machine: keeps what it is sent, answers `status` (and where to go)."""

    def __init__(self):
        self.received: list = []
        self.status = 200
        self.location: str | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.headers, body))
                self.send_response(outer.status)
                if outer.location:
                    self.send_header("Location", outer.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/msc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def partner(app, make, receiver):
    """A partner organisation subscribed to its referrals being sent and cancelled, and a caseworker."""
    caseworker = make.user("cw", "caseworker")
    org_id, service_id = make.partner()
    other_org, other_service = make.partner(name="Albergue San José", sector="shelter")
    with app.test_request_context():
        created = webhooks.subscribe(
            SYSTEM, session.get(Organisation, org_id), receiver.url, ["referral.sent", "referral.cancelled"]
        )
        session.commit()
    return {
        "cw": caseworker,
        "org": org_id,
        "service": service_id,
        "other_service": other_service,
        "secret": created.secret,
        "subscription": created.subscription.uid,
    }


def _deliveries():
    return list(session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What the partner's server does with each delivery."""
    fields = dict(part.split("=", 1) for part in headers["X-MSC-Signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_the_secret_is_kept_encrypted_and_shown_once(app, partner):
    assert partner["secret"].startswith("whsec_") and len(partner["secret"]) > 40
    with app.app_context():
        row = session.execute(sa.text("SELECT * FROM webhook_subscriptions")).mappings().one()
        assert partner["secret"] not in json.dumps({k: str(v) for k, v in row.items()})
        assert session.scalar(sa.select(WebhookSubscription)).secret == partner["secret"]


def test_a_sent_referral_is_delivered_signed_and_names_no_one(app, make, partner, receiver):
    referral = make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    make.referral(partner["cw"], partner["other_service"], given_names="Luz", family_names="Marín")
    with app.test_request_context():
        assert [d.event for d in _deliveries()] == ["referral.sent"], "another organisation's referral: nothing"
        runner.run_queued()
        delivery = _deliveries()[0]
        assert delivery.state == "delivered" and delivery.attempts == 1 and delivery.last_status == 200
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert _verify(partner["secret"], headers, body)
    assert not _verify("whsec_someone-else", headers, body)
    assert headers["X-MSC-Event"] == "referral.sent" and headers["X-MSC-Delivery"] == delivery.uid
    payload = json.loads(body)
    assert payload["referral"] == {"uid": referral, "status": "sent"} and payload["id"] == delivery.uid
    assert "Rosa" not in body.decode() and "Peña" not in body.decode()


def test_only_the_events_subscribed_are_written(app, make, partner):
    referral = make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    org_user = make.user("crc", "partner")
    with app.test_request_context():
        from msc.referrals import service as referrals
        from msc.referrals.models import Referral
        from msc.security.models import User

        user = session.get(User, org_user)
        user.organisation_id = partner["org"]
        found = session.scalar(sa.select(Referral).where(Referral.uid == referral))
        referrals.answer(user, found, "accepted")
        session.commit()
        assert [d.event for d in _deliveries()] == ["referral.sent"], "accepted is not subscribed"


def test_a_failing_partner_is_tried_again_with_growing_pauses_then_given_up(app, make, partner, receiver):
    receiver.status = 500
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context(), time_machine.travel(utcnow(), tick=False) as clock:
        runner.run_queued()
        delivery = _deliveries()[0]
        assert delivery.state == "pending" and delivery.attempts == 1 and delivery.last_error == "http_500"
        pauses = []
        while delivery.state == "pending":
            pause = delivery.next_attempt_at - utcnow()
            pauses.append(pause)
            assert webhooks.send_due() == (0, 0), "not due yet"
            clock.shift(pause)
            webhooks.send_due()
            session.refresh(delivery)
        assert pauses == list(webhooks.BACKOFF)
        assert delivery.state == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
        assert len(receiver.received) == webhooks.MAX_ATTEMPTS
        assert len({h["X-MSC-Delivery"] for h, _ in receiver.received}) == 1, "the same delivery each time"
        receiver.status = 204
        webhooks.retry(SYSTEM, delivery)
        session.commit()
        runner.run_queued()
        session.refresh(delivery)
        assert delivery.state == "delivered" and delivery.attempts == 1


def test_a_redirect_is_not_followed(app, make, partner, receiver):
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        runner.run_queued()
        delivery = _deliveries()[0]
        assert delivery.state == "pending" and delivery.last_error == "http_302"
    assert len(receiver.received) == 1


def test_private_addresses_and_plain_http_are_refused_in_production(app, make, partner, receiver):
    app.config.update(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_ALLOW_HTTP=False)
    with app.test_request_context():
        org = session.get(Organisation, partner["org"])
        for url in ("http://example.org/hook", "ftp://example.org", "https://user:pw@example.org/", "https://"):
            with pytest.raises(webhooks.WebhookError):
                webhooks.subscribe(SYSTEM, org, url, ["referral.sent"])
        with pytest.raises(webhooks.WebhookError, match="at least one event"):
            webhooks.subscribe(SYSTEM, org, "https://example.org/hook", ["referral.nothing"])
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        runner.run_queued()
        assert _deliveries()[0].last_error == "refused_address", "127.0.0.1 is not a partner's server"
    assert receiver.received == []
    with app.test_request_context():
        for host in ("localhost", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]", "0.0.0.0"):
            assert not webhooks._public_address(f"https://{host}/hook"), host


def test_stopping_a_subscription_sends_nothing_more(app, make, partner, receiver):
    receiver.status = 503
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        runner.run_queued()
        subscription = session.scalar(sa.select(WebhookSubscription))
        webhooks.deactivate(SYSTEM, subscription)
        session.commit()
        assert _deliveries()[0].state == "failed" and _deliveries()[0].last_error == "stopped"
        with pytest.raises(webhooks.WebhookError):
            webhooks.deactivate(SYSTEM, subscription)
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        assert len(_deliveries()) == 1
        actions = [e.action for e in session.scalars(sa.select(AuditEvent))]
        assert "webhook.subscribe" in actions and "webhook.stop" in actions


def test_two_senders_never_send_the_same_attempt(app, make, partner, receiver):
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        delivery_id = _deliveries()[0].id
        assert webhooks._take(delivery_id) is not None
        assert webhooks._take(delivery_id) is None, "held by the first sender's lease"


# ---- the administrator's pages ----------------------------------------------------------------------


def _admin(app, make, client, locale="en"):
    login_as(app, client, make.user("boss", "admin", scope="region", locale=locale, mfa_secret=pyotp.random_base32()))


def test_an_admin_subscribes_a_partner_reads_the_log_and_sends_a_failed_delivery_again(app, make, client, receiver):
    _admin(app, make, client)
    org_id, service_id = make.partner()
    caseworker = make.user("cw", "caseworker")
    token = csrf(client, "/admin/api/webhooks")
    refused = client.post(
        "/admin/api/webhooks",
        data={"csrf_token": token, "organisation_id": org_id, "url": "ftp://x", "events": []},
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "ftp://x" in text and "https://" in text
    res = client.post(
        "/admin/api/webhooks",
        data={
            "csrf_token": token,
            "organisation_id": org_id,
            "url": receiver.url,
            "events": ["referral.sent"],
        },
    )
    assert res.status_code == 200 and res.headers["Cache-Control"].startswith("no-store")
    secret = res.get_data(as_text=True).split('value="whsec_', 1)[1].split('"', 1)[0]
    assert len(secret) > 30
    again = client.get("/admin/api/webhooks").get_data(as_text=True)
    assert secret not in again and receiver.url in again
    receiver.status = 500
    make.referral(caseworker, service_id, given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        runner.run_queued()
        subscription = session.scalar(sa.select(WebhookSubscription))
        delivery = _deliveries()[0]
        delivery.state, delivery.next_attempt_at = "failed", None  # as after the last attempt
        session.commit()
        uid, delivery_uid = subscription.uid, delivery.uid
    log = client.get(f"/admin/api/webhooks/{uid}")
    assert log.status_code == 200 and "HTTP 500" in log.get_data(as_text=True)
    receiver.status = 200
    token = csrf(client, f"/admin/api/webhooks/{uid}")
    res = client.post(f"/admin/api/webhooks/deliveries/{delivery_uid}/retry", data={"csrf_token": token})
    assert res.status_code == 302
    with app.test_request_context():
        runner.run_queued()
        assert _deliveries()[0].state == "delivered"
    res = client.post(f"/admin/api/webhooks/{uid}/stop", data={"csrf_token": token})
    assert res.status_code == 302
    with app.app_context():
        assert session.scalar(sa.select(WebhookSubscription)).active is False


def test_the_pages_speak_spanish(app, make, client):
    _admin(app, make, client, locale="es")
    text = client.get("/admin/api/webhooks").get_data(as_text=True)
    assert "Nueva suscripción" in text and "Una remisión fue enviada a la organización" in text


def test_deliveries_are_sent_each_minute_by_the_schedule(app):
    assert app.config["JOBS_SCHEDULE"]["webhooks.deliver"] == "every minute"
    with app.app_context():
        assert webhooks.due(utcnow() + dt.timedelta(days=1)) == []


def test_a_name_that_resolves_public_when_checked_and_private_when_connecting_gets_nothing(
    app, make, partner, receiver, monkeypatch
):
    """DNS rebinding: the check before sending passes, the connection reaches our own network; the
    connection itself is checked, and the partner's "server" on 127.0.0.1 receives nothing."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=False)
    monkeypatch.setattr(webhooks, "_public_address", lambda url: True)  # the first answer: a public address
    make.referral(partner["cw"], partner["service"], given_names="Rosa", family_names="Peña")
    with app.test_request_context():
        runner.run_queued()
        delivery = _deliveries()[0]
        assert delivery.state == "pending" and delivery.last_error == "refused_address"
    assert receiver.received == []
