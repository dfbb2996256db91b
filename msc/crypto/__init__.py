"""Field-level encryption, key management and blind indexes: the one place that touches the cipher."""

import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from msc.crypto.blind import BlindIndexer
from msc.crypto.envelope import DecryptionError
from msc.crypto.fields import DataKey, DataKeyDestroyed, Detached, EncryptedField, EncryptedRow, detached_key, new_uid
from msc.crypto.keys import KeyRing, keyring
from msc.crypto.links import LinkField, link_tag
from msc.crypto.rotation import searched_generation


def blind_indexer(key_id: str | None = None) -> BlindIndexer:
    """The blind indexer of an index key (by default the one searches read), its keys derived once per app."""
    if key_id is None:
        key_id = searched_generation().key_id
    cache: dict[str, BlindIndexer] = current_app.extensions.setdefault("msc.blind", {})
    if key_id not in cache:
        cache[key_id] = BlindIndexer(keyring().index_key(key_id), current_app.config["BLIND_INDEX_BITS"])
    return cache[key_id]


def reference_hash(code: str) -> str:
    """The keyed hash under which a code a person keeps (a feedback reference) is looked up. Its key is
    derived from the audit key, which no rotation changes, so a code given out long ago still works
    after index-key rotations."""
    return _code_mac(_derived(keyring().audit_key, b"msc-reference-code"), code)


def throttle_hash(kind: str, value: str) -> str:
    """The keyed hash under which login failures are counted for an account name or a client address
    (`kind`), so the table of failures holds neither. Its key is derived from the audit key, which no
    rotation changes."""
    key = _derived(keyring().audit_key, b"msc-login-throttle")
    return hmac.new(key, kind.encode() + b"\x1f" + value.encode(), hashlib.sha256).hexdigest()


def log_pseudonym(user_id: int) -> str:
    """The name a staff account goes by in the operations log: stable, so one account's requests can be
    followed, but keyed (derived from the audit key), so the log alone does not say whose they are."""
    key = _derived(keyring().audit_key, b"msc-log-pseudonym")
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


def audit_witness_key() -> bytes:
    """The key that signs the lines of the audit chain's witness, derived from the audit key: someone who
    can write the database (or the witness file) but holds no key cannot forge a line."""
    return _derived(keyring().audit_key, b"msc-audit-witness")


def legacy_reference_hashes(code: str) -> list[str]:
    """The hashes codes had before they got their own key (under each index key still in the ring)."""
    return [_code_mac(k, code) for _, k in sorted(keyring().index_keys.items())]


def _code_mac(key: bytes, code: str) -> str:
    return hmac.new(key, b"feedback-reference:" + code.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _derived(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


__all__ = [
    "DataKey",
    "DataKeyDestroyed",
    "DecryptionError",
    "Detached",
    "EncryptedField",
    "EncryptedRow",
    "KeyRing",
    "LinkField",
    "audit_witness_key",
    "blind_indexer",
    "detached_key",
    "keyring",
    "legacy_reference_hashes",
    "link_tag",
    "new_uid",
    "reference_hash",
    "throttle_hash",
]
