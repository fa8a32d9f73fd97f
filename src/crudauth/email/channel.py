"""Delivery channels: the port for any medium and the built-in email channel."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from crudauth.email.constants import (
    SUBJECT_CHANGE,
    SUBJECT_EMAIL_CHANGED,
    SUBJECT_EXISTING_ACCOUNT,
    SUBJECT_RESET,
    SUBJECT_VERIFY,
    EmailKind,
)
from crudauth.email.sender import EmailContext

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.email.config import EmailConfig

__all__ = ["DeliveryChannel", "DeliveryIntent", "DeliveryKind", "EmailChannel"]

DeliveryKind = EmailKind


@dataclass(frozen=True)
class DeliveryIntent:
    """One message a channel must deliver.

    Attributes:
        kind: The message kind, such as ``"reset_password"``.
        token: The bare signed token, so a channel can build its own URL; ``None``
            for notices.
        user: The logical projection of the account (``{}`` for the
            existing-account notice).
        recipient: The factor value (address or phone number), the new address of an
            email change, or the previous address of an ``email_changed`` notice.
        expires_in: Token lifetime in seconds; ``0`` for notices.
    """

    kind: DeliveryKind
    token: str | None
    user: dict[str, Any]
    recipient: str
    expires_in: int


class DeliveryChannel(ABC):
    """Port for a delivery medium (email, SMS, a chat app, a queue).

    A channel ignores kinds it does not handle.

    Attributes:
        sends_email: Whether the channel emails ``intent.recipient``; only such
            channels receive ``change_email`` intents.

    Example:
        ```python
        class SmsChannel(DeliveryChannel):
            async def deliver(self, intent, db):
                if intent.kind != "reset_password" or intent.token is None:
                    return
                link = f"https://app.example.com/reset-password?token={intent.token}"
                await sms_client.send(intent.recipient, f"Reset your password: {link}")
        ```
    """

    sends_email: ClassVar[bool] = False

    @abstractmethod
    async def deliver(self, intent: DeliveryIntent, db: AsyncSession | None) -> None:
        """Route, render and send ``intent``; it may raise on failure.

        Args:
            intent: The message to deliver.
            db: A session that may be read (for example to load an app column) but
                must not be committed or kept, because it closes once the delivery
                ends. ``None`` for the existing-account notice.
        """


_LINK_MESSAGES: dict[str, tuple[str, str]] = {
    "verify_email": (SUBJECT_VERIFY, "Verify your email:"),
    "verify_recovery": (SUBJECT_VERIFY, "Verify your email:"),
    "reset_password": (SUBJECT_RESET, "Reset your password:"),
    "change_email": (SUBJECT_CHANGE, "Confirm your new email:"),
}


class EmailChannel(DeliveryChannel):
    """The built-in channel: composes plain-text mail and hands it to the sender.

    Args:
        config: The email settings with the sender and the frontend paths.
    """

    sends_email: ClassVar[bool] = True

    def __init__(self, config: EmailConfig) -> None:
        self.config = config

    def _path_for(self, kind: EmailKind) -> str:
        if kind == "reset_password":
            return self.config.reset_path
        if kind == "change_email":
            return self.config.change_path
        return self.config.verify_path

    def _notice(self, kind: EmailKind) -> tuple[str, str]:
        site = self.config.frontend_url or "our site"
        if kind == "existing_account":
            return SUBJECT_EXISTING_ACCOUNT, (
                "Someone tried to create an account with this address, but you already "
                f"have one. You can sign in, or reset your password, at {site}. If this "
                "was not you, you can ignore this message."
            )
        return SUBJECT_EMAIL_CHANGED, (
            "The email address of your account was changed. If you did not do this, "
            f"sign in at {site} to secure your account."
        )

    async def deliver(self, intent: DeliveryIntent, db: AsyncSession | None) -> None:
        """Send ``intent`` through the configured ``EmailSender``.

        Args:
            intent: The message to deliver.
            db: Unused by this channel.

        Raises:
            ValueError: The kind is one this channel does not send (``welcome``), or a
                link kind arrives without a token.
        """
        kind = intent.kind
        sender = self.config.sender
        if kind in ("existing_account", "email_changed"):
            subject, body = self._notice(kind)
            context = EmailContext(kind=kind, link=None, recipient=intent.recipient, expires_in=0)
            await sender.send(
                to=intent.recipient, subject=subject, body=body, kind=kind, context=context
            )
            return

        if kind not in _LINK_MESSAGES or intent.token is None:
            raise ValueError(f"EmailChannel cannot send messages of kind {kind!r}")
        subject, prefix = _LINK_MESSAGES[kind]
        link = self.config.link(self._path_for(kind), intent.token)
        context = EmailContext(
            kind=kind, link=link, recipient=intent.recipient, expires_in=intent.expires_in
        )
        await sender.send(
            to=intent.recipient,
            subject=subject,
            body=f"{prefix} {link}",
            kind=kind,
            context=context,
        )
