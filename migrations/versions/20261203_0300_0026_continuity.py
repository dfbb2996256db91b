"""stays and transfers: a person's route between centres, and the requests for their record

`stays` holds one row per person and centre served (registered there, or their record moved there), with
the days of arrival and departure; every person already registered gets one stay, at their centre, from the
day of their registration. `transfers` holds the requests of a centre for a record another centre holds, and
the moves at the desk: at most one open request per person and asking centre (a partial unique index).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('pending', 'escalated')")


def upgrade() -> None:
    op.create_table(
        "stays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("arrived_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("arrived_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("how", sa.String(length=12), nullable=False),
        sa.Column("shared", sa.String(length=200), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_stays_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_stays_centre_id_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stays")),
    )
    op.create_index("ix_stays_person_left", "stays", ["beneficiary_id", "left_on"])
    op.create_index(op.f("ix_stays_centre_id"), "stays", ["centre_id"])
    # one stay per person already registered: their centre, from the day of their registration (SQLite's
    # CAST AS DATE would keep only the year: DATE() gives the day as a date column holds it)
    day = "DATE(registered_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(registered_at AS DATE)"
    op.execute(
        "INSERT INTO stays (beneficiary_id, centre_id, arrived_on, arrived_at, how, shared) "
        f"SELECT id, centre_id, {day}, registered_at, 'registered', '' FROM beneficiaries"
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("from_centre_id", sa.Integer(), nullable=False),
        sa.Column("to_centre_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("how", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("escalated_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sections", sa.String(length=200), nullable=False),
        sa.Column("refusal_reason", sa.String(length=20), nullable=True),
        sa.Column("refusal_note_ct", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_transfers_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["from_centre_id"], ["centres.id"], name=op.f("fk_transfers_from_centre_id_centres")),
        sa.ForeignKeyConstraint(["to_centre_id"], ["centres.id"], name=op.f("fk_transfers_to_centre_id_centres")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_transfers_requested_by_id_users")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_transfers_decided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint("uid", name=op.f("uq_transfers_uid")),
    )
    op.create_index(op.f("ix_transfers_beneficiary_id"), "transfers", ["beneficiary_id"])
    op.create_index(op.f("ix_transfers_to_centre_id"), "transfers", ["to_centre_id"])
    op.create_index("ix_transfers_from_status", "transfers", ["from_centre_id", "status"])
    op.create_index("ix_transfers_status_requested", "transfers", ["status", "requested_at"])
    # at most one open request per person and asking centre
    op.create_index(
        "uq_transfers_open_per_centre",
        "transfers",
        ["beneficiary_id", "to_centre_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_transfers_open_per_centre", table_name="transfers")
    op.drop_index("ix_transfers_status_requested", table_name="transfers")
    op.drop_index("ix_transfers_from_status", table_name="transfers")
    op.drop_index(op.f("ix_transfers_to_centre_id"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_beneficiary_id"), table_name="transfers")
    op.drop_table("transfers")
    op.drop_index(op.f("ix_stays_centre_id"), table_name="stays")
    op.drop_index("ix_stays_person_left", table_name="stays")
    op.drop_table("stays")
