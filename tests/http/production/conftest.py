"""Apps whose sessions, CSRF tokens and counters live in a shared store.

``store_kind`` runs each test on Redis (``CRUDAuth(redis_url=...)``) and on the
database store over SQLite and over PostgreSQL. Every app gets its own Redis key
prefix or its own tables, removed after the test. ``twin`` builds a second app over
the same user database and the same store, the way a second worker would see them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from crudauth import CRUDAuth, Principal, SessionTransport
from crudauth.storage import DatabaseStore

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
POSTGRES_URL = os.environ.get("CRUDAUTH_TEST_POSTGRES_URL")
SECRET_KEY = "production-test-secret-key-0123456789-abcdef"

STORE_KINDS = [
    pytest.param("redis", marks=pytest.mark.redis),
    "database-sqlite",
    pytest.param("database-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind = str(request.param)
    if kind == "redis" and not REDIS_URL:
        pytest.skip("CRUDAUTH_TEST_REDIS_URL is not set; run scripts/services.sh start")
    if kind == "database-postgres" and not POSTGRES_URL:
        pytest.skip("CRUDAUTH_TEST_POSTGRES_URL is not set; run scripts/services.sh start")
    return kind


@pytest.fixture
def user_db(store_kind: str) -> str:
    """Users live on PostgreSQL next to a PostgreSQL store, else on SQLite."""
    return "postgres" if store_kind == "database-postgres" else "sqlite"


@dataclass
class SharedStore:
    """Builds CRUDAuth keyword arguments that all point at one isolated store."""

    kind: str
    tmp_path: Path
    namespace: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:12]}")
    engines: list[AsyncEngine] = field(default_factory=list)
    stores: list[DatabaseStore] = field(default_factory=list)
    redis_clients: list[Any] = field(default_factory=list)

    @property
    def redis_prefix(self) -> str:
        return f"{self.namespace}:"

    def store_kwargs(self) -> dict[str, Any]:
        """Return the store half of the CRUDAuth arguments (a new instance each call)."""
        if self.kind == "redis":
            return {"redis_url": REDIS_URL, "rate_limit_prefix": f"{self.namespace}:rl:"}
        return {"database_store": self._database_store()}

    def transport(self, **kwargs: Any) -> SessionTransport:
        """A session transport whose keys sit under this test's namespace."""
        kwargs.setdefault("management_routes", True)
        if self.kind == "redis":
            kwargs.setdefault("storage_prefix", f"{self.namespace}:session:")
            kwargs.setdefault("csrf_storage_prefix", f"{self.namespace}:csrf:")
        return SessionTransport(**kwargs)

    def _database_store(self) -> DatabaseStore:
        if not self.engines:
            if self.kind == "database-postgres":
                assert POSTGRES_URL is not None
                url = POSTGRES_URL
            else:
                url = f"sqlite+aiosqlite:///{self.tmp_path / 'store.sqlite3'}"
            self.engines.append(create_async_engine(url))
        # A fresh MetaData per store, like a second process declaring the same tables.
        store = DatabaseStore(
            self.engines[0],
            metadata=MetaData(),
            store_table=f"{self.namespace}_store",
            counter_table=f"{self.namespace}_counters",
        )
        self.stores.append(store)
        return store

    async def prepare(self) -> None:
        if self.stores:
            await self.stores[0].create_tables()

    async def redis(self) -> Any:
        """A separate client on the test Redis, for inspecting keys."""
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL or "", decode_responses=True)
        self.redis_clients.append(client)
        return client

    async def cleanup(self) -> None:
        if self.kind == "redis":
            client = await self.redis()
            keys = [key async for key in client.scan_iter(match=f"{self.redis_prefix}*")]
            if keys:
                await client.delete(*keys)
        elif self.stores:
            engine = self.engines[0]
            async with engine.begin() as connection:
                await connection.run_sync(self.stores[0].metadata.drop_all)
        for client in self.redis_clients:
            await client.aclose()
        for store in self.stores:
            await store.dispose()
        for engine in self.engines:
            await engine.dispose()


@pytest.fixture
async def shared_store(store_kind: str, tmp_path: Path) -> AsyncIterator[SharedStore]:
    store = SharedStore(store_kind, tmp_path)
    yield store
    await store.cleanup()


# The TestApp built by the shared make_app fixture.
TestApp = Any
ProductionApp = Callable[..., Awaitable[TestApp]]


@pytest.fixture
def production_app(make_app: Any, shared_store: SharedStore) -> ProductionApp:
    """Return ``build(transport_kwargs=None, **crudauth_kwargs) -> TestApp`` on the store."""

    async def build(transport_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> TestApp:
        kwargs.setdefault("SECRET_KEY", SECRET_KEY)
        kwargs.setdefault("transports", [shared_store.transport(**(transport_kwargs or {}))])
        for name, value in shared_store.store_kwargs().items():
            kwargs.setdefault(name, value)
        if "database_store" in kwargs:
            await shared_store.prepare()
        test_app: TestApp = await make_app(**kwargs)
        test_app.extras["crudauth_kwargs"] = kwargs
        test_app.extras["transport_kwargs"] = transport_kwargs or {}
        return test_app

    return build


@dataclass
class Worker:
    """A second app on the shared state, standing in for another worker process."""

    app: FastAPI
    auth: CRUDAuth

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="https://testserver",
            **kwargs,
        )


Twin = Callable[[TestApp], Awaitable[Worker]]


@pytest.fixture
async def twin(shared_store: SharedStore) -> AsyncIterator[Twin]:
    """Return ``twin(test_app)``: a second app on the same user database and store.

    It has its own CRUDAuth, its own store objects and (on Redis) its own client, as
    a second worker process would.
    """
    auths: list[CRUDAuth] = []

    async def build(original: TestApp) -> Worker:
        kwargs = dict(original.extras["crudauth_kwargs"])
        kwargs["transports"] = [shared_store.transport(**original.extras["transport_kwargs"])]
        kwargs.update(shared_store.store_kwargs())
        sessionmaker = original.sessionmaker

        async def get_db() -> AsyncIterator[AsyncSession]:
            async with sessionmaker() as session:
                yield session

        auth = CRUDAuth(session=get_db, user_model=original.model, **kwargs)
        auths.append(auth)
        await auth.initialize()
        app = FastAPI()
        app.include_router(auth.router)

        @app.post("/protected")
        async def protected_post(
            principal: Principal = Depends(auth.current_user()),
        ) -> dict[str, Any]:
            return {"user_id": principal.user_id, "via": principal.transport}

        return Worker(app=app, auth=auth)

    yield build
    for auth in auths:
        await auth.shutdown()
