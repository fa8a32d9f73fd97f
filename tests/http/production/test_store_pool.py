"""A database store built on the app's engine, whose pool every request draws from.

A request keeps one connection of the app's pool from its first user query to its end.
If the store drew from the same pool, a request that then wrote a session or a token
family would wait for a second connection that only its own end can free.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from crudauth import BearerTransport, CRUDAuth, DatabaseStore, SessionTransport, get_password_hash
from support import default_model, login

PASSWORD = "Correct-Horse-1"


async def build_app(tmp_path: Path) -> tuple[FastAPI, CRUDAuth, Any]:
    """Build an app whose pool has one connection and gives up waiting after 1 s."""
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'users.sqlite3'}",
        pool_size=1,
        max_overflow=0,
        pool_timeout=1,
    )
    model = default_model()
    store = DatabaseStore(engine, metadata=model.metadata)
    async with engine.begin() as connection:
        await connection.run_sync(model.metadata.create_all)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def get_db() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    auth = CRUDAuth(
        session=get_db,
        user_model=model,
        SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
        transports=[SessionTransport(), BearerTransport(refresh="body")],
        database_store=store,
    )
    await auth.initialize()
    app = FastAPI()
    app.include_router(auth.router)
    async with sessionmaker() as db:
        await auth.repo.create(
            db,
            {
                "username": "alice",
                "email": "alice@example.com",
                "hashed_password": get_password_hash(PASSWORD),
            },
        )
    return app, auth, engine


async def test_login_and_refresh_on_one_connection(tmp_path: Path) -> None:
    app, auth, engine = await build_app(tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        logged_in = await login(client)
        issued = await client.post("/token", data={"username": "alice", "password": PASSWORD})
        refreshed = await client.post(
            "/refresh", json={"refresh_token": issued.json().get("refresh_token")}
        )
    await auth.shutdown()
    await engine.dispose()

    assert logged_in.status_code == 200, logged_in.text
    assert issued.status_code == 200, issued.text
    assert refreshed.status_code == 200, refreshed.text


async def test_in_memory_engine_keeps_its_pool() -> None:
    engine = create_async_engine(
        "sqlite+aiosqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    store = DatabaseStore(engine)

    assert store.sessions.kw["bind"] is engine
    await engine.dispose()
