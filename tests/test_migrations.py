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
