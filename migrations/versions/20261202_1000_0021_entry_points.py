"""entry points: a list per country instead of free text

- entry_points: the border crossings, airports, bus terminals and ports of each country, kept by
  administrators (name, kind, active).
- beneficiaries.entry_point (free text, in clear, copied into the report counts) is replaced by
  entry_point_id (a listed entry point) and entry_point_other ("somewhere not on the list", with no
  text: what was typed could hold anything, a name or a phone number included).
- Existing free text: within each country, a value (spaces tidied, letter case ignored) recorded for
  at least MIN_PEOPLE people becomes an entry point of that country (kind "other", active, spelt as
  most people had it: administrators then set its kind, rename or deactivate it). Rarer values
  become "other" and their text is dropped: a value typed for one or two people is as likely to
  identify them as to name a place. Empty values stay "not recorded".
- report_counts and report_carried (people and needs, k1): the tidied text becomes the entry
  point's id, "other", or stays "" (not recorded); counts that now share a key are added up.

Downgrade puts the entry point's name back as the free text ("other" becomes empty: its text is gone).

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-02 10:00:00.000000
"""

from collections import Counter, defaultdict

import sqlalchemy as sa
from alembic import op

import msc.db

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

#: the least number of people a typed value must have been recorded for to become a list entry
#: (the same threshold under which the reports hide a count)
MIN_PEOPLE = 5
OTHER = "other"
#: report topics whose k1 is the entry point
TOPICS = ("people", "need")
KEY = ("topic", "centre_id", "month", "sex", "age_band", "nationality", "k1", "k2", "k3")


def _tidy(text: str | None) -> str:
    return " ".join((text or "").split())


def _count_key(text: str | None) -> str:
    """The report counts' k1 before this revision (msc.reports.cube.entry_point_key)."""
    return _tidy(text)[:60]


def _table(name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=op.get_bind())


def _rekey_counts(conn, name: str, new_k1) -> None:
    """Give the people and need counts of one table a new k1 (new_k1(centre_id, k1)), adding up the
    counts that come to share a key."""
    table = _table(name)
    rows = conn.execute(sa.select(table).where(table.c.topic.in_(TOPICS))).mappings().all()
    if not rows:
        return
    merged: dict[tuple, list[int]] = {}
    for row in rows:
        key = tuple(new_k1(row["centre_id"], row["k1"]) if col == "k1" else row[col] for col in KEY)
        cell = merged.setdefault(key, [0, 0])
        cell[0] += row["n"]
        cell[1] += row["amount"]
    conn.execute(sa.delete(table).where(table.c.topic.in_(TOPICS)))
    conn.execute(
        sa.insert(table),
        [dict(zip(KEY, key, strict=True), n=n, amount=amount) for key, (n, amount) in merged.items() if n or amount],
    )


def upgrade() -> None:
    op.create_table(
        "entry_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", msc.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_points")),
        sa.UniqueConstraint("country", "name", name="uq_entry_points_country_name"),
    )
    with op.batch_alter_table("entry_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_points_country"), ["country"], unique=False)
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_point_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entry_point_other", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_beneficiaries_entry_point_id"), ["entry_point_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_beneficiaries_entry_point_id_entry_points"), "entry_points", ["entry_point_id"], ["id"]
        )

    conn = op.get_bind()
    people = _table("beneficiaries")
    centres = _table("centres")
    places = _table("entry_points")
    typed = conn.execute(
        sa.select(people.c.id, centres.c.country, people.c.entry_point)
        .join(centres, centres.c.id == people.c.centre_id)
        .where(people.c.entry_point.is_not(None))
    ).all()
    # country -> folded value -> (how many people, the spellings they had)
    seen: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for _id, country, text in typed:
        if _tidy(text):
            seen[country][_tidy(text).casefold()][_tidy(text)[:120]] += 1
    ids: dict[tuple[str, str], int] = {}  # (country, folded value) -> entry point id
    now = msc.db.utcnow()
    for country, values in sorted(seen.items()):
        for folded, spellings in sorted(values.items()):
            if sum(spellings.values()) >= MIN_PEOPLE:
                name = spellings.most_common(1)[0][0]
                ids[(country, folded)] = conn.execute(
                    sa.insert(places)
                    .values(country=country, name=name, kind="other", active=True, created_at=now)
                    .returning(places.c.id)
                ).scalar_one()
    listed: dict[int, list[int]] = defaultdict(list)
    other: list[int] = []
    for person_id, country, text in typed:
        if not _tidy(text):
            continue
        place = ids.get((country, _tidy(text).casefold()))
        if place is None:
            other.append(person_id)
        else:
            listed[place].append(person_id)
    for place, person_ids in listed.items():
        for start in range(0, len(person_ids), 500):
            conn.execute(
                sa.update(people).where(people.c.id.in_(person_ids[start : start + 500])).values(entry_point_id=place)
            )
    for start in range(0, len(other), 500):
        conn.execute(
            sa.update(people).where(people.c.id.in_(other[start : start + 500])).values(entry_point_other=True)
        )

    country_of = dict(conn.execute(sa.select(centres.c.id, centres.c.country)).all())
    by_count_key = {}  # (country, folded k1) -> entry point id, as the counts had it (cut at 60)
    for (country, folded), place in ids.items():
        by_count_key[(country, folded[:60])] = place

    def new_k1(centre_id: int, k1: str) -> str:
        if not k1:
            return ""
        place = by_count_key.get((country_of.get(centre_id), k1.casefold()))
        return str(place) if place is not None else OTHER

    for name in ("report_counts", "report_carried"):
        _rekey_counts(conn, name, new_k1)

    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.drop_column("entry_point")


def downgrade() -> None:
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_point", sa.String(length=120), nullable=True))
    conn = op.get_bind()
    people = _table("beneficiaries")
    places = _table("entry_points")
    names = dict(conn.execute(sa.select(places.c.id, places.c.name)).all())
    for place, name in names.items():
        conn.execute(sa.update(people).where(people.c.entry_point_id == place).values(entry_point=name))

    def old_k1(_centre_id: int, k1: str) -> str:
        return _count_key(names.get(int(k1), "")) if k1.isdigit() else ""

    for name in ("report_counts", "report_carried"):
        _rekey_counts(conn, name, old_k1)
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_beneficiaries_entry_point_id_entry_points"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_beneficiaries_entry_point_id"))
        batch_op.drop_column("entry_point_other")
        batch_op.drop_column("entry_point_id")
    with op.batch_alter_table("entry_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_points_country"))
    op.drop_table("entry_points")
