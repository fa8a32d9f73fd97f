"""Signing out everywhere on each shared store: ownership, CSRF tokens, the security log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request

from crudauth.revocation import MAX_LOGGED_HANDLES
from crudauth.storage.backends.memory import MemorySessionStorage
from crudauth.storage.backends.redis import RedisSessionStorage
from crudauth.transports.session.constants import (
    CSRF_TOKEN_ID_META_KEY,
    REASON_TIMEOUT,
    REASON_USER_REVOKED_ALL,
)
from crudauth.transports.session.schemas import CSRFToken, SessionData
from support import csrf_headers, login

EXTRA_SESSIONS = 4


def bare_request() -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "headers": [(b"user-agent", b"sign-out-test")],
        "client": ("127.0.0.1", 50000),
        "query_string": b"",
    }
    return Request(scope)


async def own_sessions(manager: Any, user: Any, count: int) -> list[str]:
    """Create ``count`` sessions of ``user`` with CSRF tokens; return their storage keys."""
    keys = []
    for _ in range(count):
        session_id, _token = await manager.create_session(
            bare_request(), user.id, token_version=user.token_version
        )
        keys.append(manager.keys.session_key(session_id))
    return keys


async def test_sign_out_spares_foreign_session(production_app: Any) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 50})
    alice = await test_app.create_user()
    bob = await test_app.create_user(username="bob", email="bob@example.com")
    manager = test_app.auth.sessions
    keys = await own_sessions(manager, alice, EXTRA_SESSIONS)
    records = [await manager.storage.get(key, SessionData) for key in keys]
    csrf_keys = [record.metadata[CSRF_TOKEN_ID_META_KEY] for record in records]

    # One of alice's index entries now points at a record bob owns: on Redis the entry
    # stays listed under alice, elsewhere it moves. Either way it must survive.
    foreign_key = keys.pop()
    foreign_csrf = csrf_keys.pop()
    handed_over = records[-1].model_copy(update={"user_id": bob.id})
    assert await manager.storage.update(foreign_key, handed_over, reset_expiration=False)

    async with test_app.client() as client:
        await login(client)
        listed = (await client.get("/sessions")).json()
        response = await client.post("/logout-all", headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == EXTRA_SESSIONS

    for key in keys:
        assert await manager.storage.get(key, SessionData) is None
    for csrf_key in csrf_keys:
        assert await manager.csrf_storage.get(csrf_key, CSRFToken) is None
    survivor = await manager.storage.get(foreign_key, SessionData)
    assert survivor is not None and str(survivor.user_id) == str(bob.id)
    assert await manager.csrf_storage.get(foreign_csrf, CSRFToken) is not None

    events = await test_app.auth.security_events(alice.id, limit=50)
    # The newest sign-out event is this one: the log may outlive this test's keys.
    ended = next(event for event in events if event.type == "session_ended")
    assert ended.detail["reason"] == REASON_USER_REVOKED_ALL
    assert ended.detail["count"] == EXTRA_SESSIONS
    assert set(ended.detail["handles"]) == {row["id"] for row in listed}
    assert manager.keys.handle_for_key(foreign_key) not in ended.detail["handles"]


async def test_sign_out_reports_expired_as_timeout(
    production_app: Any,
) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 50})
    alice = await test_app.create_user()
    manager = test_app.auth.sessions
    keys = await own_sessions(manager, alice, 2)
    stale = await manager.storage.get(keys[0], SessionData)
    stale.last_activity = datetime.now(timezone.utc) - timedelta(days=30)
    assert await manager.storage.update(keys[0], stale, reset_expiration=False)

    async with test_app.client() as client:
        await login(client)
        response = await client.post("/logout-all?keep_current=true", headers=csrf_headers(client))
        assert response.status_code == 200, response.text
        # Only the one live other session counts; the caller's own stays signed in.
        assert response.json()["revoked"] == 1
        assert len((await client.get("/sessions")).json()) == 1

    # The newest event per reason: the security log may outlive this test's keys.
    newest: dict[str, list[str]] = {}
    for event in await test_app.auth.security_events(alice.id, limit=50):
        if event.type == "session_ended":
            newest.setdefault(event.detail["reason"], event.detail["handles"])
    assert newest[REASON_TIMEOUT] == [manager.keys.handle_for_key(keys[0])]
    assert newest[REASON_USER_REVOKED_ALL] == [manager.keys.handle_for_key(keys[1])]


async def test_sign_out_logs_capped_handles(production_app: Any) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 100})
    alice = await test_app.create_user()
    manager = test_app.auth.sessions
    await own_sessions(manager, alice, MAX_LOGGED_HANDLES + 3)

    async with test_app.client() as client:
        await login(client)
        response = await client.post("/logout-all", headers=csrf_headers(client))
    assert response.status_code == 200, response.text

    events = await test_app.auth.security_events(alice.id, limit=50)
    ended = next(event for event in events if event.type == "session_ended")
    # The event stays small however many sessions end, and its count covers them all:
    # the seeded ones and the caller's own.
    assert ended.detail["count"] == MAX_LOGGED_HANDLES + 4
    assert len(ended.detail["handles"]) == MAX_LOGGED_HANDLES


async def test_sign_out_ends_unsummarized_sessions(production_app: Any) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 50})
    alice = await test_app.create_user()
    manager = test_app.auth.sessions
    keys = await own_sessions(manager, alice, EXTRA_SESSIONS - 1)
    records = [await manager.storage.get(key, SessionData) for key in keys]
    csrf_keys = [record.metadata[CSRF_TOKEN_ID_META_KEY] for record in records]
    # As sessions written before the store kept summaries.
    storage = manager.storage
    if isinstance(storage, RedisSessionStorage):
        await storage.client.delete(storage.user_summary_key(alice.id))
    elif isinstance(storage, MemorySessionStorage):
        storage._summaries.clear()

    async with test_app.client() as client:
        await login(client)
        response = await client.post("/logout-all", headers=csrf_headers(client))

    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == EXTRA_SESSIONS
    for key in keys:
        assert await storage.get(key, SessionData) is None
    for csrf_key in csrf_keys:
        assert await manager.csrf_storage.get(csrf_key, CSRFToken) is None
