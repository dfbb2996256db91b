"""blind index: the search path is the primary key (kind, hash, beneficiary_id)

The old table had a surrogate id and an index on (kind, hash), so every match cost a second
lookup. Entries are copied as they are; `flask --app msc index rebuild` adds the leading-name
entries (kind 7) for people registered before this revision.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _new_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiaries.id"], ondelete="CASCADE",
                                name=op.f("fk_blind_index_entries_beneficiary_id_beneficiaries")),
        sa.PrimaryKeyConstraint("kind", "hash", "beneficiary_id", name=op.f("pk_blind_index_entries")),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.execute("CREATE TABLE blind_index_copy AS SELECT DISTINCT kind, hash, beneficiary_id FROM blind_index_entries")
    op.drop_table("blind_index_entries")
    _new_table("blind_index_entries")
    op.execute("INSERT INTO blind_index_entries (kind, hash, beneficiary_id) "
               "SELECT kind, hash, beneficiary_id FROM blind_index_copy")
    op.drop_table("blind_index_copy")
    op.create_index(op.f("ix_blind_index_entries_beneficiary_id"), "blind_index_entries", ["beneficiary_id"])


def downgrade() -> None:
    op.execute("CREATE TABLE blind_index_copy AS SELECT kind, hash, beneficiary_id FROM blind_index_entries "
               "WHERE kind <> 7")
    op.drop_table("blind_index_entries")
    op.create_table(
        "blind_index_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiaries.id"], ondelete="CASCADE",
                                name=op.f("fk_blind_index_entries_beneficiary_id_beneficiaries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blind_index_entries")),
    )
    op.execute("INSERT INTO blind_index_entries (beneficiary_id, kind, hash) "
               "SELECT beneficiary_id, kind, hash FROM blind_index_copy")
    op.drop_table("blind_index_copy")
    op.create_index("ix_blind_index_kind_hash", "blind_index_entries", ["kind", "hash"])
    op.create_index(op.f("ix_blind_index_entries_beneficiary_id"), "blind_index_entries", ["beneficiary_id"])
