"""Sign in with Google: a button that links to or creates an account and signs in.

Register ``<PUBLIC_URL>/oauth/google/callback`` as a redirect URI of a Google OAuth
client, then run::

    CRUDAUTH_SECRET_KEY=... GOOGLE_CLIENT_ID=... GOOGLE_CLIENT_SECRET=... \\
        PUBLIC_URL=https://app.example.com \\
        uvicorn app:app --app-dir examples/sign_in_with_google
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import (
    AuthUserMixin,
    CRUDAuth,
    NewUserContext,
    OAuthCredentials,
    Principal,
    SessionTransport,
)

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///sign_in_with_google.db")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):  # AuthUserMixin has the google_id column
    __tablename__ = "users"
    display_name: Mapped[str | None] = mapped_column(String(100), default=None)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


def profile_fields(ctx: NewUserContext) -> dict[str, Any]:
    # Runs only when Google creates a user, never when it links an existing one.
    return {"display_name": ctx.suggested_name}


auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    transports=[SessionTransport()],
    # Provider redirect URIs and the default landing page are built from this URL.
    redirect_base_url=os.environ.get("PUBLIC_URL", "https://app.example.com"),
    oauth={
        "google": OAuthCredentials(
            client_id=os.environ.get("GOOGLE_CLIENT_ID", "google-client-id"),
            client_secret=os.environ.get("GOOGLE_CLIENT_SECRET", "google-client-secret"),
        )
    },
    new_user_fields=profile_fields,
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


@app.get("/", response_class=HTMLResponse)
async def home() -> str:
    # A plain link: the browser follows the redirect to Google and back.
    return '<a href="/oauth/google/authorize?redirect_to=/dashboard">Sign in with Google</a>'


@app.get("/dashboard")
async def dashboard(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
    return {"user_id": principal.user_id, "email_verified": principal.email_verified}
