"""Usernames for accounts created from a provider profile."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable

from crudauth.oauth.constants import (
    USERNAME_FALLBACK,
    USERNAME_MAX_LENGTH,
    USERNAME_MAX_SUFFIX_ATTEMPTS,
    USERNAME_MIN_LENGTH,
    USERNAME_RANDOM_SUFFIX_BYTES,
)
from crudauth.oauth.schemas import OAuthUserInfo

__all__ = ["random_suffixed", "sanitize_username", "unique_username", "username_candidate"]

_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")

UsernameTaken = Callable[[str], Awaitable[bool]]


def username_candidate(info: OAuthUserInfo) -> str:
    """Return the first non-empty of username, given name, name, email local part.

    Args:
        info: The provider profile.

    Returns:
        The raw candidate, or ``"user"`` when the profile has none of them.
    """
    local_part = info.email.split("@", 1)[0] if info.email else None
    for value in (info.username, info.given_name, info.name, local_part):
        if value and value.strip():
            return value
    return USERNAME_FALLBACK


def sanitize_username(raw: str, max_length: int | None = None) -> str:
    """Lower-case ``raw``, join its ``[a-z0-9]`` runs with ``_`` and cut it to fit.

    A result shorter than the minimum length gets the ``user_`` prefix.

    Args:
        raw: The candidate name.
        max_length: The username column's length; ``None`` uses the default of 32.
    """
    limit = max_length or USERNAME_MAX_LENGTH
    name = _NOT_ALLOWED.sub("_", raw.lower()).strip("_")
    if len(name) < USERNAME_MIN_LENGTH:
        name = f"{USERNAME_FALLBACK}_{name}".strip("_")
    return name[:limit].rstrip("_")


def _suffixed(base: str, suffix: str, limit: int) -> str:
    room = max(limit - len(suffix) - 1, 1)
    return f"{base[:room].rstrip('_')}_{suffix}"


def random_suffixed(base: str, max_length: int | None = None) -> str:
    """Return ``base_<8 hex characters>`` cut to fit ``max_length``.

    Args:
        base: The sanitized name.
        max_length: The username column's length; ``None`` uses the default of 32.
    """
    suffix = secrets.token_hex(USERNAME_RANDOM_SUFFIX_BYTES)
    return _suffixed(base, suffix, max_length or USERNAME_MAX_LENGTH)


async def unique_username(base: str, is_taken: UsernameTaken, max_length: int | None = None) -> str:
    """Return ``base`` if free, else ``base_1`` to ``base_99``, else a random suffix.

    Best effort only, because a concurrent signup can still take the name before the
    insert.

    Args:
        base: The sanitized name.
        is_taken: Coroutine function returning whether a name is in use.
        max_length: The username column's length; ``None`` uses the default of 32.
    """
    limit = max_length or USERNAME_MAX_LENGTH
    if not await is_taken(base):
        return base
    for number in range(1, USERNAME_MAX_SUFFIX_ATTEMPTS + 1):
        candidate = _suffixed(base, str(number), limit)
        if not await is_taken(candidate):
            return candidate
    return random_suffixed(base, limit)
