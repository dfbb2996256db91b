"""Personal-data exports: only for roles allowed to, with a stated purpose, as an AES-256 encrypted ZIP
archive whose passphrase is shown once and never stored; downloaded once, then deleted, and deleted
unread once it expires (EXPORT_TTL_HOURS); logged with the purpose's category and the number of rows.
The purpose in the exporter's own words may name people, so it is kept encrypted with the export and
never copied into the audit log. (Aggregate reports are separate and hold no personal data.)"""

from __future__ import annotations

import datetime as dt
import io
import secrets

import pyzipper
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from msc import clock
from msc.beneficiaries.models import Beneficiary
from msc.crypto import DataKey
from msc.db import session, utcnow
from msc.dpo.models import PersonalExport
from msc.dpo.vocab import EXPORT_PURPOSES
from msc.errors import DomainError
from msc.exports import csv_text
from msc.security import audit
from msc.security.actor import Actor
from msc.security.policy import Permission, centres_in_scope, role_allows

MIN_PURPOSE, MAX_PURPOSE = 10, 300
MAX_ROWS = 20_000
COLUMNS = (
    "case_number",
    "given_names",
    "family_names",
    "date_of_birth",
    "sex",
    "nationality",
    "phone",
    "registered_on",
)
PASSPHRASE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class ExportError(DomainError):
    """An export that cannot be made, said in words."""


def passphrase() -> str:
    """Five groups of four unambiguous characters: about 99 bits, easy to read out and type."""
    return "-".join("".join(secrets.choice(PASSPHRASE_ALPHABET) for _ in range(4)) for _ in range(5))


def create(
    user: Actor, purpose: str | None, note: str | None = None, centre_id: int | None = None
) -> tuple[PersonalExport, str]:
    """The people of the user's centres (or one of them) as an encrypted archive, for a purpose (a code of
    EXPORT_PURPOSES, with words of the user's own: required for "other"); returns it and its passphrase
    (to show once)."""
    if not role_allows(user, Permission.DATA_EXPORT):
        raise ExportError(_l("Your role cannot export personal data."))
    if purpose not in EXPORT_PURPOSES:
        raise ExportError(_l("Choose the purpose of this export."), field="purpose")
    note = " ".join((note or "").split())
    if purpose == "other" and len(note) < MIN_PURPOSE:
        raise ExportError(_l("State the purpose of this export in a sentence."), field="purpose_note")
    if len(note) > MAX_PURPOSE:
        raise ExportError(_l("Use at most %(n)d characters.", n=MAX_PURPOSE), field="purpose_note")
    centres = centres_in_scope(user, centre_id or None)
    if not centres:
        raise ExportError(_l("Choose one of your centres or countries."), field="centre_id")
    people = list(
        session.scalars(
            sa.select(Beneficiary)
            .join(DataKey, DataKey.id == Beneficiary.data_key_id)
            .where(
                Beneficiary.centre_id.in_([c.id for c in centres]),
                DataKey.wrapped.is_not(None),
                Beneficiary.merged_into_id.is_(None),  # a merged record's person is exported through the kept one
            )
            .order_by(Beneficiary.case_number)
            .limit(MAX_ROWS + 1)
        )
    )
    if len(people) > MAX_ROWS:
        raise ExportError(_l("More than %(n)d people: choose one centre.", n=MAX_ROWS), field="centre_id")
    text = csv_text(
        COLUMNS,
        (
            [
                p.case_number,
                p.given_names or "",
                p.family_names or "",
                p.date_of_birth.isoformat() if p.date_of_birth else "",
                p.sex,
                p.nationality,
                p.phone or "",
                clock.day_of(p.registered_at, p.centre.country).isoformat(),
            ]
            for p in people
        ),
    )
    secret = passphrase()
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(secret.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.writestr("people.csv", text)
    now = utcnow()
    export = PersonalExport(
        user_id=user.id,
        purpose_code=purpose,
        rows=len(people),
        archive=buffer.getvalue(),
        created_at=now,
        expires_at=now + ttl(),
    )
    export.purpose_note = note or None
    session.add(export)
    session.flush()
    audit.record(
        "data.export",
        object_type="personal_export",
        object_id=export.id,
        detail=f"{len(people)} rows; {','.join(c.code for c in centres)}; purpose: {purpose}"[:500],
        user_id=user.id,
    )
    return export, secret


def ttl() -> dt.timedelta:
    """How long an archive waits to be downloaded."""
    return dt.timedelta(hours=float(current_app.config["EXPORT_TTL_HOURS"]))


def take(user: Actor, export: PersonalExport) -> bytes | None:
    """The archive, once, for the user who made it; then it is gone. None when it is not theirs or was
    downloaded; an expired archive is deleted and refused in words."""
    if export.user_id != user.id:
        return None
    if export.archive is not None and export.expires_at <= utcnow():
        _expire(export)
    if export.expired_at is not None:
        raise ExportError(_l("This archive expired unread and was deleted: prepare a new export."))
    if export.archive is None:
        return None
    data, export.archive, export.downloaded_at = export.archive, None, utcnow()
    audit.record("data.export_download", object_type="personal_export", object_id=export.id, user_id=user.id)
    return data


def purge() -> int:
    """Delete every archive that expired unread (the exports page, a download attempt and `flask exports
    purge` run it); says how many."""
    expired = session.scalars(
        sa.select(PersonalExport)
        .where(PersonalExport.archive.is_not(None), PersonalExport.expires_at <= utcnow())
        .order_by(PersonalExport.id)
        .with_for_update(skip_locked=True)
    ).all()
    for export in expired:
        _expire(export)
    return len(expired)


def _expire(export: PersonalExport) -> None:
    export.archive, export.expired_at = None, utcnow()
    # (recorded under whoever's visit deleted it; none from the command line)
    audit.record("data.export_expired", object_type="personal_export", object_id=export.id)


def mine(user: Actor, limit: int = 20) -> list[PersonalExport]:
    """The user's own latest exports, newest first."""
    return list(
        session.scalars(
            sa.select(PersonalExport)
            .where(PersonalExport.user_id == user.id)
            .order_by(PersonalExport.id.desc())
            .limit(limit)
        )
    )
