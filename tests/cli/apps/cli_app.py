"""A demo-style app for the command-line tests: users on SQLite, state on SQLite or Redis.

Settings come from the environment so each test (and each subprocess) loads the same
database and store: ``CLI_TEST_DATABASE_URL``, ``CLI_TEST_SECRET_KEY``, optional
``CLI_TEST_REDIS_URL`` and ``CLI_TEST_PREFIX`` (keeps Redis keys apart between tests).
``CLI_TEST_RANDOM_KEY=1`` picks a new key on every import, like the demo does.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import (
    AuthHooks,
    AuthUserMixin,
    BearerTransport,
    CRUDAuth,
    DatabaseStore,
    SessionTransport,
)


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


engine = create_async_engine(os.environ["CLI_TEST_DATABASE_URL"])
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
REDIS_URL = os.environ.get("CLI_TEST_REDIS_URL") or None
PREFIX = os.environ.get("CLI_TEST_PREFIX", "")
database_store = None if REDIS_URL else DatabaseStore(engine, purge_every=0)

# Hook calls made in this process, as (hook name, user id, context extra).
EVENTS: list[tuple[str, Any, Any]] = []


def record(name: str) -> Any:
    def hook(user: dict[str, Any], **kwargs: Any) -> None:
        context = kwargs.get("context")
        EVENTS.append((name, user.get("id"), getattr(context, "extra", None)))

    return hook


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


if os.environ.get("CLI_TEST_RANDOM_KEY") == "1":
    SECRET_KEY = secrets.token_urlsafe(32)
else:
    SECRET_KEY = os.environ["CLI_TEST_SECRET_KEY"]

auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=SECRET_KEY,
    transports=[
        SessionTransport(
            management_routes=True,
            storage_prefix=f"{PREFIX}session:",
            csrf_storage_prefix=f"{PREFIX}csrf:",
        ),
        BearerTransport(refresh="body", family_storage_prefix=f"{PREFIX}family:"),
    ],
    redis_url=REDIS_URL,
    database_store=database_store,
    rate_limit_prefix=f"{PREFIX}rl:",
    hooks=AuthHooks(
        on_after_register=record("on_after_register"),
        on_after_password_reset=record("on_after_password_reset"),
    ),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    if database_store is not None:
        await database_store.create_tables()
    await auth.initialize()
    yield
    await auth.shutdown()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(auth.router)


@asynccontextmanager
async def lifespan_without_initialize(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    if database_store is not None:
        await database_store.create_tables()
    yield
    await engine.dispose()


# The same routes with a lifespan that forgets auth.initialize(), for the check.
app_without_initialize = FastAPI(lifespan=lifespan_without_initialize)
app_without_initialize.include_router(auth.router)
