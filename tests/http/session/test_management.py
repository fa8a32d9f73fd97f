"""Session-management routes: device list, revocation, logout-all and CSRF refresh."""

from __future__ import annotations

from typing import Any

from crudauth import BearerTransport, SessionTransport
from crudauth.ratelimit import RateLimit
from support import csrf_headers, login

BOB_PASSWORD = "Battery-Staple-2"


def managed(**kwargs: Any) -> SessionTransport:
    return SessionTransport(management_routes=True, **kwargs)


def cleared(response: Any, name: str) -> bool:
    return any(
        header.startswith(f"{name}=") and "Max-Age=0" in header
        for header in response.headers.get_list("set-cookie")
    )


async def test_routes_absent_without_flag(make_app: Any) -> None:
    test_app = await make_app()
    async with test_app.client() as client:
        response = await client.get("/sessions")
    assert response.status_code == 404, response.text


async def test_management_routes_refuse_bearer_caller(make_app: Any) -> None:
    test_app = await make_app(transports=[managed(), BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        token = (
            await client.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        listed = await client.get("/sessions", headers=bearer)
        ended = await client.post("/logout-all", headers=bearer)
        revoked = await client.delete("/sessions/anything", headers=bearer)
        me = await client.get("/me", headers=bearer)
    assert listed.status_code == 401, listed.text
    assert ended.status_code == 401, ended.text
    assert revoked.status_code == 401, revoked.text
    assert me.status_code == 200, me.text


async def test_list_shows_token_devices(make_app: Any) -> None:
    test_app = await make_app(transports=[managed(), BearerTransport(refresh="body")])
    await test_app.create_user()
    async with test_app.client() as client:
        token = (
            await client.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()
        await login(client)
        response = await client.get("/sessions")
    assert response.status_code == 200, response.text
    rows = response.json()
    assert sorted((row["kind"], row["current"]) for row in rows) == [
        ("session", True),
        ("token", False),
    ]
    assert token["refresh_token"] not in response.text
    assert token["access_token"] not in response.text


async def test_list_rows_carry_handles(make_app: Any) -> None:
    test_app = await make_app(transports=[managed()])
    await test_app.create_user()
    async with test_app.client() as first, test_app.client() as second:
        await login(first)
        await login(second)
        response = await first.get("/sessions")
        raw_ids = {first.cookies["session_id"], second.cookies["session_id"]}
    assert response.status_code == 200, response.text
    rows = response.json()
    assert len(rows) == 2
    assert [row["current"] for row in rows].count(True) == 1
    for row in rows:
        assert row["session_id"] == row["id"]
        assert row["id"] not in raw_ids
        assert set(row) == {
            "session_id",
            "id",
            "device",
            "ip",
            "created_at",
            "last_activity",
            "expires_at",
            "kind",
            "current",
        }
        assert row["kind"] == "session"
        assert row["created_at"].endswith(("Z", "+00:00"))
    assert not any(raw in response.text for raw in raw_ids)


async def test_revocation_scenario(make_app: Any) -> None:
    test_app = await make_app(transports=[managed()])
    await test_app.create_user()
    await test_app.create_user(email="bob@example.com", username="bob", password=BOB_PASSWORD)
    async with test_app.client() as a1, test_app.client() as a2, test_app.client() as b1:
        await login(a1)
        await login(a2)
        await login(b1, "bob", BOB_PASSWORD)
        rows = (await a1.get("/sessions")).json()
        a1_id = next(row["id"] for row in rows if row["current"])
        a2_id = next(row["id"] for row in rows if not row["current"])

        deleted = await a1.delete(f"/sessions/{a2_id}", headers=csrf_headers(a1))
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {"detail": "Session revoked."}
        assert not cleared(deleted, "session_id")
        assert (await a2.get("/me")).status_code == 401

        unknown = await a1.delete("/sessions/nope", headers=csrf_headers(a1))
        foreign = await b1.delete(f"/sessions/{a1_id}", headers=csrf_headers(b1))
        raw = await b1.delete(f"/sessions/{a1.cookies['session_id']}", headers=csrf_headers(b1))
        for response in (unknown, foreign, raw):
            assert response.status_code == 404, response.text
            assert response.content == b'{"detail":"Session not found."}'
        assert (await a1.get("/me")).status_code == 200

        no_csrf = await a1.delete(f"/sessions/{a1_id}")
        assert no_csrf.status_code == 403, no_csrf.text
        own = await a1.delete(f"/sessions/{a1_id}", headers=csrf_headers(a1))
        assert own.status_code == 200, own.text
        assert cleared(own, "session_id")
        assert cleared(own, "csrf_token")
    async with test_app.client(cookies={"session_id": a1_id}) as handle_as_cookie:
        assert (await handle_as_cookie.get("/me")).status_code == 401


async def test_logout_all_keep_current(make_app: Any) -> None:
    test_app = await make_app(transports=[managed(), BearerTransport(refresh="body")])
    user = await test_app.create_user()
    async with test_app.client() as a, test_app.client() as b, test_app.client() as api:
        await login(a)
        await login(b)
        token = (
            await api.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        response = await a.post("/logout-all?keep_current=true", headers=csrf_headers(a))
        assert response.status_code == 200, response.text
        assert response.json() == {"detail": "Signed out of all sessions.", "revoked": 2}
        assert "set-cookie" not in response.headers
        assert (await a.get("/me")).status_code == 200
        assert (await b.get("/me")).status_code == 401
        # keep_current keeps only the caller's session: the token device ends too.
        assert (await api.get("/me", headers=bearer)).status_code == 401
    refreshed = await test_app.get_user(user.id)
    assert refreshed.token_version == 0


async def test_logout_all_ends_everything(make_app: Any) -> None:
    test_app = await make_app(transports=[managed(), BearerTransport(refresh="body")])
    user = await test_app.create_user()
    async with test_app.client() as a, test_app.client() as b, test_app.client() as api:
        await login(a)
        await login(b)
        token = (
            await api.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await a.post("/logout-all")).status_code == 403
        response = await a.post("/logout-all", headers=csrf_headers(a))
        assert response.status_code == 200, response.text
        assert response.json()["revoked"] == 3
        assert cleared(response, "session_id")
        assert cleared(response, "csrf_token")
        assert (await b.get("/me")).status_code == 401
        assert (await api.get("/me", headers=bearer)).status_code == 401
    async with test_app.client() as again:
        assert (await login(again)).status_code == 200
        assert (await again.get("/me")).status_code == 200
    # Token families end every bearer credential, so the epoch stays where it was.
    refreshed = await test_app.get_user(user.id)
    assert refreshed.token_version == 0


async def test_logout_all_is_throttled_per_user(make_app: Any) -> None:
    test_app = await make_app(
        transports=[managed()], rate_limits={"logout_all": RateLimit(1, 3600)}
    )
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        first = await client.post("/logout-all?keep_current=true", headers=csrf_headers(client))
        second = await client.post("/logout-all?keep_current=true", headers=csrf_headers(client))
    assert first.status_code == 200, first.text
    assert second.status_code == 429, second.text
    assert "Retry-After" in second.headers


async def test_csrf_refresh_self_heals(make_app: Any) -> None:
    test_app = await make_app(transports=[managed(remember_me_days=30)])
    await test_app.create_user()
    async with test_app.client() as client:
        login_token = (await login(client)).json()["csrf_token"]
        same = await client.post("/csrf/refresh")
        assert same.status_code == 200, same.text
        assert same.json() == {"csrf_token": login_token}
        assert "set-cookie" not in same.headers

        client.cookies.delete("csrf_token")
        fresh = await client.post("/csrf/refresh")
        assert fresh.status_code == 200, fresh.text
        new_token = fresh.json()["csrf_token"]
        assert new_token and new_token != login_token
        cookie = fresh.headers["set-cookie"]
        assert cookie.startswith(f"csrf_token={new_token};")
        assert "Max-Age" not in cookie
        old = await client.post("/protected", headers={"X-CSRF-Token": login_token})
        assert old.status_code == 403, old.text
        new = await client.post("/protected", headers={"X-CSRF-Token": new_token})
        assert new.status_code == 200, new.text


async def test_csrf_refresh_remember_me_cookie(make_app: Any) -> None:
    test_app = await make_app(transports=[managed()])
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client, remember_me="true")
        client.cookies.delete("csrf_token")
        response = await client.post("/csrf/refresh")
    assert response.status_code == 200, response.text
    assert "Max-Age=2592000" in response.headers["set-cookie"]


async def test_csrf_refresh_failures(make_app: Any) -> None:
    test_app = await make_app(transports=[managed()])
    async with test_app.client() as client:
        anonymous = await client.post("/csrf/refresh")
        wrong_verb = await client.get("/csrf/refresh")
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json() == {"detail": "Not authenticated"}
    assert wrong_verb.status_code == 405, wrong_verb.text

    disabled_app = await make_app(transports=[managed(csrf=False)])
    async with disabled_app.client() as client:
        response = await client.post("/csrf/refresh")
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "CSRF is disabled."}


async def test_csrf_refresh_rejects_stale_session(make_app: Any) -> None:
    test_app = await make_app(transports=[managed()])
    user = await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        async with test_app.sessionmaker() as db:
            row = await test_app.auth.repo.get_by_id(db, user.id)
            await test_app.auth.repo.increment_token_version(db, row)
        client.cookies.delete("csrf_token")
        response = await client.post("/csrf/refresh")
    assert response.status_code == 401, response.text


async def test_csrf_refresh_is_throttled(make_app: Any) -> None:
    test_app = await make_app(
        transports=[managed()], rate_limits={"csrf_refresh": RateLimit(2, 3600)}
    )
    async with test_app.client() as client:
        statuses = [(await client.post("/csrf/refresh")).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


async def test_session_cap_over_http(make_app: Any) -> None:
    test_app = await make_app(transports=[managed(max_sessions_per_user=2)])
    await test_app.create_user()
    clients = [test_app.client() for _ in range(3)]
    for client in clients:
        await login(client)
    rows = (await clients[2].get("/sessions")).json()
    assert len(rows) == 2
    assert (await clients[0].get("/me")).status_code == 401
    for client in clients:
        await client.aclose()
