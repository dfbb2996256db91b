"""Personal-data exports: only for roles allowed to, with a stated purpose, as an AES-256 encrypted ZIP
archive whose passphrase is shown once and never stored; downloaded once, then deleted; logged with the
purpose and the number of rows. (Aggregate reports are separate and hold no personal data.)"""

from __future__ import annotations

import io
import secrets

import pyzipper
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from msc.beneficiaries.models import Beneficiary
from msc.crypto import DataKey
from msc.db import session, utcnow
from msc.dpo.models import PersonalExport
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


def create(user: Actor, purpose: str | None, centre_id: int | None = None) -> tuple[PersonalExport, str]:
    """The people of the user's centres (or one of them) as an encrypted archive; returns it and its
    passphrase (to show once)."""
    if not role_allows(user, Permission.DATA_EXPORT):
        raise ExportError(_l("Your role cannot export personal data."))
    purpose = " ".join((purpose or "").split())
    if len(purpose) < MIN_PURPOSE:
        raise ExportError(_l("State the purpose of this export in a sentence."), field="purpose")
    if len(purpose) > MAX_PURPOSE:
        raise ExportError(_l("Use at most %(n)d characters.", n=MAX_PURPOSE), field="purpose")
    centres = centres_in_scope(user, centre_id or None)
    if not centres:
        raise ExportError(_l("Choose one of your centres or countries."), field="centre_id")
    people = list(
        session.scalars(
            sa.select(Beneficiary)
            .join(DataKey, DataKey.id == Beneficiary.data_key_id)
            .where(Beneficiary.centre_id.in_([c.id for c in centres]), DataKey.wrapped.is_not(None))
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
                p.registered_at.date().isoformat(),
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
    export = PersonalExport(user_id=user.id, purpose=purpose, rows=len(people), archive=buffer.getvalue())
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


def take(user: Actor, export: PersonalExport) -> bytes | None:
    """The archive, once, for the user who made it; then it is gone."""
    if export.user_id != user.id or export.archive is None:
        return None
    data, export.archive, export.downloaded_at = export.archive, None, utcnow()
    audit.record("data.export_download", object_type="personal_export", object_id=export.id, user_id=user.id)
    return data
