"""``GET /me``, ``POST /set-password`` and ``POST /change-password``."""

# No postponed annotations here: FastAPI must see the real dependency signatures.

import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.requests import Request

from crudauth.constants import FRESH_SIGN_IN_REQUIRED
from crudauth.dependencies import with_current_row
from crudauth.exceptions import BadRequestException, ForbiddenException, UnauthorizedException
from crudauth.hooks import HookContext
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy
from crudauth.revocation import end_user_credentials, rebind_family
from crudauth.security_log import SecurityEventType, record_security_event
from crudauth.utils.hashing import is_unusable_password

__all__ = ["build_account_router"]

logger = logging.getLogger("crudauth.security")

ALREADY_HAS_PASSWORD = "Account already has a password; use the password reset flow to change it."
NO_PASSWORD = "Account has no password; use /set-password to create one."
WRONG_CURRENT_PASSWORD = "Current password is incorrect."
PASSWORD_CHANGED_REASON = "password_changed"


class SetPasswordIn(BaseModel):
    new_password: str


class ChangePasswordIn(BaseModel):
    current_password: str
    new_password: str


def build_account_router(auth: AuthSurface) -> APIRouter:
    """Build the account routes over ``auth``.

    Args:
        auth: The facade surface.

    Returns:
        A router with ``GET /me``, ``POST /set-password`` and
        ``POST /change-password``.
    """
    router = APIRouter(tags=["auth"])
    repo = auth.repo
    passwords = auth.runtime.passwords
    current_user = auth.current_user()
    # Password routes judge the database's row, never a cached copy.
    current_row = with_current_row(auth.runtime, current_user, auth.session)

    # /me only reads the principal, so a cached user row serves it without a session.
    reading_user = auth.reading_user()

    @router.get("/me")
    async def me(principal: Principal = Depends(reading_user)) -> dict[str, Any]:
        user = principal.user
        return {
            "user_id": principal.user_id,
            "username": repo.get(user, "username") if user is not None else None,
            "email": repo.get(user, "email") if user is not None else None,
            "is_superuser": principal.is_superuser,
            "scopes": list(principal.scopes),
            "via": principal.transport,
            "expires_at": await credential_expiry(auth, principal),
        }

    @router.post("/set-password")
    async def set_password(
        body: SetPasswordIn,
        principal: Principal = Depends(current_row),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        user = principal.user
        stored = repo.get(user, "hashed_password")
        if not is_unusable_password(stored):
            raise BadRequestException(ALREADY_HAS_PASSWORD)
        # A stolen idle session must not be able to plant a password on the account.
        if not await auth.signed_in_recently(principal):
            raise ForbiddenException(FRESH_SIGN_IN_REQUIRED)
        await auth.validate_password(
            body.new_password, user=user, source="set", field="new_password"
        )
        hashed = await passwords.hash_async(body.new_password)
        # Compare-and-set: of parallel requests only the first sets a password, so a
        # racing request cannot replace it while being told it set its own.
        if not await repo.update_if_unchanged(
            db, user, {"hashed_password": stored}, {"hashed_password": hashed}
        ):
            raise BadRequestException(ALREADY_HAS_PASSWORD)
        logger.info("password set user_id=%s", principal.user_id)
        return {"detail": "Password set."}

    @router.post(
        "/change-password",
        dependencies=[Depends(auth.rate_limit("change_password", key=KeyBy.USER))],
    )
    async def change_password(
        request: Request,
        body: ChangePasswordIn,
        principal: Principal = Depends(current_row),
        db: Any = Depends(auth.session),
    ) -> dict[str, str]:
        user = principal.user
        stored = repo.get(user, "hashed_password")
        if is_unusable_password(stored):
            raise BadRequestException(NO_PASSWORD)
        if not await passwords.verify_async(body.current_password, stored):
            logger.warning(
                "password change rejected: wrong current password user_id=%s",
                principal.user_id,
            )
            raise UnauthorizedException(WRONG_CURRENT_PASSWORD)
        await auth.validate_password(
            body.new_password, user=user, source="change", field="new_password"
        )

        hashed = await passwords.hash_async(body.new_password)
        # Compare-and-set: a password changed by a parallel request since the check
        # above wins, and this request gets the 401 of a wrong current password.
        if not await repo.update_if_unchanged(
            db, user, {"hashed_password": stored}, {"hashed_password": hashed}
        ):
            raise UnauthorizedException(WRONG_CURRENT_PASSWORD)
        # A changed password is a compromise response: every bearer token dies with it.
        user = await repo.increment_token_version(db, user)
        # Only the caller's own credential survives, rebound to the new epoch.
        caller_session, caller_family = caller_credential(principal)
        manager = auth.session_manager
        if manager is not None and caller_session:
            await manager.set_token_version(caller_session, repo.token_version(user))
        if caller_family:
            await rebind_family(auth.runtime, caller_family, repo.token_version(user))
        revoked = await end_user_credentials(
            auth.runtime,
            principal.user_id,
            reason=PASSWORD_CHANGED_REASON,
            keep_session=caller_session,
            keep_family=caller_family,
            request=request,
        )
        logger.info(
            "password changed user_id=%s other_credentials_revoked=%s",
            principal.user_id,
            revoked,
        )
        await record_security_event(
            auth.runtime, principal.user_id, SecurityEventType.PASSWORD_CHANGED, request=request
        )

        context = HookContext(transport=principal.transport, request=request)
        await auth.hooks.fire(
            "on_after_password_changed", repo.to_dict(user), db=db, context=context
        )
        return {"detail": "Password changed."}

    return router


def caller_credential(principal: Principal) -> tuple[str | None, str | None]:
    """Return the caller's raw session id and raw token family id, or ``None`` each.

    Args:
        principal: The authenticated caller.

    Returns:
        ``(session_id, family_id)``; the session id only for the session transport.
    """
    session_id = principal.metadata.get("session_id")
    family_id = principal.metadata.get("family_id")
    return (
        session_id if isinstance(session_id, str) and principal.transport == "session" else None,
        family_id if isinstance(family_id, str) else None,
    )


async def credential_expiry(auth: AuthSurface, principal: Principal) -> datetime | None:
    """Return when the caller's credential ends: its session, family or access token.

    Transports put ``expires_at`` in the principal's metadata. Only a principal built
    without it (a custom transport) costs a store read here.

    Args:
        auth: The facade surface, for the session manager.
        principal: The authenticated caller.

    Returns:
        The expiry time, or ``None`` when it cannot be determined.
    """
    expires_at = principal.metadata.get("expires_at")
    if isinstance(expires_at, datetime):
        return expires_at
    session_id, _family_id = caller_credential(principal)
    manager = auth.session_manager
    if session_id is None or manager is None:
        return None
    record = await manager.get_session(session_id)
    return manager.expires_at(record) if record is not None else None
