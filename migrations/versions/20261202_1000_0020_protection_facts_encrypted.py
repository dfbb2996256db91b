"""protection facts encrypted

A copy of the database alone no longer tells who is a victim of trafficking, a survivor of GBV, an
unaccompanied or separated child, or in the fund:

- beneficiaries.possible_uasc (a boolean in clear) becomes possible_uasc_ct, encrypted under the
  person's data key and padded, so that true and false encrypt to the same length; every person has one.
- the "uasc" specific need leaves specific_needs (in clear) for the encrypted list in sensitive_needs_ct,
  which every person now has, padded to one length (an empty list too).
- fund_applications.case_type, uasc_kind and explanation (whose criteria labels name the case type)
  become facts_ct, encrypted under the person's key and padded.
- fund_applications.beneficiary_id and case_id (who applied) become subject_ct, encrypted under the link
  key (derived from the audit key, outside the database), with subject_tag, a keyed hash, to find one
  person's applications.
- from now on the audit record of an application says its recommendation, not its case type. Records
  written before keep "<case type>:<recommendation>": the chain and its witness forbid rewriting them,
  and the application they name no longer names its person.

The data step encrypts with the application's keys (msc.db.upgrade runs migrations in the app's context).
Erased people (their key destroyed) get no encrypted facts; what the counts knew of them in clear (a
possible UASC, a UASC need) moves to the carried counts, so that a recount still equals the running counts.

Downgrade decrypts back what the keys can still read. Irreversible for data: an erased person's
application gets an empty case type (and erased people no possible-UASC mark nor UASC need).

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-02 10:00:00.000000
"""

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0021"
branch_labels = None
depends_on = None

_CHUNK = 500


def _key(row):
    from msc.crypto import detached_key

    return detached_key(row.key_uid, row.kek_id, row.wrapped)


def _people(conn, *columns: str):
    cols = ", ".join(f"b.{c}" for c in columns)
    return conn.execute(
        sa.text(
            f"SELECT b.id, b.uid, {cols}, k.uid AS key_uid, k.kek_id, k.wrapped "
            "FROM beneficiaries b JOIN data_keys k ON k.id = b.data_key_id ORDER BY b.id"
        )
    ).all()


def _carry(conn, erased: list) -> None:
    """What a recount can no longer read of erased people — a possible UASC, a UASC need — is carried."""
    if not erased:
        return
    from msc.reports import cube
    from msc.reports.models import CarriedCount

    look = cube.Lookups.load(conn)
    deltas: dict = {}
    for row, uasc, need in erased:
        registered = row.registered_at
        if isinstance(registered, str):  # SQLite through a text query
            import datetime as dt

            registered = dt.datetime.fromisoformat(registered)
        v = SimpleNamespace(
            **{**row._mapping, "registered_at": registered, "entry_point_other": bool(row.entry_point_other)},
            registered_centre_id=row.centre_id,  # the counting code of today; no record had moved yet
        )
        if need:
            cube._add(deltas, [f for f in cube.person_facts(v, ["uasc"], False, look) if f[0][0] == "need"], +1)
        if uasc:
            cube._add(deltas, cube.person_facts(v, (), True, look)[:1], +1)
            cube._add(deltas, cube.person_facts(v, (), False, look)[:1], -1)
    cube.apply(conn, deltas, CarriedCount)


