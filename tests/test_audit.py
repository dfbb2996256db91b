"""The audit log is append-only and tamper-evident; its head is witnessed outside the database."""

import socket
import time
from pathlib import Path

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


# ---- the witness: the chain's head kept outside the database --------------------------------------


def _witness(app):
    return Path(app.config["AUDIT_WITNESS_FILE"])


def _anchor(app):
    res = app.test_cli_runner().invoke(args=["audit", "anchor"])
    assert res.exit_code == 0, res.output
    return res


def _delete_from(app, seq):
    with app.app_context():
        session.execute(sa.delete(AuditEvent).where(AuditEvent.seq >= seq))
        session.commit()


def test_deleting_the_newest_records_is_detected(app):
    _fill(app, 300)
    _anchor(app)
    assert "seq=300 " in _witness(app).read_text()
    _delete_from(app, 101)  # the attack: the newest 200 records go, the rest still chains
    res = _verify(app)
    assert res.exit_code != 0 and "records 101–300 are missing" in res.output
    assert "the witness saw record 300" in res.output
    res = _verify(app)  # still found after the check wrote a new head over the shortened chain
    assert res.exit_code != 0 and "records 102–300 are missing" in res.output


def test_deleting_every_record_is_detected(app):
    _fill(app, 5)  # the commit itself wrote the head to the witness
    assert "seq=5 " in _witness(app).read_text()
    _delete_from(app, 1)
    res = _verify(app)
    assert res.exit_code != 0 and "all records are missing (records 1–5 are missing)" in res.output


def test_a_chain_written_again_after_deleting_is_detected(app):
    _fill(app, 30)
    _anchor(app)
    _delete_from(app, 11)
    _fill(app, 30)  # the app writes on: valid MACs again, up to record 40, past what the witness saw
    res = _verify(app)
    assert res.exit_code != 0 and "broken at record 30" in res.output
    assert "it is not the record the witness saw" in res.output


def test_a_witnessed_record_that_was_changed_is_detected(app):
    _fill(app, 5)
    _anchor(app)
    with app.app_context():
        session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 5).values(detail="other"))
        session.commit()
    res = _verify(app)
    assert res.exit_code != 0 and "broken at record 5" in res.output


def test_a_forged_witness_line_is_detected(app):
    _fill(app, 5)
    _anchor(app)
    path = _witness(app)
    genuine = path.read_text().splitlines()[-1]
    with path.open("a") as f:  # someone without the keys tries to make the chain look longer or shorter
        f.write(genuine.replace("seq=5 ", "seq=9 ") + "\n")
    res = _verify(app)
    assert res.exit_code != 0 and "line 2 of the witness" in res.output and "does not authenticate" in res.output
    with path.open("a") as f:
        f.write("garbage\n")
    res = _verify(app)  # (the check before wrote line 3)
    assert res.exit_code != 0 and "line 4 of the witness" in res.output and "is not a witness line" in res.output


def test_the_dpo_page_reports_missing_records(app, make):
    from tests.test_access import login_as

    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    login_as(app, client, make.user("dpo", "dpo", scope="region"))
    _fill(app, 20)
    _anchor(app)
    with app.app_context():
        last = session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
    _delete_from(app, last - 9)
    client.post("/dpo/verify")
    page = client.get("/dpo/").get_data(as_text=True)
    assert f"Broken at record {last - 9}" in page and f"records {last - 9}–{last} are missing" in page


def test_a_commit_with_audit_records_writes_the_head_at_most_once_a_minute(app):
    with app.app_context():
        audit.record("test.event")
        session.rollback()  # records that never committed are never witnessed
    assert not _witness(app).exists()
    _fill(app, 2)
    assert _witness(app).read_text().count("msc-audit-head v1") == 1
    _fill(app, 2)  # within the minute: not again
    assert _witness(app).read_text().count("msc-audit-head v1") == 1
    app.extensions["msc.witness_at"] -= 61
    _fill(app, 2)
    lines = _witness(app).read_text().splitlines()
    assert len(lines) == 2 and "seq=6 " in lines[-1]
    assert "already witnessed" in _anchor(app).output  # the timer's idle minute adds nothing
    assert len(_witness(app).read_text().splitlines()) == 2
    res = _verify(app)
    assert res.exit_code == 0 and "intact: 6 records; the witness saw record 6" in res.output
    assert "seq=7 " in _witness(app).read_text().splitlines()[-1]  # every check writes the head


def test_witness_lines_kept_elsewhere_are_compared_too(app, tmp_path):
    _fill(app, 5)
    _anchor(app)
    copy = tmp_path / "collector.log"  # lines as a remote syslog collector keeps them
    lines = _witness(app).read_text().splitlines()
    copy.write_text("".join(f"Dec  2 10:00:00 msc msc-audit: {line}\n" for line in lines))
    _witness(app).unlink()  # the attacker also removed the local witness
    _delete_from(app, 3)
    res = app.test_cli_runner().invoke(args=["audit", "verify", "--witness", str(copy)])
    assert res.exit_code != 0 and "records 3–5 are missing" in res.output


def test_the_head_goes_to_syslog(app):
    _fill(app, 3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        app.config["AUDIT_WITNESS_SYSLOG"] = f"127.0.0.1:{sock.getsockname()[1]}"
        app.config["AUDIT_WITNESS_FILE"] = ""
        assert "syslog 127.0.0.1" in _anchor(app).output
        message = sock.recv(4096).decode()
    with app.app_context():
        head = session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 3))
    assert "msc-audit: msc-audit-head v1" in message and f"seq=3 mac={head.mac} sig=" in message


def test_verify_says_when_there_is_nothing_to_compare_with(app):
    _fill(app, 3)
    _witness(app).unlink()
    res = _verify(app)
    assert res.exit_code == 0 and "holds no head yet" in res.output
    app.config["AUDIT_WITNESS_FILE"] = ""
    res = _verify(app)
    assert res.exit_code == 0 and "no witness file to compare with" in res.output


def test_reading_the_head_for_the_witness_never_waits_for_a_writer(app):
    """The head is read on a connection of its own after a commit; on SQLite that read must not take the
    write lock, or a commit made while another transaction writes (the demo load, a second desk) would
    wait for the busy timeout and the head would not be written."""
    from msc.security import witness

    _fill(app, 3)
    engine = app.extensions["msc.engine"]
    with engine.connect() as writer, app.app_context():
        writer.execute(sa.text("UPDATE audit_events SET action = action WHERE seq = 1"))  # holds the write lock
        started = time.monotonic()
        head = witness.current_head(engine)
        assert time.monotonic() - started < 2
        writer.rollback()
    assert head is not None and head.seq == 3
