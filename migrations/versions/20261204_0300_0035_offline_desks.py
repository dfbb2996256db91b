"""Offline desks: the devices a centre enrolled, and the records they sealed offline as the server received them

`offline_devices` holds each tablet enrolled as an offline desk (a label, its centre, when it last opened an
offline window and synced, and whether it was revoked); `offline_records` what became of each record a
device sent (applied, waiting for the clerk, flagged, refused or discarded), unique per device and client
id so a record sent twice is applied once. A record waiting for the clerk keeps its content encrypted under
its own data key, destroyed once decided.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offline_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("enrolled_by_id", sa.Integer(), nullable=True),
        sa.Column("enrolled_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_grant_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_offline_devices_centre_id_centres")),
        sa.ForeignKeyConstraint(["enrolled_by_id"], ["users.id"], name=op.f("fk_offline_devices_enrolled_by_id_users")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"], name=op.f("fk_offline_devices_revoked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_devices")),
        sa.UniqueConstraint("uid", name=op.f("uq_offline_devices_uid")),
    )
    op.create_index(op.f("ix_offline_devices_centre_id"), "offline_devices", ["centre_id"], unique=False)
    op.create_table(
        "offline_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("synced_by_id", sa.Integer(), nullable=True),
        sa.Column("made_by_id", sa.Integer(), nullable=True),
        sa.Column("made_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("beneficiary_id", sa.Integer(), nullable=True),
        sa.Column("distribution_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("data_key_id", sa.Integer(), nullable=True),
        sa.Column("payload_ct", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_offline_records_beneficiary_id_beneficiaries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_offline_records_centre_id_centres")),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_offline_records_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["offline_devices.id"], name=op.f("fk_offline_records_device_id_offline_devices")
        ),
        sa.ForeignKeyConstraint(
            ["distribution_id"],
            ["nfi_distributions.id"],
            name=op.f("fk_offline_records_distribution_id_nfi_distributions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["made_by_id"], ["users.id"], name=op.f("fk_offline_records_made_by_id_users")),
        sa.ForeignKeyConstraint(["synced_by_id"], ["users.id"], name=op.f("fk_offline_records_synced_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_records")),
        sa.UniqueConstraint("device_id", "client_id", name=op.f("uq_offline_records_device_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_offline_records_uid")),
    )
    op.create_index(op.f("ix_offline_records_beneficiary_id"), "offline_records", ["beneficiary_id"], unique=False)
    op.create_index(op.f("ix_offline_records_centre_id"), "offline_records", ["centre_id"], unique=False)
    op.create_index(op.f("ix_offline_records_device_id"), "offline_records", ["device_id"], unique=False)
    op.create_index(op.f("ix_offline_records_state"), "offline_records", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_offline_records_state"), table_name="offline_records")
    op.drop_index(op.f("ix_offline_records_device_id"), table_name="offline_records")
    op.drop_index(op.f("ix_offline_records_centre_id"), table_name="offline_records")
    op.drop_index(op.f("ix_offline_records_beneficiary_id"), table_name="offline_records")
    op.drop_table("offline_records")
    op.drop_index(op.f("ix_offline_devices_centre_id"), table_name="offline_devices")
    op.drop_table("offline_devices")
