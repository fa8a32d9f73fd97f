"""Redis round trips per authenticated request, counted on the real server.

A round trip is one packed send on a connection: one per plain command and one per
whole pipeline or MULTI. The counts must not grow with the number of sessions.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from redis.asyncio.connection import Connection
from starlette.requests import Request

from crudauth import BearerTransport
from support import csrf_headers, login

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")

# Measured counts, asserted exactly so a regression shows up as a changed number.
SESSION_ME = 1
# The token family's record: ending a device ends its access tokens at once.
BEARER_ME = 1
LIST_SESSIONS = 3
# One script call removes and returns every session, one more call drops their CSRF
# tokens, and one MULTI pushes the sign-out's security-log event.
LOGOUT_ALL = 5
# Past the activity interval: read, then WATCH, GET and MULTI, then the CSRF TTL.
SESSION_ME_TOUCH = 5


@pytest.fixture
def store_kind() -> str:
    if not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    return "redis"


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count packed sends on every Redis connection of the process."""
    sent = [0]
    original = Connection.send_packed_command

    async def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        await original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


def bare_request() -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "headers": [(b"user-agent", b"round-trip-test")],
        "client": ("127.0.0.1", 50000),
        "query_string": b"",
    }
    return Request(scope)


async def add_sessions(test_app: Any, user: Any, count: int, monkeypatch: Any) -> None:
    """Create ``count`` sessions with CSRF tokens directly, skipping the session cap."""
    manager = test_app.auth.sessions

    async def no_cap(user_id: Any, keep: str | None = None) -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(manager, "_enforce_session_cap", no_cap)
        for _ in range(count):
            await manager.create_session(bare_request(), user.id, token_version=user.token_version)


async def measured(round_trips: list[int], call: Any) -> tuple[Any, int]:
    round_trips[0] = 0
    response = await call
    return response, round_trips[0]


async def test_me_round_trips(
    production_app: Any, shared_store: Any, round_trips: list[int]
) -> None:
    test_app = await production_app(
        transports=[shared_store.transport(), BearerTransport(refresh="body")]
    )
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        token = (
            await client.post("/token", data={"username": "alice", "password": "Correct-Horse-1"})
        ).json()["access_token"]
        await client.get("/me")

        response, session_trips = await measured(round_trips, client.get("/me"))
        assert response.status_code == 200, response.text
        assert session_trips == SESSION_ME

        client.cookies.clear()
        bearer = {"Authorization": f"Bearer {token}"}
        response, bearer_trips = await measured(round_trips, client.get("/me", headers=bearer))
        assert response.status_code == 200, response.text
        assert response.json()["via"] == "bearer"
        assert bearer_trips == BEARER_ME


async def test_touch_round_trips(production_app: Any, round_trips: list[int]) -> None:
    test_app = await production_app(transport_kwargs={"activity_interval_seconds": 0})
    await test_app.create_user()
    async with test_app.client() as client:
        await login(client)
        await client.get("/me")
        response, trips = await measured(round_trips, client.get("/me"))
    assert response.status_code == 200, response.text
    assert trips == SESSION_ME_TOUCH


@pytest.mark.parametrize("others", [2, 20])
async def test_list_round_trips_constant(
    production_app: Any, round_trips: list[int], monkeypatch: Any, others: int
) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 600})
    user = await test_app.create_user()
    await add_sessions(test_app, user, others, monkeypatch)
    async with test_app.client() as client:
        await login(client)
        response, trips = await measured(round_trips, client.get("/sessions"))
    assert response.status_code == 200, response.text
    assert len(response.json()) == others + 1
    assert trips == LIST_SESSIONS


# 3, 30 and 500 sessions in all, the caller's included.
@pytest.mark.parametrize("others", [2, 29, 499])
async def test_logout_all_round_trips_constant(
    production_app: Any, shared_store: Any, round_trips: list[int], monkeypatch: Any, others: int
) -> None:
    test_app = await production_app(transport_kwargs={"max_sessions_per_user": 600})
    user = await test_app.create_user()
    await add_sessions(test_app, user, others, monkeypatch)
    manager = test_app.auth.sessions
    async with test_app.client() as client:
        await login(client)
        response, trips = await measured(
            round_trips, client.post("/logout-all", headers=csrf_headers(client))
        )
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == others + 1
    assert trips == LOGOUT_ALL
    assert await manager.storage.get_user_sessions(user.id) == []

    # Every record, CSRF token and index entry is gone, not just unlisted.
    inspector = await shared_store.redis()
    left = [key async for key in inspector.scan_iter(match=f"{shared_store.redis_prefix}*")]
    assert [key for key in left if ":rl:" not in key] == []
