"""Resolve a request's principal once and share it with every gate of the request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request

from crudauth.core import AuthContext, AuthRuntime, Transport
from crudauth.exceptions import UnauthorizedException
from crudauth.principal import Principal
from crudauth.user_cache import came_from_cache

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["PrincipalResolver", "reload_principal"]

CACHE_ATTRIBUTE = "_crudauth_principals"


@dataclass
class _Resolved:
    principal: Principal
    db: Any
    enforced_csrf: bool
    updated_activity: bool


class PrincipalResolver:
    """Run the selected transports in order and cache the winner on ``request.state``.

    The first transport that returns a principal wins. A transport that raises (a failed
    CSRF check, a tampered token) ends the loop, and failures are never cached, so every
    dependency that resolves again raises again.

    Args:
        runtime: The facade's shared state with the configured transports.
    """

    def __init__(self, runtime: AuthRuntime) -> None:
        self.runtime = runtime

    def select(self, names: str | Sequence[str] | None) -> tuple[Transport, ...]:
        """Return the configured transports matching ``names``, in configured order.

        Args:
            names: One transport name, several, or ``None`` for every transport.

        Returns:
            The matching transports.

        Raises:
            ValueError: A name matches no configured transport, or none is selected.
        """
        transports = tuple(self.runtime.transports)
        if names is None:
            return transports
        requested = {names} if isinstance(names, str) else set(names)
        selected = tuple(t for t in transports if t.name in requested)
        unknown = requested - {t.name for t in transports}
        if unknown or not selected:
            configured = ", ".join(repr(t.name) for t in transports) or "none"
            raise ValueError(
                f"current_user(transport=...) names no configured transport: "
                f"{sorted(unknown)!r}; configured transports are {configured}"
            )
        return selected

    async def resolve(
        self,
        request: Request,
        db: AsyncSession | None,
        transports: Sequence[Transport],
        *,
        enforce_csrf: bool = True,
        update_activity: bool = True,
        open_db: Callable[[], Awaitable[AsyncSession]] | None = None,
    ) -> Principal | None:
        """Resolve the request's principal over ``transports``.

        A principal already resolved for the same transports in this request is
        reused, after the checks its earlier resolution skipped. With ``db=None`` and
        ``open_db``, the database session is opened only when a transport needs it: a
        user row missing from the user cache, or a transport that does not declare
        ``defers_database``.

        Args:
            request: The incoming request.
            db: The request's database session, or ``None`` to open it on demand.
            transports: The transports to try, in order.
            enforce_csrf: Check the CSRF header of unsafe requests.
            update_activity: Record activity on the session.
            open_db: Opens the database session on first use while ``db`` is ``None``.

        Returns:
            The principal, or ``None`` when the request is anonymous.

        Raises:
            HTTPException: A transport found a credential that is present but invalid,
                e.g. ``UnauthorizedException`` or ``CSRFException``.
            StoreUnavailableError: A session, token or user store is unreachable.
        """
        cache: dict[tuple[str, ...], _Resolved] = (
            getattr(request.state, CACHE_ATTRIBUTE, None) or {}
        )
        cache_key = tuple(t.name for t in transports)
        cached = cache.get(cache_key)
        if cached is not None:
            principal = await self._reuse(
                request,
                db,
                cached,
                enforce_csrf=enforce_csrf,
                update_activity=update_activity,
                open_db=open_db,
            )
            if principal is not None:
                return principal
            cache.pop(cache_key, None)

        ctx = AuthContext(
            request=request,
            # None only while open_db can still open the session on first use.
            db=cast("AsyncSession", db),
            runtime=self.runtime,
            enforce_csrf=enforce_csrf,
            update_activity=update_activity,
            open_db=open_db,
        )
        for transport in transports:
            if not transport.defers_database:
                await ctx.database()
            principal = await transport.authenticate(request, ctx)
            if principal is None:
                continue
            cache[cache_key] = _Resolved(principal, ctx.db, enforce_csrf, update_activity)
            setattr(request.state, CACHE_ATTRIBUTE, cache)
            return principal
        return None

    async def _reuse(
        self,
        request: Request,
        db: Any,
        cached: _Resolved,
        *,
        enforce_csrf: bool,
        update_activity: bool,
        open_db: Callable[[], Awaitable[AsyncSession]] | None = None,
    ) -> Principal | None:
        principal = cached.principal
        transport = next(
            (t for t in self.runtime.transports if t.name == principal.transport), None
        )
        ctx = AuthContext(
            request=request,
            db=db,
            runtime=self.runtime,
            enforce_csrf=enforce_csrf and not cached.enforced_csrf,
            update_activity=update_activity and not cached.updated_activity,
            open_db=open_db,
        )
        # A principal resolved with fewer checks gets the missing ones now.
        if transport is not None and (ctx.enforce_csrf or ctx.update_activity):
            if not await transport.revalidate(request, principal, ctx):
                return None
            cached.enforced_csrf = cached.enforced_csrf or enforce_csrf
            cached.updated_activity = cached.updated_activity or update_activity

        if db is not None and db is not cached.db:
            # Reload through the caller's DB session; a row gone or disabled drops out.
            user = await ctx.resolve_user(principal.user_id)
            if user is None or not self.runtime.repo.is_active(user):
                return None
            principal = _with_user(ctx, principal, user)
            cached.principal = principal
            cached.db = db
        return principal

    async def resolve_outside_dependencies(
        self, request: Request, db: AsyncSession, *, update_activity: bool = False
    ) -> Principal | None:
        """Resolve the principal for middleware over every configured transport.

        No CSRF check runs, and a 401 reads as anonymous.

        Args:
            request: The incoming request.
            db: The database session.
            update_activity: Record activity on the session.

        Returns:
            The principal, or ``None`` when the request is anonymous or its
            credential is rejected with a 401.

        Raises:
            StoreUnavailableError: A session, token or user store is unreachable.
        """
        try:
            return await self.resolve(
                request,
                db,
                tuple(self.runtime.transports),
                enforce_csrf=False,
                update_activity=update_activity,
            )
        except UnauthorizedException:
            return None


async def reload_principal(
    runtime: AuthRuntime, request: Request, db: Any, principal: Principal
) -> Principal | None:
    """Rebuild ``principal`` from the database when its row came from the user cache.

    Gates call this before they reject a request, so a flag granted on another worker
    or outside crudauth within the cache lifetime does not cause a 403. Routes that
    check a password or a second factor call it so they judge the current row.

    Args:
        runtime: The facade's shared state.
        request: The current request; its cached resolution is updated.
        db: The request's database session.
        principal: The principal to reload.

    Returns:
        ``principal`` itself when its row was loaded by this request, the rebuilt
        principal otherwise, or ``None`` when the row is gone or no longer active.
    """
    if not came_from_cache(principal.user):
        return principal
    repo = runtime.repo
    user = await repo.reload_if_cached(db, principal.user)
    if user is None or not repo.is_active(user):
        return None
    ctx = AuthContext(request=request, db=db, runtime=runtime)
    rebuilt = _with_user(ctx, principal, user)
    resolutions: dict[tuple[str, ...], _Resolved] = getattr(request.state, CACHE_ATTRIBUTE, {})
    for entry in resolutions.values():
        if entry.principal is principal:
            entry.principal = rebuilt
    return rebuilt


def _with_user(ctx: AuthContext, principal: Principal, user: Any) -> Principal:
    """Return ``principal`` rebuilt around ``user``, with its flags read anew."""
    return ctx.build_principal(
        user_id=principal.user_id,
        user=user,
        transport=principal.transport,
        scopes=principal.scopes,
        metadata=principal.metadata,
    )
