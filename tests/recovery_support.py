"""Recording sender and channel for the recovery tests and the recipe examples."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crudauth import DeliveryChannel, DeliveryIntent, EmailContext, EmailSender

REDIS_URL = os.environ.get("CRUDAUTH_TEST_REDIS_URL")
FRONTEND = "https://app.example.com"


@dataclass
class SentMail:
    to: str
    subject: str
    body: str
    kind: str
    context: EmailContext

    @property
    def token(self) -> str:
        assert self.context.link is not None, "a notice carries no link"
        return token_from(self.context.link)


class RecordingSender(EmailSender):
    """Keeps every message; raises ``error`` instead when it is set."""

    def __init__(self) -> None:
        self.sent: list[SentMail] = []
        self.error: Exception | None = None

    async def send(
        self, *, to: str, subject: str, body: str, kind: Any, context: EmailContext
    ) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(SentMail(to, subject, body, kind, context))

    def of_kind(self, kind: str) -> list[SentMail]:
        return [mail for mail in self.sent if mail.kind == kind]


class RecordingChannel(DeliveryChannel):
    """A non-email channel that keeps each intent with the session it received."""

    def __init__(self) -> None:
        self.intents: list[DeliveryIntent] = []
        self.sessions: list[Any] = []

    async def deliver(self, intent: DeliveryIntent, db: Any) -> None:
        self.intents.append(intent)
        self.sessions.append(db)


def token_from(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]
