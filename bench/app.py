"""The app the benchmark serves: the demo's wiring plus a bare endpoint and a seeder.

Configured by environment variables, read at import:

- ``BENCH_DATABASE_URL``: the user database (default: SQLite in a temporary folder).
- ``BENCH_REDIS_URL``: keep sessions, CSRF tokens and counters in this Redis; unset
  keeps them in memory.
- ``BENCH_USER_CACHE_TTL``: serve user rows from process memory for this many seconds
  (``UserCacheConfig``); unset loads the row from SQL on every request.

``GET /bare`` is the floor: no dependency at all. ``POST /_bench/seed`` writes session
records straight into the session store, so a user with hundreds of sessions costs no
logins. It exists only in this app, which the benchmark binds to 127.0.0.1.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from starlette.requests import Request

from crudauth import AuthUserMixin, BearerTransport, CookieConfig, CRUDAuth, SessionTransport
from crudauth.ratelimit import LockoutConfig, RateLimit
from crudauth.transports.session.schemas import SessionData
from crudauth.transports.session.useragent import parse_user_agent
from crudauth.user_cache import UserCacheConfig
from crudauth.utils.hashing import get_password_hash

BENCH_PASSWORD = "Bench-Password-1"
BENCH_USERS = ("reader", "revoker", "signer")
SECRET_KEY = "benchmark-secret-key-not-for-production-0123456789"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
# Enough room for the 500-session sign-out, so the per-user cap evicts nothing.
MAX_SESSIONS = 1000
# The benchmark repeats sign-outs far more often than a person would.
UNTHROTTLED = RateLimit(1_000_000, 3600)
USER_CACHE_TTL = os.environ.get("BENCH_USER_CACHE_TTL")


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    folder = Path(tempfile.mkdtemp(prefix="crudauth-bench-"))
    return f"sqlite+aiosqlite:///{folder / 'users.sqlite3'}"


engine = create_async_engine(database_url())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


@event.listens_for(engine.sync_engine, "connect")
def use_write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    """Run SQLite in WAL mode with ``synchronous=NORMAL``, as web apps on SQLite do.

    With the default rollback journal every commit waits for an fsync, and the
    ``token_version`` bump of ``POST /logout-all`` would measure the disk.
    """
    if engine.dialect.name != "sqlite":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=SECRET_KEY,
    transports=[
        SessionTransport(management_routes=True, max_sessions_per_user=MAX_SESSIONS),
        BearerTransport(refresh="body"),
    ],
    # The benchmark talks plain http on loopback.
    cookies=CookieConfig(secure=False),
    redis_url=os.environ.get("BENCH_REDIS_URL") or None,
    rate_limits={"logout_all": UNTHROTTLED},
    # Every benchmark login comes from 127.0.0.1; the lockout still runs its checks.
    lockout=LockoutConfig(max_attempts=1_000_000),
    warn_on_memory_backend=False,
    user_cache=UserCacheConfig(ttl=float(USER_CACHE_TTL)) if USER_CACHE_TTL else None,
)


async def create_users() -> None:
    hashed = get_password_hash(BENCH_PASSWORD)
    async with SessionLocal() as db:
        for name in BENCH_USERS:
            if await auth.repo.get_by_field(db, "username", name) is None:
                await auth.repo.create(
                    db,
                    {"username": name, "email": f"{name}@example.com", "hashed_password": hashed},
                )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await create_users()
    await auth.initialize()
    yield
    await auth.shutdown()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(auth.router)


@app.get("/bare")
async def bare() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/user-row")
async def user_row() -> dict[str, Any]:
    """Load one user row with no authentication: the database part of ``GET /me``."""
    async with SessionLocal() as db:
        user = await auth.repo.get_by_id(db, 1)
    return {"username": auth.repo.get(user, "username")}


class SeedIn(BaseModel):
    username: str
    count: int


@app.post("/_bench/seed")
async def seed(body: SeedIn, request: Request) -> dict[str, Any]:
    """Give ``username`` one signed-in session plus ``count - 1`` bare records.

    Returns the signed-in session's cookie value and CSRF token.
    """
    manager = auth.sessions
    async with SessionLocal() as db:
        user = await auth.repo.get_by_field(db, "username", body.username)
    user_id = auth.repo.user_id(user)
    token_version = auth.repo.token_version(user)
    session_id, csrf_token = await manager.create_session(
        request, user_id, token_version=token_version
    )
    device = parse_user_agent(USER_AGENT).model_dump()
    ttl = manager.timeout_seconds_for(None)
    for _ in range(body.count - 1):
        key = manager.keys.session_key(manager.storage.generate_session_id())
        record = SessionData(
            user_id=user_id,
            session_id=key,
            ip_address="127.0.0.1",
            user_agent=USER_AGENT,
            device_info=device,
            token_version=token_version,
        )
        await manager.storage.create(record, session_id=key, expiration=ttl)
    return {"session_id": session_id, "csrf_token": csrf_token}
