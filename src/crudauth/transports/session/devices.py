"""Device lists, revocation and the per-user session cap."""

from __future__ import annotations

from typing import Any

from crudauth.transports.session.constants import (
    REASON_LIMIT,
    REASON_LOGOUT_ALL,
    REASON_USER_REVOKED,
    REASON_USER_REVOKED_ALL,
)
from crudauth.transports.session.keys import same_text
from crudauth.transports.session.records import SessionRecords, StoredSession

__all__ = ["SessionDevices"]


class SessionDevices(SessionRecords):
    """Device lists, revocation and the session cap: the per-user part of the manager.

    Each operation costs a fixed number of store round trips however many sessions the
    user has: read the user index, read all records in one batch, delete in one batch.
    Stores that cannot index by user make these no-ops that return empty results.
    Sessions whose idle or absolute timeout has passed are ended when found.

    Attributes:
        max_sessions: Live sessions allowed per user.
    """

    max_sessions: int

    async def list_for_user(
        self, user_id: Any, current_session_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return one row per live session of the user, marking the caller's as current.

        Args:
            user_id: The owner.
            current_session_id: The caller's raw session id, or ``None``.

        Returns:
            One dict per session with ``id`` (the public handle, never the cookie
            value), ``device``, ``ip``, ``created_at``, ``last_activity``,
            ``expires_at``, ``kind`` (always ``"session"``) and ``current``. An empty
            list when the store cannot index by user.

        Raises:
            StoreUnavailableError: A store did not respond.
        """
        sessions = await self._live_sessions(user_id)
        if not sessions:
            return []
        current_key = self.keys.session_key(current_session_id) if current_session_id else None
        return [
            {
                "id": self.keys.handle_for_key(key),
                "device": dict(record.device_info),
                "ip": record.ip_address,
                "created_at": record.created_at,
                "last_activity": record.last_activity,
                "expires_at": self.expires_at(record),
                "kind": "session",
                "current": current_key is not None and same_text(key, current_key),
            }
            for key, record in sessions
        ]

    async def revoke(self, session_id: str, owner_id: Any = None) -> bool:
        """End one session by its raw id, optionally only if ``owner_id`` owns it.

        A session still stored under a retired secret's key is found and ended too.

        Args:
            session_id: The raw session id.
            owner_id: The user who must own the session, compared as a string, so
                ``7`` and ``"7"`` match. ``None`` ends the session of any owner.

        Returns:
            ``True`` when the session was ended. A missing session and another user's
            session both give ``False``.

        Raises:
            StoreUnavailableError: A store did not respond.
        """
        if not session_id:
            return False
        # Retired keys are tried too, so a key rotation cannot make a revocation miss.
        found = await self._find_session(session_id)
        if found is None:
            return False
        key, record = found
        # Another user's session is left untouched and reported like a missing one.
        if owner_id is not None and str(record.user_id) != str(owner_id):
            return False
        return await self._end_session(key, record, REASON_USER_REVOKED)

    async def revoke_by_handle(self, handle: str, owner_id: Any) -> bool:
        """End the session of ``owner_id`` whose public handle is ``handle``.

        Only the owner's own sessions are searched, so a foreign, unknown or malformed
        handle all return ``False`` and cannot be used to probe other users' sessions.

        Args:
            handle: The public handle from ``list_for_user``.
            owner_id: The user whose sessions are searched.

        Returns:
            ``True`` when the session was ended.

        Raises:
            StoreUnavailableError: A store did not respond.
        """
        if not handle:
            return False
        sessions = await self._live_sessions(owner_id)
        for key, record in sessions or []:
            if same_text(self.keys.handle_for_key(key), handle):
                return await self._end_session(key, record, REASON_USER_REVOKED)
        return False

    async def revoke_all(self, user_id: Any, exclude: str | None = None) -> int:
        """Sign the user out everywhere except the raw session id ``exclude``.

        Works as ``terminate_all_user_sessions`` with the reason ``user_revoked_all``.

        Args:
            user_id: The owner.
            exclude: The raw session id to keep, usually the caller's, or ``None``.

        Returns:
            How many live sessions were ended.

        Raises:
            StoreUnavailableError: A store did not respond.
        """
        return await self.terminate_all_user_sessions(
            user_id, reason=REASON_USER_REVOKED_ALL, exclude=exclude
        )

    async def terminate_all_user_sessions(
        self, user_id: Any, reason: str = REASON_LOGOUT_ALL, exclude: str | None = None
    ) -> int:
        """End every session of the user except the raw session id ``exclude``.

        The records are removed and returned by the store in one call, which checks
        that each one belongs to the user, so nothing is read twice. Their CSRF tokens
        go in one more call. Sessions past their idle or absolute timeout are removed
        too, reported as timed out and not counted.

        Args:
            user_id: The owner.
            reason: The reason reported to the ended-session listener and the log.
            exclude: The raw session id to keep, or ``None``.

        Returns:
            How many live sessions were ended. ``0`` when the store cannot index by
            user.

        Raises:
            StoreUnavailableError: A store did not respond.
        """
        excluded_key = self.keys.session_key(exclude) if exclude else None
        return await self._take_all_sessions(user_id, reason, keep=excluded_key)

    async def _enforce_session_cap(self, user_id: Any, keep: str | None = None) -> None:
        """Evict least recently active sessions so the user's count fits the cap.

        Without ``keep`` the check runs before a write and leaves room for one more.
        With ``keep`` (the key just written) it runs after the write, spares that
        session and trims to the cap. Concurrent logins each pass the first check
        before any of them writes, so only the second one holds the cap under a race.
        """
        sessions = await self._live_sessions(user_id)
        allowed = self.max_sessions if keep is not None else self.max_sessions - 1
        if not sessions or len(sessions) <= allowed:
            return
        others = [stored for stored in sessions if keep is None or not same_text(stored[0], keep)]
        by_activity = sorted(others, key=lambda stored: stored[1].last_activity)
        victims: list[StoredSession] = by_activity[: len(sessions) - allowed]
        await self._end_sessions(victims, REASON_LIMIT, user_id=user_id)
