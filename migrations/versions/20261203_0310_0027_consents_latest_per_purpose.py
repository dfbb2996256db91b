"""consents: an index on (beneficiary_id, purpose, id), the latest decision per purpose in one seek

The regional duplicate check and search (msc.beneficiaries.regional) keep, among the people beyond the
desk's reach that the blind index ranks, those whose latest decision on continuity of care is "given":
one lookup per candidate, answered by this index without reading the person's other consent rows.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 03:00:00.000000
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_consents_latest_per_purpose", "consents", ["beneficiary_id", "purpose", "id"])


def downgrade() -> None:
    op.drop_index("ix_consents_latest_per_purpose", table_name="consents")
