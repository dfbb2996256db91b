"""retention, erasure and carried counts

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:33:05.234556

Retention periods per country, retention runs, erasures, and the carried counts of erased people.
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_carried",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=12), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("k1", sa.String(length=60), nullable=False),
        sa.Column("k2", sa.String(length=32), nullable=False),
        sa.Column("k3", sa.String(length=8), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_report_carried_centre_id_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_carried")),
        sa.UniqueConstraint(
            "topic",
            "centre_id",
            "month",
            "sex",
            "age_band",
            "nationality",
            "k1",
            "k2",
            "k3",
            name="uq_report_carried_key",
        ),
    )
    op.create_table(
        "retention_policies",
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_retention_policies_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_retention_policies")),
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("erased", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_retention_runs_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_erasures_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["retention_runs.id"], name=op.f("fk_erasures_run_id_retention_runs")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_erasures_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
        sa.UniqueConstraint("beneficiary_id", name=op.f("uq_erasures_beneficiary_id")),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_table("retention_runs")
    op.drop_table("retention_policies")
    op.drop_table("report_carried")
