"""Reading, expiring and ending stored sessions: the base of ``SessionManager``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from pydantic import BaseModel, Field, ValidationError

from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.session.constants import (
    CSRF_TOKEN_ID_META_KEY,
    REASON_MANUAL,
    REASON_TIMEOUT,
    REMEMBER_ME_META_KEY,
)
from crudauth.transports.session.end_reports import SessionEndReports
from crudauth.transports.session.keys import SessionKeys
from crudauth.transports.session.schemas import CSRFToken, SessionData
from crudauth.transports.session.summaries import (
    SessionSummary,
    epoch_microseconds,
    expiry_reason,
    parse_session_summaries,
    session_summary,
)
from crudauth.utils.key_rotation import find_and_migrate

__all__ = ["SessionRecords"]

logger = logging.getLogger("crudauth.session")

# A stored session paired with the storage key it lives under.
StoredSession = tuple[str, SessionData]


class ExpiryCutoffs(NamedTuple):
    """Times before which a session counts as expired, computed for one moment.

    Attributes:
        idle: Last activity before this ends a session without remember-me.
        remembered: Last activity before this ends a remember-me session.
        created: Sign-in before this ends any session; ``None`` without an absolute
            timeout.
    """

    idle: datetime
    remembered: datetime
    created: datetime | None


class EndedRecord(BaseModel):
    """The fields of a stored session that ending it needs; the others go unparsed.

    A bulk sign-out reads the sessions that its store listed without a summary
    (written before the store kept summaries) into this model, and the device fields
    dominate a full parse.

    Attributes:
        user_id: Primary key of the session's user.
        created_at: Sign-in time (UTC).
        last_activity: Time of the latest recorded activity (UTC).
        metadata: The session's metadata, which names its CSRF token.
    """

    user_id: Any
    created_at: datetime
    last_activity: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)

    def index_summary(self) -> str:
        """Return the fields that ending the session needs, as ``SessionData`` does."""
        return session_summary(self.created_at, self.last_activity, self.metadata)


class SessionRecords(SessionEndReports):
    """Reading, expiring and ending session records, shared by ``SessionManager``.

    A mixin without a constructor: ``SessionManager.__init__`` sets every field.

    Attributes:
        storage: The store of session records.
        csrf_storage: The store of CSRF token records, or ``None`` without CSRF.
        session_timeout: Idle timeout of a session.
        remember_me_timeout: Idle timeout of a remember-me session.
        absolute_timeout: Lifetime from sign-in, or ``None`` for no limit.
        activity_interval: Minimum time between two activity writes of one session.
        keys: Derives storage keys and public handles from raw ids.
    """

    storage: AbstractSessionStorage[Any]
    csrf_storage: AbstractSessionStorage[Any] | None
    session_timeout: timedelta
    remember_me_timeout: timedelta
    absolute_timeout: timedelta | None
    activity_interval: timedelta
    keys: SessionKeys

    def _now(self) -> datetime:
        """Return the current UTC time; tests override this to move the clock."""
        return datetime.now(timezone.utc)

    def timeout_seconds_for(self, metadata: dict[str, Any] | None) -> int:
        """Return the idle timeout in seconds for a session's metadata.

        Args:
            metadata: The session's metadata, or ``None``.

        Returns:
            The remember-me timeout when ``metadata`` has a true ``remember_me``,
            else the session timeout.
        """
        if metadata and metadata.get(REMEMBER_ME_META_KEY):
            return int(self.remember_me_timeout.total_seconds())
        return int(self.session_timeout.total_seconds())

    def csrf_ttl_for(self, session_ttl: int) -> int:
        """Return the CSRF record TTL for a session TTL.

        Activity slides the session and its CSRF token in two writes at most once per
        activity interval, so the token gets that interval as slack and never expires
        under a live session.

        Args:
            session_ttl: The session record's TTL in seconds.

        Returns:
            ``session_ttl`` plus the activity interval, in seconds.
        """
        return session_ttl + int(self.activity_interval.total_seconds())

    def session_handle(self, session_id: str) -> str:
        """Return the public handle of a raw session id, safe for UIs and audit logs.

        The handle identifies the session but cannot be presented as its cookie.

        Args:
            session_id: The raw session id.

        Returns:
            The handle shown as ``id`` in ``list_for_user``.
        """
        return self.keys.handle(session_id)

    async def get_session(self, session_id: str) -> SessionData | None:
        """Read a session record without recording activity or checking timeouts.

        A record stored under a retired secret's key is moved to the current key.

        Args:
            session_id: The raw session id.

        Returns:
            The record, or ``None`` when the id is empty or no record is stored.

        Raises:
            StoreUnavailableError: The session store did not respond.
        """
        if not session_id:
            return None
        found = await self._find_session(session_id)
        return found[1] if found is not None else None

    async def terminate_session(self, session_id: str, reason: str = REASON_MANUAL) -> bool:
        """Delete a session and its CSRF token.

        Args:
            session_id: The raw session id.
            reason: The reason reported to the ended-session listener and the log.

        Returns:
            Whether a live record was deleted.

        Raises:
            StoreUnavailableError: A store did not respond.
        """
        if not session_id:
            return False
        found = await self._find_session(session_id)
        if found is None:
            return False
        key, record = found
        return await self._end_session(key, record, reason)

    async def _find_session(self, session_id: str) -> StoredSession | None:
        """Return the storage key and record of a raw session id, or ``None``.

        One read when the session is stored under the current secret's key. Only on a
        miss are the keys under retired secrets tried, and a session found there is
        moved to the current key, so a key rotation signs nobody out.
        """
        key = self.keys.session_key(session_id)
        record = await self._read_record(key)
        if record is not None:
            return key, record
        previous = self.keys.previous_session_keys(session_id)
        if not previous:
            return None
        return await find_and_migrate(
            self.storage,
            SessionData,
            key,
            previous,
            expiration=lambda stored: self.timeout_seconds_for(stored.metadata),
            rewrite=_point_at_key,
            after_move=self._move_csrf_binding,
        )

    async def _move_csrf_binding(self, old_key: str, new_key: str, record: SessionData) -> None:
        """Bind the session's CSRF token record to the session's new storage key."""
        csrf_key = record.metadata.get(CSRF_TOKEN_ID_META_KEY)
        if self.csrf_storage is None or not isinstance(csrf_key, str) or not csrf_key:
            return

        def rebind(token: CSRFToken) -> None:
            token.session_id = new_key

        await self.csrf_storage.modify(csrf_key, CSRFToken, rebind, reset_expiration=False)

    def _cutoffs(self, now: datetime) -> ExpiryCutoffs:
        """Return the times before which a session counts as expired at ``now``."""
        return ExpiryCutoffs(
            idle=now - self.session_timeout,
            remembered=now - self.remember_me_timeout,
            created=None if self.absolute_timeout is None else now - self.absolute_timeout,
        )

    def _expiry_reason(self, record: SessionData, now: datetime) -> str | None:
        """Return why ``record`` is invalid at ``now``, or ``None`` while it is live."""
        return self._expiry_reason_for(record, self._cutoffs(now))

    @staticmethod
    def _expiry_reason_for(record: SessionData, cutoffs: ExpiryCutoffs) -> str | None:
        """Return why ``record`` is invalid under ``cutoffs``, or ``None`` while live.

        Bulk operations compute the cut-offs once and check hundreds of records.
        """
        # The same window as timeout_seconds_for. Checked on read as well, so stores
        # without TTL support still expire sessions.
        return expiry_reason(
            record.last_activity,
            record.created_at,
            bool(record.metadata.get(REMEMBER_ME_META_KEY)),
            idle_cutoff=cutoffs.idle,
            remembered_cutoff=cutoffs.remembered,
            created_cutoff=cutoffs.created,
        )

    def expires_at(self, record: SessionData) -> datetime:
        """Return when a session ends unless activity slides its idle window first.

        Args:
            record: The session record.

        Returns:
            The end of the idle window, or the end of the absolute lifetime when that
            comes first.
        """
        if record.metadata.get(REMEMBER_ME_META_KEY):
            idle_end = record.last_activity + self.remember_me_timeout
        else:
            idle_end = record.last_activity + self.session_timeout
        if self.absolute_timeout is None:
            return idle_end
        return min(idle_end, record.created_at + self.absolute_timeout)

    async def _end_session(self, key: str, record: SessionData, reason: str) -> bool:
        deleted = await self.storage.delete(key, user_id=record.user_id)
        await self._drop_csrf_tokens([(key, record)])
        if deleted:
            await self._report_owner_ended(record.user_id, [key], reason)
        return deleted

    async def _end_sessions(
        self, sessions: list[StoredSession], reason: str, user_id: Any = None
    ) -> int:
        """End sessions in two batched store calls; return how many were deleted."""
        if not sessions:
            return 0
        deleted = await self.storage.delete_many([key for key, _ in sessions], user_id=user_id)
        await self._drop_csrf_tokens(sessions)
        await self._report_ended(sessions, reason)
        return deleted

    async def _take_all_sessions(self, user_id: Any, reason: str, keep: str | None) -> int:
        """End every session of the user but the storage key ``keep``; count live ones.

        The store removes the sessions and returns their index summaries in one call
        (one round trip on Redis) without reading the records, and their CSRF tokens
        go in one more. Sessions that had already expired are reported as timed out
        and not counted.
        """
        try:
            taken = await self.storage.take_user_summaries(
                user_id, EndedRecord, keep=[keep] if keep else ()
            )
        except NotImplementedError:
            return 0
        if not taken:
            return 0
        keys = [key for key, _ in taken]
        summaries = parse_session_summaries([summary for _, summary in taken])
        live, expired = self._split_expired(keys, summaries)
        await self._drop_csrf_keys(
            [summary.csrf_key for summary in summaries if summary is not None]
        )
        await self._report_owner_ended(user_id, expired, REASON_TIMEOUT)
        await self._report_owner_ended(user_id, live, reason)
        return len(live)

    def _split_expired(
        self, keys: Sequence[str], summaries: Sequence[SessionSummary | None]
    ) -> tuple[list[str], list[str]]:
        """Split the keys of taken sessions into live and expired ones as of now.

        A session whose summary could not be read counts as live: it has ended now.
        """
        cutoffs = self._cutoffs(self._now())
        idle_cutoff = epoch_microseconds(cutoffs.idle)
        remembered_cutoff = epoch_microseconds(cutoffs.remembered)
        created_cutoff = None if cutoffs.created is None else epoch_microseconds(cutoffs.created)
        live: list[str] = []
        expired: list[str] = []
        for key, summary in zip(keys, summaries, strict=True):
            if summary is None:
                self._log_unreadable(key)
                live.append(key)
                continue
            reason = expiry_reason(
                summary.last_activity,
                summary.created_at,
                summary.remembered,
                idle_cutoff=idle_cutoff,
                remembered_cutoff=remembered_cutoff,
                created_cutoff=created_cutoff,
            )
            if reason is None:
                live.append(key)
            else:
                expired.append(key)
        return live, expired

    async def _read_records(self, keys: Sequence[str]) -> list[SessionData | None]:
        """Read records in one batched call, as ``_read_record`` reads one.

        Only when a record in the batch does not validate is each one read alone.
        """
        try:
            return await self.storage.get_many(keys, SessionData)
        except ValidationError:
            pass
        return [await self._read_record(key) for key in keys]

    async def _read_record(self, key: str) -> SessionData | None:
        """Read one record; delete one that does not validate and return ``None``."""
        try:
            record: SessionData | None = await self.storage.get(key, SessionData)
        except ValidationError:
            # It can never authenticate, and left stored it would fail every sign-in
            # and device list of its user with a 500.
            await self.storage.delete(key)
            self._log_unreadable(key)
            return None
        return record

    def _log_unreadable(self, key: str) -> None:
        handle = self.keys.handle_for_key(key)
        # Its CSRF token, if any, stays until its TTL, bound to a session that is gone.
        logger.warning(
            "ended a session whose stored summary or record is unreadable handle=%s",
            handle,
            extra={"event": "session_unreadable", "session_handle": handle},
        )

    async def _live_sessions(self, user_id: Any) -> list[StoredSession] | None:
        """Return the user's live sessions; ``None`` when the store has no user index.

        Costs two round trips (index, then one batched read) however many sessions the
        user has. Index entries whose record is gone are pruned in one batch, and idle-
        or absolute-expired records are ended in one batch.
        """
        try:
            keys = await self.storage.get_user_sessions(user_id)
        except NotImplementedError:
            return None
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        records = await self._read_records(keys)

        owner = str(user_id)
        cutoffs = self._cutoffs(self._now())
        live: list[StoredSession] = []
        expired: list[StoredSession] = []
        vanished: list[str] = []
        for key, record in zip(keys, records, strict=True):
            if record is None:
                vanished.append(key)
                continue
            # A stale or corrupted index entry must never expose another user's session.
            if str(record.user_id) != owner:
                continue
            if self._expiry_reason_for(record, cutoffs) is not None:
                expired.append((key, record))
            else:
                live.append((key, record))

        if vanished:
            # One batched call unlists every entry whose record expired, so the index
            # never keeps a dead session and pruning costs one round trip.
            await self.storage.delete_many(vanished, user_id=user_id)
        await self._end_sessions(expired, REASON_TIMEOUT, user_id=user_id)
        return live


def _point_at_key(record: SessionData, key: str) -> None:
    record.session_id = key
