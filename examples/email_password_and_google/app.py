"""Email and password or Google: two doors to one account.

A verified Google email equal to an existing account's signs into that account. When
that account never verified its email, the Google sign-in claims it: the old password,
MFA and sessions are removed, because whoever registered the address never proved it.

Run::

    CRUDAUTH_SECRET_KEY=... GOOGLE_CLIENT_ID=... GOOGLE_CLIENT_SECRET=... \\
        PUBLIC_URL=https://app.example.com \\
        uvicorn app:app --app-dir examples/email_password_and_google
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import AuthUserMixin, CRUDAuth, OAuthCredentials, Principal, SessionTransport

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///email_password_google.db")

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
    transports=[SessionTransport()],
    redirect_base_url=os.environ.get("PUBLIC_URL", "https://app.example.com"),
    oauth_default_redirect="/signin",
    oauth={
        "google": OAuthCredentials(
            client_id=os.environ.get("GOOGLE_CLIENT_ID", "google-client-id"),
            client_secret=os.environ.get("GOOGLE_CLIENT_SECRET", "google-client-secret"),
        )
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
# /register, /login and /set-password serve the password door, /oauth/google/... Google.
app.include_router(auth.router)


@app.get("/verified-only")
async def verified_only(
    principal: Principal = Depends(auth.current_user(verified=True)),
) -> dict[str, Any]:
    return {"user_id": principal.user_id}
