"""``GET /me``, ``POST /set-password`` and ``POST /change-password``."""

# No postponed annotations here: FastAPI must see the real dependency signatures.

import logging
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.requests import Request

from crudauth.constants import FRESH_SIGN_IN_REQUIRED
from crudauth.exceptions import BadRequestException, ForbiddenException, UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy
from crudauth.utils.hashing import is_unusable_password

__all__ = ["build_account_router"]

logger = logging.getLogger("crudauth.security")

ALREADY_HAS_PASSWORD = "Account already has a password; use the password reset flow to change it."
NO_PASSWORD = "Account has no password; use /set-password to create one."
WRONG_CURRENT_PASSWORD = "Current password is incorrect."


class SetPasswordIn(BaseModel):
    new_password: str


class ChangePasswordIn(BaseModel):
    current_password: str
    new_password: str


def build_account_router(auth: AuthSurface) -> APIRouter:
    """Build the account routes over ``auth``."""
    router = APIRouter(tags=["auth"])
    repo = auth.repo
    passwords = auth.runtime.passwords
    current_user = auth.current_user()

    @router.get("/me")
    async def me(principal: Principal = Depends(current_user)) -> dict[str, Any]:
        user = principal.user
        return {
            "user_id": principal.user_id,
            "username": repo.get(user, "username") if user is not None else None,
            "email": repo.get(user, "email") if user is not None else None,
            "is_superuser": principal.is_superuser,
            "scopes": list(principal.scopes),
            "via": principal.transport,
        }

    @router.post("/set-password")
    async def set_password(
        body: SetPasswordIn,
        principal: Principal = Depends(current_user),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        user = principal.user
        if not is_unusable_password(repo.get(user, "hashed_password")):
            raise BadRequestException(ALREADY_HAS_PASSWORD)
        # A stolen idle session must not be able to plant a password on the account.
        if not await auth.signed_in_recently(principal):
            raise ForbiddenException(FRESH_SIGN_IN_REQUIRED)
        await auth.validate_password(
            body.new_password, user=user, source="set", field="new_password"
        )
        hashed = await passwords.hash_async(body.new_password)
        await repo.update(db, user, {"hashed_password": hashed})
        logger.info("password set user_id=%s", principal.user_id)
        return {"detail": "Password set."}

    @router.post(
        "/change-password",
        dependencies=[Depends(auth.rate_limit("change_password", key=KeyBy.USER))],
    )
    async def change_password(
        request: Request,
        body: ChangePasswordIn,
        principal: Principal = Depends(current_user),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        user = principal.user
        stored = repo.get(user, "hashed_password")
        if is_unusable_password(stored):
            raise BadRequestException(NO_PASSWORD)
        if not await passwords.verify_async(body.current_password, stored):
            logger.warning(
                "password change refused: wrong current password user_id=%s",
                principal.user_id,
            )
            raise UnauthorizedException(WRONG_CURRENT_PASSWORD)
        await auth.validate_password(
            body.new_password, user=user, source="change", field="new_password"
        )

        hashed = await passwords.hash_async(body.new_password)
        user = await repo.update(db, user, {"hashed_password": hashed})
        # A changed password is a compromise response: every bearer token dies with it.
        user = await repo.increment_token_version(db, user)
        manager = auth.session_manager
        if manager is not None:
            caller_session = (
                principal.metadata.get("session_id") if principal.transport == "session" else None
            )
            if caller_session:
                await manager.set_token_version(caller_session, repo.token_version(user))
            revoked = await manager.terminate_all_user_sessions(
                principal.user_id, reason="password_changed", exclude=caller_session
            )
            logger.info(
                "password changed user_id=%s other_sessions_revoked=%s",
                principal.user_id,
                revoked,
            )

        context = HookContext(transport=principal.transport, request=request)
        await auth.hooks.fire(
            "on_after_password_changed", repo.to_dict(user), db=db, context=context
        )
        return {"detail": "Password changed."}

    return router
