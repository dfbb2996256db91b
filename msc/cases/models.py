"""Cases, their history, assessments, notes and follow-up tasks. Free text is encrypted under the
beneficiary's own data key, so erasing the person erases their case too."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.beneficiaries.models import Beneficiary
from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow
from msc.security.models import User

case_assignments = sa.Table(
    "case_assignments",
    Base.metadata,
    sa.Column("case_id", sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_case_assignments_user_id", "user_id"),
)


def assigned_case_ids(user_id: int | None) -> sa.Select[tuple[int]]:
    """The ids of the cases a user is assigned to now (a subquery: `Referral.case_id.in_(...)`)."""
    return sa.select(case_assignments.c.case_id).where(case_assignments.c.user_id == user_id)


class CaseStatus(StrEnum):
    """Where a case stands: open, active once assessed, closed (a closed case can be reopened)."""

    OPEN = "open"
    ACTIVE = "active"
    CLOSED = "closed"


class Case(EncryptedRow, Base):
    """One case per person: status, risk, priority, the caseworkers assigned."""

    __tablename__ = "cases"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    beneficiary_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), unique=True
    )
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    #: open, active, closed
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=CaseStatus.OPEN, index=True)
    #: low, medium, high, critical
    risk_level: so.Mapped[str] = so.mapped_column(sa.String(10), default="low", index=True)
    #: derived from the latest assessment
    priority: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    #: the caseworker's override of the derived priority, with its reason (encrypted)
    priority_override: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    override_reason_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    close_reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    opened_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    opened_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    closed_at: so.Mapped[dt.datetime | None]

    beneficiary: so.Mapped[Beneficiary] = so.relationship(lazy="joined")
    caseworkers: so.Mapped[list[User]] = so.relationship(
        secondary=case_assignments, lazy="selectin", order_by=User.display_name
    )

    override_reason = EncryptedField("override_reason_ct")

    def crypto_key(self) -> DataKey:
        return self.beneficiary.data_key

    @property
    def effective_priority(self) -> str | None:
        """The override when there is one, else the derived priority."""
        return self.priority_override or self.priority


class CaseEvent(Base):
    """One change to a case: who, when, what (field names and codes, never free text)."""

    __tablename__ = "case_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    #: opened, status, risk, assigned, unassigned, assessed, priority_override, note, task, task_done
    action: so.Mapped[str] = so.mapped_column(sa.String(24))
    #: codes such as "open>active" or "high"
    detail: so.Mapped[str | None] = so.mapped_column(sa.String(200))

    user: so.Mapped[User | None] = so.relationship()


class Assessment(EncryptedRow, Base):
    """A structured vulnerability assessment; the answers (sensitive ones included) are encrypted."""

    __tablename__ = "case_assessments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    answers_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    #: the priority derived from the answers
    priority: so.Mapped[str] = so.mapped_column(sa.String(10))
    assessed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    assessed_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    case: so.Mapped[Case] = so.relationship()
    assessed_by: so.Mapped[User | None] = so.relationship()

    answers = EncryptedField("answers_ct", codec="json")

    def crypto_key(self) -> DataKey:
        return self.case.beneficiary.data_key


class CaseNote(EncryptedRow, Base):
    """A case note: encrypted text; a sensitive note is for the assigned caseworkers, protection
    officers in scope and its author only."""

    __tablename__ = "case_notes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    sensitive: so.Mapped[bool] = so.mapped_column(default=False)
    body_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    case: so.Mapped[Case] = so.relationship()
    author: so.Mapped[User | None] = so.relationship()

    body = EncryptedField("body_ct")

    def crypto_key(self) -> DataKey:
        return self.case.beneficiary.data_key


class Task(EncryptedRow, Base):
    """A follow-up task with a due date and an assignee; its description is encrypted."""

    __tablename__ = "case_tasks"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    case_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    title_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    due_on: so.Mapped[dt.date] = so.mapped_column(index=True)
    assignee_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    done_at: so.Mapped[dt.datetime | None]
    done_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    case: so.Mapped[Case] = so.relationship()
    assignee: so.Mapped[User | None] = so.relationship(foreign_keys=[assignee_id])

    title = EncryptedField("title_ct")

    def crypto_key(self) -> DataKey:
        return self.case.beneficiary.data_key