def _encrypt_people(conn) -> None:
    from msc.beneficiaries.models import Beneficiary
    from msc.crypto import Detached

    uasc_need = set(conn.execute(sa.text("SELECT beneficiary_id FROM specific_needs WHERE code = 'uasc'")).scalars())
    erased = []
    rows = _people(
        conn, "possible_uasc", "sensitive_needs_ct", "centre_id", "registered_at", "sex", "age_band", "nationality",
        "entry_point_id", "entry_point_other",
    )  # fmt: skip
    for start in range(0, len(rows), _CHUNK):
        updates = []
        for row in rows[start : start + _CHUNK]:
            if row.wrapped is None:  # erased: nothing can be encrypted for them, and nothing is left in clear
                erased.append((row, bool(row.possible_uasc), row.id in uasc_need))
                updates.append({"i": row.id, "needs": None, "uasc": None})
                continue
            person = Detached("beneficiaries", row.uid, _key(row))
            needs = set(Beneficiary.protected_needs.read(person, row.sensitive_needs_ct) or [])
            if row.id in uasc_need:
                needs.add("uasc")
            Beneficiary.protected_needs.__set__(person, sorted(needs))
            Beneficiary.possible_uasc.__set__(person, bool(row.possible_uasc))
            updates.append({"i": row.id, "needs": person.sensitive_needs_ct, "uasc": person.possible_uasc_ct})
        if updates:
            conn.execute(
                sa.text("UPDATE beneficiaries SET sensitive_needs_ct = :needs, possible_uasc_ct = :uasc WHERE id = :i"),
                updates,
            )
    _carry(conn, erased)
    conn.execute(sa.text("DELETE FROM specific_needs WHERE code = 'uasc'"))


def _encrypt_applications(conn) -> None:
    import json

    from msc.crypto import Detached
    from msc.fund.models import Application, subject_tag

    rows = conn.execute(
        sa.text(
            "SELECT a.id, a.uid, a.beneficiary_id, a.case_id, a.case_type, a.uasc_kind, a.explanation, "
            "b.uid AS person_uid, k.uid AS key_uid, k.kek_id, k.wrapped "
            "FROM fund_applications a JOIN beneficiaries b ON b.id = a.beneficiary_id "
            "JOIN data_keys k ON k.id = b.data_key_id ORDER BY a.id"
        )
    ).all()
    updates = []
    for row in rows:
        application = Detached("fund_applications", row.uid, _key(row))
        application.facts_ct = None
        if row.wrapped is not None:
            facts = {"case_type": row.case_type, "uasc_kind": row.uasc_kind, "explanation": json.loads(row.explanation)}
            Application.facts.__set__(application, facts)
        Application.subject.__set__(application, {"beneficiary": row.beneficiary_id, "case": row.case_id})
        tag = subject_tag(SimpleNamespace(uid=row.person_uid))
        updates.append({"i": row.id, "facts": application.facts_ct, "subject": application.subject_ct, "tag": tag})
    for start in range(0, len(updates), _CHUNK):
        conn.execute(
            sa.text(
                "UPDATE fund_applications SET facts_ct = :facts, subject_ct = :subject, subject_tag = :tag "
                "WHERE id = :i"
            ),
            updates[start : start + _CHUNK],
        )


