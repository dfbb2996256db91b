"""index key generations and key rotations

- key_rotations: one row per KEK rotation (how many data keys it re-wrapped) and per blind-index
  generation (its key id and state: building, active, retiring, retired). Generation 1 is the
  index key every database had so far (id "idx-0" in the key ring).
- blind_index_entries and name_vocabulary: a generation column, first in the primary key, so the
  entries of two index keys can live side by side while a rotation builds the new one. Existing
  rows are generation 1.
- feedback.reference_legacy: reference codes were hashed under the index key; from now on under a
  key of their own, derived from the audit key, that no rotation changes. Existing codes keep
  their hash and move to the new key the first time they are used.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 06:03:03.920456
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _entries(name: str, with_generation: bool) -> None:
    gen = [sa.Column("generation", sa.SmallInteger(), nullable=False)] if with_generation else []
    op.create_table(
        name,
        *gen,
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            ondelete="CASCADE",
            name=op.f("fk_blind_index_entries_beneficiary_id_beneficiaries"),
        ),
        sa.PrimaryKeyConstraint(
            *(["generation"] if with_generation else []),
            "kind",
            "hash",
            "beneficiary_id",
            name=op.f("pk_blind_index_entries"),
        ),
        sqlite_with_rowid=False,
    )


def _vocabulary(name: str, with_generation: bool) -> None:
    gen = [sa.Column("generation", sa.SmallInteger(), nullable=False)] if with_generation else []
    op.create_table(
        name,
        *gen,
        sa.Column("typo_hash", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            *(["generation"] if with_generation else []), "typo_hash", "token_hash", name=op.f("pk_name_vocabulary")
        ),
        sqlite_with_rowid=False,
    )


def _rebuild(with_generation: bool) -> None:
    """Copy both index tables aside, recreate them with (or without) the generation, copy back."""
    where = (
        ""
        if with_generation
        else " WHERE generation = (SELECT generation FROM key_rotations WHERE kind = 'index' AND state = 'active')"
    )
    op.execute(
        f"CREATE TABLE blind_index_copy AS SELECT DISTINCT kind, hash, beneficiary_id FROM blind_index_entries{where}"
    )
    op.execute(
        f"CREATE TABLE name_vocabulary_copy AS SELECT DISTINCT typo_hash, token_hash FROM name_vocabulary{where}"
    )
    op.drop_table("blind_index_entries")
    op.drop_table("name_vocabulary")
    _entries("blind_index_entries", with_generation)
    _vocabulary("name_vocabulary", with_generation)
    gen_col, gen_val = ("generation, ", "1, ") if with_generation else ("", "")
    op.execute(
        f"INSERT INTO blind_index_entries ({gen_col}kind, hash, beneficiary_id) "
        f"SELECT {gen_val}kind, hash, beneficiary_id FROM blind_index_copy"
    )
    op.execute(
        f"INSERT INTO name_vocabulary ({gen_col}typo_hash, token_hash) "
        f"SELECT {gen_val}typo_hash, token_hash FROM name_vocabulary_copy"
    )
    op.drop_table("blind_index_copy")
    op.drop_table("name_vocabulary_copy")
    op.create_index(op.f("ix_blind_index_entries_beneficiary_id"), "blind_index_entries", ["beneficiary_id"])


def upgrade() -> None:
    rotations = op.create_table(
        "key_rotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("previous_key_id", sa.String(length=64), nullable=True),
        sa.Column("generation", sa.SmallInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("switched_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["started_by_id"], ["users.id"], name=op.f("fk_key_rotations_started_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_rotations")),
        sa.UniqueConstraint("generation", name=op.f("uq_key_rotations_generation")),
    )
    op.bulk_insert(
        rotations,
        [
            {
                "kind": "index",
                "key_id": "idx-0",
                "generation": 1,
                "state": "active",
                "total": 0,
                "done": 0,
                "cursor": 0,
                "started_at": msc.db.utcnow(),
            }
        ],
    )
    _rebuild(with_generation=True)
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_legacy", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(sa.text("UPDATE feedback SET reference_legacy = :yes").bindparams(yes=True))


def downgrade() -> None:
    # only the active generation goes back, and the code before this revision knows only idx-0;
    # reference codes already moved to their own key stop working
    active = (
        op.get_bind()
        .execute(sa.text("SELECT key_id FROM key_rotations WHERE kind = 'index' AND state = 'active'"))
        .scalar()
    )
    if active not in (None, "idx-0"):
        raise RuntimeError(
            f"searches use index key {active}: the release before revision 0016 knows only idx-0. "
            "Rotate back to a key saved as idx-0 first, or restore a backup."
        )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("reference_legacy")
    _rebuild(with_generation=False)
    op.drop_table("key_rotations")
