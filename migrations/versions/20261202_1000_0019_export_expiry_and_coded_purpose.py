"""export expiry and coded purpose

- personal_exports.purpose (free text, in plaintext) gives way to purpose_code (subject_access,
  authority_order, partner_transfer, internal_audit, other) and purpose_note_ct, the words of the
  exporter encrypted under the export's own data key (data_key_id). A migration holds no keys, so the
  free text of exports made before cannot be encrypted here: they become "other" without words (a
  purpose that already is a code, after a downgrade, stays). Their
  purpose is still in their audit record ("data.export"), which is left as it is: the audit chain is
  MAC'd, and rewriting a record's detail would break its verification (and its witness).
- expires_at: when an archive not downloaded is deleted (24 hours after it was made, for the exports
  already there); expired_at: when that happened.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 10:00:00.000000
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CODES = ("subject_access", "authority_order", "partner_transfer", "internal_audit", "other")


def upgrade() -> None:
    with op.batch_alter_table("personal_exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("purpose_note_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("data_key_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", msc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expired_at", msc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_personal_exports_data_key_id_data_keys"), "data_keys", ["data_key_id"], ["id"]
        )
    exports = sa.table(
        "personal_exports",
        sa.column("id", sa.Integer()),
        sa.column("created_at", msc.db.UTCDateTime(timezone=True)),
        sa.column("expires_at", msc.db.UTCDateTime(timezone=True)),
        sa.column("purpose", sa.String()),
        sa.column("purpose_code", sa.String()),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(exports.c.id, exports.c.created_at, exports.c.purpose)).all():
        conn.execute(
            sa.update(exports)
            .where(exports.c.id == row.id)
            .values(
                purpose_code=row.purpose if row.purpose in CODES else "other",
                expires_at=row.created_at + dt.timedelta(hours=24),
            )
        )
    with op.batch_alter_table("personal_exports", schema=None) as batch_op:
        batch_op.alter_column("purpose_code", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("expires_at", existing_type=msc.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f("ix_personal_exports_expires_at"), ["expires_at"], unique=False)
        batch_op.drop_column("purpose")


def downgrade() -> None:
    with op.batch_alter_table("personal_exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=300), nullable=True))
    op.execute("UPDATE personal_exports SET purpose = purpose_code")
    with op.batch_alter_table("personal_exports", schema=None) as batch_op:
        batch_op.alter_column("purpose", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_index(batch_op.f("ix_personal_exports_expires_at"))
        batch_op.drop_constraint(batch_op.f("fk_personal_exports_data_key_id_data_keys"), type_="foreignkey")
        batch_op.drop_column("expired_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("data_key_id")
        batch_op.drop_column("purpose_note_ct")
        batch_op.drop_column("purpose_code")
