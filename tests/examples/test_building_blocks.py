"""The building-blocks recipe: hand-written login and token routes over the primitives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crudauth import CRUDAuth, SessionTransport

SIGNUP = {"email": "ada@example.com", "username": "ada", "password": "Correct-Horse-1"}


async def sign_up(client: httpx.AsyncClient) -> Any:
    created = await client.post("/my-signup", json=SIGNUP)
    assert created.status_code == 200, created.text
    return created.json()["id"]


async def test_blocks_signup_duplicate_is_422(example_client: Any) -> None:
    async with example_client("building_blocks") as (_module, client):
        await sign_up(client)
        duplicate = await client.post("/my-signup", json={**SIGNUP, "email": "ADA@example.com"})
        assert duplicate.status_code == 422, duplicate.text
        weak = await client.post("/my-signup", json={**SIGNUP, "username": "x", "password": "a"})
        assert weak.status_code == 422, weak.text
        assert weak.json()["detail"][0]["loc"][-1] == "password"


async def my_login(client: httpx.AsyncClient, password: str) -> httpx.Response:
    return await client.post("/my-login", data={"username": "ada", "password": password})


async def test_blocks_my_login_creates_session(example_client: Any) -> None:
    async with example_client("building_blocks") as (_module, client):
        user_id = await sign_up(client)
        assert (await client.get("/dashboard")).status_code == 401
        response = await my_login(client, SIGNUP["password"])
        assert response.status_code == 200, response.text
        assert response.json()["csrf_token"] == client.cookies.get("csrf_token")
        dashboard = await client.get("/dashboard")
        assert dashboard.json() == {"user_id": user_id, "via": "session", "scopes": []}


async def test_blocks_my_login_wrong_password_then_lockout(example_client: Any) -> None:
    async with example_client("building_blocks") as (_module, client):
        await sign_up(client)
        statuses = [(await my_login(client, "wrong-password")).status_code for _ in range(6)]
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        # The lockout holds even for the right password until it expires.
        assert (await my_login(client, SIGNUP["password"])).status_code == 429


async def test_blocks_my_login_rejects_unknown_user_alike(example_client: Any) -> None:
    async with example_client("building_blocks") as (_module, client):
        await sign_up(client)
        wrong = await my_login(client, "wrong-password")
        unknown = await client.post("/my-login", data={"username": "nobody", "password": "x"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()


async def test_blocks_session_ends_on_password_epoch(example_client: Any) -> None:
    async with example_client("building_blocks") as (module, client):
        await sign_up(client)
        await my_login(client, SIGNUP["password"])
        async with module.SessionLocal() as db:
            user = await module.auth.repo.get_by_field(db, "username", "ada")
            await module.auth.repo.increment_token_version(db, user)
        assert (await client.get("/dashboard")).status_code == 401


async def test_blocks_issue_tokens_clamps_scopes(example_client: Any) -> None:
    async with example_client("building_blocks") as (_module, client):
        await sign_up(client)
        issued = await client.post(
            "/my-token",
            data={"username": "ada", "password": SIGNUP["password"], "scope": "read admin"},
        )
        assert issued.status_code == 200, issued.text
        tokens = issued.json()
        assert tokens["refresh_token"]
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        dashboard = await client.get("/dashboard", headers=headers)
        assert dashboard.json()["via"] == "bearer"
        assert dashboard.json()["scopes"] == ["read"]


async def test_blocks_no_crudauth_routes_mounted(example_client: Any) -> None:
    async with example_client("building_blocks") as (module, client):
        for path in ("/login", "/register", "/token"):
            assert (await client.post(path)).status_code == 404, path
        assert module.auth.emails is None
        assert module.auth.oauth is None


async def test_blocks_issue_tokens_needs_bearer() -> None:
    auth = CRUDAuth(
        session=lambda: None,
        user_model=_user_model(),
        SECRET_KEY="example-secret-key-0123456789-0123456789",
        transports=[SessionTransport()],
        warn_on_memory_backend=False,
    )
    with pytest.raises(RuntimeError, match="BearerTransport"):
        await auth.issue_tokens(object())


def _user_model() -> type[Any]:
    from sqlalchemy.orm import DeclarativeBase

    from crudauth import AuthUserMixin

    class Base(DeclarativeBase):
        pass

    class Account(Base, AuthUserMixin):
        __tablename__ = "accounts"

    return Account
