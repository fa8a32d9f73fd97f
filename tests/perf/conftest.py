"""Counters for structural cost tests: SQL statements, Redis round trips, store writes.

These tests count operations, never time, so they hold on any machine. ``store`` runs a
test on the in-memory stores and on the Redis server started by the test command.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio.connection import Connection
from sqlalchemy import event

from crudauth import BearerTransport, SessionTransport
from crudauth.security_log import SecurityLogConfig

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
SECRET_KEY = "perf-test-secret-key-0123456789-abcdefghij"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    return str(request.param)


@pytest.fixture
def redis_only(store: str) -> str:
    if store != "redis":
        pytest.skip("round trips are counted on Redis")
    return store


@pytest.fixture
async def perf_app(make_app: Any, store: str) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Return ``build(user_cache=None, **transport_kwargs)``: an app with device routes."""
    namespace = f"perf{uuid.uuid4().hex[:12]}"

    async def build(user_cache: Any = None, **transport_kwargs: Any) -> Any:
        transport_kwargs.setdefault("management_routes", True)
        transport_kwargs.setdefault("max_sessions_per_user", 100)
        kwargs: dict[str, Any] = {"SECRET_KEY": SECRET_KEY, "user_cache": user_cache}
        if store == "redis":
            transport_kwargs.setdefault("storage_prefix", f"{namespace}:session:")
            transport_kwargs.setdefault("csrf_storage_prefix", f"{namespace}:csrf:")
            kwargs.update(redis_url=REDIS_URL, rate_limit_prefix=f"{namespace}:rl:")
        bearer = BearerTransport(refresh="body")
        if store == "redis":
            # Token families and the security log are indexed per user, so they need
            # the test's namespace too.
            bearer = BearerTransport(refresh="body", family_storage_prefix=f"{namespace}:family:")
            kwargs["security_log"] = SecurityLogConfig(storage_prefix=f"{namespace}:log:")
        transports = [SessionTransport(**transport_kwargs), bearer]
        return await make_app(transports=transports, **kwargs)

    yield build
    if store == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL or "")
        try:
            keys = [key async for key in client.scan_iter(match=f"{namespace}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count packed sends to Redis: one per plain command, one per whole pipeline."""
    sent = [0]
    original = Connection.send_packed_command

    async def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        await original(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


class StatementCounter:
    """The SQL statements an engine sent, recorded by ``before_cursor_execute``."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_sql() -> Iterator[Callable[[Any], StatementCounter]]:
    """Return ``count_sql(test_app)``: a counter of the app's user-database statements."""
    attached: list[tuple[Any, StatementCounter]] = []

    def attach(test_app: Any) -> StatementCounter:
        counter = StatementCounter()
        engine = test_app.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counter)
        attached.append((engine, counter))
        return counter

    yield attach
    for engine, counter in attached:
        event.remove(engine, "before_cursor_execute", counter)
