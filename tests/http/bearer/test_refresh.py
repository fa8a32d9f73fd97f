"""``POST /refresh``, ``token_version`` revocation and the bearer ``/logout``."""

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete

from crudauth import BearerTransport, SessionTransport
from crudauth.transports.bearer.tokens import (
    TokenType,
    create_access_token,
    create_refresh_token,
    verify_token,
)
from support import csrf_headers, login

INVALID_REFRESH = {"detail": "Invalid or expired refresh token"}


async def post_token(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    data = {"username": "alice", "password": "Correct-Horse-1", **form}
    response = await client.post("/token", data=data)
    assert response.status_code == 200, response.text
    return response


def access_claims(test_app: Any, token: str) -> dict[str, Any]:
    runtime = test_app.auth.runtime
    claims = verify_token(token, runtime.secret_key, TokenType.ACCESS, algorithm=runtime.algorithm)
    assert claims is not None
    return claims


def assert_invalid_refresh(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_REFRESH
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def bump_token_version(test_app: Any, user_id: Any) -> None:
    async with test_app.sessionmaker() as db:
        user = await test_app.auth.repo.get_by_id(db, user_id)
        await test_app.auth.repo.increment_token_version(db, user)


async def set_active(test_app: Any, user_id: Any, active: bool) -> None:
    async with test_app.sessionmaker() as db:
        user = await test_app.auth.repo.get_by_id(db, user_id)
        await test_app.auth.repo.update(db, user, {"is_active": active})


async def delete_user(test_app: Any, user_id: Any) -> None:
    async with test_app.sessionmaker() as db:
        await db.execute(delete(test_app.model).where(test_app.model.id == user_id))
        await db.commit()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_refresh_from_cookie(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    user = await test_app.create_user()
    async with test_app.client() as client:
        await post_token(client)
        response = await client.post("/refresh")
        protected = await client.get("/protected", headers=bearer(response.json()["access_token"]))

    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type"}
    assert response.json()["token_type"] == "bearer"
    # Every refresh rotates: the new refresh token replaces the cookie.
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    assert cookies[0].startswith("refresh_token=")
    assert "HttpOnly" in cookies[0]
    assert protected.json() == {"user_id": user.id, "via": "bearer"}


async def test_refresh_from_body(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        refresh_token = (await post_token(client)).json()["refresh_token"]
        response = await client.post("/refresh", json={"refresh_token": refresh_token})

    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type", "refresh_token"}
    assert response.json()["refresh_token"] != refresh_token


async def test_refresh_body_mode_prefers_cookie(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        refresh_token = (await post_token(client)).json()["refresh_token"]
        client.cookies.set("refresh_token", refresh_token)
        response = await client.post("/refresh", json={"refresh_token": "garbage"})

    assert response.status_code == 200, response.text


async def test_refresh_cookie_mode_ignores_body(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport()])
    user = await test_app.create_user()
    refresh_token = (await test_app.auth.issue_tokens(user))["refresh_token"]
    async with test_app.client() as client:
        response = await client.post("/refresh", json={"refresh_token": refresh_token})

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Refresh token missing"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_refresh_missing_token_401(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    async with test_app.client() as client:
        no_body = await client.post("/refresh")
        not_json = await client.post("/refresh", content=b"refresh_token=abc")
        not_object = await client.post("/refresh", json=["abc"])

    for response in (no_body, not_json, not_object):
        assert response.status_code == 401, response.text
        assert response.json() == {"detail": "Refresh token missing"}
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_refresh_garbage_token_401(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    async with test_app.client() as client:
        response = await client.post("/refresh", json={"refresh_token": "garbage"})

    assert_invalid_refresh(response)


async def test_refresh_rejects_access_token(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        access_token = (await post_token(client)).json()["access_token"]
        response = await client.post("/refresh", json={"refresh_token": access_token})

    assert_invalid_refresh(response)


async def test_refresh_rejects_expired_token(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    user = await test_app.create_user()
    expired = create_refresh_token(
        {"sub": str(user.id), "ver": 0, "scopes": []},
        test_app.auth.runtime.secret_key,
        expires_delta=timedelta(seconds=-1),
    )
    async with test_app.client() as client:
        response = await client.post("/refresh", json={"refresh_token": expired})

    assert_invalid_refresh(response)


async def test_refresh_rejects_other_secret(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    user = await test_app.create_user()
    forged = create_refresh_token(
        {"sub": str(user.id), "ver": 0, "scopes": []}, "another-key-" + "x" * 40
    )
    async with test_app.client() as client:
        response = await client.post("/refresh", json={"refresh_token": forged})

    assert_invalid_refresh(response)


async def test_refresh_reclamps_narrowed_scopes(make_app: Any) -> None:
    transport = BearerTransport(grantable_scopes=["a", "b"], refresh="body")
    test_app = await make_app(transports=[transport])
    await test_app.create_user()
    async with test_app.client() as client:
        issued = (await post_token(client, scope="a b")).json()
        transport.grantable_scopes = frozenset({"a"})
        response = await client.post("/refresh", json={"refresh_token": issued["refresh_token"]})

    assert access_claims(test_app, issued["access_token"])["scopes"] == ["a", "b"]
    assert response.status_code == 200, response.text
    assert access_claims(test_app, response.json()["access_token"])["scopes"] == ["a"]


async def test_token_version_bump_revokes_both(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    user = await test_app.create_user()
    async with test_app.client() as client:
        issued = (await post_token(client)).json()
        await bump_token_version(test_app, user.id)
        access = await client.get("/protected", headers=bearer(issued["access_token"]))
        refresh = await client.post("/refresh", json={"refresh_token": issued["refresh_token"]})
        fresh = (await post_token(client)).json()
        renewed = await client.get("/protected", headers=bearer(fresh["access_token"]))

    assert access.status_code == 401, access.text
    assert access.json() == {"detail": "Not authenticated"}
    assert_invalid_refresh(refresh)
    assert renewed.status_code == 200, renewed.text
    assert access_claims(test_app, fresh["access_token"])["ver"] == 1


async def test_change_password_keeps_only_caller(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        issued = (await post_token(client)).json()
        other = (await post_token(client)).json()
        changed = await client.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": "New-Secret-77"},
            headers=bearer(issued["access_token"]),
        )
        access = await client.get("/protected", headers=bearer(issued["access_token"]))
        refresh = await client.post("/refresh", json={"refresh_token": issued["refresh_token"]})
        other_access = await client.get("/protected", headers=bearer(other["access_token"]))
        other_refresh = await client.post(
            "/refresh", json={"refresh_token": other["refresh_token"]}
        )

    assert changed.status_code == 200, changed.text
    assert access.status_code == 200, access.text
    assert refresh.status_code == 200, refresh.text
    assert other_access.status_code == 401, other_access.text
    assert_invalid_refresh(other_refresh)


async def test_refresh_inactive_user_401(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    user = await test_app.create_user()
    async with test_app.client() as client:
        issued = (await post_token(client)).json()
        await set_active(test_app, user.id, False)
        access = await client.get("/protected", headers=bearer(issued["access_token"]))
        refresh = await client.post("/refresh", json={"refresh_token": issued["refresh_token"]})

    assert access.status_code == 401, access.text
    assert access.json() == {"detail": "Not authenticated"}
    assert_invalid_refresh(refresh)


async def test_refresh_deleted_user_401(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    user = await test_app.create_user()
    async with test_app.client() as client:
        issued = (await post_token(client)).json()
        await delete_user(test_app, user.id)
        access = await client.get("/protected", headers=bearer(issued["access_token"]))
        refresh = await client.post("/refresh", json={"refresh_token": issued["refresh_token"]})

    assert access.status_code == 401, access.text
    assert access.json() == {"detail": "Not authenticated"}
    assert_invalid_refresh(refresh)


async def test_previous_secret_key_still_verifies(make_app: Any) -> None:
    old_key = "retired-signing-key-" + "0123456789" * 4
    # Stateless, so hand-made tokens without a family are accepted.
    test_app = await make_app(transports=[BearerTransport(refresh="body", stateless=True)])
    user = await test_app.create_user()
    test_app.auth.runtime.previous_secret_keys = (old_key,)
    claims = {"sub": str(user.id), "ver": 0, "scopes": []}
    access = create_access_token(claims, old_key)
    refresh = create_refresh_token(claims, old_key)
    async with test_app.client() as client:
        protected = await client.get("/protected", headers=bearer(access))
        renewed = await client.post("/refresh", json={"refresh_token": refresh})

    assert protected.status_code == 200, protected.text
    assert renewed.status_code == 200, renewed.text
    new_claims = verify_token(
        renewed.json()["access_token"], test_app.auth.runtime.secret_key, TokenType.ACCESS
    )
    assert new_claims is not None


async def test_refresh_cookie_path_reaches_mount(make_app: Any) -> None:
    transport = BearerTransport(refresh_cookie_path="/auth/refresh")
    test_app = await make_app(transports=[transport])
    await test_app.create_user()
    app = FastAPI()
    app.include_router(test_app.auth.bearer_router, prefix="/auth")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        issued = await client.post(
            "/auth/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
        response = await client.post("/auth/refresh")

    assert issued.status_code == 200, issued.text
    assert response.status_code == 200, response.text


# -- bearer /logout -------------------------------------------------------------------


def route_paths(router: Any) -> list[str]:
    return [route.path for route in router.routes]


async def test_bearer_router_paths(make_app: Any) -> None:
    cookie_app = await make_app(transports=[BearerTransport()])
    body_app = await make_app(transports=[BearerTransport(refresh="body")])

    assert sorted(route_paths(cookie_app.auth.bearer_router)) == ["/logout", "/refresh", "/token"]
    assert sorted(route_paths(body_app.auth.bearer_router)) == ["/refresh", "/token"]


async def test_bearer_logout_expires_cookie(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh_cookie_path="/auth/refresh")])
    await test_app.create_user()
    async with test_app.client() as client:
        await post_token(client)
        response = await client.post("/logout")

    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "Logged out"}
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    assert cookies[0].startswith("refresh_token=")
    assert "Max-Age=0" in cookies[0]
    assert "Path=/auth/refresh" in cookies[0]
    assert "HttpOnly" in cookies[0]
    assert "Secure" in cookies[0]
    assert "SameSite=lax" in cookies[0]


async def test_body_mode_has_no_logout(make_app: Any) -> None:
    test_app = await make_app(transports=[BearerTransport(refresh="body")])
    async with test_app.client() as client:
        response = await client.post("/logout")

    assert response.status_code in (404, 405), response.text


async def test_session_logout_replaces_bearer_logout(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(), BearerTransport()])
    await test_app.create_user()

    assert "/logout" not in route_paths(test_app.auth.bearer_router)

    async with test_app.client() as client:
        await login(client)
        await post_token(client)
        response = await client.post("/logout", headers=csrf_headers(client))

    assert response.status_code == 200, response.text
    cleared = [c for c in response.headers.get_list("set-cookie") if "Max-Age=0" in c]
    assert any(c.startswith("refresh_token=") for c in cleared), cleared


async def test_session_logout_ends_refresh_cookie_family(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(), BearerTransport()])
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        issued = await post_token(client)
        copied_refresh = issued.cookies["refresh_token"]
        access_token = issued.json()["access_token"]
        logged_out = await client.post("/logout", headers=csrf_headers(client))
    async with test_app.client() as thief:
        thief.cookies.set("refresh_token", copied_refresh)
        refreshed = await thief.post("/refresh")
        me = await thief.get("/me", headers=bearer(access_token))

    assert logged_out.status_code == 200, logged_out.text
    assert_invalid_refresh(refreshed)
    assert me.status_code == 401, me.text


async def test_session_logout_ends_bearer_header_family(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(), BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        tokens = (await post_token(client)).json()
        logged_out = await client.post("/logout", headers=bearer(tokens["access_token"]))
        refreshed = await client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
        me = await client.get("/me", headers=bearer(tokens["access_token"]))

    assert logged_out.status_code == 200, logged_out.text
    assert_invalid_refresh(refreshed)
    assert me.status_code == 401, me.text


async def test_session_logout_keeps_other_families(make_app: Any) -> None:
    test_app = await make_app(transports=[SessionTransport(), BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client, test_app.client() as device:
        tokens = (await post_token(device)).json()
        await login(client)
        logged_out = await client.post("/logout", headers=csrf_headers(client))
        me = await device.get("/me", headers=bearer(tokens["access_token"]))

    assert logged_out.status_code == 200, logged_out.text
    assert me.status_code == 200, me.text
