"""The web-and-API recipe: one user, two transports, precedence and CSRF scope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support import csrf_headers, login

SIGNUP = {"email": "ada@example.com", "username": "ada", "password": "Correct-Horse-1"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(client: httpx.AsyncClient) -> Any:
    registered = await client.post("/register", json=SIGNUP)
    assert registered.status_code == 200, registered.text
    return registered.json()["id"]


async def access_token(client: httpx.AsyncClient) -> str:
    issued = await client.post("/token", data={"username": "ada", "password": SIGNUP["password"]})
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


async def test_web_and_api_mounts_both_route_sets(example_client: Any) -> None:
    async with example_client("web_and_api") as (_module, client):
        paths = set((await client.get("/openapi.json")).json()["paths"])
        assert {"/login", "/logout", "/token", "/refresh"} <= paths


async def test_web_and_api_same_user_both_ways(example_client: Any) -> None:
    async with example_client("web_and_api") as (_module, client):
        user_id = await sign_up(client)
        token = await access_token(client)
        by_token = await client.get("/whoami", headers=bearer(token))
        assert by_token.json() == {"user_id": user_id, "via": "bearer"}
        assert (await login(client, "ada")).status_code == 200
        by_cookie = await client.get("/whoami")
        assert by_cookie.json() == {"user_id": user_id, "via": "session"}


async def test_web_and_api_first_transport_wins(example_client: Any) -> None:
    async with example_client("web_and_api") as (_module, client):
        await sign_up(client)
        token = await access_token(client)
        await login(client, "ada")
        both = await client.get("/whoami", headers=bearer(token))
        assert both.json()["via"] == "session"
        # With a live session first, a broken bearer header is never looked at.
        broken = await client.get("/whoami", headers=bearer("not-a-jwt"))
        assert broken.status_code == 200, broken.text


async def test_web_and_api_transport_filter(example_client: Any) -> None:
    async with example_client("web_and_api") as (module, client):
        await sign_up(client)
        token = await access_token(client)
        await login(client, "ada")
        cookie_only = await client.get("/api/usage")
        assert cookie_only.status_code == 401, cookie_only.text
        with_header = await client.get("/api/usage", headers=bearer(token))
        assert with_header.status_code == 200, with_header.text
        with pytest.raises(ValueError):
            module.auth.current_user(transport="carrier-pigeon")


async def test_web_and_api_csrf_only_for_sessions(example_client: Any) -> None:
    async with example_client("web_and_api") as (_module, client):
        await sign_up(client)
        token = await access_token(client)
        api_client_order = await client.post("/orders", headers=bearer(token))
        assert api_client_order.status_code == 200, api_client_order.text
        await login(client, "ada")
        forged = await client.post("/orders")
        assert forged.status_code == 403, forged.text
        allowed = await client.post("/orders", headers=csrf_headers(client))
        assert allowed.json()["via"] == "session"


async def test_web_and_api_share_one_lockout(example_client: Any) -> None:
    async with example_client("web_and_api") as (_module, client):
        await sign_up(client)
        for _ in range(3):
            await login(client, "ada", "wrong-password")
        statuses = [
            (await client.post("/token", data={"username": "ada", "password": "wrong"})).status_code
            for _ in range(3)
        ]
        # Five failures are allowed per window, whichever route they came through.
        assert statuses == [401, 401, 429]
