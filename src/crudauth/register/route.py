"""``POST /register``: create an account from an allowlisted body."""

# No postponed annotations here: FastAPI must see the body model chosen at runtime.

import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends
from pydantic import BaseModel, EmailStr
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from crudauth.email.background import run_after_response
from crudauth.exceptions import (
    DuplicateValueException,
    UnprocessableEntityException,
    ValueTooLongException,
)
from crudauth.hooks import HookContext
from crudauth.password import PasswordContext
from crudauth.protocols import AuthSurface
from crudauth.provisioning import NewUserContext, resolve_new_user_fields
from crudauth.ratelimit.dependency import enforce_rate_limit
from crudauth.register.constants import ACCOUNT_EXISTS, SIGNUP_ACCEPTED
from crudauth.utils.http import client_ip_key, get_client_ip
from crudauth.utils.identifiers import canonical_email, username_problem

__all__ = ["RegisterIn", "build_register_route"]

logger = logging.getLogger("crudauth.register")


class RegisterIn(BaseModel):
    """The default ``/register`` body."""

    email: EmailStr
    username: str
    password: str


def build_register_route(auth: AuthSurface, body_model: type[BaseModel]) -> APIRouter:
    """Build ``POST /register`` for ``body_model``.

    The route checks the password policy, keeps only registrable fields, counts the
    ``register`` limit per IP (failing closed) and creates the account. When signup
    verifies the recovery factor, it returns 202 with one body for new and taken
    private values. Otherwise it returns 200 with the new account, or 422 for a taken
    value.

    Args:
        auth: The facade surface.
        body_model: The request body model; it must declare ``password`` and every
            ``identity.login`` field.

    Returns:
        A router with ``POST /register``.

    Raises:
        ValueError: ``body_model`` lacks ``password`` or a login field, or a login field
            other than email and username is not listed in ``register_extra_fields``.
    """
    repo = auth.repo
    login_fields = list(auth.identity.login)
    declared = set(body_model.model_fields)
    missing = [name for name in ["password", *login_fields] if name not in declared]
    if missing:
        raise ValueError(
            f"register_schema {body_model.__name__} must declare {missing!r}: "
            f"registration needs the password and every identity.login field"
        )
    filtered_away = [
        name for name in login_fields if not repo.filter_registration_data({name: "x"})
    ]
    if filtered_away:
        raise ValueError(
            f"identity.login field(s) {filtered_away!r} are not registrable; add them to "
            f"register_extra_fields"
        )

    router = APIRouter(tags=["auth"])

    async def register(
        request: Request,
        response: Response,
        body: BaseModel,
        background_tasks: BackgroundTasks,
        db: Any = Depends(auth.session),
    ) -> dict[str, Any]:
        submitted = body.model_dump()
        password = submitted.pop("password")
        await auth.password_policy.enforce(
            password,
            PasswordContext(
                source="register",
                username=submitted.get("username"),
                email=submitted.get("email"),
                user=None,
            ),
            field="password",
        )
        _reject_unstorable(submitted)
        data = repo.filter_registration_data(dict(submitted))
        username = data.get("username")
        problem = username_problem(username) if isinstance(username, str) else None
        if problem is not None:
            # A blank, padded, invisible or mixed-script name imitates another account.
            raise UnprocessableEntityException(problem)

        too_long = {
            name: max_length
            for name, value in data.items()
            if (max_length := repo.exceeds_length(name, value)) is not None
        }
        if too_long:
            raise ValueTooLongException(too_long)

        # Counted only after validation, so malformed requests do not burn the budget.
        limit = auth.rate_limits["register"]
        if not limit.disabled:
            ip = client_ip_key(get_client_ip(request, auth.runtime.trusted_proxy_hops))
            headers = await enforce_rate_limit(
                auth.rate_limiter, request, "register", limit, ip, fail_open=False
            )
            response.headers.update(headers)

        # Hashed before the duplicate check so a taken and a free name cost the same.
        hashed = await auth.runtime.passwords.hash_async(password)
        unique_values = [
            (name, value)
            for name, value in data.items()
            if value is not None and repo.is_unique_column(name)
        ]
        taken = await _first_taken(auth, db, unique_values)
        if taken is not None:
            return _answer_duplicate(auth, taken, response, background_tasks)

        insert = {**data, "hashed_password": hashed, **auth.new_user_defaults}
        insert.update(
            await resolve_new_user_fields(
                auth.new_user_fields,
                NewUserContext(
                    email=canonical_email(data.get("email")) or "",
                    username=str(username or ""),
                    source="register",
                    db=db,
                    register_data=submitted,
                    oauth=None,
                ),
                repo,
            )
        )
        try:
            user = await repo.create(db, insert)
        except IntegrityError:
            # A concurrent signup won the race: report the duplicate, never a 500.
            await db.rollback()
            taken = await _first_taken(auth, db, unique_values)
            if taken is None:
                raise DuplicateValueException(ACCOUNT_EXISTS) from None
            return _answer_duplicate(auth, taken, response, background_tasks)

        context = HookContext(
            ip_address=get_client_ip(request, auth.runtime.trusted_proxy_hops),
            user_agent=request.headers.get("user-agent"),
            request=request,
        )
        if not await auth.hooks.fire(
            "on_after_register", repo.to_dict(user), db=db, context=context
        ):
            await db.rollback()
            user = await repo.refresh_if_expired(db, user)
        logger.info("account registered user_id=%s", repo.user_id(user))
        service = signup_service(auth)
        if service is not None and auth.identity.recovery is not None:
            recovery_value = repo.get(user, auth.identity.recovery)
            if recovery_value:

                async def verify(session: Any) -> None:
                    await service.request_recovery_verification(session, recovery_value)

                # Sent after the response, like the notice for a taken address.
                background_tasks.add_task(run_after_response, auth.session, verify, "register")
            response.status_code = 202
            return {"detail": SIGNUP_ACCEPTED}
        return {
            "id": repo.user_id(user),
            "email": repo.get(user, "email"),
            "username": repo.get(user, "username"),
        }

    register.__annotations__["body"] = body_model
    router.add_api_route("/register", register, methods=["POST"], name="register")
    return router


