"""A revoke that lands while a request is validating the session is never undone.

Runs on the real Redis server with activity written on every request, so each
request slides the session through the store's optimistic ``modify``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from crudauth.transports.session.schemas import SessionData
from support import login

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")


@pytest.fixture
def store_kind() -> str:
    if not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    return "redis"


async def assert_stays_revoked(test_app: Any, client: Any, user: Any, raw_id: str) -> None:
    manager = test_app.auth.sessions
    key = manager.keys.session_key(raw_id)
    assert await manager.storage.get(key, SessionData) is None
    assert await manager.storage.get_user_sessions(user.id) == []
    assert (await client.get("/me")).status_code == 401
    assert await manager.storage.get(key, SessionData) is None


async def test_revoke_before_touch_wins(production_app: Any, monkeypatch: Any) -> None:
    test_app = await production_app(transport_kwargs={"activity_interval_seconds": 0})
    user = await test_app.create_user()
    manager = test_app.auth.sessions
    original_touch = manager._touch

    async def revoke_then_touch(key: str, record: SessionData, now: Any) -> Any:
        # The request has read the live record; another worker revokes it now.
        await manager.revoke_all(user.id)
        return await original_touch(key, record, now)

    async with test_app.client() as client:
        await login(client)
        raw_id = client.cookies["session_id"]
        monkeypatch.setattr(manager, "_touch", revoke_then_touch)
        response = await client.get("/me")
        monkeypatch.undo()
        assert response.status_code == 401, response.text
        await assert_stays_revoked(test_app, client, user, raw_id)


async def test_revoke_inside_watch_wins(
    production_app: Any, shared_store: Any, monkeypatch: Any
) -> None:
    import redis

    test_app = await production_app(transport_kwargs={"activity_interval_seconds": 0})
    user = await test_app.create_user()
    manager = test_app.auth.sessions
    storage = manager.storage
    original_modify = storage.modify
    other_worker = redis.Redis.from_url(REDIS_URL or "")
    revoked: list[str] = []

    async def modify_with_revoke(session_id: str, model_class: Any, change: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        def change_then_revoke(value: Any) -> None:
            change(value)
            if not revoked:
                # Between the watched read and EXEC, another worker deletes the record
                # and its index entry, as revoking does.
                other_worker.delete(storage.get_key(session_id))
                other_worker.srem(storage.user_index_key(user.id), session_id)
                revoked.append(session_id)

        return await original_modify(session_id, model_class, change_then_revoke, **kwargs)

    try:
        async with test_app.client() as client:
            await login(client)
            raw_id = client.cookies["session_id"]
            monkeypatch.setattr(storage, "modify", modify_with_revoke)
            response = await client.get("/me")
            monkeypatch.undo()
            assert revoked == [manager.keys.session_key(raw_id)]
            assert response.status_code == 401, response.text
            await assert_stays_revoked(test_app, client, user, raw_id)
    finally:
        other_worker.close()
