"""The token-API recipe: /token, bearer access, /refresh in the body, scopes, revocation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from crudauth import BearerTransport
from crudauth.transports.bearer.tokens import create_access_token

SIGNUP = {"email": "cli@example.com", "username": "cli", "password": "Correct-Horse-1"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up_and_get_tokens(client: httpx.AsyncClient, scope: str = "") -> dict[str, Any]:
    registered = await client.post("/register", json=SIGNUP)
    assert registered.status_code == 200, registered.text
    form = {"username": "cli", "password": SIGNUP["password"]}
    if scope:
        form["scope"] = scope
    issued = await client.post("/token", data=form)
    assert issued.status_code == 200, issued.text
    tokens: dict[str, Any] = issued.json()
    return tokens


async def test_token_api_issues_pair_in_body(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        tokens = await sign_up_and_get_tokens(client)
        assert set(tokens) == {"access_token", "refresh_token", "token_type"}
        assert tokens["token_type"] == "bearer"
        assert "refresh_token" not in client.cookies
        notes = await client.get("/notes", headers=bearer(tokens["access_token"]))
        assert notes.status_code == 200, notes.text


async def test_token_api_rejects_missing_and_garbage(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        await sign_up_and_get_tokens(client)
        missing = await client.get("/notes")
        assert missing.status_code == 401, missing.text
        garbage = await client.get("/notes", headers=bearer("not-a-jwt"))
        assert garbage.status_code == 401, garbage.text
        assert garbage.headers["WWW-Authenticate"] == "Bearer"
        # A garbage token is an error even where anonymous callers are welcome.
        optional = await client.get("/greeting", headers=bearer("not-a-jwt"))
        assert optional.status_code == 401, optional.text
        anonymous = await client.get("/greeting")
        assert anonymous.json() == {"hello": "stranger"}


async def test_token_api_expired_token_is_anonymous(example_client: Any) -> None:
    async with example_client("token_api") as (module, client):
        await sign_up_and_get_tokens(client)
        async with module.SessionLocal() as db:
            user = await module.auth.repo.get_by_field(db, "username", "cli")
        expired = create_access_token(
            {"sub": str(user.id), "ver": 0},
            module.auth.runtime.secret_key,
            expires_delta=timedelta(seconds=-1),
            scopes=["notes:read"],
        )
        optional = await client.get("/greeting", headers=bearer(expired))
        assert optional.json() == {"hello": "stranger"}
        required = await client.get("/notes", headers=bearer(expired))
        assert required.status_code == 401, required.text


async def test_token_api_refresh_reads_body(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        tokens = await sign_up_and_get_tokens(client)
        refreshed = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        access = refreshed.json()["access_token"]
        assert (await client.get("/notes", headers=bearer(access))).status_code == 200
        empty = await client.post("/refresh", json={})
        assert empty.status_code == 401, empty.text


async def test_token_api_clamps_scopes(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        tokens = await sign_up_and_get_tokens(client, scope="notes:read admin")
        headers = bearer(tokens["access_token"])
        me = await client.get("/me", headers=headers)
        assert me.json()["scopes"] == ["notes:read"]
        write = await client.post("/notes", headers=headers)
        assert write.status_code == 403, write.text


async def test_token_api_write_scope_when_requested(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        tokens = await sign_up_and_get_tokens(client, scope="notes:read notes:write")
        write = await client.post("/notes", headers=bearer(tokens["access_token"]))
        assert write.status_code == 200, write.text


async def test_token_api_narrowed_ceiling_applies_at_refresh(example_client: Any) -> None:
    async with example_client("token_api") as (module, client):
        tokens = await sign_up_and_get_tokens(client, scope="notes:read notes:write")
        transport = module.auth.transports[0]
        transport.grantable_scopes = frozenset({"notes:read"})
        refreshed = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        me = await client.get("/me", headers=bearer(refreshed.json()["access_token"]))
        assert me.json()["scopes"] == ["notes:read"]


def test_token_api_default_scopes_must_be_grantable() -> None:
    with pytest.raises(ValueError, match="subset of grantable_scopes"):
        BearerTransport(default_scopes=["admin"], grantable_scopes=["notes:read"])


async def test_token_api_password_change_revokes_tokens(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        tokens = await sign_up_and_get_tokens(client)
        old_access = bearer(tokens["access_token"])
        second = await client.post(
            "/token", data={"username": "cli", "password": SIGNUP["password"]}
        )
        other_access = bearer(second.json()["access_token"])
        changed = await client.post(
            "/change-password",
            json={"current_password": SIGNUP["password"], "new_password": "New-Secret-77"},
            headers=old_access,
        )
        assert changed.status_code == 200, changed.text
        # The caller's own device is the one credential a password change keeps.
        assert (await client.get("/notes", headers=old_access)).status_code == 200
        assert (await client.get("/notes", headers=other_access)).status_code == 401
        fresh = await client.post("/token", data={"username": "cli", "password": "New-Secret-77"})
        assert fresh.status_code == 200, fresh.text


async def test_token_api_token_route_locks_out(example_client: Any) -> None:
    async with example_client("token_api") as (_module, client):
        await sign_up_and_get_tokens(client)
        statuses = [
            (await client.post("/token", data={"username": "cli", "password": "wrong"})).status_code
            for _ in range(6)
        ]
        assert statuses[0] == 401
        assert statuses[-1] == 429
