"""Offline desks: the tablets a centre lets work without a connection, and the records they sealed while
offline, as the server received and replayed them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow


class OfflineDevice(Base):
    """A tablet or phone enrolled as a centre's offline desk. It holds a random id and the server's public
    key, never a registry; its records are sealed to the server. Revoked, its unsynced records are refused."""

    __tablename__ = "offline_devices"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    #: what the centre calls it ("Tablet 2, Rumichaca"): no one's name
    label: so.Mapped[str] = so.mapped_column(sa.String(60))
    enrolled_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    enrolled_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the last online login that opened an offline window on it
    last_grant_at: so.Mapped[dt.datetime | None]
    last_sync_at: so.Mapped[dt.datetime | None]
    revoked_at: so.Mapped[dt.datetime | None]
    revoked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class RecordState:
    APPLIED = "applied"  # registered or handed over, as if at the desk
    WAITING = "waiting"  # possible duplicates: the clerk decides
    FLAGGED = "flagged"  # a hand-over the rules would have refused: recorded, for the centre manager
    REFUSED = "refused"  # not applied: a rule, a revoked device, an expired window, a record that does not open
    DISCARDED = "discarded"  # the clerk decided it repeats someone already registered


class OfflineRecord(EncryptedRow, Base):
    """One record a device sealed offline, received once (its client id is unique per device, so a record
    sent again is answered with what became of it the first time)."""

    __tablename__ = "offline_records"
    __table_args__ = (sa.UniqueConstraint("device_id", "client_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    device_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("offline_devices.id"), index=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    client_id: so.Mapped[str] = so.mapped_column(sa.String(40))
    #: registration, hand_over
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    state: so.Mapped[str] = so.mapped_column(sa.String(10), index=True)
    #: who synced it and who made it (the account logged in on the tablet when it was sealed)
    synced_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    made_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    #: when the tablet says it was made, and when the server received it
    made_at: so.Mapped[dt.datetime | None]
    received_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    decided_at: so.Mapped[dt.datetime | None]
    beneficiary_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="SET NULL"), index=True
    )
    distribution_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("nfi_distributions.id", ondelete="SET NULL")
    )
    #: why it was refused or flagged, in words (no personal data: a rule's message)
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    #: for a record waiting on the clerk: its content, under its own key, destroyed once decided
    data_key_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    payload_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)

    device: so.Mapped[OfflineDevice] = so.relationship()
    data_key: so.Mapped[DataKey | None] = so.relationship()

    payload = EncryptedField("payload_ct", codec="json")

    def crypto_key(self) -> DataKey:
        assert self.data_key is not None
        return self.data_key
