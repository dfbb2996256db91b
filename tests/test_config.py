"""Configuration: production refuses unsafe settings and says what is missing."""

import pytest

from msc import create_app
from msc.settings import ConfigurationError, check_production

STRONG = "kQ7v1xN3c0Zr9TjW5mYbL2pHsE8dFgA4uVwXo6iKyRt"  # 43 characters as token_urlsafe(32) prints
PUBLIC = "https://msc.example.org"


def test_production_refuses_to_start_without_secrets(monkeypatch, tmp_path):
    for name in ("MSC_SECRET_KEY", "MSC_KEKS", "MSC_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as err:
        create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert "MSC_SECRET_KEY" in str(err.value) and "MSC_KEKS" in str(err.value)


def test_production_refuses_debug():
    with pytest.raises(ConfigurationError) as err:
        check_production(
            {
                "SECRET_KEY": STRONG,
                "KEYS_FILE": "/k.json",
                "DATABASE_URL": "postgresql+psycopg://msc@db/msc",
                "AUDIT_WITNESS_FILE": "/w.log",
                "PUBLIC_URL": PUBLIC,
                "DEBUG": True,
            }
        )
    assert "debug" in str(err.value)


def test_production_refuses_to_start_without_a_witness_of_the_audit_chain(tmp_path):
    from msc.crypto.keys import FileKeyProvider

    keys = tmp_path / "keys.json"
    FileKeyProvider(keys).generate()
    base = {"SECRET_KEY": STRONG, "KEYS_FILE": str(keys), "PUBLIC_URL": PUBLIC, "DATABASE_URL": "sqlite://"}
    with pytest.raises(ConfigurationError) as err:
        check_production(base)
    assert "MSC_AUDIT_WITNESS_FILE" in str(err.value) and "MSC_AUDIT_WITNESS_SYSLOG" in str(err.value)
    check_production({**base, "AUDIT_WITNESS_SYSLOG": "/dev/log"})
    check_production({**base, "AUDIT_WITNESS_FILE": "/var/w/a.log"})


def test_production_starts_with_keys_from_the_environment(monkeypatch, tmp_path):
    import base64
    import os

    key = lambda: base64.b64encode(os.urandom(32)).decode()  # noqa: E731
    monkeypatch.setenv("MSC_SECRET_KEY", STRONG)
    monkeypatch.setenv("MSC_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("MSC_KEKS", f"k1:{key()}")
    monkeypatch.setenv("MSC_ACTIVE_KEK", "k1")
    monkeypatch.setenv("MSC_INDEX_KEY", key())
    monkeypatch.setenv("MSC_AUDIT_KEY", key())
    monkeypatch.setenv("MSC_DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    monkeypatch.setenv("MSC_AUDIT_WITNESS_FILE", str(tmp_path / "witness" / "audit-witness.log"))
    app = create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["HSTS"] and not app.debug
    assert app.config["AUDIT_WITNESS_FILE"].endswith("witness/audit-witness.log")
    assert app.config["TRUSTED_HOSTS"] == ["msc.example.org"]
    assert app.extensions["msc.keys"].active_kek == "k1"
    app.extensions["msc.engine"].dispose()


def test_development_generates_keys_and_says_so(tmp_path, caplog):
    app = create_app("development", {"INSTANCE_PATH": str(tmp_path)})
    assert (tmp_path / "keys.json").exists() and (tmp_path / "secret_key").exists()
    assert oct((tmp_path / "keys.json").stat().st_mode)[-3:] == "600"
    assert "generated development keys" in caplog.text
    assert app.config["AUDIT_WITNESS_FILE"] == str(tmp_path / "audit-witness.log")
    app.extensions["msc.engine"].dispose()


def test_environment_variables_override(monkeypatch, tmp_path):
    monkeypatch.setenv("MSC_SESSION_IDLE_MINUTES", "5")
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_IDLE_MINUTES"] == 5
    app.extensions["msc.engine"].dispose()


def test_the_production_entry_point_builds_the_app(tmp_path):
    """wsgi.py imports cleanly and serves (in a separate process: it freezes the collector)."""
    import os
    import subprocess
    import sys

    from msc.settings import ROOT

    env = {
        **os.environ,
        "MSC_CONFIG": "testing",
        "MSC_INSTANCE_PATH": str(tmp_path),
        "MSC_DATABASE_URL": f"sqlite:///{tmp_path}/w.sqlite3",
    }
    code = "import wsgi; print(wsgi.app.name, wsgi.app.test_client().get('/login').status_code)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["msc", "200"]


# ---- production start-up: each unsafe setting is refused, with what to change ----------------------


def _production_env(monkeypatch, tmp_path, **env):
    """A complete, safe production environment with a key file; `env` replaces or removes (None) a variable."""
    from msc.crypto.keys import FileKeyProvider

    keys = tmp_path / "keys.json"
    FileKeyProvider(keys).generate()
    base = {
        "MSC_SECRET_KEY": STRONG,
        "MSC_KEYS_FILE": str(keys),
        "MSC_PUBLIC_URL": PUBLIC,
        "MSC_DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite3",
        "MSC_AUDIT_WITNESS_FILE": str(tmp_path / "witness" / "audit-witness.log"),
    }
    for name in ("MSC_KEKS", "MSC_ACTIVE_KEK", "MSC_INDEX_KEY", "MSC_AUDIT_KEY", "MSC_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (base | env).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return keys


def _refused(tmp_path) -> str:
    with pytest.raises(ConfigurationError) as err:
        create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    return str(err.value)


def test_a_safe_production_configuration_starts(monkeypatch, tmp_path):
    _production_env(monkeypatch, tmp_path)
    app = create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["PUBLIC_URL"] == PUBLIC
    app.extensions["msc.engine"].dispose()


@pytest.mark.parametrize(
    "key, reason",
    [
        ("short-but-random-Zq81", "bytes long"),  # 21 bytes
        ("a" * 64, "too few characters"),
        ("abababababababababababababababababababab", "too few characters"),
        ("0123456789" * 4, "too few characters"),
        ("change-me-to-a-long-random-string-please", "example"),
        ("testing-only-secret-key-testing-only-secret-key", "example"),
    ],
)
def test_production_refuses_a_weak_secret_key(monkeypatch, tmp_path, key, reason):
    _production_env(monkeypatch, tmp_path, MSC_SECRET_KEY=key)
    message = _refused(tmp_path)
    assert "MSC_SECRET_KEY" in message and reason in message and "token_urlsafe(32)" in message
    assert key not in message  # the refusal never prints the secret


def test_production_refuses_cookies_that_travel_over_plain_http(monkeypatch, tmp_path):
    _production_env(monkeypatch, tmp_path, MSC_SESSION_COOKIE_SECURE="false")
    assert "SESSION_COOKIE_SECURE is off" in _refused(tmp_path)
    _production_env(monkeypatch, tmp_path, MSC_REMEMBER_COOKIE_SECURE="false")
    assert "REMEMBER_COOKIE_SECURE is off" in _refused(tmp_path)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_production_refuses_a_key_file_others_can_read_or_write(monkeypatch, tmp_path, mode):
    keys = _production_env(monkeypatch, tmp_path)
    keys.chmod(mode)
    message = _refused(tmp_path)
    assert str(keys) in message and f"chmod 600 {keys}" in message and f"{mode:04o}" in message
    keys.chmod(0o600)
    create_app("production", {"INSTANCE_PATH": str(tmp_path)}).extensions["msc.engine"].dispose()


def test_production_refuses_to_start_without_a_public_url(monkeypatch, tmp_path):
    _production_env(monkeypatch, tmp_path, MSC_PUBLIC_URL=None)
    assert "MSC_PUBLIC_URL" in _refused(tmp_path)
    for bad in ("http://msc.example.org", "https://", "https://msc.example.org/app?x=1", "msc.example.org"):
        _production_env(monkeypatch, tmp_path, MSC_PUBLIC_URL=bad)
        assert "MSC_PUBLIC_URL must be" in _refused(tmp_path), bad


def test_the_trusted_hosts_come_from_the_public_url_and_the_extra_list(monkeypatch, tmp_path):
    _production_env(monkeypatch, tmp_path, MSC_EXTRA_TRUSTED_HOSTS="msc-internal, 10.0.0.5")
    app = create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["TRUSTED_HOSTS"] == ["msc.example.org", "msc-internal", "10.0.0.5"]
    app.extensions["msc.engine"].dispose()


# ---- files that hold personal data or keys are their owner's alone --------------------------------


def _mode(path) -> int:
    import stat

    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_companions_are_readable_by_their_owner_only(tmp_path):
    """With the usual umask (0022) SQLite would create msc.sqlite3, -wal and -shm as 0644: anyone on the
    server could copy the database. They are 0600, and the instance folder 0700."""
    import os

    import sqlalchemy as sa

    from msc import db as dbmod

    old = os.umask(0o022)
    try:
        instance = tmp_path / "instance"
        app = create_app("development", {"INSTANCE_PATH": str(instance)})
        dbmod.upgrade(app)
        engine = app.extensions["msc.engine"]
        with engine.connect() as conn:  # a connection open: the WAL and shared-memory files exist
            conn.execute(sa.text("SELECT 1"))
            files = [instance / "msc.sqlite3", instance / "msc.sqlite3-wal", instance / "msc.sqlite3-shm"]
            assert all(f.exists() for f in files)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        engine.dispose()
        assert _mode(instance) == 0o700
        assert _mode(instance / "keys.json") == 0o600 and _mode(instance / "secret_key") == 0o600
        # the rollback journal (a database not in WAL mode) follows the database file's mode too
        import sqlite3

        journal_db = tmp_path / "j.sqlite3"
        dbmod.make_engine(f"sqlite:///{journal_db}").dispose()  # creates the file as the app does
        conn = sqlite3.connect(journal_db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("PRAGMA cache_size=1")  # a write in progress: the journal is on disk
        conn.executemany("INSERT INTO t VALUES (?)", [(str(i) * 500,) for i in range(200)])
        journal = tmp_path / "j.sqlite3-journal"
        assert journal.exists() and _mode(journal) == 0o600
        conn.execute("COMMIT")
        conn.close()
    finally:
        os.umask(old)


def test_an_existing_database_file_others_could_read_is_tightened(tmp_path):
    from msc import db as dbmod

    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    dbmod.make_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600


@pytest.mark.parametrize(
    "name, value",
    [
        ("MSC_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("MSC_WEBHOOK_ALLOW_HTTP", "true"),
        ("MSC_WTF_CSRF_ENABLED", "false"),
        ("MSC_TESTING", "true"),
        ("MSC_RATELIMIT_ENABLED", "false"),
    ],
)
def test_production_refuses_settings_meant_for_development_and_tests(monkeypatch, tmp_path, name, value):
    _production_env(monkeypatch, tmp_path, **{name: value})
    with pytest.raises(ConfigurationError) as err:
        create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert f"{name}={value}" in str(err.value) and "development and tests only" in str(err.value)
