"""The regional protection fund: allocations and caps, versioned criteria, applications with their
recommendation, four-eyes decisions, disbursements, and the audit sample. Amounts are whole minor
units (cents) of the row's currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.cases.models import Case
from msc.centres.models import Centre
from msc.crypto import DataKey, Detached, EncryptedField, EncryptedRow, LinkField, link_tag, new_uid
from msc.db import Base, utcnow
from msc.security.models import User

#: the block an application's facts are padded to: every case type's encrypts to the same length
FACTS_BLOCK = 512


def subject_tag(person: Beneficiary) -> str:
    """The tag of a person's applications (a keyed hash of their record's uid: it names no one)."""
    return link_tag("fund-subject", person.uid)


def preload_people(applications: list[Application]) -> None:
    """Read the people and cases of many applications in two queries, not two per application."""
    pending = [a for a in applications if "_msc_linked" not in a.__dict__]
    if not pending:
        return
    sess = so.object_session(pending[0])
    assert sess is not None
    ids = [a.subject for a in pending]
    # without the people's needs and the caseworkers' centres, which no list of applications shows (read
    # when asked for); each case's person is the one just read
    people = {
        p.id: p
        for p in sess.scalars(
            sa.select(Beneficiary)
            .where(Beneficiary.id.in_({i["beneficiary"] for i in ids}))
            .options(so.lazyload(Beneficiary.needs))
        )
    }
    cases = {
        c.id: c
        for c in sess.scalars(
            sa.select(Case)
            .where(Case.id.in_({i["case"] for i in ids}))
            .options(so.lazyload(Case.beneficiary), so.selectinload(Case.caseworkers).lazyload(User.centres))
        )
    }
    for a, i in zip(pending, ids):
        a.__dict__["_msc_linked"] = (people[i["beneficiary"]], cases[i["case"]])


def case_types(sess: so.Session, rows: list[tuple[str, bytes, bytes | None]]) -> list[str | None]:
    """The case type of applications given by (uid, subject_ct, facts_ct), without loading them: each is
    decrypted under its person's key, the keys read in one query (the register's filter by case type)."""
    links = []
    for uid, subject_blob, _ in rows:
        row = Detached(Application.__tablename__, uid, None)  # type: ignore[arg-type]  # the link needs no data key
        setattr(row, "subject_ct", subject_blob)  # noqa: B010  (a detached row takes the columns it is given)
        links.append(Application.subject.__get__(row)["beneficiary"])
    keys = dict(
        sess.execute(
            sa.select(Beneficiary.id, DataKey)
            .join(DataKey, DataKey.id == Beneficiary.data_key_id)
            .where(Beneficiary.id.in_(set(links)))
        ).all()
    )
    out: list[str | None] = []
    for (uid, _, facts_blob), person in zip(rows, links):
        facts = Application.facts.read(Detached(Application.__tablename__, uid, keys[person]), facts_blob)
        out.append((facts or {}).get("case_type"))
    return out


class FundAllocation(Base):
    """What the fund gives a country for a period, in its currency."""

    __tablename__ = "fund_allocations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    #: ISO 4217: COP, PEN, USD, BRL, CLP
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    #: paid out of it (kept by the disbursement service in the same transaction as the disbursements)
    disbursed: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    starts_on: so.Mapped[dt.date]
    ends_on: so.Mapped[dt.date]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("disbursed >= 0 AND disbursed <= amount", name="within_amount"),)


class CategoryCap(Base):
    """The most one case may receive in an assistance category, per currency."""

    __tablename__ = "fund_category_caps"

    category: so.Mapped[str] = so.mapped_column(sa.String(24), primary_key=True)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), primary_key=True)
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)


class CriteriaStatus(StrEnum):
    """A version of the criteria: a draft, then published (and never changed), then retired."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class CriteriaSet(Base):
    """A version of the eligibility criteria: draft, then published (immutable), then retired."""

    __tablename__ = "fund_criteria_sets"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    version: so.Mapped[int] = so.mapped_column(unique=True)
    effective_on: so.Mapped[dt.date]
    #: draft, published, retired
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=CriteriaStatus.DRAFT)
    #: the criteria tree (msc.fund.criteria), canonical JSON
    definition: so.Mapped[str] = so.mapped_column(sa.Text)
    digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    published_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    published_at: so.Mapped[dt.datetime | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class Application(EncryptedRow, Base):
    """A caseworker's application from a case, with the recommendation computed when it was made."""

    __tablename__ = "fund_applications"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    #: whose application it is — the person and their case — encrypted under the link key, so that a copy of
    #: the database does not tell who is in the fund; `subject_tag` finds one person's applications
    subject_ct: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    subject_tag: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    country: so.Mapped[str] = so.mapped_column(sa.String(3), index=True)
    #: what the application says of the person, encrypted under their key and padded to one length: the
    #: case type (trafficking, uasc, vulnerable), unaccompanied or separated for an eligible child, and each
    #: criterion's label and result (the labels name the case type), no answers
    facts_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    criteria_set_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_criteria_sets.id"))
    criteria_digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: eligible, not_eligible, needs_information
    recommendation: so.Mapped[str] = so.mapped_column(sa.String(18))
    #: the answers as they were, and the evidence notes (encrypted)
    answers_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    evidence_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: age band at the application (plaintext, for the audit views)
    age_band: so.Mapped[str] = so.mapped_column(sa.String(8))
    submitted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    submitted_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the day in the country of the application (periods in reports and registers are local days)
    submitted_on: so.Mapped[dt.date] = so.mapped_column(index=True)

    centre: so.Mapped[Centre] = so.relationship(lazy="joined")
    criteria_set: so.Mapped[CriteriaSet] = so.relationship(lazy="joined")
    lines: so.Mapped[list[ApplicationLine]] = so.relationship(
        back_populates="application", order_by="ApplicationLine.id", lazy="selectin"
    )

    answers = EncryptedField("answers_ct", codec="json")
    evidence = EncryptedField("evidence_ct")
    facts = EncryptedField("facts_ct", codec="json", pad=FACTS_BLOCK)
    subject = LinkField("subject_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    def link_to(self, case: Case) -> None:
        """Say whose application this is (before anything is encrypted under their key)."""
        self.subject = {"beneficiary": case.beneficiary_id, "case": case.id}
        self.subject_tag = subject_tag(case.beneficiary)
        self.__dict__["_msc_linked"] = (case.beneficiary, case)

    def _linked(self) -> tuple[Beneficiary, Case]:
        linked = self.__dict__.get("_msc_linked")
        if linked is None:
            ids = self.subject
            sess = so.object_session(self)
            if sess is None:
                raise LookupError("an application's person is read through its session")
            linked = (sess.get_one(Beneficiary, ids["beneficiary"]), sess.get_one(Case, ids["case"]))
            self.__dict__["_msc_linked"] = linked
        return linked

    @property
    def beneficiary(self) -> Beneficiary:
        """The person the application is for (read through the link key)."""
        return self._linked()[0]

    @property
    def case(self) -> Case:
        """The case it was sent from."""
        return self._linked()[1]

    @property
    def beneficiary_id(self) -> int:
        return self.beneficiary.id

    def record_facts(
        self,
        case_type: str,
        uasc_kind: str | None,
        explanation: list[list[object]],
        elsewhere: Sequence[Any] = (),
    ) -> None:
        """Keep the case type, the kind of child, the explained recommendation and the assistance given at
        other centres in the same categories (encrypted, padded)."""
        self.facts = {
            "case_type": case_type,
            "uasc_kind": uasc_kind,
            "explanation": explanation,
            "elsewhere": [
                [e.category, e.country, e.decided_on.isoformat(), e.period_ends_on and e.period_ends_on.isoformat()]
                for e in elsewhere
            ],
        }

    @property
    def case_type(self) -> str | None:
        """trafficking, uasc or vulnerable (None once the person's data was erased)."""
        return (self.facts or {}).get("case_type")

    @property
    def uasc_kind(self) -> str | None:
        """unaccompanied or separated, for an eligible child."""
        return (self.facts or {}).get("uasc_kind")

    @property
    def assisted_elsewhere(self) -> list[tuple[str, str, dt.date, dt.date | None]]:
        """(category, country, decided on, period ends on) of the assistance the person had at other centres in
        the categories asked, when the application was sent."""
        return [
            (c, country, dt.date.fromisoformat(d), dt.date.fromisoformat(e) if e else None)
            for c, country, d, e in (self.facts or {}).get("elsewhere") or []
        ]

    @property
    def explanation(self) -> list[list[object]]:
        """Each criterion's label and result: [[label, true|false|null], ...]."""
        return list((self.facts or {}).get("explanation") or [])


class ApplicationLine(EncryptedRow, Base):
    """One requested assistance: category, amount in a currency, provider (encrypted)."""

    __tablename__ = "fund_application_lines"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    application_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("fund_applications.id", ondelete="CASCADE"), index=True
    )
    category: so.Mapped[str] = so.mapped_column(sa.String(24))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3))
    provider_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    application: so.Mapped[Application] = so.relationship(back_populates="lines")

    provider = EncryptedField("provider_ct")

    def crypto_key(self) -> DataKey:
        return self.application.beneficiary.data_key


