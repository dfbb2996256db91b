"""Links between records that a copy of the database must not show: which person a fund application is
for. A link is encrypted under a key derived from the audit key — kept outside the database like every
key, changed by no rotation — so that the application's own row can be read (its status, its centre, its
amounts) without telling whose it is; a keyed tag finds one person's rows without naming them.

Unlike a person's data key, the link key is shared by every row: erasing a person does not break their
links (their rows stay for the fund's accounts), it makes everything the links lead to unreadable."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from msc.crypto import envelope
from msc.crypto.fields import new_uid
from msc.crypto.keys import keyring

#: links are padded to this many bytes: every link encrypts to the same length
_LINK_BYTES = 64


@lru_cache(maxsize=8)
def _derive(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


def link_tag(kind: str, value: str) -> str:
    """The keyed hash under which one owner's links are found (the same owner, the same tag)."""
    key = _derive(keyring().audit_key, b"msc-link-tag")
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


class LinkField:
    """A descriptor over a bytes column holding a small JSON object encrypted under the link key."""

    def __init__(self, column: str):
        self.column = column

    def __set_name__(self, owner: Any, name: str) -> None:
        self.name = name

    def _aad(self, obj: Any) -> bytes:
        if not getattr(obj, "uid", None):
            obj.uid = new_uid()
        return envelope.field_aad(obj.__tablename__, self.column, obj.uid)

    @staticmethod
    def _key() -> bytes:
        return _derive(keyring().audit_key, b"msc-link")

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        return json.loads(envelope.decrypt_field(self._key(), blob, self._aad(obj)))

    def __set__(self, obj: Any, value: dict[str, Any]) -> None:
        raw = json.dumps(value, sort_keys=True).encode()
        if len(raw) >= _LINK_BYTES:
            raise ValueError("a link is a few ids")
        setattr(obj, self.column, envelope.encrypt_field(self._key(), raw.ljust(_LINK_BYTES, b" "), self._aad(obj)))


def seal_reference(purpose: str, value: str, holder: int) -> str:
    """An opaque reference to a record, for one user's page and what it leads to: the value (a uid) encrypted
    under a key derived from the audit key, bound to the purpose and to the user it was shown to. The page
    and the URL carry this, never the uid."""
    key = _derive(keyring().audit_key, b"msc-reference")
    blob = envelope.encrypt_field(key, value.encode(), f"{purpose}|{holder}".encode())
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def open_reference(purpose: str, token: str, holder: int) -> str | None:
    """The value behind a reference sealed for this purpose and this user, or None (altered, another
    user's, or not a reference at all)."""
    key = _derive(keyring().audit_key, b"msc-reference")
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return envelope.decrypt_field(key, blob, f"{purpose}|{holder}".encode()).decode()
    except (ValueError, binascii.Error, envelope.DecryptionError, UnicodeDecodeError):
        return None
