"""Personal-data exports: a stated purpose, an AES-256 archive that opens only with the passphrase shown
once, downloaded once by whoever made it, logged with its purpose and row count."""

import datetime as dt
import io
import re

import pytest
import pyzipper
import sqlalchemy as sa

from msc.db import session
from msc.dpo import exports
from msc.security.models import AuditEvent, User
from tests.test_access import login_as

PURPOSE = "Lista para la jornada de vacunación acordada con la secretaría de salud."


def test_the_archive_opens_only_with_the_passphrase(ctx, make):
    for i in range(3):
        make.person(given_names=f"Gloria{i}", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1 + i))
    make.person(centre="PER-TUM", given_names="Lejana", family_names="Otra", date_of_birth=dt.date(1970, 1, 1))
    officer = session.get(User, make.user("po", "protection_officer"))
    with pytest.raises(exports.ExportError, match="State the purpose"):
        exports.create(officer, "para")
    with pytest.raises(exports.ExportError, match="cannot export"):
        exports.create(session.get(User, make.user("cw", "caseworker")), PURPOSE)
    export, secret = exports.create(officer, PURPOSE)
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
    assert event.detail.startswith("3 rows; COL-CUC; purpose: Lista para la jornada")


def test_http_passphrase_shown_once_and_the_file_downloaded_once(app, make):
    app.config["WTF_CSRF_ENABLED"] = False
    make.person(given_names="Gloria", family_names="Patiño", date_of_birth=dt.date(1982, 7, 1))
    client = app.test_client()
    login_as(app, client, make.user("po", "protection_officer"))
    res = client.post("/exports/personal", data={"purpose": "para", "centre_id": "0"})
    assert res.status_code == 422 and "State the purpose of this export in a sentence." in res.get_data(as_text=True)
    res = client.post("/exports/personal", data={"purpose": PURPOSE, "centre_id": "0"})
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
