"""Personal-data exports: a stated purpose, an AES-256 archive that opens only with the passphrase shown
once, downloaded once by whoever made it before it expires, logged with its purpose's category and row
count (the purpose's words are kept encrypted with the export, never in the audit log)."""

import datetime as dt
import io
import re

import pytest
import pyzipper
import sqlalchemy as sa

from msc.db import session, utcnow
from msc.dpo import exports
from msc.dpo.models import PersonalExport
from msc.security.models import AuditEvent, User
from tests.test_access import login_as

PURPOSE = "Lista para la jornada de vacunación acordada con la secretaría de salud."


def test_the_archive_opens_only_with_the_passphrase(ctx, make):
    for i in range(3):
        make.person(given_names=f"Gloria{i}", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1 + i))
    make.person(centre="PER-TUM", given_names="Lejana", family_names="Otra", date_of_birth=dt.date(1970, 1, 1))
    officer = session.get(User, make.user("po", "protection_officer"))
    with pytest.raises(exports.ExportError, match="State the purpose"):
        exports.create(officer, "other", "para")
    with pytest.raises(exports.ExportError, match="Choose the purpose"):
        exports.create(officer, "because", PURPOSE)
    with pytest.raises(exports.ExportError, match="cannot export"):
        exports.create(session.get(User, make.user("cw", "caseworker")), "other", PURPOSE)
    export, secret = exports.create(officer, "other", PURPOSE)
    session.commit()
    assert export.rows == 3 and re.fullmatch(r"([A-Z2-9]{4}-){4}[A-Z2-9]{4}", secret)
    assert b"Gloria" not in export.archive and secret.encode() not in export.archive
    with pyzipper.AESZipFile(io.BytesIO(export.archive)) as archive:
        with pytest.raises(RuntimeError):
            archive.read("people.csv")
        archive.setpassword(secret.encode())
        text = archive.read("people.csv").decode("utf-8-sig")
    assert "Gloria0,Patiño,1982-07-01" in text and "Lejana" not in text
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "data.export")).one()
    assert event.detail == "3 rows; COL-CUC; purpose: other"


def test_the_purpose_in_words_is_kept_encrypted_and_never_in_the_audit_log(ctx, make):
    make.person(given_names="Gloria", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1))
    officer = session.get(User, make.user("po", "protection_officer"))
    words = "Pedido del juzgado por la familia de Gloria Patiño, expediente 4471"
    export, _secret = exports.create(officer, "authority_order", words)
    plain, _ = exports.create(officer, "subject_access")  # the words are optional but for "other"
    session.commit()
    session.expire_all()
    assert export.purpose_code == "authority_order" and export.purpose_note == words and plain.purpose_note is None
    raw = session.execute(sa.text("SELECT * FROM personal_exports")).all()
    assert "Patiño" not in repr(raw) and "juzgado" not in repr(raw) and b"4471" not in export.purpose_note_ct
    details = session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "data.export")).all()
    assert sorted(details) == ["1 rows; COL-CUC; purpose: authority_order", "1 rows; COL-CUC; purpose: subject_access"]


def _expire_now(export_id):
    past = utcnow() - dt.timedelta(minutes=1)
    session.execute(sa.update(PersonalExport).where(PersonalExport.id == export_id).values(expires_at=past))
    session.commit()


def test_an_archive_expires_after_the_configured_hours(app, make):
    app.config["EXPORT_TTL_HOURS"] = 2
    with app.app_context():
        make.person(given_names="Gloria", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1))
        officer = session.get(User, make.user("po", "protection_officer"))
        export, _ = exports.create(officer, "internal_audit")
        assert export.expires_at - export.created_at == dt.timedelta(hours=2)
        kept, _ = exports.create(officer, "internal_audit")
        session.commit()
        _expire_now(export.id)  # the attack's precondition: an archive nobody came to take
    res = app.test_cli_runner().invoke(args=["exports", "purge"])
    assert res.exit_code == 0 and "1 expired export archives deleted" in res.output
    with app.app_context():
        gone, still = session.get(PersonalExport, export.id), session.get(PersonalExport, kept.id)
        assert gone.archive is None and gone.expired_at is not None and still.archive is not None
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(export.id))).all()
        assert "data.export_expired" in actions


def test_http_an_expired_archive_is_refused_and_deleted(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    make.person(given_names="Gloria", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1))
    client = app.test_client()
    login_as(app, client, make.user("po", "protection_officer"))
    page = client.post("/exports/personal", data={"purpose": "internal_audit", "centre_id": "0"})
    first = re.search(r'href="(/exports/personal/([0-9a-f]+)\.zip)"', page.get_data(as_text=True))
    page = client.post("/exports/personal", data={"purpose": "internal_audit", "centre_id": "0"})
    second = re.search(r'href="(/exports/personal/([0-9a-f]+)\.zip)"', page.get_data(as_text=True))
    with app.app_context():
        for match in (first, second):
            _expire_now(session.scalar(sa.select(PersonalExport.id).where(PersonalExport.uid == match.group(2))))
    res = client.get(first.group(1))  # downloading an expired archive
    assert res.status_code == 410 and res.mimetype == "text/html"
    assert "This archive expired unread and was deleted" in res.get_data(as_text=True)
    with app.app_context():
        assert session.scalar(sa.select(PersonalExport.archive).where(PersonalExport.uid == first.group(2))) is None
        assert session.scalar(sa.select(PersonalExport.archive).where(PersonalExport.uid == second.group(2)))
    page = client.get("/exports/personal").get_data(as_text=True)  # listing the page deletes the other
    assert page.count("Expired unread: deleted") == 2
    with app.app_context():
        assert session.scalar(sa.select(PersonalExport.archive).where(PersonalExport.uid == second.group(2))) is None
    assert client.get(second.group(1)).status_code == 410


def test_http_passphrase_shown_once_and_the_file_downloaded_once(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    make.person(given_names="Gloria", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1))
    client = app.test_client()
    login_as(app, client, make.user("po", "protection_officer"))
    res = client.post("/exports/personal", data={"purpose": "other", "purpose_note": "para", "centre_id": "0"})
    assert res.status_code == 422 and "State the purpose of this export in a sentence." in res.get_data(as_text=True)
    res = client.post("/exports/personal", data={"purpose": "other", "purpose_note": PURPOSE, "centre_id": "0"})
    page = res.get_data(as_text=True)
    secret = re.search(r"<strong>([A-Z2-9-]{24})</strong>", page).group(1)
    link = re.search(r'href="(/exports/personal/[0-9a-f]+\.zip)"', page).group(1)
    other = app.test_client()
    login_as(app, other, make.user("po2", "protection_officer"))
    assert other.get(link).status_code == 404  # only whoever made it
    res = client.get(link)
    assert res.status_code == 200 and res.mimetype == "application/zip"
    with pyzipper.AESZipFile(io.BytesIO(res.data)) as archive:
        archive.setpassword(secret.encode())
        assert "Gloria" in archive.read("people.csv").decode("utf-8-sig")
    assert client.get(link).status_code == 404  # once
    login_as(app, client, make.user("cw", "caseworker"))
    assert client.get("/exports/personal").status_code == 403