def signup_service(auth: AuthSurface) -> Any:
    """Return the recovery service when signup verifies the address, else ``None``.

    Args:
        auth: The facade surface.

    Returns:
        ``auth.emails`` when a recovery factor is set and ``verify_on_register`` is
        not turned off, else ``None``.
    """
    service = auth.emails
    if service is None or auth.identity.recovery is None:
        return None
    config = getattr(service, "config", None)
    if config is not None and not config.verify_on_register:
        return None
    return service


def _reject_unstorable(values: dict[str, Any]) -> None:
    # NUL cannot be stored in PostgreSQL text columns; refusing it keeps that a 422.
    bad = [name for name, value in values.items() if isinstance(value, str) and "\x00" in value]
    if bad:
        raise UnprocessableEntityException(
            [
                {
                    "type": "string_invalid_character",
                    "loc": ["body", name],
                    "msg": "String must not contain NUL characters",
                }
                for name in bad
            ]
        )


async def _first_taken(
    auth: AuthSurface, db: Any, unique_values: list[tuple[str, Any]]
) -> tuple[str, Any] | None:
    """Return the first unique ``(field, value)`` already taken, login fields first."""
    login_order = {name: index for index, name in enumerate(auth.identity.login)}
    ordered = sorted(unique_values, key=lambda item: login_order.get(item[0], len(login_order)))
    for name, value in ordered:
        if await auth.repo.get_by_field(db, name, value) is not None:
            return name, value
    return None


def _answer_duplicate(
    auth: AuthSurface,
    taken: tuple[str, Any],
    response: Response,
    background_tasks: BackgroundTasks,
) -> dict[str, Any]:
    """Answer a registration whose ``taken`` value already belongs to an account.

    With a recovery channel, a taken email or recovery value gets the same 202 as a new
    signup and its owner gets a notice, so the response cannot tell anyone the address
    is registered. Usernames are public names and are reported as taken.
    """
    name, value = taken
    label = name[:1].upper() + name[1:].lower()
    service = signup_service(auth)
    is_private = name in {"email", auth.identity.recovery}
    if service is None:
        if is_private:
            raise DuplicateValueException(f"{label} already registered")
        raise DuplicateValueException(f"{label} already taken")
    if name in auth.identity.login and not is_private:
        raise DuplicateValueException(f"{label} already taken")

    if is_private:
        recipient = canonical_email(value) if name == "email" else str(value)

        async def notify(_session: Any) -> None:
            await service.notify_existing_account(recipient)

        background_tasks.add_task(run_after_response, None, notify, "existing-account")
    response.status_code = 202
    return {"detail": SIGNUP_ACCEPTED}
