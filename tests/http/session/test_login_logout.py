"""``POST /login`` and ``POST /logout`` of the session transport over HTTP."""

from __future__ import annotations

from typing import Any

from crudauth import AuthHooks, CookieConfig, SessionTransport
from support import csrf_headers, login


def set_cookies(response: Any) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


async def test_login_sets_secure_cookies(make_app: Any) -> None:
    test_app = await make_app()
    user = await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == user.id
    assert body["username"] == "alice"
    assert len(body["csrf_token"]) == 64
    cookies = set_cookies(response)
    session_cookie, csrf_cookie = cookies["session_id"], cookies["csrf_token"]
    assert "HttpOnly" in session_cookie
    assert "Secure" in session_cookie
    assert "samesite=lax" in session_cookie.lower()
    assert "Max-Age" not in session_cookie
    assert "HttpOnly" not in csrf_cookie
    assert "Secure" in csrf_cookie
    assert f"csrf_token={body['csrf_token']}" in csrf_cookie


async def test_login_by_email_and_remember_me(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client, "alice@example.com", remember_me="true")
    assert response.status_code == 200, response.text
    for header in set_cookies(response).values():
        assert "Max-Age=2592000" in header


async def test_login_wrong_password_is_401(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client, password="wrong-password")
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}
    assert "set-cookie" not in response.headers


async def test_login_disabled_account_is_401(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user(is_active=False)
    async with test_app.client() as client:
        response = await login(client)
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}


async def test_login_cross_site_is_403(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client(headers={"Sec-Fetch-Site": "cross-site"}) as client:
        response = await login(client)
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Cross-site login requests are not allowed."}


async def test_login_missing_field_is_422(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/login", data={"username": "alice"})
    assert response.status_code == 422, response.text


async def test_login_lockout_is_429(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(login_max_attempts=2)])
    await test_app.create_user()
    async with test_app.client() as client:
        statuses = [(await login(client, password="wrong")).status_code for _ in range(4)]
        last = await login(client, password="wrong")
    assert statuses == [401, 401, 429, 429]
    assert "Retry-After" in last.headers


async def test_login_replaces_presented_session(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    await test_app.create_user(email="bob@example.com", username="bob", password="Battery-2x")
    async with test_app.client() as bob:
        await login(bob, "bob", "Battery-2x")
        bob_session = bob.cookies["session_id"]
    async with test_app.client(cookies={"session_id": bob_session}) as browser:
        response = await login(browser)
    assert response.status_code == 200, response.text
    new_cookie = set_cookies(response)["session_id"]
    assert not new_cookie.startswith(f"session_id={bob_session};")
    async with test_app.client(cookies={"session_id": bob_session}) as replay:
        assert (await replay.get("/me")).status_code == 401


async def test_login_ignores_planted_cookie(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client(cookies={"session_id": "planted-0001"}) as client:
        response = await login(client)
    assert response.status_code == 200, response.text
    assert not set_cookies(response)["session_id"].startswith("session_id=planted-0001;")


async def test_logout_requires_csrf_for_live_session(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post("/logout")
        assert response.status_code == 403, response.text
        assert "set-cookie" not in response.headers
        assert (await client.get("/me")).status_code == 200


async def test_logout_ends_session_and_clears_cookies(make_app: Any) -> None:
    events: list[Any] = []
    hooks = AuthHooks(on_after_logout=lambda user, *, request, context: events.append(context))
    test_app = await make_app(hooks=hooks)
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        session_id = client.cookies["session_id"]
        response = await client.post("/logout", headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "Logged out"}
    cleared = set_cookies(response)
    for name in ("session_id", "csrf_token"):
        assert "Max-Age=0" in cleared[name]
        assert "Path=/" in cleared[name]
        assert "Secure" in cleared[name]
        assert "samesite=lax" in cleared[name].lower()
    assert len(events) == 1
    assert events[0].transport == "session"
    assert events[0].session_handle == test_app.auth.sessions.session_handle(session_id)
    async with test_app.client(cookies={"session_id": session_id}) as replay:
        assert (await replay.get("/me")).status_code == 401


async def test_logout_dead_session_needs_no_csrf(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client(cookies={"session_id": "expired"}) as client:
        response = await client.post("/logout")
    assert response.status_code == 200, response.text
    assert "Max-Age=0" in set_cookies(response)["session_id"]


async def test_logout_get_is_405(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.get("/logout")
    assert response.status_code == 405, response.text


async def test_cookie_policy_applies_to_session(make_app: Any) -> None:
    test_app = await make_app(cookies=CookieConfig(secure=False, samesite="strict"))
    await test_app.create_user()
    async with test_app.client() as client:
        response = await login(client)
    for header in set_cookies(response).values():
        assert "samesite=strict" in header.lower()
        assert "Secure" not in header


async def test_unsafe_request_csrf_rules(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as first, test_app.client() as second:
        await login(first)
        await login(second)
        missing = await first.post("/protected")
        foreign = await first.post("/protected", headers=csrf_headers(second))
        allowed = await first.post("/protected", headers=csrf_headers(first))
    assert missing.status_code == 403, missing.text
    assert missing.json() == {"detail": "Missing CSRF token"}
    assert foreign.status_code == 403, foreign.text
    assert foreign.json() == {"detail": "Invalid CSRF token"}
    assert allowed.status_code == 200, allowed.text
