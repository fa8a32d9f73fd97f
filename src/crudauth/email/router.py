"""The recovery routes: verify, reset and change, each as a request and a confirm."""

# No postponed annotations here: FastAPI must see the body models built at runtime.

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import BaseModel

from crudauth.dependencies import with_current_row
from crudauth.email.background import run_after_response
from crudauth.email.constants import (
    CHANGE_ACTION,
    CHANGE_REQUESTED,
    EMAIL_CHANGED,
    PASSWORD_RESET,
    RESET_ACTION,
    RESET_REQUESTED,
    VERIFIED,
    VERIFY_ACTION,
    VERIFY_REQUESTED,
)
from crudauth.email.schemas import (
    ChangeRequestIn,
    TokenIn,
    recovery_request_model,
    reset_confirm_model,
)
from crudauth.email.service import EmailFlowResult, EmailFlowService
from crudauth.principal import Principal
from crudauth.protocols import AuthSurface
from crudauth.ratelimit import KeyBy

__all__ = ["build_email_router"]


def _confirmed(detail: str, result: EmailFlowResult) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail}
    if result.redirect_to:
        body["redirect_to"] = result.redirect_to
    return body


def build_email_router(auth: AuthSurface, service: EmailFlowService) -> APIRouter:
    """Build the recovery routes over ``service``.

    The request routes respond at once with one fixed body, and the lookup, minting and
    delivery run after the response, so an existing and an unknown account look the
    same to the caller, in body and in time.

    Args:
        auth: The facade surface, for identity settings, limits and dependencies.
        service: The recovery service the routes call.

    Returns:
        A router with the verify, reset and email-change routes.

    Raises:
        ValueError: ``IdentityConfig.recovery`` names no field.
    """
    factor = auth.identity.recovery
    if factor is None:
        raise ValueError("Recovery routes need IdentityConfig(recovery=...) to name a field")
    medium = "email" if factor == "email" else "message"
    request_model = recovery_request_model(factor)
    reset_model = reset_confirm_model(auth.password_policy.body_field())
    router = APIRouter(tags=["auth"])

    def per_ip(action: str) -> list[Any]:
        return [Depends(auth.rate_limit(action, key=KeyBy.IP))]

    async def verify_request(body: BaseModel, background_tasks: BackgroundTasks) -> dict[str, str]:
        value = getattr(body, factor)
        redirect_to = getattr(body, "redirect_to", None)

        async def step(db: Any) -> None:
            await service.request_recovery_verification(db, value, redirect_to=redirect_to)

        background_tasks.add_task(run_after_response, auth.session, step, "verify-request")
        return {"detail": VERIFY_REQUESTED.format(medium=medium)}

    async def reset_request(body: BaseModel, background_tasks: BackgroundTasks) -> dict[str, str]:
        value = getattr(body, factor)
        redirect_to = getattr(body, "redirect_to", None)

        async def step(db: Any) -> None:
            await service.request_password_reset(db, value, redirect_to=redirect_to)

        background_tasks.add_task(run_after_response, auth.session, step, "reset-request")
        return {"detail": RESET_REQUESTED.format(medium=medium)}

    verify_request.__annotations__["body"] = request_model
    reset_request.__annotations__["body"] = request_model
    router.add_api_route(
        "/email/verify-request",
        verify_request,
        methods=["POST"],
        dependencies=per_ip(VERIFY_ACTION),
        name="email_verify_request",
    )

    @router.post("/email/verify-confirm")
    async def verify_confirm(body: TokenIn, db: Any = Depends(auth.session)) -> dict[str, Any]:
        result = await service.confirm_recovery_verification(db, body.token)
        return _confirmed(VERIFIED, result)

    router.add_api_route(
        "/password/reset-request",
        reset_request,
        methods=["POST"],
        dependencies=per_ip(RESET_ACTION),
        name="password_reset_request",
    )

    async def reset_confirm(body: BaseModel, db: Any = Depends(auth.session)) -> dict[str, Any]:
        result = await service.reset_password(db, body.token, body.new_password)  # type: ignore[attr-defined]
        return _confirmed(PASSWORD_RESET, result)

    reset_confirm.__annotations__["body"] = reset_model
    router.add_api_route(
        "/password/reset-confirm", reset_confirm, methods=["POST"], name="password_reset_confirm"
    )

    if service.supports_email_change:
        _add_change_routes(auth, service, router, per_ip(CHANGE_ACTION))
    return router


def _add_change_routes(
    auth: AuthSurface,
    service: EmailFlowService,
    router: APIRouter,
    dependencies: list[Any],
) -> None:
    # The password check of an email change runs on the database's row.
    current_user = with_current_row(auth.runtime, auth.current_user(), auth.session)
    repo = auth.repo

    @router.post("/email/change-request", dependencies=dependencies)
    async def change_request(
        body: ChangeRequestIn,
        background_tasks: BackgroundTasks,
        principal: Principal = Depends(current_user),
    ) -> dict[str, str]:
        new_email = await service.check_email_change(principal.user, body.new_email, body.password)
        user_id = principal.user_id
        redirect_to = body.redirect_to

        async def step(db: Any) -> None:
            # Reloaded here: the token binds the account as it is when it is minted.
            user = await repo.get_by_id(db, user_id)
            if user is not None and repo.is_active(user):
                await service.send_email_change(db, user, new_email, redirect_to=redirect_to)

        background_tasks.add_task(run_after_response, auth.session, step, "change-request")
        return {"detail": CHANGE_REQUESTED}

    @router.post("/email/change-confirm")
    async def change_confirm(body: TokenIn, db: Any = Depends(auth.session)) -> dict[str, Any]:
        result = await service.confirm_email_change(db, body.token)
        return _confirmed(EMAIL_CHANGED, result)
