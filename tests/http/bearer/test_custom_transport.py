"""A custom API-key transport next to the built-in ones, plus ``issue_tokens``."""

import hmac
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from starlette.requests import Request

from crudauth import BearerTransport, Principal, SessionTransport, Transport
from crudauth.core import AuthContext
from crudauth.transports.bearer.tokens import TokenType, verify_token
from support import login


class APIKeyTransport(Transport):
    """Authenticate ``X-API-Key`` against an in-memory table of keys."""

    name = "apikey"

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, tuple[str, ...]]] = {}

    async def authenticate(self, request: Request, ctx: AuthContext) -> Principal | None:
        presented = request.headers.get("X-API-Key")
        if not presented:
            return None
        for key, (user_id, scopes) in self.keys.items():
            if hmac.compare_digest(key.encode(), presented.encode()):
                user = await ctx.resolve_user(user_id)
                if user is None:
                    return None
                return ctx.build_principal(
                    user_id=user_id, user=user, transport=self.name, scopes=scopes
                )
        return None


async def build_api_key_app(make_app: Any) -> tuple[Any, APIKeyTransport]:
    api_keys = APIKeyTransport()
    test_app = await make_app(transports=[SessionTransport(), api_keys])
    auth = test_app.auth
    app: FastAPI = test_app.app

    @app.get("/data")
    async def data(
        principal: Principal = Depends(auth.current_user(transport="apikey", scopes=["data:read"])),
    ) -> dict[str, Any]:
        return {"user_id": principal.user_id, "via": principal.transport}

    return test_app, api_keys


async def test_api_key_with_scope(make_app: Any) -> None:
    test_app, api_keys = await build_api_key_app(make_app)
    user = await test_app.create_user()
    api_keys.keys["k-reader"] = (user.id, ("data:read",))
    async with test_app.client() as client:
        response = await client.get("/data", headers={"X-API-Key": "k-reader"})

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "apikey"}


async def test_api_key_missing_401(make_app: Any) -> None:
    test_app, _ = await build_api_key_app(make_app)
    async with test_app.client() as client:
        response = await client.get("/data")

    assert response.status_code == 401, response.text


async def test_api_key_lacking_scope_403(make_app: Any) -> None:
    test_app, api_keys = await build_api_key_app(make_app)
    user = await test_app.create_user()
    api_keys.keys["k-writer"] = (user.id, ("data:write",))
    async with test_app.client() as client:
        response = await client.get("/data", headers={"X-API-Key": "k-writer"})

    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Insufficient scope"}


async def test_api_key_route_ignores_session(make_app: Any) -> None:
    test_app, _ = await build_api_key_app(make_app)
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        narrowed = await client.get("/data")
        general = await client.get("/protected")

    assert narrowed.status_code == 401, narrowed.text
    assert general.status_code == 200, general.text
    assert general.json() == {"user_id": user.id, "via": "session"}


async def test_api_key_on_general_route(make_app: Any) -> None:
    test_app, api_keys = await build_api_key_app(make_app)
    user = await test_app.create_user()
    api_keys.keys["k-reader"] = (user.id, ("data:read",))
    async with test_app.client() as client:
        response = await client.get("/protected", headers={"X-API-Key": "k-reader"})

    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.id, "via": "apikey"}


# -- issue_tokens ---------------------------------------------------------------------


async def test_issued_pair_works(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    auth = test_app.auth
    app: FastAPI = test_app.app
    user = await test_app.create_user()

    @app.get("/bearer-only")
    async def bearer_only(
        principal: Principal = Depends(auth.current_user(transport="bearer")),
    ) -> dict[str, Any]:
        return {"user_id": principal.user_id}

    issued = await auth.issue_tokens(user)
    async with test_app.client() as client:
        protected = await client.get(
            "/bearer-only", headers={"Authorization": f"Bearer {issued['access_token']}"}
        )
        refreshed = await client.post("/refresh", json={"refresh_token": issued["refresh_token"]})

    assert set(issued) == {"access_token", "refresh_token", "token_type"}
    assert issued["token_type"] == "bearer"
    assert protected.status_code == 200, protected.text
    assert protected.json() == {"user_id": user.id}
    assert refreshed.status_code == 200, refreshed.text


async def test_issue_tokens_clamps_scopes(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(grantable_scopes=["read"])])
    user = await test_app.create_user()

    issued = await test_app.auth.issue_tokens(user, scopes=["read", "admin"])

    runtime = test_app.auth.runtime
    access = verify_token(issued["access_token"], runtime.secret_key, TokenType.ACCESS)
    refresh = verify_token(issued["refresh_token"], runtime.secret_key, TokenType.REFRESH)
    assert access is not None
    assert refresh is not None
    assert access["scopes"] == ["read"]
    assert refresh["scopes"] == ["read"]


async def test_issue_tokens_cookie_mode_returns_refresh(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    user = await test_app.create_user()

    issued = await test_app.auth.issue_tokens(user)

    assert "refresh_token" in issued


async def test_issue_tokens_uses_first_bearer(make_app: Any) -> None:
    first = BearerTransport(grantable_scopes=["a"], refresh="body")
    test_app = await make_app(transports=[SessionTransport(), first])
    user = await test_app.create_user()

    issued = await test_app.auth.issue_tokens(user, scopes=["a"])

    access = verify_token(issued["access_token"], test_app.auth.runtime.secret_key, "access")
    assert access is not None
    assert access["scopes"] == ["a"]


async def test_issue_tokens_without_bearer_raises(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport()])
    user = await test_app.create_user()

    with pytest.raises(RuntimeError):
        await test_app.auth.issue_tokens(user)
    with pytest.raises(RuntimeError):
        _ = test_app.auth.bearer_router