def upgrade() -> None:
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("possible_uasc_ct", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("fund_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("subject_ct", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("subject_tag", sa.String(length=64), nullable=True))

    conn = op.get_bind()
    _encrypt_people(conn)
    _encrypt_applications(conn)

    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_beneficiaries_possible_uasc"))
        batch_op.drop_column("possible_uasc")
    with op.batch_alter_table("fund_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_applications_beneficiary_id"))
        batch_op.drop_index(batch_op.f("ix_fund_applications_case_id"))
        batch_op.drop_constraint(batch_op.f("fk_fund_applications_beneficiary_id_beneficiaries"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_fund_applications_case_id_cases"), type_="foreignkey")
        batch_op.drop_column("beneficiary_id")
        batch_op.drop_column("case_id")
        batch_op.drop_column("case_type")
        batch_op.drop_column("uasc_kind")
        batch_op.drop_column("explanation")
        batch_op.alter_column("subject_ct", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("subject_tag", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_fund_applications_subject_tag"), ["subject_tag"], unique=False)


def _decrypt_back(conn) -> None:
    import json

    from msc.beneficiaries.models import Beneficiary
    from msc.crypto import Detached
    from msc.fund.models import Application

    needs, flags = [], []
    for row in _people(conn, "possible_uasc_ct", "sensitive_needs_ct"):
        if row.wrapped is None:
            continue
        person = Detached("beneficiaries", row.uid, _key(row))
        protected = set(Beneficiary.protected_needs.read(person, row.sensitive_needs_ct) or [])
        if "uasc" in protected:
            needs.append({"i": row.id})
        rest = sorted(protected - {"uasc"})
        person.sensitive_needs_ct = None
        if rest:  # the release before this revision read an unpadded list of sensitive needs alone
            from msc.crypto.fields import EncryptedField

            EncryptedField("sensitive_needs_ct", codec="json").__set__(person, rest)
        flags.append(
            {
                "i": row.id,
                "flag": bool(Beneficiary.possible_uasc.read(person, row.possible_uasc_ct)),
                "needs": person.sensitive_needs_ct,
            }
        )
    for start in range(0, len(flags), _CHUNK):
        conn.execute(
            sa.text("UPDATE beneficiaries SET possible_uasc = :flag, sensitive_needs_ct = :needs WHERE id = :i"),
            flags[start : start + _CHUNK],
        )
    if needs:
        conn.execute(sa.text("INSERT INTO specific_needs (beneficiary_id, code) VALUES (:i, 'uasc')"), needs)

    apps = conn.execute(sa.text("SELECT id, uid, subject_ct, facts_ct FROM fund_applications ORDER BY id")).all()
    for row in apps:
        application = Detached("fund_applications", row.uid, None)  # type: ignore[arg-type]
        application.subject_ct = row.subject_ct
        subject = Application.subject.__get__(application)
        person = conn.execute(
            sa.text(
                "SELECT b.uid, k.uid AS key_uid, k.kek_id, k.wrapped FROM beneficiaries b "
                "JOIN data_keys k ON k.id = b.data_key_id WHERE b.id = :i"
            ),
            {"i": subject["beneficiary"]},
        ).one()
        facts = {}
        if person.wrapped is not None:
            application = Detached("fund_applications", row.uid, _key(person))
            facts = Application.facts.read(application, row.facts_ct) or {}
        conn.execute(
            sa.text(
                "UPDATE fund_applications SET beneficiary_id = :b, case_id = :c, case_type = :t, uasc_kind = :k, "
                "explanation = :e WHERE id = :i"
            ),
            {
                "i": row.id,
                "b": subject["beneficiary"],
                "c": subject["case"],
                "t": facts.get("case_type") or "",
                "k": facts.get("uasc_kind"),
                "e": json.dumps(facts.get("explanation") or []),
            },
        )


def downgrade() -> None:
    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("possible_uasc", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("fund_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("beneficiary_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("case_type", sa.String(length=12), server_default="", nullable=False))
        batch_op.add_column(sa.Column("uasc_kind", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("explanation", sa.Text(), server_default="[]", nullable=False))

    _decrypt_back(op.get_bind())

    with op.batch_alter_table("beneficiaries", schema=None) as batch_op:
        batch_op.alter_column("possible_uasc", existing_type=sa.Boolean(), server_default=None)
        batch_op.create_index(batch_op.f("ix_beneficiaries_possible_uasc"), ["possible_uasc"], unique=False)
        batch_op.drop_column("possible_uasc_ct")
    with op.batch_alter_table("fund_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_applications_subject_tag"))
        batch_op.drop_column("subject_tag")
        batch_op.drop_column("subject_ct")
        batch_op.drop_column("facts_ct")
        batch_op.alter_column("beneficiary_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("case_type", existing_type=sa.String(length=12), server_default=None)
        batch_op.alter_column("explanation", existing_type=sa.Text(), server_default=None)
        batch_op.create_foreign_key(
            batch_op.f("fk_fund_applications_beneficiary_id_beneficiaries"),
            "beneficiaries",
            ["beneficiary_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_fund_applications_case_id_cases"), "cases", ["case_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(batch_op.f("ix_fund_applications_beneficiary_id"), ["beneficiary_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_applications_case_id"), ["case_id"], unique=False)
