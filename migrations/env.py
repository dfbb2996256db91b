"""Alembic environment: runs against the engine handed over by msc.db.alembic_config()."""

from alembic import context

import msc.models  # noqa: F401  (registers every table on Base.metadata)
from msc.db import Base

config = context.config
engine = config.attributes["engine"]


def _sqlite_foreign_keys(connection, on: bool) -> None:
    """SQLite rebuilds a table to alter it (batch mode), which foreign keys forbid while other rows
    point at it; the pragma only works outside a transaction, so it goes straight to the driver."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, False)
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            if problems:
                raise RuntimeError(f"migrations left rows whose foreign keys point nowhere: {problems[:5]}")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, True)
