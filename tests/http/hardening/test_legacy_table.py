"""A legacy user table whose columns all have other names, through column_map."""

from __future__ import annotations

from typing import Any

from fastapi import Depends
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import IdentityConfig, Principal
from support import login


def legacy_model() -> type[Any]:
    class Base(DeclarativeBase):
        pass

    class Account(Base):
        __tablename__ = "accounts"
        account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
        email_address: Mapped[str] = mapped_column(String(320), unique=True)
        handle: Mapped[str] = mapped_column(String(64), unique=True)
        pw_hash: Mapped[str] = mapped_column(String(255))
        enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    return Account


COLUMN_MAP = {
    "id": "account_id",
    "email": "email_address",
    "username": "handle",
    "hashed_password": "pw_hash",
    "is_active": "enabled",
}


async def test_legacy_table_register_login_protected(make_app: Any) -> None:
    test_app = await make_app(
        model=legacy_model(), column_map=COLUMN_MAP, identity=IdentityConfig()
    )

    @test_app.app.get("/whoami")
    async def whoami(p: Principal = Depends(test_app.auth.current_user())) -> dict[str, Any]:
        return {"email": p.user.email_address, "id": p.user_id}

    async with test_app.client() as client:
        registered = await client.post(
            "/register",
            json={"email": "Legacy@Example.com", "username": "legacy", "password": "Old-Table-1"},
        )
        assert registered.status_code == 200, registered.text
        assert registered.json()["email"] == "legacy@example.com"
        assert (await login(client, "legacy@example.com", "Old-Table-1")).status_code == 200
        me = await client.get("/whoami")
    assert me.status_code == 200, me.text
    assert me.json() == {"email": "legacy@example.com", "id": registered.json()["id"]}


async def test_legacy_table_disabled_account_is_401(make_app: Any) -> None:
    test_app = await make_app(model=legacy_model(), column_map=COLUMN_MAP)
    async with test_app.client() as client:
        await client.post(
            "/register",
            json={"email": "old@example.com", "username": "old", "password": "Old-Table-1"},
        )
    async with test_app.sessionmaker() as db:
        user = await test_app.auth.repo.get_by_field(db, "username", "old")
        await test_app.auth.repo.update(db, user, {"is_active": False})
    async with test_app.client() as client:
        response = await login(client, "old", "Old-Table-1")
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}
