"""``/login`` and ``/logout`` of the session transport."""

# No postponed annotations here: FastAPI must see real classes for forms and Depends.

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from crudauth.transports.login import password_login
from crudauth.transports.session.constants import LOGGED_OUT

if TYPE_CHECKING:
    from crudauth.transports.session.transport import SessionTransport

__all__ = ["build_session_routes"]


def build_session_routes(transport: "SessionTransport") -> APIRouter:
    """Build ``POST /login`` and ``POST /logout`` over the app's DB dependency.

    Args:
        transport: The session transport, already bound to the facade's runtime.

    Returns:
        A router without a prefix, tagged ``auth``.

    Raises:
        RuntimeError: The runtime has no database dependency.
    """
    db_dependency = transport.runtime.db_dependency
    if db_dependency is None:
        raise RuntimeError("SessionTransport routes need CRUDAuth(session=...)")
    router = APIRouter(tags=["auth"])

    @router.post("/login")
    async def login(
        request: Request,
        response: Response,
        form_data: Annotated[OAuth2PasswordRequestForm, Depends()],
        db: Annotated[Any, Depends(db_dependency)],
        remember_me: Annotated[bool, Form()] = False,
    ) -> dict[str, Any]:
        """Sign in with a username or email and a password; sets the session cookies."""
        return await password_login(
            transport, request, response, db, form_data, {"remember_me": remember_me}
        )

    @router.post("/logout")
    async def logout(
        request: Request,
        response: Response,
        db: Annotated[Any, Depends(db_dependency)],
    ) -> dict[str, str]:
        """End the current session (CSRF header required while it is live)."""
        await transport.complete_logout(request, response, db)
        return {"detail": LOGGED_OUT}

    return router
