"""Username-only accounts: no email anywhere, login by username, no recovery.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/username_only``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import CRUDAuth, IdentityConfig, Principal, make_auth_identity

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///username_only.db")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


# Only a unique username column, no email column and no recovery factor.
MemberColumns = make_auth_identity(identifiers=["username"], recovery=None, oauth=False)


class Member(Base, MemberColumns):
    __tablename__ = "members"


class SignupIn(BaseModel):
    username: str
    password: str


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=Member,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    identity=IdentityConfig(login=["username"], recovery=None),
    register_schema=SignupIn,
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


@app.get("/profile")
async def profile(principal: Principal = Depends(auth.current_user())) -> dict[str, object]:
    return {"id": principal.user_id, "username": principal.user.username}
