"""Request bodies of the recovery routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field, create_model

from crudauth.email.constants import MAX_FACTOR_LENGTH

__all__ = ["ChangeRequestIn", "TokenIn", "recovery_request_model"]


class TokenIn(BaseModel):
    """Body of the verify and change confirm routes."""

    token: str


class ChangeRequestIn(BaseModel):
    """Body of ``POST /email/change-request``."""

    new_email: EmailStr
    password: str
    redirect_to: str | None = None


def recovery_request_model(factor: str) -> type[BaseModel]:
    """Build the verify/reset request body: one required field named after ``factor``.

    ``email`` is validated as an address, and any other factor (``phone``) is a plain
    string of at most ``MAX_FACTOR_LENGTH`` characters. The model also has an optional
    ``redirect_to``.

    Args:
        factor: The recovery factor's field name, such as ``"email"``.

    Returns:
        A pydantic model named ``RecoveryRequestIn``.
    """
    value_type: Any = (
        EmailStr if factor == "email" else Annotated[str, Field(max_length=MAX_FACTOR_LENGTH)]
    )
    fields: dict[str, Any] = {factor: (value_type, ...), "redirect_to": (str | None, None)}
    model: type[BaseModel] = create_model("RecoveryRequestIn", **fields)
    return model


def reset_confirm_model(new_password_type: Any) -> type[BaseModel]:
    """Build the reset-confirm body with ``token`` and ``new_password`` fields.

    Args:
        new_password_type: Annotated type of ``new_password`` that documents the
            password policy in the OpenAPI schema.

    Returns:
        A pydantic model named ``ResetConfirmIn``.
    """
    fields: dict[str, Any] = {"token": (str, ...), "new_password": (new_password_type, ...)}
    model: type[BaseModel] = create_model("ResetConfirmIn", **fields)
    return model
