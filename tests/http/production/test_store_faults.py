"""An unreachable store or user database returns 503, logs one error, then recovers.

The Redis test stops the real server started by ``scripts/services.sh`` and restarts
it on the same port; the app in between is never rebuilt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from conformance.test_redis_faults import server_settings, start_redis, stop_redis
from crudauth.ratelimit import RateLimit
from support import login

UNAVAILABLE = {"detail": "Authentication service unavailable."}
REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


async def assert_unavailable(caplog: pytest.LogCaptureFixture, call: Any, store: str) -> None:
    """Await ``call`` and check the 503 body and that exactly one error names ``store``."""
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        response = await call
    assert response.status_code == 503, response.text
    assert response.json() == UNAVAILABLE
    errors = error_records(caplog)
    assert len(errors) == 1, [record.getMessage() for record in errors]
    assert store in errors[0].getMessage()


def add_limited_route(test_app: Any) -> None:
    auth = test_app.auth

    @test_app.app.get(
        "/limited", dependencies=[Depends(auth.rate_limit("probe", RateLimit(100, 60)))]
    )
    async def limited() -> dict[str, bool]:
        return {"ok": True}


@pytest.mark.redis
class TestRedisDown:
    @pytest.fixture
    def store_kind(self) -> str:
        if not REDIS_URL:
            pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
        return "redis"

    async def test_redis_stop_then_recover(
        self, production_app: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        directory, port, server, pid_file = server_settings()
        test_app = await production_app()
        await test_app.create_user()
        add_limited_route(test_app)
        async with test_app.client() as client:
            assert (await login(client)).status_code == 200
            raw_id = client.cookies["session_id"]

            stop_redis(pid_file)
            try:
                await assert_unavailable(caplog, client.get("/me"), "redis session store")
                await assert_unavailable(caplog, login(client), "redis rate limiter")
                await assert_unavailable(caplog, client.get("/limited"), "redis rate limiter")
                assert raw_id not in caplog.text
            finally:
                start_redis(directory, port, server, pid_file)

            # The same app serves again once the server is back. Nothing was saved, so
            # the old session is gone and a new login works.
            await wait_for_status(client, "/limited", 200)
            assert (await client.get("/me")).status_code == 401
            assert (await login(client)).status_code == 200
            assert (await client.get("/me")).status_code == 200


async def wait_for_status(client: Any, path: str, status: int) -> None:
    deadline = time.monotonic() + 10
    while (await client.get(path)).status_code != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not return {status} within 10 s")
        await asyncio.sleep(0.05)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_user_database_down(make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    test_app = await make_app()
    await test_app.create_user()
    unreachable = create_async_engine(
        f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/postgres"
    )
    sessions = async_sessionmaker(unreachable, expire_on_commit=False)

    async def broken_db() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            yield session

    try:
        async with test_app.client() as client:
            assert (await login(client)).status_code == 200
            test_app.app.dependency_overrides[test_app.auth.session] = broken_db
            await assert_unavailable(caplog, client.get("/me"), "User database")
            await assert_unavailable(caplog, login(client), "User database")

            # Once the database is reachable again, the same session works.
            test_app.app.dependency_overrides.clear()
            assert (await client.get("/me")).status_code == 200
    finally:
        await unreachable.dispose()
