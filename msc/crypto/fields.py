"""How models declare encrypted fields. Nothing outside msc.crypto calls the cipher.

A model that holds personal data owns a DataKey (or borrows its owner's) and declares, per
field, an EncryptedField over a bytes column:

    given_names_ct: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    given_names = EncryptedField("given_names_ct")

Reading decrypts; assigning encrypts with associated data (table, column, row uid).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from msc import timing
from msc.crypto import envelope
from msc.crypto.keys import keyring
from msc.db import Base, utcnow


def new_uid() -> str:
    """A random, opaque row identifier (used in associated data and in URLs)."""
    return secrets.token_hex(16)


class DataKeyDestroyed(Exception):
    """The owner's data key was destroyed: the data is erased for good."""


class DataKey(Base):
    """A random AES-256 key per data owner, stored only wrapped by a KEK."""

    __tablename__ = "data_keys"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: random id bound into the wrapping, so a wrapped key cannot be swapped between rows
    uid: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True, default=new_uid)
    #: id of the KEK that wraps this key
    kek_id: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    #: the data key encrypted under that KEK; NULL once destroyed (crypto-shredding)
    wrapped: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    rewrapped_at: so.Mapped[dt.datetime | None]
    destroyed_at: so.Mapped[dt.datetime | None]

    _plain = None  # the unwrapped key, cached for this instance only

    @classmethod
    def generate(cls) -> DataKey:
        """A new data key wrapped under the active KEK."""
        ring = keyring()
        plain = envelope.new_data_key()
        key = cls(uid=new_uid(), kek_id=ring.active_kek)
        key.wrapped = envelope.wrap_key(ring.kek(ring.active_kek), ring.active_kek, plain, key.uid)
        key._plain = plain
        return key

    @property
    def destroyed(self) -> bool:
        """Whether the key was destroyed (crypto-shredding): what it encrypted is gone for good."""
        return self.wrapped is None

    def plaintext(self) -> bytes:
        """The unwrapped data key (cached on the instance for the request)."""
        if self._plain is None:
            self._plain = _unwrapped(self.uid, self.kek_id, self.wrapped)
        return self._plain

    def rewrap(self, kek_id: str) -> None:
        """Wrap the same data key under another KEK (rotation: data is not re-encrypted)."""
        plain = self.plaintext()
        self.wrapped = envelope.wrap_key(keyring().kek(kek_id), kek_id, plain, self.uid)
        self.kek_id = kek_id
        self.rewrapped_at = utcnow()

    def destroy(self) -> None:
        """Crypto-shred: every field encrypted under this key becomes unrecoverable."""
        self.wrapped = None
        self._plain = None
        self.destroyed_at = utcnow()


def _unwrapped(uid: str, kek_id: str, wrapped: bytes | None) -> bytes:
    if wrapped is None:  # destroyed
        raise DataKeyDestroyed()
    return envelope.unwrap_key(keyring().kek(kek_id), kek_id, wrapped, uid)


class RowKey:
    """A data key known from its row's values (uid, KEK, wrapped key), not loaded as a record: unwrapped as
    a DataKey is, for reading a field of many rows at once (building a record per row cost more than the
    decryption). See Detached."""

    __slots__ = ("uid", "kek_id", "wrapped", "_plain")

    def __init__(self, uid: str, kek_id: str, wrapped: bytes | None):
        self.uid, self.kek_id, self.wrapped = uid, kek_id, wrapped
        self._plain: bytes | None = None

    def plaintext(self) -> bytes:
        if self._plain is None:
            self._plain = _unwrapped(self.uid, self.kek_id, self.wrapped)
        return self._plain


class EncryptedRow:
    """Mixin for models with encrypted fields: they have a uid and say which DataKey they use."""

    uid: so.Mapped[str]

    def crypto_key(self) -> DataKey:
        """The DataKey that encrypts this row's fields."""
        raise TypeError(f"{type(self).__name__} must say which data key it uses")


