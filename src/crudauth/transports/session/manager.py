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

    ``SessionTransport`` builds the manager from its own settings and exposes it as
    ``auth.sessions``. Store failures propagate as ``StoreUnavailableError`` from every
    method that reads or writes a store.

    Args:
        session_storage: The store of session records.
        csrf_storage: The store of CSRF token records. ``None`` turns CSRF tokens off,
            and ``create_session`` then returns an empty token.
        max_sessions_per_user: Live sessions allowed per user. A new sign-in ends the
            least recently active sessions beyond it.
        session_timeout_minutes: Idle timeout of a session.
        remember_me_days: Idle timeout of a session whose metadata sets
            ``remember_me``.
        cleanup_interval_minutes: Minimum time between two unforced runs of
            ``cleanup_expired_sessions``.
        csrf_token_bytes: Random bytes in a CSRF token, which is sent as their hex
            form.
        lockout: The login lockout, an object with ``check_and_record`` such as
            ``LockoutPolicy``, used by ``track_login_attempt``. ``None`` allows every
            attempt.
        cookie_secure: Set the ``Secure`` attribute on both cookies.
        cookie_samesite: The ``SameSite`` attribute of both cookies.
        cookie_path: The ``Path`` attribute of both cookies.
        session_cookie_name: Name of the session cookie.
        csrf_cookie_name: Name of the CSRF cookie.
        trusted_proxy_hops: Reverse proxies in front of the app that append to
            ``X-Forwarded-For``, used to record the client IP at sign-in. ``0`` trusts
            no forwarding header.
        key_secret: Secret whose HMAC turns cookie values and CSRF tokens into
            storage keys. ``None`` stores them under the raw values.
        previous_key_secrets: Retired secrets whose keys are still found and moved.
        absolute_timeout_hours: Lifetime of a session from sign-in, however active.
            ``None`` sets no limit.
        activity_interval_seconds: Minimum time between two activity writes of one
            session. ``0`` writes on every request.

    Raises:
        ValueError: ``max_sessions_per_user`` is below 1 or
            ``activity_interval_seconds`` is negative.
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
        """Create a session for ``user_id`` and its CSRF token.

        A session cookie the request already carries is ended first, regardless of its
        owner. That stops session fixation and keeps a re-login in one browser from
        evicting another device. Then the per-user cap evicts the least recently active
        sessions, before the write and again after it. When the session write fails,
        the CSRF token written for it is deleted and the store error is raised. The
        caller sets the cookies (``set_session_cookies``).

        Args:
            request: The sign-in request. Its User-Agent header, client IP and any
                session cookie it carries are read.
            user_id: Primary key of the user.
            metadata: Values stored with the session, copied. A true ``remember_me``
                selects the remember-me idle timeout.
            expiration_seconds: Store TTL of the record and, with the activity
                interval added, of its CSRF token. ``None`` or ``0`` uses the idle
                timeout. The idle and absolute timeouts are still checked on every
                read.
            token_version: The user's credential epoch, so a later password change or
                reset ends this session. ``None`` leaves the session unbound.

        Returns:
            ``(session_id, csrf_token)``: the raw session id for the cookie and the
            raw CSRF token, which is ``""`` without a CSRF store.

        Raises:
            StoreUnavailableError: A store did not respond.
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
        """Return the live record of a raw session id, sliding its activity.

        An idle- or absolute-expired session is ended on read, with its CSRF token.
        With ``update_activity``, ``last_activity``, the store TTL and the CSRF token
        TTL slide together, but at most once per activity interval. Other requests
        cost exactly one store read. On Redis, a request past the interval costs five
        round trips: the read, WATCH, GET and MULTI of the write, and the CSRF TTL.

        Args:
            session_id: The raw session id from the cookie.
            update_activity: Record this request as activity.

        Returns:
            The record, or ``None`` when the id is empty, unknown, expired, or ended
            by a concurrent request while its activity was written.

        Raises:
            StoreUnavailableError: The session store did not respond. An unreachable
                store is never treated as "no session".
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
        """Apply ``change`` to a stored session atomically, keeping its expiry.

        A session stored under a retired secret's key is moved to the current key
        first.

        Args:
            session_id: The raw session id.
            change: Mutates the record in place. It may run more than once and must
                only set values.

        Returns:
            The changed record, or ``None`` when the session is missing.

        Raises:
            StoreUnavailableError: The session store did not respond.
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
        """Bind a stored session to the credential epoch ``version``.

        Args:
            session_id: The raw session id.
            version: The user's new ``token_version``.

        Returns:
            ``True`` when the session was found and changed.

        Raises:
            StoreUnavailableError: The session store did not respond.
        """

        def rebind(stored: SessionData) -> None:
            stored.token_version = version

        return await self.modify_session(session_id, rebind) is not None

    async def cleanup_expired_sessions(self, force: bool = False) -> int:
        """End the idle- or absolute-expired sessions that a key scan finds.

        Throttled to once per ``cleanup_interval`` unless ``force``. Only keys under the
        session store's prefix are scanned, so login-lockout counters are never touched.
        The records are read in one batch and ended one by one. Stores without key
        scans make this a no-op.

        Args:
            force: Run even when the previous run is more recent than the interval.

        Returns:
            How many sessions were ended. ``0`` when the run was skipped.

        Raises:
            StoreUnavailableError: A store did not respond.
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
        records = await self._read_records(keys)
        cutoffs = self._cutoffs(now)
        expired: list[StoredSession] = [
            (key, record)
            for key, record in zip(keys, records, strict=True)
            if record is not None and self._expiry_reason_for(record, cutoffs) is not None
        ]
        ended = 0
        for key, record in expired:
            if await self._end_session(key, record, REASON_TIMEOUT):
                ended += 1
        return ended

    async def track_login_attempt(
        self, ip_address: str, username: str, success: bool = False
    ) -> tuple[bool, int | None, int]:
        """Record a login attempt with the lockout policy, allowing all without one.

        Args:
            ip_address: The client address.
            username: The login identifier as typed.
            success: Record a successful login, so the policy clears its counts as
                configured.

        Returns:
            ``(allowed, remaining, retry_after)`` from the policy's
            ``check_and_record``, or ``(True, None, 0)`` without a policy.

        Raises:
            StoreUnavailableError: The lockout store did not respond and the policy
                fails closed.
        """
        if self.lockout is None:
            return True, None, 0
        result: tuple[bool, int | None, int] = await self.lockout.check_and_record(
            ip_address, username, success=success
        )
        return result

    async def initialize(self) -> None:
        """Prepare the session and CSRF stores with their ``initialize``.

        Raises:
            StoreUnavailableError: A store did not respond.
            RuntimeError: A Redis store's server is older than Redis 7.0.
        """
        await self.storage.initialize()
        if self.csrf_storage is not None:
            await self.csrf_storage.initialize()

    async def shutdown(self) -> None:
        """Close the session and CSRF stores.

        Both are closed even when the first one fails.

        Raises:
            Exception: The first error a store raised while closing.
        """
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
