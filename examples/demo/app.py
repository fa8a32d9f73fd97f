"""A small crudauth app: SQLite users, in-memory sessions, cookies and bearer tokens.

Run it with ``make demo`` (``PORT=NNNN make demo`` picks the port). Set ``DATABASE_URL``
to use another database for users and ``REDIS_URL`` to keep sessions, CSRF tokens and
counters in Redis. ``WEB_CONCURRENCY=N`` runs N workers; without ``REDIS_URL`` they
share sessions and counters through tables in the users' database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from deployment import create_tables, name_worker, secret_key, shared_state
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
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

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parents[1] / "var"


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DATA_DIR.mkdir(exist_ok=True)
    return f"sqlite+aiosqlite:///{DATA_DIR / 'demo.sqlite3'}"


engine = create_async_engine(database_url())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    # One key for every worker: CRUDAUTH_SECRET_KEY, else one generated under var/.
    SECRET_KEY=secret_key(DATA_DIR),
    transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")],
    # secure=False only because the demo serves plain http on localhost; never ship it.
    cookies=CookieConfig(secure=False),
    **shared_state(engine, Base.metadata),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await create_tables(engine, Base.metadata)
    await auth.initialize()
    yield
    await auth.shutdown()
    await engine.dispose()


app = FastAPI(title="crudauth demo", lifespan=lifespan)
app.include_router(auth.router)
name_worker(app)


def page(name: str) -> HTMLResponse:
    return HTMLResponse((HERE / "pages" / name).read_text(encoding="utf-8"))


@app.get("/", include_in_schema=False)
async def home() -> HTMLResponse:
    return page("index.html")


@app.get("/account", include_in_schema=False)
async def account() -> HTMLResponse:
    return page("account.html")


@app.get("/hello")
async def hello(principal: Principal = Depends(auth.current_user())) -> dict[str, object]:
    return {"hello": principal.user_id, "via": principal.transport}


@app.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    return {"status": "ok"}
