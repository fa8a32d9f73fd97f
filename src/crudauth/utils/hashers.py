"""Password hashers: the key-derivation step under crudauth's pre-hash.

A hasher takes the pre-hash (44 bytes of base64, made in
``crudauth.utils.password_hashing``) and returns the stored string. It also tells its
own stored form apart from others and says when a stored hash is weaker than what it
would make today, so a successful sign-in can re-hash it.
"""

from __future__ import annotations

import base64
import functools
import re
import secrets
from abc import ABC, abstractmethod

import argon2
import bcrypt
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "ARGON2ID_MIN_MEMORY_KIB",
    "ARGON2ID_MIN_TIME_COST",
    "DEFAULT_PASSWORD_HASHER",
    "Argon2idHasher",
    "BcryptHasher",
    "PasswordHasher",
    "resolve_hasher",
]

# OWASP Password Storage Cheat Sheet (2023 and later): Argon2id with 19 MiB of memory,
# two iterations and one lane is the minimum configuration.
ARGON2ID_MIN_MEMORY_KIB = 19 * 1024
ARGON2ID_MIN_TIME_COST = 2
ARGON2ID_MIN_PARALLELISM = 1

# bcrypt stays the default so existing deployments keep their hashes and settings.
DEFAULT_PASSWORD_HASHER = "bcrypt"

_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT_HASH_LENGTH = 60
_BCRYPT_COST = re.compile(r"^\$2[aby]\$(\d\d)\$")
_ARGON2ID_PREFIX = "$argon2id$"


class PasswordHasher(ABC):
    """One hashing scheme: hash a pre-hash, verify it, and judge stored strength.

    Subclasses set ``scheme`` and implement the four abstract methods. Every
    ``secret`` they receive is crudauth's 44-byte base64 pre-hash, never the password.

    Attributes:
        scheme: Short name of the scheme, such as ``"bcrypt"``.
    """

    scheme: str = ""

    @abstractmethod
    def identifies(self, stored: str) -> bool:
        """Return whether ``stored`` is in this scheme's format.

        Args:
            stored: A stored hash without crudauth's pepper prefix.
        """

    @abstractmethod
    def hash(self, secret: bytes) -> str:
        """Return a new salted hash of ``secret``.

        Args:
            secret: The pre-hash to hash.
        """

    @abstractmethod
    def verify(self, secret: bytes, stored: str) -> bool | None:
        """Check ``secret`` against ``stored``.

        Args:
            secret: The pre-hash of the typed password.
            stored: A hash this scheme identifies.

        Returns:
            Whether they match, or ``None`` when ``stored`` is malformed and no
            comparison ran.
        """

    @abstractmethod
    def needs_update(self, stored: str) -> bool:
        """Return whether ``stored`` used weaker settings than this hasher uses.

        Args:
            stored: A hash this scheme identifies.
        """

    def cost_key(self) -> tuple[object, ...]:
        """Return the settings that decide the cost of one verification."""
        return (self.scheme,)

    def dummy_hash(self) -> str:
        """Return a hash of a random secret made at this hasher's current cost.

        Comparing against it costs what a real comparison costs, so a missing account
        takes as long as a wrong password. One is made per cost and kept.
        """
        cache: dict[tuple[object, ...], str] = self.__dict__.setdefault("_dummy_hashes", {})
        key = self.cost_key()
        if key not in cache:
            cache[key] = self.hash(_random_secret())
        return cache[key]


class BcryptHasher(PasswordHasher):
    """bcrypt, the default hasher.

    Args:
        rounds: The bcrypt cost (4 to 31). ``None`` (the default) reads
            ``crudauth.utils.hashing.BCRYPT_ROUNDS`` on each call, so a test suite can
            lower it.

    Raises:
        ValueError: ``rounds`` is outside 4 to 31.
    """

    scheme = "bcrypt"

    def __init__(self, rounds: int | None = None) -> None:
        if rounds is not None and not 4 <= rounds <= 31:
            raise ValueError(f"BcryptHasher(rounds=...) must be between 4 and 31, got {rounds}")
        self._rounds = rounds

    @property
    def rounds(self) -> int:
        """The bcrypt cost of new hashes."""
        if self._rounds is not None:
            return self._rounds
        from crudauth.utils import hashing

        return hashing.BCRYPT_ROUNDS

    def identifies(self, stored: str) -> bool:
        return (
            len(stored) == _BCRYPT_HASH_LENGTH
            and stored.startswith(_BCRYPT_PREFIXES)
            and stored.isascii()
        )

    def hash(self, secret: bytes) -> str:
        return bcrypt.hashpw(secret, bcrypt.gensalt(self.rounds)).decode("ascii")

    def verify(self, secret: bytes, stored: str) -> bool | None:
        try:
            return bcrypt.checkpw(secret, stored.encode("ascii"))
        except ValueError:
            return None

    def needs_update(self, stored: str) -> bool:
        match = _BCRYPT_COST.match(stored)
        return match is None or int(match.group(1)) < self.rounds

    def cost_key(self) -> tuple[object, ...]:
        return (self.scheme, self.rounds)

    def dummy_hash(self) -> str:
        return bcrypt_dummy_hash(self.rounds).decode("ascii")


