"""Backups: a consistent SQLite snapshot without the keys; restored into a new instance with the keys every
record decrypts, and without them none does."""

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa

from msc.beneficiaries.models import Beneficiary
from msc.crypto.keys import FileKeyProvider, KeyError_
from msc.db import session
from msc.dpo.backup import BackupError, snapshot
from tests.conftest import PG_URL, _new_app


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite online backup; PostgreSQL uses pg_dump (README)")
def test_a_restored_snapshot_decrypts_only_with_the_keys(app, make, tmp_path, keys_file):
    for i in range(3):
        make.person(
            given_names=f"Marta{i}",
            family_names="Salazar",
            date_of_birth=dt.date(1985, 5, 1 + i),
            document_type="passport",
            document_number=f"P00{i}",
        )
    res = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert res.exit_code == 0 and "the keys are not in it" in res.output
    [copy] = list((tmp_path / "backups").glob("msc-*.sqlite3"))
    assert b"keys" not in copy.name.encode() and b"Marta" not in copy.read_bytes()
    assert keys_file.read_bytes()[:10] not in copy.read_bytes()

    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copyfile(copy, restored / "msc.sqlite3")
    with_keys = _new_app(restored, f"sqlite:///{restored / 'msc.sqlite3'}", keys_file)
    with with_keys.app_context():
        names = sorted(p.given_names for p in session.scalars(sa.select(Beneficiary)))
        assert names == ["Marta0", "Marta1", "Marta2"]
        assert sorted(p.document_number for p in session.scalars(sa.select(Beneficiary))) == ["P000", "P001", "P002"]

    other_keys = tmp_path / "other-keys.json"
    FileKeyProvider(other_keys).generate()
    without = _new_app(restored, f"sqlite:///{restored / 'msc.sqlite3'}", other_keys)
    with without.app_context():
        person = session.scalars(sa.select(Beneficiary)).first()
        with pytest.raises(KeyError_):
            _ = person.given_names


def test_a_database_that_is_not_a_sqlite_file_is_refused_in_words(tmp_path):
    with pytest.raises(BackupError, match="pg_dump"):
        snapshot("postgresql+psycopg://postgres@127.0.0.1:5432/test", tmp_path)
