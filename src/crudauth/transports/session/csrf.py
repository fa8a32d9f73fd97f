"""Synchronizer CSRF tokens bound to sessions: issue, check, slide and rotate."""

from __future__ import annotations

import contextlib
import secrets
from datetime import timedelta

from crudauth.transports.session.constants import CSRF_TOKEN_ID_META_KEY
from crudauth.transports.session.keys import same_text
from crudauth.transports.session.records import SessionRecords
from crudauth.transports.session.schemas import CSRFToken, SessionData

__all__ = ["CSRFTokens"]


class CSRFTokens(SessionRecords):
    """CSRF part of ``SessionManager``. ``csrf_storage is None`` disables CSRF."""

    csrf_token_bytes: int

    def csrf_matches_session(self, session: SessionData, csrf_token: str | None) -> bool:
        """Return whether ``csrf_token`` is the current token of ``session``.

        This is the per-request check: it compares the token's storage key with the key
        recorded on the session, so it needs no store read. Rotation rewrites that key
        and termination deletes the session, so a rotated-out or foreign token fails.

        Args:
            session: The session record.
            csrf_token: The raw token from the request header.

        Returns:
            Whether the token matches, under the current or a retired secret. Always
            ``True`` when CSRF is disabled.
        """
        if self.csrf_storage is None:
            return True
        expected = session.metadata.get(CSRF_TOKEN_ID_META_KEY)
        if not csrf_token or not isinstance(expected, str) or not expected:
            return False
        # A token keyed under a retired secret still matches after a key rotation.
        return self.keys.csrf_key_matches(csrf_token, expected)

    async def rekey_csrf_token(self, session: SessionData, csrf_token: str) -> None:
        """Move a matching token keyed under a retired secret to the current key.

        Call it after ``csrf_matches_session`` accepted ``csrf_token``. It costs no
        store call when the token is already keyed under the current secret. The raw
        token stays the same, so the browser's cookie and header keep working.

        Args:
            session: The session record.
            csrf_token: The raw token that matched.

        Raises:
            StoreUnavailableError: The session or CSRF store is unreachable.
        """
        expected = session.metadata.get(CSRF_TOKEN_ID_META_KEY)
        current = self.keys.csrf_key(csrf_token)
        if self.csrf_storage is None or not isinstance(expected, str):
            return
        if same_text(current, expected):
            return
        stored: CSRFToken | None = await self.csrf_storage.get(expected, CSRFToken)
        if stored is None:
            return
        window = self.timeout_seconds_for(session.metadata)
        stored.token = current
        if not await self.csrf_storage.set_if_absent(
            current, stored, expiration=self.csrf_ttl_for(window)
        ):
            return

        def point_at_current(record: SessionData) -> None:
            if record.metadata.get(CSRF_TOKEN_ID_META_KEY) == expected:
                record.metadata[CSRF_TOKEN_ID_META_KEY] = current

        updated = await self.storage.modify(
            session.session_id, SessionData, point_at_current, reset_expiration=False
        )
        if updated is None or updated.metadata.get(CSRF_TOKEN_ID_META_KEY) != current:
            # The session ended or its token rotated meanwhile: drop the copy.
            await self._discard_csrf_token(current)
            return
        await self.csrf_storage.delete(expected)

    async def validate_csrf_token(self, session_id: str, csrf_token: str) -> bool:
        """Return whether ``csrf_token`` is a live token bound to ``session_id``.

        Unlike ``csrf_matches_session``, this reads the CSRF store: the token's record
        must exist, so it has not expired, and must name this session's storage key.

        Args:
            session_id: The raw session id.
            csrf_token: The raw token.

        Returns:
            Whether the token is live and bound to the session. Always ``True`` when
            CSRF is disabled.

        Raises:
            StoreUnavailableError: The session or CSRF store is unreachable.
        """
        if self.csrf_storage is None:
            return True
        if not session_id or not csrf_token:
            return False
        record: CSRFToken | None = await self.csrf_storage.get(
            self.keys.csrf_key(csrf_token), CSRFToken
        )
        for previous_key in self.keys.previous_csrf_keys(csrf_token) if record is None else ():
            record = await self.csrf_storage.get(previous_key, CSRFToken)
            if record is not None:
                break
        if record is None:
            return False
        found = await self._find_session(session_id)
        return found is not None and same_text(record.session_id, found[0])

    async def regenerate_csrf_token(
        self, session_id: str, expiration_seconds: int | None = None
    ) -> str:
        """Rotate the session's CSRF token and return the new raw token.

        The previous token is deleted, so it stops validating at once. The session's
        store TTL is reset to its idle window.

        Args:
            session_id: The raw session id.
            expiration_seconds: Lifetime of the new token in the store. By default it
                is the session's idle window plus the activity interval.

        Returns:
            The new raw token, or ``""`` when CSRF is disabled or the session does not
            exist.

        Raises:
            StoreUnavailableError: The session or CSRF store is unreachable. A token
                written before the failure is deleted again.
        """
        if self.csrf_storage is None or not session_id:
            return ""
        found = await self._find_session(session_id)
        if found is None:
            return ""
        session_key, record = found

        window = self.timeout_seconds_for(record.metadata)
        token_ttl = expiration_seconds or self.csrf_ttl_for(window)
        token, token_key = await self._issue_csrf_token(session_key, token_ttl)

        previous: dict[str, object] = {}

        def point_at_new_token(stored: SessionData) -> None:
            previous["key"] = stored.metadata.get(CSRF_TOKEN_ID_META_KEY)
            stored.metadata[CSRF_TOKEN_ID_META_KEY] = token_key

        try:
            updated = await self.storage.modify(
                session_key, SessionData, point_at_new_token, expiration=window
            )
        except Exception:
            await self._discard_csrf_token(token_key)
            raise
        if updated is None:
            # The session ended meanwhile: a token must not outlive it.
            await self._discard_csrf_token(token_key)
            return ""

        old_key = previous.get("key")
        if isinstance(old_key, str) and old_key and old_key != token_key:
            await self.csrf_storage.delete(old_key)
        return token

    async def _issue_csrf_token(self, session_key: str, ttl: int) -> tuple[str, str]:
        """Store a token bound to ``session_key``; return the raw token and its key."""
        assert self.csrf_storage is not None
        token = secrets.token_hex(self.csrf_token_bytes)
        token_key = self.keys.csrf_key(token)
        record = CSRFToken(
            token=token_key,
            session_id=session_key,
            expiry=self._now() + timedelta(seconds=ttl),
        )
        try:
            await self.csrf_storage.create(record, session_id=token_key, expiration=ttl)
        except Exception:
            await self._discard_csrf_token(token_key)
            raise
        return token, token_key

    async def _discard_csrf_token(self, token_key: str) -> None:
        """Delete a token after a failed write, keeping the original error."""
        if self.csrf_storage is None:
            return
        # The store may be the thing that failed; the caller re-raises the first error.
        with contextlib.suppress(Exception):
            await self.csrf_storage.delete(token_key)

    async def _slide_csrf_token(self, session: SessionData, session_ttl: int) -> None:
        token_key = session.metadata.get(CSRF_TOKEN_ID_META_KEY)
        if self.csrf_storage is None or not isinstance(token_key, str) or not token_key:
            return
        await self.csrf_storage.extend(token_key, self.csrf_ttl_for(session_ttl))