class Argon2idHasher(PasswordHasher):
    """Argon2id through ``argon2-cffi``.

    The defaults are the OWASP minimum: 19 MiB (``memory_cost`` in KiB), two passes
    and one lane. Lower settings raise ``ValueError``, because a hash made with them
    is cheaper to attack than the minimum the hasher promises. A stored hash with less
    memory, fewer passes or a shorter output is re-hashed at the next sign-in.

    Args:
        memory_cost: Memory per hash in KiB; at least 19456 (19 MiB).
        time_cost: Number of passes; at least 2.
        parallelism: Number of lanes; at least 1.
        hash_len: Length of the raw hash in bytes; at least 16.
        salt_len: Length of the random salt in bytes; at least 16.

    Raises:
        ValueError: A setting is below its minimum.

    Example:
        ```python
        auth = CRUDAuth(..., password_hasher=Argon2idHasher(memory_cost=64 * 1024))
        ```
    """

    scheme = "argon2id"

    def __init__(
        self,
        *,
        memory_cost: int = ARGON2ID_MIN_MEMORY_KIB,
        time_cost: int = ARGON2ID_MIN_TIME_COST,
        parallelism: int = ARGON2ID_MIN_PARALLELISM,
        hash_len: int = 32,
        salt_len: int = 16,
    ) -> None:
        if memory_cost < ARGON2ID_MIN_MEMORY_KIB:
            raise ValueError(
                f"Argon2idHasher(memory_cost=...) is in KiB and must be at least "
                f"{ARGON2ID_MIN_MEMORY_KIB} (19 MiB), got {memory_cost}"
            )
        if time_cost < ARGON2ID_MIN_TIME_COST:
            raise ValueError(
                f"Argon2idHasher(time_cost=...) must be at least {ARGON2ID_MIN_TIME_COST}, "
                f"got {time_cost}"
            )
        if parallelism < 1:
            raise ValueError(
                f"Argon2idHasher(parallelism=...) must be 1 or more, got {parallelism}"
            )
        if hash_len < 16 or salt_len < 16:
            raise ValueError("Argon2idHasher hash_len and salt_len must be at least 16 bytes")
        self.memory_cost = memory_cost
        self.time_cost = time_cost
        self.parallelism = parallelism
        self.hash_len = hash_len
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=argon2.Type.ID,
        )

    def identifies(self, stored: str) -> bool:
        return stored.startswith(_ARGON2ID_PREFIX) and stored.isascii()

    def hash(self, secret: bytes) -> str:
        return self._hasher.hash(secret)

    def verify(self, secret: bytes, stored: str) -> bool | None:
        try:
            return self._hasher.verify(stored, secret)
        except InvalidHashError:
            return None
        except VerificationError:
            # VerifyMismatchError is a subclass: a wrong password or a damaged digest.
            return False

    def needs_update(self, stored: str) -> bool:
        try:
            params = argon2.extract_parameters(stored)
        except InvalidHashError:
            return True
        return (
            params.type is not argon2.Type.ID
            or params.version < argon2.low_level.ARGON2_VERSION
            or params.memory_cost < self.memory_cost
            or params.time_cost < self.time_cost
            or params.hash_len < self.hash_len
        )

    def cost_key(self) -> tuple[object, ...]:
        return (self.scheme, self.memory_cost, self.time_cost, self.parallelism)


def _random_secret() -> bytes:
    return base64.b64encode(secrets.token_bytes(32))


@functools.lru_cache(maxsize=4)
def bcrypt_dummy_hash(rounds: int) -> bytes:
    """Return a bcrypt hash of a random secret at ``rounds``, made once per cost.

    Args:
        rounds: The bcrypt cost.
    """
    return bcrypt.hashpw(_random_secret(), bcrypt.gensalt(rounds))


def resolve_hasher(value: str | PasswordHasher) -> PasswordHasher:
    """Turn ``CRUDAuth(password_hasher=...)`` into a hasher object.

    Args:
        value: ``"bcrypt"``, ``"argon2id"`` or a ``PasswordHasher`` instance.

    Returns:
        ``value`` itself when it is a hasher, else a new hasher with default settings.

    Raises:
        ValueError: ``value`` is neither a known scheme name nor a hasher.
    """
    if isinstance(value, PasswordHasher):
        return value
    if value == BcryptHasher.scheme:
        return BcryptHasher()
    if value == Argon2idHasher.scheme:
        return Argon2idHasher()
    raise ValueError(
        f"password_hasher must be 'bcrypt', 'argon2id' or a PasswordHasher instance, got {value!r}"
    )
