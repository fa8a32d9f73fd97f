"""Helpers behind ``auth.rate_limit()``: naming a budget and counting a request."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from crudauth.exceptions import RateLimitException, UnauthorizedException
from crudauth.principal import Principal
from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.ratelimit.config import KeyBy, RateLimit, RateLimitResolver
from crudauth.ratelimit.constants import RATE_LIMIT_EXCEEDED, RATE_LIMIT_NAMESPACE
from crudauth.ratelimit.headers import LIMIT, REMAINING, RETRY_AFTER, record_rate_limit_headers
from crudauth.utils.callbacks import takes_two_arguments
from crudauth.utils.http import client_ip_key, get_client_ip

__all__ = ["enforce_rate_limit", "identity_key", "limit_by_request", "limit_by_user"]

# Names the budget a request counts against, from the request and the caller if known.
IdentityKey = Callable[[Request, "Principal | None"], str]
# Resolves the caller of a request from the request and the app's database session.
PrincipalLookup = Callable[[Request, Any], Awaitable["Principal | None"]]
# Returns the limiter, or None when rate limiting is off; read per request.
BackendGetter = Callable[[], "RateLimiterBackend | None"]
Throttle = Callable[..., Awaitable[None]]

NOT_AUTHENTICATED = "Not authenticated"


def identity_key(key: KeyBy | Callable[..., Any], trusted_proxy_hops: int = 0) -> IdentityKey:
    """Return the function naming a caller's budget for a ``key=`` choice.

    ``KeyBy.IP`` gives the client address key (IPv6 grouped by /64), ``KeyBy.USER`` the
    principal's ``user_id``, and ``KeyBy.USER_OR_IP`` ``user:<id>`` when a principal
    is known, else ``ip:<address key>``. A callable is called as ``key(request)``, or
    as ``key(request, principal)`` when it takes two required positional arguments.

    Args:
        key: A ``KeyBy`` member or a callable returning the budget name.
        trusted_proxy_hops: Proxies trusted to append to ``X-Forwarded-For`` when the
            client address is read.

    Returns:
        A function ``(request, principal) -> str``. For ``KeyBy.USER`` it raises
        ``UnauthorizedException`` (401) when the principal is ``None``.

    Raises:
        ValueError: ``key`` is neither a ``KeyBy`` member nor callable.
    """

    def ip_of(request: Request) -> str:
        return client_ip_key(get_client_ip(request, trusted_proxy_hops))

    if key == KeyBy.IP:
        return lambda request, principal: ip_of(request)

    if key == KeyBy.USER:

        def by_user(request: Request, principal: Principal | None) -> str:
            if principal is None:
                raise UnauthorizedException(NOT_AUTHENTICATED)
            return str(principal.user_id)

        return by_user

    if key == KeyBy.USER_OR_IP:

        def by_user_or_ip(request: Request, principal: Principal | None) -> str:
            if principal is not None:
                return f"user:{principal.user_id}"
            return f"ip:{ip_of(request)}"

        return by_user_or_ip

    if not callable(key):
        raise ValueError(f"rate_limit key must be a KeyBy member or a callable, got {key!r}")

    custom = key
    if takes_two_arguments(custom):
        return lambda request, principal: str(custom(request, principal))
    return lambda request, principal: str(custom(request))


async def enforce_rate_limit(
    backend: RateLimiterBackend,
    request: Request,
    action: str,
    limit: RateLimit,
    identity: str,
    *,
    fail_open: bool = True,
) -> dict[str, str]:
    """Count one request against ``ratelimit:<action>:<identity>``; return its headers.

    The headers (``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``) are also recorded
    on ``request.state`` for ``RateLimitHeadersMiddleware``.

    Args:
        backend: The counter backend.
        request: The request being counted.
        action: Name of the budget, such as ``"register"``.
        limit: The allowance to enforce.
        identity: Who the budget belongs to, from ``identity_key``.
        fail_open: Let the request through when the backend fails (the default).

    Returns:
        The ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` headers.

    Raises:
        RateLimitException: The limit is exceeded (429, with ``Retry-After`` and a
            remaining budget of 0).
        StoreUnavailableError: The store is unreachable and ``fail_open`` is false.
    """
    count, limited, retry_after = await backend.increment_and_check(
        f"{RATE_LIMIT_NAMESPACE}:{action}:{identity}",
        limit.times,
        limit.seconds,
        fail_open=fail_open,
    )
    headers = {LIMIT: str(limit.times), REMAINING: str(max(0, limit.times - count))}
    if not limited:
        record_rate_limit_headers(request, headers)
        return headers

    headers[REMAINING] = "0"
    retry_after = max(1, retry_after)
    record_rate_limit_headers(request, {**headers, RETRY_AFTER: str(retry_after)})
    raise RateLimitException(RATE_LIMIT_EXCEEDED, retry_after=retry_after, headers=headers)


async def resolve_limit(
    limit: RateLimit | RateLimitResolver, request: Request, principal: Principal | None
) -> RateLimit | None:
    """Return the fixed ``limit``, or what a resolver returns for this request.

    Args:
        limit: A ``RateLimit``, or a resolver called as ``limit(request, principal)``
            that may be sync or async.
        request: The request being counted.
        principal: The caller, or ``None`` when anonymous or not looked up.

    Returns:
        The limit to apply, or ``None`` when the resolver returns anything that is not
        a ``RateLimit``.
    """
    if isinstance(limit, RateLimit):
        return limit
    resolved = limit(request, principal)
    if inspect.isawaitable(resolved):
        resolved = await resolved
    return resolved if isinstance(resolved, RateLimit) else None


async def _count(
    backend_getter: BackendGetter,
    limit: RateLimit | RateLimitResolver,
    name_identity: IdentityKey,
    action: str,
    request: Request,
    response: Response,
    principal: Principal | None,
) -> None:
    backend = backend_getter()
    effective = await resolve_limit(limit, request, principal)
    # No backend, no limit for this request, or a zero limit: nothing is counted.
    if backend is None or effective is None or effective.disabled:
        return
    identity = name_identity(request, principal)
    headers = await enforce_rate_limit(backend, request, action, effective, identity)
    response.headers.update(headers)


def limit_by_request(
    *,
    action: str,
    limit: RateLimit | RateLimitResolver,
    key: KeyBy | Callable[..., Any],
    backend_getter: BackendGetter,
    db_dependency: Callable[..., Any],
    lookup: PrincipalLookup | None = None,
    trusted_proxy_hops: int = 0,
) -> Throttle:
    """Build a dependency counting requests by IP, by user-or-IP or by a key function.

    With ``lookup``, the caller is resolved first (``None`` for anonymous requests) and
    passed to the key and to a resolver. Without it, both always receive ``None``.
    Nothing is counted while the backend getter returns ``None``, the resolver returns
    no limit, or the limit is disabled. The dependency fails open when the backend
    fails.

    Args:
        action: Name of the budget.
        limit: A ``RateLimit``, or a resolver ``(request, principal)``.
        key: A ``KeyBy`` member or a callable naming the budget.
        backend_getter: Returns the limiter, or ``None`` when rate limiting is off.
        db_dependency: The app's database-session dependency, used with ``lookup``.
        lookup: Resolves the caller from the request and the database session.
        trusted_proxy_hops: Proxies trusted to append to ``X-Forwarded-For``.

    Returns:
        An async FastAPI dependency that raises ``RateLimitException`` (429) when the
        budget is spent and adds the limit headers to the response otherwise.

    Raises:
        ValueError: ``key`` is neither a ``KeyBy`` member nor callable.
    """
    name_identity = identity_key(key, trusted_proxy_hops)

    if lookup is None:

        async def throttle_anonymous(request: Request, response: Response) -> None:
            await _count(backend_getter, limit, name_identity, action, request, response, None)

        return throttle_anonymous

    resolve_principal = lookup

    async def throttle(
        request: Request, response: Response, db: Any = Depends(db_dependency)
    ) -> None:
        principal = await resolve_principal(request, db)
        await _count(backend_getter, limit, name_identity, action, request, response, principal)

    return throttle


def limit_by_user(
    *,
    action: str,
    limit: RateLimit | RateLimitResolver,
    backend_getter: BackendGetter,
    db_dependency: Callable[..., Any],
    lookup: PrincipalLookup,
) -> Throttle:
    """Build a dependency giving each signed-in user their own budget.

    Anonymous callers get 401 before anything is counted.

    Args:
        action: Name of the budget.
        limit: A ``RateLimit``, or a resolver ``(request, principal)``.
        backend_getter: Returns the limiter, or ``None`` when rate limiting is off.
        db_dependency: The app's database-session dependency.
        lookup: Resolves the caller from the request and the database session.

    Returns:
        An async FastAPI dependency that raises ``UnauthorizedException`` (401) for
        anonymous callers and ``RateLimitException`` (429) when the budget is spent.
    """
    name_identity = identity_key(KeyBy.USER)

    async def throttle(
        request: Request, response: Response, db: Any = Depends(db_dependency)
    ) -> None:
        principal = await lookup(request, db)
        if principal is None:
            raise UnauthorizedException(NOT_AUTHENTICATED)
        await _count(backend_getter, limit, name_identity, action, request, response, principal)

    return throttle
