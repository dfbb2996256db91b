"""beneficiaries.merged_into_id and beneficiary_merges: two records of one person made one, reversibly

A person registered twice (before continuity between centres existed) has two records. A centre manager
merges them: the absorbed record stays, marked as merged into the kept one (never searched, listed or
counted again), and every row that pointed at it points at the kept record. The merge row keeps the ids
of what moved, so that the merge can be undone while the kept record has not changed.

Numbered 0031 while other changes take 0026 and on: the lead renumbers when the branches meet.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_beneficiaries_merged_into_id_beneficiaries", "beneficiaries", ["merged_into_id"], ["id"]
        )
        batch.create_index(
            "ix_beneficiaries_merged_into_id",
            ["merged_into_id"],
            sqlite_where=sa.text("merged_into_id IS NOT NULL"),
            postgresql_where=sa.text("merged_into_id IS NOT NULL"),
        )
    op.create_table(
        "beneficiary_merges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("kept_id", sa.Integer(), sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("absorbed_id", sa.Integer(), sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("merged_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("change_id", sa.Integer(), sa.ForeignKey("beneficiary_changes.id"), nullable=True),
        sa.Column("reason_ct", sa.LargeBinary(), nullable=True),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("undone_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_beneficiary_merges_kept_id", "beneficiary_merges", ["kept_id"])
    op.create_index("ix_beneficiary_merges_absorbed_id", "beneficiary_merges", ["absorbed_id"])


def downgrade() -> None:
    op.drop_index("ix_beneficiary_merges_absorbed_id", table_name="beneficiary_merges")
    op.drop_index("ix_beneficiary_merges_kept_id", table_name="beneficiary_merges")
    op.drop_table("beneficiary_merges")
    with op.batch_alter_table("beneficiaries") as batch:
        batch.drop_index("ix_beneficiaries_merged_into_id")
        batch.drop_constraint("fk_beneficiaries_merged_into_id_beneficiaries", type_="foreignkey")
        batch.drop_column("merged_into_id")
