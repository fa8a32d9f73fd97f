"""Device-management routes: list and revoke sessions, sign out, refresh CSRF."""

# No postponed annotations here: FastAPI must see real classes for Depends.

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, model_validator

from crudauth.core import AuthContext
from crudauth.exceptions import BadRequestException, NotFoundException, UnauthorizedException
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy
from crudauth.transports.session.constants import (
    CSRF_DISABLED,
    NOT_AUTHENTICATED,
    REMEMBER_ME_META_KEY,
    SESSION_NOT_FOUND,
    SESSION_REVOKED,
    SIGNED_OUT_EVERYWHERE,
)
from crudauth.transports.session.keys import same_text
from crudauth.transports.session.manager import SessionManager

if TYPE_CHECKING:
    from crudauth.transports.session.transport import SessionTransport

__all__ = ["SessionInfo", "build_session_management_router"]


class SessionInfo(BaseModel):
    """One row of ``GET /sessions``.

    ``session_id`` and ``id`` hold the same opaque handle, never the cookie value.
    Exactly one row of a listing is ``current``: the caller's session.
    """

    session_id: str
    id: str
    device: dict[str, Any] = Field(default_factory=dict)
    ip: str = ""
    created_at: datetime
    last_activity: datetime
    current: bool = False

    @model_validator(mode="before")
    @classmethod
    def _mirror_handle(cls, data: Any) -> Any:
        # Either name may be given; both fields always carry the same handle.
        if isinstance(data, dict):
            handle = data.get("id") or data.get("session_id")
            if handle is not None:
                data = {**data, "id": handle, "session_id": handle}
        return data


def build_session_management_router(auth: AuthSurface, transport: "SessionTransport") -> APIRouter:
    """Build ``GET /sessions``, ``DELETE /sessions/{handle}``, ``POST /logout-all``
    and ``POST /csrf/refresh`` for ``transport``.

    Every route but ``/csrf/refresh`` requires a principal of this session transport,
    so a bearer credential gets 401 and unsafe verbs are CSRF-checked.
    """
    router = APIRouter(tags=["auth"])
    session_principal = auth.current_user(transport=transport.name)

    def manager() -> SessionManager:
        if transport.manager is None:
            raise RuntimeError("SessionTransport is not bound: pass it to CRUDAuth(transports=...)")
        return transport.manager

    def require_csrf_enabled() -> None:
        if not transport.csrf_enabled:
            raise BadRequestException(CSRF_DISABLED)

    @router.get("/sessions", response_model=list[SessionInfo])
    async def list_sessions(
        principal: Annotated[Principal, Depends(session_principal)],
    ) -> list[SessionInfo]:
        """List the caller's live sessions with parsed device info."""
        rows = await manager().list_for_user(
            principal.user_id, current_session_id=principal.metadata.get("session_id")
        )
        return [SessionInfo(**row) for row in rows]

    @router.delete("/sessions/{session_handle:path}")
    async def revoke_session(
        session_handle: str,
        response: Response,
        principal: Annotated[Principal, Depends(session_principal)],
    ) -> dict[str, str]:
        """Revoke one of the caller's sessions by its handle."""
        sessions = manager()
        # Unknown, malformed and other users' handles share one 404, so nothing leaks.
        if not await sessions.revoke_by_handle(session_handle, principal.user_id):
            raise NotFoundException(SESSION_NOT_FOUND)
        current = principal.metadata.get("session_id")
        if isinstance(current, str) and same_text(sessions.session_handle(current), session_handle):
            sessions.clear_session_cookies(response)
        return {"detail": SESSION_REVOKED}

    @router.post(
        "/logout-all",
        # The same transport as the route's principal, so both share one resolution.
        dependencies=[
            Depends(auth.rate_limit("logout_all", key=KeyBy.USER, transport=transport.name))
        ],
    )
    async def logout_all(
        response: Response,
        principal: Annotated[Principal, Depends(session_principal)],
        db: Annotated[Any, Depends(auth.session)],
        keep_current: bool = False,
    ) -> dict[str, Any]:
        """Sign out of every session; ``keep_current=true`` keeps the caller's.

        Without ``keep_current`` the user's ``token_version`` moves too, so bearer
        tokens end as well; with it, only browser sessions end.
        """
        sessions = manager()
        current = principal.metadata.get("session_id")
        if not keep_current:
            # Bumped first: if revoking fails halfway, the new epoch still ends them.
            user = principal.user
            if user is None or user not in db:
                user = await auth.repo.get_by_id(db, principal.user_id)
            if user is not None:
                await auth.repo.increment_token_version(db, user)
        exclude = current if keep_current and isinstance(current, str) else None
        revoked = await sessions.revoke_all(principal.user_id, exclude=exclude)
        if not keep_current:
            sessions.clear_session_cookies(response)
        return {"detail": SIGNED_OUT_EVERYWHERE, "revoked": revoked}

    @router.post(
        "/csrf/refresh",
        dependencies=[
            Depends(require_csrf_enabled),
            Depends(auth.rate_limit("csrf_refresh")),
        ],
    )
    async def refresh_csrf(
        request: Request,
        response: Response,
        db: Annotated[Any, Depends(auth.session)],
    ) -> dict[str, str]:
        """Return the CSRF token, minting a new one only when the cookie is not valid.

        Needs no CSRF header, since requiring one would defeat the recovery. A
        cross-site page can trigger it but cannot read the response or the cookie.
        """
        sessions = manager()
        # Same checks as an authenticated request (live, active user, current epoch),
        # minus CSRF: a session made stale by a password change cannot refresh.
        ctx = AuthContext(
            request=request, db=db, runtime=auth.runtime, enforce_csrf=False, update_activity=True
        )
        resolved = await transport.resolve(request, ctx)
        if resolved is None:
            raise UnauthorizedException(NOT_AUTHENTICATED)

        presented = request.cookies.get(transport.csrf_cookie_name)
        # A healthy token is returned as is, so a cross-site trigger cannot break a tab.
        if (
            presented
            and sessions.csrf_matches_session(resolved.record, presented)
            and await sessions.validate_csrf_token(resolved.session_id, presented)
        ):
            return {"csrf_token": presented}

        token = await sessions.regenerate_csrf_token(resolved.session_id)
        if not token:
            raise UnauthorizedException(NOT_AUTHENTICATED)
        metadata = resolved.record.metadata
        max_age = (
            sessions.timeout_seconds_for(metadata) if metadata.get(REMEMBER_ME_META_KEY) else None
        )
        sessions.set_csrf_cookie(response, token, max_age=max_age)
        return {"csrf_token": token}

    return router
