"""personal data exports

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 04:56:43.966807

Personal-data exports: who, why, how many rows, and the encrypted archive until it is downloaded.
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=True),
        sa.Column("downloaded_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_personal_exports_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_exports")),
        sa.UniqueConstraint("uid", name=op.f("uq_personal_exports_uid")),
    )
    with op.batch_alter_table("personal_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_exports_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("personal_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_exports_user_id"))

    op.drop_table("personal_exports")
