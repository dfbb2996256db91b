"""key_rotations.layout: which blind-index entries a generation's rows hold

Layout 2 adds the pairs of name words (one look-up finds the people holding two words of a query).
The generations of a database that already holds index rows are marked layout 1: searches keep to the
entries they hold until `flask --app msc index rebuild`, which the upgrade notes ask for after this
revision, recomputes every person's entries and marks them. On a database with nothing indexed yet every
row will be written with the pairs: layout 2.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("key_rotations") as batch:
        batch.add_column(sa.Column("layout", sa.SmallInteger(), server_default="1", nullable=False))
    indexed = op.get_bind().execute(sa.text("SELECT 1 FROM blind_index_entries LIMIT 1")).first()
    if indexed is None:
        op.execute("UPDATE key_rotations SET layout = 2 WHERE kind = 'index'")


def downgrade() -> None:
    with op.batch_alter_table("key_rotations") as batch:
        batch.drop_column("layout")
