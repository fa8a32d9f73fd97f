"""The account-management recipe: devices, revocation, sign-out everywhere, passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import httpx

from support import csrf_headers, login

SIGNUP = {"email": "ada@example.com", "username": "ada", "password": "Correct-Horse-1"}
LAPTOP = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


@asynccontextmanager
async def second_device(module: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    """Open another browser against the same running app, signed in as Ada."""
    transport = httpx.ASGITransport(app=module.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers=LAPTOP
    ) as other:
        assert (await login(other, "ada")).status_code == 200
        yield other


async def sign_up_and_log_in(client: httpx.AsyncClient) -> None:
    registered = await client.post("/register", json=SIGNUP)
    assert registered.status_code == 200, registered.text
    assert (await login(client, "ada")).status_code == 200


async def test_account_sessions_list_devices(example_client: Any) -> None:
    async with example_client("account_management") as (module, client):
        await sign_up_and_log_in(client)
        async with second_device(module):
            listed = await client.get("/sessions")
        assert listed.status_code == 200, listed.text
        rows = listed.json()
        assert len(rows) == 2
        assert [row["current"] for row in rows].count(True) == 1
        laptop = next(row for row in rows if not row["current"])
        assert laptop["device"]["browser"] == "Firefox"
        assert laptop["id"] == laptop["session_id"]
        # The handle is never the cookie value.
        assert client.cookies.get("session_id") not in {row["id"] for row in rows}


async def test_account_revoke_other_device(example_client: Any) -> None:
    async with example_client("account_management") as (module, client):
        await sign_up_and_log_in(client)
        async with second_device(module) as laptop:
            rows = (await client.get("/sessions")).json()
            other = next(row["id"] for row in rows if not row["current"])
            no_csrf = await client.delete(f"/sessions/{other}")
            assert no_csrf.status_code == 403, no_csrf.text
            revoked = await client.delete(f"/sessions/{other}", headers=csrf_headers(client))
            assert revoked.status_code == 200, revoked.text
            assert (await laptop.get("/me")).status_code == 401
            again = await client.delete(f"/sessions/{other}", headers=csrf_headers(client))
            assert again.status_code == 404, again.text
        assert (await client.get("/me")).status_code == 200


async def test_account_someone_elses_session_is_404(example_client: Any) -> None:
    async with example_client("account_management") as (module, client):
        await sign_up_and_log_in(client)
        bob = {"email": "bob@example.com", "username": "bob", "password": "Battery-Staple-2"}
        assert (await client.post("/register", json=bob)).status_code == 200
        transport = httpx.ASGITransport(app=module.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as other:
            await login(other, "bob", bob["password"])
            bobs_handle = (await other.get("/sessions")).json()[0]["id"]
            foreign = await client.delete(f"/sessions/{bobs_handle}", headers=csrf_headers(client))
            unknown = await client.delete("/sessions/no-such-handle", headers=csrf_headers(client))
            assert foreign.status_code == 404, foreign.text
            assert foreign.json() == unknown.json()
            assert (await other.get("/me")).status_code == 200


async def test_account_logout_all_keep_current(example_client: Any) -> None:
    async with example_client("account_management") as (module, client):
        await sign_up_and_log_in(client)
        async with second_device(module) as laptop:
            response = await client.post(
                "/logout-all", params={"keep_current": "true"}, headers=csrf_headers(client)
            )
            assert response.status_code == 200, response.text
            assert response.json() == {"detail": "Signed out of all sessions.", "revoked": 1}
            assert (await laptop.get("/me")).status_code == 401
        assert (await client.get("/me")).status_code == 200


async def test_account_logout_all_ends_caller_too(example_client: Any) -> None:
    async with example_client("account_management") as (module, client):
        await sign_up_and_log_in(client)
        async with second_device(module):
            response = await client.post("/logout-all", headers=csrf_headers(client))
        assert response.json()["revoked"] == 2
        assert (await client.get("/me")).status_code == 401


async def test_account_change_password(example_client: Any) -> None:
    async with example_client("account_management") as (module, client):
        await sign_up_and_log_in(client)
        body = {"current_password": SIGNUP["password"], "new_password": "New-Secret-77"}
        async with second_device(module) as laptop:
            no_csrf = await client.post("/change-password", json=body)
            assert no_csrf.status_code == 403, no_csrf.text
            wrong = await client.post(
                "/change-password",
                json={**body, "current_password": "not-it"},
                headers=csrf_headers(client),
            )
            assert wrong.status_code == 401, wrong.text
            changed = await client.post("/change-password", json=body, headers=csrf_headers(client))
            assert changed.status_code == 200, changed.text
            assert (await laptop.get("/me")).status_code == 401
        assert (await client.get("/me")).status_code == 200
        assert (await login(client, "ada", "New-Secret-77")).status_code == 200


async def test_account_csrf_refresh_keeps_valid_token(example_client: Any) -> None:
    async with example_client("account_management") as (_module, client):
        await sign_up_and_log_in(client)
        token = client.cookies.get("csrf_token")
        kept = await client.post("/csrf/refresh")
        assert kept.status_code == 200, kept.text
        assert kept.json() == {"csrf_token": token}
        client.cookies.delete("csrf_token")
        minted = await client.post("/csrf/refresh")
        assert minted.json()["csrf_token"] != token
        assert client.cookies.get("csrf_token") == minted.json()["csrf_token"]
        client.cookies.clear()
        anonymous = await client.post("/csrf/refresh")
        assert anonymous.status_code == 401, anonymous.text


async def test_account_routes_need_the_flag(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        routes = [("GET", "/sessions"), ("POST", "/logout-all"), ("POST", "/csrf/refresh")]
        for method, path in routes:
            response = await client.request(method, path)
            assert response.status_code == 404, (path, response.text)
        assert (await client.post("/change-password", json={})).status_code != 404
