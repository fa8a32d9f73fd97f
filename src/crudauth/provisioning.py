"""Server-set fields of users crudauth creates (registration and OAuth signup)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from crudauth.repository import UserRepository

__all__ = ["NewUserContext", "NewUserFields", "resolve_new_user_fields"]


@dataclass(frozen=True)
class NewUserContext:
    """Facts known about a user that crudauth is about to create.

    ``CRUDAuth(new_user_fields=...)`` receives one for every account it creates.

    Attributes:
        email: The canonical email; ``""`` for email-less shapes.
        username: The final username; ``""`` when absent.
        source: ``"register"`` or ``"oauth"``.
        db: The active session, for reads only, because the callback must not commit.
        register_data: The validated ``/register`` body without the password;
            ``None`` on OAuth.
        oauth: The normalized provider profile (``OAuthUserInfo``); ``None`` on
            registration.

    Example:
        ```python
        def new_user_fields(ctx: NewUserContext) -> dict:
            return {"display_name": ctx.suggested_name, "plan": "free"}

        auth = CRUDAuth(..., new_user_fields=new_user_fields)
        ```
    """

    email: str
    username: str
    source: Literal["register", "oauth"]
    db: AsyncSession
    register_data: dict[str, Any] | None = None
    oauth: Any = None

    @property
    def suggested_name(self) -> str:
        """The provider's display name, else the email's local part, else username."""
        name = getattr(self.oauth, "name", None) if self.oauth is not None else None
        if isinstance(name, str) and name:
            return name
        if self.email:
            return self.email.split("@", 1)[0]
        return self.username


_FieldValues = Mapping[str, Any] | BaseModel

NewUserFields = Callable[[NewUserContext], _FieldValues | Awaitable[_FieldValues]]
"""The ``new_user_fields`` callback: sync or async, returning a dict or a pydantic
model of app-column values."""


async def resolve_new_user_fields(
    callback: NewUserFields | None, ctx: NewUserContext, repo: UserRepository
) -> dict[str, Any]:
    """Run ``callback`` for ``ctx`` and return its values with contract fields dropped.

    A returned pydantic model is dumped to a dict first, so its fields are gated exactly
    like dict keys.

    Args:
        callback: The ``new_user_fields`` callback, or ``None``.
        ctx: Facts about the user being created.
        repo: The user repository that drops contract fields.

    Returns:
        The app-column values; empty without a callback or when it returns ``None``.

    Raises:
        TypeError: The callback returned something other than a dict, a pydantic
            model or ``None``.
    """
    if callback is None:
        return {}
    result: Any = callback(ctx)
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return {}
    if isinstance(result, BaseModel):
        result = result.model_dump()
    if not isinstance(result, Mapping):
        raise TypeError(
            f"new_user_fields must return a dict or a pydantic model, not {type(result).__name__}"
        )
    return repo.filter_provisioning_data(result)
