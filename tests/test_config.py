"""Configuration: production refuses unsafe settings and says what is missing."""

import pytest

from msc import create_app
from msc.settings import ConfigurationError, check_production


def test_production_refuses_to_start_without_secrets(monkeypatch, tmp_path):
    for name in ("MSC_SECRET_KEY", "MSC_KEKS", "MSC_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as err:
        create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert "MSC_SECRET_KEY" in str(err.value) and "MSC_KEKS" in str(err.value)


def test_production_refuses_debug():
    with pytest.raises(ConfigurationError) as err:
        check_production({"SECRET_KEY": "x", "KEYS_FILE": "/k.json", "AUDIT_WITNESS_FILE": "/w.log", "DEBUG": True})
    assert "debug" in str(err.value)


def test_production_refuses_to_start_without_a_witness_of_the_audit_chain():
    with pytest.raises(ConfigurationError) as err:
        check_production({"SECRET_KEY": "x", "KEYS_FILE": "/k.json"})
    assert "MSC_AUDIT_WITNESS_FILE" in str(err.value) and "MSC_AUDIT_WITNESS_SYSLOG" in str(err.value)
    check_production({"SECRET_KEY": "x", "KEYS_FILE": "/k.json", "AUDIT_WITNESS_SYSLOG": "/dev/log"})
    check_production({"SECRET_KEY": "x", "KEYS_FILE": "/k.json", "AUDIT_WITNESS_FILE": "/var/w/a.log"})


def test_production_starts_with_keys_from_the_environment(monkeypatch, tmp_path):
    import base64
    import os

    key = lambda: base64.b64encode(os.urandom(32)).decode()  # noqa: E731
    monkeypatch.setenv("MSC_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("MSC_KEKS", f"k1:{key()}")
    monkeypatch.setenv("MSC_ACTIVE_KEK", "k1")
    monkeypatch.setenv("MSC_INDEX_KEY", key())
    monkeypatch.setenv("MSC_AUDIT_KEY", key())
    monkeypatch.setenv("MSC_DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite3")
    monkeypatch.setenv("MSC_AUDIT_WITNESS_FILE", str(tmp_path / "witness" / "audit-witness.log"))
    app = create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["HSTS"] and not app.debug
    assert app.config["AUDIT_WITNESS_FILE"].endswith("witness/audit-witness.log")
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
