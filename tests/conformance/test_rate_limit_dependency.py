"""The throttle helpers behind ``auth.rate_limit()`` on a small app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException
from starlette.requests import Request

from crudauth.principal import Principal
from crudauth.ratelimit.backends.memory import MemoryRateLimiterBackend
from crudauth.ratelimit.config import KeyBy, RateLimit
from crudauth.ratelimit.dependency import identity_key, limit_by_request, limit_by_user
from crudauth.ratelimit.headers import RateLimitHeadersMiddleware


def no_db() -> None:
    return None


async def lookup(request: Request, db: Any) -> Principal | None:
    user = request.headers.get("x-user")
    return Principal(user_id=user) if user else None


def build_app(limit: RateLimit, key: Any = KeyBy.IP, by_user: bool = False) -> FastAPI:
    backend = MemoryRateLimiterBackend()
    app = FastAPI()
    app.add_middleware(RateLimitHeadersMiddleware)
    if by_user:
        throttle = limit_by_user(
            action="act",
            limit=limit,
            backend_getter=lambda: backend,
            db_dependency=no_db,
            lookup=lookup,
        )
    else:
        throttle = limit_by_request(
            action="act",
            limit=limit,
            key=key,
            backend_getter=lambda: backend,
            db_dependency=no_db,
            lookup=lookup,
        )

    @app.get("/limited", dependencies=[Depends(throttle)])
    async def limited() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/limited-then-missing", dependencies=[Depends(throttle)])
    async def limited_then_missing() -> None:
        raise HTTPException(404, "Not found")

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_two_allowed_then_429() -> None:
    async with client_for(build_app(RateLimit(2, 100))) as client:
        first = await client.get("/limited")
        second = await client.get("/limited")
        third = await client.get("/limited")
    assert first.status_code == 200, first.text
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert second.headers["X-RateLimit-Remaining"] == "0"
    assert third.status_code == 429, third.text
    assert third.json() == {"detail": "Too many requests. Try again later."}
    assert 0 < int(third.headers["Retry-After"]) <= 100
    assert third.headers["X-RateLimit-Remaining"] == "0"


async def test_zero_limit_never_limits() -> None:
    async with client_for(build_app(RateLimit(0, 100))) as client:
        responses = [await client.get("/limited") for _ in range(5)]
    assert [response.status_code for response in responses] == [200] * 5
    assert "X-RateLimit-Limit" not in responses[0].headers


async def test_middleware_copies_headers_to_errors() -> None:
    async with client_for(build_app(RateLimit(5, 100))) as client:
        response = await client.get("/limited-then-missing")
    assert response.status_code == 404, response.text
    assert response.headers["X-RateLimit-Limit"] == "5"
    assert response.headers["X-RateLimit-Remaining"] == "4"


async def test_per_user_budgets_independent() -> None:
    async with client_for(build_app(RateLimit(1, 100), by_user=True)) as client:
        alice = await client.get("/limited", headers={"x-user": "alice"})
        alice_again = await client.get("/limited", headers={"x-user": "alice"})
        bob = await client.get("/limited", headers={"x-user": "bob"})
        anonymous = await client.get("/limited")
    assert alice.status_code == 200, alice.text
    assert alice_again.status_code == 429, alice_again.text
    assert bob.status_code == 200, bob.text
    assert anonymous.status_code == 401, anonymous.text


async def test_tenant_key_function_isolates() -> None:
    app = build_app(RateLimit(1, 100), key=lambda request: request.headers["x-tenant"])
    async with client_for(app) as client:
        first = await client.get("/limited", headers={"x-tenant": "a"})
        second = await client.get("/limited", headers={"x-tenant": "b"})
        third = await client.get("/limited", headers={"x-tenant": "a"})
    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert third.status_code == 429, third.text


def test_identity_key_user_or_ip() -> None:
    name = identity_key(KeyBy.USER_OR_IP)
    request = Request({"type": "http", "headers": [], "client": ("2001:db8::5", 1)})
    assert name(request, None) == "ip:2001:db8::/64"
    assert name(request, Principal(user_id=9)) == "user:9"


def test_identity_key_rejects_other_values() -> None:
    with pytest.raises(ValueError, match="KeyBy"):
        identity_key("ip-address")  # type: ignore[arg-type]
