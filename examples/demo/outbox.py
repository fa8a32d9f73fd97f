"""A development outbox: an ``EmailSender`` that stores each message, sending none.

``GET /dev/outbox`` lists the stored messages, newest first, with their links, so a
person can follow a verification or reset link without a mail server. Messages live in
a table of the users' database, so every worker of the demo reads the same outbox.

Never mount this in production: the page shows every reset link to anyone who asks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crudauth import EmailContext, EmailSender

OUTBOX_PAGE_SIZE = 50


class OutboxBase(DeclarativeBase):
    pass


class OutboxMessage(OutboxBase):
    __tablename__ = "dev_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(timezone.utc)
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxSender(EmailSender):
    """Store every message in the ``dev_outbox`` table instead of sending it."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def send(
        self, *, to: str, subject: str, body: str, kind: Any, context: EmailContext
    ) -> None:
        async with self.sessionmaker() as db:
            db.add(
                OutboxMessage(
                    recipient=to, subject=subject, kind=kind, body=body, link=context.link
                )
            )
            await db.commit()


def new_device_notifier(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
    """Build an ``on_new_device_sign_in`` hook that stores a "was this you?" message."""

    async def on_new_device_sign_in(
        user: dict[str, Any], *, device: dict[str, Any], ip_address: str | None, **_: Any
    ) -> None:
        if not user.get("email"):
            return
        where = f"{device.get('browser', 'Unknown')} on {device.get('os', 'Unknown')}"
        body = (
            f"Your account was just signed in to from {where} (IP {ip_address or 'unknown'}). "
            "Was this you? If not, change your password and sign out everywhere."
        )
        async with sessionmaker() as db:
            db.add(
                OutboxMessage(
                    recipient=user["email"],
                    subject="New sign-in: was this you?",
                    kind="new_device",
                    body=body,
                    link="/account",
                )
            )
            await db.commit()

    return on_new_device_sign_in


def _render(messages: list[OutboxMessage]) -> str:
    rows = []
    for message in messages:
        link = ""
        if message.link:
            href = html.escape(message.link, quote=True)
            link = f'<a class="outbox-link" href="{href}">Open link</a>'
        rows.append(
            "<li class='message'>"
            f"<p><strong>{html.escape(message.subject)}</strong> to "
            f"<span class='to'>{html.escape(message.recipient)}</span> "
            f"<small>({html.escape(message.kind)}, "
            f"{message.created_at:%Y-%m-%d %H:%M:%S})</small></p>"
            f"<pre>{html.escape(message.body)}</pre>{link}</li>"
        )
    listing = "\n".join(rows) or "<li id='empty'>No messages yet.</li>"
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Outbox - crudauth demo</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto;
           padding: 0 1rem; }}
    ul {{ list-style: none; padding: 0; }}
    li.message {{ border-bottom: 1px solid #ddd; padding: .5rem 0; }}
    pre {{ background: #f4f4f4; padding: .5rem; white-space: pre-wrap; word-break: break-all; }}
    nav a {{ margin-right: 1rem; }}
  </style>
</head>
<body>
  <h1>Outbox</h1>
  <nav><a href="/">Home</a><a href="/dev/outbox">Refresh</a></nav>
  <p>Messages the demo would have emailed, newest first. Development only: never
  expose this page in production.</p>
  <ul id="messages">
{listing}
  </ul>
</body>
</html>
"""


def build_outbox_router(session: Callable[..., Any]) -> APIRouter:
    """Build ``GET /dev/outbox``, reading through the app's ``session`` dependency."""
    router = APIRouter(include_in_schema=False)

    @router.get("/dev/outbox")
    async def outbox(db: AsyncSession = Depends(session)) -> HTMLResponse:
        statement = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(OUTBOX_PAGE_SIZE)
        messages = list((await db.execute(statement)).scalars())
        return HTMLResponse(_render(messages))

    return router
