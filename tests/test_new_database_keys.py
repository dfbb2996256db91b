"""A new database with a key file whose first index key (idx-0) was retired starts on the key file's newest
index key: `db upgrade` and `demo load` work, and people are found."""

import base64
import json
import secrets

import pytest
import sqlalchemy as sa

from msc import db as dbmod
from msc.beneficiaries import search
from msc.beneficiaries.models import Beneficiary
from msc.crypto import rotation
from msc.crypto.keys import FIRST_INDEX_KEY, FileKeyProvider
from msc.db import session
from tests.conftest import PG_URL, _new_app

NEWEST = "idx-20261130-beef"


def _retired_first_key_file(path):
    FileKeyProvider(path).generate()
    data = json.loads(path.read_text())
    first = data["index_keys"].pop(FIRST_INDEX_KEY)
    data.pop("index_key", None)
    data["index_keys"] = {"idx-20261001-aaaa": first, NEWEST: base64.b64encode(secrets.token_bytes(32)).decode()}
    path.write_text(json.dumps(data))
    return path


@pytest.mark.skipif(bool(PG_URL), reason="a database of its own: SQLite only")
def test_demo_load_on_a_new_database_starts_on_the_newest_index_key(tmp_path):
    keys = _retired_first_key_file(tmp_path / "keys.json")
    app = _new_app(tmp_path, f"sqlite:///{tmp_path / 'new.sqlite3'}", keys)
    runner = app.test_cli_runner()
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert NEWEST in upgraded.output
    loaded = runner.invoke(args=["demo", "load", "--people", "4"])
    assert loaded.exit_code == 0, (loaded.output, loaded.exception)
    with app.test_request_context():
        assert rotation.index_state().search == rotation.IndexGeneration(1, NEWEST)
        person = session.scalars(sa.select(Beneficiary).limit(1)).one()
        assert any(hit.person.id == person.id for hit in search.search(_manager(), person.family_names).hits)
    app.extensions["msc.engine"].dispose()


@pytest.mark.skipif(bool(PG_URL), reason="a database of its own: SQLite only")
def test_demo_load_alone_also_starts_on_the_newest_key(tmp_path):
    keys = _retired_first_key_file(tmp_path / "keys.json")
    app = _new_app(tmp_path, f"sqlite:///{tmp_path / 'new.sqlite3'}", keys)
    dbmod.upgrade(app)  # as an operator upgrading with the library, not the command
    loaded = app.test_cli_runner().invoke(args=["demo", "load", "--people", "3"])
    assert loaded.exit_code == 0, (loaded.output, loaded.exception)
    with app.app_context():
        assert rotation.index_state().search.key_id == NEWEST
    app.extensions["msc.engine"].dispose()


def test_a_database_with_index_rows_is_never_re_pointed(app, make, tmp_path):
    make.person(given_names="Ana", family_names="Rojas")
    with app.app_context():
        job = session.scalars(sa.select(rotation.KeyRotation).where(rotation.KeyRotation.kind == "index")).one()
        job.key_id = "idx-gone"  # as if the key file had lost the generation's key
        session.flush()
        assert rotation.start_on_key_file() is None
        assert rotation.index_state().search.key_id == "idx-gone"
        session.rollback()


def _manager():
    from tests.conftest import REGIONAL_MANAGER

    return REGIONAL_MANAGER
