"""Beneficiaries, households, consent, specific needs, blind-index entries and edit history."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.vocab import SENSITIVE_NEEDS
from msc.centres.models import Centre, EntryPoint
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User


class Household(Base):
    """People who travel together; the basis for telling unaccompanied from separated children."""

    __tablename__ = "households"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: no member was an adult when the household last changed (set with the members' possible-UASC marks).
    #: Only narrows the caseworker's list of children waiting for an assessment to a few households; it says
    #: nothing the members' years of birth, in clear, do not already say. A member may have come of age since.
    no_adult: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())

    __table_args__ = (
        sa.Index(
            "ix_households_no_adult", "id", sqlite_where=sa.text("no_adult"), postgresql_where=sa.text("no_adult")
        ),
    )

    members: so.Mapped[list[Beneficiary]] = so.relationship(back_populates="household", order_by="Beneficiary.id")

    @property
    def head(self) -> Beneficiary | None:
        """The head of household, if recorded."""
        return next((m for m in self.members if m.relationship_to_head == "head"), None)


#: what a form sends for "entered somewhere not on the list"
OTHER_ENTRY_POINT = "other"


def _holding_centre(context) -> int:
    """A new record is registered where it is held."""
    return context.get_current_parameters()["centre_id"]


class Beneficiary(EncryptedRow, Base):
    """A person registered at a centre. Identifying fields are encrypted under the person's own key."""

    __tablename__ = "beneficiaries"
    __table_args__ = (
        # the few records merged into another: partial, so that the planner never reads "not merged" (every
        # record) through it
        sa.Index(
            "ix_beneficiaries_merged_into_id",
            "merged_into_id",
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
            postgresql_where=sa.text("merged_into_id IS NOT NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: opaque id used in URLs and in the encryption's associated data
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    #: human-readable, random, never derived from personal data: COL-CUC-7K3M-Q9XD-4 (see casenumber)
    case_number: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    #: the counted number issued before 2026-12 (COL-CUC-2026-000123), still on paper files
    legacy_case_number: so.Mapped[str | None] = so.mapped_column(sa.String(32), unique=True)
    #: random token printed as a QR code on the beneficiary card
    card_token: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    data_key_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    household_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("households.id"), index=True)
    #: head, spouse, child, parent, sibling, grandchild, grandparent, other_relative, non_relative
    relationship_to_head: so.Mapped[str | None] = so.mapped_column(sa.String(20))

    given_names_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    family_names_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    dob_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    document_number_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    phone_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    arrival_date_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: the needs kept encrypted (trafficking, GBV, LGBTIQ+, unaccompanied or separated child): never in
    #: clear, never indexed, every person's list padded to the same length (an empty one too)
    sensitive_needs_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: a child registered with no adult in the household, for a caseworker to assess (encrypted, padded)
    possible_uasc_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    # Non-identifying fields, in clear for reporting.
    #: female, male, other
    sex: so.Mapped[str] = so.mapped_column(sa.String(8))
    birth_year: so.Mapped[int | None]
    #: age band on the day of registration (0-4, 5-11, 12-17, 18-59, 60+, unknown), for reports
    age_band: so.Mapped[str] = so.mapped_column(sa.String(8), default="unknown")
    #: date of birth estimated from a stated or apparent age
    dob_estimated: so.Mapped[bool] = so.mapped_column(default=False)
    #: ISO 3166-1 alpha-3
    nationality: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    #: passport, national_id, birth_certificate, residence_permit, other, none
    document_type: so.Mapped[str] = so.mapped_column(sa.String(24), default="none")
    #: where the person entered the country (a listed entry point), or nothing
    entry_point_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("entry_points.id"), index=True)
    #: entered somewhere not on the list (no free text is kept: it could hold anything)
    entry_point_other: so.Mapped[bool] = so.mapped_column(default=False)
    #: comma-separated language codes
    languages: so.Mapped[str] = so.mapped_column(sa.String(120), default="")
    registered_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, index=True)
    #: the centre that registered the person: "people registered" counts them there, wherever their record
    #: moves along the route (centre_id is the centre that holds it now)
    registered_centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), default=_holding_centre)
    registered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_at: so.Mapped[dt.datetime | None]
    #: registered from an imported list that recorded no consent: nothing of the record is shared or
    #: referred until a desk records the person's consent (msc/imports)
    consent_unrecorded: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    #: the record this one was merged into (the same person registered twice): kept, never searched, listed
    #: or counted again, until the merge is undone (msc.beneficiaries.merge)
    merged_into_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("beneficiaries.id"))

    centre: so.Mapped[Centre] = so.relationship(lazy="joined", foreign_keys=[centre_id])
    entry_point_place: so.Mapped[EntryPoint | None] = so.relationship()
    data_key: so.Mapped[DataKey] = so.relationship(lazy="joined")
    household: so.Mapped[Household | None] = so.relationship(back_populates="members")
    needs: so.Mapped[list[SpecificNeed]] = so.relationship(cascade="all, delete-orphan", lazy="selectin")
    consents: so.Mapped[list[Consent]] = so.relationship(
        back_populates="beneficiary", order_by="Consent.id", cascade="all, delete-orphan"
    )

    given_names = EncryptedField("given_names_ct")
    family_names = EncryptedField("family_names_ct")
    date_of_birth = EncryptedField("dob_ct", codec="date")
    document_number = EncryptedField("document_number_ct")
    phone = EncryptedField("phone_ct")
    arrival_date = EncryptedField("arrival_date_ct", codec="date")
    #: every need kept encrypted (PROTECTED_NEEDS); `sensitive_needs` are those of them few may see
    protected_needs = EncryptedField("sensitive_needs_ct", codec="json", pad=64)
    possible_uasc = EncryptedField("possible_uasc_ct", codec="json", pad=64)

    def crypto_key(self) -> DataKey:
        return self.data_key

    @property
    def is_erased(self) -> bool:
        """Whether the person was erased (their data key destroyed): nothing of theirs can be read."""
        return self.data_key.destroyed

    @property
    def full_name(self) -> str:
        """Given and family names, decrypted."""
        return f"{self.given_names or ''} {self.family_names or ''}".strip()

    def age_on(self, day: dt.date) -> int | None:
        """Age in whole years on a day, from the (possibly estimated) date of birth."""
        dob = self.date_of_birth
        if dob is None:
            return None if self.birth_year is None else day.year - self.birth_year
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def entry_point(self) -> str | None:
        """The entry point as the forms and the change history see it: a listed one's id (as text),
        "other", or None when not recorded."""
        if self.entry_point_id is not None:
            return str(self.entry_point_id)
        return OTHER_ENTRY_POINT if self.entry_point_other else None

    @property
    def need_codes(self) -> list[str]:
        """Codes of the specific needs everyone who sees the record may see (an encrypted UASC need too)."""
        shown = [code for code in self.protected_needs or [] if code not in SENSITIVE_NEEDS]
        return sorted({n.code for n in self.needs} | set(shown))

    @property
    def sensitive_needs(self) -> list[str] | None:
        """Codes of the sensitive needs (for those allowed to see them); None when nothing can be read."""
        protected = self.protected_needs
        return None if protected is None else sorted(code for code in protected if code in SENSITIVE_NEEDS)

    @property
    def language_codes(self) -> list[str]:
        """Codes of the languages spoken."""
        return [c for c in self.languages.split(",") if c]

    def __repr__(self) -> str:
        return f"<Beneficiary {self.case_number}>"


