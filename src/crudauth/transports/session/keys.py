"""Storage keys and public handles of sessions and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac

from crudauth.transports.session.constants import CSRF_KEY_CONTEXT, SESSION_KEY_CONTEXT

__all__ = ["SessionKeys", "same_text"]


class SessionKeys:
    """Derive storage keys from cookie values and tokens.

    With a key secret, a storage key is the hex HMAC-SHA256 of the value. Someone who
    can read the store therefore cannot present what they read as a cookie or CSRF
    header, and the handle shown in device lists is the session's storage key.
    Without a secret the raw values are the keys and the handle is the hex SHA-256 of
    the session id.
    """

    def __init__(self, key_secret: str | None) -> None:
        self._secret = key_secret.encode() if key_secret else None

    @property
    def keyed(self) -> bool:
        """Whether storage keys are HMACs of the values."""
        return self._secret is not None

    def session_key(self, session_id: str) -> str:
        """Return the storage key of a raw session id."""
        return self._derive(SESSION_KEY_CONTEXT, session_id)

    def csrf_key(self, token: str) -> str:
        """Return the storage key of a raw CSRF token."""
        return self._derive(CSRF_KEY_CONTEXT, token)

    def handle_for_key(self, storage_key: str) -> str:
        """Return the public handle of the session stored under ``storage_key``."""
        if self._secret is not None:
            return storage_key
        # Without a secret the storage key is the raw session id, which must not leak.
        return hashlib.sha256(storage_key.encode()).hexdigest()

    def handle(self, session_id: str) -> str:
        """Return the public handle of a raw session id."""
        return self.handle_for_key(self.session_key(session_id))

    def _derive(self, context: bytes, value: str) -> str:
        if self._secret is None:
            return value
        message = context + value.encode("utf-8", "surrogateescape")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def same_text(left: str, right: str) -> bool:
    """Compare two strings in constant time; any characters are accepted."""
    # Encoding first: compare_digest raises TypeError on non-ASCII str arguments.
    return hmac.compare_digest(
        left.encode("utf-8", "surrogateescape"), right.encode("utf-8", "surrogateescape")
    )
