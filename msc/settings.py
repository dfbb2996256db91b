"""Loading configuration: defaults, the environment's file, instance/config.py, then MSC_* variables."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import urlsplit

import click
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
    keys_file = app.config.get("KEYS_FILE")
    if keys_file and not Path(keys_file).exists() and click.get_current_context(silent=True) is not None:
        # a command run before the key file exists (`flask keys init` makes it); a server never starts so
        app.config["KEYS_FILE_PENDING"] = True
    if not app.config.get("DATABASE_URL") and name != "production":  # production never falls back to SQLite
        private_dir(Path(app.instance_path))
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'msc.sqlite3'}"
    if app.config.get("PUBLIC_URL") and app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    if not app.config.get("SECRET_KEY") and app.config.get("GENERATE_KEYS"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if app.config.get("AUDIT_WITNESS_FILE") is None and name != "production":
        app.config["AUDIT_WITNESS_FILE"] = str(Path(app.instance_path) / "audit-witness.log")
    if app.config.get("JOBS_BACKEND") not in JOBS_BACKENDS:
        raise ConfigurationError(f"JOBS_BACKEND must be one of {', '.join(JOBS_BACKENDS)}")
    if name == "production":
        check_production(app.config)


def private_dir(path: Path) -> None:
    """Create a folder only its owner may enter (the instance folder: database, keys, secret); an
    existing one loses any group/other access."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        with contextlib.suppress(PermissionError):  # not ours: leave it, the files inside are 0600
            os.chmod(path, mode & ~0o077)


def write_private(path: Path, text: str) -> None:
    """Write a file that is readable by its owner only from the moment it exists (0600, never 0644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


def trusted_hosts(config: dict) -> list[str]:
    """The hosts requests may name: PUBLIC_URL's, plus EXTRA_TRUSTED_HOSTS (a list, or "a,b")."""
    hosts = [urlsplit(str(config["PUBLIC_URL"])).hostname or ""]
    extra = config.get("EXTRA_TRUSTED_HOSTS") or []
    if isinstance(extra, str):
        extra = extra.split(",")
    hosts += [str(h).strip() for h in extra if str(h).strip()]
    return [h for h in hosts if h]


def _instance_secret(app: Flask) -> str:
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        private_dir(path.parent)
        write_private(path, secrets.token_urlsafe(48))
        app.logger.warning("generated a development secret key at %s", path)
    return path.read_text().strip()


#: the least a Flask secret key may be (signs sessions and CSRF tokens): 32 bytes, as random as a key
SECRET_KEY_MIN_BYTES = 32
SECRET_KEY_MIN_DISTINCT = 12
#: words that mark a value copied from an example or a test rather than generated
EXAMPLE_SECRET_WORDS = ("change", "example", "secret", "testing", "default", "password", "dev-")


def secret_key_problem(key: str | bytes) -> str | None:
    """Why this secret key is too weak for production, or None. Short keys and keys with few distinct
    characters (a repeated character or pattern) are refused, and so are example or test values; a key
    made by `python -c "import secrets; print(secrets.token_urlsafe(32))"` passes."""
    raw = key if isinstance(key, bytes) else str(key).encode()
    if len(raw) < SECRET_KEY_MIN_BYTES:
        return f"is {len(raw)} bytes long; it needs at least {SECRET_KEY_MIN_BYTES} random bytes"
    if len(set(raw)) < SECRET_KEY_MIN_DISTINCT:
        return "repeats too few characters to be random"
    text = raw.decode(errors="replace").lower()
    if any(word in text for word in EXAMPLE_SECRET_WORDS):
        return "looks like an example or test value, not a generated one"
    return None


def _public_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "must be an https:// address such as https://msc.example.org"
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return "must be the scheme and host only (https://msc.example.org), with no path, query or user"
    return None


#: settings development and the tests turn, that production refuses: (name, the unsafe value, what it opens)
DEVELOPMENT_ONLY = (
    ("WEBHOOK_ALLOW_PRIVATE", True, "webhook deliveries would reach addresses inside the network"),
    ("WEBHOOK_ALLOW_HTTP", True, "webhook deliveries would travel unencrypted"),
    ("WTF_CSRF_ENABLED", False, "forms would accept requests forged by other sites"),
    ("TESTING", True, "errors would reach the client instead of the error page"),
    (
        "RATELIMIT_ENABLED",
        False,
        "password guessing and floods of the public feedback page would meet no limit (to measure under load, "
        "raise the limits instead: MSC_LOGIN_RATE_LIMIT, MSC_API_RATE_LIMIT, ...)",
    ),
)


def check_production(config: dict) -> None:
    """Refuse to run in production without secrets, keys and a public URL, or with unsafe settings;
    say what to change."""
    missing = []
    if not config.get("DATABASE_URL"):
        missing.append("MSC_DATABASE_URL (the PostgreSQL database, e.g. postgresql+psycopg://msc@db/msc)")
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
    if not config.get("PUBLIC_URL"):
        missing.append("MSC_PUBLIC_URL (the address people use, e.g. https://msc.example.org)")
    if missing:
        raise ConfigurationError("production needs: " + ", ".join(missing))
    if config.get("DEBUG"):
        raise ConfigurationError("production refuses to start with debug on (unset MSC_DEBUG)")
    if config.get("GENERATE_KEYS"):
        raise ConfigurationError("production never generates keys (unset MSC_GENERATE_KEYS)")
    problems = []
    if weak := secret_key_problem(config["SECRET_KEY"]):
        problems.append(
            f'MSC_SECRET_KEY {weak}: generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
        )
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if name in config and not config[name]:
            problems.append(f"{name} is off: cookies must only travel over HTTPS (set MSC_{name}=true)")
    for name, unsafe, why in DEVELOPMENT_ONLY:
        if name in config and bool(config[name]) == unsafe:
            problems.append(f"MSC_{name}={str(unsafe).lower()} is for development and tests only: {why}")
    if bad_url := _public_url_problem(str(config["PUBLIC_URL"])):
        problems.append(f"MSC_PUBLIC_URL {bad_url}")
    if has_file and not config.get("KEYS_FILE_PENDING"):
        problems += _key_file_problems(Path(config["KEYS_FILE"]))
    if config.get("JOBS_BACKEND") == "rq" and not jobs_redis_url(config):
        problems.append(
            "the job runner (JOBS_BACKEND=rq) has no Redis: set MSC_JOBS_REDIS_URL (e.g. redis://127.0.0.1:6379/1) "
            "or a redis:// MSC_RATELIMIT_STORAGE_URI"
        )
    if problems:
        raise ConfigurationError("production refuses to start: " + "; ".join(problems))


JOBS_BACKENDS = ("rq", "thread", "inline")


def jobs_redis_url(config: dict) -> str | None:
    """The Redis of the job queue: JOBS_REDIS_URL, else the rate limiter's storage when that is Redis."""
    url = config.get("JOBS_REDIS_URL")
    if url:
        return str(url)
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    return storage if storage.startswith(("redis://", "rediss://", "unix://")) else None


def _key_file_problems(path: Path) -> list[str]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return [f"the key file {path} (MSC_KEYS_FILE) does not exist"]
    if mode & 0o077:
        return [
            f"the key file {path} can be read or written by other users (mode {mode:04o}): "
            f"run `chmod 600 {path}` and keep it owned by the account the app runs as"
        ]
    return []
