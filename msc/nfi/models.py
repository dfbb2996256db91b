"""Non-food items: the catalogue with its target groups and entitlement rules, the stock ledger per
centre, and hand-overs at the desk."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import get_locale

from msc.beneficiaries.models import Beneficiary
from msc.centres.models import Centre
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class NfiItem(Base):
    """A catalogue item, with who may receive it and how often (rules as data, one set per item)."""

    __tablename__ = "nfi_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: short code staff know the item by: HYG, DIG, BABY
    code: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    name_es: so.Mapped[str] = so.mapped_column(sa.String(120))
    name_pt: so.Mapped[str] = so.mapped_column(sa.String(120))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(120))
    #: kit, piece, pack, pair, set: every unit is counted in whole numbers
    unit: so.Mapped[str] = so.mapped_column(sa.String(12), default="kit")
    #: hygiene, dignity, baby, shelter, clothing, kitchen, other
    category: so.Mapped[str] = so.mapped_column(sa.String(16))
    active: so.Mapped[bool] = so.mapped_column(default=True)

    # Target group: who may receive it.
    #: individual (counted per person) or household (counted per household)
    level: so.Mapped[str] = so.mapped_column(sa.String(12), default="individual")
    #: comma-separated sexes (female, male, other); empty means everyone
    sexes: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    #: inclusive age range in whole years; for a household item, some member must be in it
    age_min: so.Mapped[int | None]
    age_max: so.Mapped[int | None]

    # Entitlement: how many and how often.
    #: at most this many per person (or household) in any period of period_days
    quantity: so.Mapped[int] = so.mapped_column(default=1)
    period_days: so.Mapped[int] = so.mapped_column(default=30)
    #: days that must pass between two hand-overs of the item (0: none)
    min_interval_days: so.Mapped[int] = so.mapped_column(default=0)
    #: at most this many on one day
    max_per_day: so.Mapped[int] = so.mapped_column(default=1)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def sex_list(self) -> list[str]:
        return [s for s in self.sexes.split(",") if s]

    @property
    def name(self) -> str:
        """The item's name in the current language."""
        return self.name_in(str(get_locale() or "en"))

    def name_in(self, locale: str) -> str:
        """The item's name in a language (es, pt_BR, en)."""
        return {"es": self.name_es, "pt_BR": self.name_pt}.get(locale, self.name_en)

    def __repr__(self) -> str:
        return f"<NfiItem {self.code}>"


class StockLevel(Base):
    """What a centre holds of an item: the running sum of its ledger, kept by the services that write
    the ledger in the same transaction, and the manager's low-stock threshold."""

    __tablename__ = "nfi_stock_levels"
    __table_args__ = (sa.CheckConstraint("on_hand >= 0", name="not_negative"),)

    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), primary_key=True)
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("nfi_items.id"), primary_key=True)
    on_hand: so.Mapped[int] = so.mapped_column(default=0)
    low_threshold: so.Mapped[int] = so.mapped_column(default=0)

    item: so.Mapped[NfiItem] = so.relationship(lazy="joined")


