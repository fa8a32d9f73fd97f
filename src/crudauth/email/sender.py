"""The mail port the app implements, and the render data it receives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from crudauth.email.constants import EMAIL_KINDS, EmailKind

__all__ = ["EMAIL_KINDS", "EmailContext", "EmailKind", "EmailSender"]


@dataclass(frozen=True)
class EmailContext:
    """Render data of one message.

    No field carries the bare token on its own; it appears only inside ``link``.

    Attributes:
        kind: The message kind, such as ``"reset_password"``.
        link: The frontend URL with the token embedded, the same string that ``body``
            contains; ``None`` for notices.
        recipient: The address the message goes to.
        expires_in: Token lifetime in seconds; ``0`` for notices.
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

    Example:
        ```python
        class OutboxSender(EmailSender):
            async def send(self, *, to, subject, body, kind, context):
                await outbox.put({"to": to, "subject": subject, "body": body})
        ```
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
        """Send one plain-text email.

        Args:
            to: The recipient address.
            subject: The subject line.
            body: Plain-text body that already contains the link, if any.
            kind: The message kind.
            context: Render data for apps that compose their own body.
        """
