"""Feedback items: what was said (encrypted under the item's own key), how to answer, and the answer."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.centres.models import Centre
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow


class FeedbackStatus(StrEnum):
    """Where a message stands, as the person sees it with their code."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


class Feedback(EncryptedRow, Base):
    """One piece of feedback or a complaint. Its text, contact and response are encrypted under a data
    key of its own (it may belong to nobody registered), so it can be erased on its own."""

    __tablename__ = "feedback"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    #: HMAC of the reference code the person keeps (the code itself is never stored)
    reference_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    #: the hash is still under an index key (codes given out before revision 0016): it moves to the
    #: reference key the first time the code is used, and stops working if that index key is retired
    reference_legacy: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    #: desk, self_service, survey
    channel: so.Mapped[str] = so.mapped_column(sa.String(12))
    #: thanks, suggestion, question, complaint_service, sea, fraud, misconduct, data_breach, survey
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    #: sexual exploitation or abuse, fraud, staff misconduct, data breach: only focal points see these
    sensitive: so.Mapped[bool] = so.mapped_column(default=False, index=True)
    #: received, in_progress, answered, closed
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=FeedbackStatus.RECEIVED)
    due_on: so.Mapped[dt.date | None]
    assignee_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    #: the person it concerns, when given at the desk (never for self-service)
    beneficiary_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="SET NULL"))
    #: surveys: 1 to 5, and the service rated (nfi, referral, reception, other)
    rating: so.Mapped[int | None]
    service: so.Mapped[str | None] = so.mapped_column(sa.String(12))
    data_key_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    text_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    contact_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    response_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    received_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the day in the centre's country
    received_on: so.Mapped[dt.date] = so.mapped_column(index=True)
    answered_on: so.Mapped[dt.date | None]

    centre: so.Mapped[Centre] = so.relationship(lazy="joined")
    data_key: so.Mapped[DataKey] = so.relationship(lazy="joined")

    text = EncryptedField("text_ct")
    contact = EncryptedField("contact_ct")
    response = EncryptedField("response_ct")

    def crypto_key(self) -> DataKey:
        return self.data_key
