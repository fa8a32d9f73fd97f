"""The bearer routes: ``/token``, ``/refresh`` and the conditional ``/logout``.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
runtime and must see real classes.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from starlette.requests import Request
from starlette.responses import Response

from crudauth.core import AuthContext
from crudauth.exceptions import UnauthorizedException
from crudauth.transports.bearer.constants import LOGGED_OUT, REFRESH_LOCATION_COOKIE
from crudauth.transports.bearer.transport import BearerTransport
from crudauth.transports.login import password_login
from crudauth.transports.session.constants import TRANSPORT_NAME as SESSION_TRANSPORT_NAME

__all__ = ["build_bearer_routes"]


def build_bearer_routes(transport: BearerTransport) -> APIRouter:
    """Build the ``/token``, ``/refresh`` and ``/logout`` routes of ``transport``.

    ``/logout`` is added only for cookie delivery and only when no transport named
    ``"session"`` is configured, because the session ``/logout`` already clears every
    transport's cookies.

    Args:
        transport: The bearer transport, already bound to the facade's runtime.

    Returns:
        A router without a prefix, tagged ``auth:bearer``.

    Raises:
        RuntimeError: The runtime has no database dependency.
    """
    runtime = transport.runtime
    db_dependency = runtime.db_dependency
    if db_dependency is None:
        raise RuntimeError(
            "BearerTransport routes need the app's database dependency; "
            "pass session=... to CRUDAuth"
        )
    router = APIRouter(tags=["auth:bearer"])

    @router.post("/token")
    async def token(
        request: Request,
        response: Response,
        form_data: Annotated[OAuth2PasswordRequestForm, Depends()],
        db: Annotated[Any, Depends(db_dependency)],
    ) -> dict[str, Any]:
        # password_login rejects a cross-site request when refresh cookies are set, so
        # another site cannot plant its own refresh cookie in this browser.
        options: dict[str, Any] = {"scopes": list(form_data.scopes)}
        try:
            return await password_login(transport, request, response, db, form_data, options)
        except UnauthorizedException as exc:
            raise transport.make_unauthorized_error(str(exc.detail)) from exc

    @router.post("/refresh")
    async def refresh(
        request: Request, response: Response, db: Annotated[Any, Depends(db_dependency)]
    ) -> dict[str, str]:
        # No CSRF check: a cross-site request can rotate the cookie but not read either
        # token, and the rotation leaves the browser holding the new refresh token.
        ctx = AuthContext(request=request, db=db, runtime=runtime)
        body = await transport.refresh_access_token(request, ctx)
        if transport.refresh == REFRESH_LOCATION_COOKIE and "refresh_token" in body:
            transport.set_refresh_cookie(response, body.pop("refresh_token"))
        return body

    has_session_transport = any(t.name == SESSION_TRANSPORT_NAME for t in runtime.transports)
    if transport.refresh == REFRESH_LOCATION_COOKIE and not has_session_transport:

        @router.post("/logout")
        async def logout(request: Request, response: Response) -> dict[str, str]:
            # Ends the device server-side too, so a copied refresh cookie dies with it.
            family_id = await transport.family_of_request(request)
            if family_id is not None:
                await transport.end_family(family_id)
            runtime.clear_cookies(response)
            return {"detail": LOGGED_OUT}

    return router
