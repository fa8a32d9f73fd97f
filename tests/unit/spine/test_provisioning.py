"""NewUserContext and the gated new_user_fields callback."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth.models.mixin import AuthUserMixin
from crudauth.provisioning import NewUserContext, resolve_new_user_fields
from crudauth.repository import UserRepository


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"
    role: Mapped[str] = mapped_column(String(20), default="user")


class Profile:
    def __init__(self, name: str | None) -> None:
        self.name = name


def context(**overrides: Any) -> NewUserContext:
    values: dict[str, Any] = {
        "email": "jane.doe@example.com",
        "username": "jane",
        "source": "register",
        "db": None,
        "register_data": {"email": "jane.doe@example.com", "username": "jane"},
    }
    values.update(overrides)
    return NewUserContext(**values)


def test_suggested_name() -> None:
    assert context(oauth=Profile("Jane Doe"), source="oauth").suggested_name == "Jane Doe"
    assert context(oauth=Profile("")).suggested_name == "jane.doe"
    assert context().suggested_name == "jane.doe"
    assert context(email="").suggested_name == "jane"


async def test_no_callback_is_empty() -> None:
    assert await resolve_new_user_fields(None, context(), UserRepository(User)) == {}


async def test_sync_callback_is_gated() -> None:
    def fields(ctx: NewUserContext) -> dict[str, Any]:
        return {"role": "owner", "email": "evil@x.com", "is_superuser": True}

    result = await resolve_new_user_fields(fields, context(), UserRepository(User))
    assert result == {"role": "owner"}


async def test_async_callback_sees_context() -> None:
    seen: list[NewUserContext] = []

    async def fields(ctx: NewUserContext) -> dict[str, Any]:
        seen.append(ctx)
        return {"role": ctx.suggested_name}

    ctx = context()
    assert await resolve_new_user_fields(fields, ctx, UserRepository(User)) == {"role": "jane.doe"}
    assert seen == [ctx]


async def test_model_result_is_dumped_and_gated() -> None:
    class Fields(BaseModel):
        role: str = "admin"
        email_verified: bool = True

    result = await resolve_new_user_fields(lambda ctx: Fields(), context(), UserRepository(User))
    assert result == {"role": "admin"}


async def test_bad_return_type_raises() -> None:
    with pytest.raises(TypeError, match="new_user_fields"):
        await resolve_new_user_fields(lambda ctx: ["role"], context(), UserRepository(User))  # type: ignore[arg-type,return-value]
