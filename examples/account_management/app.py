"""Account and device management: list and revoke sessions, sign out everywhere.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/account_management``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import AuthUserMixin, CRUDAuth, SessionTransport

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///account_management.db")

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
    # management_routes adds GET /sessions, DELETE /sessions/{id}, POST /logout-all
    # and POST /csrf/refresh; /change-password is always mounted.
    transports=[SessionTransport(management_routes=True)],
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
