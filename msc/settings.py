"""Loading configuration: defaults, the environment's file, instance/config.py, then MSC_* variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


class ConfigurationError(RuntimeError):
    """The app cannot start safely with this configuration."""


def load_config(app: Flask, name: str, overrides: dict | None = None) -> None:
    """Fill app.config for the named environment (development, testing, production)."""
    app.config.from_pyfile(str(CONFIG_DIR / "default.py"))
    env_file = CONFIG_DIR / f"{name}.py"
    if name == "production" and not env_file.exists():
        env_file = CONFIG_DIR / "production.example.py"
    if not env_file.exists():
        raise ConfigurationError(f"unknown configuration {name!r}: no {env_file}")
    app.config.from_pyfile(str(env_file))
    app.config.from_pyfile(str(Path(app.instance_path) / "config.py"), silent=True)
    app.config.from_prefixed_env("MSC")
    if overrides:
        app.config.update(overrides)
    app.config["ENV_NAME"] = name
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'msc.sqlite3'}"
    if not app.config.get("SECRET_KEY") and app.config.get("GENERATE_KEYS"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if app.config.get("AUDIT_WITNESS_FILE") is None and name != "production":
        app.config["AUDIT_WITNESS_FILE"] = str(Path(app.instance_path) / "audit-witness.log")
    if name == "production":
        check_production(app.config)


def _instance_secret(app: Flask) -> str:
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        os.chmod(path, 0o600)
        app.logger.warning("generated a development secret key at %s", path)
    return path.read_text().strip()


def check_production(config: dict) -> None:
    """Refuse to run in production without secrets and keys, or with debug on; say what is missing."""
    missing = []
    if not config.get("SECRET_KEY"):
        missing.append("MSC_SECRET_KEY")
    has_file = bool(config.get("KEYS_FILE"))
    if not has_file:
        for name in ("KEKS", "ACTIVE_KEK", "AUDIT_KEY"):
            if not config.get(name):
                missing.append(f"MSC_{name} (or MSC_KEYS_FILE)")
        if not (config.get("INDEX_KEY") or config.get("INDEX_KEYS")):
            missing.append("MSC_INDEX_KEY (or MSC_KEYS_FILE)")
    if not (config.get("AUDIT_WITNESS_FILE") or config.get("AUDIT_WITNESS_SYSLOG")):
        missing.append("MSC_AUDIT_WITNESS_FILE (on another volume) or MSC_AUDIT_WITNESS_SYSLOG")
    if missing:
        raise ConfigurationError("production needs: " + ", ".join(missing))
    if config.get("DEBUG"):
        raise ConfigurationError("production refuses to start with debug on (unset MSC_DEBUG)")
    if config.get("GENERATE_KEYS"):
        raise ConfigurationError("production never generates keys (unset MSC_GENERATE_KEYS)")
