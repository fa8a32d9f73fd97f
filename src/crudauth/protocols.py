"""What route builders may use on the facade, without importing the facade class."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request

from crudauth.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.core import AuthRuntime, Transport
    from crudauth.email.service import EmailFlowService
    from crudauth.hooks import AuthHooks
    from crudauth.identity import IdentityConfig
    from crudauth.password import PasswordPolicy, PasswordSource
    from crudauth.ratelimit import RateLimit, RateLimiterBackend
    from crudauth.repository import UserRepository
    from crudauth.transports.session import SessionManager

__all__ = ["AuthSurface"]

Dependency = Callable[..., Coroutine[Any, Any, Any]]


class AuthSurface(Protocol):
    """The facade members that feature routers and transport routes may call."""

    session: Callable[..., Any]
    repo: UserRepository
    identity: IdentityConfig
    hooks: AuthHooks
    runtime: AuthRuntime
    transports: list[Transport]
    password_policy: PasswordPolicy
    fresh_sign_in_seconds: int
    new_user_defaults: dict[str, Any]
    new_user_fields: Any

    @property
    def rate_limits(self) -> dict[str, RateLimit]: ...

    @property
    def rate_limiter(self) -> RateLimiterBackend: ...

    @property
    def session_manager(self) -> SessionManager | None: ...

    @property
    def emails(self) -> EmailFlowService | None: ...

    def current_user(
        self,
        *,
        optional: bool = False,
        superuser: bool = False,
        verified: bool = False,
        scopes: Sequence[str] | None = None,
        transport: str | Sequence[str] | None = None,
        check: Callable[[Principal], Any] | None = None,
    ) -> Dependency: ...

    def reading_user(self, *, transport: str | Sequence[str] | None = None) -> Dependency: ...

    def rate_limit(
        self,
        action: str,
        limit: Any = None,
        *,
        key: Any = ...,
        transport: str | Sequence[str] | None = None,
    ) -> Dependency: ...

    async def validate_password(
        self,
        password: str,
        *,
        user: Any = None,
        source: PasswordSource = "set",
        field: str = "password",
    ) -> None: ...

    def require_sudo(self) -> Dependency: ...

    async def signed_in_recently(self, principal: Principal) -> bool: ...

    async def authenticate_password(
        self,
        db: AsyncSession,
        identifier: str,
        password: str,
        *,
        request: Request,
        record_success: bool = True,
    ) -> Any: ...
