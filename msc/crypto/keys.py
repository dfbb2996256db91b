"""Where keys come from: a key file outside the database, or environment variables.

A key ring holds the key-encryption keys (KEKs) by id, which one wraps new data keys, the
blind-index root key and the audit-chain key. The last two are separate from the KEKs so a
leaked index key never decrypts data, and the audit key never lives in the database.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app

KEY_BYTES = 32


class KeyError_(RuntimeError):
    """A key is missing, malformed or unknown."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{what} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyError_(f"{what} must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def new_kek_id() -> str:
    """A readable, unique KEK id such as kek-20261123-1a2b."""
    return f"kek-{dt.datetime.now(dt.timezone.utc):%Y%m%d}-{secrets.token_hex(2)}"


@dataclass
class KeyRing:
    """The keys one application runs with."""

    keks: dict[str, bytes]
    active_kek: str
    index_key: bytes
    audit_key: bytes
    source: "KeyProvider | None" = field(default=None, repr=False)

    def kek(self, kek_id: str) -> bytes:
        """The KEK with this id, or an error naming it."""
        try:
            return self.keks[kek_id]
        except KeyError:
            raise KeyError_(f"KEK {kek_id!r} is not configured") from None

    def __post_init__(self) -> None:
        if self.active_kek not in self.keks:
            raise KeyError_(f"the active KEK {self.active_kek!r} is not among the configured KEKs")


class KeyProvider:
    """Loads a key ring; a file provider can also store a new KEK. A KMS would be a third kind."""

    def load(self) -> KeyRing:
        raise KeyError_("no key provider configured")

    def can_write(self) -> bool:
        return False

    def save(self, ring: KeyRing) -> None:
        raise KeyError_("this key provider is read-only: add the new KEK to its source yourself")


class FileKeyProvider(KeyProvider):
    """A JSON key file kept outside the database (mode 0600)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> KeyRing:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise KeyError_(f"key file {self.path} not found") from None
        except json.JSONDecodeError as exc:
            raise KeyError_(f"key file {self.path} is not valid JSON") from exc
        try:
            keks = {kid: _unb64(v, f"KEK {kid}") for kid, v in data["keks"].items()}
            ring = KeyRing(keks, data["active_kek"], _unb64(data["index_key"], "index key"),
                           _unb64(data["audit_key"], "audit key"), source=self)
        except KeyError as exc:
            raise KeyError_(f"key file {self.path} lacks {exc}") from None
        return ring

    def can_write(self) -> bool:
        return True

    def save(self, ring: KeyRing) -> None:
        data = {
            "keks": {kid: _b64(k) for kid, k in ring.keks.items()},
            "active_kek": ring.active_kek,
            "index_key": _b64(ring.index_key),
            "audit_key": _b64(ring.audit_key),
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def generate(self) -> KeyRing:
        """Write a brand-new key file (development only)."""
        kid = new_kek_id()
        ring = KeyRing({kid: secrets.token_bytes(KEY_BYTES)}, kid, secrets.token_bytes(KEY_BYTES),
                       secrets.token_bytes(KEY_BYTES), source=self)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.save(ring)
        return ring


class EnvKeyProvider(KeyProvider):
    """MSC_KEKS="id:base64,id2:base64", MSC_ACTIVE_KEK, MSC_INDEX_KEY, MSC_AUDIT_KEY."""

    def __init__(self, config: dict):
        self.config = config

    def load(self) -> KeyRing:
        keks: dict[str, bytes] = {}
        for part in str(self.config["KEKS"]).split(","):
            kid, sep, value = part.strip().partition(":")
            if not sep:
                raise KeyError_("MSC_KEKS entries look like id:base64key")
            keks[kid] = _unb64(value, f"KEK {kid}")
        return KeyRing(keks, str(self.config["ACTIVE_KEK"]), _unb64(self.config["INDEX_KEY"], "MSC_INDEX_KEY"),
                       _unb64(self.config["AUDIT_KEY"], "MSC_AUDIT_KEY"), source=self)


def provider_for(app: Flask) -> KeyProvider:
    """The provider the configuration names; development and tests may generate a key file."""
    cfg = app.config
    if cfg.get("KEYS_FILE"):
        return FileKeyProvider(Path(cfg["KEYS_FILE"]))
    if cfg.get("KEKS"):
        return EnvKeyProvider(cfg)
    if cfg.get("GENERATE_KEYS"):
        return FileKeyProvider(Path(app.instance_path) / "keys.json")
    raise KeyError_("no keys configured: set MSC_KEYS_FILE or MSC_KEKS/MSC_ACTIVE_KEK/MSC_INDEX_KEY/MSC_AUDIT_KEY")


def init_app(app: Flask) -> None:
    """Load the key ring (generating a development one on first run, and saying so)."""
    provider = provider_for(app)
    if isinstance(provider, FileKeyProvider) and not provider.path.exists() and app.config.get("GENERATE_KEYS"):
        ring = provider.generate()
        app.logger.warning("generated development keys at %s: keep this file out of backups", provider.path)
    else:
        ring = provider.load()
    app.extensions["msc.keys"] = ring


def keyring() -> KeyRing:
    """The current application's key ring."""
    return current_app.extensions["msc.keys"]
