"""indexes for the caseworker home and the partner list

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:08:08.276958
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_case_assignments_user_id", ["user_id"], unique=False)

    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_organisation_status", ["organisation_id", "status"], unique=False)
        batch_op.create_index("ix_referrals_case_status", ["case_id", "status"], unique=False)
        batch_op.create_index("ix_referrals_organisation_sent", ["organisation_id", "sent_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_organisation_sent")
        batch_op.drop_index("ix_referrals_case_status")
        batch_op.drop_index("ix_referrals_organisation_status")

    with op.batch_alter_table("case_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_case_assignments_user_id")
