"""shelters and placements

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:04:31.532911
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shelters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("beds_female", sa.Integer(), nullable=False),
        sa.Column("beds_male", sa.Integer(), nullable=False),
        sa.Column("family_units", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_shelters_centre_id_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelters")),
    )
    with op.batch_alter_table("shelters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shelters_centre_id"), ["centre_id"], unique=False)

    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("shelter_id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=8), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("check_in_on", sa.Date(), nullable=False),
        sa.Column("planned_days", sa.Integer(), nullable=False),
        sa.Column("check_out_on", sa.Date(), nullable=True),
        sa.Column("override_reason_ct", sa.LargeBinary(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_placements_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_placements_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_placements_referral_id_referrals"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["shelter_id"], ["shelters.id"], name=op.f("fk_placements_shelter_id_shelters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
        sa.UniqueConstraint("uid", name=op.f("uq_placements_uid")),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placements_beneficiary_id"), ["beneficiary_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_placements_check_out_on"), ["check_out_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_placements_shelter_id"), ["shelter_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placements_shelter_id"))
        batch_op.drop_index(batch_op.f("ix_placements_check_out_on"))
        batch_op.drop_index(batch_op.f("ix_placements_beneficiary_id"))

    op.drop_table("placements")
    with op.batch_alter_table("shelters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shelters_centre_id"))

    op.drop_table("shelters")
