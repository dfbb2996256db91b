"""duplicate candidates: stored when a person is registered, edited or checked again

- duplicate_candidates: a pair of beneficiary ids (lower first) and the reason codes that made them
  look alike. The profile reads them instead of searching for duplicates on every open. No personal
  data: ids and codes only. Existing records get candidates when they are next edited or checked again.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duplicate_candidates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("first_id", sa.Integer(), sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("second_id", sa.Integer(), sa.ForeignKey("beneficiaries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reasons", sa.String(60), nullable=False),
        sa.Column("found_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("first_id", "second_id", name="uq_duplicate_candidate_pair"),
    )
    op.create_index("ix_duplicate_candidates_second", "duplicate_candidates", ["second_id"])


def downgrade() -> None:
    op.drop_index("ix_duplicate_candidates_second", table_name="duplicate_candidates")
    op.drop_table("duplicate_candidates")
