"""Device-management routes: list and revoke sessions, sign out, refresh CSRF."""

# No postponed annotations here: FastAPI must see real classes for Depends.

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, model_validator

from crudauth.core import AuthContext
from crudauth.exceptions import BadRequestException, NotFoundException, UnauthorizedException
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy
from crudauth.revocation import end_user_credentials, token_families_of
from crudauth.security_log import SecurityEvent, SecurityEventType, record_security_event
from crudauth.transports.bearer import BearerTransport
from crudauth.transports.session.constants import (
    CSRF_DISABLED,
    NOT_AUTHENTICATED,
    REASON_USER_REVOKED,
    REASON_USER_REVOKED_ALL,
    REMEMBER_ME_META_KEY,
    SESSION_NOT_FOUND,
    SESSION_REVOKED,
    SIGNED_OUT_EVERYWHERE,
)
from crudauth.transports.session.keys import same_text
from crudauth.transports.session.manager import SessionManager

if TYPE_CHECKING:
    from crudauth.core import AuthRuntime
    from crudauth.transports.session.transport import SessionTransport

__all__ = [
    "SecurityEventPage",
    "SessionInfo",
    "build_session_management_router",
    "list_devices",
    "revoke_family_by_handle",
]

DEFAULT_EVENTS_PAGE = 50
MAX_EVENTS_PAGE = 200


class SessionInfo(BaseModel):
    """One row of ``GET /sessions``: a browser session or a token family.

    ``session_id`` and ``id`` hold the same opaque handle, never the cookie value or a
    token. ``kind`` is ``"session"`` or ``"token"``. ``expires_at`` is when the
    credential ends unless it is used (sessions) or refreshed (tokens) before then.
    At most one row is ``current``: the caller's own credential.
    """

    session_id: str
    id: str
    kind: Literal["session", "token"] = "session"
    device: dict[str, Any] = Field(default_factory=dict)
    ip: str = ""
    created_at: datetime
    last_activity: datetime
    expires_at: datetime
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


class SecurityEventPage(BaseModel):
    """One page of ``GET /security-events``."""

    events: list[SecurityEvent]
    total: int
    offset: int
    limit: int


def _is_stateless_bearer(candidate: Any) -> bool:
    return isinstance(candidate, BearerTransport) and candidate.families is None


async def list_devices(
    runtime: "AuthRuntime",
    sessions: SessionManager,
    user_id: Any,
    *,
    current_session: str | None = None,
    current_family: str | None = None,
) -> list[SessionInfo]:
    """Return the user's live sessions and token families, latest activity first.

    These are the rows of ``GET /sessions``: browser sessions and bearer devices.

    Args:
        runtime: The facade's shared state, for the bearer transports.
        sessions: The session manager whose sessions are listed.
        user_id: Primary key of the user.
        current_session: The caller's raw session id, marked ``current``.
        current_family: The caller's raw token family id, marked ``current``.

    Returns:
        One row per live session or family.

    Raises:
        StoreUnavailableError: A store did not respond.
    """
    rows = await sessions.list_for_user(user_id, current_session_id=current_session)
    for bearer in token_families_of(runtime):
        assert bearer.families is not None
        current_key = bearer.families.family_key(current_family) if current_family else None
        for key, family in await bearer.families.live_for_user(user_id):
            rows.append(
                {
                    "id": family.handle,
                    "kind": "token",
                    "device": dict(family.device_info),
                    "ip": family.ip_address,
                    "created_at": family.created_at,
                    "last_activity": family.last_used,
                    "expires_at": family.expires_at,
                    "current": current_key is not None and same_text(key, current_key),
                }
            )
    rows.sort(key=lambda row: row["last_activity"], reverse=True)
    return [SessionInfo(**row) for row in rows]


async def revoke_family_by_handle(
    runtime: "AuthRuntime", handle: str, user_id: Any, *, request: Request | None = None
) -> bool:
    """End the user's token family whose public handle is ``handle``.

    Only the user's own families are searched, as ``revoke_by_handle`` does for
    sessions. The ended family is written to the security log.

    Args:
        runtime: The facade's shared state, for the bearer transports.
        handle: The family's public handle, as listed by ``list_devices``.
        user_id: Primary key of the user whose families are searched.
        request: The request, for the security log.

    Returns:
        Whether a family ended.

    Raises:
        StoreUnavailableError: A store did not respond.
    """
    for bearer in token_families_of(runtime):
        assert bearer.families is not None
        ended = await bearer.families.revoke_by_handle(handle, user_id)
        if ended is not None:
            await record_security_event(
                runtime,
                user_id,
                SecurityEventType.TOKEN_FAMILY_ENDED,
                request=request,
                detail={"handles": [ended.handle], "count": 1, "reason": REASON_USER_REVOKED},
            )
            return True
    return False


