"""Where keys come from: a key file outside the database, or environment variables.

A key ring holds the key-encryption keys (KEKs) by id, which one wraps new data keys, the
blind-index root keys by id and the audit-chain key. The last two are separate from the KEKs so a
leaked index key never decrypts data, and the audit key never lives in the database. Which index
key the searches use is the database's business (msc.crypto.rotation): during an index-key
rotation two are in use at once.

Several server processes share one key file: each notices when it changed (a KEK added or made
active by a rotation in another process) and reloads it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from msc.db import utcnow

KEY_BYTES = 32
#: the id of the index key of a key file or environment written before index keys had ids
FIRST_INDEX_KEY = "idx-0"
RELOAD_CHECK_SECONDS = 2.0


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
    return f"kek-{utcnow():%Y%m%d}-{secrets.token_hex(2)}"


def new_index_key_id() -> str:
    """A readable, unique index-key id such as idx-20261130-1a2b."""
    return f"idx-{utcnow():%Y%m%d}-{secrets.token_hex(2)}"


def _pairs(text: str, what: str) -> dict[str, bytes]:
    """ "id:base64,id2:base64" -> {id: key}."""
    out: dict[str, bytes] = {}
    for part in str(text).split(","):
        kid, sep, value = part.strip().partition(":")
        if not sep:
            raise KeyError_(f"{what} entries look like id:base64key")
        out[kid] = _unb64(value, f"{what} {kid}")
    return out


@dataclass
class KeyRing:
    """The keys one application runs with."""

    keks: dict[str, bytes]
    active_kek: str
    index_keys: dict[str, bytes]
    audit_key: bytes
    source: KeyProvider | None = field(default=None, repr=False)
    _checked: float = field(default=0.0, repr=False)

    def kek(self, kek_id: str) -> bytes:
        """The KEK with this id (reloading the source once if another process added it), or an error."""
        return self._find("keks", kek_id, "KEK")

    def index_key(self, key_id: str) -> bytes:
        """The blind-index root key with this id (reloading once, like kek()), or an error."""
        return self._find("index_keys", key_id, "index key")

    def _find(self, attribute: str, key_id: str, what: str) -> bytes:
        if key_id not in getattr(self, attribute):
            self.reload()
        keys: dict[str, bytes] = getattr(self, attribute)
        try:
            return keys[key_id]
        except KeyError:
            raise KeyError_(f"{what} {key_id!r} is not configured") from None

    def __post_init__(self) -> None:
        if self.active_kek not in self.keks:
            raise KeyError_(f"the active KEK {self.active_kek!r} is not among the configured KEKs")
        if not self.index_keys:
            raise KeyError_("no index key is configured")

    def reload(self) -> None:
        """Read the keys again from their source (a rotation in another process may have changed them)."""
        if self.source is None:
            return
        fresh = self.source.load()
        self.keks, self.active_kek, self.index_keys, self.audit_key = (
            fresh.keks,
            fresh.active_kek,
            fresh.index_keys,
            fresh.audit_key,
        )

    def refresh(self) -> None:
        """Reload when the source says it changed; asked at most every RELOAD_CHECK_SECONDS."""
        now = time.monotonic()
        if self.source is None or now - self._checked < RELOAD_CHECK_SECONDS:
            return
        self._checked = now
        if self.source.changed():
            self.reload()


class KeyProvider:
    """Loads a key ring; a file provider can also store a new KEK. A KMS would be a third kind."""

    def load(self) -> KeyRing:
        raise KeyError_("no key provider configured")

    def can_write(self) -> bool:
        return False

    def changed(self) -> bool:
        """Whether the keys may differ from those last loaded."""
        return False

    def save(self, ring: KeyRing) -> None:
        raise KeyError_("this key provider is read-only: add the new KEK to its source yourself")


class FileKeyProvider(KeyProvider):
    """A JSON key file kept outside the database (mode 0600)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def changed(self) -> bool:
        return self._stat() != self._stamp

    def load(self) -> KeyRing:
        self._stamp = self._stat()
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise KeyError_(f"key file {self.path} not found") from None
        except json.JSONDecodeError as exc:
            raise KeyError_(f"key file {self.path} is not valid JSON") from exc
        try:
            keks = {kid: _unb64(v, f"KEK {kid}") for kid, v in data["keks"].items()}
            if "index_keys" in data:
                index_keys = {kid: _unb64(v, f"index key {kid}") for kid, v in data["index_keys"].items()}
            else:
                index_keys = {FIRST_INDEX_KEY: _unb64(data["index_key"], "index key")}
            ring = KeyRing(keks, data["active_kek"], index_keys, _unb64(data["audit_key"], "audit key"), source=self)
        except KeyError as exc:
            raise KeyError_(f"key file {self.path} lacks {exc}") from None
        return ring

    def can_write(self) -> bool:
        return True

    @staticmethod
    def _document(ring: KeyRing) -> dict[str, Any]:
        return {
            "keks": {kid: _b64(k) for kid, k in ring.keks.items()},
            "active_kek": ring.active_kek,
            "index_keys": {kid: _b64(k) for kid, k in ring.index_keys.items()},
            # what a release before index-key rotation reads (so a downgrade keeps working)
            **({"index_key": _b64(ring.index_keys[FIRST_INDEX_KEY])} if FIRST_INDEX_KEY in ring.index_keys else {}),
            "audit_key": _b64(ring.audit_key),
        }

    def save(self, ring: KeyRing) -> None:
        data = self._document(ring)
        tmp = self.path.with_suffix(".tmp")
        # 0600 from the moment it exists: never a window in which others could read the keys
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
        self._stamp = self._stat()

    def generate(self) -> KeyRing:
        """Write a brand-new key file (development only)."""
        ring = self._new_ring()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.save(ring)
        return ring

    def create(self) -> KeyRing:
        """Write the first key file of an installation (`flask keys init`): mode 0600 from the moment it
        exists, and never over an existing file — replacing a key file loses every record it encrypts."""
        if self.path.exists():
            raise KeyError_(f"the key file {self.path} already exists: it is never overwritten")
        if not self.path.parent.is_dir():
            raise KeyError_(f"the folder {self.path.parent} does not exist: create it first (mode 0700)")
        ring = self._new_ring()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyError_(f"the key file {self.path} already exists: it is never overwritten") from None
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(self._document(ring), indent=2))
        os.chmod(self.path, 0o600)
        self._stamp = self._stat()
        return ring

    def _new_ring(self) -> KeyRing:
        kid = new_kek_id()
        return KeyRing(
            {kid: secrets.token_bytes(KEY_BYTES)},
            kid,
            {FIRST_INDEX_KEY: secrets.token_bytes(KEY_BYTES)},
            secrets.token_bytes(KEY_BYTES),
            source=self,
        )