class DecisionOutcome(StrEnum):
    """What a protection officer decides on an application."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class Decision(EncryptedRow, Base):
    """A protection officer's decision; never changed — a change of mind is a new decision replacing it."""

    __tablename__ = "fund_decisions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    application_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("fund_applications.id", ondelete="CASCADE"), index=True
    )
    #: approve, reject, return
    outcome: so.Mapped[str] = so.mapped_column(sa.String(8))
    against_recommendation: so.Mapped[bool] = so.mapped_column(default=False)
    justification_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    replaces_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("fund_decisions.id"), unique=True)
    #: the assistance is approved until this day (then re-assessed)
    period_ends_on: so.Mapped[dt.date | None]
    decided_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: the day in the application's country
    decided_on: so.Mapped[dt.date] = so.mapped_column(index=True)

    application: so.Mapped[Application] = so.relationship(lazy="joined")
    decided_by: so.Mapped[User] = so.relationship("User", lazy="joined")
    lines: so.Mapped[list[DecisionLine]] = so.relationship(
        back_populates="decision", order_by="DecisionLine.id", lazy="selectin"
    )

    justification = EncryptedField("justification_ct")

    def crypto_key(self) -> DataKey:
        return self.application.beneficiary.data_key


class DecisionLine(Base):
    """The amount approved for one requested line (0 when that line is not approved)."""

    __tablename__ = "fund_decision_lines"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    decision_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_decisions.id", ondelete="CASCADE"), index=True)
    line_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_application_lines.id", ondelete="CASCADE"))
    allocation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("fund_allocations.id"), index=True)
    approved: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    #: what has been paid against it (kept by the disbursement service in the same transaction)
    disbursed: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)

    decision: so.Mapped[Decision] = so.relationship(back_populates="lines")
    line: so.Mapped[ApplicationLine] = so.relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint("disbursed >= 0 AND disbursed <= approved", name="within_approved"),)


