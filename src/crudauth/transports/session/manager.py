"""``SessionManager``: server-side sessions, CSRF tokens, device lists and cookies.

The manager is split by concept: ``records`` (reading and ending records), ``csrf``
(tokens), ``devices`` (per-user views and the cap) and ``cookies``. This module has
construction, creation, validation and the lifecycle calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from starlette.requests import Request

from crudauth.constants import (
    CSRF_TOKEN_BYTES,
    DEFAULT_ACTIVITY_INTERVAL_SECONDS,
    DEFAULT_CLEANUP_INTERVAL_MINUTES,
    DEFAULT_MAX_SESSIONS_PER_USER,
    DEFAULT_REMEMBER_ME_DAYS,
    DEFAULT_SESSION_TIMEOUT_MINUTES,
)
from crudauth.storage.base import AbstractSessionStorage
from crudauth.transports.session.constants import (
    CSRF_COOKIE_NAME,
    CSRF_TOKEN_ID_META_KEY,
    MAX_USER_AGENT_LENGTH,
    REASON_REPLACED,
    REASON_TIMEOUT,
    SESSION_COOKIE_NAME,
)
from crudauth.transports.session.cookies import SessionCookies
from crudauth.transports.session.csrf import CSRFTokens
from crudauth.transports.session.devices import SessionDevices
from crudauth.transports.session.keys import SessionKeys
from crudauth.transports.session.records import StoredSession
from crudauth.transports.session.schemas import SessionData
from crudauth.transports.session.useragent import parse_user_agent
from crudauth.utils.http import get_client_ip

__all__ = ["SessionManager"]


class SessionManager(SessionDevices, CSRFTokens, SessionCookies):
    """Create, validate and end server-side sessions and their CSRF tokens.

    Sessions are stored under an HMAC of the cookie value when ``key_secret`` is set
    (the session transport always passes ``SECRET_KEY``). ``activity_interval_seconds``
    bounds how often activity is written: a request within that interval of the last
    write costs one store read and no write, and the idle timeout is honoured to within
    the interval. ``0`` writes on every request.

    Sessions stored under one of ``previous_key_secrets`` are found on a miss and moved
    to the current key, so a rotation of ``SECRET_KEY`` signs nobody out.
    """

    def __init__(
        self,
        session_storage: AbstractSessionStorage[Any],
        *,
        csrf_storage: AbstractSessionStorage[Any] | None = None,
        max_sessions_per_user: int = DEFAULT_MAX_SESSIONS_PER_USER,
        session_timeout_minutes: int = DEFAULT_SESSION_TIMEOUT_MINUTES,
        remember_me_days: int = DEFAULT_REMEMBER_ME_DAYS,
        cleanup_interval_minutes: int = DEFAULT_CLEANUP_INTERVAL_MINUTES,
        csrf_token_bytes: int = CSRF_TOKEN_BYTES,
        lockout: Any = None,
        cookie_secure: bool = True,
        cookie_samesite: Literal["lax", "strict", "none"] = "lax",
        cookie_path: str = "/",
        session_cookie_name: str = SESSION_COOKIE_NAME,
        csrf_cookie_name: str = CSRF_COOKIE_NAME,
        trusted_proxy_hops: int = 0,
        key_secret: str | None = None,
        previous_key_secrets: Sequence[str] = (),
        absolute_timeout_hours: int | None = None,
        activity_interval_seconds: int = DEFAULT_ACTIVITY_INTERVAL_SECONDS,
    ) -> None:
        if max_sessions_per_user < 1:
            raise ValueError(
                f"max_sessions_per_user must be 1 or more, got {max_sessions_per_user}"
            )
        if activity_interval_seconds < 0:
            raise ValueError(
                f"activity_interval_seconds must be 0 or more, got {activity_interval_seconds}"
            )
        self.storage = session_storage
        self.csrf_storage = csrf_storage
        self.max_sessions = max_sessions_per_user
        self.session_timeout = timedelta(minutes=session_timeout_minutes)
        self.remember_me_timeout = timedelta(days=remember_me_days)
        self.cleanup_interval = timedelta(minutes=cleanup_interval_minutes)
        self.last_cleanup: datetime | None = None
        self.csrf_token_bytes = csrf_token_bytes
        self.lockout = lockout
        self.cookie_secure = cookie_secure
        self.cookie_samesite = cookie_samesite
        self.cookie_path = cookie_path
        self.session_cookie_name = session_cookie_name
        self.csrf_cookie_name = csrf_cookie_name
        self.trusted_proxy_hops = trusted_proxy_hops
        self.key_secret = key_secret
        self.absolute_timeout = (
            timedelta(hours=absolute_timeout_hours) if absolute_timeout_hours is not None else None
        )
        self.activity_interval = timedelta(seconds=activity_interval_seconds)
        self.keys = SessionKeys(key_secret, previous_key_secrets)

    async def create_session(
        self,
        request: Request,
        user_id: Any,
        metadata: dict[str, Any] | None = None,
        expiration_seconds: int | None = None,
        token_version: int | None = None,
    ) -> tuple[str, str]:
        """Create a session for ``user_id``; return the raw session id and CSRF token.

        A session cookie the request already carries is ended first, regardless of its
        owner. That stops session fixation and keeps a re-login in one browser from
        evicting another device. Then the per-user cap evicts the least recently active
        sessions. Pass the user's ``token_version`` so a later password change or reset
        ends this session; ``None`` leaves it unbound. When a store write fails,
        whatever was written is deleted and the store error is raised.
        """
        user_agent = request.headers.get("user-agent", "")[:MAX_USER_AGENT_LENGTH]
        device_info = parse_user_agent(user_agent).model_dump()
        ip_address = get_client_ip(request, self.trusted_proxy_hops)

        presented = request.cookies.get(self.session_cookie_name)
        if presented:
            await self.terminate_session(presented, reason=REASON_REPLACED)
        await self._enforce_session_cap(user_id)

        session_metadata = dict(metadata or {})
        ttl = expiration_seconds or self.timeout_seconds_for(session_metadata)
        session_id = self.storage.generate_session_id()
        session_key = self.keys.session_key(session_id)

        csrf_token = ""
        csrf_key: str | None = None
        if self.csrf_storage is not None:
            csrf_token, csrf_key = await self._issue_csrf_token(session_key, self.csrf_ttl_for(ttl))
            session_metadata[CSRF_TOKEN_ID_META_KEY] = csrf_key

        record = SessionData(
            user_id=user_id,
            session_id=session_key,
            ip_address=ip_address,
            user_agent=user_agent,
            device_info=device_info,
            metadata=session_metadata,
            token_version=token_version,
        )
        try:
            await self.storage.create(record, session_id=session_key, expiration=ttl)
        except Exception:
            # Never leave half a login behind: a CSRF token without its session.
            if csrf_key is not None:
                await self._discard_csrf_token(csrf_key)
            raise
        # Parallel logins all pass the check above before any writes, so the cap is
        # applied again once this session exists.
        await self._enforce_session_cap(user_id, keep=session_key)
        return session_id, csrf_token

    async def validate_session(
        self, session_id: str, update_activity: bool = True
    ) -> SessionData | None:
        """Return the live record of ``session_id``, or ``None``.

        An idle- or absolute-expired session is ended on read, with its CSRF token.
        With ``update_activity``, ``last_activity``, the store TTL and the CSRF token
        TTL slide together, but at most once per activity interval. Other requests
        cost exactly one store read. Store errors propagate: an unreachable store is
        never treated as "no session".
        """
        if not session_id:
            return None
        found = await self._find_session(session_id)
        if found is None:
            return None
        key, record = found

        now = self._now()
        reason = self._expiry_reason(record, now)
        if reason is not None:
            await self._end_session(key, record, reason)
            return None
        if not update_activity or now - record.last_activity < self.activity_interval:
            return record
        return await self._touch(key, record, now)

    async def _touch(self, key: str, record: SessionData, now: datetime) -> SessionData | None:
        window = self.timeout_seconds_for(record.metadata)

        def record_activity(stored: SessionData) -> None:
            stored.last_activity = now

        # modify writes only an existing key, so a session revoked meanwhile stays gone.
        updated: SessionData | None = await self.storage.modify(
            key, SessionData, record_activity, expiration=window
        )
        if updated is None:
            return None
        await self._slide_csrf_token(updated, window)
        return updated

    async def modify_session(
        self, session_id: str, change: Callable[[SessionData], None]
    ) -> SessionData | None:
        """Apply ``change`` atomically without moving the expiry; ``None`` if missing.

        ``change`` may run more than once and must only set values.
        """
        if not session_id:
            return None
        updated: SessionData | None = await self.storage.modify(
            self.keys.session_key(session_id), SessionData, change, reset_expiration=False
        )
        if updated is None and self.keys.previous_session_keys(session_id):
            # Stored under a retired secret: move it to the current key, then change it.
            found = await self._find_session(session_id)
            if found is not None:
                updated = await self.storage.modify(
                    found[0], SessionData, change, reset_expiration=False
                )
        return updated

    async def set_token_version(self, session_id: str, version: int) -> bool:
        """Rebind a live session to credential epoch ``version``; ``True`` if found."""

        def rebind(stored: SessionData) -> None:
            stored.token_version = version

        return await self.modify_session(session_id, rebind) is not None

    async def cleanup_expired_sessions(self, force: bool = False) -> int:
        """End idle- or absolute-expired sessions found by a key scan; return the count.

        Throttled to once per ``cleanup_interval`` unless ``force``. Only keys under the
        session store's prefix are scanned, so login-lockout counters are never touched.
        Stores without key scans make this a no-op.
        """
        now = self._now()
        if not force and self.last_cleanup is not None:
            if now - self.last_cleanup < self.cleanup_interval:
                return 0
        self.last_cleanup = now
        try:
            full_keys = await self.storage.scan_keys(f"{self.storage.prefix}*")
        except NotImplementedError:
            return 0
        prefix_length = len(self.storage.prefix)
        keys = [full_key[prefix_length:] for full_key in full_keys]
        if not keys:
            return 0
        records = await self.storage.get_many(keys, SessionData)
        expired: list[StoredSession] = [
            (key, record)
            for key, record in zip(keys, records, strict=True)
            if record is not None and self._expiry_reason(record, now) is not None
        ]
        ended = 0
        for key, record in expired:
            if await self._end_session(key, record, REASON_TIMEOUT):
                ended += 1
        return ended

    async def track_login_attempt(
        self, ip_address: str, username: str, success: bool = False
    ) -> tuple[bool, int | None, int]:
        """Record a login attempt with the lockout policy; allow all without one."""
        if self.lockout is None:
            return True, None, 0
        result: tuple[bool, int | None, int] = await self.lockout.check_and_record(
            ip_address, username, success=success
        )
        return result

    async def initialize(self) -> None:
        """Open the session and CSRF stores."""
        await self.storage.initialize()
        if self.csrf_storage is not None:
            await self.csrf_storage.initialize()

    async def shutdown(self) -> None:
        """Close the session and CSRF stores; both run and the first error is raised."""
        first_error: Exception | None = None
        for store in (self.storage, self.csrf_storage):
            if store is None:
                continue
            try:
                await store.close()
            except Exception as exc:  # the other store must still be closed
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
