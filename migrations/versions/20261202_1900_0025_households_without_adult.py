"""households.no_adult: no member was an adult when the household last changed

Narrows the caseworker home's list of possible unaccompanied children waiting for an assessment to the
households that may have no adult (a partial index), where the whole people table was read on every
home. Set here from the members' years of birth (in clear already): no member born before this year
minus 18. Registration and edits keep it from then on.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 19:00:00.000000
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

ADULT_AGE = 18


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("no_adult", sa.Boolean(), nullable=False, server_default=sa.true()))
    year = dt.datetime.now(dt.UTC).year
    op.execute(
        sa.text(
            "UPDATE households SET no_adult = NOT EXISTS (SELECT 1 FROM beneficiaries m "
            "WHERE m.household_id = households.id AND m.birth_year < :year)"
        ).bindparams(year=year - ADULT_AGE)
    )
    op.create_index(
        "ix_households_no_adult",
        "households",
        ["id"],
        sqlite_where=sa.text("no_adult"),
        postgresql_where=sa.text("no_adult"),
    )


def downgrade() -> None:
    op.drop_index("ix_households_no_adult", table_name="households")
    with op.batch_alter_table("households") as batch:
        batch.drop_column("no_adult")
