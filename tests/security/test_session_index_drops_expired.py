"""Expired sessions never linger in the per-user index, on every backend.

The five records are made to expire by shortening their store TTL to one second and
waiting, which leaves their entries in a Redis user index behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crudauth.ratelimit import LockoutConfig
from security_support import me_status, prepare
from support import csrf_headers, login


async def index_app(make_app: Any, backend: Any, **options: Any) -> Any:
    options.setdefault("max_sessions_per_user", 6)
    test_app = await make_app(**backend(**options), lockout=LockoutConfig(max_attempts=1000))
    await prepare(backend)
    test_app.extras["alice"] = await test_app.create_user()
    return test_app


async def logins(test_app: Any, count: int) -> list[str]:
    async def one() -> str:
        async with test_app.client() as browser:
            assert (await login(browser)).status_code == 200
            return browser.cookies["session_id"]

    return [await one() for _ in range(count)]


async def expire(test_app: Any, session_ids: list[str]) -> None:
    manager = test_app.auth.sessions
    for session_id in session_ids:
        assert await manager.storage.extend(manager.keys.session_key(session_id), 1)
    await asyncio.sleep(1.2)


async def index_members(test_app: Any, user_id: Any) -> set[str]:
    """The raw index: the Redis set itself, or what the store reports as indexed."""
    storage = test_app.auth.sessions.storage
    client = getattr(storage, "client", None)
    if client is not None:
        members = await client.smembers(storage.user_index_key(user_id))
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}
    return set(await storage.get_user_sessions(user_id))


async def test_expired_entries_leave_listing_and_index(make_app: Any, backend: Any) -> None:
    test_app = await index_app(make_app, backend)
    alice_id = test_app.extras["alice"].id
    manager = test_app.auth.sessions
    await expire(test_app, await logins(test_app, 5))

    async with test_app.client() as browser:
        assert (await login(browser)).status_code == 200
        s_6 = browser.cookies["session_id"]
        listing = await browser.get("/sessions")
        assert listing.status_code == 200, listing.text
        rows = listing.json()
        assert len(rows) == 1
        assert rows[0]["current"] is True
        assert await index_members(test_app, alice_id) == {manager.keys.session_key(s_6)}

        response = await browser.post(
            "/logout-all", params={"keep_current": "true"}, headers=csrf_headers(browser)
        )
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == 0
    assert await me_status(test_app, s_6) == 200


async def test_expired_sessions_do_not_count_toward_the_cap(make_app: Any, backend: Any) -> None:
    test_app = await index_app(make_app, backend)
    await expire(test_app, await logins(test_app, 5))
    live = await logins(test_app, 6)
    for session_id in live:
        assert await me_status(test_app, session_id) == 200


async def test_sessions_created_during_prunes_are_revoked(make_app: Any, backend: Any) -> None:
    test_app = await index_app(make_app, backend, max_sessions_per_user=20)
    async with test_app.client() as lister:
        assert (await login(lister)).status_code == 200

        async def prune() -> None:
            assert (await lister.get("/sessions")).status_code == 200

        created: list[str] = []
        for _ in range(3):
            results = await asyncio.gather(
                logins(test_app, 1), logins(test_app, 1), prune(), prune(), prune()
            )
            created.extend(results[0] + results[1])
        for session_id in created:
            assert await me_status(test_app, session_id) == 200
        response = await lister.post("/logout-all", headers=csrf_headers(lister))
    assert response.status_code == 200, response.text
    for session_id in created:
        assert await me_status(test_app, session_id) == 401
