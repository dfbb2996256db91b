"""Imports of existing lists: the mapping saved per source, each import (a batch) and what became of each
of its rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc.crypto import DataKey, EncryptedField, EncryptedRow, new_uid
from msc.db import Base, utcnow


class ImportMapping(Base):
    """How one source's lists map to MSC Case ("KoBo Cúcuta 2025"): each column's field, each value's
    meaning ("F", "Mujer" → female) and the date format. It names columns and values, never a person."""

    __tablename__ = "import_mappings"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    name: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    #: {"columns": {header: field}, "values": {field: {folded value: code}}, "date_format": "%d/%m/%Y"}
    config: so.Mapped[str] = so.mapped_column(sa.Text)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def settings(self) -> dict[str, Any]:
        return json.loads(self.config)


class BatchState:
    UPLOADED = "uploaded"  # read; its columns wait to be mapped
    CHECKING = "checking"  # the preview job runs
    CHECKED = "checked"  # the preview is ready: duplicates wait for a decision
    RUNNING = "running"  # the import job runs (or stopped half-way: it resumes where it stopped)
    DONE = "done"
    UNDONE = "undone"


class ImportBatch(EncryptedRow, Base):
    """One file imported at a centre. The file itself is never kept: its rows, as read, are held encrypted
    under the batch's own key while the preview and the import need them, and destroyed when it ends."""

    __tablename__ = "import_batches"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    centre_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("centres.id"), index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))
    mapping_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("import_mappings.id", ondelete="SET NULL"))
    #: csv, xlsx
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    state: so.Mapped[str] = so.mapped_column(sa.String(12), default=BatchState.UPLOADED, index=True)
    #: the mapping this batch was checked with (a copy: the saved one may change later)
    config: so.Mapped[str | None] = so.mapped_column(sa.Text)
    total_rows: so.Mapped[int] = so.mapped_column(default=0)
    #: rows of the import's order already handled (the job resumes from here)
    done_rows: so.Mapped[int] = so.mapped_column(default=0)
    imported: so.Mapped[int] = so.mapped_column(default=0)
    linked: so.Mapped[int] = so.mapped_column(default=0)
    skipped: so.Mapped[int] = so.mapped_column(default=0)
    refused: so.Mapped[int] = so.mapped_column(default=0)
    #: imported without a recorded consent (marked so on their record)
    without_consent: so.Mapped[int] = so.mapped_column(default=0)
    #: the latest job that checked or imported it (its progress is the page's)
    job_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))
    data_key_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("data_keys.id"))
    #: the rows as read ({"columns": [...], "rows": [[...], ...]}); None once imported
    rows_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    #: the preview: each row's errors, duplicates and the decisions taken; None once imported
    findings_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, deferred=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    finished_at: so.Mapped[dt.datetime | None]
    undone_at: so.Mapped[dt.datetime | None]
    undone_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id"))

    data_key: so.Mapped[DataKey] = so.relationship(lazy="joined")

    table = EncryptedField("rows_ct", codec="json")
    findings = EncryptedField("findings_ct", codec="json")

    def crypto_key(self) -> DataKey:
        return self.data_key

    @property
    def settings(self) -> dict[str, Any]:
        return json.loads(self.config or "{}")


class ImportRow(Base):
    """What became of one row of a batch: imported (the record made), linked (to a record already there),
    skipped or refused (the field and why, in words). Names no one: the record is an id."""

    __tablename__ = "import_rows"
    __table_args__ = (sa.UniqueConstraint("batch_id", "row"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    batch_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("import_batches.id", ondelete="CASCADE"), index=True)
    #: the row's number in the file (the header is row 1)
    row: so.Mapped[int]
    #: imported, linked, skipped, refused
    outcome: so.Mapped[str] = so.mapped_column(sa.String(10))
    beneficiary_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("beneficiaries.id", ondelete="SET NULL"), index=True
    )
    #: the column refused, and why (in the language of whoever ran the import)
    column: so.Mapped[str | None] = so.mapped_column(sa.String(120))
    message: so.Mapped[str | None] = so.mapped_column(sa.String(400))
