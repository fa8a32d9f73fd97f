"""Shared fixtures: an app factory over a real database and an HTTPS test client.

``make_app(**crudauth_kwargs)`` builds a FastAPI app with a fresh ``users`` table and a
``CRUDAuth`` wired to it. The ``user_db`` parameter runs every HTTP test on SQLite and,
when the test command started one, on a real PostgreSQL server.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

import crudauth.utils.hashing as hashing
from crudauth import CRUDAuth, Principal, get_password_hash
from support import default_model, user_db_params

POSTGRES_URL = os.environ.get("CRUDAUTH_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")


@pytest.fixture(autouse=True)
def cheap_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash with the minimum bcrypt cost; tests that measure timing opt out."""
    monkeypatch.setattr(hashing, "BCRYPT_ROUNDS", 4)


@pytest.fixture(params=user_db_params())
def user_db(request: pytest.FixtureRequest) -> str:
    """The user database the app runs on: ``sqlite`` or ``postgres``."""
    return str(request.param)


@dataclass
class TestApp:
    """An app built by ``make_app`` with handles on its parts."""

    app: FastAPI
    auth: CRUDAuth
    model: type[Any]
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    extras: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """Return an HTTPS client so ``Secure`` cookies are sent back."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="https://testserver",
            **kwargs,
        )

    async def create_user(
        self,
        *,
        email: str | None = "alice@example.com",
        username: str = "alice",
        password: str | None = "Correct-Horse-1",
        **columns: Any,
    ) -> Any:
        """Insert a user row directly and return it."""
        values: dict[str, Any] = {"username": username, **columns}
        if email is not None:
            values["email"] = email
        if password is not None:
            values["hashed_password"] = get_password_hash(password)
        elif "hashed_password" not in values:
            values["hashed_password"] = "!unusable"
        async with self.sessionmaker() as db:
            return await self.auth.repo.create(db, values)

    async def get_user(self, user_id: Any) -> Any:
        async with self.sessionmaker() as db:
            return await self.auth.repo.get_by_id(db, user_id)


AppFactory = Callable[..., Awaitable[TestApp]]


@pytest.fixture
async def make_app(user_db: str, tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Return ``make_app(model=None, **crudauth_kwargs) -> TestApp``."""
    engines: list[AsyncEngine] = []
    auths: list[CRUDAuth] = []

    async def factory(model: type[Any] | None = None, **kwargs: Any) -> TestApp:
        model = model or default_model()
        if user_db == "postgres":
            assert POSTGRES_URL is not None
            engine = create_async_engine(POSTGRES_URL)
        elif user_db == "sqlite-file":
            engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'users.sqlite3'}")
        else:
            engine = create_async_engine(
                "sqlite+aiosqlite://",
                poolclass=StaticPool,
                connect_args={"check_same_thread": False},
            )
        engines.append(engine)
        metadata = model.metadata
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

        async def get_db() -> AsyncIterator[AsyncSession]:
            async with sessionmaker() as session:
                yield session

        kwargs.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
        kwargs.setdefault("warn_on_memory_backend", False)
        auth = CRUDAuth(session=get_db, user_model=model, **kwargs)
        auths.append(auth)
        await auth.initialize()
        app = FastAPI()
        app.include_router(auth.router)

        @app.get("/protected")
        async def protected(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
            return {"user_id": principal.user_id, "via": principal.transport}

        @app.post("/protected")
        async def protected_post(
            principal: Principal = Depends(auth.current_user()),
        ) -> dict[str, Any]:
            return {"user_id": principal.user_id, "via": principal.transport}

        return TestApp(app=app, auth=auth, model=model, sessionmaker=sessionmaker, engine=engine)

    yield factory
    for auth in auths:
        await auth.shutdown()
    for engine in engines:
        await engine.dispose()
