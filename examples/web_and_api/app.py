"""Web and API in one backend: cookie sessions for browsers, bearer tokens for the rest.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/web_and_api``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import AuthUserMixin, BearerTransport, CRUDAuth, Principal, SessionTransport

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///web_and_api.db")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    # Order matters: when a request carries both credentials, the first one wins.
    transports=[SessionTransport(), BearerTransport(refresh="body")],
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await auth.initialize()
    yield
    await auth.shutdown()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(auth.router)  # /login, /logout, /token, /refresh and the account routes


@app.get("/whoami")
async def whoami(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
    return {"user_id": principal.user_id, "via": principal.transport}


@app.post("/orders")
async def place_order(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
    # Session callers must send X-CSRF-Token here; bearer callers never do.
    return {"placed_by": principal.user_id, "via": principal.transport}


@app.get("/api/usage")
async def api_usage(
    principal: Principal = Depends(auth.current_user(transport="bearer")),
) -> dict[str, Any]:
    return {"user_id": principal.user_id}
