"""The HTTP flows with sessions, CSRF tokens and counters in Redis or the database store.

Each test also runs a second app (a stand-in for another worker) over the same user
database and store, and checks that both see the same sessions and counters.
"""

from __future__ import annotations

from typing import Any

from crudauth.storage import DatabaseSessionStorage, RedisSessionStorage
from crudauth.transports.session.schemas import SessionData
from support import csrf_headers, login

NEW_PASSWORD = "Another-Horse-2"


async def test_stores_use_shared_backend(production_app: Any, store_kind: str) -> None:
    test_app = await production_app()
    manager = test_app.auth.sessions
    expected = RedisSessionStorage if store_kind == "redis" else DatabaseSessionStorage
    assert isinstance(manager.storage, expected)
    assert isinstance(manager.csrf_storage, expected)
    limiter = type(test_app.auth.rate_limiter).__name__
    assert limiter == ("RedisBackend" if store_kind == "redis" else "DatabaseRateLimiterBackend")


async def test_login_me_and_logout(production_app: Any, twin: Any) -> None:
    test_app = await production_app()
    await test_app.create_user()
    other_worker = await twin(test_app)
    async with test_app.client() as client, other_worker.client() as elsewhere:
        assert (await login(client)).status_code == 200
        session_key = test_app.auth.sessions.keys.session_key(client.cookies["session_id"])
        stored = await test_app.auth.sessions.storage.get(session_key, SessionData)
        assert stored is not None

        # The other worker accepts the session created here.
        elsewhere.cookies.update(client.cookies)
        me = await elsewhere.get("/me")
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "alice"

        logged_out = await elsewhere.post("/logout", headers=csrf_headers(client))
        assert logged_out.status_code == 200, logged_out.text
        assert (await client.get("/me")).status_code == 401
    assert await test_app.auth.sessions.storage.get(session_key, SessionData) is None


async def test_csrf_checked_on_every_worker(production_app: Any, twin: Any) -> None:
    test_app = await production_app()
    await test_app.create_user()
    other_worker = await twin(test_app)
    async with test_app.client() as client, other_worker.client() as elsewhere:
        token = (await login(client)).json()["csrf_token"]
        elsewhere.cookies.update(client.cookies)
        missing = await elsewhere.post("/protected")
        assert missing.status_code == 403
        assert missing.json() == {"detail": "Missing CSRF token"}
        forged = await elsewhere.post("/protected", headers={"X-CSRF-Token": "0" * 64})
        assert forged.json() == {"detail": "Invalid CSRF token"}
        accepted = await elsewhere.post("/protected", headers={"X-CSRF-Token": token})
        assert accepted.status_code == 200, accepted.text

        # Refresh returns the healthy token unchanged. A rotation applies on both workers.
        refreshed = await client.post("/csrf/refresh")
        assert refreshed.json() == {"csrf_token": token}
        client.cookies.delete("csrf_token")
        rotated = (await client.post("/csrf/refresh")).json()["csrf_token"]
        assert rotated != token
        stale = await elsewhere.post("/protected", headers={"X-CSRF-Token": token})
        assert stale.status_code == 403
        fresh = await elsewhere.post("/protected", headers={"X-CSRF-Token": rotated})
        assert fresh.status_code == 200, fresh.text


async def test_sessions_revoked_across_workers(production_app: Any, twin: Any) -> None:
    test_app = await production_app()
    await test_app.create_user()
    other_worker = await twin(test_app)
    async with (
        test_app.client() as laptop,
        other_worker.client() as phone,
        other_worker.client() as tablet,
    ):
        await login(laptop)
        await login(phone)
        await login(tablet)
        rows = (await laptop.get("/sessions")).json()
        assert len(rows) == 3
        assert [row["current"] for row in rows].count(True) == 1
        phone_handle = test_app.auth.sessions.session_handle(phone.cookies["session_id"])
        assert phone_handle in {row["id"] for row in rows}

        # Revoked through one worker, rejected by the other.
        revoked = await laptop.delete(f"/sessions/{phone_handle}", headers=csrf_headers(laptop))
        assert revoked.status_code == 200, revoked.text
        assert (await phone.get("/me")).status_code == 401
        assert len((await tablet.get("/sessions")).json()) == 2
        again = await tablet.delete(f"/sessions/{phone_handle}", headers=csrf_headers(tablet))
        assert again.status_code == 404


async def test_logout_all_removes_every_record(production_app: Any, twin: Any) -> None:
    test_app = await production_app()
    user = await test_app.create_user()
    other_worker = await twin(test_app)
    manager = test_app.auth.sessions
    async with test_app.client() as keeper, other_worker.client() as second:
        await login(keeper)
        await login(second)
        kept_current = await second.post(
            "/logout-all?keep_current=true", headers=csrf_headers(second)
        )
        assert kept_current.json() == {"detail": "Signed out of all sessions.", "revoked": 1}
        assert (await keeper.get("/me")).status_code == 401
        assert (await second.get("/me")).status_code == 200

        await login(keeper)
        everything = await keeper.post("/logout-all", headers=csrf_headers(keeper))
        assert everything.json()["revoked"] == 2
        assert (await keeper.get("/me")).status_code == 401
        assert (await second.get("/me")).status_code == 401
    assert await manager.storage.get_user_sessions(user.id) == []
    assert await manager.list_for_user(user.id) == []


async def test_change_password_keeps_caller(production_app: Any, twin: Any) -> None:
    test_app = await production_app()
    await test_app.create_user()
    other_worker = await twin(test_app)
    async with test_app.client() as caller, other_worker.client() as other:
        await login(caller)
        await login(other)
        changed = await caller.post(
            "/change-password",
            json={"current_password": "Correct-Horse-1", "new_password": NEW_PASSWORD},
            headers=csrf_headers(caller),
        )
        assert changed.status_code == 200, changed.text
        assert (await caller.get("/me")).status_code == 200
        assert (await other.get("/me")).status_code == 401
        assert len((await caller.get("/sessions")).json()) == 1
        assert (await login(other, password=NEW_PASSWORD)).status_code == 200


async def test_lockout_counts_across_workers(production_app: Any, twin: Any) -> None:
    test_app = await production_app()
    await test_app.create_user()
    other_worker = await twin(test_app)
    async with test_app.client() as first, other_worker.client() as second:
        statuses = []
        for attempt in range(6):
            client = first if attempt % 2 == 0 else second
            statuses.append((await login(client, password="wrong-password")).status_code)
        assert statuses == [401, 401, 401, 401, 401, 429]
        # The lock holds on both workers, even for the right password.
        locked = await login(first)
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) > 0
        assert (await login(second)).status_code == 429


async def test_throttle_shared_across_workers(production_app: Any, twin: Any) -> None:
    from crudauth.ratelimit import RateLimit

    test_app = await production_app(rate_limits={"csrf_refresh": RateLimit(3, 3600)})
    await test_app.create_user()
    other_worker = await twin(test_app)
    async with test_app.client() as first, other_worker.client() as second:
        await login(first)
        second.cookies.update(first.cookies)
        statuses = [
            (await (first if n % 2 else second).post("/csrf/refresh")).status_code for n in range(4)
        ]
    assert statuses == [200, 200, 200, 429]
