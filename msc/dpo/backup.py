"""Backups: a consistent snapshot of the database, never with the keys.

SQLite uses its online backup (a consistent copy while the desks keep working). For PostgreSQL the
README gives the pg_dump recipe: the server's own tool is the right one there. Keys live outside the
database (a key file or the environment) and are never copied here, so a stolen backup holds no readable
personal data; keep the keys and the backups in different places."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from msc.db import utcnow


class BackupError(RuntimeError):
    """A backup that cannot be made here, said in words."""


def snapshot(database_url: str, target_dir: Path) -> Path:
    """Write a consistent copy of a SQLite database into target_dir; returns its path."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("this database is not a SQLite file: on PostgreSQL use pg_dump (see the README)")
    source = Path(url.database)
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"msc-{utcnow():%Y%m%d-%H%M%S}.sqlite3"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    target.chmod(0o600)
    return target
