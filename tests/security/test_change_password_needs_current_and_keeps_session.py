"""Changing the password: the current one is required, only this session survives."""

from __future__ import annotations

from typing import Any

from crudauth.ratelimit import RateLimit
from security_support import me_status
from support import csrf_headers, login


async def bearer_token(client: Any, password: str = "Correct-Horse-1") -> str:
    response = await client.post("/token", data={"username": "alice", "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_change_keeps_only_the_current_session(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as a, test_app.client() as b:
        await login(a)
        await login(b)
        token = await bearer_token(a)
        s_b = b.cookies["session_id"]
        response = await a.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "Fresh-Pass-88"},
            headers=csrf_headers(a),
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"detail": "Password changed."}
        assert (await a.get("/me")).status_code == 200
        assert (await a.get("/me")).status_code == 200
    assert await me_status(test_app, s_b) == 401
    assert await me_status(test_app, token=token) == 401


async def test_wrong_current_password_changes_nothing(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as a, test_app.client() as other:
        await login(a)
        await login(other)
        token = await bearer_token(a)
        response = await a.post(
            "/change-password",
            json={"current_password": "wrong-guess", "new_password": "Fresh-Pass-88"},
            headers=csrf_headers(a),
        )
        assert response.status_code == 401, response.text
        assert response.json() == {"detail": "Current password is incorrect."}
        assert (await other.get("/me")).status_code == 200
    assert await me_status(test_app, token=token) == 200


async def test_missing_current_password_is_422(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as a:
        await login(a)
        token = await bearer_token(a)
        response = await a.post(
            "/change-password", json={"new_password": "Other-Pw-12"}, headers=csrf_headers(a)
        )
        assert response.status_code == 422, response.text
        assert (await a.get("/me")).status_code == 200
    assert await me_status(test_app, token=token) == 200


async def test_guessing_the_current_password_hits_the_per_user_limit(secure_app: Any) -> None:
    limits = {"change_password": RateLimit(5, 3600)}
    test_app = await secure_app(rate_limits=limits)
    statuses = []
    async with test_app.client() as a:
        await login(a)
        first = await a.post(
            "/change-password", json={"new_password": "Other-Pw-12"}, headers=csrf_headers(a)
        )
        statuses.append(first.status_code)
        for attempt in range(19):
            response = await a.post(
                "/change-password",
                json={"current_password": f"nope-{attempt}", "new_password": "Other-Pw-12"},
                headers=csrf_headers(a),
            )
            statuses.append(response.status_code)
    assert statuses[0] == 422
    assert statuses[1:5] == [401] * 4
    first_limited = statuses.index(429)
    assert first_limited == 5
    assert set(statuses[first_limited:]) == {429}


async def test_no_other_route_sets_the_password(secure_app: Any) -> None:
    test_app = await secure_app()
    async with test_app.client() as a:
        await login(a)
        patched = await a.patch("/me", json={"password": "Other-Pw-12"}, headers=csrf_headers(a))
        assert patched.status_code in (404, 405, 422), patched.text
        put = await a.put("/me", json={"password": "Other-Pw-12"}, headers=csrf_headers(a))
        assert put.status_code in (404, 405, 422), put.text
    async with test_app.client() as fresh:
        assert (await login(fresh, password="Other-Pw-12")).status_code == 401
        assert (await login(fresh)).status_code == 200
