"""The ``/passkeys`` routes: register, list, remove, sign in and the MFA step."""

# No postponed annotations here: FastAPI must see the real dependency signatures.

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Path
from starlette.requests import Request
from starlette.responses import Response

from crudauth.passkeys.constants import MAX_PASSKEY_ID_LENGTH, PASSKEY_REMOVED
from crudauth.passkeys.schemas import (
    LoginVerifyIn,
    MfaOptionsIn,
    MfaVerifyIn,
    PasskeyOut,
    RegisterOptionsIn,
    RegisterVerifyIn,
)
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy, RateLimit

if TYPE_CHECKING:
    from crudauth.passkeys.service import PasskeyService

__all__ = ["build_passkeys_router"]

# Options routes write a pending challenge, so anonymous callers are throttled per IP.
OPTIONS_LIMIT = RateLimit(60, 60)
OPTIONS_ACTION = "passkey_options"


def build_passkeys_router(auth: AuthSurface, service: "PasskeyService") -> APIRouter:
    """Build the ``/passkeys`` routes over ``auth`` and its passkey ``service``.

    Args:
        auth: The facade surface.
        service: The passkey service the routes call.

    Returns:
        A router with the list, remove, registration, sign-in and MFA-step routes.
    """
    router = APIRouter(prefix="/passkeys", tags=["auth:passkeys"])
    current_user = auth.current_user()
    # Adding or removing a passkey changes how the account signs in: a stolen session
    # alone must not be enough.
    sudo_user = auth.require_sudo()
    throttle = [Depends(auth.rate_limit(OPTIONS_ACTION, OPTIONS_LIMIT, key=KeyBy.IP))]

    @router.get("")
    async def list_passkeys(principal: Principal = Depends(current_user)) -> list[PasskeyOut]:
        """List the caller's passkeys."""
        return await service.list_passkeys(principal.user)

    @router.delete("/{passkey_id}")
    async def remove_passkey(
        request: Request,
        passkey_id: str = Path(max_length=MAX_PASSKEY_ID_LENGTH),
        principal: Principal = Depends(sudo_user),
    ) -> dict[str, str]:
        """Remove one of the caller's passkeys (sudo); any other id is a 404."""
        await service.remove_passkey(principal.user, passkey_id, request=request)
        return {"detail": PASSKEY_REMOVED}

    @router.post("/register/options")
    async def register_options(
        response: Response,
        body: RegisterOptionsIn | None = None,
        principal: Principal = Depends(sudo_user),
    ) -> dict[str, Any]:
        """Return creation options for ``navigator.credentials.create`` (sudo)."""
        return await service.registration_options(principal.user, response)

    @router.post("/register/verify", status_code=201)
    async def register_verify(
        request: Request,
        response: Response,
        body: RegisterVerifyIn,
        principal: Principal = Depends(sudo_user),
    ) -> PasskeyOut:
        """Verify the browser's new credential and save the passkey (sudo)."""
        return await service.register(
            principal.user, body.credential, body.name, request=request, response=response
        )

    @router.post("/login/options", dependencies=throttle)
    async def login_options(response: Response) -> dict[str, Any]:
        """Return request options for a discoverable sign-in (no username)."""
        return await service.login_options(response)

    @router.post("/login/verify")
    async def login_verify(
        request: Request,
        response: Response,
        body: LoginVerifyIn,
        db: Any = Depends(auth.session),
    ) -> dict[str, Any]:
        """Sign in with a passkey; opens a session like ``/login``."""
        return await service.sign_in(db, body.credential, request=request, response=response)

    if auth.runtime.mfa is not None:

        @router.post("/mfa/options", dependencies=throttle)
        async def mfa_options(body: MfaOptionsIn, response: Response) -> dict[str, Any]:
            """Return request options that finish an MFA challenge with a passkey."""
            return await service.mfa_options(body.challenge, response)

        @router.post("/mfa/verify")
        async def mfa_verify(
            request: Request,
            response: Response,
            body: MfaVerifyIn,
            db: Any = Depends(auth.session),
        ) -> dict[str, Any]:
            """Finish an MFA challenge with a passkey instead of a code."""
            return await service.complete_mfa(
                db, body.challenge, body.credential, request=request, response=response
            )

    return router
