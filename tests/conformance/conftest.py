"""Backends for the conformance suites: memory, Redis, SQLite and PostgreSQL.

Redis and PostgreSQL fixtures read ``CRUDAUTH_TEST_REDIS_URL`` and
``CRUDAUTH_TEST_POSTGRES_URL`` (set by ``scripts/services.sh start``) and skip when
they are absent. Each fixture uses its own key prefix or table names and removes them
afterwards, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from crudauth.ratelimit.backends.memory import MemoryRateLimiterBackend
from crudauth.ratelimit.backends.redis import RedisBackend
from crudauth.ratelimit.base import RateLimiterBackend
from crudauth.storage.backends.database import DatabaseStore
from crudauth.storage.backends.memory import MemorySessionStorage
from crudauth.storage.backends.redis import RedisSessionStorage, redis_client_from_url
from crudauth.storage.base import AbstractSessionStorage

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
POSTGRES_URL = os.environ.get("CRUDAUTH_TEST_POSTGRES_URL")

BACKENDS = [
    "memory",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-decoded", marks=pytest.mark.redis),
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]
LIMITER_BACKENDS = [
    "memory",
    pytest.param("redis", marks=pytest.mark.redis),
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


def unique_name(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex[:12]}"


async def redis_client(decoded: bool = False) -> Any:
    if not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(REDIS_URL, decode_responses=decoded)


async def delete_redis_keys(client: Any, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


async def database_store(kind: str, tmp_path: Path) -> DatabaseStore:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        if not POSTGRES_URL:
            pytest.skip("CRUDAUTH_TEST_POSTGRES_URL is not set; run scripts/services.sh start")
        url = POSTGRES_URL
    engine = create_async_engine(url)
    store = DatabaseStore(
        engine,
        store_table=unique_name("store"),
        counter_table=unique_name("counters"),
    )
    await store.create_tables()
    return store


async def drop_database_store(store: DatabaseStore) -> None:
    engine = store.sessions.kw["bind"]
    async with engine.begin() as connection:
        await connection.run_sync(store.metadata.drop_all)
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AbstractSessionStorage[Any]]:
    """A session store with prefix ``t:`` on each backend."""
    kind = request.param
    if kind == "memory":
        yield MemorySessionStorage(prefix="t:")
        return

    if kind.startswith("redis"):
        client = await redis_client(decoded=kind == "redis-decoded")
        prefix = f"{unique_name('conformance')}:t:"
        store = RedisSessionStorage(prefix=prefix, client=client)
        await store.initialize()
        try:
            yield store
        finally:
            await delete_redis_keys(client, prefix)
            await delete_redis_keys(client, store.user_index_key(""))
            await delete_redis_keys(client, store.user_summary_key(""))
            await client.aclose()
        return

    database = await database_store(kind, tmp_path)
    try:
        yield database.storage(prefix="t:")
    finally:
        await drop_database_store(database)


@pytest.fixture(params=LIMITER_BACKENDS)
async def limiter(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RateLimiterBackend]:
    """A rate-limiter backend on each backend kind."""
    kind = request.param
    if kind == "memory":
        yield MemoryRateLimiterBackend()
        return

    if kind == "redis":
        client = await redis_client()
        prefix = f"{unique_name('conformance')}:rl:"
        backend = RedisBackend(client=client, prefix=prefix)
        await backend.initialize()
        try:
            yield backend
        finally:
            await delete_redis_keys(client, prefix)
            await client.aclose()
        return

    database = await database_store(kind, tmp_path)
    try:
        yield database.rate_limiter()
    finally:
        await drop_database_store(database)


@pytest.fixture
async def owned_redis_storage() -> AsyncIterator[RedisSessionStorage[Any]]:
    """A Redis store owning a client built by ``redis_client_from_url``."""
    if not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    client = redis_client_from_url(REDIS_URL)
    prefix = f"{unique_name('fault')}:"
    store = RedisSessionStorage(prefix=prefix, client=client)
    try:
        yield store
    finally:
        try:
            await delete_redis_keys(client, prefix)
        finally:
            await client.aclose()
