"""referral reminders

- referral_reminders: a reminder that a sent referral is past its deadline without an answer, made by
  the daily run (`flask referrals remind`); `round` counts a referral's reminders (unique per referral,
  so two runs at once never make the same reminder twice). No personal data: it points to the referral.
- referral_reminder_recipients: the staff a reminder is addressed to, and when each dismissed it.

Downgrade drops both tables (the audit log keeps that reminders were made).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("made_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_reminders_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_reminders")),
        sa.UniqueConstraint("referral_id", "round", name=op.f("uq_referral_reminders_referral_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_referral_reminders_uid")),
    )
    op.create_index(op.f("ix_referral_reminders_referral_id"), "referral_reminders", ["referral_id"])
    op.create_table(
        "referral_reminder_recipients",
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dismissed_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["referral_reminders.id"],
            name=op.f("fk_referral_reminder_recipients_reminder_id_referral_reminders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_referral_reminder_recipients_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("reminder_id", "user_id", name=op.f("pk_referral_reminder_recipients")),
    )
    op.create_index(op.f("ix_referral_reminder_recipients_user_id"), "referral_reminder_recipients", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_referral_reminder_recipients_user_id"), table_name="referral_reminder_recipients")
    op.drop_table("referral_reminder_recipients")
    op.drop_index(op.f("ix_referral_reminders_referral_id"), table_name="referral_reminders")
    op.drop_table("referral_reminders")
