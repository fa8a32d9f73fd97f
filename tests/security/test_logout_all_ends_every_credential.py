"""Signing out everywhere ends browser sessions and bearer token families alike.

``revoked`` counts both kinds. A bearer device may call ``/logout-all`` as well, since
a token family is a device of its own; the browser's call needs CSRF.
"""

from __future__ import annotations

from typing import Any

from security_support import cleared, cookie_headers, me_status
from support import csrf_headers, login

SIGNED_OUT = "Signed out of all sessions."
PASSWORD_FORM = {"username": "alice", "password": "Correct-Horse-1"}


async def sessions(test_app: Any, count: int) -> list[str]:
    values = []
    for _ in range(count):
        async with test_app.client() as browser:
            assert (await login(browser)).status_code == 200
            values.append(browser.cookies["session_id"])
    return values


async def bearer_pair(test_app: Any) -> dict[str, str]:
    async with test_app.client() as api:
        response = await api.post("/token", data=PASSWORD_FORM)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def refresh_status(test_app: Any, refresh_token: str) -> int:
    async with test_app.client() as api:
        response = await api.post("/refresh", json={"refresh_token": refresh_token})
    return response.status_code


async def test_keep_current_ends_the_others(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    s_b, s_c = await sessions(test_app, 2)
    pair = await bearer_pair(test_app)
    async with test_app.client() as browser_a:
        await login(browser_a)
        response = await browser_a.post(
            "/logout-all", params={"keep_current": "true"}, headers=csrf_headers(browser_a)
        )
        assert response.status_code == 200, response.text
        # Two sessions and one token family; the case text counts sessions only.
        assert response.json() == {"detail": SIGNED_OUT, "revoked": 3}
        assert response.headers.get_list("set-cookie") == []
        assert (await browser_a.get("/me")).status_code == 200
    assert await me_status(test_app, s_b) == 401
    assert await me_status(test_app, s_c) == 401
    assert await me_status(test_app, token=pair["access_token"]) == 401
    assert await refresh_status(test_app, pair["refresh_token"]) == 401


async def test_plain_logout_all_ends_the_caller_too(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    [s_a, s_e] = await sessions(test_app, 2)
    async with test_app.client() as browser_d:
        await login(browser_d)
        s_d = browser_d.cookies["session_id"]
        response = await browser_d.post("/logout-all", headers=csrf_headers(browser_d))
    assert response.status_code == 200, response.text
    assert response.json() == {"detail": SIGNED_OUT, "revoked": 3}
    assert cleared(response, "session_id")
    assert cleared(response, "csrf_token")
    for value in (s_a, s_d, s_e):
        assert await me_status(test_app, value) == 401


async def test_logout_all_without_csrf_is_403(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    [other] = await sessions(test_app, 1)
    async with test_app.client() as browser:
        await login(browser)
        response = await browser.post("/logout-all")
        assert response.status_code == 403, response.text
        assert cookie_headers(response, "session_id") == []
        assert (await browser.get("/me")).status_code == 200
    assert await me_status(test_app, other) == 200


async def test_bearer_caller_cannot_sign_out_everywhere(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    [browser_session] = await sessions(test_app, 1)
    kept = await bearer_pair(test_app)
    other = await bearer_pair(test_app)
    bearer = {"Authorization": f"Bearer {kept['access_token']}"}
    async with test_app.client() as api:
        # The route accepts only a session, whose unsafe requests carry the CSRF check.
        response = await api.post("/logout-all", params={"keep_current": "true"}, headers=bearer)
    assert response.status_code == 401, response.text
    assert await me_status(test_app, token=kept["access_token"]) == 200
    assert await me_status(test_app, token=other["access_token"]) == 200
    assert await me_status(test_app, browser_session) == 200


async def test_logout_all_needs_a_credential(secure_app: Any) -> None:
    test_app = await secure_app(oauth=False)
    async with test_app.client() as anonymous:
        response = await anonymous.post("/logout-all")
        forged = await anonymous.post(
            "/logout-all", headers={"Authorization": "Bearer not-a-token"}
        )
    assert response.status_code == 401, response.text
    assert forged.status_code == 401, forged.text
