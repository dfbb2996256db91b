"""nfi catalogue, stock ledger and hand-overs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 03:37:54.433927
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nfi_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name_es", sa.String(length=120), nullable=False),
        sa.Column("name_pt", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("sexes", sa.String(length=32), nullable=False),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("min_interval_days", sa.Integer(), nullable=False),
        sa.Column("max_per_day", sa.Integer(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_items")),
        sa.UniqueConstraint("code", name=op.f("uq_nfi_items_code")),
    )
    op.create_table(
        "nfi_stock_levels",
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("low_threshold", sa.Integer(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_nfi_stock_levels_not_negative")),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_nfi_stock_levels_centre_id_centres")),
        sa.ForeignKeyConstraint(["item_id"], ["nfi_items.id"], name=op.f("fk_nfi_stock_levels_item_id_nfi_items")),
        sa.PrimaryKeyConstraint("centre_id", "item_id", name=op.f("pk_nfi_stock_levels")),
    )
    op.create_table(
        "nfi_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("items_counted", sa.Integer(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_nfi_counts_centre_id_centres")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_nfi_counts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_counts")),
    )
    with op.batch_alter_table("nfi_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nfi_counts_centre_id"), ["centre_id"], unique=False)

    op.create_table(
        "nfi_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_nfi_receipts_centre_id_centres")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_nfi_receipts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_receipts")),
        sa.UniqueConstraint("centre_id", "reference", name="uq_nfi_receipt_reference"),
    )
    op.create_table(
        "nfi_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_centre_id", sa.Integer(), nullable=False),
        sa.Column("to_centre_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_centre_id"], ["centres.id"], name=op.f("fk_nfi_transfers_from_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(["to_centre_id"], ["centres.id"], name=op.f("fk_nfi_transfers_to_centre_id_centres")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_nfi_transfers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_transfers")),
    )
    op.create_table(
        "nfi_distributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("collected_by", sa.String(length=12), nullable=False),
        sa.Column("ack_method", sa.String(length=12), nullable=False),
        sa.Column("collector_name_ct", sa.LargeBinary(), nullable=True),
        sa.Column("signature_ct", sa.LargeBinary(), nullable=True),
        sa.Column("witness_name_ct", sa.LargeBinary(), nullable=True),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("justification_ct", sa.LargeBinary(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("voided_at", msc.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.String(length=20), nullable=True),
        sa.Column("void_note_ct", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_nfi_distributions_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_nfi_distributions_centre_id_centres")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_nfi_distributions_household_id_households")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_nfi_distributions_user_id_users")),
        sa.ForeignKeyConstraint(["voided_by_id"], ["users.id"], name=op.f("fk_nfi_distributions_voided_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_distributions")),
        sa.UniqueConstraint("uid", name=op.f("uq_nfi_distributions_uid")),
    )
    with op.batch_alter_table("nfi_distributions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nfi_distributions_beneficiary_id"), ["beneficiary_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nfi_distributions_household_id"), ["household_id"], unique=False)

    op.create_table(
        "nfi_distribution_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distribution_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=False),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
            name=op.f("fk_nfi_distribution_lines_beneficiary_id_beneficiaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["centre_id"], ["centres.id"], name=op.f("fk_nfi_distribution_lines_centre_id_centres")
        ),
        sa.ForeignKeyConstraint(
            ["distribution_id"],
            ["nfi_distributions.id"],
            name=op.f("fk_nfi_distribution_lines_distribution_id_nfi_distributions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_nfi_distribution_lines_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["nfi_items.id"], name=op.f("fk_nfi_distribution_lines_item_id_nfi_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_distribution_lines")),
    )
    with op.batch_alter_table("nfi_distribution_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nfi_distribution_lines_distribution_id"), ["distribution_id"], unique=False
        )
        batch_op.create_index("ix_nfi_lines_centre_month", ["centre_id", "month"], unique=False)
        batch_op.create_index("ix_nfi_lines_household_item_day", ["household_id", "item_id", "day"], unique=False)
        batch_op.create_index("ix_nfi_lines_person_item_day", ["beneficiary_id", "item_id", "day"], unique=False)

    op.create_table(
        "nfi_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("counted", sa.Integer(), nullable=True),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("distribution_id", sa.Integer(), nullable=True),
        sa.Column("count_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], name=op.f("fk_nfi_movements_centre_id_centres")),
        sa.ForeignKeyConstraint(["count_id"], ["nfi_counts.id"], name=op.f("fk_nfi_movements_count_id_nfi_counts")),
        sa.ForeignKeyConstraint(
            ["distribution_id"],
            ["nfi_distributions.id"],
            name=op.f("fk_nfi_movements_distribution_id_nfi_distributions"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["nfi_items.id"], name=op.f("fk_nfi_movements_item_id_nfi_items")),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["nfi_receipts.id"], name=op.f("fk_nfi_movements_receipt_id_nfi_receipts")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["nfi_transfers.id"], name=op.f("fk_nfi_movements_transfer_id_nfi_transfers")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_nfi_movements_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfi_movements")),
    )
    with op.batch_alter_table("nfi_movements", schema=None) as batch_op:
        batch_op.create_index("ix_nfi_movements_centre_day", ["centre_id", "day"], unique=False)
        batch_op.create_index(batch_op.f("ix_nfi_movements_distribution_id"), ["distribution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nfi_movements_transfer_id"), ["transfer_id"], unique=False)

    seed_catalogue()


#: the standard catalogue every centre starts with (admins change it on the catalogue page):
#: code, es, pt_BR, en, unit, category, level, sexes, age_min, age_max, quantity, period_days, interval, per day
CATALOGUE = [
    (
        "HYG",
        "Kit de higiene",
        "Kit de higiene",
        "Hygiene kit",
        "kit",
        "hygiene",
        "individual",
        "",
        None,
        None,
        1,
        30,
        30,
        1,
    ),
    (
        "DIG",
        "Kit de dignidad",
        "Kit de dignidade",
        "Dignity kit",
        "kit",
        "dignity",
        "individual",
        "female",
        12,
        49,
        1,
        30,
        30,
        1,
    ),
    ("BABY", "Kit para bebé", "Kit para bebê", "Baby kit", "kit", "baby", "household", "", 0, 1, 1, 30, 30, 1),
    (
        "DIAP",
        "Paquete de pañales",
        "Pacote de fraldas",
        "Nappies pack",
        "pack",
        "baby",
        "individual",
        "",
        0,
        2,
        4,
        30,
        7,
        1,
    ),
    ("BLK", "Cobija", "Cobertor", "Blanket", "piece", "shelter", "individual", "", None, None, 1, 180, 0, 1),
    (
        "PONCHO",
        "Poncho impermeable",
        "Capa de chuva",
        "Rain poncho",
        "piece",
        "clothing",
        "individual",
        "",
        None,
        None,
        1,
        90,
        0,
        1,
    ),
    (
        "KIT",
        "Kit de cocina",
        "Kit de cozinha",
        "Kitchen set",
        "set",
        "kitchen",
        "household",
        "",
        None,
        None,
        1,
        365,
        0,
        1,
    ),
]


def seed_catalogue() -> None:
    items = sa.table(
        "nfi_items",
        *(
            sa.column(c)
            for c in (
                "code",
                "name_es",
                "name_pt",
                "name_en",
                "unit",
                "category",
                "active",
                "level",
                "sexes",
                "age_min",
                "age_max",
                "quantity",
                "period_days",
                "min_interval_days",
                "max_per_day",
            )
        ),
        sa.column("created_at", msc.db.UTCDateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        items,
        [
            dict(
                zip(
                    (
                        "code",
                        "name_es",
                        "name_pt",
                        "name_en",
                        "unit",
                        "category",
                        "level",
                        "sexes",
                        "age_min",
                        "age_max",
                        "quantity",
                        "period_days",
                        "min_interval_days",
                        "max_per_day",
                    ),
                    row,
                ),
                active=True,
                created_at=now,
            )
            for row in CATALOGUE
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("nfi_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nfi_movements_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_nfi_movements_distribution_id"))
        batch_op.drop_index("ix_nfi_movements_centre_day")

    op.drop_table("nfi_movements")
    with op.batch_alter_table("nfi_distribution_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_nfi_lines_person_item_day")
        batch_op.drop_index("ix_nfi_lines_household_item_day")
        batch_op.drop_index("ix_nfi_lines_centre_month")
        batch_op.drop_index(batch_op.f("ix_nfi_distribution_lines_distribution_id"))

    op.drop_table("nfi_distribution_lines")
    with op.batch_alter_table("nfi_distributions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nfi_distributions_household_id"))
        batch_op.drop_index(batch_op.f("ix_nfi_distributions_beneficiary_id"))

    op.drop_table("nfi_distributions")
    op.drop_table("nfi_transfers")
    op.drop_table("nfi_receipts")
    with op.batch_alter_table("nfi_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nfi_counts_centre_id"))

    op.drop_table("nfi_counts")
    op.drop_table("nfi_stock_levels")
    op.drop_table("nfi_items")