class SpecificNeed(Base):
    """A non-sensitive specific need, in clear for reporting (sensitive ones are encrypted)."""

    __tablename__ = "specific_needs"

    beneficiary_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), primary_key=True
    )
    code: so.Mapped[str] = so.mapped_column(sa.String(32), primary_key=True)


class ConsentStatus(StrEnum):
    """A consent decision for a purpose: given or refused, and a given consent can be withdrawn."""

    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class Consent(EncryptedRow, Base):
    """One consent decision for one purpose. Rows are never changed: a withdrawal is a new row."""

    __tablename__ = "consents"
    #: the latest decision per purpose in one seek (the regional hints read it for every candidate)
    __table_args__ = (sa.Index("ix_consents_latest_per_purpose", "beneficiary_id", "purpose", "id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    #: registration, referral, government_sharing, followup_contact, photo
    purpose: so.Mapped[str] = so.mapped_column(sa.String(24))
    #: given, refused, withdrawn
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    #: consent, vital_interest, public_interest, legal_obligation
    legal_basis: so.Mapped[str] = so.mapped_column(sa.String(24), default="consent")
    #: verbal, written, thumbprint
    method: so.Mapped[str] = so.mapped_column(sa.String(12))
    #: self, guardian, best_interests
    given_by: so.Mapped[str] = so.mapped_column(sa.String(16))
    guardian_name_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    best_interests_note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    recorded_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    beneficiary: so.Mapped[Beneficiary] = so.relationship(back_populates="consents")
    recorded_by: so.Mapped[User | None] = so.relationship("User")

    guardian_name = EncryptedField("guardian_name_ct")
    best_interests_note = EncryptedField("best_interests_note_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key


class BlindIndexEntry(Base):
    """One (kind, truncated HMAC) entry per indexed value; the database matches without seeing.

    The primary key (generation, kind, hash, beneficiary_id) is the search path itself: a lookup by
    kind and hash reads the matching people straight from the index (a WITHOUT ROWID table on
    SQLite). The generation is the index key's (msc.crypto.rotation): two live side by side only
    while an index-key rotation runs."""

    __tablename__ = "blind_index_entries"
    __table_args__ = {"sqlite_with_rowid": False}

    generation: so.Mapped[int] = so.mapped_column(sa.SmallInteger, primary_key=True)
    kind: so.Mapped[int] = so.mapped_column(sa.SmallInteger, primary_key=True)
    hash: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class NameVocabulary(Base):
    """Every distinct name token's one-deletion neighbourhood, linked to no person: (typo hash ->
    exact hash). A query word's neighbours are looked up here, then their holders by exact hash."""

    __tablename__ = "name_vocabulary"
    __table_args__ = {"sqlite_with_rowid": False}

    generation: so.Mapped[int] = so.mapped_column(sa.SmallInteger, primary_key=True)
    typo_hash: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)
    token_hash: so.Mapped[int] = so.mapped_column(sa.BigInteger, primary_key=True)


class BeneficiaryChange(Base):
    """Who changed which fields of a record, and when (names of fields, never their values)."""

    __tablename__ = "beneficiary_changes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: registered, edited, consent, household
    action: so.Mapped[str] = so.mapped_column(sa.String(20))
    fields: so.Mapped[str] = so.mapped_column(sa.String(500), default="")

    user: so.Mapped[User | None] = so.relationship("User")


class DuplicateDecision(Base):
    """A clerk's answer that two records are not the same person, remembered for the pair."""

    __tablename__ = "duplicate_decisions"
    __table_args__ = (sa.UniqueConstraint("first_id", "second_id", name="uq_duplicate_pair"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: the lower beneficiary id of the pair
    first_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    second_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class DuplicateCandidate(Base):
    """Two records that may be the same person, found when one of them was registered, edited or checked
    again: the pair's ids and the reason codes only, shown on both profiles until a clerk answers."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (
        sa.UniqueConstraint("first_id", "second_id", name="uq_duplicate_candidate_pair"),
        sa.Index("ix_duplicate_candidates_second", "second_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: the lower beneficiary id of the pair
    first_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    second_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"))
    #: reason codes (duplicates.REASONS), comma-separated
    reasons: so.Mapped[str] = so.mapped_column(sa.String(60))
    found_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class CorrectionStatus(StrEnum):
    """Where a correction request stands: pending until the record is corrected or the request refused."""

    PENDING = "pending"
    APPLIED = "applied"
    REFUSED = "refused"


class CorrectionRequest(EncryptedRow, Base):
    """A person says some of their data is wrong: what they asked, and whether it was corrected."""

    __tablename__ = "correction_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    beneficiary_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    #: comma-separated names of the fields said to be wrong
    fields: so.Mapped[str] = so.mapped_column(sa.String(200))
    details_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: pending, applied, refused
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=CorrectionStatus.PENDING)
    requested_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime | None]
    refusal_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")

    details = EncryptedField("details_ct")
    refusal = EncryptedField("refusal_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def field_names(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]


class BeneficiaryMerge(EncryptedRow, Base):
    """Two records of one person made one by a centre manager: which record was kept, which was merged
    into it, why (encrypted under the kept person's key), and exactly which rows moved, so that the merge
    can be undone while the kept record has not changed since."""

    __tablename__ = "beneficiary_merges"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    kept_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    absorbed_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    merged_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    merged_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the kept record's history entry for the merge: a newer entry means it changed since
    change_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("beneficiary_changes.id"))
    reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: what moved, as JSON of row ids and keys by table (ids only, never a value)
    moved: so.Mapped[str] = so.mapped_column(sa.Text, default="{}")
    undone_at: so.Mapped[dt.datetime | None]
    undone_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    kept: so.Mapped[Beneficiary] = so.relationship(foreign_keys=[kept_id])
    absorbed: so.Mapped[Beneficiary] = so.relationship(foreign_keys=[absorbed_id])
    merged_by: so.Mapped[User | None] = so.relationship(foreign_keys=[merged_by_id])

    reason = EncryptedField("reason_ct")

    def crypto_key(self) -> DataKey:
        return self.kept.data_key
