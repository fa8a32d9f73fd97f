"""A token API: JWT access tokens, refresh in the body and scopes, for mobile and CLI.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/token_api``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import AuthUserMixin, BearerTransport, CRUDAuth, Principal

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///token_api.db")

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
    transports=[
        BearerTransport(
            access_ttl=900,  # seconds
            refresh="body",  # clients store the refresh token; browsers use "cookie"
            default_scopes=["notes:read"],
            grantable_scopes=["notes:read", "notes:write"],
        )
    ],
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
app.include_router(auth.router)


@app.get("/notes")
async def list_notes(
    principal: Principal = Depends(auth.current_user(scopes=["notes:read"])),
) -> dict[str, Any]:
    return {"owner": principal.user_id, "notes": []}


@app.post("/notes")
async def create_note(
    principal: Principal = Depends(auth.current_user(scopes=["notes:write"])),
) -> dict[str, Any]:
    return {"owner": principal.user_id, "created": True}


@app.get("/greeting")
async def greeting(
    principal: Principal | None = Depends(auth.current_user(optional=True)),
) -> dict[str, Any]:
    if principal is None:
        return {"hello": "stranger"}
    return {"hello": principal.user_id}
