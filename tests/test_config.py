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
        check_production({"SECRET_KEY": "x", "KEYS_FILE": "/k.json", "DEBUG": True})
    assert "debug" in str(err.value)


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
    app = create_app("production", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["HSTS"] and not app.debug
    assert app.extensions["msc.keys"].active_kek == "k1"
    app.extensions["msc.engine"].dispose()


def test_development_generates_keys_and_says_so(tmp_path, caplog):
    app = create_app("development", {"INSTANCE_PATH": str(tmp_path)})
    assert (tmp_path / "keys.json").exists() and (tmp_path / "secret_key").exists()
    assert oct((tmp_path / "keys.json").stat().st_mode)[-3:] == "600"
    assert "generated development keys" in caplog.text
    app.extensions["msc.engine"].dispose()


def test_environment_variables_override(monkeypatch, tmp_path):
    monkeypatch.setenv("MSC_SESSION_IDLE_MINUTES", "5")
    app = create_app("testing", {"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SESSION_IDLE_MINUTES"] == 5
    app.extensions["msc.engine"].dispose()
