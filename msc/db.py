"""Engine, a session per application context, the declarative Base, and schema migrations."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
import sqlalchemy.orm as so
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, abort, current_app, g, has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.local import LocalProxy

from msc.settings import ROOT, private_dir

MIGRATIONS_DIR = ROOT / "migrations"
#: execution option of a connection opened only to read (SQLite: a plain snapshot, no write lock)
READ_ONLY = "msc_read_only"
#: execution option of a read-mostly request's connection (SQLite: a plain snapshot until it first writes)
READ_MOSTLY = "msc_read_mostly"
#: connection.info key (SQLite): this transaction began with a plain snapshot and has not written yet
_DEFERRED = "msc.deferred"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware now, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(so.DeclarativeBase):
    """Every model's base: shared naming convention so migrations name constraints the same way."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def make_engine(url: str) -> sa.Engine:
    """An engine with the pragmas SQLite needs (WAL, foreign keys) or a pooled PostgreSQL one."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below drive transactions
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            # A request that writes takes the write lock at BEGIN: concurrent desks wait their turn
            # (busy_timeout) instead of failing when a read snapshot cannot be upgraded to a write,
            # and what it decides on what it read stays true until it commits. A connection opened
            # only to read (READ_ONLY) takes a plain snapshot: under WAL it never waits for a writer.
            # A read-mostly request (READ_MOSTLY: a profile, a search) reads on a plain snapshot too
            # and takes the write lock only when it first writes (its audit records, at commit).
            options = conn.get_execution_options()
            deferred = bool(options.get(READ_ONLY) or options.get(READ_MOSTLY))
            conn.info[_DEFERRED] = bool(options.get(READ_MOSTLY))
            conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _before_write(conn, cursor, statement, parameters, context, executemany):
            if conn.info.get(_DEFERRED) and statement.lstrip()[:7].upper().startswith(_WRITES):
                _take_write_lock(conn)

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def write_lock(conn: sa.Connection) -> None:
    """On SQLite, make sure the transaction holds the database's write lock, with an up-to-date view
    (a read-mostly transaction takes it here, before it reads what it is about to extend)."""
    if conn.info.get(_DEFERRED):
        _take_write_lock(conn)


def number_new(sess: so.Session, objects: Sequence[Any]) -> None:
    """On SQLite, give new rows of one model their ids before the flush: the next ones, as SQLite would
    (under the database's write lock, taken here and held to the commit; the session holds no other new
    row of the model). SQLite cannot say in which order a multi-row INSERT gave its ids, so the unit of
    work would otherwise insert such rows one statement each; numbered, hundreds go in one. PostgreSQL
    numbers them in one statement already."""
    if not objects or sess.get_bind().dialect.name != "sqlite":
        return
    conn = sess.connection()
    write_lock(conn)
    table = type(objects[0]).__table__
    last = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    for n, obj in enumerate(objects, start=1):
        obj.id = last + n


def _take_write_lock(conn: sa.Connection) -> None:
    # A read-mostly transaction has written nothing yet: end its snapshot and start again holding the
    # write lock (an older snapshot cannot be upgraded once another desk has committed). Its writes
    # are records of what it did (audit, last seen), never decisions on what it read before.
    conn.info[_DEFERRED] = False
    if conn.in_nested_transaction():  # pragma: no cover - no read-mostly view opens a savepoint
        return
    raw = conn.connection.driver_connection
    assert raw is not None  # a live connection in a transaction
    raw.execute("COMMIT")
    raw.execute("BEGIN IMMEDIATE")


def read_mostly(view: Callable) -> Callable:
    """Mark a view whose request only reads, apart from records of what it did (its audit records, the
    session's last-seen time): on SQLite it reads without the write lock and takes it only to write
    them, at its end. Not for a view that writes what it decided on what it read."""
    view.msc_read_mostly = True  # type: ignore[attr-defined]
    return view


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (0600), before SQLite creates it with the
    process umask (often 0644); SQLite gives its -wal, -shm and -journal files the database file's
    mode. An existing file readable by others is tightened to 0600."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database)
    if not os.path.exists(os.path.dirname(path)):
        private_dir(Path(os.path.dirname(path)))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for companion in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        try:
            if stat.S_IMODE(os.stat(companion).st_mode) & 0o077:
                os.chmod(companion, 0o600)
        except FileNotFoundError:
            pass


def table_of(model: type[Base]) -> sa.Table:
    """A model's table, for Core statements that run one compiled statement for many rows (cheaper than
    the unit of work's bulk path when nothing needs the objects)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def insert_for(
    bind: sa.Engine | sa.Connection,
) -> Callable[[type[Base] | sa.TableClause], postgresql.Insert | sqlite.Insert]:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL spell it the same way)."""
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


def on_postgresql() -> bool:
    """The session's database is PostgreSQL (else SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def plan_each_statement() -> None:
    """For the rest of the transaction, PostgreSQL plans each statement for its own values. For a long
    transaction that writes many people (the demo load): the planner's statistics are those of the tables
    before it, empty on a new database, and a prepared statement's generic plan, made for tables that
    small, was kept while the transaction filled them (psycopg prepares a statement run five times): the
    duplicate check's ranking then took most of a second a person, and the demo's 300 people 7.7 minutes
    instead of 41 s. Requests keep the generic plans: autovacuum's statistics fit the tables they read."""
    if on_postgresql():
        session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def among(column: Any, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN values`. On PostgreSQL the values go as one array parameter, so the statement's text is
    the same however many there are: the server prepares it once per connection and plans it once, where
    a list spelt out value by value made each call a new statement to parse and plan. SQLite has no arrays."""
    if on_postgresql():
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return cast(sa.ColumnElement[bool], column == sa.any_(array))
    return cast(sa.ColumnElement[bool], column.in_(values))


def init_app(app: Flask) -> None:
    """Create the engine and close each context's session when the context ends."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["msc.engine"] = engine
    app.extensions["msc.sessionmaker"] = so.sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(exc):
        s = g.pop("_msc_session", None)
        if s is not None:
            if exc is not None:
                s.rollback()
            s.close()


def get_session() -> so.Session:
    """The session of the current application context, created on first use."""
    if "_msc_session" not in g:
        s = current_app.extensions["msc.sessionmaker"]()
        if _read_mostly_request():
            s.connection(execution_options={READ_MOSTLY: True})
        g._msc_session = s
    return g._msc_session


def _read_mostly_request() -> bool:
    if not has_request_context() or request.endpoint is None:
        return False
    return bool(getattr(current_app.view_functions.get(request.endpoint), "msc_read_mostly", False))


session: so.Session = LocalProxy(get_session)  # type: ignore[assignment]


@dataclass
class Listing:
    """The first rows of a list, and how many there are in all (pages that stay a glance)."""

    items: list
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


def listing(stmt, limit: int, *options) -> Listing:
    """The first `limit` rows of an ORM statement, with the count of all of them. Fewer rows than the limit
    are all of them: the count is asked only of a list that fills it (most lists of a home page do not)."""
    items = list(session.scalars(stmt.limit(limit).options(*options)))
    if len(items) < limit:
        return Listing(items, len(items))
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return Listing(items, max(total, len(items)))


def once_per_transaction(name: str, key: object, compute: Callable[[], Any]) -> Any:
    """`compute()`'s value for `key`, kept in the session under `name` for the current transaction (the
    innermost savepoint, when one is open): asked again in it, the same value; in the next transaction, a
    savepoint or after `forget(name)`, computed again."""
    cached = session.info.get(name)
    if cached is not None and cached[0] is not _innermost_transaction():
        cached = None
    values: dict[object, Any] = cached[1] if cached is not None else {}
    if key not in values:
        values[key] = compute()
        if cached is None:  # (the transaction compute() may have begun)
            session.info[name] = (_innermost_transaction(), values)
    return values[key]


def forget(name: str) -> None:
    """Drop what once_per_transaction keeps under `name` (what it was computed from has changed)."""
    session.info.pop(name, None)


def _innermost_transaction() -> so.SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def rows_changed(stmt: sa.Executable) -> int:
    """Run an UPDATE or DELETE and say how many rows it changed (a compare-and-set claims one)."""
    result = cast("sa.CursorResult[Any]", session.execute(stmt))
    return result.rowcount


def get_by_uid_or_404(model, uid: str):
    """The row with this opaque uid, or a 404 for the request."""
    row = session.scalar(sa.select(model).where(model.uid == uid))
    if row is None:
        abort(404)
    return row


def get_or_404(model, ident):
    """The row with this primary key, or a 404 for the request (None when no key is given)."""
    if ident is None:
        return None
    row = session.get(model, ident)
    if row is None:
        abort(404)
    return row


def refresh_statistics() -> None:
    """After a bulk write (demo load, index rebuild): PostgreSQL's planner statistics, so the search's plans
    fit the data at once rather than after autovacuum's next round (or never, where it is switched off).
    Commits what the session holds first."""
    session.commit()
    engine: sa.Engine = current_app.extensions["msc.engine"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def alembic_config(app: Flask) -> AlembicConfig:
    """Alembic settings pointing at migrations/ and at this app's engine."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["engine"] = app.extensions["msc.engine"]
    return cfg


def upgrade(app: Flask, revision: str = "head") -> None:
    """Apply migrations up to revision: the only way a schema is built (in the app's context: a data step
    may encrypt with its keys)."""
    with app.app_context():
        command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    """Undo migrations down to revision."""
    with app.app_context():
        command.downgrade(alembic_config(app), revision)
