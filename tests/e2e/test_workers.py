"""The demo with two uvicorn workers on the real Redis and PostgreSQL servers.

Each worker adds ``X-Demo-Worker`` (its pid) to responses. Fresh connections are
opened until both workers have accepted one, and each such keep-alive client then
talks to one known worker, so every check below runs on both workers.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.postgres]

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
POSTGRES_URL = os.environ.get("CRUDAUTH_TEST_POSTGRES_URL")
# A Redis database of its own, flushed before and after, keeps the demo's keys apart.
DEMO_REDIS_DB = 9
WORKER_HEADER = "X-Demo-Worker"
PASSWORD = "a-long-password"


@pytest.fixture
def demo_redis_url() -> Iterator[str]:
    if not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    import redis

    url = f"{REDIS_URL.rsplit('/', 1)[0]}/{DEMO_REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def demo_database_url() -> Iterator[str]:
    """Create a PostgreSQL database for the demo's users and drop it afterwards."""
    if not POSTGRES_URL:
        pytest.skip("CRUDAUTH_TEST_POSTGRES_URL is not set; run scripts/services.sh start")
    name = f"demo_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(run_admin(POSTGRES_URL, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def run_admin(url: str, statement: str) -> None:
    # CREATE and DROP DATABASE cannot run inside a transaction.
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def clients_per_worker(base_url: str, workers: int) -> dict[str, httpx.Client]:
    """Open fresh connections until each worker has accepted one; key them by pid."""
    pinned: dict[str, httpx.Client] = {}
    for _ in range(200):
        client = httpx.Client(
            base_url=base_url, limits=httpx.Limits(max_connections=1), timeout=10.0
        )
        worker = client.get("/health").headers[WORKER_HEADER]
        if worker in pinned:
            client.close()
            continue
        pinned[worker] = client
        if len(pinned) == workers:
            return pinned
    for client in pinned.values():
        client.close()
    raise AssertionError(f"only {len(pinned)} of {workers} workers accepted a connection")


def on(
    worker: str,
    client: httpx.Client,
    method: str,
    path: str,
    cookies: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    """Send a request with ``cookies`` and check that the expected worker served it.

    The clients keep no cookie jar, so the cookies sent are exactly the ones given.
    """
    client.cookies.clear()
    if cookies:
        header = "; ".join(f"{name}={value}" for name, value in cookies.items())
        kwargs["headers"] = {**kwargs.get("headers", {}), "Cookie": header}
    response = client.request(method, path, **kwargs)
    assert response.headers[WORKER_HEADER] == worker, "the keep-alive connection moved"
    return response


def test_two_workers_share_sessions_and_lockout(
    demo_server: Any, demo_redis_url: str, demo_database_url: str
) -> None:
    base_url = demo_server(
        workers=2,
        WEB_CONCURRENCY="2",
        REDIS_URL=demo_redis_url,
        DATABASE_URL=demo_database_url,
    )
    pinned = clients_per_worker(base_url, 2)
    (first, laptop), (second, phone) = pinned.items()
    try:
        registered = on(
            first,
            laptop,
            "POST",
            "/register",
            json={"email": "ada@example.com", "username": "ada", "password": PASSWORD},
        )
        # The demo registers with verify_on_register=False, so it answers with the account.
        assert registered.status_code == 200, registered.text

        # One session created by each worker; both are known to both workers.
        sessions: dict[str, dict[str, str]] = {}
        for worker, client in pinned.items():
            login = on(
                worker, client, "POST", "/login", data={"username": "ada", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            sessions[worker] = dict(login.cookies)
        laptop_cookies, phone_cookies = sessions[first], sessions[second]
        for worker, client in pinned.items():
            for cookies in (laptop_cookies, phone_cookies):
                me = on(worker, client, "GET", "/me", cookies=cookies)
                assert me.status_code == 200, me.text
            rows = on(worker, client, "GET", "/sessions", cookies=laptop_cookies).json()
            assert len(rows) == 2
            assert [row["current"] for row in rows].count(True) == 1

        # Revoked on the first worker, rejected by both.
        phone_row = next(
            row
            for row in on(first, laptop, "GET", "/sessions", cookies=phone_cookies).json()
            if row["current"]
        )
        revoked = on(
            first,
            laptop,
            "DELETE",
            f"/sessions/{phone_row['id']}",
            cookies=laptop_cookies,
            headers={"X-CSRF-Token": laptop_cookies["csrf_token"]},
        )
        assert revoked.status_code == 200, revoked.text
        for worker, client in pinned.items():
            assert on(worker, client, "GET", "/me", cookies=phone_cookies).status_code == 401
            assert on(worker, client, "GET", "/me", cookies=laptop_cookies).status_code == 200
            rows = on(worker, client, "GET", "/sessions", cookies=laptop_cookies).json()
            assert [row["id"] for row in rows if row["id"] == phone_row["id"]] == []

        # Failed logins alternate between the workers; the sixth within a minute is 429.
        statuses = []
        for attempt in range(6):
            worker, client = (first, laptop) if attempt % 2 == 0 else (second, phone)
            wrong = {"username": "ada", "password": "wrong-password"}
            statuses.append(on(worker, client, "POST", "/login", data=wrong).status_code)
        assert statuses == [401, 401, 401, 401, 401, 429]
        for worker, client in pinned.items():
            right = {"username": "ada", "password": PASSWORD}
            locked = on(worker, client, "POST", "/login", data=right)
            assert locked.status_code == 429, locked.text
            assert int(locked.headers["Retry-After"]) > 0
    finally:
        for client in pinned.values():
            client.close()