def build_session_management_router(auth: AuthSurface, transport: "SessionTransport") -> APIRouter:
    """Build the device-management routes of ``transport``.

    The routes are ``GET /sessions``, ``DELETE /sessions/{handle}``,
    ``POST /logout-all``, ``GET /security-events`` and ``POST /csrf/refresh``. Every
    route but ``/csrf/refresh`` requires a principal of this session transport (a
    bearer caller gets 401), so every unsafe verb is CSRF-checked. The lists and
    revocations still cover the user's token families.

    Args:
        auth: The facade.
        transport: The session transport whose sessions the routes manage.

    Returns:
        A router without a prefix, tagged ``auth``.
    """
    router = APIRouter(tags=["auth"])
    # Bearer callers are refused: these routes end other devices and rely on the
    # session's CSRF check, which a bearer request never carries.
    owner_transports = [transport.name]
    session_principal = auth.current_user(transport=owner_transports)
    # Listing only reads the principal: a cached user row serves it without a session.
    reading_principal = auth.reading_user(transport=owner_transports)

    def own_credential(principal: Principal) -> tuple[str | None, str | None]:
        """Return the caller's raw session id and raw family id (one is ``None``)."""
        session_id = principal.metadata.get("session_id")
        family_id = principal.metadata.get("family_id")
        return (
            session_id if principal.transport == transport.name else None,
            family_id if isinstance(family_id, str) else None,
        )

    def manager() -> SessionManager:
        if transport.manager is None:
            raise RuntimeError("SessionTransport is not bound: pass it to CRUDAuth(transports=...)")
        return transport.manager

    def require_csrf_enabled() -> None:
        if not transport.csrf_enabled:
            raise BadRequestException(CSRF_DISABLED)

    @router.get("/sessions", response_model=list[SessionInfo])
    async def list_sessions(
        principal: Annotated[Principal, Depends(reading_principal)],
    ) -> list[SessionInfo]:
        """List the caller's live sessions and token families with device info."""
        current_session, current_family = own_credential(principal)
        return await list_devices(
            auth.runtime,
            manager(),
            principal.user_id,
            current_session=current_session,
            current_family=current_family,
        )

    @router.delete("/sessions/{session_handle:path}")
    async def revoke_session(
        session_handle: str,
        request: Request,
        response: Response,
        principal: Annotated[Principal, Depends(session_principal)],
    ) -> dict[str, str]:
        """Revoke one of the caller's sessions or token families by its handle."""
        sessions = manager()
        current_session, _current_family = own_credential(principal)
        # Unknown, malformed and other users' handles share one 404, so nothing leaks.
        if await sessions.revoke_by_handle(session_handle, principal.user_id):
            if current_session and same_text(
                sessions.session_handle(current_session), session_handle
            ):
                sessions.clear_session_cookies(response)
            return {"detail": SESSION_REVOKED}
        if await revoke_family_by_handle(
            auth.runtime, session_handle, principal.user_id, request=request
        ):
            return {"detail": SESSION_REVOKED}
        raise NotFoundException(SESSION_NOT_FOUND)

    @router.post(
        "/logout-all",
        # The same transports as the route's principal, so both share one resolution.
        dependencies=[
            Depends(auth.rate_limit("logout_all", key=KeyBy.USER, transport=owner_transports))
        ],
    )
    async def logout_all(
        request: Request,
        response: Response,
        principal: Annotated[Principal, Depends(session_principal)],
        db: Annotated[Any, Depends(auth.session)],
        keep_current: bool = False,
    ) -> dict[str, Any]:
        """End every browser session and token family of the caller.

        ``keep_current=true`` keeps only the caller's own credential. Token families
        end every bearer credential, so ``token_version`` moves only when a bearer
        transport is stateless: its tokens are checked against nothing else.
        """
        current_session, current_family = own_credential(principal)
        if not keep_current and any(_is_stateless_bearer(t) for t in auth.transports):
            # Bumped first: if revoking fails halfway, the new epoch still ends them.
            user = principal.user
            if user is None or user not in db:
                user = await auth.repo.get_by_id(db, principal.user_id)
            if user is not None:
                await auth.repo.increment_token_version(db, user)
        revoked = await end_user_credentials(
            auth.runtime,
            principal.user_id,
            reason=REASON_USER_REVOKED_ALL,
            keep_session=current_session if keep_current else None,
            keep_family=current_family if keep_current else None,
            request=request,
        )
        if not keep_current:
            auth.runtime.clear_cookies(response)
        return {"detail": SIGNED_OUT_EVERYWHERE, "revoked": revoked}

    @router.get("/security-events")
    async def security_events(
        principal: Annotated[Principal, Depends(session_principal)],
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = DEFAULT_EVENTS_PAGE,
    ) -> SecurityEventPage:
        """Return a page of the caller's security log, newest first."""
        log = auth.runtime.security_log
        if log is None:
            return SecurityEventPage(events=[], total=0, offset=offset, limit=limit)
        events, total = await log.events(principal.user_id, offset=offset, limit=limit)
        return SecurityEventPage(events=events, total=total, offset=offset, limit=limit)

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
