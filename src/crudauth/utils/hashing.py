"""Password hashing with the default settings: bcrypt over a SHA-256 pre-hash.

The stored hash is ``bcrypt(base64(sha256(NFKC(password))))``. bcrypt reads at most 72
bytes of input, so hashing the raw password would make two long passwords sharing a
72-byte prefix interchangeable. The 44-byte pre-hash depends on every character. The
pre-hash is never stored and is not the key derivation: bcrypt is.

These functions use a default ``PasswordHashing``: they hash with bcrypt, verify
bcrypt and Argon2id hashes, and know no pepper. An app that sets
``CRUDAuth(password_hasher=..., password_pepper=...)`` hashes through
``auth.runtime.passwords`` instead.

``BCRYPT_ROUNDS`` is the bcrypt cost used for new hashes and for the dummy hash. It is
read at call time, so a test suite may lower it (``monkeypatch.setattr(hashing,
"BCRYPT_ROUNDS", 4)``); production code should leave the default of 12.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence

import bcrypt

from crudauth.constants import MAX_PASSWORD_LENGTH
from crudauth.utils._cpu_threads import run_cpu_bound
from crudauth.utils.hashers import bcrypt_dummy_hash
from crudauth.utils.password_hashing import (
    PasswordHashing,
    encode_password,
    normalize_password,
    pre_hash,
)

__all__ = [
    "DEFAULT_PASSWORD_HASHING",
    "LegacyVerifier",
    "dummy_verify_password",
    "get_password_hash",
    "get_password_hash_async",
    "is_unusable_password",
    "make_unusable_password",
    "normalize_password",
    "verify_and_update_password",
    "verify_and_update_password_async",
    "verify_legacy_password",
    "verify_legacy_password_async",
    "verify_password",
    "verify_password_async",
    "verify_plain_bcrypt",
]

logger = logging.getLogger("crudauth.hashing")

BCRYPT_ROUNDS = 12
PRE_HASH_LENGTH = 44
BCRYPT_INPUT_BYTES = 72
UNUSABLE_PASSWORD_PREFIX = "!"

LegacyVerifier = Callable[[str, str], bool]
"""A checker of foreign hashes: given the typed password and a stored hash, return
whether they match."""

DEFAULT_PASSWORD_HASHING = PasswordHashing()
"""bcrypt at ``BCRYPT_ROUNDS``, no pepper: what the module-level functions use."""

_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT_HASH_LENGTH = 60

_encode = encode_password


def _pre_hash(password: str) -> bytes:
    return pre_hash(password)


def _bcrypt_hash(value: str | None) -> bytes | None:
    """Return ``value`` as bytes when it is shaped like a bcrypt hash, else None."""
    if not isinstance(value, str) or len(value) != _BCRYPT_HASH_LENGTH:
        return None
    if not value.startswith(_BCRYPT_PREFIXES) or not value.isascii():
        return None
    return value.encode("ascii")


def _checkpw(candidate: bytes, hashed: bytes) -> bool | None:
    """Compare with bcrypt; None when bcrypt rejects ``hashed`` as malformed."""
    try:
        return bcrypt.checkpw(candidate, hashed)
    except ValueError:
        return None


def _dummy_hash(rounds: int) -> bytes:
    return bcrypt_dummy_hash(rounds)


def get_password_hash(password: str) -> str:
    """Hash ``password`` with bcrypt over its NFKC SHA-256 pre-hash.

    This blocks for the whole bcrypt run; call ``get_password_hash_async`` from async
    code.

    Args:
        password: The plain password.

    Returns:
        The bcrypt hash to store, at ``BCRYPT_ROUNDS``.

    Raises:
        ValueError: The password is longer than ``MAX_PASSWORD_LENGTH`` characters.
            Callers run the password policy first, which reports that as a 422.

    Example:
        ```python
        user.hashed_password = await get_password_hash_async("correct horse battery")
        ```
    """
    return DEFAULT_PASSWORD_HASHING.hash(password)


async def get_password_hash_async(password: str) -> str:
    """Hash ``password`` like ``get_password_hash``, in a worker thread.

    Args:
        password: The plain password.

    Returns:
        The bcrypt hash to store.

    Raises:
        ValueError: The password is longer than ``MAX_PASSWORD_LENGTH`` characters.
    """
    return await run_cpu_bound(get_password_hash, password)


def verify_and_update_password(plain: str, hashed: str | None) -> tuple[bool, str | None]:
    """Check ``plain`` against ``hashed`` and report a replacement hash when one is due.

    The NFKC form is tried first, then the typed form when it differs, so hashes made
    before normalization keep working. Never raises: a missing, malformed or unusable
    hash, a non-string or an over-long password is a mismatch that still pays the same
    bcrypt comparisons against a cached dummy hash.

    Args:
        plain: The password as typed.
        hashed: The stored hash (bcrypt or Argon2id), or ``None``.

    Returns:
        ``(verified, new_hash)``. ``new_hash`` is a fresh bcrypt hash of the normalized
        password when only the typed form matched, or when the stored hash uses another
        scheme or a lower bcrypt cost; otherwise it is ``None``.

    Example:
        ```python
        ok, new_hash = verify_and_update_password(password, user.hashed_password)
        if ok and new_hash is not None:
            user.hashed_password = new_hash
        ```
    """
    return DEFAULT_PASSWORD_HASHING.verify_and_update(plain, hashed)


async def verify_and_update_password_async(
    plain: str, hashed: str | None
) -> tuple[bool, str | None]:
    """Run ``verify_and_update_password`` in a worker thread.

    Args:
        plain: The password as typed.
        hashed: The stored hash, or ``None``.

    Returns:
        ``(verified, new_hash)`` as ``verify_and_update_password`` returns them.
    """
    return await run_cpu_bound(verify_and_update_password, plain, hashed)


def verify_password(plain: str, hashed: str | None) -> bool:
    """Check ``plain`` against ``hashed`` like ``verify_and_update_password``.

    Blocks for the whole hash comparison; call ``verify_password_async`` from async
    code.

    Args:
        plain: The password as typed.
        hashed: The stored hash, or ``None``.

    Returns:
        Whether the password matches. Never raises for bad input.
    """
    verified, _ = verify_and_update_password(plain, hashed)
    return verified


async def verify_password_async(plain: str, hashed: str | None) -> bool:
    """Run ``verify_password`` in a worker thread.

    Args:
        plain: The password as typed.
        hashed: The stored hash, or ``None``.

    Returns:
        Whether the password matches. Never raises for bad input.

    Example:
        ```python
        if not await verify_password_async(form.password, user.hashed_password):
            raise UnauthorizedException("Invalid credentials")
        ```
    """
    return await run_cpu_bound(verify_password, plain, hashed)


def dummy_verify_password(plain: str) -> None:
    """Spend one password check against a cached dummy hash and discard the result.

    Call it in hand-written "no such user" branches so they take as long as a wrong
    password for a real account (no user enumeration by timing).

    Args:
        plain: The password as typed.
    """
    verify_and_update_password(plain, None)


def make_unusable_password() -> str:
    """Return a fresh sentinel that no password verifies against.

    Store it for accounts that sign in only through OAuth or passkeys. The leading
    ``!`` makes it an invalid bcrypt hash, and the random tail keeps every sentinel
    distinct.

    Returns:
        ``"!"`` followed by 22 random URL-safe characters.
    """
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(16)


def is_unusable_password(hashed: str | None) -> bool:
    """Return whether ``hashed`` is empty or an unusable-password sentinel.

    Args:
        hashed: The stored hash, or ``None``.

    Returns:
        ``True`` for ``None``, ``""`` and any value starting with ``!``.
    """
    return not hashed or hashed.startswith(UNUSABLE_PASSWORD_PREFIX)


def _looks_like_pre_hash(value: str) -> bool:
    if len(value) != PRE_HASH_LENGTH:
        return False
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(decoded) == hashlib.sha256().digest_size


def verify_plain_bcrypt(plain: str, hashed: str) -> bool:
    """Check ``plain`` against a hash made by plain bcrypt (no pre-hash).

    Compares the first 72 UTF-8 bytes, as plain bcrypt did when the hash was made, and
    returns ``False`` for values that are not bcrypt hashes. A password shaped like
    crudauth's own pre-hash (44 characters of base64 decoding to 32 bytes) is rejected,
    because otherwise a leaked unsalted SHA-256 of a password could sign in against a
    crudauth hash.

    Args:
        plain: The password as typed.
        hashed: The stored plain-bcrypt hash.

    Returns:
        Whether the password matches.

    Example:
        ```python
        auth = CRUDAuth(..., legacy_verifiers=[verify_plain_bcrypt])
        ```
    """
    if not isinstance(plain, str) or _looks_like_pre_hash(plain):
        return False
    stored = _bcrypt_hash(hashed)
    if stored is None:
        return False
    return _checkpw(_encode(plain)[:BCRYPT_INPUT_BYTES], stored) is True


def verify_legacy_password(
    plain: str, hashed: str | None, verifiers: Sequence[LegacyVerifier]
) -> bool:
    """Return whether any legacy verifier accepts ``plain`` for ``hashed``.

    Every verifier runs, even after a match, so the time taken does not reveal which one
    matched. A verifier that raises counts as a mismatch and is logged. With no stored
    hash (or an unusable one) the verifiers run against the dummy hash and the result
    is always ``False``, so an unknown account costs the same and can never match.

    Args:
        plain: The password as typed; a non-string or one longer than
            ``MAX_PASSWORD_LENGTH`` is a mismatch without running any verifier.
        hashed: The stored foreign hash, or ``None``.
        verifiers: Callables ``(plain, hashed) -> bool``; only a return of exactly
            ``True`` counts as a match.

    Returns:
        Whether at least one verifier accepted the password for a real stored hash.
    """
    if not isinstance(plain, str) or len(plain) > MAX_PASSWORD_LENGTH:
        return False
    # An unusable sentinel is treated like a missing hash, so no legacy verifier can
    # ever accept it.
    target = hashed if isinstance(hashed, str) and not is_unusable_password(hashed) else None
    candidate = target or _dummy_hash(BCRYPT_ROUNDS).decode("ascii")

    matched = False
    for verifier in verifiers:
        try:
            # Only a real True counts, so a verifier returning an error string or
            # another truthy object cannot sign anyone in.
            result = verifier(plain, candidate) is True
        except Exception as exc:
            # Only the type is logged, because the message of a careless verifier may
            # contain the password or the hash.
            logger.warning(
                "Legacy password verifier %s raised %s; treated as a mismatch",
                getattr(verifier, "__qualname__", repr(verifier)),
                type(exc).__name__,
            )
            result = False
        matched = matched or result
    return matched and target is not None


async def verify_legacy_password_async(
    plain: str, hashed: str | None, verifiers: Sequence[LegacyVerifier]
) -> bool:
    """Run ``verify_legacy_password`` in a worker thread.

    Args:
        plain: The password as typed.
        hashed: The stored foreign hash, or ``None``.
        verifiers: Callables ``(plain, hashed) -> bool``.

    Returns:
        Whether at least one verifier accepted the password.
    """
    return await run_cpu_bound(verify_legacy_password, plain, hashed, verifiers)
