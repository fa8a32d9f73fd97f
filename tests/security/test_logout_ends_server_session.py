"""Logout deletes the session on the server and can't be forced by another site."""

from __future__ import annotations

from typing import Any

import pytest

from security_support import cleared, me_status, prepare
from support import csrf_headers, login


async def test_logout_deletes_the_record(make_app: Any, backend: Any) -> None:
    test_app = await make_app(**backend())
    await prepare(backend)
    await test_app.create_user()
    async with test_app.client() as first, test_app.client() as second:
        await login(first)
        await login(second)
        session_id = first.cookies["session_id"]
        before = {row["id"] for row in (await second.get("/sessions")).json()}
        response = await first.post("/logout", headers=csrf_headers(first))
        assert response.status_code == 200, response.text
        assert response.json() == {"detail": "Logged out"}
        assert cleared(response, "session_id")
        assert cleared(response, "csrf_token")
        after = {row["id"] for row in (await second.get("/sessions")).json()}
    assert await me_status(test_app, session_id) == 401
    assert len(before) == 2
    assert len(after) == 1
    assert await test_app.auth.sessions.get_session(session_id) is None


async def test_get_logout_is_not_allowed(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        await login(client)
        assert (await client.get("/logout")).status_code == 405
        assert (await client.get("/me")).status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"Sec-Fetch-Site": "cross-site"}], ids=["no-token", "cross-site"]
)
async def test_logout_without_csrf_is_refused(secure_app: Any, headers: dict[str, str]) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        await login(client)
        handle = (await client.get("/sessions")).json()[0]["id"]
        for method, path in (
            ("POST", "/logout"),
            ("POST", "/logout-all"),
            ("DELETE", f"/sessions/{handle}"),
        ):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 403, (path, response.text)
            assert response.headers.get_list("set-cookie") == []
        assert (await client.get("/me")).status_code == 200


async def test_logout_of_a_dead_session_clears_cookies(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as client:
        await login(client)
        await test_app.auth.sessions.terminate_session(client.cookies["session_id"])
        response = await client.post("/logout")
    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "Logged out"}
    assert cleared(response, "session_id")
    assert cleared(response, "csrf_token")
