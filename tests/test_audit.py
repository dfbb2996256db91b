"""The audit log is append-only and tamper-evident."""

import sqlalchemy as sa

from msc.db import session
from msc.security import audit
from msc.security.models import AuditEvent


def _fill(app, n=5):
    with app.test_request_context():
        for i in range(n):
            audit.record("test.event", object_type="thing", object_id=i, detail=f"field_{i}")
        session.commit()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_intact_chain_verifies(app):
    _fill(app)
    res = _verify(app)
    assert res.exit_code == 0 and "intact: 5 records" in res.output


def test_edited_record_is_reported(app):
    _fill(app)
    with app.app_context():
        session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 3).values(detail="changed"))
        session.commit()
    res = _verify(app)
    assert res.exit_code != 0 and "broken at record 3" in res.output and "changed" in res.output


def test_deleted_record_is_reported(app):
    _fill(app)
    with app.app_context():
        session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 2))
        session.commit()
    res = _verify(app)
    assert res.exit_code != 0 and "broken at record 3" in res.output


def test_reordered_records_are_reported(app):
    _fill(app)
    with app.app_context():
        a, b = session.scalars(sa.select(AuditEvent).where(AuditEvent.seq.in_([2, 4])).order_by(AuditEvent.seq))
        a_vals = (a.action, a.object_id, a.detail, a.mac, a.prev_mac)
        a.action, a.object_id, a.detail, a.mac, a.prev_mac = b.action, b.object_id, b.detail, b.mac, b.prev_mac
        b.action, b.object_id, b.detail, b.mac, b.prev_mac = a_vals
        session.commit()
    res = _verify(app)
    assert res.exit_code != 0 and "broken at record 2" in res.output


def test_records_carry_no_values(app, make, auth, client):
    from tests.conftest import csrf

    make.user("clerk", "reception")
    uid = make.person(given_names="Wendolyn", family_names="Zapateiro")
    auth.login("clerk")
    client.post("/search", data={"q": "wendolyn zapateiro", "csrf_token": csrf(client, "/")})
    client.get(f"/b/{uid}")
    with app.app_context():
        rows = session.execute(sa.select(AuditEvent.action, AuditEvent.detail, AuditEvent.object_id)).all()
    text = repr(rows).lower()
    assert "wendolyn" not in text and "zapateiro" not in text
    actions = {r.action for r in rows}
    assert {"beneficiary.create", "login", "beneficiary.search", "beneficiary.view"} <= actions