class EnvKeyProvider(KeyProvider):
    """MSC_KEKS="id:base64,id2:base64", MSC_ACTIVE_KEK, MSC_INDEX_KEY (the first index key) and/or
    MSC_INDEX_KEYS="id:base64,..." (keys added for index-key rotations), MSC_AUDIT_KEY."""

    def __init__(self, config: dict[str, Any]):
        self.config = config

    def load(self) -> KeyRing:
        keks = _pairs(self.config["KEKS"], "MSC_KEKS")
        index_keys = _pairs(self.config["INDEX_KEYS"], "MSC_INDEX_KEYS") if self.config.get("INDEX_KEYS") else {}
        if self.config.get("INDEX_KEY"):
            index_keys.setdefault(FIRST_INDEX_KEY, _unb64(self.config["INDEX_KEY"], "MSC_INDEX_KEY"))
        return KeyRing(
            keks,
            str(self.config["ACTIVE_KEK"]),
            index_keys,
            _unb64(self.config["AUDIT_KEY"], "MSC_AUDIT_KEY"),
            source=self,
        )


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
    """Load the key ring (generating a development one on first run, and saying so). A command run before
    the key file exists (`flask keys init` itself) starts without one; anything needing a key then says so."""
    provider = provider_for(app)
    ring: KeyRing | None
    if isinstance(provider, FileKeyProvider) and not provider.path.exists() and app.config.get("GENERATE_KEYS"):
        ring = provider.generate()
        app.logger.warning("generated development keys at %s: keep this file out of backups", provider.path)
    elif isinstance(provider, FileKeyProvider) and not provider.path.exists() and app.config.get("KEYS_FILE_PENDING"):
        ring = None
    else:
        ring = provider.load()
    app.extensions["msc.keys"] = ring
    app.extensions["msc.key_provider"] = provider


def keyring() -> KeyRing:
    """The current application's key ring (reloaded when another process changed its key file)."""
    ring: KeyRing | None = current_app.extensions["msc.keys"]
    if ring is None:
        provider: FileKeyProvider = current_app.extensions["msc.key_provider"]  # only a key file can be pending
        if not provider.path.exists():
            raise KeyError_(f"the key file {provider.path} does not exist yet: create it with `flask keys init`")
        ring = current_app.extensions["msc.keys"] = provider.load()
    ring.refresh()
    return ring


def create_key_file(app: Flask) -> Path:
    """`flask keys init`: the installation's key file, where MSC_KEYS_FILE says (never overwritten)."""
    provider = app.extensions.get("msc.key_provider")
    if not isinstance(provider, FileKeyProvider) or not app.config.get("KEYS_FILE"):
        raise KeyError_("set MSC_KEYS_FILE to where the key file goes (outside the database's volume and backups)")
    app.extensions["msc.keys"] = provider.create()
    return provider.path
