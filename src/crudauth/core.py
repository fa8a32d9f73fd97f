"""The transport port and the shared state the facade binds into every transport."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crudauth.constants import DEFAULT_ALGORITHM
from crudauth.hooks import AuthHooks
from crudauth.principal import Principal
from crudauth.user_cache import came_from_cache
from crudauth.utils.password_hashing import PasswordHashing

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.repository import UserRepository

__all__ = ["AuthContext", "AuthRuntime", "CookieConfig", "Transport"]

SameSite = Literal["lax", "strict", "none"]


@dataclass
class CookieConfig:
    """Cookie policy shared by every cookie-setting transport.

    Cookies are host-only (no ``Domain`` attribute).

    Attributes:
        secure: Send cookies over HTTPS only. ``False`` is meant for plain http on
            localhost during development only.
        samesite: ``"lax"``, ``"strict"`` or ``"none"``. The session transport rejects
            ``"none"`` because its CSRF check relies on SameSite as a second layer.
        path: Cookie path; must start with ``/``.

    Raises:
        ValueError: ``samesite`` is not one of the three values, or ``path`` does not
            start with ``/``.
    """

    secure: bool = True
    samesite: SameSite = "lax"
    path: str = "/"

    def __post_init__(self) -> None:
        if self.samesite not in ("lax", "strict", "none"):
            raise ValueError(
                f"CookieConfig.samesite must be 'lax', 'strict' or 'none', not {self.samesite!r}"
            )
        if not self.path.startswith("/"):
            raise ValueError(f"CookieConfig.path must start with '/', not {self.path!r}")


@dataclass
class AuthRuntime:
    """Facade-owned state handed to every transport by ``bind``.

    ``CRUDAuth`` builds one and exposes it as ``auth.runtime``.

    Attributes:
        secret_key: The current ``SECRET_KEY``, which signs tokens and keys stores.
        repo: The user repository.
        hooks: The app's hooks.
        redirect_base_url: The app's public origin, used for OAuth redirects.
        email_service: The email and recovery flow service, when configured.
        db_dependency: The app's FastAPI dependency yielding an ``AsyncSession``.
        algorithm: The JWT signing algorithm.
        cookie_config: The app-wide cookie policy.
        rate_limiter: The counter backend behind the login lockout and every
            throttle.
        lockout: The one login-lockout policy shared by every password login.
        trusted_proxy_hops: Number of reverse proxies in front of the app that
            append to ``X-Forwarded-For``. ``0`` trusts no forwarding header.
        redis_client: The app-wide Redis client, when configured.
        transports: Every configured transport, in order.
        mfa: The MFA service, when configured.
        database_store: The app-wide database store, when configured.
        legacy_verifiers: Checks of password hashes from an earlier system, tried
            after the configured hasher rejects a password.
        previous_secret_keys: Retired secret keys that still verify tokens and find
            sessions.
        passwords: The configured password hasher and pepper.
        security_log: The per-user security log, when built.
    """

    secret_key: str
    repo: UserRepository
    hooks: AuthHooks = field(default_factory=AuthHooks)
    redirect_base_url: str | None = None
    email_service: Any = None
    db_dependency: Callable[..., Any] | None = None
    algorithm: str = DEFAULT_ALGORITHM
    cookie_config: CookieConfig = field(default_factory=CookieConfig)
    rate_limiter: Any = None
    lockout: Any = None
    trusted_proxy_hops: int = 0
    redis_client: Any = None
    transports: Sequence[Transport] = ()
    mfa: Any = None
    database_store: Any = None
    legacy_verifiers: Sequence[Callable[[str, str], bool]] = ()
    # Bearer tokens and session handles verify with these too, so a key rotation
    # signs nobody out.
    previous_secret_keys: Sequence[str] = ()
    # The configured hasher and pepper; every password hash and check goes through it.
    passwords: PasswordHashing = field(default_factory=PasswordHashing)
    # The per-user security log (``crudauth.security_log.SecurityLog``), when built.
    security_log: Any = None

    async def authenticate_password(
        self,
        db: AsyncSession,
        identifier: str,
        password: str,
        *,
        request: Request,
        record_success: bool = True,
    ) -> Any:
        """Run the hardened credential check and return the user row.

        Args:
            db: The database session.
            identifier: The login identifier as typed.
            password: The password as typed.
            request: The login request, for the client address and the hooks.
            record_success: Clear the lockout pressure now (``True``), or only take
                back this attempt because a second step must still succeed
                (``False``).

        Returns:
            The user row.

        Raises:
            RateLimitException: The login lockout holds (429).
            UnauthorizedException: An unknown user, a wrong password or a disabled
                account (401), with one identical message for all three.
            StoreUnavailableError: The lockout store is unreachable.
        """
        from crudauth.credentials import authenticate_password

        return await authenticate_password(
            self, db, identifier, password, request=request, record_success=record_success
        )

    async def record_login_success(self, ip: str, identifier: str) -> None:
        """Clear the lockout pressure of a login that has now fully succeeded.

        Args:
            ip: The client IP of the login.
            identifier: The login identifier as typed.
        """
        if self.lockout is not None:
            await self.lockout.check_and_record(ip, identifier, success=True)

    def clear_cookies(self, response: Response) -> None:
        """Expire the cookies of every configured transport.

        Args:
            response: The response whose cookies are expired.
        """
        for transport in self.transports:
            transport.clear_cookies(response)


@dataclass
class AuthContext:
    """Per-request data handed to ``Transport.authenticate``.

    The user row is loaded at most once per context, whichever transport requests it.
    Routes that only read the principal may start with ``db=None`` and ``open_db``: the
    session is then opened only when a row is not in the user cache.

    Attributes:
        request: The incoming request.
        db: The request's database session, or ``None`` until ``database()`` opens
            it.
        runtime: The facade's shared state.
        enforce_csrf: Whether the session transport checks the CSRF header.
        update_activity: Whether the session transport records activity.
        open_db: Opens the database session on first use while ``db`` is ``None``.
    """

    request: Request
    db: AsyncSession
    runtime: AuthRuntime
    enforce_csrf: bool = True
    update_activity: bool = True
    # Opens the database session on first use; set only while ``db`` is ``None``.
    open_db: Callable[[], Awaitable[AsyncSession]] | None = field(default=None, repr=False)
    _users: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def repo(self) -> UserRepository:
        """The user repository of the runtime."""
        return self.runtime.repo

    async def resolve_user(self, user_id: Any) -> Any:
        """Load the user for ``user_id``, memoized per context.

        Args:
            user_id: Primary key of the user; compared as a string for the memo.

        Returns:
            The user row, or ``None`` when no such user exists.
        """
        memo_key = str(user_id)
        if memo_key not in self._users:
            self._users[memo_key] = await self._load_user(user_id)
        return self._users[memo_key]

    async def resolve_current_user(self, user_id: Any, accept: Callable[[Any], bool]) -> Any:
        """Load the user for ``user_id`` and return it only if ``accept(user)`` holds.

        A row from the user cache that ``accept`` refuses is reloaded from the database
        and judged again, so a lagging cache never refuses a request the database
        would allow.

        Args:
            user_id: Primary key of the user.
            accept: The transport's check of the row (active, credential epoch).

        Returns:
            The accepted user row, or ``None``.
        """
        user = await self.resolve_user(user_id)
        if user is None:
            return None
        if accept(user):
            return user
        # A row loaded from the database by this request is final: the rejection stands.
        if self.repo.row_cache is None or not came_from_cache(user):
            return None
        fresh = await self.repo.reload_if_cached(await self.database(), user)
        self._users[str(user_id)] = fresh
        return fresh if fresh is not None and accept(fresh) else None

    async def database(self) -> AsyncSession:
        """Return the database session, opening it first if it was deferred."""
        if self.db is None and self.open_db is not None:
            self.db = await self.open_db()
            self.open_db = None
        return self.db

    async def _load_user(self, user_id: Any) -> Any:
        cache = self.repo.row_cache
        if cache is None:
            return await self.repo.get_by_id(await self.database(), user_id)
        # Without a session yet, a cached row is returned detached, for reading only.
        user = await cache.load(self.db, user_id)
        if user is not None:
            return user
        db = await self.database()
        started = cache.begin_load()
        user = await self.repo.get_by_id(db, user_id)
        if user is not None:
            cache.store(user, user_id, started)
        return user

    def build_principal(
        self,
        *,
        user_id: Any,
        user: Any,
        transport: str,
        scopes: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
    ) -> Principal:
        """Build a principal whose flags are read from ``user``.

        Args:
            user_id: Primary key of the user.
            user: The loaded user row, or ``None``.
            transport: Name of the transport building the principal.
            scopes: Granted scopes.
            metadata: Transport-specific data kept on the principal.

        Returns:
            The principal. With ``user=None`` every flag is ``False``.
        """
        repo = self.repo
        return Principal(
            user_id=user_id,
            scopes=tuple(scopes),
            transport=transport,
            user=user,
            is_superuser=bool(user is not None and repo.is_superuser(user)),
            email_verified=bool(user is not None and repo.email_verified(user)),
            recovery_verified=bool(user is not None and repo.recovery_verified(user)),
            metadata=dict(metadata or {}),
        )


class Transport(ABC):
    """The port every authentication channel implements.

    Subclasses set ``name`` and implement ``authenticate``; every other method has a
    working default. ``CRUDAuth`` calls ``bind`` once with its shared state, and
    ``auth.current_user()`` tries the configured transports in order.

    Example:
        ```python
        class APIKeyTransport(Transport):
            name = "apikey"

            async def authenticate(self, request, ctx):
                user_id = lookup_key(request.headers.get("X-API-Key"))
                if user_id is None:
                    return None
                user = await ctx.resolve_user(user_id)
                return ctx.build_principal(
                    user_id=user_id, user=user, transport=self.name
                )
        ```
    """

    name: str = "transport"
    # True when ``authenticate`` reaches the database only through
    # ``ctx.resolve_user`` or ``ctx.resolve_current_user``, so a cached user row
    # lets a reading route skip opening a session. Other transports get ``ctx.db``.
    defers_database: bool = False
    _cookie_override: CookieConfig | None = None
    runtime: AuthRuntime

    def bind(self, runtime: AuthRuntime) -> None:
        """Receive the facade's shared state; overrides must call the base.

        Args:
            runtime: The facade's shared state.
        """
        self.runtime = runtime

    def cookie_config(self) -> CookieConfig:
        """Return this transport's cookie policy, else the app-wide one."""
        if self._cookie_override is not None:
            return self._cookie_override
        return self.runtime.cookie_config

    @abstractmethod
    async def authenticate(self, request: Request, ctx: AuthContext) -> Principal | None:
        """Resolve the request's credential to a principal.

        Args:
            request: The incoming request.
            ctx: Per-request context with the database session and the shared state.

        Returns:
            The principal, or ``None`` when this transport's credential is absent or
            no longer valid (the next transport is then tried).

        Raises:
            HTTPException: The credential is present but invalid; this stops the
                transport loop.
        """

    async def revalidate(self, request: Request, principal: Principal, ctx: AuthContext) -> bool:
        """Re-run the checks an earlier, weaker resolution of this request skipped.

        The default has nothing to re-run.

        Args:
            request: The incoming request.
            principal: The principal resolved earlier in this request.
            ctx: Context whose ``enforce_csrf`` and ``update_activity`` name only the
                checks still missing.

        Returns:
            Whether the principal is still valid.
        """
        return True

    def contributes_routes(self) -> APIRouter | None:
        """Return the routes this transport adds to ``auth.router``, if any."""
        return None

    def clear_cookies(self, response: Response) -> None:  # noqa: B027 - optional hook
        """Expire this transport's cookies on logout."""

    async def end_request_credential(self, request: Request) -> bool:
        """End on the server the credential of this transport that a logout carries.

        The session ``/logout`` calls it on every other transport before it clears
        their cookies. The default has nothing to end.

        Args:
            request: The logout request.

        Returns:
            Whether a credential was ended.
        """
        return False

    @property
    def sets_cookies(self) -> bool:
        """Whether completing a login sets cookies on the response."""
        return False

    async def complete_login(
        self, request: Request, response: Response, user: Any, options: dict[str, Any]
    ) -> dict[str, Any]:
        """Issue this transport's credential after a fully verified login.

        Args:
            request: The login request.
            response: The response that gets any cookies.
            user: The verified user row.
            options: Transport-specific login options, e.g. ``remember_me``.

        Returns:
            The JSON body of the login response.

        Raises:
            NotImplementedError: The transport issues no credential at login.
        """
        raise NotImplementedError(f"{type(self).__name__}.complete_login is not implemented")

    async def initialize(self) -> None:  # noqa: B027 - optional hook
        """Open connections; called from ``auth.initialize()``."""

    async def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Close connections; called from ``auth.shutdown()``."""
