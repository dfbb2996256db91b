"""Password hashing (argon2id) and the password rules: length and a blocklist, no composition rules."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 256

# argon2id, m=19 MiB, t=2, p=1 (OWASP's baseline).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Words people at a desk reach for, in the region's languages, on top of the common-password list.
_LOCAL_WORDS = {
    "contrasena",
    "contraseña",
    "senha",
    "clave",
    "migrante",
    "migrantes",
    "bienvenido",
    "bienvenida",
    "seguridad",
    "colombia",
    "venezuela",
    "ecuador",
    "peru",
    "brasil",
    "chile",
    "cucuta",
    "ipiales",
    "tumbes",
    "pacaraima",
    "boavista",
    "oim",
    "iom",
    "msc",
    "cam",
    "mscase",
    "msccase",
    "recepcion",
    "administrador",
    "admin",
    "usuario",
    "password",
    "qwerty",
    "abc",
}


@lru_cache(maxsize=1)
def _blocklist() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # large: loaded at the first password check, not at start

    return frozenset(FREQUENCY_LISTS["passwords"]) | _LOCAL_WORDS


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (constant-time inside argon2)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why a new password is not acceptable (translated), or None if it is."""
    if len(password) < MIN_LENGTH:
        return str(_l("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    lowered = password.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    blocked = _blocklist()
    if (
        lowered in blocked
        or core in blocked
        or len(set(lowered)) <= 3
        or _repeats_blocked(lowered, blocked)
        or _is_run(lowered)
    ):
        return str(_l("This password is too common or too easy to guess. A few unrelated words work well."))
    if username and len(username) >= 3 and username.lower() in lowered:
        return str(_l("The password must not contain your username."))
    return None


_RUNS = (
    "01234567890123456789",
    "98765432109876543210",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn",
    "qazwsxedcrfvtgbyhnujmikolp",
)


def _is_run(lowered: str) -> bool:
    """'123456789012', 'abcdefghijkl', 'qwertyuiopas': a slice of a keyboard or counting run."""
    return any(lowered in run or lowered in run * 2 for run in _RUNS)


def _repeats_blocked(lowered: str, blocked: frozenset[str]) -> bool:
    """'passwordpassword', 'qwerty123qwerty123': a blocked word said twice is still that word."""
    for size in range(3, len(lowered) // 2 + 1):
        unit = lowered[:size]
        if len(lowered) % size == 0 and unit * (len(lowered) // size) == lowered:
            return unit in blocked or re.sub(r"[\W\d_]+$", "", unit) in blocked or len(set(unit)) <= 3
    return False
