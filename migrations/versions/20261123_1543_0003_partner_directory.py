"""partner directory

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:43:18.080260
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("agreement_until", sa.Date(), nullable=True),
        sa.Column("agreement_categories", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_organisations")),
        sa.UniqueConstraint("name", name=op.f("uq_partner_organisations_name")),
    )
    with op.batch_alter_table("partner_organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_organisations_country"), ["country"], unique=False)

    op.create_table(
        "partner_services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=False),
        sa.Column("municipalities", sa.String(length=300), nullable=True),
        sa.Column("eligibility", sa.String(length=500), nullable=True),
        sa.Column("languages", sa.String(length=120), nullable=False),
        sa.Column("opening_hours", sa.String(length=200), nullable=True),
        sa.Column("contact", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["partner_organisations.id"],
            name=op.f("fk_partner_services_organisation_id_partner_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_services")),
    )
    with op.batch_alter_table("partner_services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_services_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_partner_services_sector"), ["sector"], unique=False)

    op.create_table(
        "partner_service_centres",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_partner_service_centres_centre_id_centres"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["partner_services.id"],
            name=op.f("fk_partner_service_centres_service_id_partner_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "centre_id", name=op.f("pk_partner_service_centres")),
    )


def downgrade() -> None:
    op.drop_table("partner_service_centres")
    with op.batch_alter_table("partner_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_services_sector"))
        batch_op.drop_index(batch_op.f("ix_partner_services_organisation_id"))

    op.drop_table("partner_services")
    with op.batch_alter_table("partner_organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_organisations_country"))

    op.drop_table("partner_organisations")
