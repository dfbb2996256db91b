"""AES-256-GCM envelope encryption: a random data key per owner, wrapped by a KEK with a key id.

Ciphertext layout: version byte, 96-bit random nonce, ciphertext with its 128-bit tag. The
associated data binds each value to its table, column and row, so a value copied elsewhere
does not decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
NONCE_BYTES = 12
DATA_KEY_BYTES = 32


class DecryptionError(Exception):
    """A value or a wrapped key did not authenticate: wrong key, wrong place, or tampered."""


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise DecryptionError("not a ciphertext of a known version")
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise DecryptionError("ciphertext does not authenticate") from None


def wrap_key(kek: bytes, kek_id: str, data_key: bytes, key_uid: str) -> bytes:
    """Encrypt a data key under a KEK; the KEK id and the data key's own id are bound in."""
    return _seal(kek, data_key, f"msc-data-key|{kek_id}|{key_uid}".encode())


def unwrap_key(kek: bytes, kek_id: str, wrapped: bytes, key_uid: str) -> bytes:
    """Decrypt a wrapped data key."""
    return _open(kek, wrapped, f"msc-data-key|{kek_id}|{key_uid}".encode())


def field_aad(table: str, column: str, row_uid: str) -> bytes:
    """Associated data for one field of one row."""
    return f"msc-field|{table}|{column}|{row_uid}".encode()


def encrypt_field(data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt one field value."""
    return _seal(data_key, plaintext, aad)


def decrypt_field(data_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt one field value; raises DecryptionError if it was moved or altered."""
    return _open(data_key, blob, aad)
