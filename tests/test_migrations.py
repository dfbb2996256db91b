"""Migrations are the only way a schema is built: they match the models and they go down and up again."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from msc import db as dbmod
from msc.db import Base


def test_models_and_migrations_agree(app):
    import msc.models  # noqa: F401

    with app.extensions["msc.engine"].connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(app):
    import sqlalchemy as sa

    dbmod.downgrade(app, "base")
    engine = app.extensions["msc.engine"]
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    dbmod.upgrade(app)
    assert "beneficiaries" in sa.inspect(engine).get_table_names()


def test_migrations_go_down_and_up_over_real_data(app, make):
    """Upgrading a database that already holds people, users and cases must work (SQLite rebuilds
    tables to alter them)."""
    import sqlalchemy as sa

    cw = make.user("cw", "caseworker")
    uid = make.person(given_names="Ana", family_names="Rojas")
    make.case(uid, cw)
    make.partner()
    dbmod.downgrade(app, "0004")
    dbmod.upgrade(app)
    with app.app_context():
        from msc.db import session

        assert session.scalar(sa.text("SELECT COUNT(*) FROM users")) == 1
        assert session.scalar(sa.text("SELECT COUNT(*) FROM cases")) == 1
        # revision 0026: the person's route starts at their centre on the day they were registered
        from msc.beneficiaries.models import Beneficiary
        from msc.centres import stays

        person = session.scalar(sa.select(Beneficiary).where(Beneficiary.uid == uid))
        [stay] = stays.route_of(person.id)
        assert stay.centre_id == person.centre_id and stay.arrived_on == person.registered_at.date()


def test_exports_made_before_get_a_coded_purpose_and_an_expiry(app, make):
    """Revision 0019: the free-text purpose of earlier exports is not carried over (their audit record
    keeps it); they become "other" and expire 24 hours after they were made."""
    import datetime as dt

    import sqlalchemy as sa

    uid = make.user("po", "protection_officer")
    dbmod.downgrade(app, "0016")
    made = dt.datetime(2026, 11, 30, 8, 0)
    with app.extensions["msc.engine"].begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO personal_exports (uid, user_id, purpose, rows, created_at, archive) "
                "VALUES ('a1', :u, 'Lista de la familia Rojas para el juzgado', 3, :t, :z)"
            ),
            {"u": uid, "t": made, "z": b"zip"},
        )
    dbmod.upgrade(app)
    with app.app_context():
        from msc.db import session
        from msc.dpo.models import PersonalExport

        export = session.scalar(sa.select(PersonalExport).where(PersonalExport.uid == "a1"))
        assert export.purpose_code == "other" and export.purpose_note is None and export.archive == b"zip"
        assert export.expires_at == made.replace(tzinfo=dt.UTC) + dt.timedelta(hours=24)
        assert "Rojas" not in repr(session.execute(sa.text("SELECT * FROM personal_exports")).all())


def test_an_index_built_before_the_pairs_says_so_until_rebuilt(app, make):
    """Revision 0031: the generations of a database that holds index rows say layout 1 (their entries have
    no pairs of name words, so searches match names word by word); `index rebuild` brings them to layout 2.
    A database with nothing indexed yet starts at layout 2."""
    from msc.crypto import rotation

    dbmod.downgrade(app, "0030")
    dbmod.upgrade(app)
    with app.app_context():
        assert rotation.index_state().search.layout == 2
    make.person(given_names="Ana", family_names="Rojas")
    dbmod.downgrade(app, "0030")
    dbmod.upgrade(app)
    with app.app_context():
        from msc.beneficiaries import index
        from msc.crypto import blind, rotation

        search_generation = rotation.index_state().search
        assert (search_generation.generation, search_generation.key_id, search_generation.layout) == (1, "idx-0", 1)
        index.rebuild_index()
        assert rotation.index_state().search.layout == blind.LAYOUT
