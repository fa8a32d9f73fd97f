"""The facade's dependency builders: authentication, sudo and rate limits for routes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crudauth.core import AuthRuntime
from crudauth.dependencies import (
    Dependency,
    build_current_user,
    build_rate_limit,
    build_reading_user,
    default_limit,
)
from crudauth.identity import IdentityConfig
from crudauth.principal import Principal
from crudauth.ratelimit import KeyBy, RateLimit, RateLimiterBackend
from crudauth.repository import UserRepository
from crudauth.resolution import PrincipalResolver
from crudauth.sudo import SudoManager, build_require_sudo

__all__ = ["FacadeDependencies"]


class FacadeDependencies:
    """The FastAPI dependencies that authenticate, gate and throttle routes.

    A mixin of ``CRUDAuth`` without a constructor: ``CRUDAuth.__init__`` sets every
    field.

    Attributes:
        session: FastAPI dependency yielding an ``AsyncSession``.
        identity: The login fields and recovery factor.
        repo: The user repository.
        runtime: The shared state of the transports.
        sudo: The sudo manager, or ``None`` without ``sudo=``.
        _resolver: Resolves the caller through the configured transports.
        _rate_limiter: The rate limiter backend in use.
        _rate_limits: The default limits merged with the app's overrides.
    """

    session: Callable[..., Any]
    identity: IdentityConfig
    repo: UserRepository
    runtime: AuthRuntime
    sudo: SudoManager | None
    _resolver: PrincipalResolver
    _rate_limiter: RateLimiterBackend
    _rate_limits: dict[str, RateLimit]

    def current_user(
        self,
        *,
        optional: bool = False,
        superuser: bool = False,
        verified: bool = False,
        scopes: Sequence[str] | None = None,
        transport: str | Sequence[str] | None = None,
        check: Callable[[Principal], Any] | None = None,
    ) -> Dependency:
        """Return a dependency that authenticates the caller and applies the gates.

        Raises:
            ValueError: ``verified=True`` without a recovery factor, or ``transport``
                naming no configured transport.
        """
        if verified and self.identity.recovery is None:
            raise ValueError(
                "current_user(verified=True) needs a recovery factor; this app's "
                "IdentityConfig has recovery=None"
            )
        selected = self._resolver.select(transport)
        return build_current_user(
            self._resolver,
            self.session,
            selected,
            optional=optional,
            superuser=superuser,
            verified=verified,
            scopes=scopes,
            check=check,
        )

    def reading_user(self, *, transport: str | Sequence[str] | None = None) -> Dependency:
        """Return a dependency for routes that only read the caller's principal.

        It authenticates like ``current_user()`` without gates. With the user cache on
        (``CRUDAuth(user_cache=...)``), a request whose user row is cached opens no
        database session, so the row on ``principal.user`` is detached: read it, but
        load the user through your own session before changing it. Without the cache
        it is the same as ``current_user()``.

        Args:
            transport: Name or names of the transports to try; ``None`` tries all.

        Raises:
            ValueError: ``transport`` names no configured transport.

        Example:
            ```python
            @app.get("/profile")
            async def profile(principal: Principal = Depends(auth.reading_user())):
                return {"name": principal.user.username}
            ```
        """
        return build_reading_user(self._resolver, self.session, self._resolver.select(transport))

    def forget_cached_user(self, user_id: Any) -> None:
        """Drop ``user_id``'s row from this process's user cache, if the cache is on.

        Call it after your own code changes a user row (deactivating an account, for
        example), so the next request loads the new values. Other worker processes
        serve their copy until its ``ttl`` ends.

        Args:
            user_id: Primary key of the user.
        """
        if self.repo.row_cache is not None:
            self.repo.row_cache.forget(user_id)

    def require_sudo(self) -> Dependency:
        """Return a dependency that authenticates like ``current_user()``, needing sudo.

        It raises 403 unless the caller's session has an unexpired elevation.
        Raises ``RuntimeError`` when sudo is not configured.
        """
        if self.sudo is None:
            raise RuntimeError("Sudo is not configured; pass CRUDAuth(sudo=SudoConfig())")
        return build_require_sudo(self.current_user(), self.sudo)

    def rate_limit(
        self,
        action: str,
        limit: Any = None,
        *,
        key: Any = KeyBy.IP,
        transport: str | Sequence[str] | None = None,
    ) -> Dependency:
        """Return a fixed-window throttle for ``action`` (429 with ``Retry-After``)."""
        effective = default_limit(action, limit, self._rate_limits)
        selected = self._resolver.select(transport)
        return build_rate_limit(
            action=action,
            limit=effective,
            key=key,
            resolver=self._resolver,
            db_dependency=self.session,
            transports=selected,
            backend_getter=lambda: self._rate_limiter,
            trusted_proxy_hops=self.runtime.trusted_proxy_hops,
            authenticated=self.current_user(transport=transport),
        )
