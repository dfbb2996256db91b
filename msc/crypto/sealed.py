"""Records an offline desk seals for the server: a tablet can write them but never read them back.

The browser seals each record with WebCrypto to the server's public key (hybrid encryption, ECIES):

- a fresh ECDH P-256 key pair per record; the shared secret with the server's key, through HKDF-SHA256
  (salt: the record's public point; info: SCHEME), gives a 256-bit AES-GCM key;
- the record (JSON) is encrypted under it with a random 96-bit IV, the associated data binding the
  ciphertext to its device, its client id and its kind, so a record cannot be moved to another device or
  passed off as another record;
- the record's private key is never exported nor stored: once sealed, nothing on the tablet opens it.

The server's private key is derived from a KEK (HKDF, its own info string), so it is held nowhere but in
the key ring and changes with the KEK: the public key's id is the KEK's id. A record sealed to a KEK that
left the ring no longer opens (it is refused and reported).
"""

from __future__ import annotations

import base64
import binascii
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from msc.crypto.keys import KeyError_, keyring

SCHEME = "msc-offline-v1"
IV_BYTES = 12
#: a P-256 public point, uncompressed (0x04, x, y)
POINT_BYTES = 65
#: the largest sealed record the server opens (a registration with its consents, or a hand-over with its
#: signature, is a few kilobytes)
MAX_CIPHERTEXT = 96 * 1024
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class SealError(Exception):
    """A sealed record that does not open: not of this scheme, cut short, altered, moved, or sealed to a
    key the server no longer holds."""


def aad(device_uid: str, client_id: str, kind: str) -> bytes:
    """What a record's ciphertext is bound to."""
    return f"{SCHEME}|{device_uid}|{client_id}|{kind}".encode()


@lru_cache(maxsize=8)
def _private_from(kek: bytes) -> ec.EllipticCurvePrivateKey:
    # 48 bytes reduced modulo the group order: a scalar as good as uniform (bias below 2^-128)
    material = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=b"msc-offline-sealing-key").derive(kek)
    return ec.derive_private_key(int.from_bytes(material, "big") % (_ORDER - 1) + 1, ec.SECP256R1())


def _private(kid: str) -> ec.EllipticCurvePrivateKey:
    try:
        return _private_from(keyring().kek(kid))
    except KeyError_:
        raise SealError("sealed to a key this server does not hold") from None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: object, what: str, limit: int) -> bytes:
    if not isinstance(text, str) or len(text) > limit * 4 // 3 + 4:
        raise SealError(f"{what} is missing or too long")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealError(f"{what} is not base64") from None


def public_key() -> dict[str, str]:
    """The public key desks seal to (the active KEK's), as a JSON Web Key WebCrypto imports."""
    ring = keyring()
    numbers = _private(ring.active_kek).public_key().public_numbers()
    return {
        "kid": ring.active_kek,
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
        "alg": SCHEME,
    }


def _aes_key(shared: bytes, point: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=point, info=SCHEME.encode()).derive(shared)


def open_record(sealed: object, associated: bytes) -> bytes:
    """The plaintext of a sealed record ({kid, epk, iv, ct}, base64url), or SealError."""
    if not isinstance(sealed, dict):
        raise SealError("not a sealed record")
    kid = sealed.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 64:
        raise SealError("no key id")
    point = _unb64(sealed.get("epk"), "the record's public key", POINT_BYTES)
    iv = _unb64(sealed.get("iv"), "the IV", IV_BYTES)
    ct = _unb64(sealed.get("ct"), "the ciphertext", MAX_CIPHERTEXT)
    if len(point) != POINT_BYTES or len(iv) != IV_BYTES or len(ct) < 16:
        raise SealError("cut short")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise SealError("the record's public key is not a point of the curve") from None
    shared = _private(kid).exchange(ec.ECDH(), peer)
    try:
        return AESGCM(_aes_key(shared, point)).decrypt(iv, ct, associated)
    except InvalidTag:
        raise SealError("the record does not authenticate: altered, cut or moved") from None


def seal_record(plaintext: bytes, associated: bytes, public: dict[str, str]) -> dict[str, str]:
    """Seal a record as a desk's browser does (for the server's own tests and tools: the browser's
    WebCrypto code is the desk's)."""
    x = base64.urlsafe_b64decode(public["x"] + "==")
    y = base64.urlsafe_b64decode(public["y"] + "==")
    server = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1())
    mine = ec.generate_private_key(ec.SECP256R1())
    point = mine.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    key = _aes_key(mine.exchange(ec.ECDH(), server.public_key()), point)
    iv = os.urandom(IV_BYTES)
    ct = AESGCM(key).encrypt(iv, plaintext, associated)
    return {"kid": public["kid"], "epk": _b64url(point), "iv": _b64url(iv), "ct": _b64url(ct)}
