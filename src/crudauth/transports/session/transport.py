"""``SessionTransport``: cookie sessions with server-side state and CSRF tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crudauth.constants import (
    DEFAULT_ACTIVITY_INTERVAL_SECONDS,
    DEFAULT_CLEANUP_INTERVAL_MINUTES,
    DEFAULT_MAX_SESSIONS_PER_USER,
    DEFAULT_REMEMBER_ME_DAYS,
    DEFAULT_SESSION_TIMEOUT_MINUTES,
    SECONDS_PER_MINUTE,
)
from crudauth.core import AuthRuntime, CookieConfig
from crudauth.hooks import HookContext
from crudauth.transports.session.authentication import SessionAuthentication
from crudauth.transports.session.constants import (
    CSRF_COOKIE_NAME,
    CSRF_STORAGE_PREFIX,
    LOGIN_TYPE_META_KEY,
    REASON_LOGOUT,
    REMEMBER_ME_META_KEY,
    SAMESITE_NONE_REJECTED,
    SESSION_COOKIE_NAME,
    SESSION_STORAGE_PREFIX,
    TRANSPORT_NAME,
)
from crudauth.transports.session.manager import SessionManager
from crudauth.transports.session.stores import build_session_stores, validate_store_options
from crudauth.utils.http import get_client_ip

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.ratelimit import LockoutConfig

__all__ = ["SessionTransport"]


class SessionTransport(SessionAuthentication):
    """Authenticate browsers with an HttpOnly session cookie and a CSRF header.

    The session lives in a server-side store and the cookie carries only its random
    id. While CSRF is on, every request with a method other than GET, HEAD, OPTIONS
    and TRACE must send the session's CSRF token in the ``X-CSRF-Token`` header. All
    arguments are keyword-only. The stores are chosen in ``bind``: see
    ``build_session_stores``.

    Args:
        backend: ``"memory"``, ``"redis"`` or ``"database"``. ``None`` uses the
            transport's or the app's Redis client, else the app's ``database_store``,
            else memory.
        redis_url: URL of a Redis server for this transport's own client, which
            ``shutdown`` closes.
        redis_client: A Redis client owned by the app.
        csrf: Issue CSRF tokens and check the header. ``False`` turns both off.
        max_sessions_per_user: Live sessions allowed per user. A new sign-in ends the
            least recently active sessions beyond it.
        session_timeout_minutes: Idle timeout of a session.
        absolute_timeout_hours: Lifetime of a session from sign-in, however active.
            ``None`` sets no limit.
        remember_me_days: Idle timeout of a session signed in with ``remember_me``.
        cleanup_interval_minutes: Minimum time between two unforced
            ``SessionManager.cleanup_expired_sessions`` runs.
        cookies: Cookie policy of this transport. Defaults to the app-wide one.
        cookie_name: Name of the session cookie.
        csrf_cookie_name: Name of the CSRF cookie, which page scripts read.
        storage_prefix: Key prefix of the sessions in the store.
        csrf_storage_prefix: Key prefix of the CSRF tokens in the store.
        storage: A custom session store, which replaces ``backend``, ``redis_url`` and
            ``redis_client``.
        csrf_storage: A custom CSRF token store, required with ``storage`` while
            ``csrf`` is on.
        login_max_attempts: ``LockoutConfig.max_attempts`` of the shared login lockout.
        login_attempt_window_seconds: ``LockoutConfig.attempt_window_seconds``.
        login_lockout_base_seconds: ``LockoutConfig.lockout_base_seconds``.
        login_lockout_max_seconds: ``LockoutConfig.lockout_max_seconds``.
        on_login_success: ``LockoutConfig.on_login_success``. When any ``login_*``
            argument or this one is given, the lockout settings are exposed as
            ``lockout``, and ``CRUDAuth(lockout=...)`` must then be left out.
        management_routes: Add ``GET /sessions``, ``DELETE /sessions/{handle}``,
            ``POST /logout-all``, ``GET /security-events`` and ``POST /csrf/refresh``
            to ``auth.router``.
        activity_interval_seconds: Minimum time between two writes of a session's
            activity. ``0`` writes on every request.

    Raises:
        ValueError: The two cookie names or the two storage prefixes are equal,
            ``activity_interval_seconds`` is negative, the store arguments conflict,
            or a lockout setting is invalid.

    Example:
        ```python
        auth = CRUDAuth(
            session=get_db,
            user_model=User,
            SECRET_KEY=settings.secret_key,
            transports=[SessionTransport(backend="redis", management_routes=True)],
            redis_url="redis://localhost:6379/0",
        )
        ```
    """

    name = TRANSPORT_NAME
    defers_database = True

    def __init__(
        self,
        *,
        backend: str | None = None,
        redis_url: str | None = None,
        redis_client: Any = None,
        csrf: bool = True,
        max_sessions_per_user: int = DEFAULT_MAX_SESSIONS_PER_USER,
        session_timeout_minutes: int = DEFAULT_SESSION_TIMEOUT_MINUTES,
        absolute_timeout_hours: int | None = None,
        remember_me_days: int = DEFAULT_REMEMBER_ME_DAYS,
        cleanup_interval_minutes: int = DEFAULT_CLEANUP_INTERVAL_MINUTES,
        cookies: CookieConfig | None = None,
        cookie_name: str = SESSION_COOKIE_NAME,
        csrf_cookie_name: str = CSRF_COOKIE_NAME,
        storage_prefix: str = SESSION_STORAGE_PREFIX,
        csrf_storage_prefix: str = CSRF_STORAGE_PREFIX,
        storage: Any = None,
        csrf_storage: Any = None,
        login_max_attempts: int | None = None,
        login_attempt_window_seconds: int | None = None,
        login_lockout_base_seconds: int | None = None,
        login_lockout_max_seconds: int | None = None,
        on_login_success: str | None = None,
        management_routes: bool = False,
        activity_interval_seconds: int = DEFAULT_ACTIVITY_INTERVAL_SECONDS,
    ) -> None:
        if cookie_name == csrf_cookie_name:
            raise ValueError(
                f"cookie_name and csrf_cookie_name must differ, both are {cookie_name!r}"
            )
        if storage_prefix == csrf_storage_prefix:
            raise ValueError(
                f"storage_prefix and csrf_storage_prefix must differ, both are {storage_prefix!r}"
            )
        if activity_interval_seconds < 0:
            raise ValueError(
                f"activity_interval_seconds must be 0 or more, got {activity_interval_seconds}"
            )
        self.backend = validate_store_options(
            backend=backend,
            redis_url=redis_url,
            redis_client=redis_client,
            storage=storage,
            csrf_storage=csrf_storage,
            csrf=csrf,
            storage_prefix=storage_prefix,
        )
        self.redis_url = redis_url
        self.redis_client = redis_client
        self.csrf_enabled = csrf
        self.max_sessions_per_user = max_sessions_per_user
        self.session_timeout_minutes = session_timeout_minutes
        self.absolute_timeout_hours = absolute_timeout_hours
        self.remember_me_days = remember_me_days
        self.cleanup_interval_minutes = cleanup_interval_minutes
        self.cookie_name = cookie_name
        self.csrf_cookie_name = csrf_cookie_name
        self.storage_prefix = storage_prefix
        self.csrf_storage_prefix = csrf_storage_prefix
        self.management_routes = management_routes
        self.activity_interval_seconds = activity_interval_seconds
        self.lockout: LockoutConfig | None = _lockout_config(
            max_attempts=login_max_attempts,
            attempt_window_seconds=login_attempt_window_seconds,
            lockout_base_seconds=login_lockout_base_seconds,
            lockout_max_seconds=login_lockout_max_seconds,
            on_login_success=on_login_success,
        )
        self.manager: SessionManager | None = None
        self._cookie_override = cookies
        self._storage = storage
        self._csrf_storage = csrf_storage
        self._owned_redis_client: Any = None

    # -- binding and lifecycle -------------------------------------------------------

    def bind(self, runtime: AuthRuntime) -> None:
        """Receive the facade's state, choose the stores and build the manager.

        Args:
            runtime: The facade's shared state.

        Raises:
            ValueError: The cookie policy has ``samesite="none"``,
                ``backend="database"`` is set without ``CRUDAuth(database_store=...)``,
                or ``max_sessions_per_user`` is below 1.
        """
        super().bind(runtime)
        policy = self.cookie_config()
        # The CSRF check trusts SameSite as its second layer; None would remove it.
        if policy.samesite == "none":
            raise ValueError(SAMESITE_NONE_REJECTED)

        stores = build_session_stores(
            runtime,
            backend=self.backend,
            redis_url=self.redis_url,
            redis_client=self.redis_client,
            storage=self._storage,
            csrf_storage=self._csrf_storage,
            csrf=self.csrf_enabled,
            storage_prefix=self.storage_prefix,
            csrf_storage_prefix=self.csrf_storage_prefix,
            ttl_seconds=self.session_timeout_minutes * SECONDS_PER_MINUTE,
        )
        self.backend = stores.backend
        self._owned_redis_client = stores.owned_client
        self.manager = SessionManager(
            stores.sessions,
            csrf_storage=stores.csrf,
            max_sessions_per_user=self.max_sessions_per_user,
            session_timeout_minutes=self.session_timeout_minutes,
            remember_me_days=self.remember_me_days,
            cleanup_interval_minutes=self.cleanup_interval_minutes,
            lockout=runtime.lockout,
            cookie_secure=policy.secure,
            cookie_samesite=policy.samesite,
            cookie_path=policy.path,
            session_cookie_name=self.cookie_name,
            csrf_cookie_name=self.csrf_cookie_name,
            trusted_proxy_hops=runtime.trusted_proxy_hops,
            key_secret=runtime.secret_key,
            previous_key_secrets=runtime.previous_secret_keys,
            absolute_timeout_hours=self.absolute_timeout_hours,
            activity_interval_seconds=self.activity_interval_seconds,
        )

    @property
    def owned_redis_client(self) -> Any:
        """The Redis client this transport built from its own ``redis_url``, if any."""
        return self._owned_redis_client

    async def initialize(self) -> None:
        """Open the session and CSRF stores."""
        await self._bound_manager().initialize()

    async def shutdown(self) -> None:
        """Close the stores and the Redis client built from ``redis_url``, if any.

        The client is closed even when a store fails, and the first error is raised.
        """
        first_error: Exception | None = None
        if self.manager is not None:
            try:
                await self.manager.shutdown()
            except Exception as exc:  # the owned client must still be closed
                first_error = exc
        client, self._owned_redis_client = self._owned_redis_client, None
        if client is not None:
            try:
                await client.aclose()
            except Exception as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error

    # -- login and logout --------------------------------------------------------------

    @property
    def sets_cookies(self) -> bool:
        """Always ``True``: a session login sets the session and CSRF cookies."""
        return True

    async def complete_login(
        self, request: Request, response: Response, user: Any, options: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a session for a fully verified ``user``, set cookies, fire the hook.

        The sign-in is also written to the security log, when built, before
        ``on_after_login`` fires.

        Args:
            request: The login request.
            response: The response that gets the session and CSRF cookies.
            user: The verified user row.
            options: ``remember_me`` (bool) switches to the remember-me idle window
                and gives both cookies a ``Max-Age``. ``metadata`` (dict) adds session
                metadata such as ``login_type``.

        Returns:
            The body ``{"id", "username", "csrf_token"}``, where ``csrf_token`` is
            ``""`` while CSRF is off.
        """
        manager = self._bound_manager()
        repo = self.runtime.repo
        metadata = dict(options.get("metadata") or {})
        remember_me = bool(options.get("remember_me"))
        if remember_me:
            metadata[REMEMBER_ME_META_KEY] = True

        user_id = repo.user_id(user)
        session_id, csrf_token = await manager.create_session(
            request, user_id, metadata=metadata, token_version=repo.token_version(user)
        )
        max_age = manager.timeout_seconds_for(metadata) if remember_me else None
        manager.set_session_cookies(response, session_id, csrf_token, max_age=max_age)

        context = self._hook_context(
            request,
            transport=str(metadata.get(LOGIN_TYPE_META_KEY) or self.name),
            session_handle=manager.session_handle(session_id),
        )
        security_log = self.runtime.security_log
        if security_log is not None:
            await security_log.record_sign_in(user, request=request, transport=self.name)
        await self.runtime.hooks.fire(
            "on_after_login", repo.to_dict(user), request=request, context=context
        )
        return {"id": user_id, "username": repo.get(user, "username"), "csrf_token": csrf_token}

    async def complete_logout(self, request: Request, response: Response, db: AsyncSession) -> bool:
        """End the request's live session and expire every transport's cookies.

        An unknown or expired session only has its cookies cleared. A credential of
        another transport that the request carries, such as a bearer token family,
        ends too. When a session ends and its user still exists, ``on_after_logout``
        fires.

        Args:
            request: The logout request.
            response: The response whose cookies are expired.
            db: Database session used to load the user for the hook.

        Returns:
            Whether a session was ended.

        Raises:
            CSRFException: The session is live and the CSRF header is missing or
                invalid. The session and the cookies are then left as they are.
            StoreUnavailableError: The session store is unreachable.
        """
        manager = self._bound_manager()
        session_id = request.cookies.get(self.cookie_name)
        ended = False
        user: Any = None
        handle: str | None = None
        if session_id:
            record = await manager.validate_session(session_id, update_activity=False)
            if record is not None:
                # Without this, any site could sign a visitor out with a forged form.
                await self.enforce_csrf(request, session_id, session=record)
                user = await self.runtime.repo.get_by_id(db, record.user_id)
                handle = manager.session_handle(session_id)
                ended = await manager.terminate_session(session_id, reason=REASON_LOGOUT)

        for transport in self.runtime.transports:
            if transport is not self:
                # A copied refresh cookie or token must not outlive the logout that
                # clears this browser's copy.
                await transport.end_request_credential(request)
        self.runtime.clear_cookies(response)
        if ended and user is not None:
            context = self._hook_context(request, transport=self.name, session_handle=handle)
            await self.runtime.hooks.fire(
                "on_after_logout", self.runtime.repo.to_dict(user), request=request, context=context
            )
        return ended

    def clear_cookies(self, response: Response) -> None:
        """Expire the session and CSRF cookies."""
        self._bound_manager().clear_session_cookies(response)

    def contributes_routes(self) -> APIRouter | None:
        """Return ``/login`` and ``/logout`` for this transport."""
        from crudauth.transports.session.routes import build_session_routes

        return build_session_routes(self)

    def _hook_context(
        self, request: Request, *, transport: str, session_handle: str | None
    ) -> HookContext:
        return HookContext(
            ip_address=get_client_ip(request, self.runtime.trusted_proxy_hops),
            user_agent=request.headers.get("user-agent"),
            transport=transport,
            request=request,
            session_handle=session_handle,
        )


def _lockout_config(**overrides: Any) -> LockoutConfig | None:
    """Build a ``LockoutConfig`` from the ``login_*`` overrides, or ``None``."""
    given = {name: value for name, value in overrides.items() if value is not None}
    if not given:
        return None
    from crudauth.ratelimit import LockoutConfig

    return LockoutConfig(**given)
