"""Onboard an existing users table whose columns have other names.

``column_map`` translates only the names that differ; the table keeps its own columns
and gains nothing. Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir
examples/existing_users_table``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import CRUDAuth, Principal

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///existing_users.db")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Account(Base):
    """The table as it already exists; it has no token_version or email_verified."""

    __tablename__ = "accounts"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_address: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    pw_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=Account,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    column_map={
        "id": "account_id",
        "email": "email_address",
        "hashed_password": "pw_hash",
        "is_superuser": "is_admin",
        "is_active": "enabled",
    },
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
    account = principal.user
    return {"account_id": account.account_id, "email": account.email_address}