class Disbursement(EncryptedRow, Base):
    """A payment or an in-kind purchase against an approved line. Voided, never deleted."""

    __tablename__ = "fund_disbursements"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    decision_line_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_decision_lines.id"), index=True)
    allocation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_allocations.id"), index=True)
    #: payment or in_kind
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    paid_on: so.Mapped[dt.date]
    #: the payee or provider (encrypted: it may be the person or their landlord)
    payee_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    reference: so.Mapped[str] = so.mapped_column(sa.String(60))
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    voided_at: so.Mapped[dt.datetime | None]
    voided_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    void_reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)

    decision_line: so.Mapped[DecisionLine] = so.relationship(lazy="joined")

    payee = EncryptedField("payee_ct")
    void_reason = EncryptedField("void_reason_ct")

    def crypto_key(self) -> DataKey:
        return self.decision_line.decision.application.beneficiary.data_key


class AuditSample(Base):
    """A reproducible random sample of the decisions of a period, for auditors to review."""

    __tablename__ = "fund_audit_samples"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    percent: so.Mapped[int]
    starts_on: so.Mapped[dt.date]
    ends_on: so.Mapped[dt.date]
    drawn_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    drawn_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    items: so.Mapped[list[AuditFinding]] = so.relationship(
        back_populates="sample", order_by="AuditFinding.id", lazy="selectin"
    )


class Finding(StrEnum):
    """An auditor's finding on a sampled decision (none until recorded)."""

    AGREES = "agrees"
    DISAGREES = "disagrees"
    FOLLOW_UP = "follow_up"


class AuditFinding(EncryptedRow, Base):
    """One sampled decision and the auditor's finding on it (agrees, disagrees, follow_up)."""

    __tablename__ = "fund_audit_findings"
    __table_args__ = (sa.UniqueConstraint("sample_id", "decision_id", name="uq_fund_finding"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    sample_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_audit_samples.id", ondelete="CASCADE"))
    decision_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("fund_decisions.id", ondelete="CASCADE"))
    finding: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    note_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    auditor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    recorded_at: so.Mapped[dt.datetime | None]

    sample: so.Mapped[AuditSample] = so.relationship(back_populates="items")
    decision: so.Mapped[Decision] = so.relationship(lazy="joined")

    note = EncryptedField("note_ct")

    def crypto_key(self) -> DataKey:
        return self.decision.application.beneficiary.data_key
