"""Email and password accounts with email verification and password reset.

Run: ``CRUDAUTH_SECRET_KEY=... uvicorn app:app --app-dir examples/email_password``

Links in the mails point at ``FRONTEND_URL`` (``/verify-email?token=...`` and
``/reset-password?token=...``); the frontend posts the token to the matching confirm
route. ``OutboxSender`` below only keeps the messages: replace it with a sender that
hands them to your mail provider's queue.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from crudauth import AuthUserMixin, CRUDAuth, EmailConfig, EmailContext, EmailSender, Principal

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///email_password.db")
FRONTEND_URL = os.environ.get("FRONTEND_URL", "https://app.example.com")

logger = logging.getLogger("email_password")

engine = create_async_engine(DATABASE_URL)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(Base, AuthUserMixin):
    __tablename__ = "users"


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


class OutboxSender(EmailSender):
    """Keep each message in memory; a real sender enqueues it for the mail provider."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send(
        self, *, to: str, subject: str, body: str, kind: Any, context: EmailContext
    ) -> None:
        # An HTML template would use context.link, the same URL that body contains.
        self.messages.append({"to": to, "subject": subject, "body": body, "link": context.link})
        logger.info("queued %s mail", kind)


sender = OutboxSender()

auth = CRUDAuth(
    session=get_db,
    user_model=User,
    SECRET_KEY=os.environ["CRUDAUTH_SECRET_KEY"],
    email=EmailConfig(sender=sender, frontend_url=FRONTEND_URL),
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
async def notes(principal: Principal = Depends(auth.current_user())) -> dict[str, Any]:
    return {"owner": principal.user_id, "notes": []}


@app.get("/billing")
async def billing(
    principal: Principal = Depends(auth.current_user(verified=True)),
) -> dict[str, Any]:
    """Only for accounts whose email is verified."""
    return {"owner": principal.user_id, "plan": "free"}
