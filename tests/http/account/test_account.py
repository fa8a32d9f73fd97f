"""``/me``, ``/set-password`` and ``/change-password``."""

from __future__ import annotations

from typing import Any

from crudauth import AuthHooks
from support import csrf_headers, login


async def test_me_requires_authentication(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.get("/me")
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}


async def test_me_returns_session_principal(make_app: Any) -> None:
    test_app = await make_app()
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.get("/me")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": user.id,
        "username": "alice",
        "email": "alice@example.com",
        "is_superuser": False,
        "scopes": [],
        "via": "session",
        "expires_at": response.json()["expires_at"],
    }
    assert response.json()["expires_at"].endswith(("Z", "+00:00"))


async def test_change_password_wrong_current_is_401(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/change-password",
            json={"current_password": "wrong-password", "new_password": "New-Secret-77"},
            headers=csrf_headers(client),
        )
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Current password is incorrect."}


async def test_change_password_without_csrf_is_403(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "New-Secret-77"},
        )
    assert response.status_code == 403, response.text
    assert response.headers["X-CSRF-Error"] == "true"


async def test_change_password_unusable_hash_is_400(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user(password=None)
    manager = test_app.auth.sessions
    async with test_app.client() as client:
        # An OAuth-only account cannot log in with a password; start its session directly.
        user = await test_app.get_user(1)
        await _session_for(test_app, client, user, manager)
        response = await client.post(
            "/change-password",
            json={"current_password": "anything", "new_password": "New-Secret-77"},
            headers=csrf_headers(client),
        )
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "Account has no password; use /set-password to create one."
    }


async def test_change_password_evicts_other_sessions(make_app: Any) -> None:
    fired: list[dict[str, Any]] = []

    async def on_changed(user: dict[str, Any], *, db: Any, context: Any) -> None:
        fired.append(user)

    test_app = await make_app(hooks=AuthHooks(on_after_password_changed=on_changed))
    await test_app.create_user()
    async with test_app.client() as caller, test_app.client() as other:
        await login(caller)
        await login(other)
        response = await caller.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "New-Secret-77"},
            headers=csrf_headers(caller),
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"detail": "Password changed."}
        assert (await caller.get("/me")).status_code == 200
        assert (await other.get("/me")).status_code == 401
    assert len(fired) == 1
    user = await test_app.get_user(1)
    assert user.token_version == 1
    async with test_app.client() as fresh:
        assert (await login(fresh)).status_code == 401
        assert (await login(fresh, password="New-Secret-77")).status_code == 200


async def test_change_password_policy_is_422(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "short"},
            headers=csrf_headers(client),
        )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "new_password"]


async def test_change_password_sixth_attempt_is_429(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    statuses = []
    async with test_app.client() as client:
        await login(client)
        for _ in range(6):
            response = await client.post(
                "/change-password",
                json={"current_password": "wrong-password", "new_password": "New-Secret-77"},
                headers=csrf_headers(client),
            )
            statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]


async def test_change_password_anonymous_is_401(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post(
            "/change-password",
            json={"current_password": "x", "new_password": "New-Secret-77"},
        )
    assert response.status_code == 401, response.text


async def test_set_password_with_existing_password_is_400(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        response = await client.post(
            "/set-password", json={"new_password": "New-Secret-77"}, headers=csrf_headers(client)
        )
    assert response.status_code == 400, response.text


async def test_set_password_for_passwordless_account(make_app: Any) -> None:
    test_app = await make_app()
    await test_app.create_user(password=None)
    user = await test_app.get_user(1)
    async with test_app.client() as client:
        await _session_for(test_app, client, user, test_app.auth.sessions)
        short = await client.post(
            "/set-password", json={"new_password": "short"}, headers=csrf_headers(client)
        )
        assert short.status_code == 422, short.text
        response = await client.post(
            "/set-password", json={"new_password": "New-Secret-77"}, headers=csrf_headers(client)
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "Password set."}
    async with test_app.client() as fresh:
        assert (await login(fresh, password="New-Secret-77")).status_code == 200


async def test_set_password_needs_fresh_sign_in(make_app: Any) -> None:
    test_app = await make_app(fresh_sign_in_seconds=0)
    await test_app.create_user(password=None)
    user = await test_app.get_user(1)
    async with test_app.client() as client:
        await _session_for(test_app, client, user, test_app.auth.sessions)
        response = await client.post(
            "/set-password", json={"new_password": "New-Secret-77"}, headers=csrf_headers(client)
        )
    assert response.status_code == 403, response.text
    assert "recent sign-in" in response.json()["detail"]


async def test_set_password_anonymous_is_401(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.post("/set-password", json={"new_password": "New-Secret-77"})
    assert response.status_code == 401, response.text


async def _session_for(test_app: Any, client: Any, user: Any, manager: Any) -> None:
    """Start a session for ``user`` without a password and load its cookies."""
    from starlette.requests import Request

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "headers": [(b"user-agent", b"pytest")],
        "client": ("127.0.0.1", 1234),
        "query_string": b"",
    }
    session_id, csrf_token = await manager.create_session(
        Request(scope), user.id, token_version=user.token_version
    )
    client.cookies.set("session_id", session_id)
    client.cookies.set("csrf_token", csrf_token)
