"""Server-set fields at signup: a client extra, constant defaults and derived values.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/server_set_fields``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, EmailStr
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import AuthUserMixin, CRUDAuth, NewUserContext, Principal

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///server_set_fields.db")
FREE_TIER = "free"

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"

    display_name: Mapped[str | None] = mapped_column(String(80), default=None)
    name: Mapped[str | None] = mapped_column(String(80), default=None)
    tier_id: Mapped[str] = mapped_column(String(20), default="none")
    role: Mapped[str] = mapped_column(String(20), default="member")


class SignupIn(BaseModel):
    email: EmailStr
    username: str
    password: str
    display_name: str | None = None
    # Declared so clients may send it, but never opted in: the server sets the tier.
    tier_id: str | None = None


async def derive_fields(ctx: NewUserContext) -> dict[str, Any]:
    """Name the user and make the very first account the owner."""
    existing = await ctx.db.scalar(select(func.count()).select_from(User))
    return {"name": ctx.suggested_name, "role": "owner" if existing == 0 else "member"}


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    register_schema=SignupIn,
    register_extra_fields={"display_name"},
    new_user_defaults={"tier_id": FREE_TIER},
    new_user_fields=derive_fields,
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
async def profile(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
    user = principal.user
    return {
        "display_name": user.display_name,
        "name": user.name,
        "tier_id": user.tier_id,
        "role": user.role,
    }
