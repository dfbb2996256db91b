"""Imports of existing lists: mappings per source, batches and their rows; people imported without consent

`import_mappings` keeps how a source's columns and values map to MSC Case; `import_batches` each file
imported (its rows held encrypted under the batch's own key while needed, never the file); `import_rows`
what became of each row. `beneficiaries.consent_unrecorded` marks a person imported from a list that
recorded no consent.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries") as batch:
        batch.add_column(sa.Column("consent_unrecorded", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_import_mappings_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint("uid", name=op.f("uq_import_mappings_uid")),
        sa.UniqueConstraint("name", name=op.f("uq_import_mappings_name")),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("mapping_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("config", sa.Text(), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("without_consent", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("rows_ct", sa.LargeBinary(), nullable=True),
        sa.Column("findings_ct", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_import_batches_centre_id_centres")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_import_batches_user_id_users")),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["import_mappings.id"],
            name=op.f("fk_import_batches_mapping_id_import_mappings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_import_batches_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_import_batches_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(["undone_by_id"], ["users.id"], name=op.f("fk_import_batches_undone_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
        sa.UniqueConstraint("uid", name=op.f("uq_import_batches_uid")),
    )
    op.create_index(op.f("ix_import_batches_centre_id"), "import_batches", ["centre_id"])
    op.create_index(op.f("ix_import_batches_state"), "import_batches", ["state"])
    op.create_table(
        "import_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=True),
        sa.Column("column", sa.String(length=120), nullable=True),
        sa.Column("message", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batches.id"],
            name=op.f("fk_import_rows_batch_id_import_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_import_rows_beneficiary_id_beneficiaries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rows")),
        sa.UniqueConstraint("batch_id", "row", name=op.f("uq_import_rows_batch_id")),
    )
    op.create_index(op.f("ix_import_rows_batch_id"), "import_rows", ["batch_id"])
    op.create_index(op.f("ix_import_rows_beneficiary_id"), "import_rows", ["beneficiary_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_import_rows_beneficiary_id"), table_name="import_rows")
    op.drop_index(op.f("ix_import_rows_batch_id"), table_name="import_rows")
    op.drop_table("import_rows")
    op.drop_index(op.f("ix_import_batches_state"), table_name="import_batches")
    op.drop_index(op.f("ix_import_batches_centre_id"), table_name="import_batches")
    op.drop_table("import_batches")
    op.drop_table("import_mappings")
    with op.batch_alter_table("beneficiaries") as batch:
        batch.drop_column("consent_unrecorded")
