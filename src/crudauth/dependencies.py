"""FastAPI dependencies behind ``auth.current_user()`` and ``auth.rate_limit()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from crudauth.core import AuthRuntime, Transport
from crudauth.exceptions import ForbiddenException, UnauthorizedException
from crudauth.principal import Principal
from crudauth.ratelimit import KeyBy, RateLimit
from crudauth.ratelimit.dependency import enforce_rate_limit, identity_key
from crudauth.resolution import PrincipalResolver, reload_principal
from crudauth.utils.callbacks import takes_two_arguments

__all__ = [
    "build_current_user",
    "build_rate_limit",
    "build_reading_user",
    "open_dependency",
    "with_current_row",
]

Dependency = Callable[..., Coroutine[Any, Any, Any]]

NOT_AUTHENTICATED = "Not authenticated"
INSUFFICIENT_PRIVILEGES = "Insufficient privileges"
NOT_VERIFIED = "Recovery factor not verified"
INSUFFICIENT_SCOPE = "Insufficient scope"
ACCESS_DENIED = "Access denied"


def build_current_user(
    resolver: PrincipalResolver,
    db_dependency: Callable[..., Any],
    transports: Sequence[Transport],
    *,
    optional: bool,
    superuser: bool,
    verified: bool,
    scopes: Sequence[str] | None,
    check: Callable[[Principal], Any] | None,
) -> Dependency:
    """Return a dependency that authenticates over ``transports`` and runs the gates.

    The gates run in order: authenticated, superuser, verified recovery factor,
    scopes, then ``check``. A superuser or verified gate that would fail on a cached
    row is judged again on the database's row.

    Args:
        resolver: Resolves the request's principal over the transports.
        db_dependency: The app's database-session dependency.
        transports: The transports to try, in order.
        optional: Return ``None`` for anonymous requests instead of raising 401.
        superuser: Require ``is_superuser``.
        verified: Require a verified recovery factor.
        scopes: Scopes the principal must all have.
        check: Extra gate called with the principal; it may be async, and only a
            return of exactly ``False`` denies.

    Returns:
        An async FastAPI dependency returning the ``Principal`` (or ``None`` when
        optional). It raises ``UnauthorizedException`` (401, with
        ``WWW-Authenticate: Bearer`` when a bearer transport is among them) and
        ``ForbiddenException`` (403) for a failed gate. Transport errors propagate
        even when optional.
    """
    required_scopes = tuple(scopes or ())
    # RFC 6750: a 401 for a route that accepts bearer tokens names the scheme.
    challenge = _bearer_challenge(transports)

    async def current_user(request: Request, db: Any = Depends(db_dependency)) -> Principal | None:
        # Transport errors (CSRF 403, tampered token 401) propagate even when optional.
        principal = await resolver.resolve(request, db, transports)
        if principal is None:
            if optional:
                return None
            raise UnauthorizedException(NOT_AUTHENTICATED, headers=challenge)
        if (superuser and not principal.is_superuser) or (
            verified and not principal.recovery_verified
        ):
            # A row from the user cache may lag; refuse only on the database's values.
            reloaded = await reload_principal(resolver.runtime, request, db, principal)
            if reloaded is None:
                if optional:
                    return None
                raise UnauthorizedException(NOT_AUTHENTICATED, headers=challenge)
            principal = reloaded
        if superuser and not principal.is_superuser:
            raise ForbiddenException(INSUFFICIENT_PRIVILEGES)
        if verified and not principal.recovery_verified:
            raise ForbiddenException(NOT_VERIFIED)
        if required_scopes and not principal.has_scopes(required_scopes):
            raise ForbiddenException(INSUFFICIENT_SCOPE)
        if check is not None:
            outcome = check(principal)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            # Only the exact value False denies; raising inside check sets the error.
            if outcome is False:
                raise ForbiddenException(ACCESS_DENIED)
        return principal

    return current_user


def build_reading_user(
    resolver: PrincipalResolver,
    db_dependency: Callable[..., Any],
    transports: Sequence[Transport],
) -> Dependency:
    """Return a dependency for routes that only read the principal, such as ``/me``.

    It authenticates like ``current_user()`` without gates. When the user cache is on
    and the session dependency has no parameters, it declares no database dependency.
    A request whose user row is cached then opens no database session at all. A miss
    opens one through the session dependency, with the app's dependency overrides, and
    closes it before the route runs. The principal's row is then detached and must not
    be written through.
    """
    if resolver.runtime.repo.row_cache is None or _declares_parameters(db_dependency):
        return build_current_user(
            resolver,
            db_dependency,
            transports,
            optional=False,
            superuser=False,
            verified=False,
            scopes=None,
            check=None,
        )
    challenge = _bearer_challenge(transports)

    async def reading_user(request: Request) -> Principal:
        async with AsyncExitStack() as stack:

            async def open_db() -> Any:
                overrides = getattr(request.app, "dependency_overrides", {})
                dependency = overrides.get(db_dependency, db_dependency)
                if dependency is not db_dependency and _declares_parameters(dependency):
                    # NOTE: FastAPI has no public call that solves a dependency by hand,
                    # so an override with parameters is rejected with a clear message.
                    raise RuntimeError(
                        "auth.reading_user() calls the override of the session dependency "
                        f"without arguments, but {dependency!r} declares parameters; give "
                        "the override none, or use auth.current_user() for this route"
                    )
                return await open_dependency(dependency, stack)

            principal = await resolver.resolve(request, None, transports, open_db=open_db)
        if principal is None:
            raise UnauthorizedException(NOT_AUTHENTICATED, headers=challenge)
        return principal

    return reading_user


async def open_dependency(dependency: Callable[..., Any], stack: AsyncExitStack) -> Any:
    """Call a FastAPI-style dependency by hand and register its cleanup on ``stack``.

    Args:
        dependency: A callable without parameters: a function, coroutine function,
            generator or async generator.
        stack: Receives the generator's cleanup.

    Returns:
        The value the dependency provides.
    """
    result = dependency()
    if inspect.isasyncgen(result):
        value = await result.__anext__()
        stack.push_async_callback(result.aclose)
        return value
    if inspect.isgenerator(result):
        value = next(result)
        stack.callback(result.close)
        return value
    if inspect.isawaitable(result):
        return await result
    return result


def _bearer_challenge(transports: Sequence[Transport]) -> dict[str, str] | None:
    """Return the 401 ``WWW-Authenticate`` header when a bearer transport is tried."""
    if any(transport.name == "bearer" for transport in transports):
        return {"WWW-Authenticate": "Bearer"}
    return None


def _declares_parameters(function: Callable[..., Any]) -> bool:
    """Return whether FastAPI would have to fill any parameter of ``function``.

    A parameter with a default counts too: its default may be a ``Depends`` that only
    FastAPI resolves.
    """
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        for parameter in parameters
    )


def with_current_row(
    runtime: AuthRuntime, current_user: Dependency, db_dependency: Callable[..., Any]
) -> Dependency:
    """Wrap ``current_user`` so the principal's row has the database's current values.

    Routes that check a password or a second factor against the row use it, so a row
    served from the user cache never decides them.

    Args:
        runtime: The facade's shared state.
        current_user: The dependency that authenticates the caller.
        db_dependency: The app's database-session dependency.

    Returns:
        An async FastAPI dependency returning the reloaded ``Principal``. It raises
        ``UnauthorizedException`` (401) when the user no longer exists.
    """

    async def current_row(
        request: Request,
        principal: Principal = Depends(current_user),
        db: Any = Depends(db_dependency),
    ) -> Principal:
        reloaded = await reload_principal(runtime, request, db, principal)
        if reloaded is None:
            raise UnauthorizedException(NOT_AUTHENTICATED)
        return reloaded

    return current_row


def build_rate_limit(
    *,
    action: str,
    limit: RateLimit | Callable[..., Any],
    key: KeyBy | Callable[..., str],
    resolver: PrincipalResolver,
    db_dependency: Callable[..., Any],
    transports: Sequence[Transport],
    backend_getter: Callable[[], Any],
    trusted_proxy_hops: int,
    authenticated: Dependency,
) -> Dependency:
    """Return a fixed-window throttle dependency for ``action``.

    ``KeyBy.USER`` authenticates like ``current_user()`` (401 when anonymous, CSRF for
    session cookies). Other keys and resolvers that need the caller resolve it without
    the CSRF check, and may see ``None``. The throttle fails closed: an unreachable
    store is a 503.

    Args:
        action: Name of the budget.
        limit: A ``RateLimit``, or a resolver ``(request, principal)`` that may be
            async and returns a ``RateLimit`` or ``None`` for no limit.
        key: A ``KeyBy`` member or a callable naming the budget.
        resolver: Resolves the caller when the key or resolver needs it.
        db_dependency: The app's database-session dependency.
        transports: The transports to resolve the caller over.
        backend_getter: Returns the limiter, or ``None`` when rate limiting is off.
        trusted_proxy_hops: Proxies trusted to append to ``X-Forwarded-For``.
        authenticated: The ``current_user()`` dependency used for ``KeyBy.USER``.

    Returns:
        An async FastAPI dependency that raises ``RateLimitException`` (429) when the
        budget is spent and adds the limit headers otherwise.

    Raises:
        ValueError: ``key`` is neither a ``KeyBy`` member nor callable.
    """
    name_identity = identity_key(key, trusted_proxy_hops)
    needs_principal = _needs_principal(key, limit)

    async def resolve_limit(request: Request, principal: Principal | None) -> RateLimit | None:
        if isinstance(limit, RateLimit):
            return limit
        resolved = limit(request, principal)
        if inspect.isawaitable(resolved):
            resolved = await resolved
        return resolved if isinstance(resolved, RateLimit) else None

    async def apply(request: Request, response: Response, principal: Principal | None) -> None:
        backend = backend_getter()
        effective = await resolve_limit(request, principal)
        if backend is None or effective is None or effective.disabled:
            return
        identity = name_identity(request, principal)
        headers = await enforce_rate_limit(
            backend, request, action, effective, identity, fail_open=False
        )
        response.headers.update(headers)

    if key == KeyBy.USER:

        async def user_throttle(
            request: Request, response: Response, principal: Any = Depends(authenticated)
        ) -> None:
            await apply(request, response, principal)

        return user_throttle

    async def request_throttle(
        request: Request, response: Response, db: Any = Depends(db_dependency)
    ) -> None:
        principal = None
        if needs_principal:
            try:
                principal = await resolver.resolve(
                    request, db, transports, enforce_csrf=False, update_activity=False
                )
            except UnauthorizedException:
                principal = None
        await apply(request, response, principal)

    if not needs_principal:

        async def ip_throttle(request: Request, response: Response) -> None:
            await apply(request, response, None)

        return ip_throttle
    return request_throttle


def _needs_principal(key: Any, limit: Any) -> bool:
    if key == KeyBy.USER_OR_IP:
        return True
    if callable(key) and not isinstance(key, KeyBy) and takes_two_arguments(key):
        return True
    return not isinstance(limit, RateLimit)


def default_limit(
    action: str, limit: Any, table: Mapping[str, RateLimit]
) -> RateLimit | Callable[..., Any]:
    """Return the explicit ``limit``, else the table entry for ``action``.

    Args:
        action: Name of the budget.
        limit: The ``limit`` passed to ``auth.rate_limit()``, or ``None``.
        table: The app's limits by action name.

    Raises:
        ValueError: ``limit`` is ``None`` and ``action`` has no built-in limit.
    """
    if limit is not None:
        return limit  # type: ignore[no-any-return]
    if action not in table:
        raise ValueError(
            f"rate_limit({action!r}) has no built-in limit; pass limit=RateLimit(times, "
            f"seconds) for a custom action (built-in actions: {', '.join(sorted(table))})"
        )
    return table[action]
