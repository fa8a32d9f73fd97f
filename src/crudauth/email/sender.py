"""The mail port the app implements, and the render data it receives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from crudauth.email.constants import EMAIL_KINDS, EmailKind

__all__ = ["EMAIL_KINDS", "EmailContext", "EmailKind", "EmailSender"]


@dataclass(frozen=True)
class EmailContext:
    """Render data of one message.

    ``link`` is the URL with the token embedded (``None`` for notices) and is the same
    string that ``body`` contains; ``expires_in`` is the token lifetime in seconds (0
    for notices). No field carries the bare token or any user-controlled value.
    """

    kind: EmailKind
    link: str | None
    recipient: str
    expires_in: int


class EmailSender(ABC):
    """Port that sends one email; the app implements it.

    crudauth calls ``send`` after the HTTP response of a request endpoint has gone out,
    and logs and swallows whatever it raises. Handing the message to a queue keeps the
    worker free.
    """

    @abstractmethod
    async def send(
        self,
        *,
        to: str,
        subject: str,
        body: str,
        kind: EmailKind,
        context: EmailContext,
    ) -> None:
        """Send ``body`` (plain text that already contains the link) to ``to``."""
