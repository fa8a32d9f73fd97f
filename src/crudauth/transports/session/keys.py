"""Storage keys and public handles of sessions and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from crudauth.transports.session.constants import CSRF_KEY_CONTEXT, SESSION_KEY_CONTEXT
from crudauth.utils.key_rotation import KeyRing, encode_client_value

__all__ = ["SessionKeys", "same_text"]


class SessionKeys:
    """Derive storage keys from cookie values and tokens.

    With a key secret, a storage key is the hex HMAC-SHA256 of the value. Someone who
    can read the store therefore cannot present what they read as a cookie or CSRF
    header, and the handle shown in device lists is the session's storage key.
    Without a secret the raw values are the keys and the handle is the hex SHA-256 of
    the session id.

    Args:
        key_secret: The current secret, or ``None`` to use the raw values as keys.
        previous_secrets: Retired secrets. Values keyed under them are still found
            (see ``previous_session_keys``) and moved to the current secret's key.
    """

    def __init__(self, key_secret: str | None, previous_secrets: Sequence[str] = ()) -> None:
        self._secret = key_secret.encode() if key_secret else None
        self._ring = KeyRing(key_secret, previous_secrets) if key_secret else None

    @property
    def keyed(self) -> bool:
        """Whether storage keys are HMACs of the values."""
        return self._secret is not None

    def session_key(self, session_id: str) -> str:
        """Return the storage key of a raw session id.

        Args:
            session_id: The raw session id from the cookie.

        Returns:
            The key under the current secret, or ``session_id`` itself without one.
        """
        return self._derive(SESSION_KEY_CONTEXT, session_id)

    def csrf_key(self, token: str) -> str:
        """Return the storage key of a raw CSRF token.

        Args:
            token: The raw CSRF token.

        Returns:
            The key under the current secret, or ``token`` itself without one.
        """
        return self._derive(CSRF_KEY_CONTEXT, token)

    def previous_session_keys(self, session_id: str) -> list[str]:
        """Return the storage keys ``session_id`` had under the retired secrets.

        Args:
            session_id: The raw session id.

        Returns:
            One key per retired secret, or an empty list without a secret.
        """
        if self._ring is None:
            return []
        return self._ring.derive_previous(SESSION_KEY_CONTEXT, session_id)

    def previous_csrf_keys(self, token: str) -> list[str]:
        """Return the storage keys ``token`` had under the retired secrets.

        Args:
            token: The raw CSRF token.

        Returns:
            One key per retired secret, or an empty list without a secret.
        """
        if self._ring is None:
            return []
        return self._ring.derive_previous(CSRF_KEY_CONTEXT, token)

    def csrf_key_matches(self, token: str, expected: str) -> bool:
        """Return whether ``expected`` is the key of ``token`` under any secret.

        The comparison runs in constant time.

        Args:
            token: The raw CSRF token.
            expected: The storage key recorded on the session.

        Returns:
            Whether the current or a retired secret maps ``token`` to ``expected``.
        """
        if self._ring is None:
            return same_text(token, expected)
        return self._ring.matches(CSRF_KEY_CONTEXT, token, expected)

    def handle_for_key(self, storage_key: str) -> str:
        """Return the public handle of the session stored under ``storage_key``.

        Args:
            storage_key: The session's storage key.

        Returns:
            The storage key itself with a secret, else its hex SHA-256. Neither
            reveals the raw session id.
        """
        if self._secret is not None:
            return storage_key
        # Without a secret the storage key is the raw session id, which must not leak.
        return hashlib.sha256(storage_key.encode()).hexdigest()

    def handles_for_keys(self, storage_keys: Sequence[str]) -> list[str]:
        """Return the public handles of many storage keys, as ``handle_for_key`` does.

        Args:
            storage_keys: The sessions' storage keys.

        Returns:
            One handle per key, in order.
        """
        if self._secret is not None:
            return list(storage_keys)
        return [self.handle_for_key(storage_key) for storage_key in storage_keys]

    def handle(self, session_id: str) -> str:
        """Return the public handle of a raw session id.

        Args:
            session_id: The raw session id.

        Returns:
            The handle shown in device lists and logs.
        """
        return self.handle_for_key(self.session_key(session_id))

    def _derive(self, context: bytes, value: str) -> str:
        if self._secret is None:
            return value
        message = context + encode_client_value(value)
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def same_text(left: str, right: str) -> bool:
    """Compare two strings in constant time.

    Args:
        left: The first string, with any characters.
        right: The second string, with any characters.

    Returns:
        Whether the strings are equal.
    """
    # Encoding first: compare_digest raises TypeError on non-ASCII str arguments.
    return hmac.compare_digest(encode_client_value(left), encode_client_value(right))