class StockReceipt(Base):
    """Goods received at a centre under one delivery reference (unique per centre)."""

    __tablename__ = "nfi_receipts"
    __table_args__ = (sa.UniqueConstraint("centre_id", "reference", name="uq_nfi_receipt_reference"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: the delivery note or waybill number, upper-cased
    reference: so.Mapped[str] = so.mapped_column(sa.String(60))
    #: supplier, warehouse, agency, donation
    source: so.Mapped[str] = so.mapped_column(sa.String(16))
    received_on: so.Mapped[dt.date]
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class StockTransfer(Base):
    """Goods sent from one centre to another: one operation, a transfer-out and a transfer-in side."""

    __tablename__ = "nfi_transfers"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    from_centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    to_centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    from_centre: so.Mapped[Centre] = so.relationship(foreign_keys=[from_centre_id], lazy="joined")
    to_centre: so.Mapped[Centre] = so.relationship(foreign_keys=[to_centre_id], lazy="joined")


class StockCount(Base):
    """A physical count: the manager's counted quantities; differences became adjustments."""

    __tablename__ = "nfi_counts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    items_counted: so.Mapped[int] = so.mapped_column(default=0)
    differences: so.Mapped[int] = so.mapped_column(default=0)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class StockMovement(Base):
    """One row of a centre's ledger. The stock on hand of an item is the sum of its deltas."""

    __tablename__ = "nfi_movements"
    __table_args__ = (sa.Index("ix_nfi_movements_centre_day", "centre_id", "day"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("nfi_items.id"))
    #: receipt, distribution, void, transfer_out, transfer_in, adjustment
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    #: units in (+) or out (-)
    delta: so.Mapped[int]
    #: adjustments: loss, damage, expiry, found, correction, count
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    #: for count corrections: the quantity counted
    counted: so.Mapped[int | None]
    receipt_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("nfi_receipts.id"))
    transfer_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("nfi_transfers.id"), index=True)
    distribution_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("nfi_distributions.id"), index=True)
    count_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("nfi_counts.id"))
    #: the centre's calendar day of the movement
    day: so.Mapped[dt.date]
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    item: so.Mapped[NfiItem] = so.relationship(lazy="joined")


class Distribution(EncryptedRow, Base):
    """A hand-over at the desk: several items, to a person or their household, acknowledged."""

    __tablename__ = "nfi_distributions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    #: the person served (whose card was scanned)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    household_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("households.id"), index=True)
    #: self, head (the head of household), collector (someone named)
    collected_by: so.Mapped[str] = so.mapped_column(sa.String(12), default="self")
    #: signature, thumbprint, witness
    ack_method: so.Mapped[str] = so.mapped_column(sa.String(12))
    collector_name_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    signature_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    witness_name_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: recorded outside the rules by a user allowed to, with a written justification
    overridden: so.Mapped[bool] = so.mapped_column(default=False)
    justification_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    day: so.Mapped[dt.date]
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    voided_at: so.Mapped[dt.datetime | None]
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    #: recorded_in_error, wrong_person, wrong_quantity, not_collected, other
    void_reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    void_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    centre: so.Mapped[Centre] = so.relationship(lazy="joined")
    lines: so.Mapped[list[DistributionLine]] = so.relationship(
        back_populates="distribution", order_by="DistributionLine.id", lazy="selectin"
    )
    user: so.Mapped[User | None] = so.relationship("User", foreign_keys=[user_id])

    collector_name = EncryptedField("collector_name_ct")
    signature = EncryptedField("signature_ct")
    witness_name = EncryptedField("witness_name_ct")
    justification = EncryptedField("justification_ct")
    void_note = EncryptedField("void_note_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key


class DistributionLine(Base):
    """Units of one item handed over for one person (individual items) or household (household items).
    Sex, age band, nationality and month are copied in clear, non-identifying, so reports never decrypt."""

    __tablename__ = "nfi_distribution_lines"
    __table_args__ = (
        sa.Index("ix_nfi_lines_person_item_day", "beneficiary_id", "item_id", "day"),
        sa.Index("ix_nfi_lines_household_item_day", "household_id", "item_id", "day"),
        sa.Index("ix_nfi_lines_centre_month", "centre_id", "month"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    distribution_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("nfi_distributions.id", ondelete="CASCADE"), index=True
    )
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("nfi_items.id"))
    quantity: so.Mapped[int]
    #: whom the line counts for (the member, or for a household item the person served)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    #: set for household items of a person who belongs to a household
    household_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("households.id"))
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"))
    day: so.Mapped[dt.date]
    #: YYYY-MM of the day
    month: so.Mapped[str] = so.mapped_column(sa.String(7))
    sex: so.Mapped[str] = so.mapped_column(sa.String(8))
    age_band: so.Mapped[str] = so.mapped_column(sa.String(8))
    nationality: so.Mapped[str] = so.mapped_column(sa.String(3))
    voided: so.Mapped[bool] = so.mapped_column(default=False)

    distribution: so.Mapped[Distribution] = so.relationship(back_populates="lines")
    item: so.Mapped[NfiItem] = so.relationship(lazy="joined")
    beneficiary: so.Mapped[Beneficiary] = so.relationship()
