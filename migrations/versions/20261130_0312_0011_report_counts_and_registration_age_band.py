"""report counts and registration age band

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 03:12:25.383930

The dashboards' running counts (kept by every write) and each person's age band at registration.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_counts",
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
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_report_counts_centre_id_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_counts")),
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
            name="uq_report_counts_key",
        ),
    )
    with op.batch_alter_table("report_counts", schema=None) as batch_op:
        batch_op.create_index("ix_report_counts_topic_centre_month", ["topic", "centre_id", "month"], unique=False)

    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("age_band", sa.String(length=8), nullable=False, server_default="unknown"))
    # Records registered before this revision: the band from the birth year (the date of birth is
    # encrypted and a migration holds no keys); new and edited records get it from the date of birth.
    # The counts themselves are filled by `flask --app msc reports rebuild`.
    year = (
        "CAST(EXTRACT(YEAR FROM registered_at) AS INTEGER)"
        if op.get_bind().dialect.name == "postgresql"
        else "CAST(substr(registered_at, 1, 4) AS INTEGER)"
    )
    age = f"({year} - birth_year)"
    op.execute(f"""UPDATE beneficiaries SET age_band = CASE
        WHEN birth_year IS NULL OR {age} < 0 THEN 'unknown' WHEN {age} <= 4 THEN '0-4'
        WHEN {age} <= 11 THEN '5-11' WHEN {age} <= 17 THEN '12-17' WHEN {age} <= 59 THEN '18-59' ELSE '60+' END""")


def downgrade() -> None:
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.drop_column("age_band")

    with op.batch_alter_table("report_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_report_counts_topic_centre_month")

    op.drop_table("report_counts")
