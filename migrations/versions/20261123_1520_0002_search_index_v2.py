"""search index v2: covering blind index, name vocabulary, leading names

- blind_index_entries: the primary key (kind, hash, beneficiary_id) is the search path itself
  (the old table had a surrogate id and an index on (kind, hash), so every match cost a second
  lookup). A WITHOUT ROWID table on SQLite.
- name_vocabulary: each distinct token's one-deletion neighbourhood (typo hash -> exact hash),
  linked to no person. It replaces the per-person typo entries (kind 3), which made every holder
  of a common name come back once per letter.
- leading-name entries (kind 7) for the first given and first family name.

Vocabulary and leading-name entries are computed from decrypted names, which a migration cannot
do: run `flask --app msc index rebuild` after upgrading a database that already holds people.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:20:00
"""

import sqlalchemy as sa
from alembic import op

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
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            ondelete="CASCADE",
            name=op.f("fk_blind_index_entries_beneficiary_id_beneficiaries"),
        ),
        sa.PrimaryKeyConstraint("kind", "hash", "beneficiary_id", name=op.f("pk_blind_index_entries")),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.execute(
        "CREATE TABLE blind_index_copy AS SELECT DISTINCT kind, hash, beneficiary_id FROM blind_index_entries "
        "WHERE kind <> 3"
    )
    op.drop_table("blind_index_entries")
    _new_table("blind_index_entries")
    op.execute(
        "INSERT INTO blind_index_entries (kind, hash, beneficiary_id) "
        "SELECT kind, hash, beneficiary_id FROM blind_index_copy"
    )
    op.drop_table("blind_index_copy")
    op.create_index(op.f("ix_blind_index_entries_beneficiary_id"), "blind_index_entries", ["beneficiary_id"])
    op.create_table(
        "name_vocabulary",
        sa.Column("typo_hash", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("typo_hash", "token_hash", name=op.f("pk_name_vocabulary")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    # the per-person typo entries of revision 0001 come back with `flask --app msc index rebuild`
    # run by the code of that revision
    op.drop_table("name_vocabulary")
    op.execute(
        "CREATE TABLE blind_index_copy AS SELECT kind, hash, beneficiary_id FROM blind_index_entries WHERE kind <> 7"
    )
    op.drop_table("blind_index_entries")
    op.create_table(
        "blind_index_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            ondelete="CASCADE",
            name=op.f("fk_blind_index_entries_beneficiary_id_beneficiaries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blind_index_entries")),
    )
    op.execute(
        "INSERT INTO blind_index_entries (beneficiary_id, kind, hash) "
        "SELECT beneficiary_id, kind, hash FROM blind_index_copy"
    )
    op.drop_table("blind_index_copy")
    op.create_index("ix_blind_index_kind_hash", "blind_index_entries", ["kind", "hash"])
    op.create_index(op.f("ix_blind_index_entries_beneficiary_id"), "blind_index_entries", ["beneficiary_id"])
