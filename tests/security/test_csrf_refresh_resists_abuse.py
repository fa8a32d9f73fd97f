"""``POST /csrf/refresh`` hands a token only to its session and is rate limited."""

from __future__ import annotations

from typing import Any

from fastapi.middleware.cors import CORSMiddleware

from crudauth import SessionTransport
from crudauth.ratelimit import RateLimit
from security_support import cookie_attributes, cookie_headers
from support import csrf_headers, login

ORIGIN = "https://app.example.com"


async def test_no_session_is_401(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        response = await client.post("/csrf/refresh")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


async def test_live_token_is_returned_unchanged(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        issued = (await login(client)).json()
        token = client.cookies["csrf_token"]
        for _ in range(2):
            response = await client.post("/csrf/refresh")
            assert response.status_code == 200, response.text
            assert response.headers.get_list("set-cookie") == []
            assert token in response.text
        assert token in str(issued)
        assert (await client.post("/protected", headers=csrf_headers(client))).status_code == 200


async def test_lost_cookie_gets_a_new_token_with_matching_lifetime(secure_app: Any) -> None:
    test_app = await secure_app(
        transports=[SessionTransport(management_routes=True, remember_me_days=30)]
    )
    for remember, max_age in (("true", str(30 * 24 * 3600)), ("false", None)):
        async with test_app.client() as client:
            await login(client, remember_me=remember)
            old = client.cookies["csrf_token"]
            client.cookies.delete("csrf_token")
            response = await client.post("/csrf/refresh")
            assert response.status_code == 200, response.text
            [header] = cookie_headers(response, "csrf_token")
            attributes = cookie_attributes(header)
            assert attributes["value"] != old
            assert attributes.get("max-age") == max_age
            stale = await client.post("/protected", headers={"X-CSRF-Token": old})
            assert stale.status_code == 403
            fresh = await client.post("/protected", headers=csrf_headers(client))
            assert fresh.status_code == 200


async def test_foreign_origin_gets_no_cors_grant(secure_app: Any) -> None:
    test_app = await secure_app()
    test_app.app.add_middleware(
        CORSMiddleware, allow_origins=[ORIGIN], allow_credentials=True, allow_methods=["*"]
    )
    async with test_app.client() as client:
        await login(client)
        evil = await client.post("/csrf/refresh", headers={"Origin": "https://evil.example"})
        own = await client.post("/csrf/refresh", headers={"Origin": ORIGIN})
    # Starlette's CORS middleware sends Allow-Credentials on every simple response; a
    # browser ignores it without an Allow-Origin naming the caller, so nothing is granted.
    assert "access-control-allow-origin" not in evil.headers
    assert own.headers["access-control-allow-origin"] == ORIGIN


async def test_refresh_is_limited_per_address_and_post_only(secure_app: Any) -> None:
    test_app = await secure_app(rate_limits={"csrf_refresh": RateLimit(30, 3600)})
    async with test_app.client() as client:
        await login(client)
        assert (await client.get("/csrf/refresh")).status_code == 405
        statuses = [(await client.post("/csrf/refresh")).status_code for _ in range(40)]
    assert statuses[:30] == [200] * 30
    assert set(statuses[30:]) == {429}


async def test_crudauth_adds_no_cors_headers(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        await login(client)
        response = await client.post("/csrf/refresh", headers={"Origin": "https://evil.example"})
    assert not [name for name in response.headers if name.startswith("access-control-")]
