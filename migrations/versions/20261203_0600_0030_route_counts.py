"""beneficiaries.registered_centre_id and served_months: the dashboards along the route

"People registered" counts a person once, at the centre that registered them, wherever their record moves:
`registered_centre_id` keeps that centre (the first stay's, or the holding centre for a record that never
moved). `served_months` holds one mark per person, centre and month in which the centre served them, so that
"people served" counts each person once a month at every centre along the route.

The new counts (people served, arrivals, departures) are derived from the records by
`flask --app msc reports rebuild`, which the upgrade notes ask for after this revision.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries") as batch:
        batch.add_column(sa.Column("registered_centre_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE beneficiaries SET registered_centre_id = COALESCE("
        "(SELECT s.centre_id FROM stays s WHERE s.beneficiary_id = beneficiaries.id AND s.how = 'registered' "
        "ORDER BY s.id LIMIT 1), centre_id)"
    )
    with op.batch_alter_table("beneficiaries") as batch:
        batch.alter_column("registered_centre_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            "fk_beneficiaries_registered_centre_id_centres", "centres", ["registered_centre_id"], ["id"]
        )
    op.create_table(
        "served_months",
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_served_months_centre_id_centres")),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_served_months_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("centre_id", "month", "beneficiary_id", name=op.f("pk_served_months")),
    )
    op.create_index(op.f("ix_served_months_beneficiary_id"), "served_months", ["beneficiary_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_served_months_beneficiary_id"), table_name="served_months")
    op.drop_table("served_months")
    with op.batch_alter_table("beneficiaries") as batch:
        batch.drop_constraint("fk_beneficiaries_registered_centre_id_centres", type_="foreignkey")
        batch.drop_column("registered_centre_id")
