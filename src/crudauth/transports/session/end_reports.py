"""Reporting ended sessions: their CSRF tokens, the debug log and the listener."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.session.constants import CSRF_TOKEN_ID_META_KEY
from crudauth.transports.session.keys import SessionKeys
from crudauth.transports.session.schemas import SessionData

__all__ = ["EndedListener", "SessionEndReports"]

logger = logging.getLogger("crudauth.session")

# Called with (user_id, public handles, reason) once per operation that ended sessions.
EndedListener = Callable[[Any, list[str], str], Awaitable[None]]


class SessionEndReports:
    """The reports that follow ended sessions, shared by ``SessionManager``.

    A mixin without a constructor: ``SessionManager.__init__`` sets every field.

    Attributes:
        csrf_storage: The store of CSRF token records, or ``None`` without CSRF.
        keys: Derives storage keys and public handles from raw ids.
        ended_listener: Awaited with ``(user_id, handles, reason)`` once per owner
            and reason whenever sessions end. The facade sets it to write the
            security log.
    """

    csrf_storage: AbstractSessionStorage[Any] | None
    keys: SessionKeys
    # Set by the facade to write ended sessions to the security log.
    ended_listener: EndedListener | None = None

    async def _drop_csrf_tokens(self, sessions: Sequence[tuple[str, SessionData]]) -> None:
        """Delete the CSRF tokens of ended sessions in one batched call."""
        await self._drop_csrf_keys(
            [record.metadata.get(CSRF_TOKEN_ID_META_KEY) for _, record in sessions]
        )

    async def _drop_csrf_keys(self, csrf_keys: Sequence[object]) -> None:
        """Delete the CSRF tokens stored under these keys in one batched call.

        Keys that are empty or not text are skipped.
        """
        if self.csrf_storage is None:
            return
        doomed = [csrf_key for csrf_key in csrf_keys if isinstance(csrf_key, str) and csrf_key]
        if doomed:
            # The token dies with its session, so it cannot outlive a revocation.
            await self.csrf_storage.delete_many(doomed)

    async def _report_ended(self, sessions: Sequence[tuple[str, SessionData]], reason: str) -> None:
        """Report ended sessions once per owner, so a bulk ending costs one write."""
        # Maps the owner as text to the records' own user_id and their storage keys.
        by_owner: dict[str, tuple[Any, list[str]]] = {}
        for key, record in sessions:
            owner = str(record.user_id)
            entry = by_owner.get(owner)
            if entry is None:
                entry = by_owner[owner] = (record.user_id, [])
            entry[1].append(key)
        for user_id, keys in by_owner.values():
            await self._report_owner_ended(user_id, keys, reason)

    async def _report_owner_ended(self, user_id: Any, keys: Sequence[str], reason: str) -> None:
        """Log the ended sessions of one user and tell the listener in one call."""
        if not keys:
            return
        if logger.isEnabledFor(logging.DEBUG):
            for key in keys:
                self._log_ended(key, user_id, reason)
        listener = self.ended_listener
        if listener is not None:
            await listener(user_id, self.keys.handles_for_keys(keys), reason)

    def _log_ended(self, key: str, user_id: Any, reason: str) -> None:
        handle = self.keys.handle_for_key(key)
        logger.debug(
            "session ended reason=%s handle=%s user_id=%s",
            reason,
            handle,
            user_id,
            extra={
                "event": "session_ended",
                "reason": reason,
                "session_handle": handle,
                "user_id": user_id,
            },
        )
