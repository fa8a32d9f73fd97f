"""A production-style crudauth app: every setting comes from the environment.

Required: ``CRUDAUTH_SECRET_KEY`` (random, 32 bytes or more), ``DATABASE_URL`` (the
user database) and ``REDIS_URL`` (Redis 7+, shared by every worker for sessions, CSRF
tokens, one-time tokens and counters). Optional: ``TRUSTED_PROXY_HOPS`` (proxies in
front of the app that append to ``X-Forwarded-For``, default 1).

Tables are created by migrations, not at start-up. Before going live, check the
configuration with
``crudauth check --auth app:auth --app-dir examples/production --behind-proxy``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import (
    AuthUserMixin,
    BearerTransport,
    CookieConfig,
    CRUDAuth,
    Principal,
    SessionTransport,
)


def required_setting(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set; the production app reads it from the environment")
    return value


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


engine = create_async_engine(required_setting("DATABASE_URL"), pool_pre_ping=True)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=required_setting("CRUDAUTH_SECRET_KEY"),
    transports=[SessionTransport(management_routes=True), BearerTransport()],
    # Secure is the default; spelled out because shipping secure=False leaks cookies.
    cookies=CookieConfig(secure=True, samesite="lax"),
    redis_url=required_setting("REDIS_URL"),
    trusted_proxy_hops=int(os.environ.get("TRUSTED_PROXY_HOPS", "1")),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # initialize() checks Redis before the first request and shutdown() closes it.
    await auth.initialize()
    try:
        yield
    finally:
        await auth.shutdown()
        await engine.dispose()


app = FastAPI(title="crudauth production example", lifespan=lifespan)
app.include_router(auth.router)


@app.get("/me/greeting")
async def greeting(principal: Principal = Depends(auth.current_user())) -> dict[str, object]:
    return {"hello": principal.user_id, "via": principal.transport}
