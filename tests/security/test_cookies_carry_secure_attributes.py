"""Every cookie crudauth sets has secure defaults, and clearing matches setting."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crudauth import CookieConfig, CRUDAuth, SessionTransport
from security_support import cookie_attributes, cookie_headers
from support import csrf_headers, default_model, login

REMEMBER_SECONDS = 30 * 24 * 3600


def attributes_of(response: httpx.Response, name: str) -> dict[str, str]:
    [header] = cookie_headers(response, name)
    return cookie_attributes(header)


def assert_clears_like(cleared: dict[str, str], was_set: dict[str, str]) -> None:
    assert cleared.get("max-age") == "0" or "expires" in cleared
    for key in ("path", "domain", "secure", "samesite"):
        assert cleared.get(key) == was_set.get(key), key


async def remember_login(client: httpx.AsyncClient) -> httpx.Response:
    response = await login(client, remember_me="true")
    assert response.status_code == 200, response.text
    return response


async def test_session_and_csrf_cookie_defaults(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        response = await login(client)
    session = attributes_of(response, "session_id")
    csrf = attributes_of(response, "csrf_token")
    assert "httponly" in session
    assert "httponly" not in csrf
    for cookie in (session, csrf):
        assert "secure" in cookie
        assert cookie["samesite"] == "lax"
        assert cookie["path"] == "/"
        assert "domain" not in cookie
        assert "max-age" not in cookie
        assert "expires" not in cookie


async def test_remember_me_cookies_and_their_clearing(secure_app: Any) -> None:
    test_app = await secure_app(
        transports=[SessionTransport(management_routes=True, remember_me_days=30)]
    )
    endings = [
        lambda c, _h: c.post("/logout", headers=csrf_headers(c)),
        lambda c, _h: c.post("/logout-all", headers=csrf_headers(c)),
        lambda c, h: c.delete(f"/sessions/{h}", headers=csrf_headers(c)),
    ]
    for end in endings:
        async with test_app.client() as client:
            response = await remember_login(client)
            set_attributes = {
                name: attributes_of(response, name) for name in ("session_id", "csrf_token")
            }
            for cookie in set_attributes.values():
                assert cookie["max-age"] == str(REMEMBER_SECONDS)
            assert "httponly" in set_attributes["session_id"]
            assert "httponly" not in set_attributes["csrf_token"]
            old = client.cookies["session_id"]
            handle = (await client.get("/sessions")).json()[0]["id"]
            ended = await end(client, handle)
            assert ended.status_code == 200, ended.text
            for name, was_set in set_attributes.items():
                assert_clears_like(attributes_of(ended, name), was_set)
        async with test_app.client() as replay:
            replay.cookies.set("session_id", old, domain="testserver.local")
            assert (await replay.get("/me")).status_code == 401


async def test_state_cookie_defaults(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        started = await client.get("/oauth/oidc/authorize")
    state = attributes_of(started, "oauth_state")
    assert "httponly" in state
    assert "secure" in state
    assert state["samesite"] == "lax"
    assert int(state["max-age"]) <= 1800


async def test_insecure_development_cookies_drop_only_secure(secure_app: Any) -> None:
    test_app = await secure_app(cookies=CookieConfig(secure=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=test_app.app), base_url="http://testserver"
    ) as client:
        response = await login(client)
        started = await client.get("/oauth/oidc/authorize")
    cookies = [attributes_of(response, "session_id"), attributes_of(response, "csrf_token")]
    cookies.append(attributes_of(started, "oauth_state"))
    for cookie in cookies:
        assert "secure" not in cookie
        assert cookie["samesite"] == "lax"
        assert cookie["path"] == "/"
        assert "domain" not in cookie
    assert "httponly" in cookies[0]
    assert "httponly" in cookies[2]


def test_samesite_none_session_cookies_are_refused() -> None:
    async def get_db() -> Any:
        return None

    with pytest.raises(ValueError):
        CRUDAuth(
            session=get_db,
            user_model=default_model(),
            SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
            transports=[SessionTransport(cookies=CookieConfig(samesite="none"))],
            warn_on_memory_backend=False,
        )
