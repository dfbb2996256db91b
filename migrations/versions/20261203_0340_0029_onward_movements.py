"""onward_movements: journeys planned at one centre and confirmed at the next

One row per journey: the sending centre, the receiving centre (or a municipality of the centres list, or
another city kept encrypted), the planned date, the means of transport, a child's escort and the encrypted
best-interests reason for none, what was provided (codes), where it stands, when the daily run found it
not arrived, and the record's move that the confirmed arrival made. At most one planned journey per person
(a partial unique index).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

PLANNED_ONLY = sa.text("status = 'planned'")


def upgrade() -> None:
    op.create_table(
        "onward_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("from_centre_id", sa.Integer(), nullable=False),
        sa.Column("to_centre_id", sa.Integer(), nullable=True),
        sa.Column("to_municipality", sa.String(length=120), nullable=True),
        sa.Column("to_other_city_ct", sa.LargeBinary(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("escort", sa.String(length=16), nullable=True),
        sa.Column("escort_reason_ct", sa.LargeBinary(), nullable=True),
        sa.Column("provided", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("planned_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=20), nullable=True),
        sa.Column("not_arrived_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_onward_movements_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_centre_id"], ["centres.id"], name=op.f("fk_onward_movements_from_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["to_centre_id"], ["centres.id"], name=op.f("fk_onward_movements_to_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(["planned_by_id"], ["users.id"], name=op.f("fk_onward_movements_planned_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_onward_movements_decided_by_id_users")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_onward_movements_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onward_movements")),
        sa.UniqueConstraint("uid", name=op.f("uq_onward_movements_uid")),
    )
    op.create_index(op.f("ix_onward_movements_beneficiary_id"), "onward_movements", ["beneficiary_id"])
    op.create_index("ix_onward_to_status", "onward_movements", ["to_centre_id", "status"])
    op.create_index("ix_onward_from_status", "onward_movements", ["from_centre_id", "status"])
    # at most one planned journey per person
    op.create_index(
        "uq_onward_planned_per_person",
        "onward_movements",
        ["beneficiary_id"],
        unique=True,
        sqlite_where=PLANNED_ONLY,
        postgresql_where=PLANNED_ONLY,
    )


def downgrade() -> None:
    op.drop_index("uq_onward_planned_per_person", table_name="onward_movements")
    op.drop_index("ix_onward_from_status", table_name="onward_movements")
    op.drop_index("ix_onward_to_status", table_name="onward_movements")
    op.drop_index(op.f("ix_onward_movements_beneficiary_id"), table_name="onward_movements")
    op.drop_table("onward_movements")
