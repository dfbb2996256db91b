"""break-the-glass quota and approval; random case numbers

- break_glass: a status (granted, pending: past the user's daily quota, waiting for a protection
  officer; refused), when it was asked (requested_at), and the protection officer's decision (who,
  when, an encrypted note). started_at and expires_at are empty while a request waits. Existing rows
  are granted accesses asked when they started.
- beneficiaries: case numbers are no longer counted. Every person gets a new random number
  (COL-CUC-7K3M-Q9XD-4: the centre's code, 8 random Crockford base-32 characters and a Luhn mod-32 check
  character); the old counted number is kept in legacy_case_number, so that a paper file still finds the
  person within one's own reach. Erased people keep their ERASED-… placeholder.
- case_number_counters is dropped. Going down restores the old numbers, gives counted numbers to people
  registered since, and rebuilds the counters.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 10:00:00
"""

import re
import secrets

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Copied from msc.beneficiaries.casenumber as it stood at this revision (a migration must not change
# with the code).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LEGACY = re.compile(r"^[A-Z]{3}-[A-Z0-9]{2,8}-(\d{4})-(\d{6})$")


def _check(body: str) -> str:
    total, double = 0, True
    for ch in reversed(body):
        value = ALPHABET.index(ch)
        if double:
            value *= 2
            value = value // 32 + value % 32
        total += value
        double = not double
    return ALPHABET[(32 - total % 32) % 32]


def _new(code: str, taken: set[str]) -> str:
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(8))
        number = f"{code}-{body[:4]}-{body[4:]}-{_check(body)}"
        if number not in taken:
            taken.add(number)
            return number


def upgrade() -> None:
    with op.batch_alter_table("break_glass", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("requested_at", msc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", msc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decision_note_ct", sa.LargeBinary(), nullable=True))
    op.execute(sa.text("UPDATE break_glass SET status = 'granted', requested_at = started_at"))
    with op.batch_alter_table("break_glass", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=12), nullable=False)
        batch_op.alter_column("requested_at", existing_type=msc.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column("started_at", existing_type=msc.db.UTCDateTime(timezone=True), nullable=True)
        batch_op.alter_column("expires_at", existing_type=msc.db.UTCDateTime(timezone=True), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_break_glass_decided_by_id_users"), "users", ["decided_by_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_break_glass_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_break_glass_requested_at"), ["requested_at"], unique=False)

    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legacy_case_number", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_beneficiaries_legacy_case_number"), ["legacy_case_number"])
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT b.id, b.case_number, c.code FROM beneficiaries b JOIN centres c ON c.id = b.centre_id")
    ).all()
    taken = {r.case_number for r in rows}
    for row in rows:
        if LEGACY.match(row.case_number):
            conn.execute(
                sa.text("UPDATE beneficiaries SET legacy_case_number = :old, case_number = :new WHERE id = :id"),
                {"old": row.case_number, "new": _new(row.code, taken), "id": row.id},
            )
    op.drop_table("case_number_counters")


def downgrade() -> None:
    op.create_table(
        "case_number_counters",
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_case_number_counters_centre_id_centres")),
        sa.PrimaryKeyConstraint("centre_id", "year", name=op.f("pk_case_number_counters")),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT b.id, b.case_number, b.legacy_case_number, b.centre_id, b.registered_at, c.code "
            "FROM beneficiaries b JOIN centres c ON c.id = b.centre_id ORDER BY b.id"
        )
    ).all()
    last: dict[tuple[int, int], int] = {}
    for row in rows:
        m = LEGACY.match(row.legacy_case_number or "")
        if m:
            key = (row.centre_id, int(m[1]))
            last[key] = max(last.get(key, 0), int(m[2]))
    for row in rows:
        if row.legacy_case_number:
            number = row.legacy_case_number
        elif row.case_number.startswith("ERASED-"):
            continue
        else:
            year = int(str(row.registered_at)[:4])
            key = (row.centre_id, year)
            last[key] = last.get(key, 0) + 1
            number = f"{row.code}-{year}-{last[key]:06d}"
        conn.execute(sa.text("UPDATE beneficiaries SET case_number = :n WHERE id = :id"), {"n": number, "id": row.id})
    for (centre_id, year), n in last.items():
        conn.execute(
            sa.text("INSERT INTO case_number_counters (centre_id, year, last) VALUES (:c, :y, :n)"),
            {"c": centre_id, "y": year, "n": n},
        )
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_beneficiaries_legacy_case_number"), type_="unique")
        batch_op.drop_column("legacy_case_number")

    op.execute(sa.text("DELETE FROM break_glass WHERE status <> 'granted'"))
    with op.batch_alter_table("break_glass", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_break_glass_requested_at"))
        batch_op.drop_index(batch_op.f("ix_break_glass_status"))
        batch_op.drop_constraint(batch_op.f("fk_break_glass_decided_by_id_users"), type_="foreignkey")
        batch_op.alter_column("expires_at", existing_type=msc.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.alter_column("started_at", existing_type=msc.db.UTCDateTime(timezone=True), nullable=False)
        batch_op.drop_column("decision_note_ct")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by_id")
        batch_op.drop_column("requested_at")
        batch_op.drop_column("status")