#: how a field's value becomes bytes to encrypt, and back
_CODECS: dict[str, tuple[Callable[[Any], bytes], Callable[[bytes], Any]]] = {
    "str": (lambda v: str(v).encode(), lambda b: b.decode()),
    "date": (lambda v: v.isoformat().encode(), lambda b: dt.date.fromisoformat(b.decode())),
    "json": (lambda v: json.dumps(v, sort_keys=True).encode(), lambda b: json.loads(b)),
}


def _padded(encode: Callable[[Any], bytes], block: int) -> Callable[[Any], bytes]:
    """JSON filled with spaces to a whole number of blocks, so that the ciphertext's length says nothing of
    the value ("true" or "false", one category or another); JSON readers ignore the trailing spaces."""

    def encode_padded(value: Any) -> bytes:
        raw = encode(value)
        return raw.ljust(-(-(len(raw) + 1) // block) * block, b" ")

    return encode_padded


#: where a row keeps what its fields decrypted to, each beside the ciphertext and the key it came from (the
#: row's own __dict__: gone with the row at the end of the request; a new ciphertext, as after a change or
#: a reload, is decrypted afresh, and nothing is read once the key is destroyed)
_MEMO = "_msc_decrypted"


class EncryptedField:
    """A descriptor that encrypts on assignment and decrypts on read, bound to table, column, row.

    `pad` (json only) fills every value to a whole number of blocks of that many bytes: for facts whose
    very length would tell them apart."""

    def __init__(self, column: str, codec: str = "str", pad: int = 0):
        self.column = column
        self.encode, self.decode = _CODECS[codec]
        #: a text or a date read again from the same ciphertext is not decrypted again (a page reads a
        #: name three times: to rank it, to score its first words, to show it); a JSON value is, since its
        #: reader may change the dict it gets
        self.remembered = codec != "json"
        if pad:
            if codec != "json":
                raise ValueError("only JSON values are padded")
            self.encode = _padded(self.encode, pad)

    def __set_name__(self, owner: Any, name: str) -> None:
        self.name = name
        encrypted = owner.__dict__.get("__encrypted_fields__")
        if encrypted is None:
            encrypted = {}
            owner.__encrypted_fields__ = encrypted
        encrypted[name] = self.column

    def _aad(self, obj: Any) -> bytes:
        if not getattr(obj, "uid", None):
            obj.uid = new_uid()
        return envelope.field_aad(obj.__tablename__, self.column, obj.uid)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return self.read(obj, getattr(obj, self.column))

    def read(self, obj: Any, blob: bytes | None) -> Any:
        """Decrypt a value this field held for this row (the current one, or one it held before a change)."""
        if blob is None:
            return None
        holder = obj.crypto_key()
        memo = obj.__dict__.get(_MEMO) if self.remembered else None
        seen = memo.get(self.column) if memo is not None else None
        if seen is not None and seen[0] is blob and seen[1] is getattr(holder, "_plain", None):
            return seen[2]  # the same ciphertext, and its key not destroyed since
        with timing.segment("decrypt"):
            try:
                key = holder.plaintext()
            except DataKeyDestroyed:
                return None
            value = self.decode(envelope.decrypt_field(key, blob, self._aad(obj)))
        if self.remembered:
            obj.__dict__.setdefault(_MEMO, {})[self.column] = (blob, key, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None or value == "":
            setattr(obj, self.column, None)
            return
        key = obj.crypto_key().plaintext()
        setattr(obj, self.column, envelope.encrypt_field(key, self.encode(value), self._aad(obj)))


class Detached:
    """A row known only by its table, uid and data key: its encrypted fields are read (or written) through
    the models' EncryptedField without loading it — bulk recounts and data migrations."""

    def __init__(self, table: str, uid: str, key: DataKey | RowKey):
        self.__tablename__ = table
        self.uid = uid
        self._key = key

    def crypto_key(self) -> DataKey | RowKey:
        return self._key


def detached_key(uid: str, kek_id: str, wrapped: bytes | None) -> RowKey:
    """A data key from its row's values, not attached to any session (see Detached)."""
    return RowKey(uid, kek_id, wrapped)
