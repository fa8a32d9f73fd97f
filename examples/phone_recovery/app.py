"""Username sign-in with a phone number that verifies the account and resets passwords.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/phone_recovery``

crudauth mints the tokens and hands each message to ``SmsChannel``, which the app
writes. This one only keeps the messages: a real channel sends a short link or code
through an SMS gateway. The recovery routes keep their ``/email/...`` paths but take
``{"phone": ...}``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import (
    CRUDAuth,
    DeliveryChannel,
    DeliveryIntent,
    IdentityConfig,
    Principal,
    make_auth_identity,
)

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///phone_recovery.db")
APP_URL = os.environ.get("APP_URL", "https://app.example.com")

logger = logging.getLogger("phone_recovery")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


# The factory adds phone_verified; the app declares the phone column itself.
PhoneIdentity: Any = make_auth_identity(identifiers=["username"], recovery="phone", oauth=False)


class User(Base, PhoneIdentity):
    __tablename__ = "users"
    phone: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)


class SignUp(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    phone: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")  # E.164
    password: str


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


PATHS = {"verify_recovery": "/verify-phone", "reset_password": "/reset-password"}


class SmsChannel(DeliveryChannel):
    """Text the link to ``intent.recipient``; kinds meant for email are ignored."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def deliver(self, intent: DeliveryIntent, db: AsyncSession | None) -> None:
        path = PATHS.get(intent.kind)
        if path is None or intent.token is None:
            return
        link = f"{APP_URL}{path}?token={intent.token}"
        self.messages.append({"to": intent.recipient, "kind": intent.kind, "link": link})
        logger.info("queued %s text", intent.kind)


sms = SmsChannel()

auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    identity=IdentityConfig(login=["username"], recovery="phone"),
    channels=[sms],
    register_schema=SignUp,
    register_extra_fields={"phone"},
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


@app.get("/wallet")
async def wallet(
    principal: Principal = Depends(auth.current_user(verified=True)),
) -> dict[str, Any]:
    """Only for accounts whose phone number is verified."""
    return {"owner": principal.user_id, "balance": 0}
