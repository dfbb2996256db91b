"""regional protection fund

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 04:39:04.830755
"""

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fund_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("disbursed", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("disbursed >= 0 AND disbursed <= amount", name=op.f("ck_fund_allocations_within_amount")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_allocations")),
    )
    with op.batch_alter_table("fund_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_allocations_country"), ["country"], unique=False)

    op.create_table(
        "fund_category_caps",
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("category", "currency", name=op.f("pk_fund_category_caps")),
    )
    op.create_table(
        "fund_audit_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["drawn_by_id"], ["users.id"], name=op.f("fk_fund_audit_samples_drawn_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_audit_samples")),
    )
    op.create_table(
        "fund_criteria_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_fund_criteria_sets_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"], name=op.f("fk_fund_criteria_sets_published_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_criteria_sets")),
        sa.UniqueConstraint("version", name=op.f("uq_fund_criteria_sets_version")),
    )
    op.create_table(
        "fund_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("case_type", sa.String(length=12), nullable=False),
        sa.Column("uasc_kind", sa.String(length=14), nullable=True),
        sa.Column("criteria_set_id", sa.Integer(), nullable=False),
        sa.Column("criteria_digest", sa.String(length=64), nullable=False),
        sa.Column("recommendation", sa.String(length=18), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("answers_ct", sa.LargeBinary(), nullable=True),
        sa.Column("evidence_ct", sa.LargeBinary(), nullable=True),
        sa.Column("age_band", sa.String(length=8), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_fund_applications_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_fund_applications_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_fund_applications_centre_id_centres")),
        sa.ForeignKeyConstraint(
            ["criteria_set_id"],
            ["fund_criteria_sets.id"],
            name=op.f("fk_fund_applications_criteria_set_id_fund_criteria_sets"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"], ["users.id"], name=op.f("fk_fund_applications_submitted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_applications")),
        sa.UniqueConstraint("uid", name=op.f("uq_fund_applications_uid")),
    )
    with op.batch_alter_table("fund_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_applications_beneficiary_id"), ["beneficiary_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_applications_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_applications_centre_id"), ["centre_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_applications_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_applications_submitted_on"), ["submitted_on"], unique=False)

    op.create_table(
        "fund_application_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider_ct", sa.LargeBinary(), nullable=True),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["fund_applications.id"],
            name=op.f("fk_fund_application_lines_application_id_fund_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_application_lines")),
        sa.UniqueConstraint("uid", name=op.f("uq_fund_application_lines_uid")),
    )
    with op.batch_alter_table("fund_application_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_application_lines_application_id"), ["application_id"], unique=False)

    op.create_table(
        "fund_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("against_recommendation", sa.Boolean(), nullable=False),
        sa.Column("justification_ct", sa.LargeBinary(), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("period_ends_on", sa.Date(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["fund_applications.id"],
            name=op.f("fk_fund_decisions_application_id_fund_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_fund_decisions_decided_by_id_users")),
        sa.ForeignKeyConstraint(
            ["replaces_id"], ["fund_decisions.id"], name=op.f("fk_fund_decisions_replaces_id_fund_decisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_decisions")),
        sa.UniqueConstraint("replaces_id", name=op.f("uq_fund_decisions_replaces_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_fund_decisions_uid")),
    )
    with op.batch_alter_table("fund_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_decisions_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_decisions_decided_on"), ["decided_on"], unique=False)

    op.create_table(
        "fund_audit_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("finding", sa.String(length=10), nullable=True),
        sa.Column("note_ct", sa.LargeBinary(), nullable=True),
        sa.Column("auditor_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["auditor_id"], ["users.id"], name=op.f("fk_fund_audit_findings_auditor_id_users")),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["fund_decisions.id"],
            name=op.f("fk_fund_audit_findings_decision_id_fund_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["fund_audit_samples.id"],
            name=op.f("fk_fund_audit_findings_sample_id_fund_audit_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_audit_findings")),
        sa.UniqueConstraint("uid", name=op.f("uq_fund_audit_findings_uid")),
        sa.UniqueConstraint("sample_id", "decision_id", name="uq_fund_finding"),
    )
    op.create_table(
        "fund_decision_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=True),
        sa.Column("approved", sa.BigInteger(), nullable=False),
        sa.Column("disbursed", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "disbursed >= 0 AND disbursed <= approved", name=op.f("ck_fund_decision_lines_within_approved")
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["fund_allocations.id"],
            name=op.f("fk_fund_decision_lines_allocation_id_fund_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["fund_decisions.id"],
            name=op.f("fk_fund_decision_lines_decision_id_fund_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["fund_application_lines.id"],
            name=op.f("fk_fund_decision_lines_line_id_fund_application_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_decision_lines")),
    )
    with op.batch_alter_table("fund_decision_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_decision_lines_allocation_id"), ["allocation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_decision_lines_decision_id"), ["decision_id"], unique=False)

    op.create_table(
        "fund_disbursements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("decision_line_id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("payee_ct", sa.LargeBinary(), nullable=True),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("void_reason_ct", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["fund_allocations.id"],
            name=op.f("fk_fund_disbursements_allocation_id_fund_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_fund_disbursements_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decision_line_id"],
            ["fund_decision_lines.id"],
            name=op.f("fk_fund_disbursements_decision_line_id_fund_decision_lines"),
        ),
        sa.ForeignKeyConstraint(["voided_by_id"], ["users.id"], name=op.f("fk_fund_disbursements_voided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_disbursements")),
        sa.UniqueConstraint("uid", name=op.f("uq_fund_disbursements_uid")),
    )
    with op.batch_alter_table("fund_disbursements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_disbursements_allocation_id"), ["allocation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_disbursements_decision_line_id"), ["decision_line_id"], unique=False)

    seed_fund()


#: the most one case may receive per category, in each country's currency (admins change them)
CAPS_USD = {
    "medical": 1500,
    "mhpss": 800,
    "shelter": 1200,
    "legal": 600,
    "education": 700,
    "livelihood": 1500,
    "return_integration": 2000,
    "basic_needs": 500,
}
RATES = {"USD": 1, "COP": 4000, "PEN": 4, "BRL": 5, "CLP": 950}


def seed_fund() -> None:
    """Version 1 of the criteria, published, and the category caps."""
    from msc.fund.criteria import VERSION_1, digest  # frozen: tests pin its digest

    sets = sa.table(
        "fund_criteria_sets",
        *(sa.column(c) for c in ("version", "effective_on", "status", "definition", "digest")),
        sa.column("published_at", msc.db.UTCDateTime(timezone=True)),
        sa.column("created_at", msc.db.UTCDateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        sets,
        [
            {
                "version": 1,
                "effective_on": dt.date(2026, 1, 1),
                "status": "published",
                "definition": json.dumps(VERSION_1, sort_keys=True, separators=(",", ":")),
                "digest": digest(VERSION_1),
                "published_at": now,
                "created_at": now,
            }
        ],
    )
    caps = sa.table("fund_category_caps", sa.column("category"), sa.column("currency"), sa.column("amount"))
    op.bulk_insert(
        caps,
        [
            {"category": c, "currency": cur, "amount": usd * rate * 100}
            for c, usd in CAPS_USD.items()
            for cur, rate in RATES.items()
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("fund_disbursements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_disbursements_decision_line_id"))
        batch_op.drop_index(batch_op.f("ix_fund_disbursements_allocation_id"))

    op.drop_table("fund_disbursements")
    with op.batch_alter_table("fund_decision_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_decision_lines_decision_id"))
        batch_op.drop_index(batch_op.f("ix_fund_decision_lines_allocation_id"))

    op.drop_table("fund_decision_lines")
    op.drop_table("fund_audit_findings")
    with op.batch_alter_table("fund_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_decisions_decided_on"))
        batch_op.drop_index(batch_op.f("ix_fund_decisions_application_id"))

    op.drop_table("fund_decisions")
    with op.batch_alter_table("fund_application_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_application_lines_application_id"))

    op.drop_table("fund_application_lines")
    with op.batch_alter_table("fund_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_applications_submitted_on"))
        batch_op.drop_index(batch_op.f("ix_fund_applications_country"))
        batch_op.drop_index(batch_op.f("ix_fund_applications_centre_id"))
        batch_op.drop_index(batch_op.f("ix_fund_applications_case_id"))
        batch_op.drop_index(batch_op.f("ix_fund_applications_beneficiary_id"))

    op.drop_table("fund_applications")
    op.drop_table("fund_criteria_sets")
    op.drop_table("fund_audit_samples")
    op.drop_table("fund_category_caps")
    with op.batch_alter_table("fund_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_allocations_country"))

    op.drop_table("fund_allocations")
