"""Registration configuration: start-up warnings, provisioning, policy, canonical emails."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, EmailStr
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import NewUserContext, PasswordContext, PasswordPolicy
from support import ALICE, csrf_headers, login


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "crudauth"]


async def test_privileged_extra_fields_warn(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="crudauth"):
        await make_app(register_extra_fields={"is_superuser", "full_name"})
    assert any("privileged field" in m and "is_superuser" in m for m in warnings_of(caplog))


async def test_schema_with_privileged_and_unopted_fields_warns(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class LoudIn(BaseModel):
        email: EmailStr
        username: str
        password: str
        email_verified: bool = False
        role: str | None = None

    with caplog.at_level(logging.WARNING, logger="crudauth"):
        await make_app(register_schema=LoudIn)
    messages = warnings_of(caplog)
    assert any("privileged field" in m and "email_verified" in m for m in messages)
    assert any("register_extra_fields" in m and "will drop" in m for m in messages)


async def test_clean_schema_does_not_warn(make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    class CleanIn(BaseModel):
        email: EmailStr
        username: str
        password: str
        full_name: str | None = None

    with caplog.at_level(logging.WARNING, logger="crudauth"):
        await make_app(register_schema=CleanIn, register_extra_fields={"full_name"})
    assert not [m for m in warnings_of(caplog) if "register" in m or "privileged" in m]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_new_user_fields_callback(make_app: Any, asynchronous: bool) -> None:
    seen: list[NewUserContext] = []

    def derive(ctx: NewUserContext) -> dict[str, Any]:
        seen.append(ctx)
        return {"full_name": ctx.suggested_name, "is_superuser": True, "email": "evil@x.com"}

    async def derive_async(ctx: NewUserContext) -> dict[str, Any]:
        return derive(ctx)

    test_app = await make_app(
        new_user_fields=derive_async if asynchronous else derive,
        new_user_defaults={"role": "member", "full_name": "unused"},
    )
    async with test_app.client() as client:
        response = await client.post("/register", json=ALICE)
    assert response.status_code == 200, response.text
    user = await test_app.get_user(response.json()["id"])
    assert user.full_name == "alice"
    assert user.role == "member"
    assert user.is_superuser is False
    assert user.email == "alice@example.com"
    context = seen[0]
    assert context.source == "register"
    assert context.oauth is None
    assert context.register_data is not None
    assert "password" not in context.register_data


async def test_new_user_fields_reads_db_and_returns_model(make_app: Any) -> None:
    class Derived(BaseModel):
        role: str

    holder: dict[str, Any] = {}

    async def first_is_owner(ctx: NewUserContext) -> Derived:
        model = holder["model"]
        count = await ctx.db.scalar(select(func.count()).select_from(model))
        return Derived(role="owner" if count == 0 else "member")

    test_app = await make_app(new_user_fields=first_is_owner)
    holder["model"] = test_app.model
    async with test_app.client() as client:
        first = await client.post("/register", json=ALICE)
        second = await client.post(
            "/register",
            json={"email": "b@example.com", "username": "bee", "password": "Correct-Horse-1"},
        )
    assert (await test_app.get_user(first.json()["id"])).role == "owner"
    assert (await test_app.get_user(second.json()["id"])).role == "member"


async def test_policy_reports_every_rule_with_context(make_app: Any) -> None:
    contexts: list[PasswordContext] = []

    def no_username(password: str, context: PasswordContext) -> None:
        contexts.append(context)
        if context.username and context.username.lower() in password.lower():
            raise ValueError("Password must not contain the username")

    policy = PasswordPolicy(
        min_length=12, require_uppercase=True, require_digit=True, validators=[no_username]
    )
    test_app = await make_app(password_policy=policy)
    async with test_app.client() as client:
        weak = await client.post("/register", json={**ALICE, "password": "short"})
        named = await client.post("/register", json={**ALICE, "password": "Alice-Password-123"})
        good = await client.post("/register", json={**ALICE, "password": "Correct-Horse-Battery-1"})
    assert weak.status_code == 422
    kinds = [entry["type"] for entry in weak.json()["detail"]]
    assert kinds == ["string_too_short", "password_policy", "password_policy"]
    assert named.status_code == 422
    assert named.json()["detail"][0]["msg"] == "Password must not contain the username"
    assert good.status_code == 200, good.text
    assert contexts[-1].source == "register"
    assert contexts[-1].username == "alice"


async def test_policy_applies_to_change_password(make_app: Any) -> None:
    test_app = await make_app(password_policy=PasswordPolicy(min_length=20))
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "only-fifteen-ch"},
            headers=csrf_headers(client),
        )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "new_password"]


async def test_lookalike_email_cannot_take_account(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        await client.post("/register", json=ALICE)
        # Full-width letters fold to the same address under NFKC.
        lookalike = await client.post(
            "/register",
            json={
                "email": "\uff41lice@example.com",
                "username": "mallory",
                "password": "Correct-Horse-1",
            },
        )
    assert lookalike.status_code in (409, 422), lookalike.text
    async with test_app.sessionmaker() as db:
        assert await test_app.auth.repo.get_by_field(db, "username", "mallory") is None


def bare_model() -> type[Any]:
    class Base(DeclarativeBase):
        pass

    class Bare(Base):
        __tablename__ = "bare_users"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        email: Mapped[str] = mapped_column(String(320), unique=True)
        username: Mapped[str] = mapped_column(String(64), unique=True)
        hashed_password: Mapped[str] = mapped_column(String(255))

    return Bare


async def test_missing_bookkeeping_columns_degrade(make_app: Any) -> None:
    test_app = await make_app(model=bare_model())
    repo = test_app.auth.repo
    async with test_app.client() as client:
        registered = await client.post("/register", json=ALICE)
        assert registered.status_code == 200, registered.text
        assert (await login(client)).status_code == 200
        me = await client.get("/me")
        assert me.json()["is_superuser"] is False
        changed = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "New-Secret-77"},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 200, changed.text
        assert (await client.get("/me")).status_code == 200
    user = await test_app.get_user(registered.json()["id"])
    assert repo.is_active(user) is True
    assert repo.token_version(user) == 0
    assert repo.email_verified(user) is False
