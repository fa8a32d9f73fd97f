"""Signing out everywhere on each shared store: ownership, CSRF tokens, the security log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.requests import Request

from crudauth import BearerTransport
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


class UnreadableRecord(BaseModel):
    """A session record whose sign-in time no longer parses."""

    user_id: Any
    created_at: str = "yesterday"


async def forget_summaries(storage: Any, user_id: Any) -> None:
    """Drop the user's summaries, as a store that kept none would have left them."""
    if isinstance(storage, RedisSessionStorage):
        await storage.client.delete(storage.user_summary_key(user_id))
    elif isinstance(storage, MemorySessionStorage):
        storage._summaries.clear()


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
    storage = manager.storage
    await forget_summaries(storage, alice.id)

    async with test_app.client() as client:
        await login(client)
        response = await client.post("/logout-all", headers=csrf_headers(client))

    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == EXTRA_SESSIONS
    for key in keys:
        assert await storage.get(key, SessionData) is None
    for csrf_key in csrf_keys:
        assert await manager.csrf_storage.get(csrf_key, CSRFToken) is None


async def check_sign_out_after_damage(production_app: Any, shared_store: Any, corrupt: Any) -> None:
    """Sign out everywhere after ``corrupt(manager, key, user)`` spoiled one session.

    The caller signs in before the damage, so its sign-in does not meet the spoiled
    record. The sign-out must still end every seeded session and the bearer device,
    and delete the CSRF tokens of the two sessions left intact.
    """
    test_app = await production_app(
        transports=[
            shared_store.transport(max_sessions_per_user=50),
            # Under this test's namespace, so no other test's families are counted.
            BearerTransport(
                refresh="body", family_storage_prefix=f"{shared_store.namespace}:family:"
            ),
        ]
    )
    alice = await test_app.create_user()
    manager = test_app.auth.sessions
    keys = await own_sessions(manager, alice, 3)
    records = [await manager.storage.get(key, SessionData) for key in keys]
    async with test_app.client() as device:
        issued = await device.post(
            "/token", data={"username": "alice", "password": "Correct-Horse-1"}
        )
    async with test_app.client() as client:
        await login(client)
        await corrupt(manager, keys[0], alice)
        response = await client.post("/logout-all?keep_current=true", headers=csrf_headers(client))
        refreshed = await client.post(
            "/refresh", json={"refresh_token": issued.json()["refresh_token"]}
        )

    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == 4
    assert refreshed.status_code == 401, refreshed.text
    for key in keys:
        assert await manager.storage.get(key, SessionData) is None
    for record in records[1:]:
        csrf_key = record.metadata[CSRF_TOKEN_ID_META_KEY]
        assert await manager.csrf_storage.get(csrf_key, CSRFToken) is None


@pytest.mark.parametrize("summary", ["not json", "[1,2]", "{}", '[1,2,true,"k"],[3'])
async def test_sign_out_survives_unreadable_summary(
    production_app: Any, shared_store: Any, summary: str
) -> None:
    async def corrupt(manager: Any, key: str, user: Any) -> None:
        storage = manager.storage
        if isinstance(storage, RedisSessionStorage):
            await storage.client.hset(storage.user_summary_key(user.id), key, summary)
        elif isinstance(storage, MemorySessionStorage):
            storage._summaries[storage.get_key(key)] = summary
        else:
            pytest.skip("the database store keeps no summaries")

    await check_sign_out_after_damage(production_app, shared_store, corrupt)


async def test_sign_out_survives_unreadable_record(production_app: Any, shared_store: Any) -> None:
    async def corrupt(manager: Any, key: str, user: Any) -> None:
        assert await manager.storage.update(key, UnreadableRecord(user_id=user.id))
        await forget_summaries(manager.storage, user.id)

    await check_sign_out_after_damage(production_app, shared_store, corrupt)


async def test_unreadable_record_does_not_block_sign_in(
    production_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 50})
    alice = await test_app.create_user()
    manager = test_app.auth.sessions

    async with test_app.client() as spoiled:
        await login(spoiled)
        session_id = spoiled.cookies["session_id"]
        key = manager.keys.session_key(session_id)
        assert await manager.storage.update(key, UnreadableRecord(user_id=alice.id))

        with caplog.at_level("WARNING", logger="crudauth.session"):
            own_request = await spoiled.get("/me")
        async with test_app.client() as fresh:
            signed_in = await login(fresh)
            listed = await fresh.get("/sessions")

    assert own_request.status_code == 401, own_request.text
    assert signed_in.status_code == 200, signed_in.text
    assert listed.status_code == 200, listed.text
    assert len(listed.json()) == 1
    assert await manager.storage.exists(key) is False
    unreadable = [record for record in caplog.records if "unreadable" in record.getMessage()]
    assert len(unreadable) == 1
    assert session_id not in unreadable[0].getMessage()
