"""The ``/mfa`` routes: finish a two-step login, enrol, disable, new recovery codes."""

# No postponed annotations here: FastAPI must see the real dependency signatures.

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from crudauth.constants import FRESH_SIGN_IN_REQUIRED, MAX_PASSWORD_LENGTH
from crudauth.dependencies import with_current_row
from crudauth.exceptions import BadRequestException, ForbiddenException, UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.mfa.challenges import MAX_CHALLENGE_LENGTH
from crudauth.mfa.constants import (
    INCORRECT_PASSWORD,
    INVALID_CODE,
    MFA_DISABLED,
    MFA_REQUIRED_FOR_ACCOUNT,
    NOT_ENABLED,
)
from crudauth.mfa.service import MfaService
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy
from crudauth.utils.hashing import is_unusable_password
from crudauth.utils.http import get_client_ip

__all__ = ["build_mfa_router"]

# Longest code accepted: a recovery code with generous spacing fits easily.
MAX_CODE_LENGTH = 64


class VerifyIn(BaseModel):
    challenge: str = Field(max_length=MAX_CHALLENGE_LENGTH)
    code: str = Field(max_length=MAX_CODE_LENGTH)


class ChallengeIn(BaseModel):
    challenge: str = Field(max_length=MAX_CHALLENGE_LENGTH)


class SetupIn(BaseModel):
    password: str | None = Field(default=None, max_length=MAX_PASSWORD_LENGTH)


class CodeIn(BaseModel):
    code: str = Field(max_length=MAX_CODE_LENGTH)


def build_mfa_router(auth: AuthSurface, service: MfaService) -> APIRouter:
    """Build the ``/mfa`` routes over ``auth`` and its MFA ``service``.

    Args:
        auth: The facade surface.
        service: The MFA service the routes call.

    Returns:
        A router with the status, enrolment, disable, recovery-code and verify routes.
    """
    router = APIRouter(prefix="/mfa", tags=["auth:mfa"])
    repo = auth.repo
    # The second factor is judged on the database's row, never a cached copy.
    current_user = with_current_row(auth.runtime, auth.current_user(), auth.session)
    manage_limit = [Depends(auth.rate_limit("mfa_manage", key=KeyBy.USER))]

    def hook_context(request: Request, principal: Principal) -> HookContext:
        return HookContext(
            ip_address=get_client_ip(request, auth.runtime.trusted_proxy_hops),
            user_agent=request.headers.get("user-agent"),
            transport=principal.transport,
            request=request,
        )

    @router.post("/verify")
    async def verify(
        request: Request, response: Response, body: VerifyIn, db: Any = Depends(auth.session)
    ) -> dict[str, Any]:
        """Finish a two-step login with an authenticator or recovery code."""
        return await service.complete_challenge(
            db, body.challenge, body.code, request=request, response=response
        )

    @router.post("/challenge")
    async def challenge(body: ChallengeIn, db: Any = Depends(auth.session)) -> dict[str, Any]:
        """Return the enrolment details of a challenge; does not count as an attempt."""
        return await service.describe_challenge(db, body.challenge)

    @router.get("")
    async def status(principal: Principal = Depends(current_user)) -> dict[str, Any]:
        """Return whether MFA is on or required and how many recovery codes remain."""
        return await service.status(principal.user)

    @router.post("/totp/setup", dependencies=manage_limit)
    async def setup(
        body: SetupIn,
        principal: Principal = Depends(current_user),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        """Start enrolling an authenticator app; returns the secret and otpauth URI."""
        user = principal.user
        stored = repo.get(user, "hashed_password")
        if not is_unusable_password(stored):
            # A stolen session alone cannot move the second factor to another device.
            if body.password is None or not await auth.runtime.passwords.verify_async(
                body.password, stored
            ):
                raise UnauthorizedException(INCORRECT_PASSWORD)
        elif not await auth.signed_in_recently(principal):
            # Password-less accounts prove presence with a recent sign-in or sudo.
            raise ForbiddenException(FRESH_SIGN_IN_REQUIRED)
        return await service.begin_setup(db, user)

    @router.post("/totp/confirm", dependencies=manage_limit)
    async def confirm(
        request: Request,
        body: CodeIn,
        principal: Principal = Depends(current_user),
        db: Any = Depends(auth.session),
    ) -> dict[str, list[str]]:
        """Enable MFA with a code of the pending secret; returns recovery codes once."""
        codes = await service.confirm_setup(
            db, principal.user, body.code, context=hook_context(request, principal)
        )
        return {"recovery_codes": codes}

    @router.post("/totp/disable", dependencies=manage_limit)
    async def disable(
        request: Request,
        body: CodeIn,
        principal: Principal = Depends(current_user),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        """Turn MFA off with an authenticator or recovery code."""
        user = principal.user
        if await service.is_required(user):
            raise ForbiddenException(MFA_REQUIRED_FOR_ACCOUNT)
        context = hook_context(request, principal)
        if not await service.verify_code(db, user, body.code, context=context):
            raise UnauthorizedException(INVALID_CODE)
        await service.disable(db, user, context=context)
        return {"detail": MFA_DISABLED}

    @router.post("/recovery-codes/regenerate", dependencies=manage_limit)
    async def regenerate(
        request: Request,
        body: CodeIn,
        principal: Principal = Depends(current_user),
        db: Any = Depends(auth.session),
    ) -> dict[str, list[str]]:
        """Replace every recovery code after proving a code; returns the new ones."""
        user = principal.user
        if not service.is_enrolled(user):
            raise BadRequestException(NOT_ENABLED)
        context = hook_context(request, principal)
        if not await service.verify_code(db, user, body.code, context=context):
            raise UnauthorizedException(INVALID_CODE)
        return {"recovery_codes": await service.regenerate_recovery_codes(db, user)}

    return router
