"""Authenticating requests by their session cookie, and the CSRF check."""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from starlette.requests import Request

from crudauth.core import AuthContext, Transport
from crudauth.exceptions import CSRFException
from crudauth.principal import Principal
from crudauth.transports.session.constants import (
    CSRF_HEADER_NAME,
    INVALID_CSRF_TOKEN,
    MISSING_CSRF_TOKEN,
    SAFE_METHODS,
)
from crudauth.transports.session.manager import SessionManager
from crudauth.transports.session.schemas import SessionData

__all__ = ["ResolvedSession", "SessionAuthentication"]

security_logger = logging.getLogger("crudauth.security")


class ResolvedSession(NamedTuple):
    """A request's live session together with its active, current-epoch user.

    Attributes:
        session_id: The raw session id from the cookie.
        record: The stored session record.
        user: The user row.
    """

    session_id: str
    record: SessionData
    user: Any


class SessionAuthentication(Transport):
    """Authentication by session cookie, and the CSRF check of unsafe requests.

    A mixin of ``SessionTransport`` without a constructor: ``SessionTransport.__init__``
    sets every field and ``bind`` builds the manager.

    Attributes:
        cookie_name: Name of the session cookie.
        manager: The session manager, set by ``bind``.
    """

    cookie_name: str
    manager: SessionManager | None

    def _bound_manager(self) -> SessionManager:
        if self.manager is None:
            raise RuntimeError("SessionTransport is not bound: pass it to CRUDAuth(transports=...)")
        return self.manager

    async def resolve(self, request: Request, ctx: AuthContext) -> ResolvedSession | None:
        """Find the request's live session and its user.

        Runs every check of ``authenticate``: a live session, the CSRF header when
        ``ctx.enforce_csrf``, an existing active user, and the session's credential
        epoch matching the user's ``token_version``.

        Args:
            request: The incoming request.
            ctx: Per-request context, whose ``enforce_csrf`` and ``update_activity``
                apply.

        Returns:
            The session and its user, or ``None`` when the cookie is missing, the
            session has ended, or the user is gone, disabled or of another epoch.

        Raises:
            CSRFException: ``ctx.enforce_csrf`` is set and the CSRF header of an
                unsafe request is missing or invalid.
            StoreUnavailableError: The session store is unreachable.
        """
        manager = self._bound_manager()
        session_id = request.cookies.get(self.cookie_name)
        if not session_id:
            return None
        record = await manager.validate_session(session_id, update_activity=ctx.update_activity)
        if record is None:
            return None
        if ctx.enforce_csrf:
            await self.enforce_csrf(request, session_id, session=record)

        repo = ctx.repo

        def live(user: Any) -> bool:
            # A deactivated account authenticates as absent, not as an error.
            if not repo.is_active(user):
                return False
            # A password change or reset moved the epoch: older sessions are dead.
            epoch = record.token_version
            return epoch is None or epoch == repo.token_version(user)

        user = await ctx.resolve_current_user(record.user_id, live)
        if user is None:
            return None
        return ResolvedSession(session_id, record, user)

    async def authenticate(self, request: Request, ctx: AuthContext) -> Principal | None:
        """Resolve the session cookie to a principal; ``None`` if absent or invalid."""
        resolved = await self.resolve(request, ctx)
        if resolved is None:
            return None
        return ctx.build_principal(
            user_id=ctx.repo.user_id(resolved.user),
            user=resolved.user,
            transport=self.name,
            metadata={
                "session_id": resolved.session_id,
                # Read from the record already loaded, so /me costs no extra store read.
                "expires_at": self._bound_manager().expires_at(resolved.record),
            },
        )

    async def revalidate(self, request: Request, principal: Principal, ctx: AuthContext) -> bool:
        """Slide activity and run the CSRF check that an earlier resolution skipped."""
        session_id = principal.metadata.get("session_id")
        if principal.transport != self.name or not isinstance(session_id, str):
            return True
        manager = self._bound_manager()
        record: SessionData | None = None
        if ctx.update_activity:
            record = await manager.validate_session(session_id, update_activity=True)
            if record is None:
                return False
        if ctx.enforce_csrf:
            await self.enforce_csrf(request, session_id, session=record)
        return True

    async def enforce_csrf(
        self, request: Request, session_id: str, *, session: SessionData | None = None
    ) -> None:
        """Check the CSRF header of an unsafe request against the session.

        Only the ``X-CSRF-Token`` header is compared, never the CSRF cookie: a
        cross-site page makes the browser send cookies but cannot set a custom header.
        Safe methods and a transport with CSRF off pass without a check. A token keyed
        under a retired secret is moved to the current key.

        Args:
            request: The incoming request.
            session_id: The raw session id from the cookie.
            session: The session record, when already loaded, to save a store read.

        Raises:
            CSRFException: The header is missing, or its token is not the session's
                current one.
            StoreUnavailableError: The session or CSRF store is unreachable.
        """
        manager = self._bound_manager()
        if manager.csrf_storage is None or request.method.upper() in SAFE_METHODS:
            return
        token = request.headers.get(CSRF_HEADER_NAME, "")
        if session is None:
            session = await manager.get_session(session_id)
        if not token:
            self._log_csrf_failure(request, session_id, session, "missing")
            raise CSRFException(MISSING_CSRF_TOKEN)
        if session is None or not manager.csrf_matches_session(session, token):
            self._log_csrf_failure(request, session_id, session, "invalid")
            raise CSRFException(INVALID_CSRF_TOKEN)
        # A token keyed under a retired secret moves to the current secret's key.
        await manager.rekey_csrf_token(session, token)

    def _log_csrf_failure(
        self, request: Request, session_id: str, session: SessionData | None, reason: str
    ) -> None:
        manager = self._bound_manager()
        handle = manager.session_handle(session_id)
        user_id = session.user_id if session is not None else None
        security_logger.warning(
            "CSRF check failed reason=%s handle=%s user_id=%s method=%s path=%s",
            reason,
            handle,
            user_id,
            request.method,
            request.url.path,
            extra={
                "event": "csrf_failed",
                "reason": reason,
                "session_handle": handle,
                "user_id": user_id,
            },
        )
