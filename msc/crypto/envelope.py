"""AES-256-GCM envelope encryption: a random data key per owner, wrapped by a KEK with a key id.

Ciphertext layout: version byte, 96-bit random nonce, ciphertext with its 128-bit tag. The
associated data binds each value to its table, column and row, so a value copied elsewhere
does not decrypt.

Field values are padded before encryption (version 2) so that the length of a ciphertext says only
which bucket the value falls in (16, 32, 64, 128 or 256 bytes, then multiples of 256), not how long a
name or a document number is. Padding is one 0x80 byte then zeros (ISO/IEC 7816-4); the version is
bound into the associated data, so a ciphertext cannot be passed off as the other version. Values
written before padding (version 1) still decrypt; wrapped data keys (all of one length) stay version 1.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
PADDED = b"\x02"
NONCE_BYTES = 12
BUCKETS = (16, 32, 64, 128, 256)
DATA_KEY_BYTES = 32


class DecryptionError(Exception):
    """A value or a wrapped key did not authenticate: wrong key, wrong place, or tampered."""


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def padded_length(n: int) -> int:
    """The bucket a value of n bytes is padded to (with room for the padding's marker byte)."""
    for size in BUCKETS:
        if n + 1 <= size:
            return size
    return -(-(n + 1) // 256) * 256


def pad(plaintext: bytes) -> bytes:
    """The value, a 0x80 marker, then zeros up to its bucket."""
    size = padded_length(len(plaintext))
    return plaintext + b"\x80" + b"\x00" * (size - len(plaintext) - 1)


def unpad(padded: bytes) -> bytes:
    """The value inside a padded plaintext; malformed padding raises DecryptionError."""
    value = padded.rstrip(b"\x00")
    if not value.endswith(b"\x80") or padded_length(len(value) - 1) != len(padded):
        raise DecryptionError("malformed padding")
    return value[:-1]


def _versioned_aad(version: bytes, aad: bytes) -> bytes:
    return aad if version == VERSION else b"msc-v" + version.hex().encode() + b"|" + aad


def _seal(key: bytes, plaintext: bytes, aad: bytes, version: bytes = VERSION) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return version + nonce + AESGCM(key).encrypt(nonce, plaintext, _versioned_aad(version, aad))


def _open(key: bytes, blob: bytes, aad: bytes, versions: tuple[bytes, ...] = (VERSION,)) -> tuple[bytes, bytes]:
    version = blob[:1]
    if len(blob) < 1 + NONCE_BYTES + 16 or version not in versions:
        raise DecryptionError("not a ciphertext of a known version")
    try:
        plain = AESGCM(key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], _versioned_aad(version, aad))
    except InvalidTag:
        raise DecryptionError("ciphertext does not authenticate") from None
    return version, plain


def wrap_key(kek: bytes, kek_id: str, data_key: bytes, key_uid: str) -> bytes:
    """Encrypt a data key under a KEK; the KEK id and the data key's own id are bound in."""
    return _seal(kek, data_key, f"msc-data-key|{kek_id}|{key_uid}".encode())


def unwrap_key(kek: bytes, kek_id: str, wrapped: bytes, key_uid: str) -> bytes:
    """Decrypt a wrapped data key."""
    return _open(kek, wrapped, f"msc-data-key|{kek_id}|{key_uid}".encode())[1]


def field_aad(table: str, column: str, row_uid: str) -> bytes:
    """Associated data for one field of one row."""
    return f"msc-field|{table}|{column}|{row_uid}".encode()


def encrypt_field(data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt one field value, padded to its length bucket."""
    return _seal(data_key, pad(plaintext), aad, PADDED)


def decrypt_field(data_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt one field value (padded or written before padding); raises DecryptionError if it was
    moved or altered."""
    version, plain = _open(data_key, blob, aad, (VERSION, PADDED))
    return unpad(plain) if version == PADDED else plain
